// Glucose: the CGM trace, the ambulatory glucose profile (median, 25-75 and 5-95 percentile
// bands over 14 days by time of day) and the time-in-ranges bar. Figures come from the API.
import { canvas, css, Frame, timeTicks } from './plot.js';
import { glucoseUnit, toUnit } from '../format.js';

function yRange() { return glucoseUnit() === 'mg/dL' ? [0, 400] : [0, 22]; }

function yTicks() {
  const marks = glucoseUnit() === 'mg/dL' ? [54, 70, 180, 250, 350] : [3.0, 3.9, 10.0, 13.9, 20];
  return marks.map((v) => [v, String(v)]);
}

function rangeLines(f, texts) {
  f.hline(toUnit(3.9), texts.low, css('--chart-3'), [8, 4]);
  f.hline(toUnit(10.0), texts.high, css('--chart-3'), [8, 4]);
  f.hline(toUnit(3.0), texts.very_low, css('--chart-1'), [2, 3]);
  f.hline(toUnit(13.9), texts.very_high, css('--chart-1'), [2, 3]);
}

export function drawTrace(host, readings, { start, end, label, fmtTick, texts }) {
  host.innerHTML = '';
  const width = Math.max(320, host.clientWidth || 640);
  const cv = canvas(host, width, 240, label);
  const [y0, y1] = yRange();
  const f = new Frame(cv, { x0: start, x1: end, y0, y1 });
  f.axes(timeTicks(start, end, 8, fmtTick), yTicks());
  rangeLines(f, texts);
  const cgm = readings.filter((r) => r.attrs.source === 'cgm').map((r) => [Date.parse(r.ts), toUnit(r.values.glucose)]);
  const sticks = readings.filter((r) => r.attrs.source !== 'cgm').map((r) => [Date.parse(r.ts), toUnit(r.values.glucose)]);
  f.line(cgm, css('--chart-2'), 2, 20 * 60e3);
  f.points(sticks, css('--fg'), 'diamond', 5);
  return cv.c;
}

export function drawAgp(host, agp, { label, texts }) {
  host.innerHTML = '';
  const width = Math.max(320, host.clientWidth || 640);
  const cv = canvas(host, width, 260, label);
  const [y0, y1] = yRange();
  const f = new Frame(cv, { x0: 0, x1: 1440, y0, y1 });
  const ticks = [0, 180, 360, 540, 720, 900, 1080, 1260, 1440].map((m) => [m, `${String(Math.floor(m / 60)).padStart(2, '0')}:00`]);
  f.axes(ticks, yTicks());
  // Each bin's percentiles are drawn at the bin's middle.
  const half = agp.length ? 1440 / agp.length / 2 : 0;
  const xs = agp.map((b) => b.minute + half);
  const v = (k) => agp.map((b) => (b[k] === null ? null : toUnit(b[k])));
  f.band(xs, v('p05'), v('p95'), css('--band-5'));
  f.band(xs, v('p25'), v('p75'), css('--band-25'));
  rangeLines(f, texts);
  f.line(xs.map((x, i) => [x, v('p50')[i]]), css('--fg'), 2.5);
  return cv.c;
}
