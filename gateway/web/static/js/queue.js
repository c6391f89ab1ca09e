// The triage queue: open alerts of the tenant grouped per patient and situation, worst first,
// live over SSE, with the clinician's actions inline.
import { api, me } from './api.js';
import { session } from './session.js';
import { t, lang, translate } from './i18n.js';
import { age, clock, duration, esc, extraKeyValue, time } from './format.js';
import { groups, isEmergency, unacknowledged } from './triage.js';
import { chime, errorText, field, formDialog } from './ui.js';

const OUTCOMES = ['handled_at_home', 'false_alarm', 'taken_to_hospital'];
const RESPONDERS = ['family', 'community', 'staff', 'ambulance'];
const items = new Map();
let root = null;
let refetchTimer = null;
let tickTimer = null;
let scheduled = false;
let loaded = false;

export function mount(el, live) {
  root = el;
  root.innerHTML = `<section class="queue" aria-labelledby="q-title">
    <div class="qhead"><h1 id="q-title" data-i18n="queue.title"></h1>
    <p class="counts" id="q-counts" aria-live="polite"></p></div>
    <p id="q-alarm" class="alarm" role="alert" aria-live="assertive"></p>
    <div id="q-list" class="qlist" role="list" aria-busy="true"></div></section>`;
  translate(root);
  root.addEventListener('click', onClick);
  tickTimer = setInterval(tickCountdowns, 1000);
  live.subscribe(onEvent);
  refetch();
  return () => {
    live.unsubscribe(onEvent);
    clearInterval(tickTimer);
    clearTimeout(refetchTimer);
    root = null;
  };
}

export function reconnected() { if (root) refetch(); }

async function refetch() {
  clearTimeout(refetchTimer);
  try {
    const q = await api('/queue');
    items.clear();
    for (const it of q.items) items.set(it.alert_id, it);
    loaded = true;
    schedule();
  } catch (e) {
    if (root && e.status !== 401) document.getElementById('q-counts').textContent = errorText(e);
  }
  // Timers and assignees also change without events (escalation tiers, other pages' assigns).
  refetchTimer = setTimeout(refetch, 30000);
}

function laterRefetch() {
  clearTimeout(refetchTimer);
  refetchTimer = setTimeout(refetch, 400);
}

function onEvent(type, ev) {
  const a = ev && ev.alert;
  const s = session();
  if (!a || !s || (a.tenant && a.tenant !== s.tenant)) return; // only the user's own tenant
  const prev = items.get(a.alert_id);
  if (type === 'reviewed') {
    items.delete(a.alert_id);
  } else if (a.state === 'resolved') {
    // A serious alert that cleared on its own before anyone acted stays until it is reviewed.
    const unseen = !ev.by && (!prev || unacknowledged(prev)) && (a.priority === 'high' || isEmergency(a));
    if (unseen) items.set(a.alert_id, { ...(prev || { escalation: null, patient: { patient_id: a.patient_id } }), ...a, escalation: null, needs_review: true });
    else items.delete(a.alert_id);
  } else {
    items.set(a.alert_id, {
      ...(prev || { escalation: null, patient: { patient_id: a.patient_id } }),
      ...a,
      assignee: a.assignee ?? (prev ? prev.assignee : null),
    });
  }
  if (type === 'opened' && (a.priority === 'high' || isEmergency(a))) chime();
  if (type === 'opened' && isEmergency(a)) announce(a);
  schedule();
  laterRefetch();
}

// A new emergency call is read out by screen readers at once (an assertive live region).
function announce(a) {
  const el = document.getElementById('q-alarm');
  if (el) el.textContent = `${t('priority.emergency')}: ${message(a)}`;
}

function schedule() {
  if (scheduled) return;
  scheduled = true;
  requestAnimationFrame(() => {
    scheduled = false;
    render();
  });
}

function badge(a) {
  if (isEmergency(a)) return `<span class="badge emergency"><span aria-hidden="true">✱ </span>${esc(t('priority.emergency'))}</span>`;
  const icon = { high: '▲▲▲', medium: '▲▲', low: '▲' }[a.priority] || '';
  return `<span class="badge ${esc(a.priority)}"><span aria-hidden="true">${icon} </span>${esc(t(`priority.${a.priority}`))}</span>`;
}

