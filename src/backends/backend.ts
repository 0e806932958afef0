/**
 * What every backend implements. The Engine calls these with arguments it has
 * already validated and normalised (shapes consistent, options resolved to
 * concrete values, outputs allocated), so a backend only computes.
 *
 * Conventions: `x` is a row-major Float32Array of rows * classes values;
 * `out` arrays are allocated by the engine (and may be `x` itself for the
 * in-place elementwise/row-wise ops). Reductions return float64 numbers.
 */
export type BackendName = 'wasm' | 'js';
/** How a loss reduces over rows: per row, summed, or averaged (PyTorch's names). */
export type Reduction = 'none' | 'sum' | 'mean';

/** What the running build can do; `lk.features`. */
export interface Features {
  /** 128-bit wasm SIMD (always true for the wasm backend). */
  simd: boolean;
  /** The relaxed-SIMD build (fused multiply-add in the exp polynomial) is running. */
  relaxedSimd: boolean;
  /** Threads a large row-wise call is split across (1 = the calling thread only). */
  threads: number;
  /**
   * Why init() runs on one thread although more were asked for (the text of the one-time
   * warning, which only the first such init() prints); absent otherwise.
   */
  threadsUnavailable?: string;
  /** Why init() runs this build (relaxed SIMD or SIMD128: see src/build-choice.ts); absent for the JS backend. */
  buildReason?: string;
}


/** Class-index or probability targets for cross-entropy, fully normalised. */
export type CrossEntropyTarget =
  | {
      kind: 'class';
      target: Int32Array; // rows
      ignoreIndex: number;
      weight: Float32Array | null; // classes
      labelSmoothing: number; // in [0, 1]
    }
  | {
      kind: 'prob';
      target: Float32Array; // rows * classes
      weight: Float32Array | null;
      labelSmoothing: number;
    };

export interface BceArgs {
  /** Weight: null, or a vector repeated every `weightPeriod` elements (classes, or x.length for one per element). */
  weight: Float32Array | null;
  weightPeriod: number;
  /** Per-class positive weight (period = classes), or null. */
  posWeight: Float32Array | null;
  /** Period of posWeight (and of per-class weights): classes, or x.length when no class structure was given. */
  classes: number;
}

/** Normalised sampling / filtering options (issue: generation). */
export interface FilterOptions {
  temperature: number; // > 0, or 0 for greedy
  topK: number; // 0 = off
  topP: number; // 1 = off
  minP: number; // 0 = off
  repetitionPenalty: number; // 1 = off
  /** Per-row lists of token ids already generated (same list may be shared by all rows). */
  penaltyTokens: Int32Array[] | null;
  minTokensToKeep: number; // >= 1
  topNSigma: number; // 0 = off
  epsilon: number; // 0 = off
  eta: number; // 0 = off
  /** Hugging Face typical-p mass; 1 = off. Runs after min-p, or right after top-k with temperatureLast (llama.cpp order). */
  typicalP: number;
  /** llama.cpp order: the filters see the logits before temperature, which only shapes the draw. */
  temperatureLast: boolean;
  /** XTC: applies to row r when xtcDraws[r] < probability (null = off). */
  xtc: { probability: number; threshold: number } | null;
  xtcDraws: Float64Array | null;
  /**
   * Sparse per-row replacements of x before temperature — logit bias and penalties, computed once
   * in src/sampling.ts so both backends use the very same float32 values; null = none.
   * Backends apply these, not repetitionPenalty / penaltyTokens above (kept for the record).
   */
  edits: RowEdits | null;
  /** Allowed-token bitmask, ⌈classes/32⌉ words per row (bit j of word j>>5); maskStride 0 = one mask for every row. */
  mask: Int32Array | null;
  maskStride: number;
  /** Constraint options were given: a row left without a token is an error, never a silent token 0. */
  constrained: boolean;
}

/** Per-row lists: row r's entries are ids/values[offsets[r] .. offsets[r + 1]). */
export interface RowEdits {
  offsets: Int32Array;
  ids: Int32Array;
  values: Float32Array;
}

/** Normalised adjustLogits parameters (lengths already checked by the engine). */
export interface AdjustArgs {
  temperature: number; // finite, > 0
  scale: Float32Array | null; // classes
  bias: Float32Array | null; // classes
  matrix: Float32Array | null; // classes * classes, row-major
}

