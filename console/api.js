// The admin API: every call carries the token the user typed in (kept in
// sessionStorage: gone when the browser session ends).
const KEY = 'waymark.token';

export const session = {
  get token() { return sessionStorage.getItem(KEY); },
  set token(t) { if (t) sessionStorage.setItem(KEY, t); else sessionStorage.removeItem(KEY); },
};

export class ApiError extends Error {
  constructor(status, body) {
    super((body && body.error) || `HTTP ${status}`);
    this.status = status;
    this.body = body || {};
  }
  /** The route does not exist on this node (the router's 404, not "no journey x"). */
  get unavailable() { return this.status === 404 && this.body.error === 'not found'; }
}

let onUnauthorized = () => {};
export function whenUnauthorized(f) { onUnauthorized = f; }

export async function api(method, path, body, token = session.token) {
  const headers = { Accept: 'application/json' };
  if (token) headers.Authorization = `Bearer ${token}`;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const res = await fetch(path, { method, headers, body, cache: 'no-store', credentials: 'omit' });
  const text = await res.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch { data = { error: text }; }
  if (res.ok) return data;
  const err = new ApiError(res.status, data);
  if (res.status === 401 && token === session.token) onUnauthorized(err);
  throw err;
}

export const get = (path) => api('GET', path);
export const enc = encodeURIComponent;
