// The job list: filters, and a live view (polled; quicker while jobs are moving).
import { api, query } from '../api.js';
import { ago, badge, clear, field, h, select, short, words } from '../dom.js';
import { providers } from '../providers.js';

const STATUSES = ['pending', 'processing', 'completed', 'failed', 'cancelled'];
const ACTIVE = new Set(['pending', 'processing']);

export async function render(root) {
  const known = await providers();
  const status = select('status', [['', 'Any status'], ...STATUSES.map((s) => [s, s])]);
  const provider = select('provider_id', [['', 'Any provider'], ...known.map((p) => [p.id, p.name])]);
  const workspace = h('input', { name: 'workspace_id', type: 'search', placeholder: 'workspace id' });
  const name = h('input', { name: 'name', type: 'search', placeholder: 'part of a name' });
  const filters = h('form', { class: 'filters', role: 'search', 'aria-label': 'Filter jobs' },
    field('Status', status), field('Provider', provider), field('Workspace', workspace), field('Name', name));
  const body = h('tbody');
  const table = h('table', { class: 'list' },
    h('caption', { class: 'sr-only' }, 'Your jobs, newest first'),
    h('thead', {}, h('tr', {}, ['Job', 'Operation', 'Provider', 'Status', 'Created', 'Tries']
      .map((t) => h('th', { scope: 'col' }, t)))),
    body);
  const live = h('span', { class: 'live muted', 'aria-live': 'off' }, '');
  root.append(
    h('div', { class: 'head' }, h('h1', {}, 'Jobs'), live, h('a', { class: 'button', href: '#/new' }, 'New job')),
    filters, h('div', { class: 'scroll' }, table));

  let timer = null;
  let stopped = false;
  let last = '';
  async function load() {
    clearTimeout(timer);
    let items = [];
    try {
      const page = await api(`/v1/jobs${query({ status: status.value, provider_id: provider.value,
        workspace_id: workspace.value.trim(), limit: 100 })}`);
      items = page.items;
      const wanted = name.value.trim().toLowerCase();
      if (wanted) items = items.filter((j) => (j.name || '').toLowerCase().includes(wanted));
      const signature = JSON.stringify(items.map((j) => [j.id, j.status, j.attempts]));
      if (signature !== last) {
        last = signature;
        clear(body, items.length ? items.map(row) : h('tr', {}, h('td', { colspan: 6, class: 'muted' },
          'No jobs yet. ', h('a', { href: '#/new' }, 'Start one.'))));
      }
      live.textContent = `updated ${new Date().toLocaleTimeString()}`;
    } catch (e) {
      live.textContent = `not updating: ${e.message}`;
    }
    // quick while jobs move, slow while nothing does or nobody looks
    const pause = document.hidden ? 15000 : items.some((j) => ACTIVE.has(j.status)) ? 1000 : 4000;
    if (!stopped) timer = setTimeout(load, pause);
  }
  filters.addEventListener('input', () => { last = ''; load(); });
  filters.addEventListener('submit', (e) => e.preventDefault());
  await load();
  return () => { stopped = true; clearTimeout(timer); };
}

function row(job) {
  const link = h('a', { href: `#/jobs/${job.id}` }, job.name || `job ${short(job.id)}`);
  return h('tr', { 'data-job': job.id, 'data-status': job.status },
    h('td', {}, link), h('td', {}, words(job.operation_type)), h('td', {}, job.provider_id),
    h('td', {}, badge(job.status)), h('td', {}, ago(job.created_at)),
    h('td', {}, `${job.attempts}/${job.max_attempts}`));
}
