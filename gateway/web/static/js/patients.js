// The patient list: search by name, id, recorded conditions or care team; each elder's escalation
// gaps marked; the tenant administrator adds and edits elders (profile and emergency contacts).
import { api } from './api.js';
import { session } from './session.js';
import { has, t, translate } from './i18n.js';
import { age, esc } from './format.js';
import { errorText, field, formDialog } from './ui.js';

const CONTACTS = 2; // emergency contacts the form offers (the API takes any number)
let st = null;

export function mount(el) {
  document.body.dataset.page = 'patients';
  const admin = session().role === 'admin';
  st = { el, admin, query: '', timer: null, roster: null, gaps: new Map(), list: [], seq: 0 };
  el.innerHTML = `<section class="patients" aria-labelledby="pl-title">
    <div class="qhead"><h1 id="pl-title" data-i18n="patients.title"></h1>
    ${admin ? '<button type="button" id="pl-add" class="primary" data-i18n="patients.add"></button>' : ''}</div>
    <p><label for="pl-q" data-i18n="patients.search"></label>
      <input id="pl-q" type="search" autocomplete="off" data-i18n-attr="placeholder:patients.search_hint"></p>
    <p id="pl-count" class="counts" aria-live="polite"></p>
    <div id="pl-list" aria-busy="true"></div></section>`;
  translate(el);
  const input = el.querySelector('#pl-q');
  input.addEventListener('input', () => {
    clearTimeout(st.timer);
    st.timer = setTimeout(() => { st.query = input.value.trim(); search(); }, 200);
  });
  el.querySelector('#pl-list').addEventListener('click', onClick);
  if (admin) el.querySelector('#pl-add').addEventListener('click', () => edit(null));
  load();
  const mine = st;
  return () => { clearTimeout(mine.timer); mine.el = null; };
}

async function load() {
  const mine = st;
  const [roster, coverage] = await Promise.all([
    api('/rosters').catch(() => null),
    api('/rosters/coverage').catch(() => null),
  ]);
  if (!mine.el) return;
  mine.roster = roster;
  mine.gaps = new Map();
  for (const g of (coverage && coverage.patient_gaps) || []) {
    if (!mine.gaps.has(g.patient_id)) mine.gaps.set(g.patient_id, []);
    mine.gaps.get(g.patient_id).push(g);
  }
  await search();
}

async function search() {
  const mine = st;
  const seq = ++mine.seq;
  const list = mine.el.querySelector('#pl-list');
  list.setAttribute('aria-busy', 'true');
  try {
    const q = mine.query ? `?q=${encodeURIComponent(mine.query)}` : '';
    const found = await api(`/patients${q}`);
    if (!mine.el || seq !== mine.seq) return; // a later search already answered
    mine.list = found;
    render();
  } catch (e) {
    if (mine.el) mine.el.querySelector('#pl-count').textContent = errorText(e);
  }
}

function teamName(id) {
  const team = id && st.roster ? st.roster.teams.find((x) => x.team_id === id) : null;
  return team ? team.name : (id || '');
}

// A policy tier by its name in the user's language (a tenant's own tier names as written).
export function tierName(name) { return has(`tier.${name}`) ? t(`tier.${name}`) : name; }

// The tiers that would notify nobody for this elder, as a warning mark.
export function gapText(gaps) {
  return gaps.map((g) => t('coverage.patient_gap', { tier: tierName(g.tier_name) })).join('; ');
}

function render() {
  const { el, list, admin } = st;
  const rows = list.map((p) => {
    const years = age(p.birth_year);
    const gaps = st.gaps.get(p.patient_id) || [];
    const name = esc(p.name || p.patient_id);
    return `<tr data-patient="${esc(p.patient_id)}">
      <th scope="row">${admin ? name : `<a class="pname" href="#/patients/${encodeURIComponent(p.patient_id)}">${name}</a>`}</th>
      <td>${esc(p.patient_id)}</td>
      <td>${years ? esc(t('patient.age', { n: years })) : '—'}</td>
      <td>${p.sex ? esc(t(`sex.${p.sex}`)) : '—'}</td>
      <td>${esc(p.conditions || '—')}</td>
      <td>${p.care_team ? esc(teamName(p.care_team)) : `<span class="none">${esc(t('patients.no_team'))}</span>`}</td>
      <td class="gaps">${gaps.length ? `<span class="stale" data-gap="${esc(p.patient_id)}">⚠ ${esc(gapText(gaps))}</span>` : ''}</td>
      ${admin ? `<td><button type="button" data-edit="${esc(p.patient_id)}">${esc(t('patients.edit'))}</button></td>` : ''}
    </tr>`;
  }).join('');
  const host = el.querySelector('#pl-list');
  host.innerHTML = list.length
    ? `<table class="plist"><thead><tr><th>${esc(t('patients.name'))}</th><th>${esc(t('patients.id'))}</th><th>${esc(t('patients.age'))}</th>
        <th>${esc(t('patient.sex'))}</th><th>${esc(t('patient.recorded_conditions'))}</th><th>${esc(t('patient.care_team'))}</th>
        <th>${esc(t('coverage.title'))}</th>${admin ? `<th>${esc(t('patients.actions'))}</th>` : ''}</tr></thead><tbody>${rows}</tbody></table>`
    : `<p class="empty">${esc(t(st.query ? 'patients.no_match' : 'patients.empty'))}</p>`;
  host.setAttribute('aria-busy', 'false');
  host.dataset.q = st.query; // the search these rows answer
  el.querySelector('#pl-count').textContent = t('patients.count', { n: list.length });
}

