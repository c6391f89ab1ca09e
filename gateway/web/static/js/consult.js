// Remote ECG consultation: the centre's worklist (or the tenant's requests) with turnaround
// figures (#/consult), and one request's reading page (#/consult/ID): the calibrated strip with
// beat marks and calipers, the elder's earlier readings, claim/release, coded findings, sign and
// amend; the requester sees the report, confirms receipt and prints it.
import { api, ApiError } from './api.js';
import { lang, t, translate } from './i18n.js';
import { esc, time } from './format.js';
import * as prefs from './prefs.js';
import { authHeader, session } from './session.js';
import { errorText } from './ui.js';
import { drawStrip } from './charts/ecg.js';

const POLL_MS = 1000;
const MEASURES = ['RR', 'PR', 'QRS', 'QT'];

export function mount(el, live, id) {
  document.body.dataset.page = id ? 'consult-reading' : 'consult';
  const st = { el, id, alive: true, timer: null, req: null, cal: { kind: 'RR', a: null, b: null }, values: {} };
  const run = id ? () => reading(st) : () => worklist(st);
  run().catch((e) => fail(st, e));
  if (!id) st.timer = setInterval(() => { worklist(st).catch(() => {}); }, POLL_MS);
  return () => { st.alive = false; clearInterval(st.timer); };
}

function fail(st, e) {
  if (!st.alive) return;
  if (e instanceof ApiError && e.status === 404) window.hmgNotFound();
  else if (!(e instanceof ApiError && e.status === 401)) st.el.innerHTML = `<p class="error">${esc(errorText(e))}</p>`;
}

const label = (f) => (lang() === 'zh-CN' ? f.zh : f.en);
// A claim whose lease ended is free again (anyone may claim it).
const statusText = (q) => {
  if (q.status !== 'claimed') return t(`consult.status.${q.status}`);
  return q.holder ? t('consult.claimed_by', { who: q.holder }) : t('consult.status.lapsed');
};

function row(q) {
  const holder = statusText(q);
  return `<tr data-request="${esc(q.request_id)}" data-status="${esc(q.status)}">
    <td><a href="#/consult/${encodeURIComponent(q.request_id)}">${esc(q.patient_id)}</a></td>
    <td><span class="prio-${esc(q.priority)}">${esc(t(`consult.priority.${q.priority}`))}</span></td>
    <td>${esc(time(q.due_at))}</td><td>${esc(q.tenant)}</td><td class="c-status">${esc(holder)}</td>
    <td>${esc(q.question)}</td></tr>`;
}

async function worklist(st) {
  const [list, figures] = await Promise.all([api('/consult/requests'), api('/consult/figures')]);
  if (!st.alive) return;
  const fig = (v, unit) => (v === null || v === undefined ? '—' : `${v}${unit}`);
  st.el.innerHTML = `<section class="panel" aria-labelledby="c-title"><h1 id="c-title" data-i18n="consult.worklist"></h1>
    <table class="worklist"><thead><tr><th data-i18n="consult.patient"></th><th data-i18n="consult.priority"></th>
      <th data-i18n="consult.due"></th><th data-i18n="consult.tenant"></th><th data-i18n="consult.status"></th>
      <th data-i18n="consult.question"></th></tr></thead>
    <tbody id="c-list">${list.map(row).join('') || `<tr><td colspan="6" data-i18n="consult.empty"></td></tr>`}</tbody></table></section>
    <section class="panel" aria-labelledby="c-fig"><h2 id="c-fig" data-i18n="consult.figures"></h2>
    <table id="c-figures"><thead><tr><th data-i18n="consult.centre"></th><th data-i18n="consult.priority"></th>
      <th data-i18n="consult.requests"></th><th data-i18n="consult.to_claim"></th><th data-i18n="consult.to_final"></th>
      <th data-i18n="consult.within"></th></tr></thead><tbody>${figures.map((f) => `<tr data-priority="${esc(f.priority)}">
      <td>${esc(f.centre_id)}</td><td>${esc(t(`consult.priority.${f.priority}`))}</td><td>${f.requests}</td>
      <td>${fig(f.median_claim_min, ' min')}</td><td>${fig(f.median_final_min, ' min')}</td>
      <td>${f.within_deadline === null ? '—' : `${Math.round(f.within_deadline * 100)} %`}</td></tr>`).join('')}</tbody></table></section>`;
  translate(st.el);
  st.el.dataset.loaded = 'true';
}

