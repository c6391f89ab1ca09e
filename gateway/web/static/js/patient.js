// The patient page: header, latest values, BP, glucose (CGM, AGP, time in ranges), the ECG strip
// viewer, the alert history with its audit trail and referrals, and the consent to share.
import { api, ApiError } from './api.js';
import { lang, t, translate } from './i18n.js';
import { age, axisLabel, esc, extraKeyValue, glucose, glucoseValue, glucoseUnit, time } from './format.js';
import * as prefs from './prefs.js';
import { act } from './queue.js';
import { errorText } from './ui.js';
import { dayparts, drawBp } from './charts/bp.js';
import { drawAgp, drawTrace } from './charts/glucose.js';
import { mountEcg } from './ecgview.js';
import { mountConsultPanel } from './consultpanel.js';
import { mountConsentPanel } from './consentpanel.js';
import { gapText } from './patients.js';
import { trailHtml } from './trail.js';

const DAY = 86400e3;
let state = null;

export function mount(el, live, pid, alertId) {
  document.body.dataset.page = 'patient';
  // Each async step checks the state it started with: a step of a page already left must not
  // write into the view that now shows another page.
  const st = { el, pid, live, bpDays: 7, traceDays: 1, alive: true, unconsult: null, unconsent: null };
  state = st;
  el.innerHTML = `<article class="patient" aria-busy="true"><p data-i18n="common.loading"></p></article>`;
  translate(el);
  // A burst of events (a sensor's backlog) refreshes the history once a second at most.
  let pending = null;
  const onEvent = (type, ev) => {
    if (!ev.alert || ev.alert.patient_id !== pid || pending) return;
    pending = setTimeout(() => { pending = null; history(); }, 1000);
  };
  live.subscribe(onEvent);
  load(alertId).catch((e) => {
    if (!st.alive) return;
    if (e instanceof ApiError && e.status === 404) window.hmgNotFound();
    else if (!(e instanceof ApiError && e.status === 401)) el.innerHTML = `<p class="error">${esc(errorText(e))}</p>`;
  });
  return () => {
    st.alive = false;
    live.unsubscribe(onEvent);
    if (st.unconsult) st.unconsult();
    if (st.unconsent) st.unconsent();
  };
}

