// The operator's view (admins): the account pool, users and quotas, the audit log, provider
// statistics and circuit states.
import { api, query } from '../api.js';
import { ago, badge, clear, field, h, plain, select, short, toast, when } from '../dom.js';
import { bars, days } from '../charts.js';

const TABS = [['accounts', 'Accounts'], ['users', 'Users'], ['audit', 'Audit log'], ['providers', 'Providers']];

export async function render(root, [tab = 'accounts'], ctx) {
  if (!ctx.me || ctx.me.role !== 'admin') { root.append(h('p', { class: 'error' }, 'Operators only.')); return; }
  root.append(h('h1', {}, 'Operator'),
    h('nav', { class: 'tabs', 'aria-label': 'Operator sections' }, TABS.map(([id, text]) =>
      h('a', { href: `#/admin/${id}`, 'aria-current': id === tab ? 'page' : null }, text))));
  const body = h('div');
  root.append(body);
  const page = { accounts, users, audit, providers }[tab] || accounts;
  return page(body);
}

function rate(a) {
  const n = a.success_count + a.failure_count;
  return n ? `${Math.round((100 * a.success_count) / n)}% of ${n}` : '—';
}

async function accounts(root) {
  const list = (await api('/v1/admin/accounts?limit=100')).items;
  const byProvider = new Map();
  for (const a of list) {
    if (!byProvider.has(a.provider_id)) byProvider.set(a.provider_id, []);
    byProvider.get(a.provider_id).push(a);
  }
  if (!list.length) root.append(h('p', { class: 'muted' }, 'No provider accounts yet (POST /v1/admin/accounts adds one).'));
  for (const [provider, items] of byProvider) {
    root.append(h('section', { class: 'card' }, h('h2', {}, provider),
      h('div', { class: 'scroll' }, h('table', { class: 'list' },
        h('thead', {}, h('tr', {}, ['Account', 'Status', 'Cooling until', 'Jobs now / max', 'Credits', 'Success',
          'Avg time', 'Last used', 'Priority', ''].map((t) => h('th', { scope: 'col' }, t)))),
        h('tbody', {}, items.map(accountRow))))));
  }
}

function accountRow(a) {
  const priority = h('input', { type: 'number', min: 0, max: 1000, value: a.priority, 'aria-label': `Priority of ${a.label}`, class: 'narrow' });
  const slots = h('input', { type: 'number', min: 1, max: 1000, value: a.max_concurrent_jobs, 'aria-label': `Concurrency of ${a.label}`, class: 'narrow' });
  const patch = async (change, done) => {
    try { await api(`/v1/admin/accounts/${a.id}`, { method: 'PATCH', json: change }); toast(done); window.dispatchEvent(new HashChangeEvent('hashchange')); }
    catch (e) { toast(plain(e.code, e.message), 'error'); }
  };
  const off = a.status === 'disabled';
  return h('tr', { 'data-account': a.id, 'data-label': a.label },
    h('td', { class: 'nowrap' }, a.label, a.owner_user_id ? h('small', { class: 'muted' }, ` private (${short(a.owner_user_id)})`) : null,
      h('br'), h('small', { class: 'muted' }, short(a.id))),
    h('td', {}, badge(a.status)), h('td', {}, a.cooldown_until ? when(a.cooldown_until) : '—'),
    h('td', { class: 'nowrap' }, `${a.current_jobs} / `, slots), h('td', {}, a.credits),
    h('td', { class: 'success' }, rate(a)),
    h('td', {}, a.avg_generation_seconds ? `${a.avg_generation_seconds.toFixed(1)} s` : '—'),
    h('td', {}, ago(a.last_used_at)), h('td', {}, priority),
    h('td', { class: 'actions' },
      h('button', { type: 'button', class: 'secondary', onclick: () => patch(
        { priority: Number(priority.value), max_concurrent_jobs: Number(slots.value) }, `Saved ${a.label}`) }, 'Save'),
      h('button', { type: 'button', class: off ? '' : 'danger', onclick: () => patch(
        { status: off ? 'active' : 'disabled' }, `${a.label} ${off ? 'enabled' : 'disabled'}`) }, off ? 'Enable' : 'Disable')));
}

