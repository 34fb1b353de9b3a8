// Tiny DOM helpers: no framework, no build step.
const SVG_NS = 'http://www.w3.org/2000/svg';

function put(el, attrs) {
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key.startsWith('on') && typeof value === 'function') el.addEventListener(key.slice(2), value);
    else if (key === 'class') el.setAttribute('class', value);
    else if (key === 'value' && 'value' in el) el.value = value;
    else if (key === 'checked' || key === 'selected') el[key] = Boolean(value);
    else el.setAttribute(key, value === true ? '' : String(value));
  }
}

function add(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  put(el, attrs);
  add(el, children);
  return el;
}

export function svg(tag, attrs, ...children) {
  const el = document.createElementNS(SVG_NS, tag);
  put(el, attrs);
  add(el, children);
  return el;
}

export function clear(el, ...children) {
  el.replaceChildren();
  add(el, children);
  return el;
}

export function when(iso) {
  if (!iso) return '—';
  const d = new Date(iso);
  return d.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'medium' });
}

export function ago(iso) {
  if (!iso) return '—';
  const s = Math.round((Date.now() - new Date(iso).getTime()) / 1000);
  if (s < 5) return 'just now';
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ago`;
  return when(iso);
}

export function bytes(n) {
  if (n === null || n === undefined) return '—';
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) { n /= 1024; i += 1; }
  return `${n.toFixed(i ? 1 : 0)} ${units[i]}`;
}

export function short(id) { return id ? id.slice(-8) : '—'; }

export function words(snake) { return String(snake).replaceAll('_', ' '); }

export function badge(status) { return h('span', { class: `badge s-${status}` }, words(status)); }

export function toast(message, kind = 'ok') {
  const box = document.getElementById('toast');
  const item = h('div', { class: `toast ${kind}` }, message);
  box.append(item);
  setTimeout(() => item.remove(), 5000);
}

export function field(label, control, hint) {
  const id = control.id || `f-${Math.random().toString(36).slice(2, 9)}`;
  control.id = id;
  return h('div', { class: 'field' }, h('label', { for: id }, label), control,
    hint ? h('small', { class: 'muted' }, hint) : null);
}

export function select(name, options, value) {
  return h('select', { name },
    options.map(([v, text]) => h('option', { value: v, selected: String(v) === String(value ?? '') }, text)));
}

// What a job's error code means, in plain words; the provider's own message follows.
const PLAIN = {
  PARENT_FAILED: 'The job this one depended on did not finish, so this one could not run.',
  CONTENT_MODERATED: 'The provider refused the content (moderation). No credits were charged.',
  CONTENT_REJECTED: 'The provider refused the request. No credits were charged.',
  PROVIDER_ERROR: 'The provider reported an error.',
  PROVIDER_TIMEOUT: 'The provider took too long to answer.',
  PROVIDER_CANCELLED: 'The provider cancelled the job.',
  OUTPUT_UNAVAILABLE: 'The result could not be downloaded from the provider.',
  INPUT_UNAVAILABLE: 'An input file could not be handed to the provider.',
  NO_AVAILABLE_ACCOUNT: 'No provider account was free; the job waits and tries again.',
  ACCOUNT_REMOVED: 'The provider account was removed while the job ran.',
  CANCELLED: 'Cancelled on request. The held credits were released.',
  INSUFFICIENT_CREDITS: 'There are not enough credits for this job.',
  QUOTA_EXCEEDED: 'A quota limit was reached.',
  RATE_LIMITED: 'Too many requests; wait a moment and try again.',
  SERVICE_UNAVAILABLE: 'A backing service is unavailable; try again shortly.',
  UNAUTHENTICATED: 'You are signed out.',
  FORBIDDEN: 'You are not allowed to do that.',
  NOT_FOUND: 'That does not exist (or is not yours).',
  VALIDATION_ERROR: 'Some values are not valid.',
  PAYLOAD_TOO_LARGE: 'The file is too large.',
  UNSUPPORTED_MEDIA_TYPE: 'That kind of file is not supported.',
};

export function plain(code, message) {
  const text = PLAIN[code];
  if (!text) return message || code || 'Something went wrong.';
  return message && message !== text ? `${text} (${message})` : text;
}