async function reading(st) {
  const [q, findings] = await Promise.all([api(`/consult/requests/${encodeURIComponent(st.id)}`), api('/consult/findings')]);
  if (!st.alive) return;
  st.req = q;
  st.findings = findings;
  const reader = session().role === 'cardiologist';
  const mine = q.status === 'claimed' && q.holder === session().user;
  const groups = [...new Set(findings.map((f) => f.group))];
  st.el.innerHTML = `<article class="consult">
    <header class="panel" id="r-head"><h1>${esc(t('consult.reading_of', { pid: q.patient_id }))}</h1>
      <p><span class="prio-${esc(q.priority)}">${esc(t(`consult.priority.${q.priority}`))}</span>
        · ${esc(t('consult.due'))} ${esc(time(q.due_at))} · ${esc(q.requested_by)} (${esc(q.tenant)})
        · <span id="r-status" data-status="${esc(q.status)}">${esc(statusText(q))}</span></p>
      <p class="question">${esc(q.question)}</p>
      <p>${reader && !q.report ? `${mine ? '<button type="button" id="r-release" data-i18n="consult.release"></button>' : '<button type="button" class="primary" id="r-claim" data-i18n="consult.claim"></button>'}` : ''}
        <button type="button" id="r-print" data-i18n="consult.print"></button></p>
      <p class="error" role="alert" hidden></p></header>
    <section class="panel" aria-labelledby="h-strip"><h2 id="h-strip" data-i18n="consult.strip"></h2>
      <p class="hint">${esc(t('consult.strip_info', { lead: q.ecg.lead, device: q.ecg.device_id, start: time(q.ecg.start), hr: q.ecg.heart_rate ? Math.round(q.ecg.heart_rate) : '—', beats: q.ecg.beats.length }))}</p>
      <div class="seg" role="group" id="cal-kind" data-i18n-attr="aria-label:consult.calipers">${MEASURES.map((m) => `<button type="button" data-kind="${m}" aria-pressed="${m === 'RR'}">${m}</button>`).join('')}</div>
      <span class="hint" data-i18n="consult.caliper_hint"></span>
      <div class="ecgwrap calwrap" id="r-wrap"><div id="r-strip"></div><div class="caliper" id="cal" hidden><span></span></div></div>
      <dl class="figs" id="cal-values"></dl></section>
    <section class="panel" aria-labelledby="h-report"><h2 id="h-report" data-i18n="consult.report"></h2><div id="r-report"></div>
      ${reader ? `<form id="r-form" ${q.report || mine ? '' : 'hidden'}>
        ${groups.map((g) => `<fieldset><legend>${esc(t(`consult.group.${g}`))}</legend>${findings.filter((f) => f.group === g).map((f) => `<label><input type="checkbox" name="finding" value="${esc(f.code)}"> ${esc(label(f))}</label>`).join(' ')}</fieldset>`).join('')}
        <p><label for="r-text" data-i18n="consult.text"></label><br><textarea id="r-text" rows="3" cols="60"></textarea></p>
        <p><label><input type="checkbox" id="r-critical"> ${esc(t('consult.critical'))}</label></p>
        <p><button type="submit" class="primary" id="r-sign">${esc(t(q.report ? 'consult.amend' : 'consult.sign'))}</button></p></form>` : ''}
    </section>
    <section class="panel" aria-labelledby="h-prev"><h2 id="h-prev" data-i18n="consult.previous"></h2>
      <ul id="r-prev">${q.previous.map((p) => `<li><a href="#/consult/${encodeURIComponent(p.request_id)}">${esc(time(p.requested_at))}</a>: ${esc(p.report.findings.map(label).join(', '))} ${esc(p.report.text)}</li>`).join('') || `<li data-i18n="consult.none_before"></li>`}</ul></section>
    <iframe id="r-printframe" title="print" hidden></iframe></article>`;
  translate(st.el);
  showReport(st);
  drawReading(st);
  const on = (sel, ev, fn) => { const n = st.el.querySelector(sel); if (n) n.addEventListener(ev, fn); };
  on('#r-claim', 'click', () => step(st, 'claim'));
  on('#r-release', 'click', () => step(st, 'release'));
  on('#r-print', 'click', () => printReport(st));
  on('#r-form', 'submit', (ev) => { ev.preventDefault(); signReport(st); });
  on('#cal-kind', 'click', (ev) => {
    const b = ev.target.closest('button[data-kind]');
    if (!b) return;
    st.cal.kind = b.dataset.kind;
    for (const x of b.parentElement.querySelectorAll('button')) x.setAttribute('aria-pressed', String(x === b));
  });
  st.el.dataset.loaded = 'true';
}

