/**
 * Calibration: expected calibration error, reliability bins and temperature scaling (SEMANTICS.md §10).
 *
 * ECE: each row's confidence is the largest softmax probability and it is correct when argmax equals
 * the label. Confidences fall into M equal-width bins (k/M, (k+1)/M] with exact edges:
 * bin(c) = clamp(ceil(c·M) − 1, 0, M − 1), computed in float64 where c·M is exact for a float32 c.
 * Bins carry float64 sums (count, Σ confidence, Σ correct), so ECE = (1/n) Σ_b |Σcorrect_b − Σconf_b|
 * and blocks or shards merge exactly by adding sums.
 *
 * Temperature: NLL(β) = mean_i(lse(β x_i) − β x_{i,y_i}) is convex in β = 1/T, with
 * g(β) = dNLL/dβ = mean_i(E_{softmax(βx_i)}[x_i] − x_{i,y_i}) and g'(β) = mean_i Var_{softmax(βx_i)}[x_i].
 * We find the root of the monotone g by Newton steps kept inside a shrinking bracket (bisection in log β
 * when a step leaves it), evaluating a bound only when the iterates head for it; if g does not change
 * sign in [1/max, 1/min], the answer is that bound. Each evaluation is one pass over the rows, so a file
 * source is streamed; the iteration is warm-started from a fit on the first block (in memory), after
 * which the full data typically needs 2–4 passes. A source of one block is fitted on its in-memory
 * copy: read once, whatever the number of Newton steps (6–8 from T = 1 on the sample data). Probabilities come from the engine in float32,
 * sums are float64: on the test data T agrees with a float64 bisection to ~1e-6 relative.
 *
 * A pass is one engine call per block, lk.temperatureFitSums (the wasm kernel fit.ts), whose p and
 * log p are lk.softmax's and lk.logSoftmax's float32 values: the fit's steps are those of the two ops.
 * A file source reads each block straight into one engine buffer (FitBlockTarget), so the call reads
 * it in place: 1.17–1.21× less CPU a pass than copying it in (bench/calibrate-pass.js, 3M × 100, CPU
 * time on a loaded 2-core machine).
 * Everything goes through the public engine API, so it runs on any backend.
 */
import { describeValue as describe, LogitkitError } from '../errors.js';
import { BINS_KEYS, binOf, checkBins, checkClasses, checkLabels, checkOptionKeys, checkTemperatureRange } from '../options.js';
import { arraySource, type BlockSource } from '../io/stream.js';
import type { BootstrapEngine } from './bootstrap.js';
import type { AurocEngine } from './auroc.js';
import type { OverlapEngine } from './overlap.js';
import type { RowScoreAccumulator, RowScoreOptions } from '../accumulators.js';
import type { LkBuffer } from '../buffers.js';

/** The part of the public Engine that metrics use (the real Engine satisfies it structurally). */
export interface MetricsEngine extends OverlapEngine {
  softmax(x: Float32Array, classes: number, options?: { temperature?: number; out?: Float32Array }): Float32Array;
  logSoftmax(x: Float32Array, classes: number, options?: { temperature?: number; out?: Float32Array }): Float32Array;
  argmax(x: Float32Array, classes: number): Int32Array;
  topk(x: Float32Array, classes: number, k: number): { values: Float32Array; indices: Int32Array };
  /** Binary (sigmoid) scoring only. */
  sigmoid?(x: Float32Array): Float32Array;
  bceWithLogits?(x: Float32Array, target: Float32Array, options: { reduction: 'none' }): Float32Array;
  /** Intervals (score --intervals) only. */
  bootstrapAccumulator?: BootstrapEngine['bootstrapAccumulator'];
  /** AUROC (score) only. */
  aurocHistogram?: AurocEngine['aurocHistogram'];
  /** Engine buffers (ScoreAccumulator keeps a block's logits and probabilities there when it can). */
  alloc?(length: number): LkBuffer<'float32'>;
  /** ScoreAccumulator only: the per-row and per-element sums of a block. */
  rowScoreAccumulator?(options: RowScoreOptions): RowScoreAccumulator;
  /** The temperature fit: one Newton evaluation of a block in one call. */
  temperatureFitSums(x: Float32Array, classes: number, labels: Int32Array, options?: { temperature?: number }): { nll: number; gradient: number; curvature: number };
}

