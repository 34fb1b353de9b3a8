// One job: its state, a live timeline of its events, credits, inputs and results.
import { api, raw } from '../api.js';
import { badge, clear, h, plain, short, toast, when, words } from '../dom.js';
import { thumb } from '../media.js';
import { refreshMe } from '../main.js';

const EVENTS = ['job.status', 'job.created', 'job.started', 'account.selected', 'provider.submitted',
  'provider.completed', 'asset.created', 'job.retrying', 'job.completed', 'job.failed', 'job.cancelled'];
const TERMINAL = new Set(['completed', 'failed', 'cancelled']);
const SAYS = {
  'job.created': () => 'Created',
  'job.started': (e) => `Started (try ${e.attempt ?? ''})`,
  'account.selected': (e) => `Account ${short(e.account_id)} picked (try ${e.attempt})`,
  'provider.submitted': (e) => `Sent to the provider${e.provider_job_id ? ` as ${e.provider_job_id}` : ''}`,
  'provider.completed': () => 'The provider finished',
  'asset.created': (e) => `Result stored (asset ${short(e.asset_id)})`,
  'job.retrying': (e) => `Will try again: ${plain(e.error_code, e.error_message)}`,
  'job.completed': () => 'Completed',
  'job.failed': (e) => `Failed: ${plain(e.error_code, e.error_message)}`,
  'job.cancelled': () => 'Cancelled',
};

let retryRoute = null; // POST /v1/jobs/{id}/retry exists on this server?
async function canRetry(id) {
  if (retryRoute === null) {
    const probe = await raw(`/v1/jobs/${id}/retry`, { method: 'OPTIONS' }).catch(() => null);
    retryRoute = Boolean(probe && probe.status < 400);
  }
  return retryRoute;
}

const AUDITED = {
  'job.retry': (d) => `Try failed on account ${short(d.account_id)}: ${plain(d.code, d.message)}; trying again`,
  'job.fail': (d) => `Failed on account ${short(d.account_id)}: ${plain(d.code, d.message)}`,
  'job.complete': (d) => `Completed on account ${short(d.account_id)}; ${d.credits} credit${d.credits === 1 ? '' : 's'} captured`,
  'job.cancel': () => 'Cancelled on request',
};

