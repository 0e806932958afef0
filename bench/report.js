#!/usr/bin/env node
// Turns bench results (the JSON run.js writes) into bench/RESULTS.md and bench/chart.svg.
// Everything in both files is derived from the JSON, so the report can be regenerated without
// re-running the benchmark:   node bench/report.js [bench/out/results.json] [--to bench/out/]
//
// If bench/limits.md exists, its text is included verbatim under "What limits the misses": the
// place for the kernel authors to explain a missed target, which no generator can know.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { BEGIN, END, cpuCaption, cpuLabel, spliceSection } from './matrix.js';

const OP_TITLE = { softmax: 'softmax', logSoftmax: 'logSoftmax', logsumexp: 'logsumexp', crossEntropy: "crossEntropy (reduction 'none')", crossEntropyGrad: "crossEntropyWithGrad (reduction 'mean': the gradient)" };

/**
 * The performance targets of issue 5 (single thread unless stated) and issue 2's first
 * benchmark. `ratio` is (other's median time) / (own median time), so > 1 means faster; the
 * per-call target is a bound on the time ratio instead (`maxTimeRatio`).
 */
const wl = (id) => id.replace('x', '×').replace('1000000', '1,000,000').replace('128256', '128,256');

export const TARGETS = [
  // Against tfjs the strictest reading: the faster of its resident variants (with and without the
  // dataSync download), since logitkit's buffers copy nothing either.
  { issue: 5, op: 'softmax', workload: '4096x1000', impl: 'lk-wasm-buffers', vs: ['tfjs-wasm-kernel', 'tfjs-wasm'], min: 1.2 },
  { issue: 5, op: 'softmax', workload: '32x128256', impl: 'lk-wasm-buffers', vs: ['tfjs-wasm-kernel', 'tfjs-wasm'], min: 1.2 },
  { issue: 5, op: 'softmax', workload: '1000000x10', impl: 'lk-wasm-buffers', vs: ['tfjs-wasm-kernel', 'tfjs-wasm'], min: 2.5 },
  { issue: 5, op: 'logSoftmax', workload: '4096x1000', impl: 'lk-wasm-buffers', vs: 'ort-node', min: 1.0 },
  { issue: 5, op: 'logSoftmax', workload: '32x128256', impl: 'lk-wasm-buffers', vs: 'ort-node', min: 1.0 },
  { issue: 5, op: 'crossEntropy', workload: '4096x1000', impl: 'lk-wasm-buffers', vs: 'ort-node', min: 1.0 },
  { issue: 5, op: 'crossEntropy', workload: '32x128256', impl: 'lk-wasm-buffers', vs: 'ort-node', min: 1.0 },
  { issue: 5, op: 'logsumexp', workload: '4096x1000', impl: 'lk-wasm-buffers', vs: 'ort-node', min: 3.0 },
  { issue: 5, op: 'logsumexp', workload: '32x128256', impl: 'lk-wasm-buffers', vs: 'ort-node', min: 3.0 },
  { issue: 5, op: 'logsumexp', workload: '1000000x10', impl: 'lk-wasm-buffers', vs: 'ort-node', min: 3.0 },
  { issue: 5, op: 'logsumexp', workload: '256x32', impl: 'lk-wasm-buffers', vs: 'ort-node', min: 3.0 },
  { issue: 5, op: 'softmax', workload: '1x32', impl: 'lk-wasm', vs: 'naive-js', maxTimeRatio: 2.5, perCall: true },
  { issue: 5, op: 'softmax', workload: '4096x1000', impl: 'lk-wasm-threads', vs: 'lk-wasm-buffers', min: 1.7 },
  { issue: 5, op: 'softmax', workload: '4096x1000', impl: 'lk-wasm-relaxed', vs: 'lk-wasm-buffers', min: 1.2 },
  // Issue 3: the losses against logitkit's own softmax on the same data (same implementation, other op).
  ...['4096x1000', '32x128256'].flatMap((workload) => [
    ...['crossEntropy', 'logSoftmax', 'logsumexp'].map((op) => ({
      issue: 3, op, workload, impl: 'lk-wasm-buffers', vs: 'lk-wasm-buffers', vsOp: 'softmax', min: 1.0,
      label: `${op} ${wl(workload)}: at least as fast as logitkit's softmax (lk-wasm-buffers)`,
    })),
    {
      issue: 3, op: 'crossEntropyGrad', workload, impl: 'lk-wasm-buffers', vs: 'lk-wasm-buffers', vsOp: 'softmax', min: 1 / 1.5,
      label: `crossEntropyWithGrad (mean) ${wl(workload)}: ≤ 1.5× the time of logitkit's softmax (speed ratio ≥ 0.667)`,
    },
  ]),
  { issue: 2, op: 'softmax', workload: '4096x1000', impl: 'lk-wasm', vs: 'naive-js', min: 8 },
  { issue: 2, op: 'logsumexp', workload: '32x128256', impl: 'lk-wasm', vs: 'naive-js', min: 6 },
];

