// The ECG strip viewer of the patient page: loads 60 s windows of the stored chunks, moves
// earlier or later, changes paper speed and gain, and opens an alert's strip at its event.
import { api, ApiError } from './api.js';
import { t, translate } from './i18n.js';
import { esc, time } from './format.js';
import * as prefs from './prefs.js';
import { drawStrip } from './charts/ecg.js';

const WINDOW_MS = 60e3;
const MAP_HOURS = 6;

export async function mountEcg(host, pid, alert) {
  const v = { host, pid, speed: 25, gain: 10, start: null, device: null, focus: null, runs: [] };
  host.innerHTML = `<div class="ecgbar">
      <button type="button" data-move="-1" data-i18n="ecg.earlier"></button>
      <button type="button" data-move="1" data-i18n="ecg.later"></button>
      <label for="ecg-run" data-i18n="ecg.recordings"></label> <select id="ecg-run"></select>
      <span class="seg" role="group" data-i18n-attr="aria-label:ecg.speed">${[12.5, 25, 50].map((s) => `<button type="button" data-speed="${s}" aria-pressed="${s === 25}">${s} mm/s</button>`).join('')}</span>
      <span class="seg" role="group" data-i18n-attr="aria-label:ecg.gain">${[5, 10, 20].map((g) => `<button type="button" data-gain="${g}" aria-pressed="${g === 10}">${g} mm/mV</button>`).join('')}</span>
    </div>
    <p id="ecg-info" class="hint"></p>
    <div class="ecgwrap" id="ecg-wrap" tabindex="0" data-i18n-attr="aria-label:ecg.scroll"></div>
    <div class="ecg-print" id="ecg-print"></div>
    <p class="hint" data-i18n="ecg.legend"></p>`;
  translate(host);
  host.addEventListener('click', (ev) => onClick(v, ev));
  host.querySelector('#ecg-run').addEventListener('change', (ev) => {
    const run = v.runs[Number(ev.target.value)];
    if (run) { v.start = run.start; v.device = run.device; v.focus = null; load(v); }
  });
  await chunkMap(v);
  const ev = alert && alert.evidence ? alert.evidence : null;
  if (ev && ev.episode && ev.episode.label) v.alertEp = { ...ev.episode, hr: typeof ev.heart_rate === 'number' ? ev.heart_rate : null };
  if (ev && (ev.strip || ev.episode)) {
    const from = Date.parse((ev.strip && ev.strip.from) || ev.episode.start);
    const at = Date.parse((ev.episode && ev.episode.start) || ev.strip.from);
    v.device = (ev.strip && ev.strip.device_id) || null;
    v.start = Math.max(from, at - 10e3);
    v.focus = at;
  } else if (v.runs.length) {
    const last = v.runs[v.runs.length - 1];
    v.start = Math.max(last.start, last.end - WINDOW_MS);
    v.device = last.device;
  }
  if (v.start === null) {
    host.querySelector('#ecg-info').textContent = t('ecg.none');
    return;
  }
  await load(v);
}

async function chunkMap(v) {
  const end = Date.now() + 300e3;
  const start = end - MAP_HOURS * 3600e3;
  let chunks = [];
  try {
    chunks = await api(`/patients/${encodeURIComponent(v.pid)}/ecg/chunks?start=${new Date(start).toISOString()}&end=${new Date(end).toISOString()}`);
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) throw e;
  }
  // Continuous runs: chunks of one device that follow each other within 2 s.
  const runs = [];
  for (const c of chunks) {
    const s = Date.parse(c.start);
    const e = s + c.seconds * 1000;
    const last = runs[runs.length - 1];
    if (last && last.device === c.device_id && s - last.end < 2000) last.end = Math.max(last.end, e);
    else runs.push({ device: c.device_id, start: s, end: e });
  }
  v.runs = runs;
  v.host.querySelector('#ecg-run').innerHTML = runs.map((r, i) => `<option value="${i}">${esc(time(new Date(r.start).toISOString()))} · ${esc(r.device)} · ${Math.round((r.end - r.start) / 1000)} s</option>`).join('');
}

async function load(v) {
  const info = v.host.querySelector('#ecg-info');
  const wrap = v.host.querySelector('#ecg-wrap');
  const q = new URLSearchParams({ start: new Date(v.start).toISOString(), end: new Date(v.start + WINDOW_MS).toISOString() });
  if (v.device) q.set('device_id', v.device);
  let strip;
  try {
    strip = await api(`/patients/${encodeURIComponent(v.pid)}/ecg/strip?${q}`);
  } catch (e) {
    if (e instanceof ApiError && e.status === 404) {
      wrap.innerHTML = '';
      info.textContent = t('ecg.none_here');
      return;
    }
    throw e;
  }
  v.strip = { ...strip, episodes: withAlertEpisode(strip, v.alertEp) };
  draw(v);
  drawPrintRows(v.host.querySelector('#ecg-print'), v.strip);
  const eps = v.strip.episodes.map((e) => `${episodeText(e)} ${(e.start / strip.fs).toFixed(1)}–${(e.end / strip.fs).toFixed(1)} s`).join(', ');
  info.textContent = t('ecg.info', {
    start: time(strip.start), device: strip.device_id, lead: strip.lead,
    hr: strip.heart_rate ? Math.round(strip.heart_rate) : '—', beats: strip.beats.length,
  }) + (eps ? ` · ${eps}` : '');
}

