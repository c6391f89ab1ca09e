// Calls to the gateway's API with the bearer token; a 401 ends the session (back to login).
import { authHeader, end, session } from './session.js';

export class ApiError extends Error {
  constructor(status, detail) {
    super(`HTTP ${status}`);
    this.status = status;
    this.detail = detail;
  }
}

export async function api(path, { method = 'GET', body, signal } = {}) {
  const headers = { Accept: 'application/json', ...authHeader() };
  let payload;
  if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    payload = JSON.stringify(body);
  }
  const r = await fetch(path, { method, headers, body: payload, signal, credentials: 'omit', cache: 'no-store' });
  if (r.status === 401) {
    end('expired');
    throw new ApiError(401);
  }
  if (!r.ok) {
    let detail;
    try { detail = (await r.json()).detail; } catch { /* no body */ }
    throw new ApiError(r.status, detail);
  }
  if (r.status === 204) return null;
  return r.json();
}

// The signed-in user's name (e.g. to assign an alert to oneself); who acts is always the token's.
export function me() {
  const s = session();
  return s ? s.user : '';
}
