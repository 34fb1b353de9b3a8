// One asset: preview, download, metadata, and its lineage as a graph (depth adjustable).
import { api, content } from '../api.js';
import { bytes, clear, field, h, plain, select, short, toast, when, words } from '../dom.js';
import { caption, preview } from '../media.js';
import { graph } from '../lineage.js';

export async function render(root, [id]) {
  const asset = await api(`/v1/assets/${id}`);
  const title = asset.original_filename || `${caption(asset)} ${short(asset.id)}`;
  const dims = h('span', { id: 'dims' }, asset.width ? `${asset.width} × ${asset.height}` : '—');
  const shown = preview(asset, { large: true });
  if (!asset.width) { // not recorded: measure what the browser decoded
    const measure = () => {
      const w = shown.naturalWidth || shown.videoWidth; const hgt = shown.naturalHeight || shown.videoHeight;
      if (w) dims.textContent = `${w} × ${hgt} (as shown)`;
    };
    shown.addEventListener('load', measure);
    shown.addEventListener('loadedmetadata', measure);
  }
  const facts = [
    ['Asset id', h('code', {}, asset.id)], ['Kind', `${asset.media_type} (${asset.mime_type})`],
    ['Size', bytes(asset.size_bytes)],
    ['Dimensions', dims],
    ['Duration', asset.duration_seconds ? `${asset.duration_seconds} s` : '—'],
    ['Source', asset.source], ['Provider', asset.provider_id || '—'],
    ['Made by job', asset.job_id ? h('a', { href: `#/jobs/${asset.job_id}` }, short(asset.job_id)) : '—'],
    ['Workspace', asset.workspace_id || '—'], ['Created', when(asset.created_at)],
    ['SHA-256', h('code', { class: 'wrap' }, asset.sha256)],
  ];
  const depth = h('input', { type: 'number', name: 'max_depth', min: 1, max: 50, value: 10 });
  const direction = select('direction', [['both', 'Ancestors and descendants'], ['ancestors', 'Ancestors'],
    ['descendants', 'Descendants']], 'both');
  const box = h('div', { class: 'graph', id: 'lineage' });
  const controls = h('form', { class: 'filters', 'aria-label': 'Lineage options' },
    field('Show', direction), field('Depth', depth));
  root.append(
    h('div', { class: 'head' }, h('h1', {}, title),
      h('a', { class: 'button', href: content(asset.id), download: asset.original_filename || `${asset.id}` }, 'Download'),
      h('a', { class: 'button secondary', href: `#/new?input=${asset.id}` }, 'Use in a new job'),
      h('button', { type: 'button', class: 'danger', onclick: remove }, 'Delete')),
    h('div', { class: 'cols' }, h('div', { class: 'card big' }, shown),
      h('section', { class: 'card' }, h('h2', {}, 'Metadata'),
        h('dl', { class: 'facts' }, facts.map(([k, v]) => [h('dt', {}, k), h('dd', {}, v)])))),
    h('section', { class: 'card' }, h('h2', {}, 'Lineage'), controls, box));

  async function draw() {
    try {
      const lineage = await api(`/v1/assets/${id}/lineage?direction=${direction.value}&max_depth=${depth.value || 10}`);
      const operations = [...new Set(lineage.edges.map((e) => words(e.operation_type || e.relation)))];
      clear(box, lineage.edges.length ? [graph(id, lineage), h('p', { class: 'muted' },
        `${lineage.nodes.length} assets linked by ${operations.join(', ')}. Select a node to open it.`)]
        : h('p', { class: 'muted' }, 'No lineage: this asset was not made from, nor used to make, another.'));
    } catch (e) { clear(box, h('p', { class: 'error' }, plain(e.code, e.message))); }
  }
  async function remove() {
    if (!window.confirm('Delete this asset? Its place in the lineage stays.')) return;
    try { await api(`/v1/assets/${id}`, { method: 'DELETE' }); toast('Deleted'); location.hash = '#/gallery'; }
    catch (e) { toast(plain(e.code, e.message), 'error'); }
  }
  controls.addEventListener('input', draw);
  controls.addEventListener('submit', (e) => e.preventDefault());
  await draw();
}
