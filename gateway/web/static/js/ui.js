// Small shared widgets: the modal form dialog, status messages, the alert sound.
import { t, translate } from './i18n.js';
import { esc } from './format.js';
import * as prefs from './prefs.js';

// A modal form; `fields` is HTML with data-i18n labels. `onSubmit(values)` runs on each submit
// and returns an error text to show (the dialog stays open) or nothing to close it. Resolves
// true when submitted, false when cancelled (Escape or cancel). Focus returns where it was.
export function formDialog(titleKey, fields, submitKey, onSubmit) {
  const dlg = document.getElementById('dialog');
  const back = document.activeElement;
  dlg.innerHTML = `<form method="dialog" class="dform">
    <h2 data-i18n="${esc(titleKey)}"></h2>
    ${fields}
    <p class="error" role="alert" hidden></p>
    <div class="buttons">
      <button type="submit" value="ok" class="primary" data-i18n="${esc(submitKey || 'action.confirm')}"></button>
      <button type="submit" value="cancel" formnovalidate data-i18n="action.cancel"></button>
    </div></form>`;
  translate(dlg);
  return new Promise((resolve) => {
    let ok = false;
    const form = dlg.querySelector('form');
    const errorEl = form.querySelector('.error');
    form.addEventListener('submit', async (ev) => {
      if (ev.submitter && ev.submitter.value === 'cancel') return;
      ev.preventDefault();
      const out = {};
      for (const el of form.elements) {
        if (el.name) out[el.name] = el.type === 'checkbox' ? el.checked : el.value;
      }
      const error = await onSubmit(out);
      if (error) {
        errorEl.textContent = error;
        errorEl.hidden = false;
      } else {
        ok = true;
        dlg.close();
      }
    });
    dlg.addEventListener('close', () => {
      resolve(ok);
      // The list may have been drawn again while the dialog was open (a live update): focus
      // goes back to the same button in the new list.
      let target = back;
      if (target && !document.contains(target) && target.dataset && target.dataset.act) {
        target = document.querySelector(`[data-act="${CSS.escape(target.dataset.act)}"][data-id="${CSS.escape(target.dataset.id || '')}"]`);
      }
      if (target && target.focus) target.focus();
    }, { once: true });
    dlg.showModal();
    const first = form.querySelector('input, textarea, select, button');
    if (first) first.focus();
  });
}

export function field(name, labelKey, { type = 'text', required = false, value = '', rows = 0, options = null } = {}) {
  const id = `f-${name}`;
  let input;
  if (options) {
    input = `<select id="${id}" name="${esc(name)}">${options.map(([v, k]) => `<option value="${esc(v)}"${v === value ? ' selected' : ''} data-i18n="${esc(k)}"></option>`).join('')}</select>`;
  } else if (rows) {
    input = `<textarea id="${id}" name="${esc(name)}" rows="${rows}"${required ? ' required' : ''}>${esc(value)}</textarea>`;
  } else if (type === 'checkbox') {
    return `<p class="check"><input type="checkbox" id="${id}" name="${esc(name)}"${value ? ' checked' : ''}> <label for="${id}" data-i18n="${esc(labelKey)}"></label></p>`;
  } else {
    input = `<input id="${id}" name="${esc(name)}" type="${type}" value="${esc(value)}"${required ? ' required' : ''}>`;
  }
  return `<p><label for="${id}" data-i18n="${esc(labelKey)}"></label>${input}</p>`;
}

export function errorText(e) {
  if (e && e.status === 404) return t('error.not_found');
  if (e && e.status === 403) return t('error.forbidden');
  if (e && e.status === 409) return t('error.conflict');
  return t('error.failed');
}

let audio = null;

// A two-tone chime for a new high-priority alert, made with WebAudio (no sound file).
export function chime() {
  if (!prefs.get('sound')) return;
  try {
    audio = audio || new AudioContext();
    const now = audio.currentTime;
    for (const [i, f] of [[0, 880], [1, 660]]) {
      const o = audio.createOscillator();
      const g = audio.createGain();
      o.frequency.value = f;
      g.gain.setValueAtTime(0.2, now + i * 0.25);
      g.gain.exponentialRampToValueAtTime(0.001, now + i * 0.25 + 0.22);
      o.connect(g).connect(audio.destination);
      o.start(now + i * 0.25);
      o.stop(now + i * 0.25 + 0.24);
    }
  } catch { /* no audio device */ }
}

export function unlockAudio() {
  try { audio = audio || new AudioContext(); audio.resume(); } catch { /* none */ }
}
