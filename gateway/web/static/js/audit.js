// The audit page for auditors: the tenant's audit trail, newest first, filtered by who, what and
// subject; an alert's own trail (lifecycle events and actions) opens under its rows.
import { api } from './api.js';
import { t, translate } from './i18n.js';
import { esc, time } from './format.js';
import { errorText, field } from './ui.js';
import { openTrail } from './trail.js';

let st = null;

export function mount(el) {
  document.body.dataset.page = 'audit';
  st = { el, seq: 0, cursor: null };
  el.innerHTML = `<section class="audit-log" aria-labelledby="au-title"><h1 id="au-title" data-i18n="auditlog.title"></h1>
    <form id="au-filters" class="filters">
      ${field('actor', 'auditlog.by')}
      ${field('action', 'auditlog.action')}
      ${field('subject_type', 'auditlog.subject_type', { options: [['', 'alerts_history.any'], ...['alert', 'patient', 'device', 'member', 'team', 'rotation', 'emergency_contacts', 'referral'].map((x) => [x, `subject.${x}`])], value: '' })}
      ${field('subject_id', 'auditlog.subject_id')}
      <p><button type="submit" class="primary" data-i18n="alerts_history.apply"></button></p>
    </form>
    <div id="au-list" aria-busy="true"></div>
    <p><button type="button" id="au-more" hidden data-i18n="auditlog.more"></button></p></section>`;
  translate(el);
  const form = el.querySelector('#au-filters');
  form.addEventListener('submit', (ev) => { ev.preventDefault(); load(false); });
  el.querySelector('#au-more').addEventListener('click', () => load(true));
  el.querySelector('#au-list').addEventListener('toggle', openTrail, true);
  load(false);
  const mine = st;
  return () => { mine.el = null; };
}

async function load(more) {
  const mine = st;
  const seq = ++mine.seq;
  const list = mine.el.querySelector('#au-list');
  list.setAttribute('aria-busy', 'true');
  const f = mine.el.querySelector('#au-filters');
  const q = new URLSearchParams({ limit: '100' });
  for (const k of ['actor', 'action', 'subject_type', 'subject_id']) if (f[k].value.trim()) q.set(k, f[k].value.trim());
  if (more && mine.cursor) q.set('cursor', mine.cursor);
  try {
    const page = await api(`/audit?${q}`);
    if (!mine.el || seq !== mine.seq) return;
    mine.cursor = page.next_cursor;
    const rows = page.entries.map(row).join('');
    if (more) list.querySelector('tbody').insertAdjacentHTML('beforeend', rows);
    else {
      list.innerHTML = page.entries.length ? `<table class="hlist"><thead><tr><th>${esc(t('common.time'))}</th><th>${esc(t('auditlog.by'))}</th>
        <th>${esc(t('auditlog.action'))}</th><th>${esc(t('auditlog.subject_type'))}</th><th>${esc(t('auditlog.subject_id'))}</th></tr></thead><tbody>${rows}</tbody></table>`
        : `<p class="empty">${esc(t('auditlog.empty'))}</p>`;
    }
    mine.el.querySelector('#au-more').hidden = !page.next_cursor;
  } catch (e) {
    list.textContent = errorText(e);
  }
  list.setAttribute('aria-busy', 'false');
}

function row(e) {
  const who = e.by ? `${esc(e.by)}${e.role ? ` · ${esc(t(`role.${e.role}`))}` : ''}` : '—';
  const trail = e.subject_type === 'alert'
    ? `<details data-trail="${esc(e.subject_id)}"><summary>${esc(t('history.audit'))}</summary><div class="trail"></div></details>` : '';
  return `<tr data-id="${esc(e.id)}" data-action="${esc(e.action)}"><td><time datetime="${esc(e.at)}">${esc(time(e.at))}</time></td><td>${who}</td>
    <td>${esc(t(`audit.${e.action}`))}</td><td>${esc(t(`subject.${e.subject_type}`))}</td><td><code>${esc(e.subject_id)}</code>${trail}</td></tr>`;
}
