/**
 * `logitkit bench [--quick] [--json]`: how fast logitkit is on this machine, in under 30 seconds.
 *
 * Times logitkit's wasm backend (plain arrays, which the engine copies in and out, and zero-copy
 * buffers from `lk.alloc`), its pure-JS backend, and a naive three-pass `Math.exp` implementation
 * written inline here, for softmax, logSoftmax, logsumexp and crossEntropy (reduction 'none') on
 * the row lengths of the full comparison (bench/ in the repository, which adds tfjs and
 * onnxruntime and uses 4× the rows), plus the per-call cost of a 1×32 softmax. Each output is checked once against the naive one
 * (float64 arithmetic) before it is timed. Medians and p25–p75 come from tinybench samples.
 *
 * Only the public API is used, so this measures exactly what a user's code gets.
 * Human tables go to stderr; `--json` prints one JSON object on stdout.
 */
import os from 'node:os';
import { Bench } from 'tinybench';
import { init, type Engine, type LkBuffer } from '../index.js';

type Op = 'softmax' | 'logSoftmax' | 'logsumexp' | 'crossEntropy';

interface Workload {
  id: string;
  rows: number;
  classes: number;
  x: Float32Array;
  target: Int32Array;
}

interface Row {
  op: Op;
  workload: string;
  rows: number;
  classes: number;
  impl: string;
  copies: string;
  medianMs?: number;
  p25Ms?: number;
  p75Ms?: number;
  melemPerSec?: number;
  vsNaive?: number;
  maxError?: number;
  verified?: boolean;
  error?: string;
}

const WORKLOADS = [
  { rows: 4096, classes: 1000 },
  { rows: 32, classes: 128256 },
  { rows: 1_000_000, classes: 10 },
  { rows: 256, classes: 32 },
];
const ALL_OPS: Op[] = ['softmax', 'logSoftmax', 'logsumexp', 'crossEntropy'];

// The row lengths of the full comparison with fewer rows (same kernels, same per-row work), so a
// run fits in 30 s even where the JS backend is slow. Full: ≥ 3 samples and ≥ 100 ms per
// implementation. Quick: softmax and logsumexp, one warm-up and three timed calls.
const SETTINGS = {
  full: { ops: ALL_OPS, rowsDivisor: 4, time: 100, iterations: 3, warmupIterations: 1, perCallBatch: 400 },
  quick: { ops: ['softmax', 'logsumexp'] as Op[], rowsDivisor: 8, time: 0, iterations: 3, warmupIterations: 1, perCallBatch: 200 },
};

const USAGE = 'usage: logitkit bench [--quick] [--json]\n';

/** Runs the benchmark; resolves to the process exit code (0 ok, 1 failure, 2 usage error). */
export async function runBench(argv: string[]): Promise<number> {
  let quick = false;
  let json = false;
  for (const a of argv) {
    if (a === '--quick') quick = true;
    else if (a === '--json') json = true;
    else if (a === '--help' || a === '-h') {
      process.stderr.write(USAGE);
      return 0;
    } else {
      process.stderr.write(`logitkit bench: unknown option ${a}\n${USAGE}`);
      return 2;
    }
  }
  const settings = quick ? SETTINGS.quick : SETTINGS.full;
  const say = (line: string) => process.stderr.write(line + '\n');
  const started = performance.now();

  let wasm: Engine;
  let js: Engine;
  try {
    wasm = await init({ backend: 'wasm' });
    js = await init({ backend: 'js' });
  } catch (err) {
    process.stderr.write(`logitkit bench: could not initialise logitkit: ${(err as Error).message}\n`);
    return 1;
  }
  const machine = {
    cpu: os.cpus()[0]?.model?.trim() ?? 'unknown',
    cores: typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length,
    node: process.version,
    platform: `${os.platform()} ${os.arch()}`,
  };
  // Which wasm build init() chose (plain or relaxed SIMD), where this version reports it.
  const features = (wasm as unknown as { features?: { relaxedSimd?: boolean; threads?: number } }).features;
  const build = features ? (features.relaxedSimd ? 'relaxed SIMD' : 'SIMD') : 'SIMD (build not reported)';
  say(`logitkit bench${quick ? ' --quick' : ''}: ${machine.cpu}, ${machine.cores} cores, Node ${machine.node}; wasm build: ${build}`);
  // Wall-clock timings charge other processes' work to whatever was running: say so when it shows.
  const load = os.loadavg()[0];
  if (load > machine.cores / 2) say(`note: the machine is busy (1-minute load average ${load.toFixed(1)} on ${machine.cores} cores); expect noisy numbers.`);

  const results: Row[] = [];
  try {
    for (const spec of WORKLOADS) {
      // Small workloads keep their size; the big ones (≥ 1M values) lose rows, never row length.
      const rows = spec.rows * spec.classes >= 1e6 ? Math.max(1, Math.round(spec.rows / settings.rowsDivisor)) : spec.rows;
      const w = makeWorkload(`${rows}x${spec.classes}`, rows, spec.classes);
      for (const op of settings.ops) results.push(...(await timeGroup(op, w, wasm, js, settings)));
    }
    const perCall = await timeGroup('softmax', makeWorkload('1x32', 1, 32), wasm, js, settings, settings.perCallBatch);
    results.push(...perCall);
  } catch (err) {
    process.stderr.write(`logitkit bench: ${(err as Error).stack ?? err}\n`);
    return 1;
  } finally {
    wasm.dispose?.();
    js.dispose?.();
  }

  const durationSec = Math.round((performance.now() - started) / 100) / 10;
  say(formatTable(results));
  say(`done in ${durationSec} s. Melem/s = rows × classes / median time (p25–p75 in the JSON); ratios are vs naive JS.`);
  if (json) {
    const out = {
      command: `logitkit bench${argv.length ? ' ' + argv.join(' ') : ''}`,
      date: new Date().toISOString(),
      durationSec,
      machine: { ...machine, loadAverage: load },
      wasmBuild: build,
      results,
    };
    process.stdout.write(JSON.stringify(out) + '\n');
  }
  return results.some((r) => r.error || r.verified === false) ? 1 : 0;
}