async function load(alertId) {
  const st = state;
  const { el, pid } = st;
  const p = encodeURIComponent(pid);
  const patient = await api(`/patients/${p}`);
  const [limits, latest, devices, roster, alerts, coverage] = await Promise.all([
    api(`/patients/${p}/limits`),
    api(`/history/${p}/latest`),
    api('/devices').catch(() => []),
    api('/rosters').catch(() => null),
    api(`/alerts?patient_id=${p}&limit=200`),
    api(`/rosters/coverage?patient_id=${p}`).catch(() => null),
  ]);
  if (!st.alive) return;
  Object.assign(st, { patient, limits: limits.limits, latest: latest.latest, alerts });
  el.innerHTML = `<article class="patient">
    <header class="panel" id="p-head"></header>
    <section class="panel" aria-labelledby="h-latest"><h2 id="h-latest" data-i18n="patient.latest"></h2><div id="p-latest" class="figs"></div></section>
    <section class="panel" aria-labelledby="h-bp"><h2 id="h-bp" data-i18n="bp.title"></h2>
      <div class="seg" role="group" data-i18n-attr="aria-label:bp.period" id="bp-days">
        ${[7, 30, 90].map((d) => `<button type="button" data-days="${d}" aria-pressed="${d === 7}">${esc(t('common.days', { n: d }))}</button>`).join('')}
      </div>
      <figure><div id="bp-chart"></div><figcaption data-i18n="bp.legend"></figcaption></figure>
      <table id="bp-means"></table></section>
    <section class="panel" aria-labelledby="h-glu"><h2 id="h-glu" data-i18n="glucose.title"></h2>
      <h3 data-i18n="glucose.trace"></h3>
      <div class="seg" role="group" id="trace-days">
        ${[1, 3, 14].map((d) => `<button type="button" data-days="${d}" aria-pressed="${d === 1}">${esc(t('common.days', { n: d }))}</button>`).join('')}
      </div>
      <figure><div id="glu-trace"></div><figcaption data-i18n="glucose.trace_legend"></figcaption></figure>
      <div class="grid2"><div><h3 data-i18n="glucose.agp"></h3><figure><div id="glu-agp"></div><figcaption data-i18n="glucose.agp_legend"></figcaption></figure></div>
      <div><h3 data-i18n="glucose.tir"></h3><div id="glu-tir"></div></div></div>
      <h3 data-i18n="glucose.fingersticks"></h3><div id="glu-sticks"></div></section>
    <section class="panel" aria-labelledby="h-ecg" id="ecg-panel"><h2 id="h-ecg" data-i18n="ecg.title"></h2><div id="ecg"></div></section>
    <section class="panel" aria-labelledby="h-consult" id="consult-panel"><h2 id="h-consult" data-i18n="consult.title"></h2><div id="consult"></div></section>
    <section class="panel" aria-labelledby="h-hist"><h2 id="h-hist" data-i18n="history.title"></h2><div id="p-alerts"></div>
      <h3 data-i18n="referral.title"></h3><div id="p-refs"></div></section>
    <section class="panel" aria-labelledby="h-consent" id="consent-panel"><h2 id="h-consent" data-i18n="consent.title"></h2><div id="consent"></div></section>
  </article>`;
  translate(el);
  header(patient, devices, roster, coverage);
  st.unconsent = mountConsentPanel(el.querySelector('#consent-panel'), pid);
  el.querySelector('#p-print').addEventListener('click', () => window.print());
  latestValues();
  el.querySelector('#bp-days').addEventListener('click', (ev) => {
    const b = ev.target.closest('button[data-days]');
    if (!b) return;
    state.bpDays = Number(b.dataset.days);
    for (const x of el.querySelectorAll('#bp-days button')) x.setAttribute('aria-pressed', String(x === b));
    bp();
  });
  el.querySelector('#trace-days').addEventListener('click', (ev) => {
    const b = ev.target.closest('button[data-days]');
    if (!b) return;
    state.traceDays = Number(b.dataset.days);
    for (const x of el.querySelectorAll('#trace-days button')) x.setAttribute('aria-pressed', String(x === b));
    trace();
  });
  el.querySelector('#p-alerts').addEventListener('click', onHistoryClick);
  el.querySelector('#p-alerts').addEventListener('toggle', onAuditToggle, true);
  await Promise.all([bp(), trace(), glycaemia(), history(), referrals()]);
  if (!st.alive) return;
  const strip = alertId ? alerts.find((a) => a.alert_id === alertId) : null;
  await mountEcg(el.querySelector('#ecg'), pid, strip);
  if (!st.alive) return;
  st.unconsult = mountConsultPanel(el.querySelector('#consult'), st.live, pid, alerts, alertId);
  if (strip) el.querySelector('#ecg-panel').scrollIntoView();
  el.querySelector('.patient').setAttribute('aria-busy', 'false');
  el.dataset.loaded = 'true';
}

// Escalation tiers that would notify nobody for this elder (or anyone): said above the profile.
function escalationGaps(c) {
  if (!c) return '';
  const gaps = [...c.tenant_gaps, ...c.patient_gaps];
  if (!gaps.length) return '';
  return `<p class="warnbox" id="p-gaps" role="alert">⚠ ${esc(gapText(gaps))}</p>`;
}

