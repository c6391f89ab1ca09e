// Triage order and grouping, pure: one row per patient and situation, worst first.
const SITUATION = { bp: 'cardio', cv: 'cardio', ecg: 'cardio', glucose: 'glycaemic', emergency: 'emergency', device: 'device' };
const PRIORITY_RANK = { high: 3, medium: 2, low: 1 };
const UNACKNOWLEDGED = new Set(['open', 'escalated']);

export function isEmergency(a) { return a.code.startsWith('emergency.'); }

export function situation(a) {
  const family = a.code.split('.')[0];
  return SITUATION[family] || family;
}

export function unacknowledged(a) { return UNACKNOWLEDGED.has(a.state); }

// Negative when `a` is worse (comes first): emergency, then priority, then unacknowledged,
// then waiting longest.
export function worse(a, b) {
  return (Number(isEmergency(b)) - Number(isEmergency(a)))
    || ((PRIORITY_RANK[b.priority] || 0) - (PRIORITY_RANK[a.priority] || 0))
    || (Number(unacknowledged(b)) - Number(unacknowledged(a)))
    || (Date.parse(a.opened_at) - Date.parse(b.opened_at))
    || (a.alert_id < b.alert_id ? -1 : 1);
}

// [{key, head, others}] sorted worst first; `head` is the group's worst alert.
export function groups(alerts) {
  const by = new Map();
  const ids = new Map(alerts.map((a) => [a.alert_id, a]));
  for (const a of alerts) {
    // A part of a combined episode (`part_of`) goes in the combined alert's row: one episode,
    // one row, one timer.
    const whole = (a.part_of && ids.get(a.part_of)) || a;
    const key = `${a.patient_id}|${situation(whole)}`;
    if (!by.has(key)) by.set(key, []);
    by.get(key).push(a);
  }
  const out = [];
  for (const [key, list] of by) {
    list.sort(worse);
    out.push({ key, head: list[0], others: list.slice(1) });
  }
  out.sort((x, y) => worse(x.head, y.head));
  return out;
}
