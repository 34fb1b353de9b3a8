// Server-to-server and money views, shown only where this server has the routes
// (API keys, webhook endpoints with their deliveries, daily usage and the ledger).
import { api, raw } from '../api.js';
import { ago, clear, field, h, plain, short, toast, when } from '../dom.js';

async function optional(path) {
  const response = await raw(path).catch(() => null);
  if (!response || response.status === 404 || response.status === 405) return null;
  if (!response.ok) return null;
  return response.json().catch(() => null);
}

const items = (body) => (Array.isArray(body) ? body : (body && body.items) || []);

function cell(value) {
  if (value === null || value === undefined || value === '') return '—';
  if (typeof value === 'string' && /^\d{4}-\d\d-\d\dT/.test(value)) return when(value);
  if (Array.isArray(value)) return value.join(', ') || '—';
  if (typeof value === 'object') return h('code', { class: 'wrap' }, JSON.stringify(value));
  return String(value);
}

// A table of whatever fields the rows have, in the order given (others follow).
export function table(rows, preferred, label) {
  const keys = [...new Set([...preferred.filter((k) => rows.some((r) => k in r)),
    ...rows.flatMap((r) => Object.keys(r))])].filter((k) => k !== 'user_id');
  return h('div', { class: 'scroll' }, h('table', { class: 'list', 'aria-label': label },
    h('thead', {}, h('tr', {}, keys.map((k) => h('th', { scope: 'col' }, k.replaceAll('_', ' '))))),
    h('tbody', {}, rows.map((r) => h('tr', {}, keys.map((k) => h('td', {}, cell(r[k]))))))));
}

export async function apiKeys(root) {
  const found = await optional('/v1/api-keys');
  if (!found) return;
  const list = h('div');
  const shown = h('p', { role: 'status' });
  const name = h('input', { name: 'key_name', maxlength: 100, required: true, placeholder: 'e.g. backend' });
  const form = h('form', { class: 'row' }, field('New key name', name), h('div', { class: 'field end' },
    h('button', { type: 'submit' }, 'Create key')));
  const section = h('section', { class: 'card', id: 'api-keys' }, h('h2', {}, 'API keys'),
    h('p', { class: 'muted' }, 'Send a key as Authorization: Bearer <key>. It is shown once, when created.'),
    form, shown, list);
  root.append(section);
  function draw(rows) {
    clear(list, rows.length ? h('div', { class: 'scroll' }, h('table', { class: 'list' },
      h('thead', {}, h('tr', {}, ['Name', 'Prefix', 'Scopes', 'Last used', 'Expires', ''].map((t) => h('th', { scope: 'col' }, t)))),
      h('tbody', {}, rows.map((k) => h('tr', { 'data-key': k.id }, h('td', {}, k.name), h('td', {}, h('code', {}, k.prefix || '')),
        h('td', {}, cell(k.scopes)), h('td', {}, ago(k.last_used_at)), h('td', {}, k.expires_at ? when(k.expires_at) : 'never'),
        h('td', {}, h('button', { type: 'button', class: 'danger', onclick: () => revoke(k) }, 'Revoke')))))))
      : h('p', { class: 'muted' }, 'No keys yet.'));
  }
  async function reload() { draw(items(await api('/v1/api-keys'))); }
  async function revoke(k) {
    if (!window.confirm(`Revoke the key “${k.name}”? It stops working at once.`)) return;
    try { await api(`/v1/api-keys/${k.id}`, { method: 'DELETE' }); toast('Key revoked'); await reload(); }
    catch (e) { toast(plain(e.code, e.message), 'error'); }
  }
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    try {
      const created = await api('/v1/api-keys', { method: 'POST', json: { name: name.value.trim() } });
      clear(shown, 'Your new key (copy it now, it will not be shown again): ', h('code', { class: 'wrap', id: 'new-key' }, created.key));
      name.value = '';
      await reload();
    } catch (e) { toast(plain(e.code, e.message), 'error'); }
  });
  draw(items(found));
}

export async function webhooks(root) {
  const found = await optional('/v1/webhook-endpoints');
  if (!found) return;
  const section = h('section', { class: 'card', id: 'webhooks' }, h('h2', {}, 'Webhook endpoints'));
  root.append(section);
  const endpoints = items(found);
  if (!endpoints.length) section.append(h('p', { class: 'muted' }, 'No endpoints. POST /v1/webhook-endpoints adds one.'));
  for (const e of endpoints) {
    const log = h('div');
    const details = h('details', { 'data-endpoint': e.id },
      h('summary', {}, h('code', {}, e.url), ` · ${cell(e.events)}`, e.disabled ? h('span', { class: 'badge s-disabled' }, 'disabled') : null),
      log);
    details.addEventListener('toggle', async () => {
      if (!details.open || log.childElementCount) return;
      try {
        const rows = items(await api(`/v1/webhook-endpoints/${e.id}/deliveries`));
        clear(log, rows.length ? table(rows, ['created_at', 'event', 'status_code', 'duration_ms', 'error', 'next_attempt_at', 'attempts'],
          `Deliveries to ${e.url}`) : h('p', { class: 'muted' }, 'No deliveries yet.'));
        for (const [i, d] of rows.entries()) {
          if (!d.id) continue;
          log.querySelectorAll('tbody tr')[i].append(h('td', {}, h('button', { type: 'button', class: 'secondary', onclick: async () => {
            try { await api(`/v1/webhook-endpoints/${e.id}/deliveries/${d.id}/replay`, { method: 'POST' }); toast('Delivery queued again'); }
            catch (err) { toast(plain(err.code, err.message), 'error'); }
          } }, 'Replay')));
        }
      } catch (err) { clear(log, h('p', { class: 'error' }, plain(err.code, err.message))); }
    });
    section.append(details);
  }
}

export async function dailyUsage(fromDay, toDay) {
  const found = await optional(`/v1/users/me/usage?from=${fromDay}&to=${toDay}`);
  return found ? items(found) : null;
}

export async function ledger(root) {
  const found = await optional('/v1/users/me/ledger?limit=50');
  if (!found) return;
  const rows = items(found);
  root.append(h('section', { class: 'card', id: 'ledger' }, h('h2', {}, 'Credit movements'),
    rows.length ? table(rows.map((r) => ({ ...r, job_id: r.job_id ? short(r.job_id) : r.job_id })),
      ['at', 'created_at', 'kind', 'type', 'amount', 'balance', 'balance_after', 'job_id'], 'Credit movements')
      : h('p', { class: 'muted' }, 'No movements yet.')));
}