function header(p, devices, roster, coverage) {
  const years = age(p.birth_year);
  const mine = devices.filter((d) => !d.retired_at && d.bindings.length && d.bindings[d.bindings.length - 1].patient_id === p.patient_id);
  const active = state.alerts.filter((a) => a.state !== 'resolved');
  const team = roster && p.care_team ? roster.teams.find((x) => x.team_id === p.care_team) : null;
  const contacts = roster ? roster.emergency_contacts[p.patient_id] || [] : [];
  const status = state.latest.status;
  const devRows = mine.map((d) => {
    const seen = Object.values(state.latest).filter((r) => r.device_id === d.device_id).map((r) => r.ts).sort().pop();
    const battery = status && status.device_id === d.device_id && typeof status.values.battery === 'number' ? `${Math.round(status.values.battery * 100)} %` : '—';
    const marks = [];
    for (const a of active) {
      const ev = JSON.stringify(a.evidence || {});
      if (a.code === 'device.stale' && ev.includes(d.device_id)) marks.push(`<span class="stale">⚠ ${esc(t('device.stale'))}</span>`);
      if (a.code === 'device.signal_quality' && ev.includes(d.device_id)) marks.push(`<span class="stale">≈ ${esc(t('device.signal'))}</span>`);
      if (a.code === 'device.battery_low' && ev.includes(d.device_id)) marks.push(`<span class="stale">▯ ${esc(t('device.battery_low'))}</span>`);
    }
    return `<tr><td>${esc(d.device_id)}</td><td>${esc(t(`kind.${d.kind}`))}</td><td>${battery}</td><td>${seen ? esc(time(seen)) : '—'}</td><td>${marks.join(' ') || esc(t('device.ok'))}</td></tr>`;
  }).join('');
  document.getElementById('p-head').innerHTML = `<p class="no-print"><button type="button" id="p-print">${esc(t('print.patient'))}</button></p>
    <p class="print-only">${esc(t('print.patient_title'))} · <time datetime="${esc(new Date().toISOString())}">${esc(time(new Date().toISOString()))}</time></p>
    <h1>${esc(p.name || p.patient_id)}</h1>
    <p>${years ? esc(t('patient.age', { n: years })) : ''} · ${esc(p.patient_id)}
      ${p.lives_alone ? `<span class="mark"><span aria-hidden="true">⌂ </span>${esc(t('patient.lives_alone'))}</span>` : ''}
      ${p.disability ? `<span class="mark"><span aria-hidden="true">♿ </span>${esc(t('patient.disability'))}</span>` : ''}</p>
    ${escalationGaps(coverage)}
    <dl class="figs">
      ${p.sex ? `<div data-field="sex"><dt>${esc(t('patient.sex'))}</dt><dd>${esc(t(`sex.${p.sex}`))}</dd></div>` : ''}
      <div data-field="conditions"><dt>${esc(t('patient.recorded_conditions'))}</dt><dd>${esc(p.conditions || '—')}</dd></div>
      <div data-field="medications"><dt>${esc(t('patient.medications'))}</dt><dd>${esc(p.medications || '—')}</dd></div>
      <div data-field="allergies"><dt>${esc(t('patient.allergies'))}</dt><dd>${esc(p.allergies || '—')}</dd></div>
      <div data-field="address"><dt>${esc(t('patient.address'))}</dt><dd>${esc(p.address || '—')}${p.access_notes ? ` <span class="hint">(${esc(t('patient.access_notes'))}: ${esc(p.access_notes)})</span>` : ''}</dd></div>
      <div><dt>${esc(t('patient.conditions'))}</dt><dd>${esc(conditions())}</dd></div>
      <div><dt>${esc(t('patient.care_team'))}</dt><dd>${esc(team ? team.name : (p.care_team || '—'))}</dd></div>
      <div><dt>${esc(t('patient.emergency_contact'))}</dt><dd>${contacts.length ? contacts.map((c) => `${esc(c.name)} (${esc(c.contacts.map((x) => x.address).join(', '))})`).join('; ') : '—'}</dd></div>
    </dl>
    <table><caption class="hint">${esc(t('patient.devices'))}</caption><thead><tr><th>${esc(t('device.id'))}</th><th>${esc(t('device.kind'))}</th><th>${esc(t('device.battery'))}</th><th>${esc(t('device.last_seen'))}</th><th>${esc(t('device.status'))}</th></tr></thead>
    <tbody>${devRows || `<tr><td colspan="5">${esc(t('device.none'))}</td></tr>`}</tbody></table>`;
}

function ownTargets() {
  const set = (state.patient && state.patient.targets) || {};
  return Object.keys(set).some((k) => k.startsWith('target_'));
}

// Conditions as the monitoring shows them: which kinds of readings the care team follows.
function conditions() {
  const kinds = Object.keys(state.latest).filter((k) => ['bp', 'glucose', 'ecg'].includes(k));
  return kinds.length ? kinds.map((k) => t(`condition.${k}`)).join(', ') : '—';
}

function latestValues() {
  const L = state.latest;
  const figs = [];
  if (L.bp) figs.push(['kind.bp', `${Math.round(L.bp.values.systolic)}/${Math.round(L.bp.values.diastolic)} mmHg`, L.bp.ts]);
  if (L.glucose) figs.push(['kind.glucose', glucose(L.glucose.values.glucose), L.glucose.ts]);
  if (L.hr) figs.push(['kind.hr', `${Math.round(L.hr.values.hr ?? L.hr.values.value ?? Object.values(L.hr.values)[0])} /min`, L.hr.ts]);
  if (L.spo2) figs.push(['kind.spo2', `${Math.round(Object.values(L.spo2.values)[0])} %`, L.spo2.ts]);
  document.getElementById('p-latest').innerHTML = figs.length
    ? figs.map(([k, v, ts]) => `<div><dt>${esc(t(k))}</dt><dd>${esc(v)}</dd><dt>${esc(time(ts))}</dt></div>`).join('')
    : `<p>${esc(t('common.none'))}</p>`;
}