function stateTag(a) {
  if (a.needs_review) return `<span class="tag unack review"><span aria-hidden="true">◐ </span>${esc(t('state.unreviewed'))}</span>`;
  if (unacknowledged(a)) return `<span class="tag unack"><span aria-hidden="true">● </span>${esc(t(`state.${a.state}`))}</span>`;
  const who = a.acknowledged_by ? ` · ${esc(a.acknowledged_by)}` : '';
  return `<span class="tag acked"><span aria-hidden="true">✓ </span>${esc(t(`state.${a.state}`))}${who}</span>`;
}

function message(a) { return (a.message && (a.message[lang()] || a.message.en)) || a.code; }

// An emergency call's next steps in its loop: answer, send help, confirm arrival, close.
const CALL_STEPS = {
  open: ['ack'], escalated: ['ack'], acknowledged: ['dispatch', 'arrive', 'resolve'],
  dispatched: ['arrive', 'dispatch', 'resolve'], arrived: ['resolve'],
};

function actions(a, compact) {
  if (a.needs_review) return `<button type="button" class="primary" data-act="review" data-id="${esc(a.alert_id)}">${esc(t('action.review'))}</button>`;
  if (isEmergency(a)) {
    const steps = CALL_STEPS[a.state] || ['resolve'];
    return steps.map((x) => `<button type="button" class="${x === steps[0] ? 'primary' : ''}" data-act="${x}" data-id="${esc(a.alert_id)}">${esc(t(`action.${x}`))}</button>`).join('');
  }
  const acts = compact ? ['ack', 'resolve'] : ['ack', 'assign', 'escalate', 'resolve', 'refer'];
  return acts
    .filter((x) => !(x === 'ack' && !unacknowledged(a)))
    .map((x) => `<button type="button" data-act="${x}" data-id="${esc(a.alert_id)}">${esc(t(`action.${x}`))}</button>`)
    .join('');
}

function countdown(a) {
  const e = a.escalation;
  if (!e || !e.due_at) return `<span class="tier">${esc(t('queue.tier', { n: a.escalation_tier }))}</span>`;
  // An emergency call counts down to its answer deadline, then to help due on site.
  const label = { answer: 'queue.answer_within', arrival: 'queue.help_due' }[e.next_action] || 'queue.next_escalation';
  const going = a.evidence && a.evidence.response && a.evidence.response.dispatch;
  const who = going ? ` <span class="going">${esc(t('queue.going', { name: going.name, responder: t(`responder.${going.responder}`) }))}</span>` : '';
  return `<span class="tier">${esc(t('queue.tier', { n: a.escalation_tier }))}</span>
    <span class="due ${e.next_action === 'answer' ? 'urgent' : ''}">${esc(t(label))} <time data-due="${esc(e.due_at)}">${esc(duration(Date.parse(e.due_at) - Date.now()))}</time></span>${who}`;
}

function patientCell(p) {
  const name = p.name || p.patient_id;
  const years = age(p.birth_year);
  const marks = [];
  if (p.lives_alone) marks.push(`<span class="mark"><span aria-hidden="true">⌂ </span>${esc(t('patient.lives_alone'))}</span>`);
  if (p.disability) marks.push(`<span class="mark"><span aria-hidden="true">♿ </span>${esc(t('patient.disability'))}</span>`);
  return `<a class="pname" href="#/patients/${encodeURIComponent(p.patient_id)}">${esc(name)}</a>
    ${years ? `<span class="age">${esc(t('patient.age', { n: years }))}</span>` : ''} ${marks.join(' ')}`;
}