/** One block of the row-summary accumulator (Engine.rowScoreAccumulator). */
export interface ScoreRowsArgs {
  rows: number;
  classes: number;
  /** Equal-width confidence bins. */
  bins: number;
  /** The k of top-k accuracy, in [1, classes]. */
  k: number;
  /** Rows per chunk (rowScoreChunkRows): partial sums are kept per fixed chunk and added in chunk order, whatever the threads. */
  chunkRows: number;
}

/** One block of the Poisson-bootstrap accumulator (Engine.bootstrapAccumulator). */
export interface BootstrapArgs {
  rows: number;
  /** seedKeyOf(seed, shard key) (src/bootstrap-weights.ts). */
  seedKey: number;
  /** Index of the block's first row in its shard (an integer below 2^53). */
  first: number;
  replicates: number;
  bins: number;
  /** Rows per chunk (BOOTSTRAP_CHUNK_ROWS): partial sums are kept per fixed chunk and added in chunk order, whatever the threads. */
  chunkRows: number;
}

// ---- issue 24 (uncertainty) ----
/** The out-of-distribution scores of `lk.oodScore` and `riskCoverage`'s `score` (docs/uncertainty.md has their formulas). */
export type OodMethodName = 'msp' | 'maxLogit' | 'energy' | 'entropy' | 'margin' | 'gen';
/** The conformal scores of class j: LAC 1 − p_j; APS the probability ranked before j plus u·p_j; RAPS APS plus λ·max(0, rank_j − kReg). */
export type ConformalMethodName = 'lac' | 'aps' | 'raps';
/** Normalised oodScore options: temperature finite > 0, gamma finite > 0, 1 ≤ topM ≤ classes. */
/** The state aurocCounts adds to (src/accumulators.ts AurocHistogram owns it). */
export interface AurocCountsArgs {
  /** classes × AUROC_BINS packed cells. */
  cells: Uint32Array;
  /**
   * Per class 2 + 2·logCap u32: the used entries, the rows of this call done (a call starts each class
   * there and writes back where it stopped), then (bin, spilled cell value) pairs.
   */
  log: Uint32Array;
  /** Spill entries per class; a class stops before a row that could spill into a full log. */
  logCap: number;
  /** Rows a cell takes before it spills (1 … 16383). */
  limit: number;
}

export interface OodArgs {
  method: OodMethodName;
  temperature: number;
  gamma: number;
  topM: number;
}
/** Normalised conformal score parameters: `uniforms` one u per row in [0, 1), or null for u = 1. */
export interface ConformalArgs {
  method: ConformalMethodName;
  temperature: number;
  uniforms: Float64Array | null;
  lambda: number;
  kReg: number;
}

export interface Backend extends BackendAllocator {
  readonly name: BackendName;
  readonly features: Features;
  /** Bytes one call or buffer may take (init({ memoryLimit })); the engine refuses larger alloc() sizes. */
  readonly memoryLimit: number;

  logsumexp(x: Float32Array, rows: number, classes: number, temperature: number, out: Float32Array): void;
  softmax(x: Float32Array, rows: number, classes: number, temperature: number, out: Float32Array): void;
  logSoftmax(x: Float32Array, rows: number, classes: number, temperature: number, out: Float32Array): void;
  sigmoid(x: Float32Array, out: Float32Array): void;
  logSigmoid(x: Float32Array, out: Float32Array): void;
  argmax(x: Float32Array, rows: number, classes: number, out: Int32Array): void;
  topk(x: Float32Array, rows: number, classes: number, k: number, values: Float32Array, indices: Int32Array): void;

  /**
   * The first i with target[i] neither a class in [0, classes) nor ignoreIndex, or −1: the engine's
   * check of class targets, before any loss is computed.
   */
  firstBadTarget(target: Int32Array, classes: number, ignoreIndex: number): number;
  /**
   * Cross-entropy. With reduction 'none' the per-row losses are written to `out`
   * (length rows) and the return value is NaN; otherwise the reduced loss is returned.
   */
  crossEntropy(x: Float32Array, rows: number, classes: number, t: CrossEntropyTarget, reduction: Reduction, out: Float32Array | null): number;
  /** Loss (reduced) and its gradient w.r.t. x written to `grad` (rows * classes), one fused pass. */
  crossEntropyWithGrad(x: Float32Array, rows: number, classes: number, t: CrossEntropyTarget, reduction: 'sum' | 'mean', grad: Float32Array): number;
  bceWithLogits(x: Float32Array, target: Float32Array, a: BceArgs, reduction: Reduction, out: Float32Array | null): number;
  entropy(x: Float32Array, rows: number, classes: number, out: Float32Array): void;
  /** KL(softmax(p) || softmax(q)) per row into out; returns the sum over rows. */
  klDiv(p: Float32Array, q: Float32Array, rows: number, classes: number, out: Float32Array): number;

