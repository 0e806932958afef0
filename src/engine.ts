/**
 * The Engine: the one place where arguments are checked and options are
 * normalised. Every public op validates here, then hands a Backend arguments
 * that are already consistent, so backends and kernels never validate.
 *
 * Validation is strict on purpose: a wrong shape or option is a coded
 * LogitkitError naming the argument, never a silent NaN or a wrong answer.
 */
import { checkConstraints, checkLogprobs, checkSamplers, logprobsOf, perRowLists, prepareRows, verifyDraftRows, type ConstraintOptions, type SampleResult, type SamplerOptions, type VerifyDraftResult } from './sampling.js';
import type { AdjustArgs, Backend, BackendName, CrossEntropyTarget, Features, FilterOptions, Reduction } from './backends/backend.js';
import { isLkBuffer, releaseWidened, type BufferType, type LkBuffer } from './buffers.js';
import { describeValue as describe, fail, LogitkitError } from './errors.js';
import * as calibration from './metrics/calibration.js';
import * as keys from './options.js';
// ---- decoding rules (issue 25) ----
import { checkRules, dynamicTemperatureOf, historyAdjust, shapeRows, type DecodeStep, type HistoryAdjust, type HistoryRuleOptions, type ResolvedRules, type StatefulRuleOptions } from './decoding.js';
import { Sampler, SplitMix32, type SamplerHooks, type SamplerState } from './sampler.js';
// ---- end decoding rules ----
import { checkBins, checkClasses, checkDType, checkInteger, checkLabels, checkReduction, checkTemperature, checkTemperatureRange } from './options.js';
import * as recal from './metrics/recalibration.js';
import * as shift from './metrics/label-shift.js';
import { AurocHistogram, BootstrapAccumulator, RowScoreAccumulator, type AurocHistogramOptions, type BootstrapAccumulatorOptions, type RowScoreOptions } from './accumulators.js';
import * as conformal from './metrics/conformal.js';
import * as selective from './metrics/selective.js';
import type { ConformalArgs, OodMethodName } from './backends/backend.js';
import { Hasher } from './hasher.js';

/**
 * Logits as accepted by every op, and nothing else: float32 values (a Float32Array or a zero-copy
 * buffer), values to convert (a Float64Array or number[]), half-precision bits (a Uint16Array or
 * 'uint16' buffer with options.dtype, or a Float16Array), or a tensor. Other typed arrays (Int32Array,
 * Uint8Array, …) are refused by the type as they are at run time.
 */
export type LogitsInput =
  | Float32Array
  | Float64Array
  | readonly number[]
  | Uint16Array
  | Float16ArrayLike
  | LkBuffer<'float32'>
  | LkBuffer<'uint16'>
  | TensorLike;

/** A float32 array to read, or values to convert: what sigmoid and logSigmoid take. */
export type ValuesInput = Float32Array | Float64Array | readonly number[] | LkBuffer<'float32'>;

/**
 * A Float16Array (ES2025; Node ≥ 24, recent browsers), named by its tag so that these types do not need
 * a TypeScript lib that declares it, while an Int32Array or other typed array still does not match.
 */
export interface Float16ArrayLike extends ArrayLike<number> {
  readonly [Symbol.toStringTag]: 'Float16Array';
}

/** What a tensor's `.data` may hold as logits: float32 or float64 values, or float16 / bfloat16 bits. */
export type TensorLogitsData = Float32Array | Float64Array | readonly number[] | Uint16Array | Float16ArrayLike;

/**
 * onnxruntime (web/node) and transformers.js tensors: `.data` plus `.dims`, last axis = classes.
 * Two shapes:
 * - a tensor without a dtype name, or built by hand: `data` must be logits (TensorLogitsData), so
 *   `{ data: new Int32Array(6), dims: [2, 3] }` does not type-check;
 * - a runtime's tensor, which carries its dtype in `type` and types `data` as the union over every
 *   dtype (onnxruntime's `Tensor.DataType`: strings, bigints and Int32Array included): `data` is
 *   admitted as wide as that, so that `outputs.logits` type-checks as it comes. A type cannot
 *   admit that union and refuse one of its members, so an int32 runtime tensor (onnxruntime's
 *   `TypedTensor<'int32'>`) still type-checks; it is refused at run time like any int32 data.
 */
export type TensorLike = LogitsTensor | DTypedTensor;

/** A runtime tensor whose `data` is logits (float32, float64, numbers or half bits) and whose last dim is the classes. */
export interface LogitsTensor {
  readonly data: TensorLogitsData;
  readonly dims: readonly number[];
  readonly type?: string;
}

/** A runtime tensor (onnxruntime, transformers.js) that names its element type in `type`; non-logit types are refused at run time. */
export interface DTypedTensor {
  readonly data: ArrayLike<unknown>;
  readonly dims: readonly number[];
  readonly type: string;
}

/** The half-precision formats a `Uint16Array` of logits can hold. */
export type HalfDType = 'float16' | 'bfloat16';
/** Where an op may write its result: a `Float32Array`, or a zero-copy `'float32'` buffer from `lk.alloc`. */
export type OutArray = Float32Array | LkBuffer<'float32'>;
/** Class indices (Int32Array) or probabilities (Float32Array), plain or as zero-copy buffers. */
export type TargetInput = Int32Array | Float32Array | LkBuffer<'int32'> | LkBuffer<'float32'>;

/** The `dtype` option every op that takes logits accepts: how to read `Uint16Array` half-precision bits. */
export interface DTypeOption {
  /** How to read a Uint16Array of logits: IEEE half ('float16') or 'bfloat16'. */
  dtype?: 'float32' | HalfDType;
}
/** Options of the row-wise ops (`softmax`, `logSoftmax`, `logsumexp`): `temperature`, `out` and `dtype`. */
export interface RowOpOptions extends DTypeOption {
  temperature?: number;
  out?: OutArray;
}
/** Options of the elementwise ops (`sigmoid`, `logSigmoid`): an `out` array. */
export interface ElementwiseOptions {
  out?: OutArray;
}
/** Options of `crossEntropy`: reduction, class `weight`, `ignoreIndex` and `labelSmoothing`, as `F.cross_entropy` (docs/spec.md §4). */
export interface CrossEntropyOptions extends DTypeOption {
  reduction?: Reduction;
  ignoreIndex?: number;
  weight?: Float32Array;
  labelSmoothing?: number;
  /**
   * Reduction 'none' only: where the rows' losses go (Float32Array(rows) or a float32 buffer), instead of
   * a fresh array per call; not the logits. An alloc() buffer takes them with no copy.
   */
  out?: OutArray;
}
/** Options of `crossEntropyWithGrad`: those of `crossEntropy`, a reduction of `'mean'` or `'sum'`, and an `out` for the gradient. */
export interface CrossEntropyGradOptions extends Omit<CrossEntropyOptions, 'reduction'> {
  reduction?: 'mean' | 'sum';
  /** Where the gradient goes (rows × classes); not the logits themselves. */
  out?: OutArray;
}
/** Options of `bceWithLogits`: `classes`, per-class `weight` and `posWeight`, and the reduction (PyTorch's). */
export interface BceOptions {
  reduction?: Reduction;
  weight?: Float32Array;
  posWeight?: Float32Array;
  classes?: number;
}
/** Options of `klDiv`: reduction `'none' | 'sum' | 'batchmean'` (there is no `'mean'`: docs/spec.md §9). */
export interface KlDivOptions extends DTypeOption {
  reduction?: 'none' | 'sum' | 'batchmean';
}
/** Options of `sample`, `filterLogits` and `verifyDraft`: every filter, penalty and constraint, in the order of docs/sampling.md; the history rules and shaping of docs/sampler.md. */
export interface SampleOptions extends DTypeOption, ConstraintOptions, SamplerOptions, HistoryRuleOptions {
  temperature?: number;
  topK?: number;
  topP?: number;
  minP?: number;
  repetitionPenalty?: number;
  penaltyTokens?: Int32Array | Int32Array[];
  minTokensToKeep?: number;
  seed?: number;
  random?: () => number;
}
// ---- decoding rules (issue 25) ----
/** lk.sampler's options: every SampleOptions key (history aside), plus the sampler's own. */
export type SamplerCreateOptions = Omit<SampleOptions, 'history' | 'logprobs' | 'topLogprobs' | 'logprobsOf' | 'dtype' | 'guidance'> &
  StatefulRuleOptions & {
    /** Vocabulary size: every logits row has this many values. */
    vocab: number;
    /** The tokens before the first sampled one: the history starts here, and reset() returns here. */
    prompt?: Int32Array;
    /** A `sampler.state`: continue exactly from there. */
    state?: SamplerState;
    /** Hugging Face CFG: `unconditional` is one row (vocab values) or a function of the history returning it. */
    guidance?: { scale: number; unconditional: Float32Array | ((history: Int32Array) => Float32Array) };
  };
// ---- end decoding rules ----
/** Options of `adjustLogits`: the affine map z′ = W (z / T) + b, with W = diag(scale) or a full matrix. */
export interface AdjustOptions extends DTypeOption {
  /** z = x / temperature first (default 1). */
  temperature?: number;
  /** Per-class weights w (W = diag(w)); exclusive with matrix. */
  scale?: Float32Array | LkBuffer<'float32'>;
  /** Per-class bias b added last. */
  bias?: Float32Array | LkBuffer<'float32'>;
  /** Full W, classes × classes, row-major (z'_i = Σ_j W_ij z_j + b_i); exclusive with scale. */
  matrix?: Float32Array | LkBuffer<'float32'>;
  /** Where z' goes (rows × classes); may be x itself unless matrix is given. */
  out?: OutArray;
}

/** The result of `topk`: `values` and their class `indices`, rows × k each, most likely first, ties to the lower index. */
export interface TopK {
  values: Float32Array;
  indices: Int32Array;
}
/** The result of crossEntropyWithGrad: the reduced loss and its gradient with respect to the logits. */
export interface LossWithGrad {
  loss: number;
  grad: Float32Array;
}
/** Options of `perplexity`: `ignoreIndex` (default −100). */
export interface PerplexityOptions extends DTypeOption {
  ignoreIndex?: number;
}
/** ece() and reliability(): equal-width confidence bins (default 15). */
export interface BinsOptions extends DTypeOption {
  bins?: number;
}
/** fitTemperature(): the interval the temperature is searched in (default [0.01, 100]). */
export interface FitTemperatureOptions extends DTypeOption {
  min?: number;
  max?: number;
}
// ---- issue 21 item 5: temperatureFitSums
/** temperatureFitSums(): the temperature T = 1/β the sums are taken at (default 1). */
export interface TemperatureFitSumsOptions extends DTypeOption {
  temperature?: number;
}
/**
 * What `temperatureFitSums` returns: sums over the rows (divide by `rows` for the means), with
 * p = softmax(x/T) and NLL_r = −log p_r[y_r], as functions of β = 1/T.
 */
export interface TemperatureFitSums {
  rows: number;
  /** Σ_r NLL_r = Σ_r −log_softmax(x_r/T)[y_r]. */
  nll: number;
  /** Σ_r dNLL_r/dβ = Σ_r (E_p[x_r] − x_r[y_r]). */
  gradient: number;
  /** Σ_r d²NLL_r/dβ² = Σ_r Var_p[x_r] (≥ 0). */
  curvature: number;
}
const TEMPERATURE_FIT_SUMS_KEYS = ['dtype', 'temperature'] as const;
/** fitCalibration(): the map to fit, and how to read half-precision logits. */
export interface FitCalibrationOptions extends recal.FitCalibrationOptions, DTypeOption {}
/** estimateLabelShift(): dtype applies to both sourceX and targetX. */
export interface LabelShiftOptions extends shift.LabelShiftOptions, DTypeOption {}
/** applyTokenBitmask(): `out` may be x itself (in place). */
export interface TokenBitmaskOptions extends DTypeOption {
  out?: OutArray;
}
/** What `memoryStats()` reports: the wasm memory's size and the bytes in use by buffers and calls. */
export interface MemoryStats {
  wasmBytes: number;
  inUse: number;
}

const REDUCTIONS: readonly Reduction[] = ['none', 'sum', 'mean'];

/** Resolved logits: a float32 view the backend can read, plus the cleanup for temporaries. */
interface Resolved {
  x: Float32Array;
  rows: number;
  classes: number;
  /** x is half precision widened by the backend (in wasm memory there): released when the op ends. */
  widened: boolean;
  /** x is this zero-copy buffer's view, which memory growth detaches and `buffer.array` re-creates. */
  buffer: LkBuffer<'float32'> | null;
}

