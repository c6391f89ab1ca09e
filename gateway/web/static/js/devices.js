// Devices of the tenant for administrators: register, bind to a patient, retire.
import { api } from './api.js';
import { t, translate } from './i18n.js';
import { esc, time } from './format.js';
import { errorText, field, formDialog } from './ui.js';

const KINDS = ['bp', 'glucose', 'ecg', 'hr', 'spo2', 'weight', 'kiosk', 'event'];
let root = null;
let devices = [];

export function mount(el) {
  document.body.dataset.page = 'devices';
  root = el;
  el.innerHTML = `<section aria-labelledby="d-title"><h1 id="d-title" data-i18n="devices.title"></h1>
    <p><button type="button" class="primary" id="d-add" data-i18n="devices.register"></button></p>
    <div id="d-list" aria-live="polite"></div></section>`;
  translate(el);
  el.querySelector('#d-add').addEventListener('click', register);
  el.querySelector('#d-list').addEventListener('click', onClick);
  load();
  return () => { root = null; };
}

async function load() {
  try {
    devices = await api('/devices');
  } catch (e) {
    if (root) root.querySelector('#d-list').textContent = errorText(e);
    return;
  }
  if (!root) return;
  const rows = devices.map((d) => {
    const b = d.bindings.length ? d.bindings[d.bindings.length - 1] : null;
    return `<tr data-device="${esc(d.device_id)}"><td>${esc(d.device_id)}</td><td>${esc(t(`kind.${d.kind}`))}${d.kiosk ? ` · ${esc(t('devices.shared'))}` : ''}</td>
      <td>${b ? `<a href="#/patients/${encodeURIComponent(b.patient_id)}">${esc(b.patient_id)}</a> · ${esc(t('devices.since', { t: time(b.since) }))}` : '—'}</td>
      <td>${d.retired_at ? `<span class="stale">✕ ${esc(t('devices.retired', { t: time(d.retired_at) }))}</span>` : `✓ ${esc(t('devices.in_service'))}`}</td>
      <td class="acts">${d.retired_at ? '' : `${d.kiosk ? '' : `<button type="button" data-act="bind" data-id="${esc(d.device_id)}">${esc(t('devices.bind'))}</button>`}
        <button type="button" data-act="retire" data-id="${esc(d.device_id)}">${esc(t('devices.retire'))}</button>`}</td></tr>`;
  }).join('');
  root.querySelector('#d-list').innerHTML = devices.length
    ? `<table><thead><tr><th>${esc(t('device.id'))}</th><th>${esc(t('device.kind'))}</th><th>${esc(t('devices.patient'))}</th><th>${esc(t('device.status'))}</th><th></th></tr></thead><tbody>${rows}</tbody></table>`
    : `<p>${esc(t('device.none'))}</p>`;
}

async function register() {
  const html = [
    field('device_id', 'device.id', { required: true }),
    field('kind', 'device.kind', { options: KINDS.map((k) => [k, `kind.${k}`]), value: 'bp' }),
    field('kiosk', 'devices.shared_kiosk', { type: 'checkbox' }),
    field('patient_id', 'devices.patient'),
  ].join('');
  await formDialog('devices.register', html, 'devices.register', async (v) => {
    const body = { device_id: v.device_id.trim(), kind: v.kind, kiosk: v.kiosk, patient_id: v.patient_id.trim() || null };
    try { await api('/devices', { method: 'POST', body }); load(); return null; } catch (e) { return errorText(e); }
  });
}

async function onClick(ev) {
  const b = ev.target.closest('button[data-act]');
  if (!b) return;
  const id = encodeURIComponent(b.dataset.id);
  if (b.dataset.act === 'bind') {
    await formDialog('devices.bind', field('patient_id', 'devices.patient', { required: true }), 'devices.bind', async (v) => {
      try { await api(`/devices/${id}/bind`, { method: 'POST', body: { patient_id: v.patient_id.trim() } }); load(); return null; } catch (e) { return errorText(e); }
    });
  } else if (b.dataset.act === 'retire') {
    await formDialog('devices.retire_confirm', `<p>${esc(b.dataset.id)}</p>`, 'devices.retire', async () => {
      try { await api(`/devices/${id}/retire`, { method: 'POST', body: {} }); load(); return null; } catch (e) { return errorText(e); }
    });
  }
}
