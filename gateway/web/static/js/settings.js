// The user's preferences: glucose unit, time zone, ECG screen calibration.
import { api } from './api.js';
import { t, translate } from './i18n.js';
import { esc } from './format.js';
import * as prefs from './prefs.js';

function zones() {
  try { return Intl.supportedValuesOf('timeZone'); } catch { return ['UTC', 'Asia/Shanghai', 'Europe/London']; }
}

export function mount(el) {
  document.body.dataset.page = 'settings';
  const tz = prefs.get('tz');
  const list = zones();
  if (!list.includes(tz)) list.unshift(tz);
  el.innerHTML = `<section class="settings" aria-labelledby="s-title"><h1 id="s-title" data-i18n="settings.title"></h1>
    <form id="s-form">
      <fieldset><legend data-i18n="settings.unit"></legend>
        <p><input type="radio" name="unit" id="u-mmol" value="mmol/L"${prefs.get('unit') !== 'mg/dL' ? ' checked' : ''}> <label for="u-mmol">mmol/L</label>
        <input type="radio" name="unit" id="u-mg" value="mg/dL"${prefs.get('unit') === 'mg/dL' ? ' checked' : ''}> <label for="u-mg">mg/dL</label></p>
      </fieldset>
      <p><label for="s-tz" data-i18n="settings.tz"></label>
        <select id="s-tz" name="tz">${list.map((z) => `<option${z === tz ? ' selected' : ''}>${esc(z)}</option>`).join('')}</select></p>
      <p><label for="s-px" data-i18n="settings.px_per_mm"></label>
        <input id="s-px" name="px" type="number" min="1" max="20" step="0.01" value="${esc(prefs.get('pxPerMm').toFixed(3))}">
        <span class="hint" data-i18n="settings.px_hint"></span></p>
      <p><button type="submit" class="primary" data-i18n="action.save"></button> <span id="s-done" role="status"></span></p>
    </form>
    <section class="panel" id="s-service" aria-labelledby="s-service-h" hidden>
      <h2 id="s-service-h" data-i18n="service.title"></h2><dl class="figs" id="s-figs"></dl>
      <p class="hint" data-i18n="service.hint"></p></section></section>`;
  translate(el);
  serviceFigures(el);
  el.querySelector('#s-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    const f = ev.target;
    prefs.set('unit', f.unit.value);
    prefs.set('tz', f.tz.value);
    const px = Number(f.px.value);
    if (px >= 1 && px <= 20) prefs.set('pxPerMm', px);
    el.querySelector('#s-done').textContent = t('settings.saved');
  });
}

// The tenant's emergency-call service over the last 30 days, as a monitoring centre is audited
// (answer and attendance times). Roles that may not read them simply do not see the panel.
async function serviceFigures(el) {
  const start = new Date(Date.now() - 30 * 86400e3).toISOString();
  let f;
  try {
    f = await api(`/emergencies/figures?start=${encodeURIComponent(start)}`);
  } catch {
    return;
  }
  const pct = (v) => (v === null || v === undefined ? '—' : `${(100 * v).toFixed(1)} %`);
  const rows = [
    ['calls', String(f.calls)],
    ['answered_60s', pct(f.answered_within_60s)],
    ['answered_180s', pct(f.answered_within_180s)],
    ['on_site_45min', pct(f.on_site_within_45min)],
    ['on_site_60min', pct(f.on_site_within_60min)],
  ];
  const dl = el.querySelector('#s-figs');
  if (!dl) return;
  dl.innerHTML = rows.map(([k, v]) => `<div data-fig="${k}"><dt>${esc(t(`service.${k}`))}</dt><dd>${esc(v)}</dd></div>`).join('');
  el.querySelector('#s-service').hidden = false;
}