  /** Processed logits (−inf outside the kept set) into out (may be x). */
  filterLogits(x: Float32Array, rows: number, classes: number, o: FilterOptions, out: Float32Array): number;
  /**
   * One token per row; `uniforms[r]` in [0, 1) is the random draw for row r. Both return −1, or
   * (with o.constrained) the first row that has no token left, which the engine reports.
   */
  sample(x: Float32Array, rows: number, classes: number, o: FilterOptions, uniforms: Float64Array, out: Int32Array): number;

  /**
   * z' = W (x / temperature) + b per row (W: identity, diag(scale) or the classes² `matrix`;
   * at most one of scale / matrix; null = absent). `out` may be x unless `matrix` is given.
   */
  adjustLogits(x: Float32Array, rows: number, classes: number, a: AdjustArgs, out: Float32Array): void;

  /**
   * Adds a block's rows to the Poisson-bootstrap replicate sums in `state` (length
   * bootstrapStateLength(replicates, bins), layout in assembly/kernels/score.ts); hit is 0/1 per row,
   * nll and conf per row. Returns the rows whose confidence is NaN.
   */
  bootstrapSums(a: BootstrapArgs, hit: Uint8Array, nll: Float64Array, conf: Float32Array, state: Float64Array): number;

  /**
   * Adds rows × classes probabilities to the packed AUROC cells (one u32 per class and bin: rows in
   * the high 14 bits, position sum in the low 18; spills into the per-class logs, layout in
   * assembly/kernels/score.ts aurocCounts). Each class goes on from the rows done in its log and stops
   * where its log could overflow (the caller drains the logs and calls again until every class has
   * done all rows); rows whose first value is NaN are skipped.
   */
  aurocCounts(p: Float32Array, rows: number, classes: number, a: AurocCountsArgs): void;

  /**
   * One class's packed AUROC cells (AUROC_BINS of them) → its non-empty ones as (bin, rows, position
   * sum) triples in `out` (room for 3 · cells.length), ascending; returns how many (assembly/kernels/
   * score.ts aurocClassBins). The spilled side counts are not in the cells: the caller folds them in.
   */
  aurocClassBins(cells: Uint32Array, out: Uint32Array): number;

  /**
   * Adds a block to the row-summary state (Engine.rowScoreAccumulator; layout in src/accumulators.ts
   * rowScoreLayout): x, p = softmax(x/T), lp = logSoftmax(x/T) rows × classes, labels and pred per
   * row, all checked. Writes each row's hit (0/1), NLL and confidence p_pred.
   */
  scoreRows(a: ScoreRowsArgs, x: Float32Array, p: Float32Array, lp: Float32Array, labels: Int32Array, pred: Int32Array, state: Float64Array, hit: Uint8Array, nll: Float64Array, conf: Float32Array): void;
  /**
   * scoreRows from the logits alone: p = softmax(x/T), lp = logSoftmax(x/T) and pred = argmax(x) are
   * made in the same pass, with the bits of the softmax, logSoftmax and argmax ops; p is written out when
   * given (else not kept), pred always, and each row's p_y (p's bits) into py when given.
   */
  scoreLogits(a: ScoreRowsArgs, temperature: number, x: Float32Array, p: Float32Array | null, labels: Int32Array, pred: Int32Array, state: Float64Array, hit: Uint8Array, nll: Float64Array, conf: Float32Array, py: Float32Array | null): void;

  /**
   * Engine.overlap: runs `ops` and `meanwhile` (overlapOnce's contract, below), overlapped where the
   * backend has worker threads (wasm-runtime.ts overlap), else `meanwhile` after `ops`.
   */
  overlap<T>(meanwhile: () => void, ops: () => T): T;

