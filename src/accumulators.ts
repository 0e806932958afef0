/**
 * Accumulators whose state the engine keeps and its backend updates block by block (the wasm kernels
 * in assembly/kernels/score.ts, the float64 reference in backends/js-score.ts). metrics/ feeds them
 * per-block values and only combines the statistics they return.
 */
import type { Backend } from './backends/backend.js';
import { seedKeyOf } from './bootstrap-weights.js';
import { describeValue as describe, fail } from './errors.js';
import { MAX_REPLICATES } from './limits.js';
import { checkBins } from './options.js';
import { AUROC_BINS, AUROC_MAX_CLASSES, AUROC_U32_ROWS } from './auroc-bins.js';

export interface BootstrapAccumulatorOptions {
  /** Replicates R, an integer in [1, 10000]. */
  replicates: number;
  /** Equal-width confidence bins (default 15). */
  bins?: number;
  /** Seed of the weights, an integer in [0, 2^53) (default 0). */
  seed?: number;
}

/** The per-replicate sums of a BootstrapAccumulator; bins flat as [replicate · bins + bin]. */
export interface BootstrapReplicateSums {
  replicates: number;
  bins: number;
  seed: number;
  /** Rows whose confidence was NaN (in the replicate sums, left out of the bins). */
  nanRows: number;
  /** [r]: Σ w, Σ w·correct, Σ w·NLL. */
  weight: Float64Array;
  correct: Float64Array;
  nll: Float64Array;
  /** [r · bins + b]: Σ w, Σ w·confidence, Σ w·correct of the rows in confidence bin b. */
  binWeight: Float64Array;
  binConf: Float64Array;
  binCorrect: Float64Array;
}

/** float64 values of the state: replicates rounded up to 8, × (3 + 3 · bins). */
export function bootstrapStateLength(replicates: number, bins: number): number {
  return ((replicates + 7) & ~7) * (3 + 3 * bins);
}

/**
 * Poisson-bootstrap replicate sums (src/metrics/bootstrap.ts describes the method): row i of the shard
 * `key` has, in replicate r, the Poisson(1) weight of src/bootstrap-weights.ts, a pure function of
 * (seed, key, i, r), so the sums do not depend on how rows are split into blocks, threads or shards.
 * Per replicate: Σ w, Σ w·correct, Σ w·NLL and, per confidence bin, Σ w, Σ w·conf, Σ w·correct.
 * Integer sums are exact; float64 sums equal the JS reference's to ≈ 1e-16 relative (the wasm kernel
 * adds in another order; every product w·x is exact).
 *
 * Made by `lk.bootstrapAccumulator(options)`. The state is a float64 array of
 * bootstrapStateLength(replicates, bins) values held by this object (the wasm backend copies it in and
 * out around each block: 77 KB at 200 replicates × 15 bins, small next to a block's work).
 */
export class BootstrapAccumulator {
  readonly replicates: number;
  readonly bins: number;
  readonly seed: number;
  readonly #b: Backend;
  readonly #live: () => void;
  readonly #state: Float64Array;
  #nanRows = 0;

  /** @internal Use lk.bootstrapAccumulator(options). */
  constructor(backend: Backend, live: () => void, options: BootstrapAccumulatorOptions) {
    if (options === null || typeof options !== 'object') fail('invalid_argument', `options = ${describe(options)}, expected { replicates, bins?, seed? }`, 'options');
    const R = options.replicates;
    if (typeof R !== 'number' || !Number.isInteger(R) || R < 1 || R > MAX_REPLICATES)
      fail('invalid_argument', `options.replicates = ${describe(R)}, expected an integer in [1, ${MAX_REPLICATES}]`, 'options.replicates');
    const bins = checkBins(options.bins);
    const seed = options.seed ?? 0;
    if (typeof seed !== 'number' || !Number.isSafeInteger(seed) || seed < 0) fail('invalid_argument', `options.seed = ${describe(seed)}, expected an integer in [0, 2^53)`, 'options.seed');
    const length = bootstrapStateLength(R, bins);
    if (length * 8 > backend.memoryLimit)
      fail('out_of_memory', `${R} replicates × ${bins} bins need ${length * 8} bytes of sums, more than the memory limit of ${backend.memoryLimit} bytes`, 'options.replicates');
    this.replicates = R;
    this.bins = bins;
    this.seed = seed;
    this.#b = backend;
    this.#live = live;
    this.#state = new Float64Array(length);
  }