function row(g) {
  const a = g.head;
  const others = g.others.map((o) => `<li data-alert="${esc(o.alert_id)}">${badge(o)} <span class="msg">${esc(message(o))}</span>
      <span class="kv">${esc(extraKeyValue(o, message(o)))}</span> ${stateTag(o)} <span class="acts">${actions(o, true)}</span></li>`).join('');
  return `<article class="qrow ${isEmergency(a) ? 'emergency' : esc(a.priority)}" role="listitem" data-alert="${esc(a.alert_id)}" data-patient="${esc(a.patient_id)}">
    <div class="c-prio">${badge(a)}${stateTag(a)}</div>
    <div class="c-patient">${patientCell(a.patient || { patient_id: a.patient_id })}</div>
    <div class="c-alert"><span class="msg">${esc(message(a))}</span> <strong class="kv">${esc(extraKeyValue(a, message(a)))}</strong>
      ${g.others.length ? `<span class="more">${esc(t('queue.with_others', { n: g.others.length }))}</span>` : ''}</div>
    <div class="c-time"><span class="lbl">${esc(t('queue.opened'))}</span> <time datetime="${esc(a.opened_at)}" title="${esc(time(a.opened_at))}">${esc(clock(a.opened_at))}</time>
      <span class="ago" data-since="${esc(a.opened_at)}">${esc(duration(Date.now() - Date.parse(a.opened_at)))}</span></div>
    <div class="c-esc">${countdown(a)}</div>
    <div class="c-assignee"><span class="lbl">${esc(t('queue.assignee'))}</span> ${a.assignee ? esc(a.assignee) : `<span class="none">${esc(t('queue.unassigned'))}</span>`}</div>
    <div class="c-acts acts">${actions(a, false)}${a.code.startsWith('ecg.') || (a.evidence && a.evidence.strip) ? ` <a href="#/patients/${encodeURIComponent(a.patient_id)}/strip/${encodeURIComponent(a.alert_id)}">${esc(t('ecg.open_strip'))}</a>` : ''}</div>
    ${others ? `<ul class="others" aria-label="${esc(t('queue.related'))}">${others}</ul>` : ''}
  </article>`;
}

function render() {
  if (!root) return;
  performance.mark('hmg-queue-render-start');
  const list = document.getElementById('q-list');
  const focused = document.activeElement;
  const refocus = focused && focused.dataset && focused.dataset.act ? `[data-act="${focused.dataset.act}"][data-id="${CSS.escape(focused.dataset.id)}"]` : null;
  const gs = groups([...items.values()]);
  list.innerHTML = gs.length ? gs.map(row).join('') : `<p class="empty">${esc(t('queue.empty'))}</p>`;
  list.setAttribute('aria-busy', loaded ? 'false' : 'true');
  const open = [...items.values()].filter(unacknowledged).length;
  const alarm = document.getElementById('q-alarm');
  if (alarm && ![...items.values()].some((a) => isEmergency(a) && unacknowledged(a))) alarm.textContent = '';
  document.getElementById('q-counts').textContent = t('queue.counts', { alerts: items.size, rows: gs.length, open });
  if (refocus) {
    const el = list.querySelector(refocus);
    if (el) el.focus();
  }
  void list.offsetHeight; // layout included in the measure
  performance.measure('hmg-queue-render', 'hmg-queue-render-start');
  root.dataset.rendered = String(items.size);
}

function tickCountdowns() {
  if (!root) return;
  const now = Date.now();
  for (const el of root.querySelectorAll('[data-due]')) el.textContent = duration(Date.parse(el.dataset.due) - now);
  for (const el of root.querySelectorAll('[data-since]')) el.textContent = duration(now - Date.parse(el.dataset.since));
}

async function onClick(ev) {
  const b = ev.target.closest('button[data-act]');
  if (!b) return;
  const a = items.get(b.dataset.id);
  if (!a) return;
  await act(b.dataset.act, a);
}

function applied(alert) {
  if (!alert || !alert.alert_id) return;
  if (alert.state === 'resolved' || alert.reviewed) items.delete(alert.alert_id);
  else items.set(alert.alert_id, { ...items.get(alert.alert_id), ...alert });
  schedule();
}

// The elder's other alerts still escalating: a referral or a dispatch offers to take them over.
async function otherOpen(a) {
  try {
    const all = await api(`/alerts?patient_id=${encodeURIComponent(a.patient_id)}&limit=200`);
    return all.filter((o) => o.alert_id !== a.alert_id && unacknowledged(o));
  } catch { return []; }
}