async function users(root) {
  const list = (await api('/v1/admin/users?limit=100')).items;
  root.append(h('section', { class: 'card' }, h('h2', {}, 'Users and quotas'),
    h('div', { class: 'scroll' }, h('table', { class: 'list' },
      h('thead', {}, h('tr', {}, ['User', 'Role', 'Credits', 'Jobs/day', 'Concurrent', 'Today', 'Grant', ''].map((t) => h('th', { scope: 'col' }, t)))),
      h('tbody', {}, list.map(userRow))))));
}

function userRow(u) {
  const limit = (value, name) => h('input', { type: 'number', min: 0, value: value ?? '', placeholder: 'no limit',
    class: 'narrow', 'aria-label': `${name} of ${u.email}` });
  const perDay = limit(u.quota.max_jobs_per_day, 'Jobs per day');
  const concurrent = limit(u.quota.max_concurrent_jobs, 'Concurrent jobs');
  const amount = h('input', { type: 'number', min: 1, placeholder: 'credits', class: 'narrow', 'aria-label': `Credits to grant ${u.email}` });
  const act = async (path, method, json, done) => {
    try { await api(path, { method, json }); toast(done); window.dispatchEvent(new HashChangeEvent('hashchange')); }
    catch (e) { toast(plain(e.code, e.message), 'error'); }
  };
  const num = (el) => (el.value === '' ? null : Number(el.value));
  return h('tr', { 'data-user': u.id },
    h('td', {}, u.username, h('br'), h('small', { class: 'muted' }, u.email), u.is_active ? null : h('span', { class: 'badge s-disabled' }, 'deactivated')),
    h('td', {}, u.role), h('td', {}, `${u.credits}`, u.credits_held ? h('small', { class: 'muted' }, ` (+${u.credits_held} held)`) : null),
    h('td', {}, perDay), h('td', {}, concurrent),
    h('td', {}, `${u.usage ? u.usage.jobs_created : 0} jobs`),
    h('td', {}, amount, h('button', { type: 'button', class: 'secondary', onclick: () => amount.value && act(
      `/v1/admin/users/${u.id}/credits`, 'POST', { amount: Number(amount.value) }, `Granted ${amount.value} credits`) }, 'Grant')),
    h('td', { class: 'actions' },
      h('button', { type: 'button', class: 'secondary', onclick: () => act(`/v1/admin/users/${u.id}`, 'PATCH',
        { quota: { max_jobs_per_day: num(perDay), max_concurrent_jobs: num(concurrent) } }, 'Quota saved') }, 'Save quota'),
      h('button', { type: 'button', class: u.is_active ? 'danger' : '', onclick: () => act(`/v1/admin/users/${u.id}`, 'PATCH',
        { is_active: !u.is_active }, u.is_active ? 'Deactivated' : 'Activated') }, u.is_active ? 'Deactivate' : 'Activate')));
}

async function audit(root) {
  const actor = h('input', { name: 'actor', type: 'search', placeholder: 'user id' });
  const action = h('input', { name: 'action', type: 'search', placeholder: 'e.g. job.create' });
  const resource = h('input', { name: 'resource', type: 'search', placeholder: 'e.g. account' });
  const since = h('input', { name: 'since', type: 'datetime-local' });
  const until = h('input', { name: 'until', type: 'datetime-local' });
  const filters = h('form', { class: 'filters', role: 'search', 'aria-label': 'Filter the audit log' },
    field('Actor', actor), field('Action', action), field('Resource', resource), field('Since', since), field('Until', until));
  const body = h('tbody');
  const error = h('p', { class: 'error', role: 'alert' });
  root.append(h('section', { class: 'card' }, h('h2', {}, 'Audit log'), filters, error,
    h('div', { class: 'scroll' }, h('table', { class: 'list' },
      h('thead', {}, h('tr', {}, ['When', 'Actor', 'Action', 'Resource', 'Details'].map((t) => h('th', { scope: 'col' }, t)))), body))));
  const iso = (el) => (el.value ? new Date(el.value).toISOString() : '');
  async function load() {
    error.textContent = '';
    try {
      const page = await api(`/v1/admin/audit${query({ actor: actor.value.trim(), action: action.value.trim(),
        resource: resource.value.trim(), since: iso(since), until: iso(until), limit: 100 })}`);
      clear(body, page.items.map((e) => h('tr', {}, h('td', {}, when(e.at)), h('td', {}, e.actor_id ? short(e.actor_id) : 'system'),
        h('td', {}, e.action), h('td', {}, `${e.resource_type} ${short(e.resource_id)}`),
        h('td', {}, h('code', { class: 'wrap' }, JSON.stringify(e.details))))));
      if (!page.items.length) body.append(h('tr', {}, h('td', { colspan: 5, class: 'muted' }, 'Nothing matches.')));
    } catch (e) { error.textContent = plain(e.code, e.message); }
  }
  filters.addEventListener('change', load);
  filters.addEventListener('submit', (e) => { e.preventDefault(); load(); });
  await load();
}