  /**
   * Adds one block of rows: per row whether the prediction was correct (0/1), its NLL and its
   * top-label confidence; `at` places the block: its shard's key (an integer in [0, 2^32), default 0)
   * and the index in that shard of its first row.
   */
  add(rows: { hit: Uint8Array; nll: Float64Array; conf: Float32Array }, at: { key?: number; row: number }): void {
    this.#live();
    const { hit, nll, conf } = rows ?? ({} as never);
    if (!(hit instanceof Uint8Array)) fail('invalid_argument', `rows.hit = ${describe(hit)}, expected a Uint8Array of 0/1`, 'rows.hit');
    if (!(nll instanceof Float64Array)) fail('invalid_argument', `rows.nll = ${describe(nll)}, expected a Float64Array`, 'rows.nll');
    if (!(conf instanceof Float32Array)) fail('invalid_argument', `rows.conf = ${describe(conf)}, expected a Float32Array`, 'rows.conf');
    const n = hit.length;
    if (nll.length !== n || conf.length !== n) fail('shape_mismatch', `rows.hit, rows.nll and rows.conf hold ${n}, ${nll.length} and ${conf.length} values, expected one each per row`, 'rows');
    for (let i = 0; i < n; i++) if (hit[i]! > 1) fail('invalid_argument', `rows.hit[${i}] = ${hit[i]}, expected 0 or 1`, 'rows.hit');
    const key = at?.key ?? 0;
    const first = at?.row;
    if (!Number.isInteger(key) || key < 0 || key >= 2 ** 32) fail('invalid_argument', `at.key = ${describe(key)}, expected an integer in [0, 2^32)`, 'at.key');
    if (typeof first !== 'number' || !Number.isSafeInteger(first) || first < 0 || first + n > Number.MAX_SAFE_INTEGER)
      fail('invalid_argument', `at.row = ${describe(first)}, expected an integer ≥ 0 with at.row + rows below 2^53`, 'at.row');
    if (n === 0) return;
    this.#nanRows += this.#b.bootstrapSums(
      { rows: n, seedKey: seedKeyOf(this.seed, key), first, replicates: this.replicates, bins: this.bins },
      hit, nll, conf, this.#state,
    );
  }

  /** The sums so far (fresh arrays; the accumulator keeps adding). */
  sums(): BootstrapReplicateSums {
    const R = this.replicates;
    const M = this.bins;
    const Rp = (R + 7) & ~7;
    const s = this.#state;
    const flat = (base: number) => {
      const out = new Float64Array(R * M);
      for (let b = 0; b < M; b++) for (let r = 0; r < R; r++) out[r * M + b] = s[base + b * Rp + r]!;
      return out;
    };
    return {
      replicates: R,
      bins: M,
      seed: this.seed,
      nanRows: this.#nanRows,
      weight: s.slice(0, R),
      correct: s.slice(Rp, Rp + R),
      nll: s.slice(2 * Rp, 2 * Rp + R),
      binWeight: flat(3 * Rp),
      binConf: flat(3 * Rp + M * Rp),
      binCorrect: flat(3 * Rp + 2 * M * Rp),
    };
  }
}

/** What AurocHistogram needs of a backend buffer. */
interface CellsBuffer {
  readonly array: Int32Array;
  free(): void;
}

