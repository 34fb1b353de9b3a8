// Usage and credits: balance and holds, today's usage against quotas, and charts of recent jobs.
import { api } from '../api.js';
import { bytes, h } from '../dom.js';
import { bars, days } from '../charts.js';
import { apiKeys, dailyUsage, ledger, webhooks } from './server.js';

const STATUSES = ['completed', 'failed', 'cancelled', 'processing', 'pending'];

function meter(label, used, limit, format = String) {
  const text = limit === null || limit === undefined ? `${format(used)} (no limit)` : `${format(used)} of ${format(limit)}`;
  return h('div', { class: 'meter' }, h('div', { class: 'meter-head' }, h('span', {}, label), h('span', {}, text)),
    limit ? h('progress', { max: limit, value: Math.min(used, limit), 'aria-label': label }) : null);
}

export async function render(root) {
  const me = await api('/v1/users/me');
  const jobs = [];
  let cursor = null;
  for (let i = 0; i < 5; i += 1) { // the most recent 500 jobs are enough for the charts
    const page = await api(`/v1/jobs?limit=100${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
    jobs.push(...page.items);
    cursor = page.next_cursor;
    if (!cursor) break;
  }
  const span = days(14);
  const perDay = {}; const spend = {};
  const daily = await dailyUsage(span[0], span[span.length - 1]); // the server's own daily rows, where it has them
  for (const j of jobs) {
    const d = j.created_at.slice(0, 10);
    perDay[d] = perDay[d] || {};
    perDay[d][j.status] = (perDay[d][j.status] || 0) + 1;
    if (j.status === 'completed' && !daily) { spend[d] = spend[d] || { credits: 0 }; spend[d].credits += j.cost_estimate; }
  }
  for (const row of daily || []) spend[row.day] = { credits: row.credits_spent || 0 };
  const u = me.usage; const q = me.quota;
  root.append(
    h('h1', {}, 'Usage and credits'),
    h('div', { class: 'stats' },
      h('div', { class: 'stat card' }, h('span', {}, 'Spendable credits'), h('strong', { id: 'credits' }, me.credits)),
      h('div', { class: 'stat card' }, h('span', {}, 'Held by running jobs'), h('strong', {}, me.credits_held)),
      h('div', { class: 'stat card' }, h('span', {}, 'Spent today'), h('strong', {}, u.credits_spent)),
      h('div', { class: 'stat card' }, h('span', {}, 'Jobs running now'), h('strong', {}, u.running_jobs ?? 0))),
    h('section', { class: 'card' }, h('h2', {}, `Today (${u.day}, UTC)`),
      meter('Jobs created', u.jobs_created, q.max_jobs_per_day),
      meter('Jobs running', u.running_jobs ?? 0, q.max_concurrent_jobs),
      meter('Storage', u.storage_bytes ?? u.bytes_stored, q.max_storage_bytes, bytes),
      h('p', { class: 'muted' }, `${u.jobs_completed} jobs completed and ${u.assets_created} assets created today.`)),
    h('section', { class: 'card' }, h('h2', {}, 'The last 14 days'),
      h('div', { class: 'charts' },
        bars('Jobs per day, by outcome', span, STATUSES.map((s) => ({ key: s, label: s })), perDay),
        bars(daily ? 'Credits spent per day' : 'Credits spent per day (completed jobs)', span, [{ key: 'credits', label: 'credits' }], spend)),
      h('p', { class: 'muted' }, `Jobs from your ${jobs.length} most recent; ${daily ? 'credits from the daily usage record' : 'credits from their estimates'}.`)));
  await ledger(root);
  await apiKeys(root);
  await webhooks(root);
}
