// The console's shell: who is signed in, the navigation, and a hash router over the pages.
import { api, CSRF, onSignedOut, renew } from './api.js';
import { clear, h, toast } from './dom.js';
import * as signin from './pages/signin.js';
import * as jobs from './pages/jobs.js';
import * as job from './pages/job.js';
import * as newjob from './pages/newjob.js';
import * as gallery from './pages/gallery.js';
import * as asset from './pages/asset.js';
import * as usage from './pages/usage.js';
import * as admin from './pages/admin.js';

const view = document.getElementById('view');
const header = document.querySelector('header.top');
const ctx = { me: null, providers: null };
let cleanup = null;
let first = true;

const ROUTES = [
  [/^#\/jobs\/([\w-]+)$/, job, 'jobs'],
  [/^#\/jobs$/, jobs, 'jobs'],
  [/^#\/new(?:\?.*)?$/, newjob, 'new'],
  [/^#\/gallery$/, gallery, 'gallery'],
  [/^#\/assets\/([\w-]+)$/, asset, 'gallery'],
  [/^#\/usage$/, usage, 'usage'],
  [/^#\/admin(?:\/(\w+))?$/, admin, 'admin'],
];

export function params() {
  const at = location.hash.indexOf('?');
  return new URLSearchParams(at < 0 ? '' : location.hash.slice(at + 1));
}

async function whoAmI() {
  try {
    ctx.me = await api('/v1/users/me');
  } catch {
    ctx.me = null;
  }
  return ctx.me;
}

function showShell() {
  header.hidden = !ctx.me;
  if (!ctx.me) return;
  document.getElementById('who').textContent = `${ctx.me.username} · ${ctx.me.credits} credits`;
  header.querySelector('[data-nav="admin"]').hidden = ctx.me.role !== 'admin';
}

export async function refreshMe() {
  await whoAmI();
  showShell();
}

async function route() {
  if (cleanup) { try { cleanup(); } catch { /* the page is gone */ } cleanup = null; }
  if (!ctx.me && !(await whoAmI())) {
    showShell();
    clear(view);
    cleanup = signin.render(view, [], ctx, async () => { await whoAmI(); showShell(); route(); });
    return;
  }
  showShell();
  const hash = location.hash || '#/jobs';
  const found = ROUTES.find(([pattern]) => pattern.test(hash));
  if (!found) { location.hash = '#/jobs'; return; }
  const [pattern, page, nav] = found;
  for (const link of header.querySelectorAll('[data-nav]')) {
    if (link.dataset.nav === nav) link.setAttribute('aria-current', 'page');
    else link.removeAttribute('aria-current');
  }
  clear(view);
  if (!first) view.focus({ preventScroll: true }); // where a screen reader goes on to read the new page
  first = false;
  try {
    cleanup = (await page.render(view, hash.match(pattern).slice(1), ctx)) || null;
  } catch (error) {
    clear(view, h('h1', {}, 'Something went wrong'), h('p', { class: 'error' }, error.message));
  }
}

onSignedOut(() => {
  if (!ctx.me) return;
  ctx.me = null;
  toast('Your session ended: sign in again.', 'warn');
  route();
});

document.getElementById('sign-out').addEventListener('click', async () => {
  const out = () => fetch('/console/session', { method: 'DELETE', headers: CSRF });
  // An expired access cookie is renewed first, so that the session is revoked on the server.
  if ((await out()).status === 401 && (await renew())) await out();
  ctx.me = null;
  location.hash = '#/jobs';
  route();
});

document.querySelector('.skip').addEventListener('click', (event) => {
  event.preventDefault(); // the hash belongs to the router
  view.focus();
});

window.addEventListener('hashchange', route);
route();