/**
 * One-vs-rest AUROC histograms (src/metrics/auroc.ts describes the bins and the method): for every class
 * k and AUROC bin b, the rows whose p_k falls in b and the sum of their positions inside the bin, the
 * statistics AUROC is computed from. The cells (2 × AUROC_BINS Uint32 per class: 128 KiB) live where the
 * backend computes — wasm memory for 'wasm' — and the backend adds each block to them (wasm:
 * assembly/kernels/score.ts); take() hands them out.
 *
 * Made by `lk.aurocHistogram(classes)`. A Uint32 cell holds AUROC_U32_ROWS rows (2^32 / 15: position
 * sums reach 15 per row); add() refuses more, so take() the cells out and start a new histogram first.
 */
export class AurocHistogram {
  readonly classes: number;
  readonly #b: Backend;
  readonly #live: () => void;
  #cells: CellsBuffer | null;
  #rows = 0;

  /** @internal Use lk.aurocHistogram(classes). */
  constructor(backend: Backend, live: () => void, classes: number) {
    if (typeof classes !== 'number' || !Number.isInteger(classes) || classes < 1 || classes > AUROC_MAX_CLASSES)
      fail('invalid_argument', `classes = ${describe(classes)}, expected an integer in [1, ${AUROC_MAX_CLASSES}]`, 'classes');
    const length = 2 * classes * AUROC_BINS;
    if (length * 4 > backend.memoryLimit) fail('out_of_memory', `${classes} classes need ${length * 4} bytes of AUROC cells, more than the memory limit of ${backend.memoryLimit} bytes`, 'classes');
    this.classes = classes;
    this.#b = backend;
    this.#live = live;
    this.#cells = backend.alloc(length, 'int32');
    this.#cells.array.fill(0);
  }

  /** Rows added so far. */
  get rows(): number {
    return this.#rows;
  }

  /**
   * Adds a block of rows × classes float32 probabilities (row-major). Rows whose first value is NaN are
   * not counted; returns how many there were.
   */
  add(p: Float32Array): number {
    this.#live();
    const cells = this.#cells;
    if (!cells) fail('invalid_argument', 'this AUROC histogram was taken; make a new one', 'histogram');
    if (!(p instanceof Float32Array)) fail('invalid_argument', `p = ${describe(p)}, expected a Float32Array of rows × ${this.classes} probabilities`, 'p');
    const K = this.classes;
    if (p.length % K !== 0) fail('shape_mismatch', `p holds ${p.length} values, not a whole number of rows of ${K}`, 'p');
    const rows = p.length / K;
    if (this.#rows + rows > AUROC_U32_ROWS)
      fail('invalid_argument', `${this.#rows} + ${rows} rows would pass the ${AUROC_U32_ROWS} a histogram holds; take() it and start another`, 'p');
    if (rows === 0) return 0;
    this.#rows += rows;
    const a = cells.array; // a fresh view: wasm memory may have grown since
    return this.#b.aurocCounts(p, rows, K, new Uint32Array(a.buffer, a.byteOffset, a.length));
  }

  /**
   * The cells in place (where the backend keeps them: for 'wasm' a view of wasm memory, valid until the
   * next call on this engine, which may grow the memory). Read-only by contract: 2 Uint32 per class and
   * bin, the rows and the sum of their positions, at 2 · (class · AUROC_BINS + bin).
   */
  view(): Uint32Array {
    const cells = this.#cells;
    if (!cells) fail('invalid_argument', 'this AUROC histogram was taken', 'histogram');
    const a = cells.array;
    return new Uint32Array(a.buffer, a.byteOffset, a.length);
  }

  /** The cells (a copy outside the engine's memory) and the end of this histogram: its memory is freed. */
  take(): Uint32Array {
    this.#live();
    const cells = this.#cells;
    if (!cells) fail('invalid_argument', 'this AUROC histogram was already taken', 'histogram');
    const a = cells.array;
    const out = new Uint32Array(a.buffer, a.byteOffset, a.length).slice();
    cells.free();
    this.#cells = null;
    return out;
  }
}
