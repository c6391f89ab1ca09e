// Rosters: who is on call now and next in each rotation, the teams and members, edited by the
// tenant administrator; a warning for every escalation tier that would notify nobody.
import { api } from './api.js';
import { session } from './session.js';
import { has, t, translate } from './i18n.js';
import { esc, time } from './format.js';
import { errorText, field, formDialog } from './ui.js';
import { tierName } from './patients.js';

const ROLES = ['clinician', 'nurse', 'cardiologist', 'dispatcher'];
const KINDS = ['family_doctor', 'on_call', 'emergency', 'hospital'];
let st = null;

// The member on call at `at` (the rotation's own rule: one shift each, in turn).
export function onCall(rotation, at) {
  const shift = rotation.shift_hours * 3600e3;
  const turns = Math.floor((at - Date.parse(rotation.start)) / shift);
  const n = rotation.members.length;
  return { member: rotation.members[((turns % n) + n) % n], until: Date.parse(rotation.start) + (turns + 1) * shift };
}

export function mount(el) {
  document.body.dataset.page = 'rosters';
  st = { el, admin: session().role === 'admin', roster: null };
  el.innerHTML = `<section aria-labelledby="r-title"><h1 id="r-title" data-i18n="rosters.title"></h1>
    <div id="r-cover" aria-live="polite"></div><div id="r-body" aria-busy="true"></div></section>`;
  translate(el);
  el.querySelector('section').addEventListener('click', onClick); // not `el`: it outlives the page
  load();
  const mine = st;
  return () => { mine.el = null; };
}

function label(prefix, value) { return has(`${prefix}.${value}`) ? t(`${prefix}.${value}`) : value; }

// The escalation tiers that reach nobody, tenant-wide and per elder, as a warning block.
export function coverageHtml(c) {
  if (!c || !c.policy_version) return `<p class="hint">${esc(t('coverage.no_policy'))}</p>`;
  // Policy targets are identifiers (data), shown as code.
  const ids = (g) => g.unresolved.map((x) => `<code>${esc(x)}</code>`).join(', ');
  const lines = c.tenant_gaps.map((g) => `<li data-tier="${esc(g.tier_name)}">${esc(t('coverage.tenant_gap', { tier: tierName(g.tier_name) }))} (${ids(g)})</li>`)
    .concat(c.patient_gaps.map((g) => `<li data-patient="${esc(g.patient_id)}" data-tier="${esc(g.tier_name)}">${esc(g.patient_name || g.patient_id)}: ${esc(t('coverage.patient_gap', { tier: tierName(g.tier_name) }))} (${ids(g)})</li>`));
  if (!lines.length) return `<p class="ok-note">✓ ${esc(t('coverage.ok', { version: c.policy_version }))}</p>`;
  return `<div class="warnbox" role="alert"><h2>⚠ ${esc(t('coverage.warning', { n: lines.length }))}</h2><ul>${lines.join('')}</ul></div>`;
}

async function load() {
  const mine = st;
  const host = mine.el.querySelector('#r-body');
  let r;
  let c = null;
  try {
    [r, c] = await Promise.all([api('/rosters'), api('/rosters/coverage').catch(() => null)]);
  } catch (e) {
    host.textContent = errorText(e);
    return;
  }
  if (!mine.el) return;
  mine.roster = r;
  mine.el.querySelector('#r-cover').innerHTML = coverageHtml(c);
  const names = Object.fromEntries(r.members.map((m) => [m.member_id, m.name]));
  const name = (id) => esc(names[id] || id);
  const now = Date.now();
  const tools = (part, key) => (mine.admin ? `<td class="acts"><button type="button" data-edit="${part}" data-key="${esc(key)}">${esc(t('patients.edit'))}</button>
    <button type="button" data-delete="${part}" data-key="${esc(key)}">${esc(t('rosters.delete'))}</button></td>` : '');
  const add = (part) => (mine.admin ? `<p><button type="button" data-edit="${part}">${esc(t(`rosters.add_${part}`))}</button></p>` : '');
  const rot = r.rotations.map((x) => {
    const cur = onCall(x, now);
    const next = onCall(x, cur.until);
    return `<tr data-rotation="${esc(x.rotation_id)}"><td>${esc(x.rotation_id)}</td><td>${esc(x.team_id)}</td>
      <td class="now"><strong>${name(cur.member)}</strong> · ${esc(t('rosters.until', { t: time(new Date(cur.until).toISOString()) }))}</td>
      <td class="next">${name(next.member)} · ${esc(t('rosters.until', { t: time(new Date(next.until).toISOString()) }))}</td>${tools('rotations', x.rotation_id)}</tr>`;
  }).join('');
  host.innerHTML = `<h2>${esc(t('rosters.on_call'))}</h2>
    ${r.rotations.length ? `<table><thead><tr><th>${esc(t('rosters.rotation'))}</th><th>${esc(t('rosters.team'))}</th><th>${esc(t('rosters.now'))}</th><th>${esc(t('rosters.next'))}</th>${mine.admin ? '<th></th>' : ''}</tr></thead><tbody>${rot}</tbody></table>` : `<p>${esc(t('common.none'))}</p>`}
    ${add('rotations')}
    <h2>${esc(t('rosters.teams'))}</h2>
    ${r.teams.length ? `<table><tbody>${r.teams.map((x) => `<tr data-team="${esc(x.team_id)}"><th>${esc(x.name)}</th><td>${esc(x.team_id)}</td><td>${esc(label('team_kind', x.kind))}</td><td>${x.members.map(name).join(', ') || `<span class="stale">⚠ ${esc(t('rosters.team_empty'))}</span>`}</td>${tools('teams', x.team_id)}</tr>`).join('')}</tbody></table>` : `<p>${esc(t('common.none'))}</p>`}
    ${add('teams')}
    <h2>${esc(t('rosters.members'))}</h2>
    ${r.members.length ? `<table><tbody>${r.members.map((m) => `<tr data-member="${esc(m.member_id)}"><th>${esc(m.name)}</th><td>${esc(m.member_id)}</td><td>${esc(label('role', m.role))}</td><td>${m.contacts.map((x) => `${esc(x.channel)}: ${esc(x.address)}`).join(', ') || `<span class="stale">⚠ ${esc(t('rosters.no_contact'))}</span>`}</td>${tools('members', m.member_id)}</tr>`).join('')}</tbody></table>` : `<p>${esc(t('common.none'))}</p>`}
    ${add('members')}`;
  host.setAttribute('aria-busy', 'false');
}