async function bp() {
  const st = state;
  const end = Date.now();
  const start = end - state.bpDays * DAY;
  const q = `/history/${encodeURIComponent(state.pid)}/readings?kind=bp&start=${new Date(start).toISOString()}&end=${new Date(end + 300e3).toISOString()}&limit=10000`;
  const res = await api(q);
  if (!st.alive) return;
  const readings = res.readings || [];
  const fmtDay = (v) => axisLabel(new Date(v).toISOString(), { month: 'numeric', day: 'numeric' });
  drawBp(document.getElementById('bp-chart'), readings, state.limits, {
    start, end, fmtDay, label: t('bp.chart_label', { n: state.bpDays }),
    // Targets the care team set for this elder, or the defaults, which say so.
    texts: { target: ownTargets() ? t('bp.target') : t('bp.default_target'), crisis: t('bp.crisis') },
  });
  const m = dayparts(readings);
  const cell = (s) => (s.n ? `${Math.round(s.systolic)}/${Math.round(s.diastolic)} mmHg` : '—');
  document.getElementById('bp-means').innerHTML = `<thead><tr><th></th><th>${esc(t('bp.mean'))}</th><th>${esc(t('bp.count'))}</th></tr></thead><tbody>
    ${['morning', 'evening', 'all'].map((k) => `<tr data-part="${k}"><th>${esc(t(`bp.${k}`))}</th><td>${cell(m[k])}</td><td>${m[k].n}</td></tr>`).join('')}</tbody>`;
}

async function trace() {
  const st = state;
  const end = Date.now();
  const start = end - state.traceDays * DAY;
  const res = await api(`/history/${encodeURIComponent(state.pid)}/readings?kind=glucose&start=${new Date(start).toISOString()}&end=${new Date(end + 300e3).toISOString()}&limit=10000`);
  if (!st.alive) return;
  const fmt = (v) => axisLabel(new Date(v).toISOString(), state.traceDays > 1 ? { month: 'numeric', day: 'numeric' } : { hour: '2-digit', minute: '2-digit', hour12: false });
  drawTrace(document.getElementById('glu-trace'), res.readings || [], { start, end, fmtTick: fmt, label: t('glucose.trace'), texts: rangeTexts() });
}

function rangeTexts() {
  const u = glucoseUnit();
  const v = (x) => `${glucoseValue(x)} ${u}`;
  return { low: v(3.9), high: v(10.0), very_low: v(3.0), very_high: v(13.9) };
}

async function glycaemia() {
  const st = state;
  const tz = prefs.get('tz');
  const g = await api(`/patients/${encodeURIComponent(state.pid)}/glycaemia?days=14&tz=${encodeURIComponent(tz)}`);
  if (!st.alive) return;
  state.glycaemia = g;
  if (!g.sufficient) {
    // Below the consensus minimum no figure is shown: it would be read as a fact.
    const why = g.readings
      ? t('glucose.not_enough', { n: g.readings, active: Number(g.sensor_active_percent).toFixed(1), days: g.minimum_days, min: g.minimum_active_percent })
      : t('glucose.no_cgm');
    document.getElementById('glu-agp').innerHTML = '';
    document.getElementById('glu-tir').innerHTML = `<p class="nodata" id="glu-nodata" data-readings="${g.readings}">${esc(why)}</p>`;
  } else {
    drawAgp(document.getElementById('glu-agp'), g.agp, { label: t('glucose.agp'), texts: rangeTexts() });
    figures(g);
  }
  await fingersticks(g);
}