export async function render(root, [id], ctx) {
  let job = await api(`/v1/jobs/${id}`);
  let audited = [];
  // Operators also see the audit log's record of each try: the account used and why a try failed.
  async function history() {
    if (!ctx || !ctx.me || ctx.me.role !== 'admin') return;
    const page = await api(`/v1/admin/audit?resource=job&resource_id=${encodeURIComponent(id)}&limit=100`).catch(() => ({ items: [] }));
    audited = page.items.filter((e) => AUDITED[e.action]).map((e) => {
      if (e.details.account_id) accounts.add(e.details.account_id);
      return { at: e.at, text: AUDITED[e.action](e.details) };
    });
  }
  const head = h('div', { class: 'head' });
  const facts = h('dl', { class: 'facts' });
  const problem = h('div', { role: 'alert' });
  const actions = h('div', { class: 'actions' });
  const timeline = h('ol', { class: 'timeline', 'aria-live': 'polite' });
  const inputs = h('div', { class: 'grid' });
  const results = h('div', { class: 'grid', id: 'results' });
  const accounts = new Set();
  const seen = [];
  root.append(head, problem, actions,
    h('div', { class: 'cols' },
      h('section', { class: 'card' }, h('h2', {}, 'Results'), results),
      h('section', { class: 'card' }, h('h2', {}, 'Inputs'), inputs)),
    h('div', { class: 'cols' },
      h('section', { class: 'card' }, h('h2', {}, 'Details'), facts),
      h('section', { class: 'card' }, h('h2', {}, 'Timeline'), timeline)));

  function credits() {
    if (job.status === 'completed') return `${job.cost_estimate} captured`;
    if (TERMINAL.has(job.status)) return `${job.cost_estimate} held, then released (not charged)`;
    return `${job.cost_estimate} held until the job ends`;
  }

  async function show() {
    clear(head, h('h1', {}, job.name || `Job ${short(job.id)}`), badge(job.status));
    head.querySelector('.badge').id = 'job-status';
    const rows = [
      ['Job id', h('code', {}, job.id)], ['Operation', words(job.operation_type)], ['Provider', job.provider_id],
      accounts.size || !TERMINAL.has(job.status)
        ? ['Account used', accounts.size ? [...accounts].map(short).join(', ') : 'not picked yet'] : null,
      ['Tries', `${job.attempts} of ${job.max_attempts}`], ['Priority', job.priority],
      ['Credits', credits()], ['Workspace', job.workspace_id || '—'],
      ['Parent job', job.parent_job_id ? h('a', { href: `#/jobs/${job.parent_job_id}` }, short(job.parent_job_id)) : '—'],
      ['Created', when(job.created_at)], ['Started', when(job.started_at)], ['Ended', when(job.completed_at)],
      ['Parameters', h('pre', {}, JSON.stringify(job.params, null, 2))],
    ];
    clear(facts, rows.filter(Boolean).map(([k, v]) => [h('dt', {}, k), h('dd', {}, v)]));
    clear(problem, job.error_code && job.status !== 'cancelled'
      ? h('p', { class: 'error' }, plain(job.error_code, job.error_message)) : null);
    const buttons = [];
    if (!TERMINAL.has(job.status)) {
      buttons.push(h('button', { type: 'button', class: 'danger', onclick: cancel }, 'Cancel job'));
    } else if (job.status !== 'completed' && await canRetry(job.id)) {
      buttons.push(h('button', { type: 'button', onclick: retry }, 'Retry'));
    }
    if (job.status === 'completed' && job.result_asset_ids.length) {
      buttons.push(h('a', { class: 'button', href: `#/new?input=${job.result_asset_ids[0]}` }, 'Use the result in a new job'));
    }
    clear(actions, buttons);
    const live = audited.length ? seen.filter((e) => !/^(Completed|Failed|Will try again)/.test(e.text)) : seen;
    clear(timeline, stamps().concat(live, audited).sort((a, b) => a.at.localeCompare(b.at))
      .map((e) => h('li', {}, h('time', { datetime: e.at }, new Date(e.at).toLocaleTimeString()), ' ', e.text)));
    clear(inputs, job.input_asset_ids.length ? await assets(job.input_asset_ids) : h('p', { class: 'muted' }, 'None'));
    clear(results, job.result_asset_ids.length ? await assets(job.result_asset_ids)
      : h('p', { class: 'muted' }, TERMINAL.has(job.status) ? 'None' : 'Not yet…'));
  }

  function stamps() {
    const s = [{ at: job.created_at, text: 'Created' }];
    if (job.started_at) s.push({ at: job.started_at, text: `Started (try ${job.attempts})` });
    if (job.completed_at && !audited.length) s.push({ at: job.completed_at, text: words(job.status) });
    return s.filter((a) => !seen.some((b) => b.text === a.text));
  }

  async function assets(ids) {
    const found = await Promise.all(ids.map((a) => api(`/v1/assets/${a}`).catch(() => null)));
    return found.map((a, i) => (a ? thumb(a) : h('span', { class: 'muted' }, `asset ${short(ids[i])} (deleted)`)));
  }

  async function cancel() {
    try { job = await api(`/v1/jobs/${job.id}/cancel`, { method: 'POST' }); toast('Job cancelled'); await show(); }
    catch (e) { toast(plain(e.code, e.message), 'error'); }
  }

  async function retry() {
    try {
      const again = await api(`/v1/jobs/${job.id}/retry`, { method: 'POST' });
      toast('Job sent again');
      if (again && again.id && again.id !== job.id) location.hash = `#/jobs/${again.id}`;
      else { job = again; await show(); follow(); }
    } catch (e) {
      if (e.status === 404 || e.status === 405) { retryRoute = false; await show(); }
      toast(plain(e.code, e.message), 'error');
    }
  }

  let stream = null;
  let gone = false;
  function follow() {
    if (stream || TERMINAL.has(job.status)) return;
    stream = new EventSource(`/v1/jobs/${job.id}/events`);
    for (const name of EVENTS) {
      stream.addEventListener(name, async (message) => {
        const data = JSON.parse(message.data);
        if (name === 'job.status') job = data;
        else {
          if (data.account_id) accounts.add(data.account_id);
          seen.push({ at: data.at, text: (SAYS[name] || (() => name))(data) });
        }
        if (TERMINAL.has(job.status) || ['job.completed', 'job.failed', 'job.cancelled'].includes(name)) {
          stop();
          job = await api(`/v1/jobs/${job.id}`);
          await history();
          refreshMe();
        }
        await show();
      });
    }
    stream.onerror = () => { // the server ended the stream or the connection dropped: look again
      stop();
      setTimeout(async () => { if (gone) return; job = await api(`/v1/jobs/${job.id}`).catch(() => job); await show(); follow(); }, 1000);
    };
  }
  function stop() { if (stream) { stream.close(); stream = null; } }

  await history();
  await show();
  follow();
  return () => { gone = true; stop(); };
}