export const DEFAULT_BINS = 15;

// The engine's normaliser, so that a bad `bins` reads the same from lk.ece, eceFromConfidences and
// the streaming accumulators.
export { checkBins };

// bin(c) = clamp(ceil(c·M) − 1, 0, M − 1), shared with the engine's accumulators.
export { binOf };

/** One bin of a reliability diagram: its edges, row count, accuracy and mean confidence. */
export interface ReliabilityBin {
  lower: number;
  upper: number;
  count: number;
  /** Fraction correct in the bin (NaN when the bin is empty). */
  accuracy: number;
  /** Mean confidence in the bin (NaN when empty). */
  confidence: number;
}

/** The result of `reliability`: ECE, MCE and the bins. */
export interface Reliability {
  ece: number;
  mce: number;
  bins: ReliabilityBin[];
}

/** Reliability bins as float64 sums; add rows, merge other bins, read ECE/MCE. */
export class ReliabilityBins {
  readonly bins: number;
  readonly count: Float64Array;
  readonly confSum: Float64Array;
  readonly correctSum: Float64Array;
  /** Rows whose confidence was NaN: they make ECE and MCE NaN. */
  nanRows = 0;

  constructor(bins: number = DEFAULT_BINS) {
    this.bins = checkBins(bins);
    this.count = new Float64Array(bins);
    this.confSum = new Float64Array(bins);
    this.correctSum = new Float64Array(bins);
  }

  /** Adds one row; returns its bin (-1 for NaN). */
  add(conf: number, correct: number): number {
    if (conf !== conf) {
      this.nanRows++;
      return -1;
    }
    const b = binOf(conf, this.bins);
    this.count[b] += 1;
    this.confSum[b] += conf;
    this.correctSum[b] += correct;
    return b;
  }

  merge(o: ReliabilityBins): void {
    if (o.bins !== this.bins) throw new LogitkitError('invalid_bins', `cannot merge ${o.bins} bins into ${this.bins}`);
    for (let b = 0; b < this.bins; b++) {
      this.count[b] += o.count[b];
      this.confSum[b] += o.confSum[b];
      this.correctSum[b] += o.correctSum[b];
    }
    this.nanRows += o.nanRows;
  }

  get rows(): number {
    let n = this.nanRows;
    for (let b = 0; b < this.bins; b++) n += this.count[b];
    return n;
  }

  result(): Reliability {
    const M = this.bins;
    const n = this.rows;
    const poisoned = n === 0 || this.nanRows > 0;
    let gap = 0;
    let mce = 0;
    const out: ReliabilityBin[] = [];
    for (let b = 0; b < M; b++) {
      const c = this.count[b];
      const accuracy = c > 0 ? this.correctSum[b] / c : NaN;
      const confidence = c > 0 ? this.confSum[b] / c : NaN;
      if (c > 0) {
        gap += Math.abs(this.correctSum[b] - this.confSum[b]);
        mce = Math.max(mce, Math.abs(accuracy - confidence));
      }
      out.push({ lower: b / M, upper: (b + 1) / M, count: c, accuracy, confidence });
    }
    return { ece: poisoned ? NaN : gap / n, mce: poisoned ? NaN : mce, bins: out };
  }
}

/**
 * ECE from given confidences (SEMANTICS §10 `ece_from_confidences`). `correct` entries are truthy /
 * 1 for correct. binIndex[i] is the bin of row i, or -1 for a NaN confidence.
 */
