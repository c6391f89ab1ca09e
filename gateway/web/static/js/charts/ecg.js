// The ECG strip on paper: 25 mm/s and 10 mm/mV by default, 1 mm and 5 mm grid, a 1 mV
// calibration pulse, beat marks, episodes shaded with a label and a hatch per kind (AF, pause,
// noise, ...), gaps between chunks marked. Millimetres are the page's calibrated ones.
import { css } from './plot.js';

export const CAL_MM = 10; // the calibration pulse's margin at the left
export const HEIGHT_MM = 40; // 8 large boxes
export const BASELINE_MM = 25; // 0 mV, from the top: +2.5 mV .. -1.5 mV visible
const LANE_TOP_MM = 6.5; // episode lanes: under the beat and second marks
const LANE_MM = 4.5;

const HATCH = { AF: 'diag', pause: 'vert', asystole: 'vert', noise: 'cross', bradycardia: 'horiz', tachycardia: 'horiz', VT: 'diag' };

function hatch(g, kind, color) {
  const p = document.createElement('canvas');
  p.width = 8;
  p.height = 8;
  const h = p.getContext('2d');
  h.strokeStyle = color;
  h.lineWidth = 1;
  h.beginPath();
  if (kind === 'diag' || kind === 'cross') { h.moveTo(0, 8); h.lineTo(8, 0); }
  if (kind === 'cross') { h.moveTo(0, 0); h.lineTo(8, 8); }
  if (kind === 'vert') { h.moveTo(4, 0); h.lineTo(4, 8); }
  if (kind === 'horiz') { h.moveTo(0, 4); h.lineTo(8, 4); }
  h.stroke();
  return g.createPattern(p, 'repeat');
}

// Grid lines are one device pixel wide and snapped to the pixel nearest each millimetre (no
// error accumulates: line i sits at round(i * mm)), so they can be measured in the page.
function grid(g, widthPx, heightPx, mm) {
  const minor = new Path2D();
  const major = new Path2D();
  const cols = Math.floor(widthPx / mm);
  for (let i = 0; i <= cols; i += 1) {
    const x = Math.round(i * mm) + 0.5;
    const path = i % 5 ? minor : major;
    path.moveTo(x, 0);
    path.lineTo(x, heightPx);
  }
  for (let j = 0; j <= HEIGHT_MM; j += 1) {
    const y = Math.round(j * mm) + 0.5;
    const path = j % 5 ? minor : major;
    path.moveTo(0, y);
    path.lineTo(widthPx, y);
  }
  g.lineWidth = 1;
  g.strokeStyle = css('--ecg-minor');
  g.stroke(minor);
  g.strokeStyle = css('--ecg-major');
  g.stroke(major);
}

