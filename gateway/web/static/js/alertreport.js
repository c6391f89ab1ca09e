// The alert report, made to print: the elder, the alert with its figures and times, its audit
// trail, and for an ECG finding the strip around the episode at true scale (25 mm/s, 10 mm/mV).
import { api, ApiError } from './api.js';
import { lang, t, translate } from './i18n.js';
import { age, esc, extraKeyValue, time } from './format.js';
import { errorText } from './ui.js';
import { trailHtml } from './trail.js';
import { drawPrintRows, withAlertEpisode } from './ecgview.js';

const STRIP_MAX_MS = 60e3;

export function mount(el, live, alertId) {
  document.body.dataset.page = 'alert-report';
  const st = { alive: true };
  el.innerHTML = `<article class="report" aria-busy="true"><p data-i18n="common.loading"></p></article>`;
  translate(el);
  load(el, alertId, st).catch((e) => {
    if (!st.alive) return;
    if (e instanceof ApiError && e.status === 404) window.hmgNotFound();
    else if (!(e instanceof ApiError && e.status === 401)) el.innerHTML = `<p class="error">${esc(errorText(e))}</p>`;
  });
  return () => { st.alive = false; };
}

function row(key, value) { return `<tr><th scope="row">${esc(t(key))}</th><td>${value}</td></tr>`; }
function when(iso) { return iso ? `<time datetime="${esc(iso)}">${esc(time(iso))}</time>` : '—'; }

async function load(el, alertId, st) {
  const a = await api(`/alerts/${encodeURIComponent(alertId)}`);
  const [p, trail] = await Promise.all([
    api(`/patients/${encodeURIComponent(a.patient_id)}`),
    api(`/alerts/${encodeURIComponent(alertId)}/audit`),
  ]);
  if (!st.alive) return;
  const msg = (a.message && (a.message[lang()] || a.message.en)) || a.code;
  const years = age(p.birth_year);
  const ev = a.evidence || {};
  el.innerHTML = `<article class="report" aria-busy="true">
    <p class="no-print"><button type="button" id="r-print" class="primary">${esc(t('print.print'))}</button>
      <a href="#/patients/${encodeURIComponent(a.patient_id)}">${esc(t('print.back'))}</a></p>
    <header><p class="hint">${esc(t('print.alert_title'))} · ${when(new Date().toISOString())}</p>
      <h1>${esc(msg)}</h1>
      <p><strong>${esc(p.name || p.patient_id)}</strong> · ${esc(p.patient_id)}${years ? ` · ${esc(t('patient.age', { n: years }))}` : ''}${p.sex ? ` · ${esc(t(`sex.${p.sex}`))}` : ''}</p></header>
    <section class="panel"><table class="facts"><tbody>
      ${row('history.priority', esc(t(`priority.${a.code.startsWith('emergency.') ? 'emergency' : a.priority}`)))}
      ${row('history.state', esc(t(`state.${a.state}`)))}
      ${row('print.figure', esc(extraKeyValue(a, msg) || '—'))}
      ${row('queue.opened', when(a.opened_at))}
      ${row('print.measured', when(a.source_ts))}
      ${row('print.acknowledged', a.acknowledged_by ? `${esc(a.acknowledged_by)} · ${when(a.acknowledged_at)}` : '—')}
      ${row('alerts_history.resolved', when(a.resolved_at))}
      ${row('patient.recorded_conditions', esc(p.conditions || '—'))}
      ${row('patient.medications', esc(p.medications || '—'))}
      ${row('patient.allergies', esc(p.allergies || '—'))}
      ${row('print.code', `<code>${esc(a.code)}</code> · <code>${esc(a.alert_id)}</code>`)}
    </tbody></table></section>
    <section class="panel" id="r-ecg" hidden><h2>${esc(t('ecg.title'))}</h2><div class="ecg-print" id="ecg-print"></div></section>
    <section class="panel"><h2>${esc(t('history.audit'))}</h2><div id="r-trail">${trailHtml(trail)}</div></section>
  </article>`;
  el.querySelector('#r-print').addEventListener('click', () => window.print());
  if (ev.strip && ev.strip.from) await strip(el, a, st);
  if (!st.alive) return;
  el.querySelector('.report').setAttribute('aria-busy', 'false');
  el.dataset.loaded = 'true';
}

// The strip around the alert's episode (at most a minute), with the alert's own episode on it.
async function strip(el, a, st) {
  const ev = a.evidence;
  const from = Date.parse(ev.strip.from);
  const to = Math.min(Date.parse(ev.strip.to || ev.strip.from) || from + STRIP_MAX_MS, from + STRIP_MAX_MS);
  const q = new URLSearchParams({ start: new Date(from).toISOString(), end: new Date(Math.max(to, from + 10e3)).toISOString() });
  if (ev.strip.device_id) q.set('device_id', ev.strip.device_id);
  let s;
  try {
    s = await api(`/patients/${encodeURIComponent(a.patient_id)}/ecg/strip?${q}`);
  } catch (e) {
    if (e instanceof ApiError && e.status === 404) return;
    throw e;
  }
  if (!st.alive) return;
  const episode = ev.episode && ev.episode.label ? { ...ev.episode, hr: typeof ev.heart_rate === 'number' ? ev.heart_rate : null } : null;
  el.querySelector('#r-ecg').hidden = false;
  drawPrintRows(el.querySelector('#ecg-print'), { ...s, episodes: withAlertEpisode(s, episode) });
}
