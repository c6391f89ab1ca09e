// Text colour and the effective background behind it for each element matching the selectors
// (see test_accessibility.py): [selector, [r, g, b], [r, g, b]] for every visible match.
((selectors) => {
  const rgb = (c) => (c.match(/[\d.]+/g) || []).map(Number);
  const background = (el) => {
    for (let e = el; e; e = e.parentElement) {
      const c = rgb(getComputedStyle(e).backgroundColor);
      if (c.length === 3 || (c.length === 4 && c[3] > 0.5)) return c.slice(0, 3);
    }
    return [255, 255, 255];
  };
  const out = [];
  for (const sel of selectors) {
    for (const el of document.querySelectorAll(sel)) {
      if (!el.offsetParent || !el.textContent.trim()) continue;
      out.push([sel, rgb(getComputedStyle(el).color).slice(0, 3), background(el)]);
    }
  }
  return out;
})