export function eceFromConfidences(
  conf: ArrayLike<number>,
  correct: ArrayLike<number | boolean>,
  options?: { bins?: number },
): { ece: number; binIndex: Int32Array } {
  checkOptionKeys(options, BINS_KEYS);
  const M = checkBins(options?.bins);
  if (!isNumberList(conf)) {
    throw new LogitkitError('invalid_argument', `conf = ${describe(conf)}, expected an array or typed array of numbers`, 'conf');
  }
  if (!isNumberList(correct) && !Array.isArray(correct)) {
    throw new LogitkitError('invalid_argument', `correct = ${describe(correct)}, expected an array of booleans or 0/1`, 'correct');
  }
  const n = conf.length;
  if (correct.length !== n) {
    throw new LogitkitError('shape_mismatch', `correct has ${correct.length} entries, expected ${n} (one per confidence)`, 'correct');
  }
  for (let i = 0; i < n; i++) {
    const c = conf[i];
    // No coercion: '0.5' is a string, not a confidence. NaN is allowed (it makes ECE NaN).
    if (typeof c !== 'number' || c < 0 || c > 1) {
      throw new LogitkitError('invalid_confidence', `conf[${i}] = ${typeof c === 'string' ? `'${c}'` : String(c)}, expected a number in [0, 1]`, 'conf');
    }
    const k = correct[i];
    if (k !== true && k !== false && k !== 0 && k !== 1) {
      throw new LogitkitError('invalid_argument', `correct[${i}] = ${typeof k === 'string' ? `'${k}'` : String(k)}, expected true/false or 1/0`, 'correct');
    }
  }
  const acc = new ReliabilityBins(M);
  const binIndex = new Int32Array(n);
  for (let i = 0; i < n; i++) binIndex[i] = acc.add(conf[i], correct[i] ? 1 : 0);
  return { ece: acc.result().ece, binIndex };
}

// --- shared argument checks -----------------------------------------------------------------------

function isNumberList(v: unknown): v is ArrayLike<number> {
  return Array.isArray(v) || (ArrayBuffer.isView(v) && !(v instanceof DataView) && typeof (v as { length?: unknown }).length === 'number');
}

/** In-memory logits given to a metric directly (the engine resolves them first): the engine's checks and words. */
export function checkShape(x: Float32Array, classes: number): number {
  if (!(x instanceof Float32Array)) throw new LogitkitError('invalid_argument', `x = ${describe(x)}, expected a Float32Array`, 'x');
  const c = checkClasses(classes);
  if (x.length % c !== 0) throw new LogitkitError('shape_mismatch', `x has ${x.length} elements, not a multiple of classes = ${c}`, 'x');
  return x.length / c;
}

/**
 * Throws target_out_of_range for the first label outside [0, classes), naming its place in the
 * source (a file's row for the CLI); in-memory labels are checked by checkLabels first.
 */
export function checkLabelBlock(src: BlockSource, labels: Int32Array, start: number, classes: number): void {
  for (let i = 0; i < labels.length; i++) {
    const y = labels[i];
    if (!(y >= 0 && y < classes)) {
      const where = src.describeRow ? src.describeRow(start + i, 'labels') : `labels[${start + i}]`;
      throw new LogitkitError('target_out_of_range', `label ${y} at ${where}, expected 0 <= label < ${classes}`, 'labels');
    }
  }
}

// --- reliability from logits ----------------------------------------------------------------------

/** Reliability bins of softmax(x / temperature) over a (streamed) source with labels. */
export function reliabilityBinsOf(lk: MetricsEngine, src: BlockSource, bins: number, temperature = 1): ReliabilityBins {
  const acc = new ReliabilityBins(bins);
  const C = src.classes;
  let p = new Float32Array(0);
  for (const blk of src.blocks()) {
    if (!blk.labels) throw new LogitkitError('invalid_argument', 'labels are required', 'labels');
    checkLabelBlock(src, blk.labels, blk.start, C);
    const n = blk.rows * C;
    if (p.length < n) p = new Float32Array(n);
    const prob = lk.softmax(blk.x, C, { temperature, out: p.subarray(0, n) });
    const pred = lk.argmax(blk.x, C);
    for (let i = 0; i < blk.rows; i++) {
      acc.add(prob[i * C + pred[i]], pred[i] === blk.labels[i] ? 1 : 0);
    }
  }
  return acc;
}

