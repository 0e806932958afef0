/**
 * The benchmark core: the workloads, their data, the naive baselines and the accuracy check,
 * written once and used by every benchmark — `logitkit bench` (src/cli/bench.ts), the
 * repository's comparison (bench/run.js, bench/browser/, which import dist/bench-core/) and the
 * demo's benchmark (demo/src/bench.ts) — so that all of them time the very same numbers.
 *
 * Nothing here touches Node or the DOM: it runs unchanged in Node, in a browser page and in a
 * Vite bundle. Not part of the public API (no entry in package.json "exports").
 */
import type { Engine, LkBuffer } from '../public.js';
import { describeRuntime } from '../build-choice.js';

export type BenchOp = 'softmax' | 'logSoftmax' | 'logsumexp' | 'crossEntropy' | 'crossEntropyGrad';

export interface WorkloadSpec {
  /** `${rows}x${classes}`, the name every report uses. */
  id: string;
  rows: number;
  classes: number;
  what: string;
}

export interface Workload extends WorkloadSpec {
  /** rows × classes logits, N(0, 3²). */
  x: Float32Array;
  /** One class index per row, uniform. */
  target: Int32Array;
}

/** A classifier batch, an LLM vocabulary, many tiny rows, a small batch. */
export const WORKLOADS: readonly WorkloadSpec[] = [
  { id: '4096x1000', rows: 4096, classes: 1000, what: 'ImageNet-sized batch' },
  { id: '32x128256', rows: 32, classes: 128256, what: 'LLM vocabulary (Llama 3)' },
  { id: '1000000x10', rows: 1_000_000, classes: 10, what: 'many short rows' },
  { id: '256x32', rows: 256, classes: 32, what: 'small batch' },
];

/** The per-call cost suite: one 32-wide row, many calls. */
export const PER_CALL: WorkloadSpec = { id: '1x32', rows: 1, classes: 32, what: 'one short row (per-call overhead)' };

/** Every op a benchmark may time; the first four are the ones every engine and peer is compared on. */
export const OPS: readonly BenchOp[] = ['softmax', 'logSoftmax', 'logsumexp', 'crossEntropy', 'crossEntropyGrad'];
export const CORE_OPS: readonly BenchOp[] = ['softmax', 'logSoftmax', 'logsumexp', 'crossEntropy'];

/** Workloads at least this big lose rows (never row length) in quick runs, so the same kernels run. */
const SCALE_FROM = 1e6;

/** The same row length with rows / divisor rows (quick runs); small workloads stay as they are. */
export function scaleWorkload(spec: WorkloadSpec, divisor = 1): WorkloadSpec {
  if (divisor === 1 || spec.rows * spec.classes < SCALE_FROM) return spec;
  const rows = Math.max(1, Math.round(spec.rows / divisor));
  return { ...spec, id: `${rows}x${spec.classes}`, rows };
}

/** mulberry32: a tiny seeded generator, so every run on every engine times the same numbers. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Logits from N(0, 3²) (the spread of a trained classifier's logits) and uniform targets. */
export function makeWorkload(spec: WorkloadSpec, seed = 42): Workload {
  const { id, rows, classes, what } = spec;
  const next = rng(seed);
  const x = new Float32Array(rows * classes);
  // Box–Muller, two normals per pair of uniforms. Math.log/cos/sin may differ in the last bit
  // between engines; workloadChecksum() is what shows whether two engines timed the same data.
  for (let i = 0; i < x.length; i += 2) {
    const r = Math.sqrt(-2 * Math.log(1 - next())) * 3;
    const phi = 2 * Math.PI * next();
    x[i] = r * Math.cos(phi);
    if (i + 1 < x.length) x[i + 1] = r * Math.sin(phi);
  }
  const target = new Int32Array(rows);
  for (let r = 0; r < rows; r++) target[r] = Math.floor(next() * classes);
  return { id, rows, classes, what, x, target };
}

