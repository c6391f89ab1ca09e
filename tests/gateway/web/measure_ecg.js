// Measures the ECG strip's canvas in the page: grid lines, calibration pulse (see test_patient.py).
(() => {
  const c = document.querySelector('#ecg canvas');
  const g = c.getContext('2d');
  const mm = Number(c.dataset.pxPerMm);
  const hex = getComputedStyle(document.body).getPropertyValue('--ecg-major').trim();
  const major = [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16));
  // A row between two horizontal minor lines, under the trace and clear of any text.
  const y = Math.round(35.5 * mm);
  const row = g.getImageData(0, y, c.width, 1).data;
  const xs = [];
  for (let x = 0; x < c.width; x += 1) {
    const p = row.slice(4 * x, 4 * x + 3);
    if (Math.abs(p[0] - major[0]) + Math.abs(p[1] - major[1]) + Math.abs(p[2] - major[2]) < 6) xs.push(x);
  }
  // The calibration pulse: its top and the baseline, measured on the trace's dark pixels.
  const dark = (x0, y0, w, h) => {
    const d = g.getImageData(x0, y0, w, h).data;
    const out = [];
    for (let i = 0; i < w * h; i += 1) if (d[4 * i] < 90 && d[4 * i + 1] < 90 && d[4 * i + 2] < 90) out.push([x0 + (i % w), y0 + Math.floor(i / w)]);
    return out;
  };
  const top = dark(Math.round(5.5 * mm), 0, 1, c.height).map((p) => p[1]);
  const foot = dark(Math.round(2 * mm), 0, 1, c.height).map((p) => p[1]);
  const upper = Math.round(Number(c.dataset.baseline) - 5 * mm);
  const plateau = dark(0, upper, Math.round(10 * mm), 1).map((p) => p[0]);
  return { mm, speed: Number(c.dataset.speed), gain: Number(c.dataset.gain), width: c.width, xs,
           pulseTop: (Math.min(...top) + Math.max(...top)) / 2,
           pulseBottom: (Math.min(...foot) + Math.max(...foot)) / 2, riseX: Math.min(...plateau), fallX: Math.max(...plateau) };
})