export function reliability(lk: MetricsEngine, x: Float32Array, classes: number, labels: Int32Array, options: { bins?: number } = {}): Reliability {
  const bins = checkBins(options.bins);
  const rows = checkShape(x, classes);
  checkLabels(labels, rows, classes);
  return reliabilityBinsOf(lk, arraySource(x, classes, labels), bins).result();
}

export function ece(lk: MetricsEngine, x: Float32Array, classes: number, labels: Int32Array, options: { bins?: number } = {}): number {
  return reliability(lk, x, classes, labels, options).ece;
}

// --- temperature scaling --------------------------------------------------------------------------

/** The result of `fitTemperature`: the temperature and the NLL before and after. */
export interface TemperatureFit {
  temperature: number;
  /** Mean NLL at the fitted temperature. */
  nll: number;
  /** Mean NLL at T = 1. */
  nllBefore: number;
  /** Full reads of the source the fit took (informational); 1 for a source of one block. */
  passes?: number;
}

interface NllPoint {
  nll: number;
  g: number; // dNLL/dβ
  h: number; // d²NLL/dβ²
}

/**
 * A source that reads each block where it is told (NpyShardSource.into, npy-source.ts): the fit passes
 * point it at an engine buffer, so lk.temperatureFitSums reads the block where it was read instead of
 * copying 4 MiB into the engine per block and pass. Structural, so that this file stays free of node:fs.
 */
interface TargetableSource extends BlockSource {
  into: ((elements: number) => Float32Array) | null;
}

/**
 * The engine buffer (lk.alloc) the blocks of the fit passes are read into: one, kept across passes and
 * grown when a block is larger. Wasm memory can grow in any engine call after a block was read, which
 * detaches views taken before (length 0): view() re-takes the block's view from the buffer whenever x
 * is the one handed out.
 */
class FitBlockTarget {
  private buf: LkBuffer<'float32'> | null = null;
  /** The storage of the view handed out last, and its length (a detached view reads 0 for both). */
  private handedBuffer: ArrayBufferLike | null = null;
  private handedLength = 0;

  constructor(private readonly alloc: (length: number) => LkBuffer<'float32'>) {}

  take(elements: number): Float32Array {
    if (this.buf && this.buf.length < elements) this.free();
    this.buf ??= this.alloc(elements);
    const v = this.buf.array.subarray(0, elements);
    this.handedBuffer = v.buffer;
    this.handedLength = elements;
    return v;
  }

  /** x as it can be read now: a fresh view of the engine buffer when x was read there. */
  view(x: Float32Array): Float32Array {
    return this.buf !== null && x.buffer === this.handedBuffer ? this.buf.array.subarray(0, this.handedLength) : x;
  }

  free(): void {
    const b = this.buf;
    this.buf = null;
    this.handedBuffer = null;
    // after the engine was disposed its buffers are gone with it
    if (b && !b.freed) try { b.free(); } catch { /* disposed */ }
  }
}

const asIs = (x: Float32Array): Float32Array => x;

/**
 * One pass: NLL, its derivative and curvature in β at temperature T = 1/β, one engine call per block
 * (lk.temperatureFitSums). Also validates labels and finiteness (only on the first pass, `check`).
 * `view` gives a block's x as readable now (FitBlockTarget.view for blocks read into engine memory).
 */