// An episode's label with its rate, e.g. "Tachycardia 131 /min"; the alert's own episode says so.
function episodeText(e) {
  const rate = typeof e.mean_hr === 'number' ? ` ${Math.round(e.mean_hr)} /min` : '';
  return `${t(`ecg.label.${e.label}`)}${rate}${e.alert ? ` (${t('ecg.alert_episode')})` : ''}`;
}

// One source of truth for the episode an alert is about: the alert's own bounds and rate (what
// the clinician was told) replace the strip's re-analysis of the same kind where they overlap.
export function withAlertEpisode(strip, ep) {
  if (!ep) return strip.episodes;
  const t0 = Date.parse(strip.start);
  const n = strip.samples.length;
  const at = (iso) => Math.round(((Date.parse(iso) - t0) / 1000) * strip.fs);
  const start = Math.max(0, at(ep.start));
  const end = Math.min(n, ep.end ? at(ep.end) : n);
  if (end <= 0 || start >= n || end <= start) return strip.episodes;
  const mine = { label: ep.label, start, end, mean_hr: ep.hr, detail: '', alert: true };
  const others = strip.episodes.filter((e) => e.label !== ep.label || e.end <= start || e.start >= end);
  return [...others, mine].sort((a, b) => a.start - b.start);
}

function draw(v) {
  const wrap = v.host.querySelector('#ecg-wrap');
  const geo = drawStrip(wrap, v.strip, {
    pxPerMm: prefs.get('pxPerMm'), speed: v.speed, gain: v.gain, label: t('ecg.title'),
    texts: { episode: (l, e) => episodeText(e || { label: l }), gap: (s) => t('ecg.gap', { s: s.toFixed(1) }) },
  });
  window.hmgEcg = { ...geo, canvas: undefined, shown: v.strip.episodes, fs: v.strip.fs, start: v.strip.start, beats: v.strip.beats, device: v.strip.device_id };
  if (v.focus !== null) {
    const x = geo.x0 + ((v.focus - Date.parse(v.strip.start)) / 1000) * geo.pxPerS;
    wrap.scrollLeft = Math.max(0, x - 60);
  }
}

function onClick(v, ev) {
  const b = ev.target.closest('button');
  if (!b || v.start === null) return;
  if (b.dataset.move) {
    v.start += Number(b.dataset.move) * (WINDOW_MS - 10e3);
    v.focus = null;
    load(v);
  } else if (b.dataset.speed || b.dataset.gain) {
    if (b.dataset.speed) v.speed = Number(b.dataset.speed);
    if (b.dataset.gain) v.gain = Number(b.dataset.gain);
    for (const x of b.parentElement.querySelectorAll('button')) x.setAttribute('aria-pressed', String(x === b));
    if (v.strip) draw(v);
  }
}

// Millimetres on paper: CSS px are 1/96 in, so a canvas sized in CSS px at 96/25.4 px per mm
// prints at true scale (25 mm/s, 10 mm/mV) whatever the screen calibration is.
export const PRINT_PX_PER_MM = 96 / 25.4;

// The strip as printed: rows of `rowSeconds` (10 s, 260 mm with the calibration pulse: one row
// fits the width of an A4 landscape page), each labelled with its start time.
export function drawPrintRows(host, strip, rowSeconds = 10) {
  if (!host) return;
  host.innerHTML = '';
  const n = Math.round(rowSeconds * strip.fs);
  const t0 = Date.parse(strip.start);
  for (let i = 0; i < strip.samples.length; i += n) {
    const part = {
      ...strip,
      samples: strip.samples.slice(i, i + n),
      beats: strip.beats.filter((b) => b >= i && b < i + n).map((b) => b - i),
      episodes: strip.episodes.filter((e) => e.end > i && e.start < i + n)
        .map((e) => ({ ...e, start: Math.max(0, e.start - i), end: Math.min(n, e.end - i) })),
      gaps: strip.gaps.filter(([g]) => g >= i && g < i + n).map(([g, sec]) => [g - i, sec]),
    };
    const at = new Date(t0 + (i / strip.fs) * 1000).toISOString();
    const fig = document.createElement('figure');
    fig.className = 'ecg-print-row';
    fig.innerHTML = `<figcaption><time datetime="${esc(at)}">${esc(time(at))}</time> · ${esc(strip.device_id)} · ${esc(t('ecg.print_scale'))}</figcaption><div></div>`;
    host.appendChild(fig);
    drawStrip(fig.querySelector('div'), part, {
      pxPerMm: PRINT_PX_PER_MM, speed: 25, gain: 10, label: t('ecg.title'),
      texts: { episode: (l, e) => episodeText(e || { label: l }), gap: (sec) => t('ecg.gap', { s: sec.toFixed(1) }) },
    });
  }
}