/** FNV-1a (32 bit) over the bytes of x and target, as 8 hex digits: equal data ⇔ equal checksum (in practice). */
export function workloadChecksum(w: Pick<Workload, 'x' | 'target'>): string {
  let h = 0x811c9dc5;
  for (const view of [w.x, w.target]) {
    const bytes = new Uint8Array(view.buffer, view.byteOffset, view.byteLength);
    for (let i = 0; i < bytes.length; i++) h = Math.imul(h ^ bytes[i]!, 0x01000193);
  }
  return (h >>> 0).toString(16).padStart(8, '0');
}

/** Output length of an op for a workload. */
export function outputLength(op: BenchOp, w: Pick<Workload, 'rows' | 'classes'>): number {
  return op === 'softmax' || op === 'logSoftmax' || op === 'crossEntropyGrad' ? w.rows * w.classes : w.rows;
}

// The naive baselines: what a careful person writes in plain JavaScript without thinking about
// speed. Three passes per row (max, Math.exp + sum, scale), float64 arithmetic, float32 results.
// They read the caller's Float32Array directly (no copies) and are also the accuracy reference.

export function naiveSoftmax(x: Float32Array, classes: number, out: Float32Array): Float32Array {
  const rows = x.length / classes;
  for (let r = 0; r < rows; r++) {
    const base = r * classes;
    let max = -Infinity;
    for (let j = 0; j < classes; j++) if (x[base + j]! > max) max = x[base + j]!;
    let sum = 0;
    for (let j = 0; j < classes; j++) {
      const e = Math.exp(x[base + j]! - max);
      out[base + j] = e;
      sum += e;
    }
    const inv = 1 / sum;
    for (let j = 0; j < classes; j++) out[base + j]! *= inv;
  }
  return out;
}

export function naiveLogSoftmax(x: Float32Array, classes: number, out: Float32Array): Float32Array {
  const rows = x.length / classes;
  for (let r = 0; r < rows; r++) {
    const base = r * classes;
    let max = -Infinity;
    for (let j = 0; j < classes; j++) if (x[base + j]! > max) max = x[base + j]!;
    let sum = 0;
    for (let j = 0; j < classes; j++) sum += Math.exp(x[base + j]! - max);
    const logSum = Math.log(sum);
    for (let j = 0; j < classes; j++) out[base + j] = x[base + j]! - max - logSum;
  }
  return out;
}

export function naiveLogSumExp(x: Float32Array, classes: number, out: Float32Array): Float32Array {
  const rows = x.length / classes;
  for (let r = 0; r < rows; r++) {
    const base = r * classes;
    let max = -Infinity;
    for (let j = 0; j < classes; j++) if (x[base + j]! > max) max = x[base + j]!;
    let sum = 0;
    for (let j = 0; j < classes; j++) sum += Math.exp(x[base + j]! - max);
    out[r] = max + Math.log(sum);
  }
  return out;
}

/** Cross-entropy per row (reduction 'none'): logsumexp(row) − row[target]. */
export function naiveCrossEntropy(x: Float32Array, classes: number, target: Int32Array, out: Float32Array): Float32Array {
  const rows = x.length / classes;
  for (let r = 0; r < rows; r++) {
    const base = r * classes;
    let max = -Infinity;
    for (let j = 0; j < classes; j++) if (x[base + j]! > max) max = x[base + j]!;
    let sum = 0;
    for (let j = 0; j < classes; j++) sum += Math.exp(x[base + j]! - max);
    out[r] = max + Math.log(sum) - x[base + target[r]!]!;
  }
  return out;
}

/** Gradient of the mean cross-entropy w.r.t. the logits: (softmax(row) − onehot(target)) / rows. */
export function naiveCrossEntropyGrad(x: Float32Array, classes: number, target: Int32Array, out: Float32Array): Float32Array {
  const rows = x.length / classes;
  naiveSoftmax(x, classes, out);
  for (let r = 0; r < rows; r++) out[r * classes + target[r]!]! -= 1;
  for (let i = 0; i < out.length; i++) out[i]! /= rows;
  return out;
}

