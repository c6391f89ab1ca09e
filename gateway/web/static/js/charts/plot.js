// A small canvas plotting helper: a frame with time or value axes, lines, points, bands and
// labelled reference lines. Colours come from the page's CSS variables (day and night).

export function css(name) {
  return getComputedStyle(document.body).getPropertyValue(name).trim() || '#000';
}

// A canvas sized in CSS pixels and drawn at the device's pixel ratio.
export function canvas(host, width, height, label) {
  const c = document.createElement('canvas');
  const dpr = window.devicePixelRatio || 1;
  c.width = Math.round(width * dpr);
  c.height = Math.round(height * dpr);
  c.style.width = `${width}px`;
  c.style.height = `${height}px`;
  c.setAttribute('role', 'img');
  c.setAttribute('aria-label', label);
  host.appendChild(c);
  const g = c.getContext('2d');
  g.scale(dpr, dpr);
  return { c, g, width, height };
}

export class Frame {
  // x0..x1 and y0..y1 are data ranges; the plot area leaves room for axis labels.
  constructor(cv, { x0, x1, y0, y1, left = 48, right = 12, top = 12, bottom = 28 }) {
    Object.assign(this, { cv, g: cv.g, x0, x1, y0, y1, left, right, top, bottom });
    this.w = cv.width - left - right;
    this.h = cv.height - top - bottom;
  }

  x(v) { return this.left + ((v - this.x0) / (this.x1 - this.x0)) * this.w; }

  y(v) { return this.top + (1 - (v - this.y0) / (this.y1 - this.y0)) * this.h; }

  axes(xTicks, yTicks) {
    const g = this.g;
    g.save();
    g.strokeStyle = css('--line');
    g.fillStyle = css('--muted');
    g.font = '12px system-ui, sans-serif';
    g.lineWidth = 1;
    g.textAlign = 'right';
    g.textBaseline = 'middle';
    for (const [v, text] of yTicks) {
      const y = Math.round(this.y(v)) + 0.5;
      g.beginPath(); g.moveTo(this.left, y); g.lineTo(this.left + this.w, y); g.stroke();
      g.fillText(text, this.left - 6, y);
    }
    g.textAlign = 'center';
    g.textBaseline = 'top';
    for (const [v, text] of xTicks) {
      const x = Math.round(this.x(v)) + 0.5;
      g.beginPath(); g.moveTo(x, this.top); g.lineTo(x, this.top + this.h); g.stroke();
      g.fillText(text, x, this.top + this.h + 6);
    }
    g.strokeStyle = css('--fg');
    g.strokeRect(this.left + 0.5, this.top + 0.5, this.w, this.h);
    g.restore();
  }

  // A horizontal reference line with its label (dash pattern tells kinds apart, not colour).
  hline(v, label, color, dash = [6, 4]) {
    if (v < this.y0 || v > this.y1) return;
    const g = this.g;
    g.save();
    g.strokeStyle = color;
    g.fillStyle = color;
    g.setLineDash(dash);
    g.lineWidth = 1.5;
    const y = this.y(v);
    g.beginPath(); g.moveTo(this.left, y); g.lineTo(this.left + this.w, y); g.stroke();
    g.setLineDash([]);
    g.font = '12px system-ui, sans-serif';
    g.textAlign = 'right';
    g.textBaseline = 'bottom';
    g.fillText(label, this.left + this.w - 4, y - 2);
    g.restore();
  }

  line(points, color, width = 1.5, gapX = Infinity) {
    const g = this.g;
    g.save();
    g.strokeStyle = color;
    g.lineWidth = width;
    g.beginPath();
    let prev = null;
    for (const [xv, yv] of points) {
      if (yv === null || yv === undefined) { prev = null; continue; }
      const x = this.x(xv);
      const y = this.y(yv);
      if (prev === null || xv - prev > gapX) g.moveTo(x, y); else g.lineTo(x, y);
      prev = xv;
    }
    g.stroke();
    g.restore();
  }

  // Filled band between two series (e.g. AGP percentiles), broken where a value is missing.
  band(xs, lo, hi, color) {
    const g = this.g;
    g.save();
    g.fillStyle = color;
    let run = [];
    const flush = () => {
      if (run.length > 1) {
        g.beginPath();
        run.forEach((i, k) => (k ? g.lineTo(this.x(xs[i]), this.y(hi[i])) : g.moveTo(this.x(xs[i]), this.y(hi[i]))));
        for (let k = run.length - 1; k >= 0; k -= 1) g.lineTo(this.x(xs[run[k]]), this.y(lo[run[k]]));
        g.closePath();
        g.fill();
      }
      run = [];
    };
    xs.forEach((_, i) => { if (lo[i] === null || hi[i] === null) flush(); else run.push(i); });
    flush();
    g.restore();
  }

  // Marker shapes: 'up' and 'down' triangles, 'dot', 'diamond' (shape carries the meaning).
  points(points, color, shape = 'dot', size = 4) {
    const g = this.g;
    g.save();
    g.fillStyle = color;
    for (const [xv, yv] of points) {
      const x = this.x(xv);
      const y = this.y(yv);
      g.beginPath();
      if (shape === 'up') { g.moveTo(x, y - size); g.lineTo(x + size, y + size); g.lineTo(x - size, y + size); }
      else if (shape === 'down') { g.moveTo(x, y + size); g.lineTo(x + size, y - size); g.lineTo(x - size, y - size); }
      else if (shape === 'diamond') { g.moveTo(x, y - size); g.lineTo(x + size, y); g.lineTo(x, y + size); g.lineTo(x - size, y); }
      else g.arc(x, y, size * 0.8, 0, 2 * Math.PI);
      g.closePath();
      g.fill();
    }
    g.restore();
  }
}

// Day ticks for a time axis (ms since epoch): about `n` labelled ticks.
export function timeTicks(x0, x1, n, fmt) {
  const span = x1 - x0;
  const steps = [3600e3, 3 * 3600e3, 6 * 3600e3, 12 * 3600e3, 86400e3, 2 * 86400e3, 7 * 86400e3, 14 * 86400e3];
  const step = steps.find((s) => span / s <= n) || steps[steps.length - 1];
  const out = [];
  for (let v = Math.ceil(x0 / step) * step; v <= x1; v += step) out.push([v, fmt(v)]);
  return out;
}
