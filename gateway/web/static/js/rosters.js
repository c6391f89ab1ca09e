// Rosters for administrators: who is on call now and next in each rotation, the teams, members.
import { api } from './api.js';
import { t, translate } from './i18n.js';
import { esc, time } from './format.js';
import { errorText } from './ui.js';

// The member on call at `at` (the rotation's own rule: one shift each, in turn).
export function onCall(rotation, at) {
  const shift = rotation.shift_hours * 3600e3;
  const turns = Math.floor((at - Date.parse(rotation.start)) / shift);
  const n = rotation.members.length;
  return { member: rotation.members[((turns % n) + n) % n], until: Date.parse(rotation.start) + (turns + 1) * shift };
}

export function mount(el) {
  document.body.dataset.page = 'rosters';
  el.innerHTML = `<section aria-labelledby="r-title"><h1 id="r-title" data-i18n="rosters.title"></h1><div id="r-body"></div></section>`;
  translate(el);
  load(el.querySelector('#r-body'));
}

async function load(host) {
  let r;
  try {
    r = await api('/rosters');
  } catch (e) {
    host.textContent = errorText(e);
    return;
  }
  const names = Object.fromEntries(r.members.map((m) => [m.member_id, m.name]));
  const name = (id) => esc(names[id] || id);
  const now = Date.now();
  const rot = r.rotations.map((x) => {
    const cur = onCall(x, now);
    const next = onCall(x, cur.until);
    return `<tr data-rotation="${esc(x.rotation_id)}"><td>${esc(x.rotation_id)}</td><td>${esc(x.team_id)}</td>
      <td class="now"><strong>${name(cur.member)}</strong> · ${esc(t('rosters.until', { t: time(new Date(cur.until).toISOString()) }))}</td>
      <td class="next">${name(next.member)} · ${esc(t('rosters.until', { t: time(new Date(next.until).toISOString()) }))}</td></tr>`;
  }).join('');
  host.innerHTML = `<h2>${esc(t('rosters.on_call'))}</h2>
    ${r.rotations.length ? `<table><thead><tr><th>${esc(t('rosters.rotation'))}</th><th>${esc(t('rosters.team'))}</th><th>${esc(t('rosters.now'))}</th><th>${esc(t('rosters.next'))}</th></tr></thead><tbody>${rot}</tbody></table>` : `<p>${esc(t('common.none'))}</p>`}
    <h2>${esc(t('rosters.teams'))}</h2>
    ${r.teams.length ? `<table><tbody>${r.teams.map((x) => `<tr><th>${esc(x.name)}</th><td>${x.members.map(name).join(', ')}</td></tr>`).join('')}</tbody></table>` : `<p>${esc(t('common.none'))}</p>`}
    <h2>${esc(t('rosters.members'))}</h2>
    ${r.members.length ? `<table><tbody>${r.members.map((m) => `<tr><th>${esc(m.name)}</th><td>${esc(t(`role.${m.role}`))}</td><td>${m.contacts.map((c) => `${esc(c.channel)}: ${esc(c.address)}`).join(', ')}</td></tr>`).join('')}</tbody></table>` : `<p>${esc(t('common.none'))}</p>`}`;
}