/** One naive call of `op` on `w` into `out` (length outputLength(op, w)). */
export function naiveRun(op: BenchOp, w: Workload, out: Float32Array): Float32Array {
  switch (op) {
    case 'softmax':
      return naiveSoftmax(w.x, w.classes, out);
    case 'logSoftmax':
      return naiveLogSoftmax(w.x, w.classes, out);
    case 'logsumexp':
      return naiveLogSumExp(w.x, w.classes, out);
    case 'crossEntropy':
      return naiveCrossEntropy(w.x, w.classes, w.target, out);
    case 'crossEntropyGrad':
      return naiveCrossEntropyGrad(w.x, w.classes, w.target, out);
  }
}

type Input = Float32Array | LkBuffer<'float32'>;

/** Whether this engine has the op (older builds may lack one). */
export function logitkitHas(lk: Engine, op: BenchOp): boolean {
  return typeof (lk as unknown as Record<string, unknown>)[op === 'crossEntropyGrad' ? 'crossEntropyWithGrad' : op] === 'function';
}

/**
 * One logitkit call of `op` through the public API, exactly as a user writes it: each op, crossEntropy
 * ('none') included, writes into `out` when given and returns a new array without it.
 */
export function callLogitkit(lk: Engine, op: BenchOp, x: Input, w: { classes: number; target: Int32Array | LkBuffer<'int32'> }, out?: Input): ArrayLike<number> {
  switch (op) {
    case 'softmax':
      return lk.softmax(x, w.classes, out ? { out } : {});
    case 'logSoftmax':
      return lk.logSoftmax(x, w.classes, out ? { out } : {});
    case 'logsumexp':
      return lk.logsumexp(x, w.classes, out ? { out } : {});
    case 'crossEntropy':
      // With out like the row ops: a fresh result a call would time the allocation (bench/limits.md, issue 23).
      return lk.crossEntropy(x, w.classes, w.target, out ? { reduction: 'none', out } : { reduction: 'none' });
    case 'crossEntropyGrad':
      return lk.crossEntropyWithGrad(x, w.classes, w.target, out ? { out } : {}).grad;
  }
}

const U = 2 ** -24; // float32 unit roundoff

export interface Accuracy {
  /** Largest |got − want| / max(1, |want|). */
  maxError: number;
  /** Largest error as a fraction of its SEMANTICS.md §11 bound: ≤ 1 passes. */
  worstVsBound: number;
}

/**
 * One output against the naive output (float64 arithmetic rounded to float32) with the
 * tolerances of SEMANTICS.md §11 for T = 1, C the row length and S the row's spread (max − min):
 *   log domain (logSoftmax, logsumexp, crossEntropy): rtol = 2e-6 + 4u√C, atol = 1e-6 + 4u·S + 4u√C
 *   probabilities (softmax):                          rtol = 2e-6 + 4u√C + 2u·S, atol = 1e-36
 * A wrong length or a NaN where a number belongs is infinitely wrong.
 */
export function checkAccuracy(op: BenchOp, got: ArrayLike<number> | null | undefined, want: ArrayLike<number>, w: Pick<Workload, 'x' | 'classes' | 'rows'>): Accuracy {
  if (!got || got.length !== want.length) return { maxError: Infinity, worstVsBound: Infinity };
  const { x, classes } = w;
  const perRow = want.length === x.length ? classes : 1;
  const sqrtC = Math.sqrt(classes);
  let maxError = 0;
  let worstVsBound = 0;
  for (let r = 0; r < want.length / perRow; r++) {
    let lo = Infinity;
    let hi = -Infinity;
    for (let j = r * classes; j < (r + 1) * classes; j++) {
      if (x[j]! < lo) lo = x[j]!;
      if (x[j]! > hi) hi = x[j]!;
    }
    const spread = hi - lo;
    // §11: probabilities; gradients of the mean loss (scale 1/rows); the log domain.
    const [rtol, atol] =
      op === 'softmax'
        ? [2e-6 + 4 * U * sqrtC + 2 * U * spread, 1e-36]
        : op === 'crossEntropyGrad'
          ? [1e-5, (2e-6 + 4 * U * sqrtC + 2 * U * spread) / w.rows]
          : [2e-6 + 4 * U * sqrtC, 1e-6 + 4 * U * spread + 4 * U * sqrtC];
    for (let i = r * perRow; i < (r + 1) * perRow; i++) {
      const diff = Math.abs(got[i]! - want[i]!);
      if (Number.isNaN(diff)) return { maxError: Infinity, worstVsBound: Infinity };
      const e = diff / Math.max(1, Math.abs(want[i]!));
      if (e > maxError) maxError = e;
      const vsBound = diff / (atol + rtol * Math.abs(want[i]!));
      if (vsBound > worstVsBound) worstVsBound = vsBound;
    }
  }
  return { maxError, worstVsBound };
}

