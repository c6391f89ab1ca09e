// Follow-ups of the family-doctor team: what is due, overdue (and told to the team lead) or done,
// soonest first; a follow-up that took place is marked done here (the next one is then planned).
// Below, the results notices sent to elders and families: pending, overdue or delivered.
import { api } from './api.js';
import { t, translate } from './i18n.js';
import { esc, time } from './format.js';
import { errorText } from './ui.js';

export function mount(el) {
  document.body.dataset.page = 'followups';
  el.innerHTML = `<section aria-labelledby="f-title"><h1 id="f-title" data-i18n="followups.title"></h1>
    <p><label><input type="checkbox" id="f-all"> <span data-i18n="followups.show_done"></span></label></p>
    <p class="hint" data-i18n="followups.hint"></p><div id="f-body" aria-live="polite"></div></section>
    <section aria-labelledby="n-title"><h2 id="n-title" data-i18n="notices.title"></h2>
    <p class="hint" data-i18n="notices.hint"></p><div id="n-body"></div></section>`;
  translate(el);
  const host = el.querySelector('#f-body');
  const all = el.querySelector('#f-all');
  all.addEventListener('change', () => load(host, all.checked));
  load(host, false);
  notices(el.querySelector('#n-body'));
}

async function notices(host) {
  let found;
  try {
    found = await api('/results-notices?limit=100');
  } catch (e) {
    host.textContent = errorText(e);
    return;
  }
  if (!found.length) {
    host.innerHTML = `<p>${esc(t('common.none'))}</p>`;
    return;
  }
  const badge = { overdue: 'high', pending: 'low', delivered: '' };
  const rows = found.map((n) => `<tr data-notice="${esc(n.notice_id)}" data-state="${esc(n.state)}">
      <td><a href="#/patients/${encodeURIComponent(n.patient_id)}">${esc(n.patient_id)}</a></td>
      <td>${esc(t(`notices.source.${n.source}`))}</td>
      <td>${esc(time(n.measured_at, { seconds: false }))}</td>
      <td>${esc(time(n.deadline_at, { seconds: false }))}</td>
      <td><span class="badge ${badge[n.state] || ''}">${esc(t(`notices.state.${n.state}`))}</span></td>
      <td>${n.delivered_to ? esc(n.delivered_to) : esc(n.last_error || '')}</td>
    </tr>`).join('');
  host.innerHTML = `<table><thead><tr><th>${esc(t('followups.patient'))}</th><th>${esc(t('notices.source'))}</th>
    <th>${esc(t('notices.measured'))}</th><th>${esc(t('notices.deadline'))}</th><th>${esc(t('followups.state'))}</th>
    <th>${esc(t('notices.to'))}</th></tr></thead><tbody>${rows}</tbody></table>`;
}

function ruleName(rule) {
  const key = `followups.rule.${rule}`;
  const text = t(key);
  return text === key ? rule : text;
}

async function load(host, withDone) {
  let tasks;
  try {
    tasks = await api('/followups');
  } catch (e) {
    host.textContent = errorText(e);
    return;
  }
  const shown = withDone ? tasks : tasks.filter((x) => x.state !== 'done');
  if (!shown.length) {
    host.innerHTML = `<p>${esc(t('common.none'))}</p>`;
    return;
  }
  const rows = shown.map((x) => `<tr data-task="${esc(x.task_id)}" data-state="${esc(x.state)}">
      <td><a href="#/patients/${encodeURIComponent(x.patient_id)}">${esc(x.patient_id)}</a></td>
      <td>${esc(ruleName(x.rule))}</td>
      <td>${esc(time(x.due_at, { seconds: false }))}</td>
      <td><span class="badge ${x.state === 'overdue' ? 'high' : x.state === 'due' ? 'low' : ''}">${esc(t(`followups.state.${x.state}`))}</span></td>
      <td>${x.escalated_to ? esc(t('followups.escalated_to', { who: x.escalated_to })) : ''}</td>
      <td>${x.state === 'done' ? esc(time(x.done_at, { seconds: false })) : `<button type="button" class="tool done" data-i18n="followups.mark_done"></button>`}</td>
    </tr>`).join('');
  host.innerHTML = `<table><thead><tr><th>${esc(t('followups.patient'))}</th><th>${esc(t('followups.rule'))}</th>
    <th>${esc(t('followups.due'))}</th><th>${esc(t('followups.state'))}</th><th>${esc(t('followups.lead'))}</th><th></th></tr></thead>
    <tbody>${rows}</tbody></table>`;
  translate(host);
  for (const b of host.querySelectorAll('button.done')) {
    b.addEventListener('click', async () => {
      const id = b.closest('tr').dataset.task;
      b.disabled = true;
      try {
        await api(`/followups/${encodeURIComponent(id)}/done`, { method: 'POST', body: {} });
      } catch (e) {
        host.textContent = errorText(e);
        return;
      }
      load(host, withDone);
    });
  }
}