function evalAt(lk: MetricsEngine, src: BlockSource, T: number, check: boolean, view: (x: Float32Array) => Float32Array = asIs): NllPoint & { constant: boolean } {
  const C = src.classes;
  let nll = 0;
  let g = 0;
  let h = 0;
  let constant = check; // only the validating (first) pass looks for constant rows
  for (const blk of src.blocks()) {
    const y = blk.labels!;
    if (check) checkLabelBlock(src, y, blk.start, C);
    const s = lk.temperatureFitSums(view(blk.x), C, y, { temperature: T });
    // A NaN or ±inf logit makes the block's sums NaN: only then look for it, to name it.
    if (check && !(Number.isFinite(s.nll) && Number.isFinite(s.gradient) && Number.isFinite(s.curvature))) throwNonFinite(src, { x: view(blk.x), start: blk.start });
    nll += s.nll;
    g += s.gradient;
    h += s.curvature;
    if (check && constant) {
      const x = view(blk.x); // after the engine call, which may have grown memory
      for (let r = 0; r < blk.rows && constant; r++) {
        const o = r * C;
        for (let j = 1; j < C; j++) {
          if (x[o + j] !== x[o]) {
            constant = false;
            break;
          }
        }
      }
    }
  }
  const R = src.rows;
  return { nll: nll / R, g: g / R, h: h / R, constant };
}

/**
 * The first non-finite logit of a block, as an error naming its place. A block without one made
 * non-finite sums by overflowing (x/T beyond float32): that is left to the fit, as before.
 */
function throwNonFinite(src: BlockSource, blk: { x: Float32Array; start: number }): void {
  const C = src.classes;
  const x = blk.x;
  for (let i = 0; i < x.length; i++) {
    if (!Number.isFinite(x[i])) {
      const row = blk.start + Math.floor(i / C);
      const where = src.describeRow ? src.describeRow(row, 'logits') : `row ${row}`;
      throw new LogitkitError('non_finite_input', `logit ${x[i]} at ${where}, column ${i % C}: temperature fitting needs finite logits`, 'x');
    }
  }
}

/**
 * Safeguarded Newton on g(β) = dNLL/dβ over [bLo, bHi], starting from an already evaluated point.
 * `at` evaluates one β (one pass over the data).
 */
function newtonRoot(at: (beta: number) => NllPoint, bLo: number, bHi: number, beta: number, cur: NllPoint): { beta: number; cur: NllPoint } {
  // Bracket [a, b] around the root of g; the sign of g is known at an end once it has been evaluated.
  let a = bLo;
  let b = bHi;
  let aKnown = false;
  let bKnown = false;
  for (let iter = 0; iter < 100; iter++) {
    if (cur.g === 0) break;
    if (cur.g > 0) {
      b = beta;
      bKnown = true;
    } else {
      a = beta;
      aKnown = true;
    }
    // The root is at a bound when g keeps its sign there.
    if (cur.g > 0 && beta === bLo) break; // NLL still rising at the largest T: T = max
    if (cur.g < 0 && beta === bHi) break; // still falling at the smallest T: T = min
    let next = cur.h > 0 ? beta - cur.g / cur.h : NaN;
    // Newton converges quadratically: when the next step would be this small, the current β is already
    // within ~1e-6 of the root (far inside the 1e-3 acceptance band), so skip that pass.
    if (next > a && next < b && Math.abs(next - beta) <= 1e-6 * beta) break;
    if (!(next > a && next < b)) {
      if (!aKnown && cur.g > 0 && !(next > a)) next = a; // heading below the range: test the bound
      else if (!bKnown && cur.g < 0 && !(next < b)) next = b;
      else next = Math.sqrt(a * b); // bisection in log β
    }
    const step = Math.abs(next - beta);
    beta = next;
    cur = at(beta);
    // 1e-7 relative: far inside the 1e-3 acceptance band, and above the float32 noise of g near the root.
    if (step <= 1e-7 * beta || b - a <= 1e-7 * beta) break;
  }
  return { beta, cur };
}

/** The first block of a source, copied (sources reuse their block buffers). */
function firstBlockCopy(src: BlockSource): { x: Float32Array; labels: Int32Array; rows: number } | null {
  for (const blk of src.blocks()) return { x: blk.x.slice(), labels: blk.labels!.slice(), rows: blk.rows };
  return null;
}

/**
 * Temperature fit over any block source (in memory or streamed from files).
 *
 * Passes over the data are what cost on a large file, so the Newton iteration is warm-started from a
 * fit on the first block alone (in memory, no extra I/O); on the full data it then typically needs 2–4
 * passes. `nllBefore` (NLL at T = 1) costs one more pass unless T = 1 was evaluated anyway; callers
 * that compute it elsewhere pass `{ nllBefore: false }` and get NaN.
 */