/** Peers whose error exceeds the §11 bound this many times are wrong, not merely less accurate. */
export const WRONG_FACTOR = 100;

/** Sorted-sample quantile with linear interpolation (NaN for no samples). */
export function quantile(sorted: ArrayLike<number>, q: number): number {
  if (sorted.length === 0) return NaN;
  const at = (sorted.length - 1) * q;
  const lo = Math.floor(at);
  const hi = Math.ceil(at);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (at - lo);
}

/** The wasm build an engine runs, in the words every report uses: 'relaxed SIMD, 2 threads', 'js backend'. */
export function describeBuild(lk: Engine): string {
  if (lk.backend !== 'wasm') return 'js backend';
  const f = lk.features;
  return `${f.relaxedSimd ? 'relaxed SIMD' : 'SIMD128'}, ${f.threads} thread${f.threads === 1 ? '' : 's'}`;
}

/** The JavaScript engine this runs on ('Node 24.1.0 (V8 13.6…)', 'Firefox 140 (SpiderMonkey)', …). */
export function describeEngine(): string {
  return describeRuntime().text;
}

/**
 * The CPU a run measured, with the vector extensions that decide how fast native peers are
 * (onnxruntime-node's kernels run 1.5–2× faster with AVX-512 than with AVX2 alone), so figures
 * from different hosts are never read as one. `null` = not known (browsers, hosts without
 * /proc/cpuinfo): a page cannot see the CPU's flags, and guessing would mislabel a table.
 */
export interface CpuInfo {
  /** Model name, e.g. 'AMD EPYC 9R14 96-Core Processor', or 'unknown'. */
  model: string;
  avx2: boolean | null;
  /** AVX-512 Foundation (avx512f). */
  avx512: boolean | null;
  /** The AVX-512 subsets present without their prefix ('f', 'bw', 'vl', 'bf16', …). */
  avx512Subsets: string[];
}

/** A CPU whose model may be known (os.cpus()) but whose flags are not. */
export function unknownCpu(model = 'unknown'): CpuInfo {
  return { model: model.trim() || 'unknown', avx2: null, avx512: null, avx512Subsets: [] };
}

/**
 * CpuInfo from the text of Linux's /proc/cpuinfo (its first processor: every core of a host
 * reports the same model and flags). Without a `flags` line (not x86, or not Linux's format)
 * the extensions are unknown, not absent.
 */
export function parseCpuinfo(text: string, fallbackModel = 'unknown'): CpuInfo {
  const model = /^model name\s*:\s*(.*)$/m.exec(text)?.[1]?.trim() || fallbackModel;
  const flagsLine = /^flags\s*:(.*)$/m.exec(text)?.[1];
  if (flagsLine === undefined) return unknownCpu(model);
  const flags = new Set(flagsLine.trim().split(/\s+/));
  const avx512Subsets = [...flags].filter((f) => f.startsWith('avx512')).map((f) => f.slice(6).replace(/^_/, '')).sort();
  return { model, avx2: flags.has('avx2'), avx512: flags.has('avx512f'), avx512Subsets };
}

/** 'AMD EPYC 9R14 96-Core Processor (AVX2 yes, AVX-512 yes: bf16, bw, f, vl)', as every report prints it. */
export function describeCpu(cpu: CpuInfo): string {
  const said = (v: boolean | null) => (v === null ? 'unknown' : v ? 'yes' : 'no');
  const subsets = cpu.avx512 && cpu.avx512Subsets.length ? `: ${cpu.avx512Subsets.join(', ')}` : '';
  return `${cpu.model} (AVX2 ${said(cpu.avx2)}, AVX-512 ${said(cpu.avx512)}${subsets})`;
}