function figures(g) {
  const names = { very_low: 'tir.very_low', low: 'tir.low', in_range: 'tir.in_range', high: 'tir.high', very_high: 'tir.very_high' };
  const colours = { very_low: '--chart-1', low: '--high-bg', in_range: '--chart-3', high: '--med-bg', very_high: '--warn' };
  const figure = (v, digits = 1) => (v === null || v === undefined ? '—' : Number(v).toFixed(digits));
  const bar = g.ranges.map((r) => `<span data-w="${r.percent}" data-c="${colours[r.code]}" title="${esc(t(names[r.code]))} ${r.percent} %"></span>`).join('');
  document.getElementById('glu-tir').innerHTML = `<div class="tir" id="tir">
      <div class="bar" aria-hidden="true">${bar}</div>
      <table><thead><tr><th>${esc(t('tir.range'))}</th><th>%</th><th>${esc(t('tir.per_day'))}</th><th>${esc(t('tir.target'))}</th></tr></thead><tbody>
      ${[...g.ranges].reverse().map((r) => `<tr data-range="${esc(r.code)}" data-percent="${r.percent}"><th>${esc(t(names[r.code]))} <span class="hint">${esc(rangeBounds(r.code))}</span></th>
        <td class="pct">${figure(r.percent)} %</td><td>${esc(t('unit.hmin', { h: Math.floor(r.minutes_per_day / 60), m: Math.round(r.minutes_per_day % 60) }))}</td><td>${esc(r.target)} %</td></tr>`).join('')}
      </tbody></table></div>
    <dl class="figs" id="glu-figs">
      <div data-fig="mean"><dt>${esc(t('glucose.mean'))}</dt><dd>${g.mean_mmol === null ? '—' : esc(glucose(g.mean_mmol))}</dd></div>
      <div data-fig="gmi" data-value="${g.gmi_percent ?? ''}"><dt>GMI</dt><dd>${figure(g.gmi_percent)} % (${figure(g.gmi_mmol_mol)} mmol/mol)</dd></div>
      <div data-fig="cv" data-value="${g.cv_percent ?? ''}"><dt>${esc(t('glucose.cv'))}</dt><dd>${figure(g.cv_percent)} % ${g.cv_percent === null ? '' : esc(g.cv_percent <= g.cv_stable_max ? t('glucose.stable') : t('glucose.unstable'))}</dd></div>
      <div data-fig="active" data-value="${g.sensor_active_percent}"><dt>${esc(t('glucose.active'))}</dt><dd>${figure(g.sensor_active_percent)} %</dd></div>
      <div data-fig="readings" data-value="${g.readings}"><dt>${esc(t('glucose.readings'))}</dt><dd>${g.readings}</dd></div>
    </dl><p class="hint">${esc(t('glucose.consensus'))}</p>
    <details><summary>${esc(t('glucose.agp_table'))}</summary><table id="agp-table"><thead><tr><th>${esc(t('common.time'))}</th>
      ${['5', '25', '50', '75', '95'].map((q) => `<th>P${q}</th>`).join('')}<th>n</th></tr></thead><tbody>
      ${g.agp.filter((b) => b.p50 !== null).map((b) => `<tr data-minute="${b.minute}"><th>${String(Math.floor(b.minute / 60)).padStart(2, '0')}:${String(b.minute % 60).padStart(2, '0')}</th>
        ${['p05', 'p25', 'p50', 'p75', 'p95'].map((k) => `<td data-q="${k}" data-mmol="${b[k]}">${esc(glucoseValue(b[k]))}</td>`).join('')}<td>${b.count}</td></tr>`).join('')}
    </tbody></table></details>`;
  // Widths and colours through the CSSOM: the page's CSP allows no inline style attributes.
  for (const span of document.querySelectorAll('#tir .bar span')) {
    span.style.width = `${span.dataset.w}%`;
    span.style.background = `var(${span.dataset.c})`;
  }
}

async function fingersticks(g) {
  const st = state;
  const res = await api(`/history/${encodeURIComponent(st.pid)}/readings?kind=glucose&start=${g.start}&end=${g.end}&limit=10000`);
  if (!st.alive) return;
  const sticks = (res.readings || []).filter((r) => r.attrs.source !== 'cgm').reverse();
  document.getElementById('glu-sticks').innerHTML = sticks.length
    ? `<table><thead><tr><th>${esc(t('common.time'))}</th><th>${esc(glucoseUnit())}</th><th>${esc(t('glucose.context'))}</th></tr></thead><tbody>
      ${sticks.slice(0, 50).map((r) => `<tr><td>${esc(time(r.ts))}</td><td>${esc(glucoseValue(r.values.glucose))}</td><td>${esc(r.attrs.context ? t(`context.${r.attrs.context}`) : '—')}</td></tr>`).join('')}</tbody></table>`
    : `<p>${esc(t('common.none'))}</p>`;
}

