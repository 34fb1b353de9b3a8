// The console talks to the same /v1 API as every client. Its session lives in HttpOnly
// cookies (never in script reach); unsafe methods carry the CSRF header the server requires.
export const CSRF = { 'X-Pixrelay-CSRF': '1' };

export class ApiError extends Error {
  constructor(status, problem) {
    super(problem.detail || problem.title || `HTTP ${status}`);
    this.status = status;
    this.code = problem.code || `HTTP_${status}`;
    this.problem = problem;
  }
}

let renewing = null;
let signedOut = () => {};
export function onSignedOut(callback) { signedOut = callback; }

// One renewal at a time: a refresh token works once, a second use would end the session.
export function renew() {
  if (!renewing) {
    renewing = fetch('/console/session/refresh', { method: 'POST', headers: CSRF })
      .then((r) => r.ok, () => false)
      .finally(() => { setTimeout(() => { renewing = null; }, 0); });
  }
  return renewing;
}

function send(path, { method = 'GET', json, form, headers = {} } = {}) {
  const init = { method, headers: { Accept: 'application/json', ...headers }, credentials: 'same-origin' };
  if (method !== 'GET' && method !== 'HEAD') Object.assign(init.headers, CSRF);
  if (json !== undefined) {
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(json);
  } else if (form) {
    init.body = form;
  }
  return fetch(path, init);
}

export async function raw(path, options = {}) {
  let response = await send(path, options);
  if (response.status === 401 && !path.startsWith('/console/session')) {
    if (await renew()) response = await send(path, options);
    if (response.status === 401) { signedOut(); }
  }
  return response;
}

export async function api(path, options = {}) {
  const response = await raw(path, options);
  if (response.status === 204) return null;
  const body = await response.json().catch(() => ({}));
  if (!response.ok) throw new ApiError(response.status, body);
  return body;
}

export function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== '' && v !== null && v !== undefined) q.set(k, v);
  const s = q.toString();
  return s ? `?${s}` : '';
}

export const content = (assetId) => `/v1/assets/${encodeURIComponent(assetId)}/content`;

export function upload(file) {
  const form = new FormData();
  form.append('file', file, file.name);
  return api('/v1/assets', { method: 'POST', form });
}