function onClick(ev) {
  const b = ev.target.closest('button[data-edit]');
  if (!b) return;
  const p = st.list.find((x) => x.patient_id === b.dataset.edit);
  if (p) edit(p);
}

function teamSelect(value) {
  const teams = (st.roster && st.roster.teams) || [];
  const opts = [`<option value="">${esc(t('patients.no_team'))}</option>`]
    .concat(teams.map((x) => `<option value="${esc(x.team_id)}"${x.team_id === value ? ' selected' : ''}>${esc(x.name)}</option>`));
  return `<p><label for="f-care_team" data-i18n="patient.care_team"></label><select id="f-care_team" name="care_team">${opts.join('')}</select></p>`;
}

function contactFields(existing) {
  const out = [];
  for (let i = 0; i < CONTACTS; i += 1) {
    const c = existing[i] || { name: '', role: '', contacts: [] };
    const phone = (c.contacts.find((x) => x.channel === 'sms' || x.channel === 'voice') || c.contacts[0] || {}).address || '';
    out.push(`<fieldset class="ec"><legend>${esc(t('patients.contact_n', { n: i + 1 }))}</legend>
      ${field(`ec${i}_name`, 'patients.contact_name', { value: c.name })}
      ${field(`ec${i}_relation`, 'patients.contact_relation', { value: c.role })}
      ${field(`ec${i}_phone`, 'patients.contact_phone', { type: 'tel', value: phone })}</fieldset>`);
  }
  return out.join('');
}

// Add (p null) or edit an elder: PUT /patients/{id} replaces every profile field, then the
// emergency contacts (both audited under the administrator).
async function edit(p) {
  const cur = p || {};
  const existing = (p && st.roster && st.roster.emergency_contacts[p.patient_id]) || [];
  const sexes = [['', 'sex.unknown'], ['female', 'sex.female'], ['male', 'sex.male'], ['other', 'sex.other']];
  const html = [
    p ? `<p class="hint">${esc(t('patients.id'))}: <strong>${esc(p.patient_id)}</strong></p>` : field('patient_id', 'patients.id', { required: true }),
    field('name', 'patients.name', { value: cur.name || '', required: true }),
    field('birth_year', 'patients.birth_year', { type: 'number', value: cur.birth_year ? String(cur.birth_year) : '' }),
    field('sex', 'patient.sex', { options: sexes, value: cur.sex || '' }),
    field('lives_alone', 'patient.lives_alone', { type: 'checkbox', value: cur.lives_alone }),
    field('disability', 'patient.disability', { type: 'checkbox', value: cur.disability }),
    teamSelect(cur.care_team || ''),
    field('conditions', 'patient.recorded_conditions', { rows: 2, value: cur.conditions || '' }),
    field('medications', 'patient.medications', { rows: 2, value: cur.medications || '' }),
    field('allergies', 'patient.allergies', { rows: 2, value: cur.allergies || '' }),
    field('address', 'patient.address', { rows: 2, value: cur.address || '' }),
    field('access_notes', 'patients.access_notes', { rows: 2, value: cur.access_notes || '' }),
    contactFields(existing),
  ].join('');
  const saved = await formDialog(p ? 'patients.edit_title' : 'patients.add_title', html, 'action.save', async (v) => {
    const pid = p ? p.patient_id : (v.patient_id || '').trim();
    const body = {
      name: v.name.trim() || null,
      birth_year: v.birth_year ? Number(v.birth_year) : null,
      sex: v.sex || null,
      lives_alone: !!v.lives_alone,
      disability: !!v.disability,
      care_team: v.care_team || null,
    };
    for (const k of ['conditions', 'medications', 'allergies', 'address', 'access_notes']) body[k] = v[k].trim() || null;
    const contacts = [];
    for (let i = 0; i < CONTACTS; i += 1) {
      const name = v[`ec${i}_name`].trim();
      const phone = v[`ec${i}_phone`].trim();
      if (!name && !phone) continue;
      if (!name || !phone) return t('patients.contact_incomplete');
      contacts.push({ name, relation: v[`ec${i}_relation`].trim() || 'family', contacts: [{ channel: 'sms', address: phone }] });
    }
    try {
      await api(`/patients/${encodeURIComponent(pid)}`, { method: 'PUT', body });
      if (contacts.length || existing.length) {
        await api(`/rosters/patients/${encodeURIComponent(pid)}/emergency-contacts`, { method: 'PUT', body: { contacts } });
      }
      return null;
    } catch (e) {
      return e.status === 422 ? t('patients.invalid') : errorText(e);
    }
  });
  if (saved && st.el) load();
}