/**
 * x lives in backend memory (a zero-copy buffer, or half precision widened there), so a later call
 * that grows that memory detaches it.
 */
function transient(r: Resolved): boolean {
  return r.widened || r.buffer !== null;
}

function isTensorLike(v: unknown): v is TensorLike {
  return (
    typeof v === 'object' &&
    v !== null &&
    !ArrayBuffer.isView(v) &&
    'data' in v &&
    'dims' in v &&
    Array.isArray((v as TensorLike).dims)
  );
}

/** A plain array of numbers → float32; a string, boolean or other non-number entry is refused, never coerced. */
function numbersToFloat32(a: unknown[], name: string): Float32Array {
  const f = new Float32Array(a.length);
  for (let i = 0; i < a.length; i++) {
    const v = a[i];
    if (typeof v !== 'number') fail('invalid_argument', `${name}[${i}] = ${describe(v)}, expected a number`, name);
    f[i] = v;
  }
  return f;
}

/** A tensor's dims must be non-negative integers whose product is its data's length. */
function checkDims(dims: readonly unknown[], data: unknown, name: string): void {
  let size = 1;
  for (let i = 0; i < dims.length; i++) {
    const d = dims[i];
    if (typeof d !== 'number' || !Number.isSafeInteger(d) || d < 0)
      fail('shape_mismatch', `${name}.dims[${i}] = ${describe(d)}, expected an integer ≥ 0`, `${name}.dims`);
    size *= d;
  }
  const length = (data as { length?: unknown } | null)?.length;
  if (typeof length === 'number' && size !== length)
    fail('shape_mismatch', `${name}.dims [${dims.join(', ')}] describe ${size} elements, but ${name}.data has ${length}`, `${name}.dims`);
}

function isFloat16Array(v: unknown): boolean {
  const F16 = (globalThis as { Float16Array?: new (...a: unknown[]) => unknown }).Float16Array;
  return F16 !== undefined && v instanceof F16;
}

/** Options: nothing, or an object of known keys and no nulls (src/options.ts). */
function checkOptions(o: unknown, allowed: readonly string[]): void {
  keys.checkOptionKeys(o, allowed);
}

/** Two views overlap without being the same view: the result would depend on the order of writes. */
function partiallyOverlaps(a: ArrayBufferView, b: ArrayBufferView): boolean {
  if (a.buffer !== b.buffer) return false;
  if (a.byteOffset === b.byteOffset && a.byteLength === b.byteLength) return false;
  return a.byteOffset < b.byteOffset + b.byteLength && b.byteOffset < a.byteOffset + a.byteLength;
}

/** Whether a and b share any byte. */
function overlaps(a: ArrayBufferView, b: ArrayBufferView): boolean {
  return a.buffer === b.buffer && a.byteOffset < b.byteOffset + b.byteLength && b.byteOffset < a.byteOffset + a.byteLength;
}

/** An options object, as opposed to classes, k, a target, labels or logits. */
function isOptionsObject(v: unknown): boolean {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !ArrayBuffer.isView(v) && !isLkBuffer(v) && !isTensorLike(v);
}

/**
 * An op's arguments after its logits, in either calling form:
 *
 *   op(x, classes, ...rest, options?)   any logits
 *   op(x, ...rest, options?)            a tensor: classes is the last of its dims
 *
 * `rest` is the op's n positional arguments (topk's k; a target; labels). The form is read from one
 * slot, args[n]: in the classes form it holds classes (n = 0) or the last positional argument, which
 * is never an options object; in the tensor form it holds the options. So an options object there,
 * or nothing there or after it, means the tensor form; anything else (a number, an array, a buffer)
 * means the classes form. A null there is wrong in both forms; it is read as the form that names it
 * best: classes = null (n = 0, or args[0] is a number) or options = null (after a target or labels).
 * Returns [classes or undefined, ...rest, options]. A tensor form called on logits without dims fails
 * later, in #logits, as a missing `classes`.
 */
function shapeArgs(args: readonly unknown[], n: number): unknown[] {
  let given = args.length;
  while (given > 0 && args[given - 1] === undefined) given--;
  const slot = args[n];
  const tensorForm = isOptionsObject(slot) || given <= n || (slot === null && n > 0 && typeof args[0] !== 'number');
  const arity = tensorForm ? n + 1 : n + 2;
  if (given > arity)
    fail(
      'invalid_argument',
      `unexpected argument ${describe(args[given - 1])} after the options` + (tensorForm ? ' (without classes, the options come right after the tensor form\'s arguments)' : ''),
      'options',
    );
  const padded = Array.from({ length: arity }, (_, i) => args[i]);
  return tensorForm ? [undefined, ...padded] : padded;
}

// ---- issue 24 (uncertainty): options of oodScore, conformal*, predictSets, riskCoverage
/** Options of `lk.oodScore`: which out-of-distribution score (docs/uncertainty.md has the formulas) and its parameters. */
export interface OodScoreOptions extends DTypeOption {
  /** 'energy' (default), 'msp', 'maxLogit', 'entropy', 'margin' or 'gen'. */
  method?: OodMethodName;
  /** The logits are divided by T first: a finite number > 0 (default 1). */
  temperature?: number;
  /** GEN's exponent (default 0.1). */
  gamma?: number;
  /** GEN sums the topM largest probabilities (default min(100, classes); clamped to classes). */
  topM?: number;
}
/**
 * Options of `lk.conformalScores`: the score of conformalCalibrate (method, temperature, randomization,
 * RAPS's lambda and kReg, seed) without alpha and classConditional, which only q̂ uses.
 */
export interface ConformalScoreOptions extends Omit<conformal.ConformalOptions, 'alpha' | 'classConditional'>, DTypeOption {
  /** The row index of x's first row, which keys u (default 0). */
  firstRow?: number;
}
/** Options of `lk.predictSets`: the randomization's seed and the row index of the first row; the rest comes from the model. */
export interface PredictSetsOptions extends DTypeOption {
  /** Keys each row's u with the row index (default: the model's seed). */
  seed?: number;
  /** The row index of x's first row (default 0): chunks of one batch get the sets of the whole. */
  firstRow?: number;
}
const OOD_METHODS: readonly OodMethodName[] = ['energy', 'msp', 'maxLogit', 'entropy', 'margin', 'gen'];
const OOD_SCORE_KEYS = ['dtype', 'method', 'temperature', 'gamma', 'topM'] as const;
const CONFORMAL_KEYS = ['dtype', 'method', 'alpha', 'temperature', 'randomized', 'lambda', 'kReg', 'classConditional', 'seed'] as const;
const CONFORMAL_SCORE_KEYS = ['dtype', 'method', 'temperature', 'randomized', 'lambda', 'kReg', 'seed', 'firstRow'] as const;
const PREDICT_SETS_KEYS = ['dtype', 'seed', 'firstRow'] as const;
const RISK_COVERAGE_KEYS = ['dtype', 'score', 'temperature', 'gamma', 'topM'] as const;
/** Options of `lk.riskCoverageFrom`. */
export interface RiskCoverageFromOptions {
  /**
   * Thin the returned curve to a point each 1/maxPoints of coverage (and the last point): an integer
   * ≥ 1. The figures are still those of every point. Default: every point (one per distinct confidence).
   */
  maxPoints?: number;
}
const RISK_COVERAGE_FROM_KEYS = ['maxPoints'] as const;

/** The first i with wrong[i] neither 0 nor 1, or −1: four bytes a step where they are aligned (score checks millions). */
function firstNonBinary(wrong: Uint8Array): number {
  const n = wrong.length;
  let i = 0;
  if (wrong.byteOffset % 4 === 0) {
    const words = new Uint32Array(wrong.buffer, wrong.byteOffset, n >> 2);
    let k = 0;
    while (k < words.length && (words[k]! & 0xfefefefe) === 0) k++;
    i = 4 * k; // the bytes from the first flagged word on are looked at one by one
  }
  for (; i < n; i++) if (wrong[i]! > 1) return i;
  return -1;
}

function checkFirstRow(v: unknown): number {
  if (v === undefined) return 0;
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) fail('invalid_argument', `options.firstRow = ${describe(v)}, expected an integer ≥ 0`, 'options.firstRow');
  return v;
}

/** The kernels' parameters: u drawn here (the same on every backend) when randomized and the method uses it. */
function conformalArgs(s: Pick<conformal.ConformalSettings, 'method' | 'temperature' | 'randomized' | 'lambda' | 'kReg' | 'seed'>, stream: number, first: number, rows: number): ConformalArgs {
  const uniforms = s.randomized && s.method !== 'lac' ? conformal.conformalUniforms(s.seed, stream, first, rows) : null;
  return { method: s.method, temperature: s.temperature, uniforms, lambda: s.lambda, kReg: s.kReg };
}
// ---- end issue 24

/**
 * A logitkit engine, from `init()`: every op (softmax, losses, top-k, sampling, calibration…) on one
 * backend (`backend`: wasm or js), which validates its arguments and throws `LogitkitError`s. Guides: docs/api.md.
 */
export class Engine {
  readonly #b: Backend;
  #disposed = false;

  /** @internal Engines come from `init()`, which picks and starts the backend. */
  constructor(backend: Backend) {
    this.#b = backend;
  }

  /** Which backend computes: 'wasm' (the SIMD build) or 'js'. */
  get backend(): BackendName {
    return this.#b.name;
  }

  /** What runs: `{ simd, relaxedSimd, threads }` (all off / 1 for the JS backend). */
  get features(): Features {
    return this.#b.features;
  }

  // ---------------------------------------------------------------- buffers

  /**
   * A buffer that lives where this engine computes (wasm memory for 'wasm').
   * Pass it (or its `array`) to any op and no data is copied. Free it when done.
   */
  alloc<T extends BufferType = 'float32'>(length: number, type?: T): LkBuffer<T> {
    this.#live();
    const n = checkInteger(length, 'length', 'invalid_argument', 'an integer ≥ 0');
    if (n < 0) fail('invalid_argument', `length = ${n}, expected an integer ≥ 0`, 'length');
    const t = (type ?? 'float32') as T;
    if (t !== 'float32' && t !== 'int32' && t !== 'uint16')
      fail('invalid_argument', `type = ${describe(type)}, expected 'float32', 'int32' or 'uint16'`, 'type');
    // Checked here, not by the allocator, so both backends refuse the same sizes with the same code.
    const bytes = n * (t === 'uint16' ? 2 : 4);
    const limit = this.#b.memoryLimit;
    if (bytes > limit)
      fail('out_of_memory', `length = ${n} needs ${bytes} bytes, more than the memory limit of ${limit} bytes (init({ memoryLimit }))`, 'length');
    return this.#b.alloc(n, t);
  }

  /**
   * Wasm memory in bytes: `wasmBytes` reserved (it only grows, up to the limit),
   * `inUse` held by live buffers from alloc() (temporaries are freed after each call).
   */
  memoryStats(): MemoryStats {
    return this.#b.memoryStats();
  }