const num = (v, digits = 3) => {
  if (v === undefined || v === null || !Number.isFinite(v)) return '—';
  if (Math.abs(v) >= 100) return v.toFixed(0);
  return v.toPrecision(digits);
};
const esc = (s) => String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

function find(data, t) {
  const list = t.perCall ? data.perCall : data.results;
  const pick = (impl, op = t.op) => list.find((r) => r.op === op && r.workload === t.workload && r.impl === impl && r.medianMs > 0);
  // Several candidates: compare with the fastest of them.
  // `vsOp`: compare with another op of the same implementation (issue 3: losses vs logitkit's softmax).
  const others = [t.vs].flat().map((impl) => pick(impl, t.vsOp ?? t.op)).filter(Boolean);
  const other = others.reduce((b, r) => (!b || r.medianMs < b.medianMs ? r : b), undefined);
  return { own: pick(t.impl), other };
}

/** Each target with its measured ratio and status ('met', 'missed' or 'not measured'). */
export function evaluateTargets(data) {
  return TARGETS.map((t) => {
    const { own, other } = find(data, t);
    if (!own || !other) {
      const missing = [t.impl, ...[t.vs].flat()].filter((id) => !data.implementations.some((a) => a.id === id));
      const why = missing.length ? `${missing.join(', ')} not available in this run` : 'no timing (error or op missing)';
      return { ...t, status: 'not measured', why };
    }
    if (t.perCall) {
      const timeRatio = own.medianMs / other.medianMs;
      return { ...t, against: other.impl, timeRatio, status: timeRatio <= t.maxTimeRatio ? 'met' : 'missed', short: timeRatio / t.maxTimeRatio };
    }
    // A ratio of a wall-clock time to a CPU time means nothing (CPU time is never used for a
    // threaded row): say so rather than report it.
    if ((own.clock ?? 'wall') !== (other.clock ?? 'wall'))
      return { ...t, status: 'not measured', why: `${own.impl} timed by ${own.clock ?? 'wall'} clock, ${other.impl} by ${other.clock ?? 'wall'} clock; run with --clock wall on an idle machine` };
    const ratio = other.medianMs / own.medianMs;
    return { ...t, against: other.impl, ratio, status: ratio >= t.min ? 'met' : 'missed', short: t.min / ratio };
  });
}

function targetsTable(data) {
  const rows = evaluateTargets(data);
  const lines = [
    cpuCaption([data.machine]),
    '',
    '| issue | target | measured | status |',
    '|---|---|---|---|',
  ];
  for (const t of rows) {
    const what = t.label ?? (t.perCall
      ? `${t.op} ${wl(t.workload)} call, ${t.impl}: time ≤ ${t.maxTimeRatio}× ${t.vs}`
      : `${t.op} ${wl(t.workload)}: ${t.impl} ≥ ${t.min}× ${[t.vs].flat().join(' / ')}`);
    const vsWhich = Array.isArray(t.vs) && t.against ? ` (vs ${t.against})` : '';
    const measured =
      t.status === 'not measured' ? '—' : t.perCall ? `${num(t.timeRatio)}× the time` : `${num(t.ratio)}×${vsWhich}`;
    const status =
      t.status === 'met'
        ? 'met'
        : t.status === 'missed'
          ? `**missed** by ${((t.short - 1) * 100).toFixed(1)}% (needs ${t.short.toFixed(3)}× ${t.perCall ? 'less time' : 'more speed'})`
          : `not measured: ${t.why}`;
    lines.push(`| ${t.issue} | ${what} | ${measured} | ${status} |`);
  }
  return lines.join('\n');
}

