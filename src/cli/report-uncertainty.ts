/**
 * Issue 24's report panels (inline SVG, no scripts): the ID vs OOD score histograms with the FPR@95
 * threshold (`logitkit ood --report`), and for the score report the risk–coverage curve and the
 * conformal set-size histogram with the coverage of each size bucket.
 */
import type { ConformalMetrics } from '../metrics/conformal.js';
import { SELECTIVE_EXACT_ROWS, type SelectiveSummary } from '../metrics/selective.js';
import { CSS, esc, n2 } from './report.js';
import { fmt, pct } from './ui.js';
import type { OodMetrics } from '../metrics/ood.js';

/** What `logitkit ood` measured, for its report. */
export interface OodResult {
  idFile: string;
  oodFile: string;
  idRows: number;
  oodRows: number;
  classes: number;
  temperature: number;
  methods: Record<string, OodMetrics & { threshold: number }>;
  /** Per method, the scores (for the report's histograms). */
  scores: Record<string, { id: Float32Array; ood: Float32Array }>;
}

const W = 460;
const H = 220;
const PAD = { l: 48, r: 12, t: 14, b: 36 };
const pw = W - PAD.l - PAD.r;
const ph = H - PAD.t - PAD.b;

/** Finite range of both score sets (a flat range is widened so the bins have width). */
function range(a: Float32Array, b: Float32Array): [number, number] {
  let lo = Infinity;
  let hi = -Infinity;
  for (const s of [a, b]) for (const v of s) if (Number.isFinite(v)) (lo = Math.min(lo, v), hi = Math.max(hi, v));
  if (!(hi > lo)) return [lo === Infinity ? 0 : lo - 0.5, lo === Infinity ? 1 : lo + 0.5];
  return [lo, hi];
}

/** Shares per bin (infinite scores land in the end bins). */
function histogram(s: Float32Array, lo: number, hi: number, bins: number): number[] {
  const h = new Array<number>(bins).fill(0);
  for (const v of s) h[Math.min(bins - 1, Math.max(0, Math.floor(((v - lo) / (hi - lo)) * bins)))]! += 1 / s.length;
  return h;
}

/** Two overlaid histograms (ID blue, OOD red) and the threshold t as a dashed line. */
export function oodHistogramSvg(method: string, id: Float32Array, ood: Float32Array, threshold: number): string {
  const bins = 40;
  const [lo, hi] = range(id, ood);
  const hi1 = histogram(id, lo, hi, bins);
  const ho = histogram(ood, lo, hi, bins);
  const top = Math.max(...hi1, ...ho, 1e-9);
  const x = (v: number) => PAD.l + ((v - lo) / (hi - lo)) * pw;
  const bars = (h: number[], color: string) =>
    h.map((v, k) => `<rect x="${n2(PAD.l + (k * pw) / bins)}" y="${n2(PAD.t + ph - (v / top) * ph)}" width="${n2(pw / bins)}" height="${n2((v / top) * ph)}" fill="${color}" fill-opacity="0.55"/>`).join('');
  const tx = Math.min(PAD.l + pw, Math.max(PAD.l, x(threshold)));
  return `<svg viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="img" aria-label="${esc(method)} scores of ID and OOD rows">
<text x="${PAD.l}" y="10" font-size="11">${esc(method)}: share of rows per score bin (higher = more likely OOD)</text>
${bars(hi1, '#2f6fb0')}${bars(ho, '#c8453b')}
<line x1="${n2(tx)}" x2="${n2(tx)}" y1="${PAD.t}" y2="${PAD.t + ph}" stroke="#222" stroke-dasharray="4 3"/>
<text x="${n2(tx > PAD.l + pw / 2 ? tx - 3 : tx + 3)}" y="${PAD.t + 12}" font-size="10"${tx > PAD.l + pw / 2 ? ' text-anchor="end"' : ''}>FPR@95 threshold ${esc(fmt(threshold, 4))}</text>
<line x1="${PAD.l}" x2="${PAD.l + pw}" y1="${PAD.t + ph}" y2="${PAD.t + ph}" stroke="#888"/>
<text x="${PAD.l}" y="${H - 18}" font-size="10">${esc(fmt(lo, 3))}</text><text x="${PAD.l + pw}" y="${H - 18}" font-size="10" text-anchor="end">${esc(fmt(hi, 3))}</text>
<rect x="${PAD.l}" y="${H - 12}" width="10" height="8" fill="#2f6fb0" fill-opacity="0.55"/><text x="${PAD.l + 14}" y="${H - 4}" font-size="10">ID</text>
<rect x="${PAD.l + 40}" y="${H - 12}" width="10" height="8" fill="#c8453b" fill-opacity="0.55"/><text x="${PAD.l + 54}" y="${H - 4}" font-size="10">OOD</text>
</svg>`;
}