  /** Ends worker threads and releases memory. The engine throws `disposed` afterwards. */
  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    this.#b.dispose();
  }

  /**
   * Runs `ops` (calls of this engine) and `meanwhile` (your JavaScript) overlapped: the first call
   * inside `ops` that splits across worker threads runs `meanwhile` on this thread while the workers
   * start on it, and this thread then helps them finish. Work that would keep this thread busy on its
   * own (bookkeeping of the previous results, hashing, parsing the next input) so shares the time the
   * threads compute. Without such a call (one thread, the JS backend, small calls) `meanwhile` runs
   * after `ops`. Returns what `ops` returns.
   *
   * `meanwhile` must not read what `ops` writes nor write what `ops` reads (it may run before, during or
   * after any of `ops`' calls). It runs exactly once, also when `ops` throws; `ops` always runs to its
   * end, and when both throw, the error of `ops` is the one thrown. Engine calls made inside `meanwhile`
   * run on this thread alone.
   *
   * ```ts
   * const sums = lk.overlap(
   *   () => { for (const r of previousRows) tally(r); },  // plain JavaScript
   *   () => boot.add({ hit, nll, conf }, { key: 0, row }), // split across the threads
   * );
   * ```
   */
  overlap<T>(meanwhile: () => void, ops: () => T): T {
    this.#live();
    if (typeof meanwhile !== 'function') fail('invalid_argument', `meanwhile = ${describe(meanwhile)}, expected a function`, 'meanwhile');
    if (typeof ops !== 'function') fail('invalid_argument', `ops = ${describe(ops)}, expected a function`, 'ops');
    return this.#b.overlap(meanwhile, ops);
  }

  // ------------------------------------------------------------ accumulators

  /**
   * Poisson-bootstrap replicate sums for percentile intervals (accuracy, NLL, ECE), fed block by block
   * with each row's correctness, NLL and top-label confidence; the weights are a pure function of
   * (seed, shard key, row, replicate), so blocks, threads and shards give the same sums. The
   * accumulation runs in the backend (wasm SIMD: assembly/kernels/score.ts).
   *
   * ```ts
   * const boot = lk.bootstrapAccumulator({ replicates: 200, bins: 15, seed: 0 });
   * boot.add({ hit, nll, conf }, { key: 0, row: 0 });
   * const { weight, nll: nllSums } = boot.sums();
   * ```
   */
  bootstrapAccumulator(options: BootstrapAccumulatorOptions): BootstrapAccumulator {
    this.#live();
    return new BootstrapAccumulator(this.#b, () => this.#live(), options);
  }

  /**
   * One-vs-rest AUROC histograms of `classes` classes (at most 1024), fed blocks of softmax
   * probabilities; `take()` returns the counts that src/metrics/auroc.ts turns into AUROC. The counting
   * runs in the backend (wasm: assembly/kernels/score.ts; split across the pool by classes), the
   * packed cells in its memory (62.5 MiB at 1000 classes); classCells(k) reads one class.
   */
  aurocHistogram(classes: number, options?: AurocHistogramOptions): AurocHistogram {
    this.#live();
    return new AurocHistogram(this.#b, () => this.#live(), classes, options);
  }

  /**
   * The per-row and per-element sums of a classification score (NLL, hits, top-k hits, Brier, entropy,
   * confidence bins, per-class and classwise sums), fed blocks of logits with their softmax,
   * logSoftmax and argmax; src/metrics/summary.ts turns the sums into figures. One fused pass per
   * block in the backend (wasm SIMD: assembly/kernels/score.ts scoreRows), the state in its memory.
   *
   * ```ts
   * const acc = lk.rowScoreAccumulator({ classes: 3, bins: 15, topk: 2 });
   * const x = new Float32Array([2, 0, -1, 0.5, 1.5, 0]);
   * const labels = new Int32Array([0, 2]);
   * const { conf } = acc.add({ x, p: lk.softmax(x, 3), lp: lk.logSoftmax(x, 3), labels, pred: lk.argmax(x, 3) });
   * const { correct, topkCorrect, nllSum } = acc.take();
   * ```
   */
  rowScoreAccumulator(options: RowScoreOptions): RowScoreAccumulator {
    this.#live();
    return new RowScoreAccumulator(this.#b, () => this.#live(), options);
  }

  // ---- the fingerprint hash
  /**
   * A streaming 128-bit hash of float32 / int32 data (their 32-bit words as stored), computed in the
   * backend (wasm SIMD: assembly/kernels/hash.ts) on arrays already in engine memory without a copy.
   * The digest does not depend on how the data is split into updates; both backends give the same.
   * Not cryptographic: it tells data apart (logitkit merge's shard fingerprints), nothing more.
   *
   * ```ts
   * const h = lk.hasher();
   * h.update(new Float32Array([1, 2, 3])).update(new Int32Array([0, 2]));
   * h.digest(); // 32 hex digits
   * ```
   */
  hasher(): Hasher {
    this.#live();
    return new Hasher(this.#b, () => this.#live());
  }
  // ---- end fingerprint hash

  // ------------------------------------------------------------ row-wise ops

  logsumexp(x: LogitsInput, classes: number, options?: RowOpOptions): Float32Array;
  logsumexp(x: TensorLike, options?: RowOpOptions): Float32Array;
  logsumexp(x: LogitsInput, ...args: unknown[]): Float32Array {
    const [classes, options] = shapeArgs(args, 0) as [number | undefined, RowOpOptions | undefined];
    return this.#rowReduce('logsumexp', x, classes, options);
  }

  softmax(x: LogitsInput, classes: number, options?: RowOpOptions): Float32Array;
  softmax(x: TensorLike, options?: RowOpOptions): Float32Array;
  softmax(x: LogitsInput, ...args: unknown[]): Float32Array {
    const [classes, options] = shapeArgs(args, 0) as [number | undefined, RowOpOptions | undefined];
    return this.#rowMap('softmax', x, classes, options);
  }

  logSoftmax(x: LogitsInput, classes: number, options?: RowOpOptions): Float32Array;
  logSoftmax(x: TensorLike, options?: RowOpOptions): Float32Array;
  logSoftmax(x: LogitsInput, ...args: unknown[]): Float32Array {
    const [classes, options] = shapeArgs(args, 0) as [number | undefined, RowOpOptions | undefined];
    return this.#rowMap('logSoftmax', x, classes, options);
  }

  sigmoid(x: ValuesInput, options?: ElementwiseOptions): Float32Array {
    return this.#elementwise('sigmoid', x, options);
  }

  logSigmoid(x: ValuesInput, options?: ElementwiseOptions): Float32Array {
    return this.#elementwise('logSigmoid', x, options);
  }

  argmax(x: LogitsInput, classes: number, options?: DTypeOption): Int32Array;
  argmax(x: TensorLike, options?: DTypeOption): Int32Array;
  argmax(x: LogitsInput, classes?: number | DTypeOption, options?: DTypeOption): Int32Array {
    this.#live();
    const [c, o] = this.#classesAndOptions(classes, options);
    checkOptions(o, keys.DTYPE_KEYS);
    return this.#withLogits(x, c, o, (r) => {
      const out = new Int32Array(r.rows);
      this.#b.argmax(r.x, r.rows, r.classes, out);
      return out;
    });
  }

  topk(x: LogitsInput, classes: number, k: number, options?: DTypeOption): TopK;
  /** A tensor's top k along its last axis: `topk(tensor, k)`. */
  topk(x: TensorLike, k: number, options?: DTypeOption): TopK;
  topk(x: LogitsInput, ...args: unknown[]): TopK {
    const [classes, k, options] = shapeArgs(args, 1) as [number | undefined, number, DTypeOption | undefined];
    this.#live();
    checkOptions(options, keys.DTYPE_KEYS);
    return this.#withLogits(x, classes, options, (r) => {
      const kk = checkInteger(k, 'k', 'invalid_k', `an integer with 0 ≤ k ≤ classes (${r.classes})`);
      if (kk < 0 || kk > r.classes) fail('invalid_k', `k = ${kk}, expected 0 ≤ k ≤ classes (${r.classes})`, 'k');
      const values = new Float32Array(r.rows * kk);
      const indices = new Int32Array(r.rows * kk);
      if (kk > 0) this.#b.topk(r.x, r.rows, r.classes, kk, values, indices);
      return { values, indices };
    });
  }

  /**
   * z' = W (x / T) + b per row: W = diag(options.scale), options.matrix (row-major) or the identity,
   * b = options.bias or 0. Every recalibration map (fitCalibration, label shift, logit adjustment,
   * contextual bias) is applied through this op.
   */
  adjustLogits(x: LogitsInput, classes: number, options?: AdjustOptions): Float32Array;
  adjustLogits(x: TensorLike, options?: AdjustOptions): Float32Array;
  adjustLogits(x: LogitsInput, ...args: unknown[]): Float32Array {
    const [classes, options] = shapeArgs(args, 0) as [number | undefined, AdjustOptions | undefined];
    this.#live();
    checkOptions(options, keys.ADJUST_KEYS);
    return this.#withLogits(x, classes, options, (r) => this.#adjust(r, options));
  }

  #adjust(r: Resolved, options: AdjustOptions | undefined): Float32Array {
    const a = this.#adjustArgs(r.classes, options);
    const out = this.#out(options?.out, r.x.length, r.x, a.matrix === null);
    this.#b.adjustLogits(r.x, r.rows, r.classes, a, out.array);
    return out.result();
  }

  // ----------------------------------------------------------------- losses

  crossEntropy(x: LogitsInput, classes: number, target: TargetInput, options: CrossEntropyOptions & { reduction: 'none' }): Float32Array;
  crossEntropy(x: LogitsInput, classes: number, target: TargetInput, options?: CrossEntropyOptions & { reduction?: 'mean' | 'sum' }): number;
  crossEntropy(x: LogitsInput, classes: number, target: TargetInput, options?: CrossEntropyOptions): number | Float32Array;
  crossEntropy(x: TensorLike, target: TargetInput, options: CrossEntropyOptions & { reduction: 'none' }): Float32Array;
  crossEntropy(x: TensorLike, target: TargetInput, options?: CrossEntropyOptions & { reduction?: 'mean' | 'sum' }): number;
  crossEntropy(x: TensorLike, target: TargetInput, options?: CrossEntropyOptions): number | Float32Array;
  crossEntropy(x: LogitsInput, ...args: unknown[]): number | Float32Array {
    const [classes, target, options] = shapeArgs(args, 1) as [number | undefined, TargetInput, CrossEntropyOptions | undefined];
    this.#live();
    checkOptions(options, keys.CROSS_ENTROPY_KEYS);
    const reduction = checkReduction(options?.reduction, REDUCTIONS, 'mean');
    if (options?.out !== undefined && reduction !== 'none')
      fail('invalid_argument', `options.out is for reduction 'none' (one loss per row); reduction '${reduction}' returns a number`, 'options.out');
    return this.#withLogits(x, classes, options, (r): number | Float32Array => {
      const t = this.#crossEntropyTarget(r, target, options);
      if (reduction === 'none') {
        // A fresh result costs more than the kernel on short rows (its pages are new to the
        // process: bench/limits.md, issue 23); options.out lets a caller reuse one.
        const out = this.#out(options?.out, r.rows, r.x, false);
        if (overlaps(out.array, t.target))
          fail('invalid_argument', 'options.out overlaps the target; pass a separate array', 'options.out');
        this.#b.crossEntropy(r.x, r.rows, r.classes, t, 'none', out.array);
        return out.result();
      }
      return this.#b.crossEntropy(r.x, r.rows, r.classes, t, reduction, null);
    });
  }

  crossEntropyWithGrad(x: LogitsInput, classes: number, target: TargetInput, options?: CrossEntropyGradOptions): LossWithGrad;
  crossEntropyWithGrad(x: TensorLike, target: TargetInput, options?: CrossEntropyGradOptions): LossWithGrad;
  crossEntropyWithGrad(x: LogitsInput, ...args: unknown[]): LossWithGrad {
    const [classes, target, options] = shapeArgs(args, 1) as [number | undefined, TargetInput, CrossEntropyGradOptions | undefined];
    this.#live();
    checkOptions(options, keys.CROSS_ENTROPY_GRAD_KEYS);
    const reduction = checkReduction(options?.reduction, ['mean', 'sum'] as const, 'mean');
    return this.#withLogits(x, classes, options, (r) => {
      const t = this.#crossEntropyTarget(r, target, options);
      // Not in place: the fused kernel still reads the target's logit after writing exp terms.
      const out = this.#out(options?.out, r.x.length, r.x, false);
      const loss = this.#b.crossEntropyWithGrad(r.x, r.rows, r.classes, t, reduction, out.array);
      return { loss, grad: out.result() };
    });
  }

  bceWithLogits(x: Float32Array | LkBuffer<'float32'>, target: Float32Array | LkBuffer<'float32'>, options: BceOptions & { reduction: 'none' }): Float32Array;
  bceWithLogits(x: Float32Array | LkBuffer<'float32'>, target: Float32Array | LkBuffer<'float32'>, options?: BceOptions): number;
  bceWithLogits(x: Float32Array | LkBuffer<'float32'>, target: Float32Array | LkBuffer<'float32'>, options?: BceOptions): number | Float32Array {
    this.#live();
    checkOptions(options, keys.BCE_KEYS);
    const reduction = checkReduction(options?.reduction, REDUCTIONS, 'mean');
    const xs = this.#float32(x, 'x');
    const ts = this.#float32(target, 'target');
    if (ts.length !== xs.length)
      fail('shape_mismatch', `target has ${ts.length} elements, expected ${xs.length} (the same as x)`, 'target');
    let classes = xs.length;
    if (options?.classes !== undefined) {
      classes = checkClasses(options.classes, 'options.classes');
      if (xs.length % classes !== 0)
        fail('shape_mismatch', `x has ${xs.length} elements, not a multiple of options.classes = ${classes}`, 'options.classes');
    }
    let weight: Float32Array | null = null;
    let period = xs.length;
    if (options?.weight !== undefined) {
      weight = this.#plainF32(options.weight, 'options.weight');
      if (weight.length === xs.length) period = xs.length;
      else if (options.classes !== undefined && weight.length === classes) period = classes;
      else
        fail(
          'shape_mismatch',
          `options.weight has ${weight.length} elements, expected ${xs.length} (one per element)` +
            (options.classes !== undefined ? ` or ${classes} (one per class)` : ' (pass options.classes for a per-class weight)'),
          'options.weight',
        );
    }
    let posWeight: Float32Array | null = null;
    if (options?.posWeight !== undefined) {
      posWeight = this.#plainF32(options.posWeight, 'options.posWeight');
      if (posWeight.length !== classes)
        fail(
          'shape_mismatch',
          `options.posWeight has ${posWeight.length} elements, expected ${classes} (one per class` +
            (options.classes === undefined ? '; pass options.classes for rows of classes)' : ')'),
          'options.posWeight',
        );
    }
    const args = { weight, weightPeriod: period, posWeight, classes };
    if (reduction === 'none') {
      const out = new Float32Array(xs.length);
      this.#b.bceWithLogits(xs, ts, args, 'none', out);
      return out;
    }
    return this.#b.bceWithLogits(xs, ts, args, reduction, null);
  }

  entropy(x: LogitsInput, classes: number, options?: DTypeOption): Float32Array;
  entropy(x: TensorLike, options?: DTypeOption): Float32Array;
  entropy(x: LogitsInput, ...args: unknown[]): Float32Array {
    const [classes, options] = shapeArgs(args, 0) as [number | undefined, DTypeOption | undefined];
    this.#live();
    checkOptions(options, keys.DTYPE_KEYS);
    return this.#withLogits(x, classes, options, (r) => {
      const out = new Float32Array(r.rows);
      this.#b.entropy(r.x, r.rows, r.classes, out);
      return out;
    });
  }

  klDiv(p: LogitsInput, q: LogitsInput, classes: number, options: KlDivOptions & { reduction: 'sum' | 'batchmean' }): number;
  klDiv(p: LogitsInput, q: LogitsInput, classes: number, options?: KlDivOptions): Float32Array;
  /** Without classes, p must be a tensor (classes = its last dim); q may be any logits of p's shape. */
  klDiv(p: TensorLike, q: LogitsInput, options: KlDivOptions & { reduction: 'sum' | 'batchmean' }): number;
  klDiv(p: TensorLike, q: LogitsInput, options?: KlDivOptions): Float32Array;
  klDiv(p: LogitsInput, q: LogitsInput, ...args: unknown[]): number | Float32Array {
    const [classes, options] = shapeArgs(args, 0) as [number | undefined, KlDivOptions | undefined];
    this.#live();
    checkOptions(options, keys.KL_DIV_KEYS);
    const reduction = checkReduction(options?.reduction, ['none', 'sum', 'batchmean'] as const, 'none');
    return this.#withTwoLogits(p, q, classes, options, ['p', 'q'], (rp, rq): number | Float32Array => {
      if (rq.rows !== rp.rows || rq.classes !== rp.classes)
        fail('shape_mismatch', `q has shape [${rq.rows}, ${rq.classes}], expected [${rp.rows}, ${rp.classes}] like p`, 'q');
      const out = new Float32Array(rp.rows);
      const sum = this.#b.klDiv(rp.x, rq.x, rp.rows, rp.classes, out);
      if (reduction === 'none') return out;
      // A float32 result like the rows (backends/reduce.ts): rounded once, after the float64 mean.
      return Math.fround(reduction === 'sum' ? sum : sum / rp.rows);
    }, 'q');
  }

  /** exp(mean NLL) over the non-ignored rows (no weights, no smoothing). */
  perplexity(x: LogitsInput, classes: number, target: Int32Array, options?: PerplexityOptions): number;
  perplexity(x: TensorLike, target: Int32Array, options?: PerplexityOptions): number;
  perplexity(x: LogitsInput, ...args: unknown[]): number {
    const [classes, target, options] = shapeArgs(args, 1) as [number | undefined, Int32Array, PerplexityOptions | undefined];
    this.#live();
    checkOptions(options, keys.PERPLEXITY_KEYS);
    if (!(target instanceof Int32Array))
      fail('shape_mismatch', `target = ${describe(target)}, expected an Int32Array of class indices`, 'target');
    // classes may be undefined here (a tensor); crossEntropy then takes it from the dims too.
    const nll = this.crossEntropy(x, classes as number, target, {
      reduction: 'mean',
      ...(options?.ignoreIndex !== undefined ? { ignoreIndex: options.ignoreIndex } : {}),
      ...(options?.dtype !== undefined ? { dtype: options.dtype } : {}),
    });
    // float32 like every loss: exp of a mean NLL above ln(FLT_MAX) ≈ 88.72 is +inf, not a float64 number.
    return Math.fround(Math.exp(nll));
  }

  // ------------------------------------------------------------ calibration
  // Written once in src/metrics on top of this public API; exposed here as methods.

  ece(x: LogitsInput, classes: number, labels: Int32Array, options?: BinsOptions): number;
  ece(x: TensorLike, labels: Int32Array, options?: BinsOptions): number;
  ece(x: LogitsInput, ...args: unknown[]): number {
    const [classes, labels, options] = shapeArgs(args, 1) as [number | undefined, Int32Array, BinsOptions | undefined];
    return this.#reliability(x, classes, labels, options).ece;
  }

  reliability(x: LogitsInput, classes: number, labels: Int32Array, options?: BinsOptions): calibration.Reliability;
  reliability(x: TensorLike, labels: Int32Array, options?: BinsOptions): calibration.Reliability;
  reliability(x: LogitsInput, ...args: unknown[]): calibration.Reliability {
    const [classes, labels, options] = shapeArgs(args, 1) as [number | undefined, Int32Array, BinsOptions | undefined];
    return this.#reliability(x, classes, labels, options);
  }

  fitTemperature(x: LogitsInput, classes: number, labels: Int32Array, options?: FitTemperatureOptions): calibration.TemperatureFit;
  fitTemperature(x: TensorLike, labels: Int32Array, options?: FitTemperatureOptions): calibration.TemperatureFit;
  fitTemperature(x: LogitsInput, ...args: unknown[]): calibration.TemperatureFit {
    const [classes, labels, options] = shapeArgs(args, 1) as [number | undefined, Int32Array, FitTemperatureOptions | undefined];
    this.#live();
    checkOptions(options, keys.FIT_TEMPERATURE_KEYS);
    const range = checkTemperatureRange(options);
    return this.#withLogits(x, classes, options, (r) => {
      checkLabels(labels, r.rows, r.classes);
      return calibration.fitTemperature(this, stable(r), r.classes, labels, range);
    });
  }

  /**
   * One Newton evaluation of temperature scaling over a block of labelled rows, in one kernel call:
   * Σ NLL, Σ dNLL/dβ and Σ d²NLL/dβ² at `options.temperature` (β = 1/T). p and log p are exactly
   * what `softmax` / `logSoftmax` return at that T (float32), the sums float64 — so a fit built on
   * it (fitTemperature, `logitkit calibrate`) steps as one built on those two ops, in one pass.
   * Sums of blocks add up to the sums of their concatenation (to rounding); rows are added in order,
   * so the result does not depend on threads. A NaN or ±inf logit makes `gradient` and `curvature`
   * NaN and `nll` what logSoftmax gives (NaN, or +inf for −inf at the label): finiteness is the
   * caller's check (fitTemperature's `non_finite_input`).
   * @throws LogitkitError `target_out_of_range` for a label outside [0, classes), `invalid_temperature`.
   */
  temperatureFitSums(x: LogitsInput, classes: number, labels: Int32Array, options?: TemperatureFitSumsOptions): TemperatureFitSums;
  temperatureFitSums(x: TensorLike, labels: Int32Array, options?: TemperatureFitSumsOptions): TemperatureFitSums;
  temperatureFitSums(x: LogitsInput, ...args: unknown[]): TemperatureFitSums {
    const [classes, labels, options] = shapeArgs(args, 1) as [number | undefined, Int32Array, TemperatureFitSumsOptions | undefined];
    this.#live();
    checkOptions(options, TEMPERATURE_FIT_SUMS_KEYS);
    const temperature = checkTemperature(options?.temperature);
    return this.#withLogits(x, classes, options, (r) => {
      checkLabels(labels, r.rows, r.classes);
      const out = this.#fitSums;
      this.#b.temperatureFitSums(r.x, r.rows, r.classes, labels, temperature, out);
      return { rows: r.rows, nll: out[0]!, gradient: out[1]!, curvature: out[2]! };
    });
  }
  /** temperatureFitSums' three outputs (reused: one call per block of a streamed fit). */
  readonly #fitSums = new Float64Array(3);

  /**
   * Fits a recalibration map (temperature, BCTS, vector or matrix scaling) on labelled logits by
   * minimising the mean NLL in float64 (README "Recalibration and label shift").
   */
  fitCalibration(x: LogitsInput, classes: number, labels: Int32Array, options?: FitCalibrationOptions): recal.CalibrationMap;
  fitCalibration(x: TensorLike, labels: Int32Array, options?: FitCalibrationOptions): recal.CalibrationMap;
  fitCalibration(x: LogitsInput, ...args: unknown[]): recal.CalibrationMap {
    const [classes, labels, options] = shapeArgs(args, 1) as [number | undefined, Int32Array, FitCalibrationOptions | undefined];
    this.#live();
    checkOptions(options, keys.FIT_CALIBRATION_KEYS);
    return this.#withLogits(x, classes, options, (r) => {
      checkLabels(labels, r.rows, r.classes);
      return recal.fitCalibration(r.x, r.classes, labels, withoutDType(options));
    });
  }

  /** Applies a map from fitCalibration / estimateLabelShift / calibrationMapFromJSON: adjustLogits with its parameters. */
  applyCalibration(x: LogitsInput, classes: number, map: recal.CalibrationMap, options?: DTypeOption & { out?: OutArray }): Float32Array;
  applyCalibration(x: TensorLike, map: recal.CalibrationMap, options?: DTypeOption & { out?: OutArray }): Float32Array;
  applyCalibration(x: LogitsInput, ...args: unknown[]): Float32Array {
    // The map is an object like the options, so the form is read from the first argument instead: the
    // classes slot holds a number (or a wrong null / undefined followed by more), or x is not a tensor.
    let given = args.length;
    while (given > 0 && args[given - 1] === undefined) given--;
    const classesForm = typeof args[0] === 'number' || args[0] === null || (args[0] === undefined && given > 1) || !isTensorLike(x);
    const [classes, map, options] = (classesForm ? args : [undefined, ...args]) as [
      number | undefined,
      recal.CalibrationMap,
      (DTypeOption & { out?: OutArray }) | undefined,
    ];
    if (given > (classesForm ? 3 : 2)) fail('invalid_argument', `unexpected argument ${describe(args[given - 1])} after the options`, 'options');
    this.#live();
    checkOptions(options, keys.APPLY_CALIBRATION_KEYS);
    return this.#withLogits(x, classes, options, (r) => {
      const m = recal.checkMap(map, r.classes);
      return this.#adjust(r, {
        temperature: m.temperature,
        ...(m.scale ? { scale: m.scale } : {}),
        ...(m.bias ? { bias: m.bias } : {}),
        ...(m.matrix ? { matrix: m.matrix } : {}),
        ...(options?.out !== undefined ? { out: options.out } : {}),
      });
    });
  }

  /**
   * Estimates the class priors of unlabelled target logits (EM or BBSE, after calibrating on the
   * labelled source) and the bias log(π_t / π_s) that corrects for them; `map` applies both.
   */
  estimateLabelShift(sourceX: LogitsInput, classes: number, sourceLabels: Int32Array, targetX: LogitsInput, options?: LabelShiftOptions): shift.LabelShift;
  estimateLabelShift(sourceX: TensorLike, sourceLabels: Int32Array, targetX: LogitsInput, options?: LabelShiftOptions): shift.LabelShift;
  estimateLabelShift(sourceX: LogitsInput, ...args: unknown[]): shift.LabelShift {
    const [classes, sourceLabels, targetX, options] = shapeArgs(args, 2) as [number | undefined, Int32Array, LogitsInput, LabelShiftOptions | undefined];
    this.#live();
    checkOptions(options, keys.LABEL_SHIFT_KEYS);
    return this.#withTwoLogits(sourceX, targetX, classes, options, ['sourceX', 'targetX'], (rs, rt) => {
      checkLabels(sourceLabels, rs.rows, rs.classes, 'sourceLabels');
      return shift.estimateLabelShift(this, stable(rs), rs.classes, sourceLabels, stable(rt), withoutDType(options));
    });
  }

  /** −log of the mean softmax of content-free rows (Zhao et al. 2021): a bias for adjustLogits. */
  contextualBias(x: LogitsInput, classes: number, options?: DTypeOption): Float32Array;
  contextualBias(x: TensorLike, options?: DTypeOption): Float32Array;
  contextualBias(x: LogitsInput, ...args: unknown[]): Float32Array {
    const [classes, options] = shapeArgs(args, 0) as [number | undefined, DTypeOption | undefined];
    this.#live();
    checkOptions(options, keys.DTYPE_KEYS);
    return this.#withLogits(x, classes, options, (r) => shift.contextualBias(this, r.x, r.classes));
  }

  // ------------------------------------------------------------- generation

  filterLogits(x: LogitsInput, classes: number, options?: SampleOptions): Float32Array;
  filterLogits(x: TensorLike, options?: SampleOptions): Float32Array;
  filterLogits(x: LogitsInput, ...args: unknown[]): Float32Array {
    const [classes, options] = shapeArgs(args, 0) as [number | undefined, SampleOptions | undefined];
    this.#live();
    checkOptions(options, keys.SAMPLE_OPTION_KEYS);
    return this.#withLogits(x, classes, options, (r) => this.#filterRows(r, options, null));
  }

  #filterRows(r0: Resolved, options: SampleOptions | undefined, step: DecodeStep | null, into: Float32Array | null = null): Float32Array {
    const { r, o, temperatures } = this.#decodeRows(r0, options, step);
    // XTC's draw is the second uniform of each row's pair, as in sample, so one seed gives both the same decisions.
    if (o.xtc !== null) o.xtcDraws = drawUniforms(2 * r.rows, options).filter((_, i) => i % 2 === 1);
    // lk.sampler passes its own row, reused every step: a fresh 128k-entry array per token costs more than the kernel.
    const out = into ?? new Float32Array(r.rows * r.classes);
    if (temperatures === null) noTokenLeft(this.#b.filterLogits(r.x, r.rows, r.classes, o, out));
    else
      for (let i = 0; i < r.rows; i++) {
        const C = r.classes;
        const bad = this.#b.filterLogits(r.x.subarray(i * C, (i + 1) * C), 1, C, rowOptions(o, i, temperatures[i]!), out.subarray(i * C, (i + 1) * C));
        noTokenLeft(bad < 0 ? bad : i);
      }
    return out;
  }

  sample(x: LogitsInput, classes: number, options: SampleOptions & { logprobs: true }): SampleResult;
  sample(x: LogitsInput, classes: number, options?: SampleOptions): Int32Array;
  sample(x: TensorLike, options: SampleOptions & { logprobs: true }): SampleResult;
  sample(x: TensorLike, options?: SampleOptions): Int32Array;
  sample(x: LogitsInput, ...args: unknown[]): Int32Array | SampleResult {
    const [classes, options] = shapeArgs(args, 0) as [number | undefined, SampleOptions | undefined];
    this.#live();
    checkOptions(options, keys.SAMPLE_OPTION_KEYS);
    return this.#withLogits(x, classes, options, (r) => this.#sampleRows(r, options, null));
  }

  #sampleRows(r0: Resolved, options: SampleOptions | undefined, step: DecodeStep | null): Int32Array | SampleResult {
    const { r, o, temperatures } = this.#decodeRows(r0, options, step);
    const lp = checkLogprobs(options);
    if (lp !== null && temperatures !== null) fail('invalid_argument', 'options.logprobs with options.dynamicTemperature is not supported: the processed distribution differs per row', 'options.logprobs');
    let uniforms: Float64Array;
    if (o.xtc !== null) {
      // Each row draws a pair from its stream: the token's uniform, then XTC's.
      const pairs = drawUniforms(2 * r.rows, options);
      uniforms = pairs.filter((_, i) => i % 2 === 0);
      o.xtcDraws = pairs.filter((_, i) => i % 2 === 1);
    } else uniforms = drawUniforms(r.rows, options);
    const out = new Int32Array(r.rows);
    if (temperatures === null) noTokenLeft(this.#b.sample(r.x, r.rows, r.classes, o, uniforms, out));
    else
      for (let i = 0; i < r.rows; i++) {
        const C = r.classes;
        const bad = this.#b.sample(r.x.subarray(i * C, (i + 1) * C), 1, C, rowOptions(o, i, temperatures[i]!), uniforms.subarray(i, i + 1), out.subarray(i, i + 1));
        noTokenLeft(bad < 0 ? bad : i);
      }
    if (lp !== null) return logprobsOf(this.#b, r.x, r.rows, r.classes, o, out, lp.n, lp.processed);
    return out;
  }

  // ---- decoding rules (issue 25): lk.sampler, history rules, shaping ----

  /**
   * A stateful sampler for one sequence (docs/sampler.md): sample(logits) → token, accept(token),
   * history, state (plain JSON), reset(). Both backends give identical tokens for the same seed.
   */
  sampler(options: SamplerCreateOptions): Sampler {
    this.#live();
    const hooks: SamplerHooks = {
      sample: (x, o, step) => this.#withLogits(x, o.vocab, undefined, (r) => this.#sampleRows(oneRow(r), withoutVocab(o), step) as Int32Array, 'logits')[0]!,
      filter: (x, o, step, into) => this.#withLogits(x, o.vocab, undefined, (r) => this.#filterRows(oneRow(r), withoutVocab(o), step, into), 'logits'),
      topk: (z, k) => {
        const values = new Float32Array(k);
        const ids = new Int32Array(k);
        this.#b.topk(z, 1, z.length, k, values, ids);
        return { values, ids };
      },
    };
    return new Sampler(options, hooks);
  }

  /**
   * Options → the backend's FilterOptions, with the decoding rules applied first: softCap and
   * guidance reshape a copy of x; the history rules (history = options.history, else
   * penaltyTokens) become sparse edits; dynamicTemperature gives one temperature per row (null: off).
   */
  #decodeRows(r0: Resolved, options: SampleOptions | undefined, step: DecodeStep | null): { r: Resolved; o: FilterOptions; temperatures: Float64Array | null } {
    const rules = checkRules(options, r0.classes);
    let unconditional: Float32Array | null = step?.unconditional ?? null;
    if (rules.guidance !== null && unconditional === null) {
      const u = rules.guidance.unconditional;
      if (!(u instanceof Float32Array)) fail('invalid_argument', 'options.guidance.unconditional must be a Float32Array (rows × vocab) in one-step calls; functions are for lk.sampler', 'options.guidance.unconditional');
      unconditional = u;
    }
    if (unconditional !== null && unconditional.length !== r0.rows * r0.classes)
      fail('shape_mismatch', `options.guidance.unconditional has ${unconditional.length} values, expected rows × vocab = ${r0.rows * r0.classes}`, 'options.guidance.unconditional');
    const x = shapeRows(r0.x, r0.rows, r0.classes, rules, unconditional);
    const r = x === r0.x ? r0 : { ...r0, x, widened: false, buffer: null };
    const o = this.#filterOptions(r, options, rules, step);
    let temperatures: Float64Array | null = null;
    if (rules.dynamicTemperature !== null) {
      temperatures = new Float64Array(r.rows);
      for (let i = 0; i < r.rows; i++) temperatures[i] = dynamicTemperatureOf(unscaledRow(r.x, i, r.classes, o), o.temperature, rules.dynamicTemperature);
    }
    return { r, o, temperatures };
  }
  // ---- end decoding rules ----

  /**
   * float32 → float16 / bfloat16 bits (round to nearest even, as float32ToFloat16Bits), narrowed
   * inside wasm on the wasm backend; `out` (a Uint16Array of the same length) receives them, e.g.
   * a half-precision tensor's own data.
   */
  toHalfBits(x: Float32Array, dtype: 'float16' | 'bfloat16', options?: { out?: Uint16Array }): Uint16Array {
    this.#live();
    checkOptions(options, keys.ELEMENTWISE_KEYS);
    if (!(x instanceof Float32Array)) fail('invalid_argument', `x = ${describe(x)}, expected a Float32Array`, 'x');
    if (dtype !== 'float16' && dtype !== 'bfloat16') fail('invalid_argument', `dtype = ${describe(dtype)}, expected 'float16' or 'bfloat16'`, 'dtype');
    const out = options?.out ?? new Uint16Array(x.length);
    if (!(out instanceof Uint16Array)) fail('invalid_argument', `options.out = ${describe(out)}, expected a Uint16Array`, 'options.out');
    if (out.length !== x.length) fail('shape_mismatch', `options.out has ${out.length} elements, expected ${x.length}`, 'options.out');
    if (partiallyOverlaps(out, x) || (out.buffer === x.buffer && out.byteOffset === x.byteOffset))
      fail('invalid_argument', 'options.out overlaps x', 'options.out');
    if (x.length > 0) this.#b.narrowHalf(x, dtype, out);
    return out;
  }

  /**
   * Speculative decoding: checks k draft tokens against the target model. targetLogits has k + 1
   * rows (the target's logits at each draft position plus one after the last), draftLogits the
   * draft model's k rows; the same sampling options filter both. Returns how many draft tokens
   * are accepted and the next token (a correction, or the bonus token when all are accepted).
   * A single penaltyTokens list is extended row by row with the draft tokens before that row.
   */
  verifyDraft(targetLogits: LogitsInput, draftLogits: LogitsInput, classes: number, draftTokens: Int32Array, options?: SampleOptions): VerifyDraftResult;
  /** Tensors: the vocabulary is the last of targetLogits' dims. */
  verifyDraft(targetLogits: TensorLike, draftLogits: LogitsInput, draftTokens: Int32Array, options?: SampleOptions): VerifyDraftResult;
  verifyDraft(targetLogits: LogitsInput, draftLogits: LogitsInput, ...args: unknown[]): VerifyDraftResult {
    // classes sits after draftLogits here, so the form is read from that slot: a number, or not.
    const [classes, draftTokens, options] = (typeof args[0] === 'number' || args[0] === null ? args : [undefined, ...args]) as [
      number | undefined,
      Int32Array,
      SampleOptions | undefined,
    ];
    this.#live();
    checkOptions(options, keys.SAMPLE_OPTION_KEYS);
    if (!(draftTokens instanceof Int32Array)) fail('invalid_argument', `draftTokens = ${describe(draftTokens)}, expected an Int32Array of token ids`, 'draftTokens');
    if (options?.xtc !== undefined) fail('invalid_argument', 'options.xtc is not supported by verifyDraft: its kept set is random per row, so p and q would not be the distributions drawn from', 'options.xtc');
    if (options?.logprobs !== undefined) fail('invalid_argument', 'options.logprobs is not supported by verifyDraft', 'options.logprobs');
    // ---- decoding rules: the history rules read penaltyTokens (extended row by row); the row shaping is not supported here ----
    for (const k of ['history', 'softCap', 'guidance', 'dynamicTemperature'] as const)
      if (options?.[k] !== undefined) fail('invalid_argument', `options.${k} is not supported by verifyDraft${k === 'history' ? ' (pass penaltyTokens)' : ''}`, `options.${k}`);
    // ---- end decoding rules ----
    const pt = options?.penaltyTokens;
    if (pt !== undefined && !(pt instanceof Int32Array))
      fail('invalid_argument', `options.penaltyTokens = ${describe(pt)}, expected one Int32Array (verifyDraft appends the draft tokens row by row)`, 'options.penaltyTokens');
    const k = draftTokens.length;
    return this.#withTwoLogits(targetLogits, draftLogits, classes, options, ['targetLogits', 'draftLogits'], (rt0, rd0) => {
      // Two backend calls: the first may grow memory under the second's input, so both work on copies.
      const rt = { ...rt0, x: stable(rt0) };
      const rd = { ...rd0, x: stable(rd0) };
      if (rt.rows !== k + 1) fail('shape_mismatch', `targetLogits has ${rt.rows} rows, expected draftTokens.length + 1 = ${k + 1}`, 'targetLogits');
      if (rd.rows !== k) fail('shape_mismatch', `draftLogits has ${rd.rows} rows, expected draftTokens.length = ${k}`, 'draftLogits');
      for (let i = 0; i < k; i++)
        if (!(draftTokens[i]! >= 0 && draftTokens[i]! < rt.classes))
          fail('target_out_of_range', `draftTokens[${i}] = ${draftTokens[i]}, expected token ids 0 ≤ id < ${rt.classes}`, 'draftTokens');
      const lists = (rows: number): Int32Array[] | undefined => {
        if (pt === undefined) return undefined;
        return Array.from({ length: rows }, (_, i) => {
          const l = new Int32Array(pt.length + i);
          l.set(pt);
          l.set(draftTokens.subarray(0, i), pt.length);
          return l;
        });
      };
      const ot = this.#filterOptions(rt, { ...options, penaltyTokens: lists(k + 1) });
      const od = this.#filterOptions(rd, { ...options, penaltyTokens: lists(k) });
      const next = uniformStream(options);
      const ft = new Float32Array(rt.rows * rt.classes);
      noTokenLeft(this.#b.filterLogits(rt.x, rt.rows, rt.classes, ot, ft));
      const fd = new Float32Array(rd.rows * rd.classes);
      noTokenLeft(this.#b.filterLogits(rd.x, rd.rows, rd.classes, od, fd));
      return verifyDraftRows(ft, fd, rt.classes, draftTokens, next);
    }, 'draftLogits');
  }

  /**
   * XGrammar / llguidance bitmask applied to logits: −inf where bit j of word j>>5 of the row's
   * ⌈classes/32⌉ words is clear, x elsewhere. `mask` holds one row for all or one per row;
   * `out` may be x itself (in place).
   */
  applyTokenBitmask(x: LogitsInput, classes: number, mask: Int32Array, options?: TokenBitmaskOptions): Float32Array;
  applyTokenBitmask(x: TensorLike, mask: Int32Array, options?: TokenBitmaskOptions): Float32Array;
  applyTokenBitmask(x: LogitsInput, ...args: unknown[]): Float32Array {
    const [classes, mask, options] = shapeArgs(args, 1) as [number | undefined, Int32Array, TokenBitmaskOptions | undefined];
    this.#live();
    checkOptions(options, keys.TOKEN_BITMASK_KEYS);
    return this.#withLogits(x, classes, options, (r) => {
      const c = checkConstraints({ tokenBitmask: mask }, r.rows, r.classes);
      if (c.bitmask === null)
        fail('invalid_argument', `mask = ${describe(mask)}, expected an Int32Array of ⌈classes/32⌉ words per row`, 'mask');
      const words = Math.ceil(r.classes / 32);
      const stride = c.bitmask.length === words ? 0 : words;
      for (let row = 0; row < r.rows; row++) {
        let any = 0;
        for (let i = 0; i < words - 1; i++) any |= c.bitmask[row * stride + i]!;
        const tail = r.classes - 32 * (words - 1);
        any |= c.bitmask[row * stride + words - 1]! & (tail === 32 ? -1 : (1 << tail) - 1);
        if (any === 0) fail('no_token_allowed', `mask row ${row} allows no token of the ${r.classes}`, 'mask');
      }
      const out = this.#out(options?.out, r.x.length, r.x, true);
      const y = out.array;
      for (let row = 0; row < r.rows; row++) {
        const base = row * r.classes;
        const at = row * stride;
        for (let j = 0; j < r.classes; j++) y[base + j] = ((c.bitmask[at + (j >> 5)]! >>> (j & 31)) & 1) === 0 ? -Infinity : r.x[base + j]!;
      }
      return out.result();
    });
  }

  // ------------------------------------------------- issue 24: uncertainty
  // OOD scores and conformal sets are kernels (assembly/kernels/{ood,conformal}.ts, reference
  // src/backends/js-uncertainty.ts); calibration, risk–coverage and the metrics are src/metrics/.

  /** One OOD score per row, higher = more likely out of distribution (docs/uncertainty.md). */
  oodScore(x: LogitsInput, classes: number, options?: OodScoreOptions): Float32Array;
  oodScore(x: TensorLike, options?: OodScoreOptions): Float32Array;
  oodScore(x: LogitsInput, ...args: unknown[]): Float32Array {
    const [classes, options] = shapeArgs(args, 0) as [number | undefined, OodScoreOptions | undefined];
    this.#live();
    checkOptions(options, OOD_SCORE_KEYS);
    const method = options?.method ?? 'energy';
    if (!OOD_METHODS.includes(method))
      fail('invalid_argument', `options.method = ${describe(method)}, expected one of ${OOD_METHODS.map((m) => `'${m}'`).join(', ')}`, 'options.method');
    const temperature = checkTemperature(options?.temperature);
    const gamma = options?.gamma ?? 0.1;
    if (typeof gamma !== 'number' || !Number.isFinite(gamma) || gamma <= 0)
      fail('invalid_argument', `options.gamma = ${describe(gamma)}, expected a finite number > 0`, 'options.gamma');
    if (options?.topM !== undefined) {
      const m = checkInteger(options.topM, 'options.topM', 'invalid_k', 'an integer ≥ 1');
      if (m < 1) fail('invalid_k', `options.topM = ${m}, expected an integer ≥ 1`, 'options.topM');
    }
    return this.#withLogits(x, classes, options, (r) => {
      // topM above classes is clamped (the default, 100, exceeds small class counts).
      const topM = Math.min(options?.topM ?? 100, r.classes);
      const out = new Float32Array(r.rows);
      this.#b.oodScore(r.x, r.rows, r.classes, { method, temperature, gamma, topM }, out);
      return out;
    });
  }

  /** The conformal score (lac, aps or raps) of each row's label, as conformalCalibrate uses it. */
  conformalScores(x: LogitsInput, classes: number, labels: Int32Array, options?: ConformalScoreOptions): Float64Array;
  conformalScores(x: TensorLike, labels: Int32Array, options?: ConformalScoreOptions): Float64Array;
  conformalScores(x: LogitsInput, ...args: unknown[]): Float64Array {
    const [classes, labels, options] = shapeArgs(args, 1) as [number | undefined, Int32Array, ConformalScoreOptions | undefined];
    this.#live();
    checkOptions(options, CONFORMAL_SCORE_KEYS);
    const s = conformal.conformalSettings(options, checkTemperature(options?.temperature));
    const first = checkFirstRow(options?.firstRow);
    return this.#withLogits(x, classes, options, (r) => {
      checkLabels(labels, r.rows, r.classes);
      const out = new Float64Array(r.rows);
      this.#b.conformalLabelScores(r.x, r.rows, r.classes, conformalArgs(s, conformal.U_STREAM.calibrate, first, r.rows), labels, out);
      return out;
    });
  }

  /** Split conformal calibration: q̂ from labelled calibration logits → a ConformalModel (plain JSON). */
  conformalCalibrate(x: LogitsInput, classes: number, labels: Int32Array, options?: conformal.ConformalOptions & DTypeOption): conformal.ConformalModel;
  conformalCalibrate(x: TensorLike, labels: Int32Array, options?: conformal.ConformalOptions & DTypeOption): conformal.ConformalModel;
  conformalCalibrate(x: LogitsInput, ...args: unknown[]): conformal.ConformalModel {
    const [classes, labels, options] = shapeArgs(args, 1) as [number | undefined, Int32Array, (conformal.ConformalOptions & DTypeOption) | undefined];
    this.#live();
    checkOptions(options, CONFORMAL_KEYS);
    const s = conformal.conformalSettings(options, checkTemperature(options?.temperature));
    return this.#withLogits(x, classes, options, (r) => {
      checkLabels(labels, r.rows, r.classes);
      const scores = new Float64Array(r.rows);
      this.#b.conformalLabelScores(r.x, r.rows, r.classes, conformalArgs(s, conformal.U_STREAM.calibrate, 0, r.rows), labels, scores);
      return conformal.calibrate(scores, labels, r.classes, s);
    });
  }

  /**
   * Prediction sets of a ConformalModel: CSR offsets / indices (classes in rank order) / sizes.
   * `seed` (default the model's) and `firstRow` (default 0) key each row's u, so a batch split into
   * chunks gives the same sets when each chunk passes its first row.
   */
  predictSets(x: LogitsInput, classes: number, model: conformal.ConformalModel, options?: PredictSetsOptions): conformal.PredictionSets;
  predictSets(x: TensorLike, model: conformal.ConformalModel, options?: PredictSetsOptions): conformal.PredictionSets;
  predictSets(x: LogitsInput, ...args: unknown[]): conformal.PredictionSets {
    // The model is an object like the options: the form is read from the first argument (applyCalibration's rule).
    const classesForm = typeof args[0] === 'number' || args[0] === null || !isTensorLike(x);
    const [classes, model, options] = (classesForm ? args : [undefined, ...args]) as [number | undefined, conformal.ConformalModel, PredictSetsOptions | undefined];
    this.#live();
    checkOptions(options, PREDICT_SETS_KEYS);
    return this.#withLogits(x, classes, options, (r) => {
      const m = conformal.checkModel(model, r.classes);
      const seed = options?.seed === undefined ? m.seed : conformal.checkSeed(options.seed);
      const first = checkFirstRow(options?.firstRow);
      const members = new Int32Array(r.rows * r.classes);
      const sizes = new Int32Array(r.rows);
      const qhat = conformal.qhatArray(m);
      const total = this.#b.conformalSets(r.x, r.rows, r.classes, conformalArgs({ ...m, seed }, conformal.U_STREAM.predict, first, r.rows), qhat, m.classConditional, members, sizes);
      const offsets = new Int32Array(r.rows + 1);
      for (let i = 0; i < r.rows; i++) offsets[i + 1] = offsets[i]! + sizes[i]!;
      return { offsets, indices: members.slice(0, total), sizes };
    });
  }

  /** The risk–coverage curve of abstaining on low confidence (= −oodScore), with AURC, E-AURC, AUGRC. */
  riskCoverage(x: LogitsInput, classes: number, labels: Int32Array, options?: selective.RiskCoverageOptions & DTypeOption): selective.RiskCoverage;
  riskCoverage(x: TensorLike, labels: Int32Array, options?: selective.RiskCoverageOptions & DTypeOption): selective.RiskCoverage;
  riskCoverage(x: LogitsInput, ...args: unknown[]): selective.RiskCoverage {
    const [classes, labels, options] = shapeArgs(args, 1) as [number | undefined, Int32Array, (selective.RiskCoverageOptions & DTypeOption) | undefined];
    this.#live();
    checkOptions(options, RISK_COVERAGE_KEYS);
    const score = options?.score ?? 'msp';
    if (!OOD_METHODS.includes(score))
      fail('invalid_argument', `options.score = ${describe(score)}, expected one of ${OOD_METHODS.map((m) => `'${m}'`).join(', ')}`, 'options.score');
    return this.#withLogits(x, classes, options, (r) => {
      checkLabels(labels, r.rows, r.classes);
      const { dtype: _, ...rest } = options ?? {};
      return selective.riskCoverage(this, stable(r), r.classes, labels, { ...rest, score });
    });
  }

  /**
   * The risk–coverage curve of abstaining on the least confident rows, from one confidence per row
   * and whether its prediction is wrong (0/1): AURC, E-AURC, AUGRC, the risk at 50–100% coverage and
   * the curve, one point per distinct confidence (`maxPoints` thins the curve, not the figures). NaN
   * ranks below every confidence; −0 and +0 are one. Float32Array confidences (or a float32 buffer
   * from lk.alloc, read in place) are computed where the engine computes (wasm SIMD:
   * assembly/kernels/selective.ts), with the bits of the JS backend; Float64Array ones are ranked as
   * float64 numbers by the JS reference on every backend. Definitions and edge cases: docs/uncertainty.md
   * (from confidences and errors).
   *
   * ```ts
   * const rc = lk.riskCoverageFrom(new Float32Array([0.9, 0.8, 0.6, 0.3]), new Uint8Array([0, 0, 1, 1]));
   * rc.aurc; // (0.25·0 + 0.25·0 + 0.25·(1/3) + 0.25·(2/4))
   * ```
   */
  riskCoverageFrom(confidence: Float32Array | Float64Array | LkBuffer<'float32'>, wrong: Uint8Array, options?: RiskCoverageFromOptions): selective.RiskCoverage {
    this.#live();
    checkOptions(options, RISK_COVERAGE_FROM_KEYS);
    let conf: Float32Array | Float64Array;
    if (isLkBuffer(confidence)) {
      const t = (confidence as LkBuffer<BufferType>).type;
      if (t !== 'float32') fail('invalid_argument', `confidence is a ${t} buffer, expected a float32 one`, 'confidence');
      conf = confidence.array;
    } else if (confidence instanceof Float32Array || confidence instanceof Float64Array) conf = confidence;
    else fail('invalid_argument', `confidence = ${describe(confidence)}, expected a Float32Array, a Float64Array or a float32 buffer from lk.alloc`, 'confidence');
    if (!(wrong instanceof Uint8Array)) fail('invalid_argument', `wrong = ${describe(wrong)}, expected a Uint8Array of 0/1, one per row`, 'wrong');
    if (wrong.length !== conf.length)
      fail('shape_mismatch', `confidence holds ${conf.length} values and wrong ${wrong.length}, expected one each per row`, 'wrong');
    const bad = firstNonBinary(wrong);
    if (bad >= 0) fail('invalid_argument', `wrong[${bad}] = ${wrong[bad]}, expected 0 or 1`, 'wrong');
    let maxPoints = 0;
    if (options?.maxPoints !== undefined) {
      maxPoints = checkInteger(options.maxPoints, 'options.maxPoints', 'invalid_argument', 'an integer ≥ 1');
      if (maxPoints < 1) fail('invalid_argument', `options.maxPoints = ${maxPoints}, expected an integer ≥ 1`, 'options.maxPoints');
    }
    return this.#b.riskCoverageFrom(conf, wrong, maxPoints);
  }
  // ---------------------------------------------- end issue 24: uncertainty

  // -------------------------------------------------------------- internals

  #live(): void {
    if (this.#disposed) fail('disposed', 'this engine was disposed; call init() again for a new one');
  }

  /** argmax's `(classes, options)` or, for a tensor, `(options)`: shapeArgs with no positional arguments. */
  #classesAndOptions<O>(classes: number | O | undefined, options: O | undefined): [number | undefined, O | undefined] {
    return shapeArgs([classes, options], 0) as [number | undefined, O | undefined];
  }

  /** ece() and reliability(): bins and labels checked here, the binning itself in metrics/calibration. */
  #reliability(x: LogitsInput, classes: number | undefined, labels: unknown, options: BinsOptions | undefined): calibration.Reliability {
    this.#live();
    checkOptions(options, keys.CALIBRATION_BINS_KEYS);
    const bins = checkBins(options?.bins);
    return this.#withLogits(x, classes, options, (r) =>
      calibration.reliability(this, stable(r), r.classes, checkLabels(labels, r.rows, r.classes), { bins }),
    );
  }

  #rowMap(op: 'softmax' | 'logSoftmax', x: LogitsInput, classes: number | undefined, options?: RowOpOptions): Float32Array {
    this.#live();
    checkOptions(options, keys.ROW_OP_KEYS);
    return this.#withLogits(x, classes, options, (r) => {
      const temperature = checkTemperature(options?.temperature);
      const out = this.#out(options?.out, r.x.length, r.x, true);
      this.#b[op](r.x, r.rows, r.classes, temperature, out.array);
      return out.result();
    });
  }

  #rowReduce(op: 'logsumexp', x: LogitsInput, classes: number | undefined, options?: RowOpOptions): Float32Array {
    this.#live();
    checkOptions(options, keys.ROW_OP_KEYS);
    return this.#withLogits(x, classes, options, (r) => {
      const temperature = checkTemperature(options?.temperature);
      const out = this.#out(options?.out, r.rows, r.x, r.classes === 1);
      this.#b[op](r.x, r.rows, r.classes, temperature, out.array);
      return out.result();
    });
  }

  #elementwise(op: 'sigmoid' | 'logSigmoid', x: ValuesInput, options?: ElementwiseOptions): Float32Array {
    this.#live();
    checkOptions(options, keys.ELEMENTWISE_KEYS);
    const xs = this.#float32(x, 'x');
    const out = this.#out(options?.out, xs.length, xs, true);
    this.#b[op](xs, out.array);
    return out.result();
  }

  /**
   * The output array: the caller's `out` (checked for length and overlap) or a
   * new one. For a zero-copy buffer the view is re-read after the call, since
   * the call may have grown (and so detached) memory.
   */
  #out(out: OutArray | undefined, length: number, x: Float32Array, inPlaceOk: boolean): { array: Float32Array; result(): Float32Array } {
    if (out === undefined) {
      const array = new Float32Array(length);
      return { array, result: () => array };
    }
    let array: Float32Array;
    let result: () => Float32Array;
    if (isLkBuffer(out)) {
      if (out.type !== 'float32') fail('invalid_argument', `options.out is a '${out.type}' buffer, expected 'float32'`, 'options.out');
      array = out.array as Float32Array;
      result = () => out.array as Float32Array;
    } else if (out instanceof Float32Array) {
      array = out;
      result = () => out;
    } else {
      fail('invalid_argument', `options.out = ${describe(out)}, expected a Float32Array or a buffer from alloc()`, 'options.out');
    }
    if (array.length !== length) fail('shape_mismatch', `options.out has ${array.length} elements, expected ${length}`, 'options.out');
    if (array === x || (array.buffer === x.buffer && array.byteOffset === x.byteOffset && array.length === x.length)) {
      if (!inPlaceOk) fail('invalid_argument', 'options.out must not be the input array for this op', 'options.out');
    } else if (partiallyOverlaps(array, x)) {
      fail('invalid_argument', 'options.out overlaps the input without being the same array; use the input itself (in place) or a separate array', 'options.out');
    }
    return { array, result };
  }

  /** A Float32Array view of x: typed arrays as they are, buffers unwrapped, other array-likes converted. */
  #float32(x: unknown, name: string): Float32Array {
    if (x instanceof Float32Array) return x;
    if (isLkBuffer(x)) {
      if (x.type !== 'float32') fail('invalid_argument', `${name} is a '${x.type}' buffer, expected 'float32'`, name);
      return x.array as Float32Array;
    }
    if (x instanceof Float64Array) return Float32Array.from(x);
    if (Array.isArray(x)) return numbersToFloat32(x, name);
    fail('invalid_argument', `${name} = ${describe(x)}, expected a Float32Array (or a Float64Array / number[] to convert)`, name);
  }

  /** Small vectors (weights) must be plain Float32Arrays: nothing is converted behind the caller's back. */
  #plainF32(v: unknown, name: string): Float32Array {
    if (!(v instanceof Float32Array)) fail('shape_mismatch', `${name} = ${describe(v)}, expected a Float32Array`, name);
    return v;
  }

  /**
   * Every op's one way in: checks that the engine is live, resolves the logits (any accepted kind →
   * float32 rows × classes, with shape checks), runs `fn` on them and releases any temporary (half
   * precision widened in backend memory) however `fn` ends.
   */
  #withLogits<T>(x: unknown, classes: number | undefined, options: DTypeOption | undefined, fn: (r: Resolved) => T, name = 'x', after = name): T {
    this.#live();
    const r = this.#logits(x, classes, options, name, after);
    try {
      return fn(r);
    } finally {
      if (r.widened) releaseWidened(r.x);
    }
  }

  /**
   * Two logits arguments (klDiv, verifyDraft, estimateLabelShift), the second resolved with the first's
   * classes. Widening the second may grow backend memory, which detaches the first if it lives there:
   * so a first input widened there is moved to the JS heap first, and one from a zero-copy buffer is
   * re-read once the second is resolved.
   */
  #withTwoLogits<T>(
    a: unknown,
    b: unknown,
    classes: number | undefined,
    options: DTypeOption | undefined,
    names: readonly [string, string],
    fn: (ra: Resolved, rb: Resolved) => T,
    classesAfter: string = names[0],
  ): T {
    return this.#withLogits(
      a,
      classes,
      options,
      (ra) => {
        // The copy is on the JS heap; releasing the widened original now returns its memory early
        // (releasing it again when this op ends is a no-op).
        const x = ra.widened ? ra.x.slice() : ra.x;
        if (ra.widened) releaseWidened(ra.x);
        return this.#withLogits(
          b,
          ra.classes,
          options,
          (rb) => fn({ ...ra, x: ra.buffer !== null ? (ra.buffer.array as Float32Array) : x, widened: false }, rb),
          names[1],
        );
      },
      names[0],
      classesAfter,
    );
  }

  /** Logits of any accepted kind → float32 rows × classes, with shape checks. */
  /** `after`: the argument classes follows in the call's signature (the error message names it). */
  #logits(x: unknown, classes: number | undefined, options: DTypeOption | undefined, name: string, after = name): Resolved {
    let data: unknown = x;
    let c: number | undefined = classes;
    const given = checkDType(options?.dtype);
    let dtype: keys.DType = given ?? 'float32';
    if (isTensorLike(x)) {
      const dims = x.dims;
      const last = dims[dims.length - 1];
      if (dims.length === 0 || last === undefined) fail('shape_mismatch', `${name}.dims is empty, expected at least one axis (classes)`, `${name}.dims`);
      checkDims(dims, x.data, name);
      if (c !== undefined && c !== last) fail('shape_mismatch', `classes = ${c}, but ${name}.dims ends in ${last}`, 'classes');
      c = last;
      data = x.data;
      if ((x.type === 'float16' || x.type === 'bfloat16') && given === undefined) dtype = x.type;
    }
    if (c === undefined)
      fail('shape_mismatch', `classes is missing: ${name} = ${describe(x)} has no .dims to take it from; pass classes after ${after}, or a tensor`, 'classes');
    const cc = checkClasses(c);
    let f32: Float32Array;
    let widened = false;
    const buffer = isLkBuffer(data) && data.type === 'float32' ? (data as LkBuffer<'float32'>) : null;
    if (isLkBuffer(data) && data.type === 'uint16') data = data.array;
    if (isFloat16Array(data)) {
      const d = data as unknown as ArrayBufferView;
      data = new Uint16Array(d.buffer, d.byteOffset, d.byteLength / 2);
      dtype = 'float16';
    }
    if (data instanceof Uint16Array) {
      if (dtype === 'float32')
        fail('invalid_argument', `${name} is a Uint16Array: pass options.dtype 'float16' or 'bfloat16' to say how to read it`, 'options.dtype');
      if (data.length % cc !== 0) fail('shape_mismatch', `${name} has ${data.length} elements, not a multiple of classes = ${cc}`, name);
      f32 = this.#b.widenHalf(data, dtype);
      widened = true;
    } else {
      f32 = this.#float32(data, name);
      if (dtype !== 'float32')
        fail('invalid_argument', `options.dtype = '${dtype}' needs a Uint16Array (or Float16Array) of bits, got ${describe(data)}`, 'options.dtype');
    }
    if (f32.length % cc !== 0) {
      if (widened) releaseWidened(f32);
      fail('shape_mismatch', `${name} has ${f32.length} elements, not a multiple of classes = ${cc}`, name);
    }
    return { x: f32, rows: f32.length / cc, classes: cc, widened, buffer };
  }

  #adjustArgs(classes: number, o: AdjustOptions | undefined): AdjustArgs {
    const temperature = checkTemperature(o?.temperature);
    const vec = (v: unknown, name: string, length: number, what: string): Float32Array | null => {
      if (v === undefined) return null;
      let a: unknown = v;
      if (isLkBuffer(v)) {
        if (v.type !== 'float32') fail('invalid_argument', `${name} is a '${v.type}' buffer, expected 'float32'`, name);
        a = v.array;
      }
      if (!(a instanceof Float32Array)) fail('invalid_argument', `${name} = ${describe(v)}, expected a Float32Array(${length}) (${what})`, name);
      if (a.length !== length) fail('shape_mismatch', `${name} has ${a.length} elements, expected ${length} (${what})`, name);
      for (let i = 0; i < a.length; i++)
        if (!Number.isFinite(a[i]!)) fail('invalid_argument', `${name}[${i}] = ${a[i]}, expected finite values`, name);
      return a;
    };
    if (o?.scale !== undefined && o?.matrix !== undefined)
      fail('invalid_argument', 'pass either options.scale (a diagonal W) or options.matrix (a full W), not both', 'options.matrix');
    const scale = vec(o?.scale, 'options.scale', classes, 'one weight per class');
    const bias = vec(o?.bias, 'options.bias', classes, 'one per class');
    const matrix = vec(o?.matrix, 'options.matrix', classes * classes, `classes × classes = ${classes}×${classes}, row-major`);
    return { temperature, scale, bias, matrix };
  }

  #crossEntropyTarget(r: Resolved, target: unknown, options: CrossEntropyOptions | undefined): CrossEntropyTarget {
    if (isLkBuffer(target) && target.type === 'int32') target = target.array;
    const eps = options?.labelSmoothing ?? 0;
    if (typeof eps !== 'number' || !(eps >= 0 && eps <= 1))
      fail('invalid_label_smoothing', `options.labelSmoothing = ${describe(eps)}, expected a number in [0, 1]`, 'options.labelSmoothing');
    let weight: Float32Array | null = null;
    if (options?.weight !== undefined) {
      weight = this.#plainF32(options.weight, 'options.weight');
      if (weight.length !== r.classes)
        fail('shape_mismatch', `options.weight has ${weight.length} elements, expected ${r.classes} (one per class)`, 'options.weight');
    }
    if (target instanceof Int32Array) {
      if (target.length !== r.rows)
        fail('shape_mismatch', `target has ${target.length} class indices, expected ${r.rows} (one per row)`, 'target');
      const ignoreIndex = options?.ignoreIndex ?? -100;
      if (typeof ignoreIndex !== 'number' || !Number.isInteger(ignoreIndex))
        fail('invalid_argument', `options.ignoreIndex = ${describe(ignoreIndex)}, expected an integer`, 'options.ignoreIndex');
      // In the backend: a vectorised pass in wasm (a JavaScript loop here cost a tenth of a short-row loss).
      const i = this.#b.firstBadTarget(target, r.classes, ignoreIndex);
      if (i >= 0)
        fail(
          'target_out_of_range',
          `target[${i}] = ${target[i]}, expected 0 ≤ t < ${r.classes} or ignoreIndex (${ignoreIndex})`,
          'target',
        );
      return { kind: 'class', target, ignoreIndex, weight, labelSmoothing: eps };
    }
    if (target instanceof Float32Array || isLkBuffer(target)) {
      const q = this.#float32(target, 'target');
      if (q.length !== r.rows * r.classes)
        fail(
          'shape_mismatch',
          `target is a Float32Array of ${q.length} probabilities, expected rows × classes = ${r.rows * r.classes}` +
            ' (class indices must be an Int32Array)',
          'target',
        );
      const ii = options?.ignoreIndex;
      if (ii !== undefined && (typeof ii !== 'number' || !Number.isInteger(ii)))
        fail('invalid_argument', `options.ignoreIndex = ${describe(ii)}, expected an integer`, 'options.ignoreIndex');
      if (ii !== undefined && ii >= 0)
        fail('invalid_argument', 'options.ignoreIndex ≥ 0 is not supported with probability targets (as in PyTorch)', 'options.ignoreIndex');
      return { kind: 'prob', target: q, weight, labelSmoothing: eps };
    }
    fail(
      'shape_mismatch',
      `target = ${describe(target)}, expected an Int32Array(${r.rows}) of class indices or a Float32Array(${r.rows * r.classes}) of probabilities`,
      'target',
    );
  }

  #filterOptions(r: Resolved, o: SampleOptions | undefined, rules: ResolvedRules | null = null, step: DecodeStep | null = null): FilterOptions {
    const temperature = o?.temperature ?? 1;
    if (typeof temperature !== 'number' || !Number.isFinite(temperature) || temperature < 0)
      fail('invalid_temperature', `options.temperature = ${describe(temperature)}, expected a finite number ≥ 0 (0 = greedy)`, 'options.temperature');
    const topK = o?.topK ?? 0;
    if (typeof topK !== 'number' || !Number.isInteger(topK) || topK < 0)
      fail('invalid_k', `options.topK = ${describe(topK)}, expected an integer ≥ 0 (0 = off)`, 'options.topK');
    const topP = o?.topP ?? 1;
    if (typeof topP !== 'number' || !(topP > 0 && topP <= 1))
      fail('invalid_argument', `options.topP = ${describe(topP)}, expected a number in (0, 1] (1 = off)`, 'options.topP');
    const minP = o?.minP ?? 0;
    if (typeof minP !== 'number' || !(minP >= 0 && minP <= 1))
      fail('invalid_argument', `options.minP = ${describe(minP)}, expected a number in [0, 1] (0 = off)`, 'options.minP');
    const repetitionPenalty = o?.repetitionPenalty ?? 1;
    if (typeof repetitionPenalty !== 'number' || !Number.isFinite(repetitionPenalty) || repetitionPenalty <= 0)
      fail('invalid_argument', `options.repetitionPenalty = ${describe(repetitionPenalty)}, expected a finite number > 0 (1 = off)`, 'options.repetitionPenalty');
    const minTokensToKeep = o?.minTokensToKeep ?? 1;
    if (typeof minTokensToKeep !== 'number' || !Number.isInteger(minTokensToKeep) || minTokensToKeep < 1)
      fail('invalid_argument', `options.minTokensToKeep = ${describe(minTokensToKeep)}, expected an integer ≥ 1`, 'options.minTokensToKeep');
    let penaltyTokens: Int32Array[] | null = null;
    // ---- decoding rules: `history` fills in for penaltyTokens and feeds the history rules ----
    const history = o?.history !== undefined ? perRowLists(o.history, 'history', r.rows, r.classes) : null;
    if (o?.penaltyTokens === undefined && history !== null) penaltyTokens = history;
    // ---- end decoding rules ----
    if (o?.penaltyTokens !== undefined) penaltyTokens = perRowLists(o.penaltyTokens, 'penaltyTokens', r.rows, r.classes);
    if (o?.seed !== undefined && (typeof o.seed !== 'number' || !Number.isFinite(o.seed)))
      fail('invalid_argument', `options.seed = ${describe(o.seed)}, expected a finite number`, 'options.seed');
    if (o?.random !== undefined && typeof o.random !== 'function')
      fail('invalid_argument', `options.random = ${describe(o.random)}, expected a function returning numbers in [0, 1)`, 'options.random');
    if (o?.random !== undefined && o?.seed !== undefined)
      fail('invalid_argument', 'pass either options.seed or options.random, not both', 'options.random');
    const samplers = checkSamplers(o);
    const constraints = checkConstraints(o, r.rows, r.classes);
    // ---- decoding rules: the history rules as sparse per-row edits ----
    rules ??= checkRules(o, r.classes);
    let adjust: HistoryAdjust[] | null = null;
    const lists = history ?? penaltyTokens;
    const historyRules = rules.dry !== null || rules.ngram > 0 || rules.badWords !== null || rules.sequenceBias !== null || rules.thinking !== null;
    if (historyRules || step !== null) {
      adjust = [];
      for (let i = 0; i < r.rows; i++) {
        const a = historyAdjust(lists?.[i] ?? new Int32Array(0), rules, step?.thinking ?? null);
        if (step !== null) for (const t of step.bans) a.ban.add(t);
        adjust.push(a);
      }
    }
    // ---- end decoding rules ----
    const prepared = prepareRows(r.x, r.rows, r.classes, constraints, repetitionPenalty, penaltyTokens, adjust);
    return { temperature, topK, topP, minP, repetitionPenalty, penaltyTokens, minTokensToKeep, ...samplers, xtcDraws: null, ...prepared };
  }
}