function groupTable(data, op) {
  const lines = [
    cpuCaption([data.machine]),
    '',
    '| workload | implementation | copies in timed call | median ms | Melem/s (p25–p75) | IQR | × naive JS | × best peer | err / §11 bound |',
    '|---|---|---|---:|---|---:|---:|---:|---:|',
  ];
  for (const r of data.results.filter((x) => x.op === op)) {
    if (r.error) {
      lines.push(`| ${wl(r.workload)} | ${r.impl} | ${r.copies} | error: ${esc(r.error)} | | | | | |`);
      continue;
    }
    const ok = r.verified ? '' : ' ✗';
    lines.push(
      `| ${wl(r.workload)} | ${r.impl} | ${r.copies} | ${num(r.medianMs)} | **${num(r.melemPerSec)}** (${num(r.melemP25)}–${num(r.melemP75)}) | ` +
        `${num(r.iqrPct, 2)}% | ${num(r.vsNaive)} | ${num(r.vsBestPeer)}${r.bestPeer ? ` (${r.bestPeer})` : ''} | ${num(r.worstVsBound, 2)}${ok} |`,
    );
  }
  return lines.join('\n');
}

function perCallTable(data) {
  const lines = [
    cpuCaption([data.machine]),
    '',
    '| implementation | copies | ns per call (p25–p75) | × naive JS time |',
    '|---|---|---|---:|',
  ];
  for (const r of data.perCall) {
    if (r.error) lines.push(`| ${r.impl} | ${r.copies} | error: ${esc(r.error)} | |`);
    else lines.push(`| ${r.impl} | ${r.copies} | **${num(r.medianMs * 1e6)}** (${num(r.p25Ms * 1e6)}–${num(r.p75Ms * 1e6)}) | ${num(1 / r.vsNaive)} |`);
  }
  return lines.join('\n');
}

function busyWarning(data) {
  const l = data.loadAverage;
  if (!l || Math.max(l.start, l.end) <= data.machine.cores * 0.5) return '';
  const effect =
    data.clock?.kind === 'cpu'
      ? 'samples are CPU time, which other processes do not inflate, but they still compete for caches\n> and memory bandwidth, so expect some noise; compare the spreads before trusting a small difference.'
      : 'other processes competed for the CPU, so absolute numbers are low and spreads are wide.\n> Ratios from the same run are less affected but still noisy. Re-run on an idle machine.';
  return `
> **The machine was busy during this run** (1-minute load average ${num(l.start)} → ${num(l.end)} on
> ${data.machine.cores} cores): ${effect}
`;
}

export function renderMarkdown(data, limitsText) {
  const m = data.machine;
  const v = data.versions;
  const s = data.settings;
  const impls = data.implementations
    .map((a) => `| \`${a.id}\` | ${a.label} | ${a.version ?? ''} | ${a.copies} |${a.clock && a.clock !== data.clock?.kind ? ` timed by ${a.clock} clock` : ''}`)
    .join('\n');
  const unavailable = data.unavailable.length
    ? data.unavailable.map((u) => `- \`${u.id}\`: unavailable (${esc(u.reason)})`).join('\n')
    : '- none: every peer loaded.';
  const ops = [...new Set(data.results.map((r) => r.op))];
  return `# logitkit benchmark results

Generated by \`bench/report.js\` from \`bench/out/results.json\`; do not edit by hand.
Command: \`${data.command}\` (after \`npm run build\`), finished ${data.date.slice(0, 16).replace('T', ' ')} UTC, took ${data.durationSec} s${data.partial ? ' — **partial run** (quick or filtered)' : ''}.

Workloads are row-major float32 logits drawn from N(0, 3²), targets uniform int32. Throughput is
rows × classes elements over the **median** time of one call; spread is the p25–p75 range of the
same samples, and IQR is (p75 − p25) / median of the times. Each implementation is timed in
${s.rounds ?? 1} round(s) taking turns with the others, samples pooled. Ratios are speed ratios from this one
run: "× naive JS" and "× best peer" are (their median time) / (this median time), so above 1 is
faster. The best peer is the fastest of tfjs-backend-wasm and onnxruntime (node, web) whose output
was not wrong (error below ${data.wrongFactor}× the bound below). Every implementation is checked once against
the naive JS output (float64 arithmetic) before it is timed, with the tolerances of docs/spec.md §11:
"err / §11 bound" is the worst element's error as a fraction of its bound (✗ = above 1: less
accurate than logitkit's own spec allows, typically a plain float32 running sum over a long row).
tinybench settings: ≥ ${s.iterations} samples and ≥ ${s.time} ms per implementation, ${s.warmupIterations} warm-up calls;
calls under 1 ms are timed in batches. Clock: **${data.clock?.kind ?? 'wall'} time**${data.clock ? ` (${data.clock.why})` : ''}${
    data.clock?.kind === 'cpu'
      ? '. CPU time is the CPU this process used (all its threads), so it stays fair when other processes compete; it counts JIT and GC helper threads too, and it is never used for a threaded row. It leaves out time a call spends waiting rather than computing, so the asynchronous onnxruntime calls look cheaper per call than their wall-clock latency.'
      : '.'
  }

## Machine
${busyWarning(data)}
| | |
|---|---|
| CPU | ${cpuLabel(m)}${m.cpuFeatures?.length ? ` (flags: ${m.cpuFeatures.join(', ')})` : ''} |
| cores | ${m.cores} |
| memory | ${m.memoryGiB} GiB |
| OS | ${m.platform} ${m.arch} |
| Node | ${m.node} (V8 ${m.v8})${m.nodeFlags?.length ? `, flags: \`${m.nodeFlags.join(' ')}\`` : ''} |
| load average (1 min) | ${data.loadAverage ? `${num(data.loadAverage.start)} at start, ${num(data.loadAverage.end)} at end` : 'not recorded'} |
| versions | ${Object.entries(v).map(([k, x]) => `${k} ${x ?? 'missing'}`).join(', ')} |

