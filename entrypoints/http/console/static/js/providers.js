import { api } from './api.js';

let cached = null;
export async function providers() {
  if (!cached) cached = api('/v1/providers').then((r) => r.items).catch((e) => { cached = null; throw e; });
  return cached;
}