/**
 * The logits as an array no later engine call can detach: ops that make several calls (the
 * calibration metrics, label shift) copy what lives in backend memory, since any call may grow it.
 */
function stable(r: Resolved): Float32Array {
  return transient(r) ? r.x.slice() : r.x;
}

/** Options minus dtype, which the engine has applied, for metrics that check their own keys. */
function withoutDType<O extends DTypeOption>(o: O | undefined): Omit<O, 'dtype'> | undefined {
  if (o === undefined) return undefined;
  const { dtype: _applied, ...rest } = o;
  return rest;
}

/** A backend's report of a row left with no token (constraints) becomes a coded error. */
function noTokenLeft(row: number): void {
  if (row >= 0)
    fail('no_token_allowed', `row ${row} has no token left: the constraints (tokenBitmask, allowedTokens, suppressTokens) allow none with a logit above -inf`, 'options');
}

// ---- decoding rules (issue 25) ----
/** lk.sampler takes one row of logits per step. */
function oneRow(r: Resolved): Resolved {
  if (r.rows !== 1) fail('shape_mismatch', `logits has ${r.rows} rows of vocab = ${r.classes}, expected one row (lk.sampler samples one sequence)`, 'logits');
  return r;
}

function withoutVocab(o: Record<string, unknown> & { vocab: number }): SampleOptions {
  const { vocab: _vocab, ...rest } = o;
  return rest as SampleOptions;
}

