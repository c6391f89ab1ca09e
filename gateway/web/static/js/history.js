// Alert history: resolved alerts of the tenant, the missed ones (nobody acted before they ended)
// marked, filtered by outcome, priority, kind, patient and opening date; each with its audit trail.
import { api } from './api.js';
import { lang, t, translate } from './i18n.js';
import { esc, time } from './format.js';
import { errorText, field } from './ui.js';
import { openTrail } from './trail.js';

const KINDS = ['bp', 'glucose', 'ecg', 'cv', 'emergency', 'device'];
let st = null;

export function mount(el) {
  document.body.dataset.page = 'history';
  st = { el, seq: 0 };
  const day = (ms) => new Date(ms).toISOString().slice(0, 10);
  el.innerHTML = `<section class="history" aria-labelledby="hi-title"><h1 id="hi-title" data-i18n="alerts_history.title"></h1>
    <form id="hi-filters" class="filters">
      ${field('outcome', 'alerts_history.outcome', { options: [['all', 'alerts_history.all'], ['missed', 'alerts_history.missed'], ['handled', 'alerts_history.handled']], value: 'all' })}
      ${field('priority', 'alerts_history.priority', { options: [['', 'alerts_history.any'], ['high', 'priority.high'], ['medium', 'priority.medium'], ['low', 'priority.low']], value: '' })}
      ${field('kind', 'alerts_history.kind', { options: [['', 'alerts_history.any'], ...KINDS.map((k) => [k, `alerts_history.kind_${k}`])], value: '' })}
      ${field('patient', 'patients.id')}
      ${field('from', 'alerts_history.from', { type: 'date', value: day(Date.now() - 30 * 86400e3) })}
      ${field('to', 'alerts_history.to', { type: 'date', value: day(Date.now()) })}
      <p><button type="submit" class="primary" data-i18n="alerts_history.apply"></button></p>
    </form>
    <p id="hi-count" class="counts" aria-live="polite"></p>
    <div id="hi-list" aria-busy="true"></div></section>`;
  translate(el);
  const form = el.querySelector('#hi-filters');
  form.addEventListener('submit', (ev) => { ev.preventDefault(); load(); });
  form.addEventListener('change', () => load());
  el.querySelector('#hi-list').addEventListener('toggle', openTrail, true);
  load();
  const mine = st;
  return () => { mine.el = null; };
}

function filters() {
  const f = st.el.querySelector('#hi-filters');
  const q = new URLSearchParams({ state: 'resolved', limit: '500' });
  if (f.priority.value) q.set('priority', f.priority.value);
  if (f.patient.value.trim()) q.set('patient_id', f.patient.value.trim());
  if (f.from.value) q.set('since', new Date(`${f.from.value}T00:00:00Z`).toISOString());
  if (f.to.value) q.set('until', new Date(Date.parse(`${f.to.value}T00:00:00Z`) + 86400e3).toISOString());
  return { q, outcome: f.outcome.value, kind: f.kind.value };
}

async function load() {
  const mine = st;
  const seq = ++mine.seq;
  const list = mine.el.querySelector('#hi-list');
  list.setAttribute('aria-busy', 'true');
  const { q, outcome, kind } = filters();
  try {
    const ask = (missed) => api(`/alerts?${q}&missed=${missed}`).then((xs) => xs.map((a) => ({ ...a, missed })));
    const parts = await Promise.all([
      outcome !== 'handled' ? ask(true) : [],
      outcome !== 'missed' ? ask(false) : [],
    ]);
    if (!mine.el || seq !== mine.seq) return;
    const rows = parts.flat()
      .filter((a) => !kind || a.code.split('.')[0] === kind)
      .sort((a, b) => Date.parse(b.opened_at) - Date.parse(a.opened_at));
    render(rows);
    list.dataset.filter = `${outcome}|${kind}`;
  } catch (e) {
    if (mine.el) mine.el.querySelector('#hi-count').textContent = errorText(e);
  }
  list.setAttribute('aria-busy', 'false');
}

function message(a) { return (a.message && (a.message[lang()] || a.message.en)) || a.code; }

function render(rows) {
  const list = st.el.querySelector('#hi-list');
  st.el.querySelector('#hi-count').textContent = t('alerts_history.count', { n: rows.length, missed: rows.filter((a) => a.missed).length });
  list.innerHTML = rows.length ? `<table class="hlist"><thead><tr><th>${esc(t('alerts_history.opened'))}</th><th>${esc(t('alerts_history.patient'))}</th>
    <th>${esc(t('history.alert'))}</th><th>${esc(t('history.priority'))}</th><th>${esc(t('alerts_history.resolved'))}</th><th>${esc(t('alerts_history.outcome'))}</th></tr></thead><tbody>
    ${rows.map((a) => `<tr data-alert="${esc(a.alert_id)}" data-missed="${a.missed}">
      <td><time datetime="${esc(a.opened_at)}">${esc(time(a.opened_at))}</time></td>
      <td><a href="#/patients/${encodeURIComponent(a.patient_id)}">${esc(a.patient_id)}</a></td>
      <td>${esc(message(a))}<details data-trail="${esc(a.alert_id)}"><summary>${esc(t('history.audit'))}</summary><div class="trail"></div></details></td>
      <td>${esc(t(`priority.${a.priority}`))}</td>
      <td><time datetime="${esc(a.resolved_at)}">${esc(time(a.resolved_at))}</time></td>
      <td>${a.missed ? `<span class="stale">⚠ ${esc(t('alerts_history.missed_one'))}</span>` : esc(t('alerts_history.handled_by', { who: a.acknowledged_by || a.assignee || '—' }))}</td>
    </tr>`).join('')}</tbody></table>` : `<p class="empty">${esc(t('alerts_history.empty'))}</p>`;
}
