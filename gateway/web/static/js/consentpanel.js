// The patient page's consent panel: whether the elder agreed that their record is shared with
// the regional health-information platform, who recorded it and when; record it or withdraw it
// (each change is audited by the gateway, and a withdrawal stops every later push).
import { api, ApiError } from './api.js';
import { t, translate } from './i18n.js';
import { esc, time } from './format.js';
import { errorText, field, formDialog } from './ui.js';

export function mountConsentPanel(section, pid) {
  const st = { section, host: section.querySelector('#consent'), pid, alive: true };
  st.host.addEventListener('click', (ev) => {
    const b = ev.target.closest('button[data-consent]');
    if (b) change(st, b.dataset.consent);
  });
  show(st);
  return () => { st.alive = false; };
}

async function show(st) {
  let c = null;
  try {
    c = await api(`/patients/${encodeURIComponent(st.pid)}/consent`);
  } catch (e) {
    if (!(e instanceof ApiError && e.status === 404)) {
      // A role that may not see consent (an auditor) gets no panel; anything else is said.
      if (e instanceof ApiError && e.status === 403) st.section.hidden = true;
      else if (st.alive) st.host.textContent = errorText(e);
      return;
    }
  }
  if (!st.alive) return;
  const status = c ? c.status : 'none';
  const next = status === 'active' ? 'withdrawn' : 'active';
  st.host.innerHTML = `<p class="hint" data-i18n="consent.hint"></p>
    <dl class="figs" id="consent-state" data-status="${esc(status)}">
      <div><dt data-i18n="consent.status"></dt><dd>${esc(t(`consent.${status}`))}</dd></div>
      ${c ? `<div><dt data-i18n="consent.recorded"></dt><dd>${esc(t('consent.by', { who: c.recorded_by }))} · <time datetime="${esc(c.recorded_at)}">${esc(time(c.recorded_at))}</time></dd></div>
      <div><dt data-i18n="consent.note"></dt><dd>${esc(c.note || '—')}</dd></div>` : ''}
    </dl>
    <p class="no-print"><button type="button" data-consent="${next}" class="${next === 'active' ? 'primary' : ''}" data-i18n="consent.do_${next}"></button></p>`;
  translate(st.host);
}

async function change(st, status) {
  await formDialog(`consent.do_${status}`, field('note', 'consent.note_field', { rows: 2 }), `consent.do_${status}`, async (v) => {
    const body = { status, note: v.note.trim() || null };
    try {
      await api(`/patients/${encodeURIComponent(st.pid)}/consent`, { method: 'PUT', body });
      await show(st);
      return null;
    } catch (e) {
      return errorText(e);
    }
  });
}