/** The risk–coverage curve as a step line (risk of the covered rows vs the share covered). */
export function riskCoverageSvg(coverage: ArrayLike<number>, risk: ArrayLike<number>): string {
  let top = 1e-9; // a loop: spreading a curve of 300k+ points overflowed the call stack
  for (let i = 0; i < risk.length; i++) if (risk[i]! > top) top = risk[i]!;
  const x = (c: number) => PAD.l + c * pw;
  const y = (r: number) => PAD.t + ph - (r / top) * ph;
  let d = '';
  let prev = 0;
  for (let i = 0; i < coverage.length; i++) {
    d += `${i === 0 ? 'M' : 'L'}${n2(x(prev))},${n2(y(risk[i]!))}L${n2(x(coverage[i]!))},${n2(y(risk[i]!))}`;
    prev = coverage[i]!;
  }
  return `<svg viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="img" aria-label="risk-coverage curve">
<text x="${PAD.l}" y="10" font-size="11">risk of the kept rows vs coverage (most confident kept first)</text>
<path d="${d}" fill="none" stroke="#2f6fb0" stroke-width="1.6"/>
<line x1="${PAD.l}" x2="${PAD.l + pw}" y1="${PAD.t + ph}" y2="${PAD.t + ph}" stroke="#888"/><line x1="${PAD.l}" x2="${PAD.l}" y1="${PAD.t}" y2="${PAD.t + ph}" stroke="#888"/>
<text x="${PAD.l}" y="${H - 18}" font-size="10">0</text><text x="${PAD.l + pw}" y="${H - 18}" font-size="10" text-anchor="end">coverage 1</text>
<text x="${PAD.l - 4}" y="${PAD.t + 8}" font-size="10" text-anchor="end">${esc(pct(top, 1))}</text><text x="${PAD.l - 4}" y="${PAD.t + ph}" font-size="10" text-anchor="end">0</text>
</svg>`;
}

/** Rows per set-size bucket, each bar labelled with the coverage of its rows. */
export function setSizeSvg(m: ConformalMetrics): string {
  const b = m.sizeStratified;
  const top = Math.max(1, ...b.map((v) => v.rows));
  const bw = pw / b.length;
  const bars = b
    .map((v, k) => {
      const h = (v.rows / top) * ph;
      const x = PAD.l + k * bw;
      return `<rect x="${n2(x + 4)}" y="${n2(PAD.t + ph - h)}" width="${n2(bw - 8)}" height="${n2(h)}" fill="#2f6fb0"/>` +
        `<text x="${n2(x + bw / 2)}" y="${n2(Math.max(PAD.t + 10, PAD.t + ph - h - 3))}" font-size="10" text-anchor="middle">${v.rows ? esc(pct(v.coverage, 1)) : ''}</text>` +
        `<text x="${n2(x + bw / 2)}" y="${H - 20}" font-size="10" text-anchor="middle">${esc(v.sizes)}</text>`;
    })
    .join('');
  return `<svg viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="img" aria-label="prediction set sizes">
<text x="${PAD.l}" y="10" font-size="11">rows per set size (label: coverage of those rows)</text>
${bars}<line x1="${PAD.l}" x2="${PAD.l + pw}" y1="${PAD.t + ph}" y2="${PAD.t + ph}" stroke="#888"/>
<text x="${PAD.l + pw / 2}" y="${H - 4}" font-size="10" text-anchor="middle">set size</text>
</svg>`;
}