## Implementations

| id | what | version | copies in the timed call |
|---|---|---|---|
${impls}

"copies": \`none\` = the call reads and writes arrays where the kernel runs; \`out\` = the input is
already resident (tfjs tensor) and the result is downloaded; \`in+out\` = input copied in and result
copied out inside the timed call.

${unavailable}

## Targets

${targetsTable(data)}

## What limits the misses

${limitsText ? limitsText.trim() : '_No notes yet: add them to `bench/limits.md`; they are included here verbatim._'}

## Chart

![Throughput per implementation, one panel per op and workload](chart.svg)

${ops.map((op) => `## ${OP_TITLE[op] ?? op}\n\n${groupTable(data, op)}`).join('\n\n')}
${data.perCall.length ? `\n## Per-call cost: softmax of one 32-wide row\n\n${perCallTable(data)}\n` : ''}`;
}

const COLORS = {
  'naive-js': '#9e9e9e',
  'lk-wasm': '#1f77b4',
  'lk-wasm-buffers': '#0b3d91',
  'lk-wasm-threads': '#6a3d9a',
  'lk-js': '#8fb8de',
  'lk-wasm-relaxed': '#17becf',
  'lk-wasm-relaxed-plain': '#9edae5',
  'tfjs-wasm': '#ff7f0e',
  'tfjs-wasm-upload': '#ffbb78',
  'tfjs-wasm-kernel': '#d95f02',
  'ort-node': '#2ca02c',
  'ort-web': '#98df8a',
};
const colorOf = (id, i) => COLORS[id] ?? ['#d62728', '#e377c2', '#bcbd22', '#17becf'][i % 4];

/** A grid of bar charts (one panel per op × workload, bars scaled to the panel's fastest). */
export function renderSvg(data) {
  const impls = data.implementations.map((a) => a.id);
  const ops = [...new Set(data.results.map((r) => r.op))];
  const workloads = [...new Set(data.results.map((r) => r.workload))];
  const barH = 14;
  const gap = 3;
  const panelW = 330;
  const labelW = 104;
  const panelH = 34 + impls.length * (barH + gap);
  const margin = 16;
  const legendH = 24 + Math.ceil(impls.length / 4) * 18;
  const panels = [];
  for (const op of ops) for (const w of workloads) panels.push({ title: `${op} ${wl(w)}`, unit: 'Melem/s', rows: data.results.filter((r) => r.op === op && r.workload === w), value: (r) => r.melemPerSec });
  if (data.perCall.length)
    panels.push({ title: 'softmax 1×32, calls/µs (per-call cost)', unit: 'calls/µs', rows: data.perCall, value: (r) => 1e-3 / r.medianMs });
  const cols = Math.max(1, workloads.length);
  const gridRows = Math.ceil(panels.length / cols);
  const width = margin * 2 + cols * (panelW + margin);
  const height = margin + legendH + gridRows * (panelH + margin);
  const out = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="system-ui, sans-serif" font-size="11">`);
  out.push(`<rect width="100%" height="100%" fill="#fff"/>`);
  out.push(`<text x="${margin}" y="${margin + 4}" font-size="14" font-weight="bold">logitkit bench — median throughput (${esc(data.clock?.kind ?? 'wall')} clock), higher is better (${esc(data.machine.cpu)}, Node ${esc(data.machine.node)}, ${data.date.slice(0, 10)})</text>`);
  impls.forEach((id, i) => {
    const x = margin + (i % 4) * 330;
    const y = margin + 22 + Math.floor(i / 4) * 18;
    out.push(`<rect x="${x}" y="${y - 9}" width="12" height="12" fill="${colorOf(id, i)}"/><text x="${x + 16}" y="${y + 1}">${esc(id)}</text>`);
  });
  panels.forEach((p, k) => {
    const px = margin + (k % cols) * (panelW + margin);
    const py = margin + legendH + Math.floor(k / cols) * (panelH + margin);
    out.push(`<g transform="translate(${px},${py})">`);
    out.push(`<rect width="${panelW}" height="${panelH}" fill="#fafafa" stroke="#ddd"/>`);
    out.push(`<text x="6" y="15" font-weight="bold">${esc(p.title)}</text>`);
    const values = p.rows.filter((r) => r.medianMs > 0).map(p.value);
    const max = Math.max(...values, 1e-12);
    const valueW = 90;
    impls.forEach((id, i) => {
      const r = p.rows.find((x) => x.impl === id);
      const y = 26 + i * (barH + gap);
      out.push(`<text x="${labelW}" y="${y + barH - 3}" text-anchor="end" fill="#444">${esc(id)}</text>`);
      if (!r || !(r.medianMs > 0)) {
        out.push(`<text x="${6 + labelW}" y="${y + barH - 3}" fill="#999">${r?.error ? 'error' : 'n/a'}</text>`);
        return;
      }
      const v = p.value(r);
      const len = Math.max(1, ((panelW - 12 - valueW - labelW) * v) / max);
      out.push(`<rect x="${6 + labelW}" y="${y}" width="${len.toFixed(1)}" height="${barH}" fill="${colorOf(id, i)}"><title>${esc(`${id}: ${num(v)} ${p.unit}, median ${num(r.medianMs)} ms, copies ${r.copies}`)}</title></rect>`);
      out.push(`<text x="${(10 + labelW + len).toFixed(1)}" y="${y + barH - 3}">${num(v)}${r.verified === false ? ' ✗' : ''}</text>`);
    });
    out.push(`</g>`);
  });
  out.push('</svg>');
  return out.join('\n') + '\n';
}

