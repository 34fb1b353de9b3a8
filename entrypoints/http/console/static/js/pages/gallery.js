// The gallery: thumbnails (images shown, videos and GIFs play), filters, drag-and-drop upload.
import { api, query, upload } from '../api.js';
import { clear, field, h, plain, select, toast } from '../dom.js';
import { thumb } from '../media.js';
import { dropTarget } from './newjob.js';

export async function render(root) {
  const media = select('media_type', [['', 'Any kind'], ['image', 'Images'], ['video', 'Videos'], ['audio', 'Audio']]);
  const source = select('source', [['', 'Any source'], ['generated', 'Generated'], ['uploaded', 'Uploaded']]);
  const workspace = h('input', { name: 'workspace_id', type: 'search', placeholder: 'workspace id' });
  const filters = h('form', { class: 'filters', role: 'search', 'aria-label': 'Filter assets' },
    field('Kind', media), field('Source', source), field('Workspace', workspace));
  const grid = h('div', { class: 'grid gallery', id: 'gallery' });
  const more = h('button', { type: 'button', class: 'secondary', hidden: true }, 'Show more');
  const drop = h('label', { class: 'drop', id: 'dropzone', tabindex: 0 },
    h('strong', {}, 'Drop files here to upload'), ' or choose them',
    h('input', { type: 'file', multiple: true, class: 'sr-only', accept: 'image/*,video/*,audio/*',
      onchange: (e) => send(e.target.files) }));
  root.append(h('div', { class: 'head' }, h('h1', {}, 'Gallery')), drop, filters, grid, more);
  dropTarget(drop, send);

  let cursor = null;
  async function load(reset) {
    const page = await api(`/v1/assets${query({ media_type: media.value, source: source.value,
      workspace_id: workspace.value.trim(), limit: 48, cursor: reset ? null : cursor })}`);
    if (reset) clear(grid);
    grid.append(...page.items.map((a) => thumb(a)));
    if (reset && !page.items.length) grid.append(h('p', { class: 'muted' }, 'Nothing here yet: drop a file above, or start a job.'));
    cursor = page.next_cursor;
    more.hidden = !cursor;
  }

  async function send(files) {
    for (const file of files) {
      try {
        const asset = await upload(file);
        toast(`Uploaded ${file.name}`);
        grid.querySelector('p.muted')?.remove();
        if (!grid.querySelector(`[data-asset="${asset.id}"]`)) grid.prepend(thumb(asset));
      } catch (e) { toast(`${file.name}: ${plain(e.code, e.message)}`, 'error'); }
    }
  }

  filters.addEventListener('input', () => load(true));
  filters.addEventListener('submit', (e) => e.preventDefault());
  more.addEventListener('click', () => load(false));
  await load(true);
}
