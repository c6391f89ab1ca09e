// The patient page's remote-consultation panel: ask the centre to read an ECG alert's strip
// (question, priority), follow the requests live, read the report and confirm its receipt.
import { api } from './api.js';
import { lang, t, translate } from './i18n.js';
import { esc, time } from './format.js';
import { errorText } from './ui.js';

const POLL_MS = 1500;
const STRIP_MS = 60e3;
const ECG_CODES = /^ecg\./;

export function mountConsultPanel(host, live, pid, alerts, alertId) {
  const st = { host, pid, alive: true, shown: '' };
  const ecgAlerts = alerts.filter((a) => ECG_CODES.test(a.code));
  const chosen = alertId || (ecgAlerts[0] && ecgAlerts[0].alert_id) || '';
  host.innerHTML = `<div id="cs-list"></div>
    <form id="cs-form" class="consult-ask">
      <p><label for="cs-alert" data-i18n="consult.from_alert"></label>
        <select id="cs-alert"><option value="" ${chosen ? '' : 'selected'} data-i18n="consult.shown_strip"></option>${ecgAlerts.map((a) => `<option value="${esc(a.alert_id)}" ${a.alert_id === chosen ? 'selected' : ''}>${esc(time(a.opened_at))} · ${esc((a.message && (a.message[lang()] || a.message.en)) || a.code)}</option>`).join('')}</select></p>
      <p><label for="cs-question" data-i18n="consult.question"></label><br><textarea id="cs-question" rows="2" cols="60" required></textarea></p>
      <p><label for="cs-priority" data-i18n="consult.priority"></label>
        <select id="cs-priority"><option value="" data-i18n="consult.as_proposed"></option>
          <option value="urgent" data-i18n="consult.priority.urgent"></option><option value="stat" data-i18n="consult.priority.stat"></option></select>
        <button type="submit" class="primary" id="cs-ask" data-i18n="consult.ask"></button></p>
      <p class="error" role="alert" hidden></p></form>`;
  translate(host);
  host.querySelector('#cs-form').addEventListener('submit', (ev) => { ev.preventDefault(); ask(st); });
  host.addEventListener('click', (ev) => {
    const b = ev.target.closest('button[data-receipt]');
    if (b) receipt(st, b.dataset.receipt);
  });
  const refresh = () => { if (st.alive) list(st).catch(() => {}); };
  const onEvent = (type, ev) => { if (ev.alert && ev.alert.patient_id === pid) refresh(); };
  live.subscribe(onEvent);
  const timer = setInterval(refresh, POLL_MS);
  refresh();
  return () => { st.alive = false; clearInterval(timer); live.unsubscribe(onEvent); };
}

const label = (f) => (lang() === 'zh-CN' ? f.zh : f.en);
// A claim whose lease ended is free again (anyone may claim it).
const statusText = (q) => {
  if (q.status !== 'claimed') return t(`consult.status.${q.status}`);
  return q.holder ? t('consult.claimed_by', { who: q.holder }) : t('consult.status.lapsed');
};

function item(q) {
  const r = q.report;
  const status = statusText(q);
  let body = '';
  if (r) {
    body = `<div class="report" data-version="${r.version}"><strong>${esc(r.findings.map(label).join(', '))}</strong> ${esc(r.text)}
      <span class="hint">${esc(Object.entries(r.measurements).map(([k, v]) => `${k} ${Math.round(v)} ms`).join(' · '))}
      · ${esc(t('consult.signed', { who: r.signed_by, at: time(r.signed_at), v: r.version }))}</span>
      ${r.critical ? `<strong class="critical">${esc(t('consult.critical'))}</strong>` : ''}</div>
      ${q.receipt_by ? `<p class="hint receipt">${esc(t('consult.received', { who: q.receipt_by, at: time(q.receipt_at) }))}</p>`
        : `<button type="button" class="primary" data-receipt="${esc(q.request_id)}">${esc(t('consult.confirm'))}</button>`}`;
  }
  return `<li data-request="${esc(q.request_id)}" data-status="${esc(q.status)}">
    <a href="#/consult/${encodeURIComponent(q.request_id)}">${esc(time(q.requested_at))}</a>
    · ${esc(t(`consult.priority.${q.priority}`))} · <span class="c-status">${esc(status)}</span> · ${esc(q.question)}${body}</li>`;
}

async function list(st) {
  const found = await api(`/consult/requests?patient_id=${encodeURIComponent(st.pid)}`);
  if (!st.alive) return;
  markAlerts(found);
  const html = found.length ? `<ul class="consults">${found.map(item).join('')}</ul>` : `<p class="hint" data-i18n="consult.none"></p>`;
  if (html === st.shown) return;
  st.shown = html;
  const host = st.host.querySelector('#cs-list');
  host.innerHTML = html;
  translate(host);
}

async function ask(st) {
  const f = st.host.querySelector('#cs-form');
  const err = f.querySelector('.error');
  err.hidden = true;
  const body = { patient_id: st.pid, question: f.querySelector('#cs-question').value };
  const alertId = f.querySelector('#cs-alert').value;
  if (alertId) body.alert_id = alertId;
  else if (window.hmgEcg && window.hmgEcg.start) {
    // The 60 s strip the viewer above shows (the family doctor's own choice of window).
    const start = Date.parse(window.hmgEcg.start);
    Object.assign(body, { start: new Date(start).toISOString(), end: new Date(start + STRIP_MS).toISOString(), device_id: window.hmgEcg.device });
  }
  const prio = f.querySelector('#cs-priority').value;
  if (prio) body.priority = prio;
  try {
    await api('/consult/requests', { method: 'POST', body });
    f.querySelector('#cs-question').value = '';
    await list(st);
  } catch (e) {
    err.textContent = e.detail ? String(typeof e.detail === 'string' ? e.detail : t('consult.refused')) : errorText(e);
    err.hidden = false;
  }
}

async function receipt(st, id) {
  await api(`/consult/requests/${encodeURIComponent(id)}/receipt`, { method: 'POST' });
  await list(st);
}

// The consultation asked about an alert is shown on that alert's row in the history too.
function markAlerts(found) {
  for (const q of found) {
    if (!q.alert_id) continue;
    const row = document.querySelector(`#p-alerts tr[data-alert="${CSS.escape(q.alert_id)}"] td`);
    if (!row) continue;
    let tag = row.querySelector('.consult-tag');
    if (!tag) {
      tag = document.createElement('a');
      tag.className = 'tag consult-tag';
      row.appendChild(tag);
    }
    const text = `${t('consult.title')}: ${statusText(q)}${q.report ? ` · ${q.report.findings.map(label).join(', ')}` : ''}`;
    if (tag.textContent !== text) tag.textContent = text;
    tag.href = `#/consult/${encodeURIComponent(q.request_id)}`;
  }
}
