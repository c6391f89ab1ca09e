// An alert's audit trail as a table, shared by the patient page, the alert history and print.
import { api } from './api.js';
import { t } from './i18n.js';
import { esc, time } from './format.js';
import { errorText } from './ui.js';

// One row per step: a clinician's action and the lifecycle event it produced are one step (the
// action's comment joins the event's row); reads of the record are left to the audit page.
const EVENT_OF = { acknowledge: 'acknowledged', resolve: 'resolved', escalate: 'escalated', refer: 'referred', dispatch: 'dispatched', arrive: 'arrived' };

export function trailRows(entries) {
  const events = entries.filter((e) => e.kind === 'event');
  const out = events.map((e) => ({ at: e.at, action: e.action, by: e.by, text: '' }));
  for (const e of entries) {
    if (e.kind !== 'action' || e.action === 'read') continue;
    const text = (e.detail && e.detail.text) || '';
    const twin = out.find((r) => r.action === EVENT_OF[e.action] && r.at === e.at && r.by === e.by);
    if (twin) twin.text = text;
    else out.push({ at: e.at, action: e.action, by: e.by, text });
  }
  return out.sort((a, b) => Date.parse(a.at) - Date.parse(b.at));
}

export function trailHtml(entries) {
  const rows = trailRows(entries);
  return `<table><tbody>${rows.map((r) => `<tr data-action="${esc(r.action)}"><td><time datetime="${esc(r.at)}">${esc(time(r.at))}</time></td><td>${esc(t(`audit.${r.action}`))}</td><td>${esc(r.by || '—')}</td><td>${esc(r.text)}</td></tr>`).join('')}</tbody></table>`;
}

// A list's `toggle` listener: the first time an alert's <details data-trail="…"> opens, its
// trail is fetched into the `.trail` box inside it.
export async function openTrail(ev) {
  const d = ev.target;
  if (!(d instanceof HTMLDetailsElement) || !d.open || d.dataset.loaded) return;
  d.dataset.loaded = 'true';
  const box = d.querySelector('.trail');
  try {
    box.innerHTML = trailHtml(await api(`/alerts/${encodeURIComponent(d.dataset.trail)}/audit`));
  } catch (e) {
    box.textContent = errorText(e);
  }
}
