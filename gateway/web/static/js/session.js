// The signed-in user's session: a bearer token in session storage (gone when the tab closes),
// sent as a header by api.js; no cookie carries authority, so there is no CSRF surface.
const KEY = 'hmg.session';
let expiryTimer = null;
const listeners = new Set();

export function session() {
  try {
    const s = JSON.parse(sessionStorage.getItem(KEY) || 'null');
    if (s && s.expires_at && Date.now() >= s.expires_at) {
      end('expired');
      return null;
    }
    return s;
  } catch {
    return null;
  }
}

export function onEnd(fn) { listeners.add(fn); }

function arm(s) {
  clearTimeout(expiryTimer);
  if (s && s.expires_at) expiryTimer = setTimeout(() => end('expired'), Math.max(0, s.expires_at - Date.now()));
}

export function resume() { arm(session()); }

export async function login(username, password) {
  const form = new URLSearchParams({ grant_type: 'password', username, password });
  const r = await fetch('/auth/token', {
    method: 'POST', body: form, credentials: 'omit', cache: 'no-store',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded', Accept: 'application/json' },
  });
  if (!r.ok) {
    const err = new Error('login failed');
    err.status = r.status;
    throw err;
  }
  const tok = await r.json();
  const me = await fetch('/auth/me', { headers: { Authorization: `Bearer ${tok.access_token}` }, cache: 'no-store' });
  if (!me.ok) throw new Error('no identity');
  const who = await me.json();
  const s = {
    token: tok.access_token,
    expires_at: Date.now() + 1000 * (tok.expires_in || 900),
    user: who.user, role: who.role, tenant: who.tenant, display_name: who.display_name || who.user,
  };
  sessionStorage.setItem(KEY, JSON.stringify(s));
  arm(s);
  return s;
}

export function end(reason) {
  clearTimeout(expiryTimer);
  const had = sessionStorage.getItem(KEY) !== null;
  sessionStorage.removeItem(KEY);
  if (had) for (const fn of listeners) fn(reason);
}

// Sign out on the server too (the token is refused from then on), then forget it here; the page
// leaves the session even when the server cannot be reached.
export async function signOut() {
  const headers = authHeader();
  if (headers.Authorization) {
    try {
      await fetch('/auth/logout', { method: 'POST', headers, credentials: 'omit', cache: 'no-store' });
    } catch {
      // offline: the token still ends at its expiry
    }
  }
  end('logout');
}

export function authHeader() {
  const s = session();
  return s && s.token ? { Authorization: `Bearer ${s.token}` } : {};
}
