// Display formats: times in the user's zone, glucose in the user's unit, durations, key values.
import { lang, t } from './i18n.js';
import * as prefs from './prefs.js';

export const MGDL_PER_MMOL = 18.016;

export function esc(s) {
  return String(s ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);
}

function zone() { return prefs.get('tz') || 'UTC'; }

// Every time shown with its date, seconds and zone, the same in both languages:
// `2026-12-03 05:44:12 GMT+8` (never a locale's short `12/3/26`).
export function time(iso, { seconds = true } = {}) {
  if (!iso) return '—';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return '—';
  try {
    const fmt = new Intl.DateTimeFormat('en-CA', {
      year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit',
      second: seconds ? '2-digit' : undefined, hourCycle: 'h23', timeZone: zone(), timeZoneName: 'short',
    });
    const p = Object.fromEntries(fmt.formatToParts(d).map((x) => [x.type, x.value]));
    const hms = seconds ? `${p.hour}:${p.minute}:${p.second}` : `${p.hour}:${p.minute}`;
    return `${p.year}-${p.month}-${p.day} ${hms} ${p.timeZoneName}`;
  } catch {
    return d.toISOString();
  }
}

export function clock(iso) { return time(iso); }

// A chart axis label in the user's zone and language (`opts`: Intl.DateTimeFormat options).
export function axisLabel(iso, opts) {
  try {
    return new Intl.DateTimeFormat(lang(), { ...opts, timeZone: zone() }).format(new Date(iso));
  } catch {
    return new Date(iso).toISOString();
  }
}

// Hours and minutes of the day in the user's zone, for morning/evening splits and AGP axes.
export function localHour(ms) {
  const parts = new Intl.DateTimeFormat('en-GB', { hour: '2-digit', hour12: false, timeZone: zone() }).formatToParts(new Date(ms));
  return Number(parts.find((p) => p.type === 'hour').value) % 24;
}

export function glucoseValue(mmol) {
  if (mmol === null || mmol === undefined || Number.isNaN(mmol)) return '—';
  return prefs.get('unit') === 'mg/dL' ? String(Math.round(mmol * MGDL_PER_MMOL)) : Number(mmol).toFixed(1);
}

export function glucoseUnit() { return prefs.get('unit') === 'mg/dL' ? 'mg/dL' : 'mmol/L'; }

export function glucose(mmol) { return `${glucoseValue(mmol)} ${glucoseUnit()}`; }

export function toUnit(mmol) { return prefs.get('unit') === 'mg/dL' ? mmol * MGDL_PER_MMOL : mmol; }

export function duration(ms) {
  const neg = ms < 0;
  let s = Math.round(Math.abs(ms) / 1000);
  const h = Math.floor(s / 3600);
  s -= h * 3600;
  const m = Math.floor(s / 60);
  s -= m * 60;
  const body = h ? `${h}:${String(m).padStart(2, '0')}:${String(s).padStart(2, '0')}` : `${m}:${String(s).padStart(2, '0')}`;
  return neg ? `-${body}` : body;
}

export function minutes(seconds) {
  const m = Math.round(seconds / 60);
  return m >= 60 ? t('unit.hmin', { h: Math.floor(m / 60), m: m % 60 }) : t('unit.min', { m });
}

export function age(birthYear) {
  if (!birthYear) return null;
  return new Date().getUTCFullYear() - birthYear;
}

// Depth-first search of alert evidence for the first object holding `keys`.
function find(obj, keys, depth = 0) {
  if (!obj || typeof obj !== 'object' || depth > 4) return null;
  if (keys.every((k) => typeof obj[k] === 'number')) return obj;
  for (const v of Object.values(obj)) {
    const hit = find(v, keys, depth + 1);
    if (hit) return hit;
  }
  return null;
}

// The one figure that tells a clinician how bad it is: 204/126 mmHg, 2.8 mmol/L, AF 31 min.
export function keyValue(alert, now = Date.now()) {
  const ev = alert.evidence || {};
  const parts = [];
  const bp = find(ev, ['systolic', 'diastolic']);
  if (bp) parts.push(`${Math.round(bp.systolic)}/${Math.round(bp.diastolic)} mmHg`);
  const g = find(ev, ['glucose']);
  if (g) parts.push(glucose(g.glucose));
  const episode = find(ev, []) && findEpisode(ev);
  if (episode) {
    const start = Date.parse(episode.start);
    const stop = episode.end ? Date.parse(episode.end) : now;
    const label = t(`ecg.label.${episode.label}`);
    parts.push(`${label} ${span(Math.max(0, (stop - start) / 1000))}`);
  }
  const hr = typeof ev.heart_rate === 'number' ? ev.heart_rate : (find(ev, ['hr']) || {}).hr;
  if (typeof hr === 'number') parts.push(`${Math.round(hr)} /min`);
  if (!parts.length) {
    const b = find(ev, ['battery']);
    if (b) parts.push(`${Math.round(b.battery * 100)} %`);
  }
  return parts.join(' · ');
}

// A length of time as a clinician reads it: seconds under a minute (a 3.6 s pause), else minutes.
export function span(seconds) {
  return seconds < 60 ? t('unit.s', { s: seconds.toFixed(1) }) : minutes(seconds);
}

// What a message already states, by quantity: the message (rendered from the alert's own
// parameters) is the one source of truth for it, so no second, older or other figure of the
// same quantity is shown beside it ("心率 118" never next to "132 /min").
const STATED = [/mmHg/, /mmol\/L|mg\/dL/, /\/min|次\/分/];

// The key figure only where the message does not already say it (no "189/121 mmHg" twice).
export function extraKeyValue(alert, message) {
  const kv = keyValue(alert);
  const text = String(message);
  return kv.split(' · ').filter((part) => part
    && !text.includes(part.split(' ')[0])
    && !STATED.some((re) => re.test(part) && re.test(text))).join(' · ');
}

function findEpisode(obj, depth = 0) {
  if (!obj || typeof obj !== 'object' || depth > 4) return null;
  if (obj.episode && typeof obj.episode === 'object' && obj.episode.label) return obj.episode;
  for (const v of Object.values(obj)) {
    const hit = findEpisode(v, depth + 1);
    if (hit) return hit;
  }
  return null;
}