function onClick(ev) {
  const e = ev.target.closest('button[data-edit]');
  if (e) { edit(e.dataset.edit, e.dataset.key || null); return; }
  const d = ev.target.closest('button[data-delete]');
  if (d) remove(d.dataset.delete, d.dataset.key);
}

async function remove(part, key) {
  await formDialog('rosters.delete_title', `<p>${esc(t('rosters.delete_confirm', { key }))}</p>`, 'rosters.delete', async () => {
    try {
      await api(`/rosters/${part}/${encodeURIComponent(key)}`, { method: 'DELETE' });
      return null;
    } catch (e) { return errorText(e); }
  }) && st.el && load();
}

function checks(name, ids, chosen) {
  const names = Object.fromEntries(st.roster.members.map((m) => [m.member_id, m.name]));
  return `<fieldset><legend data-i18n="rosters.members"></legend>${ids.map((id) => `<p class="check"><input type="checkbox" id="f-${name}-${esc(id)}" name="${name}:${esc(id)}"${chosen.includes(id) ? ' checked' : ''}>
    <label for="f-${name}-${esc(id)}">${esc(names[id] || id)}</label></p>`).join('') || `<p>${esc(t('common.none'))}</p>`}</fieldset>`;
}

function picked(v, name) {
  return Object.entries(v).filter(([k, on]) => k.startsWith(`${name}:`) && on).map(([k]) => k.slice(name.length + 1));
}

function idField(part, key) {
  return key ? `<p class="hint">${esc(t('rosters.id'))}: <strong>${esc(key)}</strong></p>` : field('key', 'rosters.id', { required: true });
}

// Add (key null) or edit a member, team or rotation; the API audits each change.
async function edit(part, key) {
  const r = st.roster;
  const allIds = r.members.map((m) => m.member_id);
  let html;
  let body;
  if (part === 'members') {
    const m = r.members.find((x) => x.member_id === key) || { name: '', role: 'clinician', lang: 'zh-CN', contacts: [] };
    const addr = (ch) => (m.contacts.find((x) => x.channel === ch) || {}).address || '';
    html = [idField(part, key), field('name', 'patients.name', { required: true, value: m.name }),
      field('role', 'rosters.role', { options: ROLES.map((x) => [x, `role.${x}`]), value: m.role }),
      field('lang', 'rosters.lang', { options: [['zh-CN', 'lang.zh'], ['en', 'lang.en']], value: m.lang }),
      field('sms', 'rosters.sms', { type: 'tel', value: addr('sms') }),
      field('email', 'rosters.email', { type: 'email', value: addr('email') })].join('');
    body = (v) => ({ name: v.name.trim(), role: v.role, lang: v.lang,
      contacts: [['sms', v.sms], ['email', v.email]].filter(([, a]) => a.trim()).map(([channel, a]) => ({ channel, address: a.trim() })) });
  } else if (part === 'teams') {
    const x = r.teams.find((y) => y.team_id === key) || { name: '', kind: 'family_doctor', members: [] };
    html = [idField(part, key), field('name', 'patients.name', { required: true, value: x.name }),
      field('kind', 'rosters.kind', { options: KINDS.map((k) => [k, `team_kind.${k}`]), value: x.kind }),
      checks('m', allIds, x.members)].join('');
    body = (v) => ({ name: v.name.trim(), kind: v.kind, members: picked(v, 'm') });
  } else {
    const x = r.rotations.find((y) => y.rotation_id === key) || { team_id: (r.teams[0] || {}).team_id || '', members: [], start: new Date().toISOString().slice(0, 13) + ':00:00Z', shift_hours: 12 };
    const teamOpts = r.teams.map((y) => `<option value="${esc(y.team_id)}"${y.team_id === x.team_id ? ' selected' : ''}>${esc(y.name)}</option>`).join('');
    html = [idField(part, key), `<p><label for="f-team" data-i18n="rosters.team"></label><select id="f-team" name="team_id">${teamOpts}</select></p>`,
      checks('m', allIds, x.members),
      field('start', 'rosters.start', { required: true, value: x.start }),
      field('shift_hours', 'rosters.shift_hours', { type: 'number', required: true, value: String(x.shift_hours) })].join('');
    body = (v) => ({ team_id: v.team_id, members: picked(v, 'm'), start: v.start.trim(), shift_hours: Number(v.shift_hours) });
  }
  const saved = await formDialog(`rosters.edit_${part}`, html, 'action.save', async (v) => {
    const id = key || (v.key || '').trim();
    try {
      await api(`/rosters/${part}/${encodeURIComponent(id)}`, { method: 'PUT', body: body(v) });
      return null;
    } catch (e) {
      return e.status === 422 ? t('patients.invalid') : errorText(e);
    }
  });
  if (saved && st.el) load();
}