// Draw `strip` ({fs, samples, beats, episodes, gaps}) into `host`; returns the geometry the
// tests and the zoom use.
export function drawStrip(host, strip, { pxPerMm, speed = 25, gain = 10, label, texts }) {
  performance.mark('hmg-ecg-draw-start');
  host.innerHTML = '';
  const mm = pxPerMm;
  const seconds = strip.samples.length / strip.fs;
  const widthPx = Math.ceil((CAL_MM + seconds * speed) * mm) + 1;
  const heightPx = Math.ceil(HEIGHT_MM * mm) + 1;
  const c = document.createElement('canvas');
  c.className = 'ecg-canvas';
  c.width = widthPx;
  c.height = heightPx;
  c.style.width = `${widthPx}px`;
  c.style.height = `${heightPx}px`;
  c.setAttribute('role', 'img');
  c.setAttribute('aria-label', label);
  host.appendChild(c);
  const g = c.getContext('2d');
  g.fillStyle = css('--ecg-paper');
  g.fillRect(0, 0, widthPx, heightPx);
  const x0 = CAL_MM * mm;
  const base = BASELINE_MM * mm;
  const pxPerS = speed * mm;
  const pxPerMv = gain * mm;
  const xOf = (i) => x0 + (i / strip.fs) * pxPerS;

  // Episodes in lanes, one per kind (AF, tachycardia, ...): overlapping episodes of different
  // kinds each keep their own band and label instead of shading the whole strip twice.
  const episodes = [];
  g.font = `${Math.max(11, Math.round(3 * mm))}px system-ui, sans-serif`;
  g.textBaseline = 'top';
  const lanes = [...new Set(strip.episodes.map((ep) => ep.label))];
  const laneY = (label) => (LANE_TOP_MM + lanes.indexOf(label) * LANE_MM) * mm;
  grid(g, widthPx, heightPx, mm);
  for (const ep of strip.episodes) {
    const a = xOf(ep.start);
    const b = xOf(ep.end);
    g.fillStyle = hatch(g, HATCH[ep.label] || 'diag', css('--chart-2'));
    g.fillRect(a, laneY(ep.label), b - a, LANE_MM * mm - 1);
    episodes.push({ label: ep.label, x0: a, x1: b, lane: lanes.indexOf(ep.label), y: laneY(ep.label) });
  }
  const labelEnd = new Map(); // per lane: where the last label ended (labels never overlap)
  for (const ep of episodes) {
    const text = texts.episode(ep.label, strip.episodes[episodes.indexOf(ep)]);
    const x = ep.x0 + 3;
    if (x < (labelEnd.get(ep.lane) ?? -Infinity)) continue;
    const w = g.measureText(text).width;
    g.fillStyle = css('--ecg-paper');
    g.fillRect(x - 1, ep.y + 1, w + 2, 3.4 * mm);
    g.fillStyle = css('--fg');
    g.fillText(text, x, ep.y + 1.2);
    ep.text = text;
    ep.labelX = [x, x + w];
    labelEnd.set(ep.lane, x + w + 2 * mm);
  }

  // Calibration pulse: 1 mV high, 0.2 s wide, standing on the baseline.
  g.strokeStyle = css('--ecg-trace');
  g.lineWidth = 1.5;
  g.beginPath();
  g.moveTo(1 * mm, base);
  g.lineTo(3 * mm, base);
  g.lineTo(3 * mm, base - pxPerMv);
  g.lineTo(3 * mm + 0.2 * pxPerS, base - pxPerMv);
  g.lineTo(3 * mm + 0.2 * pxPerS, base);
  g.lineTo(x0, base);
  g.stroke();

  // The trace in one path.
  const s = strip.samples;
  g.beginPath();
  g.moveTo(x0, base - s[0] * pxPerMv);
  for (let i = 1; i < s.length; i += 1) g.lineTo(x0 + (i / strip.fs) * pxPerS, base - s[i] * pxPerMv);
  g.lineJoin = 'round';
  g.stroke();

  // Gaps between chunks that did not continue each other.
  g.setLineDash([4, 3]);
  for (const [i, missing] of strip.gaps) {
    const x = xOf(i);
    g.beginPath(); g.moveTo(x, 0); g.lineTo(x, heightPx); g.stroke();
    g.fillStyle = css('--fg');
    g.fillText(texts.gap(missing), x + 3, 11 * mm);
  }
  g.setLineDash([]);

  // Beat marks: a small down-pointing triangle above each beat the analyser found.
  const beatsX = strip.beats.map(xOf);
  g.fillStyle = css('--fg');
  g.beginPath();
  for (const x of beatsX) {
    g.moveTo(x - 1.2 * mm, 1 * mm);
    g.lineTo(x + 1.2 * mm, 1 * mm);
    g.lineTo(x, 3 * mm);
    g.closePath();
  }
  g.fill();

  // Second marks under the strip so time can be read without counting boxes.
  // (in the top band, under the beat marks, clear of the bottom rows kept for measuring)
  g.textBaseline = 'top';
  for (let t = 0; t <= seconds; t += speed >= 25 ? 1 : 2) g.fillText(`${t}s`, x0 + t * pxPerS + 2, 3.2 * mm);

  Object.assign(c.dataset, { pxPerMm: String(mm), speed: String(speed), gain: String(gain), x0: String(x0), baseline: String(base) });
  g.getImageData(0, 0, 1, 1); // waits for the drawing to be rasterised: included in the measure
  performance.measure('hmg-ecg-draw', 'hmg-ecg-draw-start');
  return { canvas: c, x0, base, pxPerS, pxPerMv, beatsX, episodes };
}