function showReport(st) {
  const q = st.req;
  const host = st.el.querySelector('#r-report');
  if (!q.report) { host.innerHTML = `<p data-i18n="consult.no_report"></p>`; translate(host); return; }
  const one = (r, cls) => `<div class="${cls}" data-version="${r.version}"><ul>${r.findings.map((f) => `<li>${esc(label(f))}${f.snomed ? ` <small>SNOMED CT ${esc(f.snomed)}</small>` : ''}</li>`).join('')}</ul>
    <p>${esc(r.text)}</p><p>${Object.entries(r.measurements).map(([k, v]) => `${esc(k)} ${Math.round(v)} ms`).join(' · ')}</p>
    <p class="hint">${esc(t('consult.signed', { who: r.signed_by, at: time(r.signed_at), v: r.version }))}${r.critical ? ` · <strong>${esc(t('consult.critical'))}</strong>` : ''}</p></div>`;
  host.innerHTML = one(q.report, 'report') + q.amendments.slice().reverse().map((a) => one(a, 'replaced')).join('');
}

function drawReading(st) {
  const q = st.req;
  const strip = { ...q.ecg, gaps: q.ecg.gaps || [] };
  const host = st.el.querySelector('#r-strip');
  const geo = drawStrip(host, strip, {
    pxPerMm: prefs.get('pxPerMm'), speed: 25, gain: 10, label: t('ecg.title'),
    texts: { episode: (l) => t(`ecg.label.${l}`), gap: (s) => t('ecg.gap', { s: s.toFixed(1) }) },
  });
  // Beat marks with the analyser's labels (V, F, Q) above each beat.
  const canvas = host.querySelector('canvas');
  const g = canvas.getContext('2d');
  g.fillStyle = getComputedStyle(document.body).getPropertyValue('--fg') || '#000';
  q.ecg.beats.forEach((b, i) => {
    const lab = q.ecg.labels[i];
    if (lab && lab !== 'N') g.fillText(lab, geo.x0 + (b / q.ecg.fs) * geo.pxPerS - 3, 2);
  });
  window.hmgConsult = { x0: geo.x0, pxPerS: geo.pxPerS, fs: q.ecg.fs, beats: q.ecg.beats };
  const cal = st.el.querySelector('#cal');
  const xOf = (ev) => ev.clientX - canvas.getBoundingClientRect().left;
  canvas.addEventListener('pointerdown', (ev) => {
    st.cal.a = xOf(ev);
    st.cal.b = null;
    canvas.setPointerCapture(ev.pointerId);
  });
  canvas.addEventListener('pointermove', (ev) => { if (st.cal.a !== null && st.cal.b === null) showCaliper(st, cal, st.cal.a, xOf(ev), geo, false); });
  canvas.addEventListener('pointerup', (ev) => {
    if (st.cal.a === null) return;
    st.cal.b = xOf(ev);
    showCaliper(st, cal, st.cal.a, st.cal.b, geo, true);
    st.cal.a = null;
  });
}

function showCaliper(st, cal, a, b, geo, done) {
  const ms = (Math.abs(b - a) / geo.pxPerS) * 1000;
  cal.hidden = false;
  cal.style.left = `${Math.min(a, b)}px`;
  cal.style.width = `${Math.abs(b - a)}px`;
  cal.querySelector('span').textContent = `${st.cal.kind} ${ms.toFixed(0)} ms`;
  if (!done) return;
  st.values[st.cal.kind] = Math.round(ms * 10) / 10;
  const v = st.values;
  if (v.QT && v.RR) v.QTc = Math.round((v.QT / Math.sqrt(v.RR / 1000)) * 10) / 10; // Bazett
  st.el.querySelector('#cal-values').innerHTML = Object.entries(v).map(([k, x]) => `<div><dt>${esc(k)}</dt><dd data-measure="${esc(k)}">${x.toFixed(0)} ms</dd></div>`).join('');
}

async function step(st, what) {
  try {
    await api(`/consult/requests/${encodeURIComponent(st.id)}/${what}`, { method: 'POST' });
    await reading(st);
  } catch (e) { showError(st, e); }
}

async function signReport(st) {
  const form = st.el.querySelector('#r-form');
  const body = {
    findings: [...form.querySelectorAll('input[name=finding]:checked')].map((i) => i.value),
    text: form.querySelector('#r-text').value,
    measurements: { ...st.values },
    critical: form.querySelector('#r-critical').checked,
  };
  try {
    await api(`/consult/requests/${encodeURIComponent(st.id)}/${st.req.report ? 'amend' : 'report'}`, { method: 'POST', body });
    st.values = {};
    await reading(st);
  } catch (e) { showError(st, e); }
}

function showError(st, e) {
  const err = st.el.querySelector('#r-head .error');
  if (!err) return;
  err.textContent = e instanceof ApiError && e.detail ? String(e.detail) : errorText(e);
  err.hidden = false;
}

async function printReport(st) {
  const r = await fetch(`/consult/requests/${encodeURIComponent(st.id)}/print`, { headers: authHeader(), cache: 'no-store', credentials: 'omit' });
  const frame = st.el.querySelector('#r-printframe');
  frame.srcdoc = await r.text();
  frame.onload = () => frame.contentWindow.print();
}