// Sections other tools measured (bench/sample.js's tables, pasted by hand) are wrapped in
// <!-- kept:NAME:begin … --> … <!-- kept:NAME:end --> so that regenerating the report does not drop
// them: a full run.js report carries them over at the end, unchanged.
const KEPT = /<!-- kept:([\w-]+):begin[^>]*-->[\s\S]*?<!-- kept:\1:end -->/g;

/** The kept sections of a RESULTS.md, in order. */
export function keptSections(text) {
  return text.match(KEPT) ?? [];
}

/** `text` with each kept section that it does not already contain appended at the end. */
export function appendKept(text, sections) {
  const missing = sections.filter((s) => !text.includes(s));
  return missing.length ? text.replace(/\n*$/, '\n\n') + missing.join('\n\n') + '\n' : text;
}

/** Writes RESULTS.md and chart.svg into `dir` (a URL ending in '/'); returns their URLs. */
export function writeReport(data, dir) {
  const limits = new URL('./limits.md', import.meta.url);
  const limitsText = existsSync(limits) ? readFileSync(limits, 'utf8') : '';
  const md = new URL('RESULTS.md', dir);
  const svg = new URL('chart.svg', dir);
  // The every-engine section (bench/engines.js) is not this run's: keep it where it is.
  const previous = existsSync(md) ? readFileSync(md, 'utf8') : '';
  const kept = previous.includes(BEGIN) && previous.includes(END) ? previous.slice(previous.indexOf(BEGIN), previous.indexOf(END) + END.length) : null;
  const text = renderMarkdown(data, limitsText);
  writeFileSync(md, appendKept(kept ? spliceSection(text, kept) : text, keptSections(previous)));
  writeFileSync(svg, renderSvg(data));
  return [md, svg];
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const args = process.argv.slice(2);
  const toAt = args.indexOf('--to');
  const explicitTo = toAt >= 0 ? pathToFileURL(args.splice(toAt, 2)[1].replace(/\/?$/, '/')) : null;
  const input = args[0] ?? fileURLToPath(new URL('./out/results.json', import.meta.url));
  const data = JSON.parse(readFileSync(input, 'utf8'));
  // A partial run (quick or filtered) never replaces the published report unless asked to.
  const to = explicitTo ?? new URL(data.partial ? './out/' : './', import.meta.url);
  const written = writeReport(data, to);
  process.stderr.write(`wrote ${written.map((u) => fileURLToPath(u)).join(', ')}\n`);
}