function rangeBounds(code) {
  const v = (x) => glucoseValue(x);
  return { very_low: `< ${v(3.0)}`, low: `${v(3.0)}–${v(3.9)}`, in_range: `${v(3.9)}–${v(10.0)}`, high: `${v(10.0)}–${v(13.9)}`, very_high: `> ${v(13.9)}` }[code];
}

async function history() {
  const st = state;
  if (!st || !st.alive) return;
  const alerts = await api(`/alerts?patient_id=${encodeURIComponent(state.pid)}&limit=200`);
  if (!st.alive) return;
  state.alerts = alerts;
  const host = document.getElementById('p-alerts');
  if (!host) return;
  host.innerHTML = alerts.length ? `<table class="hist"><thead><tr><th>${esc(t('queue.opened'))}</th><th>${esc(t('history.alert'))}</th><th>${esc(t('history.priority'))}</th><th>${esc(t('history.state'))}</th><th></th></tr></thead><tbody>
    ${alerts.map((a) => `<tr data-alert="${esc(a.alert_id)}"><td>${esc(time(a.opened_at))}</td>
      <td>${esc((a.message && (a.message[lang()] || a.message.en)) || a.code)} <strong>${esc(extraKeyValue(a, (a.message && (a.message[lang()] || a.message.en)) || ''))}</strong>
        <details data-audit="${esc(a.alert_id)}"><summary>${esc(t('history.audit'))}</summary><div class="audit"></div></details></td>
      <td>${esc(t(`priority.${a.code.startsWith('emergency.') ? 'emergency' : a.priority}`))}</td><td>${esc(t(`state.${a.state}`))}</td>
      <td class="acts">${a.state === 'resolved' ? '' : ['ack', 'resolve', 'refer'].filter((x) => x !== 'ack' || ['open', 'escalated'].includes(a.state)).map((x) => `<button type="button" data-act="${x}" data-id="${esc(a.alert_id)}">${esc(t(`action.${x}`))}</button>`).join('')}
        ${a.code.startsWith('ecg.') || (a.evidence && a.evidence.strip) ? `<a href="#/patients/${encodeURIComponent(state.pid)}/strip/${encodeURIComponent(a.alert_id)}">${esc(t('ecg.open_strip'))}</a>` : ''}
        <a href="#/alerts/${encodeURIComponent(a.alert_id)}/report">${esc(t('print.alert_link'))}</a></td></tr>`).join('')}
    </tbody></table>` : `<p>${esc(t('common.none'))}</p>`;
}

async function onHistoryClick(ev) {
  const b = ev.target.closest('button[data-act]');
  if (!b) return;
  const a = state.alerts.find((x) => x.alert_id === b.dataset.id);
  if (a) await act(b.dataset.act, a, () => { history(); referrals(); });
}

async function onAuditToggle(ev) {
  const d = ev.target;
  if (!(d instanceof HTMLDetailsElement) || !d.open || !d.dataset.audit) return;
  d.querySelector('.audit').innerHTML = trailHtml(await api(`/alerts/${encodeURIComponent(d.dataset.audit)}/audit`));
}

async function referrals() {
  const st = state;
  const refs = await api(`/referrals?patient_id=${encodeURIComponent(state.pid)}`).catch(() => []);
  if (!st.alive) return;
  document.getElementById('p-refs').innerHTML = refs.length ? `<table><thead><tr><th>${esc(t('common.time'))}</th><th>${esc(t('field.hospital'))}</th><th>${esc(t('field.department'))}</th><th>${esc(t('field.urgency'))}</th><th>${esc(t('history.state'))}</th><th>${esc(t('referral.by'))}</th></tr></thead><tbody>
    ${refs.map((r) => `<tr><td>${esc(time(r.requested_at))}</td><td>${esc(r.target_org)}</td><td>${esc(r.department)}${r.green_channel ? ` · ${esc(t('referral.green'))}` : ''}</td><td>${esc(t(`urgency.${r.urgency}`))}</td><td>${esc(t(`referral.state.${r.state}`))}</td><td>${esc(r.requested_by)}</td></tr>`).join('')}</tbody></table>` : `<p>${esc(t('common.none'))}</p>`;
}