function takeOverFields(others) {
  if (!others.length) return '';
  return `<fieldset class="takeover"><legend data-i18n="takeover.legend"></legend><p class="hint" data-i18n="takeover.hint"></p>
    ${others.map((o) => `<p class="check"><input type="checkbox" id="take-${esc(o.alert_id)}" name="take:${esc(o.alert_id)}"${isEmergency(o) ? '' : ' checked'}>
      <label for="take-${esc(o.alert_id)}">${badge(o)} ${esc(message(o))} · <time datetime="${esc(o.opened_at)}">${esc(time(o.opened_at))}</time></label></p>`).join('')}</fieldset>`;
}

// The actions, shared with the patient page: each asks for what it needs, calls the API, and
// the change comes back to every open page over the live stream.
export async function act(kind, a, after = applied) {
  const path = `/alerts/${encodeURIComponent(a.alert_id)}`;
  if (kind === 'assign' || kind === 'arrive' || kind === 'review') {
    const body = kind === 'assign' ? { assignee: me() } : undefined;
    try {
      const out = await api(`${path}/${kind}`, { method: 'POST', body });
      after(kind === 'review' ? { ...out, reviewed: true } : out);
    } catch (e) { window.alert(errorText(e)); }
    return;
  }
  const call = isEmergency(a);
  const forms = {
    ack: ['dialog.ack', field('comment', 'field.comment', { rows: 3 }), 'action.ack'],
    escalate: ['dialog.escalate', field('comment', 'field.comment', { rows: 3 }), 'action.escalate'],
    resolve: call
      ? ['dialog.resolve_call', [
        field('outcome', 'field.outcome', { options: OUTCOMES.map((o) => [o, `outcome.${o}`]), value: 'handled_at_home' }),
        field('hospital', 'field.hospital_if_taken'),
        field('comment', 'field.comment', { rows: 3 }),
      ].join(''), 'action.resolve']
      : ['dialog.resolve', field('comment', 'field.comment', { rows: 3 }), 'action.resolve'],
    dispatch: ['dialog.dispatch', [
      field('responder', 'field.responder', { options: RESPONDERS.map((r) => [r, `responder.${r}`]), value: 'community' }),
      field('name', 'field.responder_name', { required: true }),
      field('contact', 'field.responder_contact'),
      field('eta_minutes', 'field.eta_minutes', { type: 'number', required: true, value: '20' }),
    ].join(''), 'action.dispatch'],
    refer: ['dialog.refer', [
      field('target_org', 'field.hospital', { required: true }),
      field('department', 'field.department', { required: true }),
      field('reason', 'field.reason', { rows: 3, required: true }),
      field('urgency', 'field.urgency', { options: [['urgent', 'urgency.urgent'], ['stat', 'urgency.stat'], ['asap', 'urgency.asap'], ['routine', 'urgency.routine']], value: 'urgent' }),
      field('green_channel', 'field.green_channel', { type: 'checkbox' }),
    ].join(''), 'action.refer'],
  };
  const [title, html, submit] = forms[kind];
  const others = kind === 'refer' || kind === 'dispatch' ? await otherOpen(a) : [];
  await formDialog(title, html + takeOverFields(others), submit, async (v) => {
    let body = { comment: v.comment || null };
    const takeOver = Object.entries(v).filter(([k, on]) => k.startsWith('take:') && on).map(([k]) => k.slice(5));
    if (kind === 'refer') body = { target_org: v.target_org, department: v.department, reason: v.reason, urgency: v.urgency, green_channel: v.green_channel, take_over: takeOver };
    if (kind === 'dispatch') body = { responder: v.responder, name: v.name, contact: v.contact || null, eta_minutes: Number(v.eta_minutes), take_over: takeOver };
    if (kind === 'resolve' && call) body = { ...body, outcome: v.outcome, hospital: v.hospital || null };
    try {
      const out = await api(`${path}/${kind}`, { method: 'POST', body });
      after(kind === 'refer' ? out.alert : out);
      return null;
    } catch (e) {
      return errorText(e);
    }
  });
}