/** Row i's logits as the temperature stage receives them (edits and mask applied, NaN → −inf), in float64. */
function unscaledRow(x: Float32Array, i: number, classes: number, o: FilterOptions): Float64Array {
  const z = new Float64Array(classes);
  for (let j = 0; j < classes; j++) z[j] = x[i * classes + j]!;
  const e = o.edits;
  if (e !== null) for (let q = e.offsets[i]!; q < e.offsets[i + 1]!; q++) z[e.ids[q]!] = e.values[q]!;
  if (o.mask !== null) {
    const at = i * o.maskStride;
    for (let j = 0; j < classes; j++) if (((o.mask[at + (j >> 5)]! >>> (j & 31)) & 1) === 0) z[j] = -Infinity;
  }
  for (let j = 0; j < classes; j++) if (z[j] !== z[j]) z[j] = -Infinity;
  return z;
}

/** Row i of o as one-row FilterOptions with temperature t (dynamicTemperature runs row by row). */
function rowOptions(o: FilterOptions, i: number, t: number): FilterOptions {
  let edits = o.edits;
  if (edits !== null) {
    const a = edits.offsets[i]!;
    const b = edits.offsets[i + 1]!;
    edits = { offsets: Int32Array.of(0, b - a), ids: edits.ids.slice(a, b), values: edits.values.slice(a, b) };
  }
  const words = o.maskStride;
  const mask = o.mask === null || words === 0 ? o.mask : o.mask.subarray(i * words, (i + 1) * words);
  return { ...o, temperature: t, edits, mask, maskStride: 0, xtcDraws: o.xtcDraws === null ? null : o.xtcDraws.subarray(i, i + 1), penaltyTokens: o.penaltyTokens === null ? null : [o.penaltyTokens[i]!] };
}
// ---- end decoding rules ----