interface Prepared {
  impl: string;
  copies: string;
  run: () => ArrayLike<number>;
  dispose?: () => void;
}

/** The four implementations for one op and workload (null where the engine lacks the op). */
function prepare(op: Op, w: Workload, wasm: Engine, js: Engine): Prepared[] {
  const outLen = op === 'softmax' || op === 'logSoftmax' ? w.x.length : w.rows;
  const naiveOut = new Float32Array(outLen);
  const list: Prepared[] = [{ impl: 'naive JS', copies: 'none', run: () => naive(op, w, naiveOut) }];
  const plain = (lk: Engine, impl: string, copies: string): Prepared => {
    const out = new Float32Array(outLen);
    return { impl, copies, run: () => callOp(lk, op, w.x, w, out) };
  };
  list.push(plain(js, 'logitkit js', 'none'));
  list.push(plain(wasm, 'logitkit wasm', 'in+out'));
  // Zero-copy: x and out live in wasm memory; read `.array` again after each call (memory may grow).
  const xb = wasm.alloc(w.x.length);
  xb.array.set(w.x);
  const ob = op === 'crossEntropy' ? null : wasm.alloc(outLen);
  list.push({
    impl: 'logitkit wasm buffers',
    copies: op === 'crossEntropy' ? 'targets in, losses out' : 'none',
    run: () => {
      const r = callOp(wasm, op, xb, w, ob ?? undefined);
      return ob ? ob.array : r;
    },
    dispose: () => {
      xb.free();
      ob?.free();
    },
  });
  return list;
}

type Buf = LkBuffer<'float32'>;

function callOp(lk: Engine, op: Op, x: Float32Array | Buf, w: Workload, out: Float32Array | Buf | undefined): ArrayLike<number> {
  switch (op) {
    case 'softmax':
      return lk.softmax(x, w.classes, { out });
    case 'logSoftmax':
      return lk.logSoftmax(x, w.classes, { out });
    case 'logsumexp':
      return lk.logsumexp(x, w.classes, { out });
    case 'crossEntropy':
      return lk.crossEntropy(x, w.classes, w.target, { reduction: 'none' });
  }
}

async function timeGroup(
  op: Op,
  w: Workload,
  wasm: Engine,
  js: Engine,
  settings: (typeof SETTINGS)['full'],
  batch = 1,
): Promise<Row[]> {
  const prepared = prepare(op, w, wasm, js);
  const reference = Float64Array.from(prepared[0].run());
  const bench = new Bench({
    time: batch > 1 ? settings.time / 2 : settings.time,
    // Per-call batches are cheap: sample and warm them well, since the first few thousand calls of
    // a tiny op run in V8's baseline tier and would otherwise dominate the median.
    iterations: batch > 1 ? Math.max(30, settings.iterations) : settings.iterations,
    warmupTime: 0,
    warmupIterations: batch > 1 ? Math.max(20, settings.warmupIterations) : settings.warmupIterations,
    throws: false,
  });
  const rows: Row[] = [];
  for (const p of prepared) {
    const row: Row = { op, workload: w.id, rows: w.rows, classes: w.classes, impl: p.impl, copies: p.copies };
    rows.push(row);
    try {
      row.maxError = maxError(p.run(), reference);
      // Loose on purpose: this flags a broken build, the test suite holds the exact tolerances.
      row.verified = row.maxError <= 1e-4;
    } catch (err) {
      row.error = (err as Error).message;
      continue;
    }
    const run = p.run;
    bench.add(p.impl, batch > 1 ? () => { for (let i = 0; i < batch; i++) run(); } : run);
  }
  await bench.run();
  const elems = w.rows * w.classes;
  for (const task of bench.tasks) {
    const row = rows.find((r) => r.impl === task.name)!;
    const result = task.result;
    if (!result || result.error) {
      row.error = result?.error?.message ?? 'no timing result';
      continue;
    }
    const s = Float64Array.from(result.latency.samples, (ms) => ms / batch).sort();
    row.medianMs = quantile(s, 0.5);
    row.p25Ms = quantile(s, 0.25);
    row.p75Ms = quantile(s, 0.75);
    row.melemPerSec = elems / (row.medianMs * 1e3);
  }
  const base = rows[0].medianMs;
  for (const r of rows) if (base && r.medianMs) r.vsNaive = base / r.medianMs;
  for (const p of prepared) p.dispose?.();
  return rows;
}

