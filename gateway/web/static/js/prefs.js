// The user's display preferences, kept in this browser (no health data).
const KEY = 'hmg.prefs';

function defaults() {
  const zh = (navigator.language || '').toLowerCase().startsWith('zh');
  let tz = 'UTC';
  try { tz = Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC'; } catch { /* keep UTC */ }
  return { lang: zh ? 'zh-CN' : 'en', unit: 'mmol/L', tz, night: false, sound: false, pxPerMm: 96 / 25.4 };
}

let prefs = load();

function load() {
  try {
    return { ...defaults(), ...JSON.parse(localStorage.getItem(KEY) || '{}') };
  } catch {
    return defaults();
  }
}

export function get(name) { return prefs[name]; }

export function set(name, value) {
  prefs = { ...prefs, [name]: value };
  localStorage.setItem(KEY, JSON.stringify(prefs));
}