/** The uniforms drawUniforms would give, one at a time. */
function uniformStream(o: SampleOptions | undefined): () => number {
  if (o?.random !== undefined) {
    const random = o.random;
    return () => {
      const v = random();
      if (typeof v !== 'number' || !(v >= 0 && v < 1))
        throw new LogitkitError('invalid_argument', `options.random() returned ${describe(v)}, expected a number in [0, 1)`, 'options.random');
      return v;
    };
  }
  return o?.seed !== undefined ? splitMix32(o.seed) : Math.random;
}

/**
 * One uniform in [0, 1) per row. A seed gives a reproducible stream (the same on
 * every backend, since it is drawn here); `random` lets the caller supply one.
 */
function drawUniforms(rows: number, o: SampleOptions | undefined): Float64Array {
  const u = new Float64Array(rows);
  if (o?.random !== undefined) {
    for (let i = 0; i < rows; i++) {
      const v = o.random();
      if (typeof v !== 'number' || !(v >= 0 && v < 1))
        throw new LogitkitError('invalid_argument', `options.random() returned ${describe(v)}, expected a number in [0, 1)`, 'options.random');
      u[i] = v;
    }
    return u;
  }
  const next = o?.seed !== undefined ? splitMix32(o.seed) : Math.random;
  for (let i = 0; i < rows; i++) u[i] = next();
  return u;
}

/**
 * A small, well-mixed 32-bit generator (splitmix32). Two draws make one
 * 53-bit uniform so that probabilities down to 2^-53 are reachable.
 */
export function splitMix32(seed: number): () => number {
  // The generator lives in sampler.ts, where lk.sampler saves and restores its position.
  const g = new SplitMix32(seed);
  return () => g.next();
}