  // ---- the fingerprint hash (Engine.hasher): src/backends/js-hash.ts, assembly/kernels/hash.ts
  /** Adds the words x to a hash state (HASH_STATE_WORDS, in this backend's memory). */
  hashUpdate(state: Uint32Array, x: Uint32Array): void;
  /** The state's 128-bit digest into out (4 words); the state is spent. */
  hashDigest(state: Uint32Array, out: Uint32Array): void;

  // ---- issue 24 (uncertainty): src/backends/js-uncertainty.ts, assembly/kernels/{ood,conformal}.ts
  /** One OOD score per row (higher = more likely out of distribution) into out. */
  oodScore(x: Float32Array, rows: number, classes: number, a: OodArgs, out: Float32Array): void;
  /** The conformal score of each row's label (labels already checked) into out. */
  conformalLabelScores(x: Float32Array, rows: number, classes: number, a: ConformalArgs, labels: Int32Array, out: Float64Array): void;
  /**
   * Prediction sets: the classes with score ≤ q̂ (qhat: one value, or one per class when perClass),
   * packed row after row in rank order into members (room for rows × classes), sizes per row; returns the total.
   */
  conformalSets(x: Float32Array, rows: number, classes: number, a: ConformalArgs, qhat: Float64Array, perClass: boolean, members: Int32Array, sizes: Int32Array): number;

  // ---- selective prediction (Engine.riskCoverageFrom): src/backends/js-selective.ts, assembly/kernels/selective.ts
  /**
   * The risk–coverage curve and figures of one confidence and one 0/1 error per row (lengths equal,
   * errors checked). maxPoints > 0 keeps a curve point each 1/maxPoints of coverage (and the last),
   * 0 every point. Float64Array confidences are ranked as float64 numbers (every backend: the JS
   * reference); Float32Array ones bit-identically by every backend.
   */
  riskCoverageFrom(confidence: Float32Array | Float64Array, wrong: Uint8Array, maxPoints: number): RiskCoverage;

  // ---- issue 21 item 5: src/backends/js-fit.ts, assembly/kernels/fit.ts
  /**
   * The temperature fit's sums over a block of labelled rows (labels checked) at `temperature`:
   * out[0] = Σ −log_softmax(x/T)[y], out[1] = Σ dNLL/dβ, out[2] = Σ d²NLL/dβ² (β = 1/T).
   */
  temperatureFitSums(x: Float32Array, rows: number, classes: number, labels: Int32Array, temperature: number, out: Float64Array): void;

  /** Widen IEEE half (float16) or bfloat16 bits to float32. The wasm backend returns a view into its memory. */
  widenHalf(bits: Uint16Array, dtype: 'float16' | 'bfloat16'): Float32Array;
  /** Narrow float32 to IEEE half or bfloat16 bits (round to nearest even), into out. */
  narrowHalf(x: Float32Array, dtype: 'float16' | 'bfloat16', out: Uint16Array): void;

  /** Bytes of wasm memory reserved and handed out (0 for backends without wasm memory). */
  memoryStats(): { wasmBytes: number; inUse: number };

  /** Release resources (workers, memory). The backend is unusable afterwards. */
  dispose(): void;
}

import type { BufferType, LkBuffer } from '../buffers.js';
import type { RiskCoverage } from '../risk-coverage.js';

export interface BackendAllocator {
  /**
   * A buffer living in the backend's own storage (wasm memory for wasm); its contents are whatever was
   * there, or zeros with `zeroed` (cleared only where memory was used before).
   */
  alloc<T extends BufferType>(length: number, type: T, zeroed?: boolean): LkBuffer<T>;
}

/**
 * Backend.overlap's contract, for every backend: `meanwhile` runs exactly once — when `ops` calls the
 * `once` it is given (a pool job does, beside its chunks), else after `ops` ends, also when `ops`
 * throws; `ops` always runs to its end; when both throw, the error of `ops` is the one thrown.
 */
export function overlapOnce<T>(meanwhile: () => void, ops: (once: () => void) => T): T {
  let ran = false;
  let failed = false;
  let error: unknown = null;
  const once = (): void => {
    if (ran) return;
    ran = true;
    try {
      meanwhile();
    } catch (e) {
      failed = true;
      error = e;
    }
  };
  let result: T;
  try {
    result = ops(once);
  } finally {
    once();
  }
  if (failed) throw error;
  return result;
}