function naive(op: Op, w: Workload, out: Float32Array): Float32Array {
  const { x, classes, rows, target } = w;
  for (let r = 0; r < rows; r++) {
    const base = r * classes;
    let max = -Infinity;
    for (let j = 0; j < classes; j++) if (x[base + j] > max) max = x[base + j];
    let sum = 0;
    if (op === 'softmax') {
      for (let j = 0; j < classes; j++) sum += out[base + j] = Math.exp(x[base + j] - max);
      const inv = 1 / sum;
      for (let j = 0; j < classes; j++) out[base + j] *= inv;
      continue;
    }
    for (let j = 0; j < classes; j++) sum += Math.exp(x[base + j] - max);
    const logSum = Math.log(sum);
    if (op === 'logSoftmax') for (let j = 0; j < classes; j++) out[base + j] = x[base + j] - max - logSum;
    else if (op === 'logsumexp') out[r] = max + logSum;
    else out[r] = max + logSum - x[base + target[r]];
  }
  return out;
}

/** Largest |got − want| / max(1, |want|); NaN where a number was expected counts as infinite. */
function maxError(got: ArrayLike<number>, want: Float64Array): number {
  if (got.length !== want.length) return Infinity;
  let worst = 0;
  for (let i = 0; i < want.length; i++) {
    const e = Math.abs(got[i] - want[i]) / Math.max(1, Math.abs(want[i]));
    if (!(e <= worst)) worst = Number.isNaN(e) ? Infinity : e;
  }
  return worst;
}

function quantile(sorted: Float64Array, q: number): number {
  const at = (sorted.length - 1) * q;
  const lo = Math.floor(at);
  const hi = Math.ceil(at);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (at - lo);
}

/** Seeded N(0, 3²) logits and uniform targets, so every run times the same numbers. */
function makeWorkload(id: string, rows: number, classes: number): Workload {
  let state = 0x9e3779b9;
  const uniform = () => {
    // xorshift32: plenty for benchmark data.
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) / 4294967296;
  };
  const x = new Float32Array(rows * classes);
  for (let i = 0; i < x.length; i += 2) {
    const r = Math.sqrt(-2 * Math.log(1 - uniform())) * 3;
    const phi = 2 * Math.PI * uniform();
    x[i] = r * Math.cos(phi);
    if (i + 1 < x.length) x[i + 1] = r * Math.sin(phi);
  }
  const target = new Int32Array(rows);
  for (let r = 0; r < rows; r++) target[r] = Math.floor(uniform() * classes);
  return { id, rows, classes, x, target };
}

function fmt(v: number | undefined): string {
  if (v === undefined || !Number.isFinite(v)) return '—';
  return v >= 100 ? v.toFixed(0) : v.toPrecision(3);
}

/** One line per op × workload: Melem/s of each implementation, then wasm's speed-up over naive. */
function formatTable(rows: Row[]): string {
  const impls = ['naive JS', 'logitkit js', 'logitkit wasm', 'logitkit wasm buffers'];
  const head = ['op', 'workload', ...impls.map((i) => `${i} Melem/s`), 'wasm ×naive', 'buffers ×naive'];
  const lines: string[][] = [head];
  const groups = new Map<string, Row[]>();
  for (const r of rows) {
    const key = `${r.op} ${r.workload}`;
    if (!groups.has(key)) groups.set(key, []);
    groups.get(key)!.push(r);
  }
  for (const [, g] of groups) {
    const by = (impl: string) => g.find((r) => r.impl === impl);
    const cell = (impl: string) => {
      const r = by(impl);
      if (!r) return '—';
      if (r.error) return 'error';
      const value = g[0].workload === '1x32' ? `${fmt((r.medianMs ?? NaN) * 1e6)} ns/call` : fmt(r.melemPerSec);
      return r.verified === false ? `${value} ✗` : value;
    };
    lines.push([
      g[0].op,
      g[0].workload.replace('x', '×'),
      ...impls.map(cell),
      `×${fmt(by('logitkit wasm')?.vsNaive)}`,
      `×${fmt(by('logitkit wasm buffers')?.vsNaive)}`,
    ]);
  }
  const widths = head.map((_, c) => Math.max(...lines.map((l) => l[c].length)));
  const text = lines.map((l) => l.map((v, c) => (c < 2 ? v.padEnd(widths[c]) : v.padStart(widths[c]))).join('  '));
  const failed = rows.filter((r) => r.error || r.verified === false);
  const notes = failed.map((r) => `  ${r.op} ${r.workload} ${r.impl}: ${r.error ?? `max error ${r.maxError} vs naive JS`}`);
  return [text[0], '-'.repeat(text[0].length), ...text.slice(1), ...(notes.length ? ['problems:', ...notes] : [])].join('\n');
}