// Prometheus text: {provider: {circuit, calls, failures}} from the provider families of /metrics.
function circuits(text) {
  const out = {};
  const line = /^pixrelay_provider_(circuit_state|calls_total|call_failures_total)\{([^}]*)\}\s+([\d.eE+-]+)$/;
  for (const row of text.split('\n')) {
    const m = row.match(line);
    if (!m) continue;
    const labels = Object.fromEntries([...m[2].matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1], x[2]]));
    const p = (out[labels.provider] = out[labels.provider] || { circuit: '—', calls: 0, failures: 0 });
    const value = Number(m[3]);
    if (m[1] === 'circuit_state' && value === 1) p.circuit = labels.state;
    if (m[1] === 'calls_total') p.calls += value;
    if (m[1] === 'call_failures_total') p.failures += value;
  }
  return out;
}

const CIRCUIT_BADGE = { closed: 'ok', open: 'failing', half_open: 'pending' };

async function providers(root) {
  const [stats, ready, metrics] = await Promise.all([api('/v1/admin/stats'),
    fetch('/health/ready').then((r) => r.json()).catch(() => ({ checks: {} })),
    fetch('/metrics').then((r) => r.text()).catch(() => '')]);
  const circuit = circuits(metrics);
  root.append(h('div', { class: 'cols' },
    h('section', { class: 'card' }, h('h2', {}, 'Health'),
      h('ul', { class: 'checks' }, Object.entries(ready.checks || {}).map(([name, c]) =>
        h('li', {}, badge(c.ok ? 'ok' : 'failing'), ` ${name.replaceAll('_', ' ')}`, c.detail ? h('small', { class: 'muted' }, ` — ${c.detail}`) : null)))),
    h('section', { class: 'card' }, h('h2', {}, 'Circuits'),
      h('div', { class: 'scroll' }, h('table', { class: 'list', id: 'circuits' },
        h('thead', {}, h('tr', {}, ['Provider', 'Circuit', 'API calls', 'Failed'].map((t) => h('th', { scope: 'col' }, t)))),
        h('tbody', {}, Object.entries(circuit).map(([id, c]) => h('tr', { 'data-provider': id }, h('td', {}, id),
          h('td', {}, h('span', { class: `badge s-${CIRCUIT_BADGE[c.circuit] || 'cancelled'}` }, c.circuit.replace('_', ' '))),
          h('td', {}, c.calls), h('td', {}, c.failures)))))))));
  const span = days(14);
  const statuses = ['completed', 'failed', 'cancelled', 'processing', 'pending'];
  const quiet = [];
  for (const p of stats.providers) {
    const total = Object.values(p.jobs_by_status).reduce((a, b) => a + b, 0);
    if (!total && !p.accounts.length) { quiet.push(p.provider_id); continue; }
    const rows = {};
    for (const d of p.daily) { rows[d.day] = rows[d.day] || {}; rows[d.day][d.status] = d.count; }
    root.append(h('section', { class: 'card' }, h('h2', {}, p.provider_id),
      h('p', {}, Object.entries(p.jobs_by_status).filter(([, n]) => n).map(([s, n]) => [badge(s), ` ${n} `])),
      h('div', { class: 'cols' },
        bars(`${p.provider_id}: jobs per day`, span, statuses.map((s) => ({ key: s, label: s })), rows),
        h('div', { class: 'scroll' }, h('table', { class: 'list' },
          h('thead', {}, h('tr', {}, ['Account', 'Status', 'Success rate', 'Avg time'].map((t) => h('th', { scope: 'col' }, t)))),
          h('tbody', {}, p.accounts.map((a) => h('tr', {}, h('td', {}, a.label), h('td', {}, badge(a.status)),
            h('td', {}, a.success_rate === null ? '—' : `${Math.round(a.success_rate * 100)}% (${a.success_count + a.failure_count})`),
            h('td', {}, a.avg_generation_seconds ? `${a.avg_generation_seconds.toFixed(1)} s` : '—')))))))));
  }
  if (quiet.length) root.append(h('p', { class: 'muted' }, `No jobs or accounts yet: ${quiet.join(', ')}.`));
}
