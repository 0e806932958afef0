// Small SVG bar charts, so the demo needs no charting library and the browser tests can read
// what is drawn: every bar carries its value and state in data-* attributes.

const SVG = 'http://www.w3.org/2000/svg';

function el<K extends keyof SVGElementTagNameMap>(name: K, attrs: Record<string, string | number>, text?: string): SVGElementTagNameMap[K] {
  const e = document.createElementNS(SVG, name);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  if (text !== undefined) e.textContent = text;
  return e;
}

export interface Bar {
  label: string;
  /** May be negative (log-probabilities) or -Infinity / NaN, which are drawn as markers. */
  value: number;
  /** Drawn in the accent colour; others are greyed out. */
  kept: boolean;
  /** An optional second, thinner bar: the renormalised probability after filtering. */
  after?: number;
}

/** Vertical bars, one per class, with a zero line; bars below zero grow downwards. */
export function columnChart(host: HTMLElement, bars: Bar[], opts: { format: (v: number) => string }): void {
  const width = Math.max(360, Math.min(960, 56 * bars.length));
  const height = 260;
  const pad = { top: 18, bottom: 34, left: 8, right: 8 };
  const finite = bars.flatMap((b) => [b.value, b.after ?? 0]).filter(Number.isFinite);
  const hi = Math.max(0, ...finite);
  const lo = Math.min(0, ...finite);
  const span = hi - lo || 1;
  const y = (v: number) => pad.top + ((hi - v) / span) * (height - pad.top - pad.bottom);
  const slot = (width - pad.left - pad.right) / Math.max(1, bars.length);
  const svg = el('svg', { viewBox: `0 0 ${width} ${height}`, width, height, role: 'img', 'aria-label': 'bar chart' });
  svg.append(el('line', { x1: pad.left, x2: width - pad.right, y1: y(0), y2: y(0), class: 'axis' }));
  bars.forEach((b, i) => {
    const x = pad.left + i * slot + slot * 0.15;
    const w = slot * 0.7;
    const g = el('g', { class: `bar${b.kept ? ' kept' : ''}`, 'data-index': i, 'data-value': String(b.value), 'data-kept': String(b.kept) });
    if (Number.isFinite(b.value)) {
      const top = Math.min(y(0), y(b.value));
      g.append(el('rect', { x, y: top, width: w, height: Math.max(1, Math.abs(y(b.value) - y(0))) }));
    } else {
      // -inf (masked) or NaN: no bar, a marker on the axis instead.
      g.append(el('text', { x: x + w / 2, y: y(0) - 4, class: 'special', 'text-anchor': 'middle' }, Number.isNaN(b.value) ? 'NaN' : '−∞'));
    }
    if (b.after !== undefined && Number.isFinite(b.after) && b.after > 0) {
      g.append(el('rect', { x: x + w * 0.35, y: y(b.after), width: w * 0.3, height: Math.max(1, y(0) - y(b.after)), class: 'after' }));
    }
    g.append(el('text', { x: x + w / 2, y: height - pad.bottom + 14, 'text-anchor': 'middle', class: 'label' }, b.label));
    g.append(el('text', { x: x + w / 2, y: height - pad.bottom + 28, 'text-anchor': 'middle', class: 'value' }, opts.format(b.value)));
    const title = el('title', {}, `${b.label}: ${opts.format(b.value)}${b.after !== undefined ? ` → ${opts.format(b.after)} after filtering` : ''}`);
    g.append(title);
    svg.append(g);
  });
  host.replaceChildren(svg);
}

export interface Series {
  name: string;
  value: number;
  className: string;
}

/** Horizontal bars for a handful of series (benchmark results), longest = slowest. */
export function barChart(host: HTMLElement, series: Series[], opts: { format: (v: number) => string }): void {
  const width = 780;
  const row = 34;
  const labelW = 230;
  const valueW = 110;
  const height = row * series.length + 8;
  const max = Math.max(...series.map((s) => s.value).filter(Number.isFinite), 1e-12);
  const svg = el('svg', { viewBox: `0 0 ${width} ${height}`, width, height, role: 'img', 'aria-label': 'benchmark chart' });
  series.forEach((s, i) => {
    const yTop = 4 + i * row;
    const w = Number.isFinite(s.value) ? Math.max(2, ((width - labelW - valueW) * s.value) / max) : 0;
    const g = el('g', { class: `series ${s.className}`, 'data-name': s.name, 'data-value': String(s.value) });
    g.append(el('text', { x: labelW - 8, y: yTop + row / 2 + 4, 'text-anchor': 'end', class: 'label' }, s.name));
    g.append(el('rect', { x: labelW, y: yTop + 4, width: w, height: row - 10 }));
    g.append(el('text', { x: labelW + w + 6, y: yTop + row / 2 + 4, class: 'value' }, opts.format(s.value)));
    svg.append(g);
  });
  host.replaceChildren(svg);
}