/** The score report's selective-prediction section (risk–coverage, AURC and friends). */
export function selectiveHtml(s: SelectiveSummary): string {
  const levels = Object.entries(s.riskAtCoverage).map(([k, v]) => `risk at ${pct(Number(k), 0)} coverage ${pct(v)}`).join(', ');
  return `<h2>Selective prediction</h2>
<p class="note">Abstain on the least confident rows (confidence = max p): AURC ${fmt(s.aurc)}, E-AURC ${fmt(s.eaurc)}, AUGRC ${fmt(s.augrc)}; ${esc(levels)}.${s.errorBound !== undefined ? ` ${esc(binnedNote(s))}` : ''}</p>
${s.curve ? riskCoverageSvg(s.curve.coverage, s.curve.risk) : ''}
`;
}

/** The score report's conformal section. */
export function conformalHtml(m: ConformalMetrics & { model: string }): string {
  return `<h2>Conformal prediction sets</h2>
<p class="note">Model ${esc(m.model)}: coverage ${pct(m.coverage)}, mean set size ${fmt(m.meanSize, 3)}, empty sets ${pct(m.emptyRate)}, class coverage gap ${pct(m.covGap)}.</p>
${setSizeSvg(m)}
`;
}

export function renderOodHtml(r: OodResult): string {
  const methods = Object.keys(r.methods);
  const rows = methods.map((m) => {
    const v = r.methods[m]!;
    return `<tr><td>${esc(m)}</td><td>${pct(v.auroc)}</td><td>${pct(v.auprIn)}</td><td>${pct(v.auprOut)}</td><td>${pct(v.fpr95)}</td><td>${esc(fmt(v.threshold, 6))}</td></tr>`;
  });
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>logitkit OOD report — ${r.idRows} ID rows, ${r.oodRows} OOD rows</title><style>${CSS}</style></head>
<body>
<h1>logitkit OOD report</h1>
<p class="sub">ID <code>${esc(r.idFile)}</code> (${r.idRows.toLocaleString('en-US')} rows) vs OOD <code>${esc(r.oodFile)}</code> (${r.oodRows.toLocaleString('en-US')} rows), ${r.classes} classes${r.temperature !== 1 ? `, T = ${esc(fmt(r.temperature))}` : ''}.</p>
<p class="note">Scores: higher = more likely out of distribution. FPR@95: the share of OOD rows at or below the threshold that keeps 95% of the ID rows (lower is better).</p>
<table><thead><tr><th>method</th><th>AUROC</th><th>AUPR-In</th><th>AUPR-Out</th><th>FPR@95</th><th>threshold</th></tr></thead><tbody>
${rows.join('\n')}
</tbody></table>
<div class="row">${methods.map((m) => oodHistogramSvg(m, r.scores[m]!.id, r.scores[m]!.ood, r.methods[m]!.threshold)).join('\n')}</div>
<p class="note">Generated by logitkit.</p>
</body></html>
`;
}

export function renderOodMarkdown(r: OodResult): string {
  const lines = [
    '# logitkit OOD report',
    '',
    `ID \`${r.idFile}\` (${r.idRows} rows) vs OOD \`${r.oodFile}\` (${r.oodRows} rows), ${r.classes} classes${r.temperature !== 1 ? `, T = ${fmt(r.temperature)}` : ''}. Higher score = more likely OOD.`,
    '',
    '| method | AUROC | AUPR-In | AUPR-Out | FPR@95 | threshold |',
    '|---|---|---|---|---|---|',
    ...Object.entries(r.methods).map(([m, v]) => `| ${m} | ${pct(v.auroc)} | ${pct(v.auprIn)} | ${pct(v.auprOut)} | ${pct(v.fpr95)} | ${fmt(v.threshold, 6)} |`),
    '',
  ];
  return lines.join('\n');
}

/** Where binned selective figures come from, and how close they are (report and Markdown). */
export function binnedNote(s: SelectiveSummary): string {
  const from = s.binned === 'fine' ? `fine bins (more than ${SELECTIVE_EXACT_ROWS.toLocaleString('en-US')} rows)` : 'binned statistics (merge)';
  return `From ${from}: each figure within ±${fmt(s.errorBound!)} of the exact one.`;
}
