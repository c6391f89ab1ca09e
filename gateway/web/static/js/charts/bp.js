// Blood pressure over days: systolic (up triangles) and diastolic (down triangles) with the
// patient's target (dashed) and crisis (dotted) lines; morning and evening means.
import { canvas, css, Frame, timeTicks } from './plot.js';
import { localHour } from '../format.js';

export const MORNING = [4, 12]; // local hours [from, to)
export const EVENING = [18, 24];

function mean(xs) { return xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : null; }

// Means of the readings taken in the morning and in the evening (the user's time zone).
export function dayparts(readings) {
  const pick = ([a, b]) => readings.filter((r) => { const h = localHour(Date.parse(r.ts)); return h >= a && h < b; });
  const stats = (rs) => ({
    n: rs.length,
    systolic: mean(rs.map((r) => r.values.systolic)),
    diastolic: mean(rs.map((r) => r.values.diastolic)),
  });
  return { morning: stats(pick(MORNING)), evening: stats(pick(EVENING)), all: stats(readings) };
}

export function drawBp(host, readings, limits, { start, end, label, fmtDay, texts }) {
  host.innerHTML = '';
  const width = Math.max(320, host.clientWidth || 640);
  const cv = canvas(host, width, 280, label);
  const f = new Frame(cv, { x0: start, x1: end, y0: 40, y1: 230 });
  // The top tick names the unit, so the axis is never a bare number.
  const yTicks = [60, 90, 120, 150, 180, 210].map((v) => [v, v === 210 ? `${v} mmHg` : String(v)]);
  f.axes(timeTicks(start, end, 8, fmtDay), yTicks);
  f.hline(limits.target_systolic, `${texts.target} ${limits.target_systolic}`, css('--chart-3'), [8, 4]);
  f.hline(limits.target_diastolic, `${texts.target} ${limits.target_diastolic}`, css('--chart-3'), [8, 4]);
  f.hline(limits.crisis_systolic, `${texts.crisis} ${limits.crisis_systolic}`, css('--chart-1'), [2, 3]);
  f.hline(limits.crisis_diastolic, `${texts.crisis} ${limits.crisis_diastolic}`, css('--chart-1'), [2, 3]);
  const sys = readings.map((r) => [Date.parse(r.ts), r.values.systolic]);
  const dia = readings.map((r) => [Date.parse(r.ts), r.values.diastolic]);
  f.line(sys, css('--chart-1'), 1);
  f.line(dia, css('--chart-2'), 1);
  f.points(sys, css('--chart-1'), 'up', 4);
  f.points(dia, css('--chart-2'), 'down', 4);
  return cv.c;
}