export function fitTemperatureSource(
  lk: MetricsEngine,
  src: BlockSource,
  options: { min?: number; max?: number; nllBefore?: boolean } = {},
): TemperatureFit {
  const { min: tMin, max: tMax } = checkTemperatureRange(options);
  if (!src.hasLabels) throw new LogitkitError('invalid_argument', 'labels are required', 'labels');
  if (src.rows === 0) return { temperature: 1, nll: NaN, nllBefore: NaN, passes: 0 };

  const bLo = 1 / tMax; // smallest β = largest T
  const bHi = 1 / tMin;
  const start = Math.min(bHi, Math.max(bLo, 1));

  // Warm start on the first block when there is more than one block.
  let beta0 = start;
  let sampleFit: { beta: number; cur: NllPoint } | null = null;
  const head = firstBlockCopy(src);
  // A source that fits in one block is in memory now: the Newton steps run on the copy instead of
  // re-reading the file once per step, so such a file is read once.
  const whole = head !== null && head.rows === src.rows;
  const data: BlockSource = whole ? { ...arraySource(head.x, src.classes, head.labels), describeRow: src.describeRow?.bind(src) } : src;
  if (head && !whole) {
    const sample = arraySource(head.x, src.classes, head.labels);
    const p0 = evalAt(lk, sample, 1 / start, true);
    if (!p0.constant) {
      sampleFit = newtonRoot((b) => evalAt(lk, sample, 1 / b, false), bLo, bHi, start, p0);
      beta0 = sampleFit.beta;
    }
  }

  // A file source's passes read each block straight into an engine buffer (unless its reads are
  // already pointed elsewhere): the engine takes the block where it lies, as score's accumulator does.
  const target = !whole && lk.alloc && isTargetable(src) && src.into === null ? new FitBlockTarget((n) => lk.alloc!(n)) : null;
  const view = target ? (x: Float32Array) => target.view(x) : asIs;
  if (target) (src as TargetableSource).into = (n) => target.take(n);
  try {
    // Full reads of the source: the in-memory steps of a one-block source cost none.
    let passes = 1;
    let nllAt1 = NaN;
    const at = (beta: number): NllPoint => {
      if (!whole) passes++;
      const pt = evalAt(lk, data, 1 / beta, false, view);
      if (beta === 1) nllAt1 = pt.nll;
      return pt;
    };
    const first = evalAt(lk, data, 1 / beta0, true, view); // validates every row
    if (beta0 === 1) nllAt1 = first.nll;
    let beta: number;
    let cur: NllPoint;
    if (first.constant) {
      // Every row constant: NLL = log C whatever T is, and the spec answer is T = 1.
      beta = 1;
      cur = first;
      nllAt1 = first.nll;
    } else {
      ({ beta, cur } = newtonRoot(at, bLo, bHi, beta0, first));
    }
    const wantBefore = options.nllBefore ?? true;
    if (wantBefore && Number.isNaN(nllAt1)) nllAt1 = beta === 1 ? cur.nll : at(1).nll;
    return { temperature: 1 / beta, nll: cur.nll, nllBefore: nllAt1, passes };
  } finally {
    if (target) {
      (src as TargetableSource).into = null;
      target.free();
    }
  }
}

function isTargetable(src: BlockSource): src is TargetableSource {
  return 'into' in src;
}

export function fitTemperature(
  lk: MetricsEngine,
  x: Float32Array,
  classes: number,
  labels: Int32Array,
  options: { min?: number; max?: number } = {},
): { temperature: number; nll: number; nllBefore: number } {
  const rows = checkShape(x, classes);
  checkLabels(labels, rows, classes);
  const fit = fitTemperatureSource(lk, arraySource(x, classes, labels), options);
  return { temperature: fit.temperature, nll: fit.nll, nllBefore: fit.nllBefore };
}
