// Message catalogues (en, zh-CN): every text on the page comes from here.
const catalogues = {};
let current = 'en';
// Keys asked for but absent from the current catalogue; the browser tests read this.
export const missing = new Set();
window.hmgMissingKeys = missing;

export const LANGS = ['en', 'zh-CN'];

export async function loadCatalogues() {
  await Promise.all(LANGS.map(async (l) => {
    const r = await fetch(`/ui/i18n/${l}.json`, { cache: 'no-cache' });
    catalogues[l] = await r.json();
  }));
}

export function setLang(lang) {
  current = LANGS.includes(lang) ? lang : 'en';
  document.documentElement.lang = current;
}

export function lang() { return current; }

export function has(key) { return key in (catalogues[current] || {}); }

export function t(key, vars) {
  const text = (catalogues[current] || {})[key];
  if (text === undefined) {
    missing.add(`${current}:${key}`);
    return key;
  }
  if (!vars) return text;
  return text.replace(/\{(\w+)\}/g, (m, k) => (vars[k] === undefined || vars[k] === null ? m : String(vars[k])));
}

// Fill `data-i18n` (text) and `data-i18n-attr` ("attr:key;attr:key") under `root`.
export function translate(root = document) {
  for (const el of root.querySelectorAll('[data-i18n]')) el.textContent = t(el.dataset.i18n);
  for (const el of root.querySelectorAll('[data-i18n-attr]')) {
    for (const pair of el.dataset.i18nAttr.split(';')) {
      const [attr, key] = pair.split(':');
      if (attr && key) el.setAttribute(attr, t(key));
    }
  }
}
