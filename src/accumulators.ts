/**
 * Accumulators whose state the engine keeps and its backend updates block by block (the wasm kernels
 * in assembly/kernels/score.ts, the float64 reference in backends/js-score.ts). metrics/ feeds them
 * per-block values and only combines the statistics they return.
 */
import type { Backend } from './backends/backend.js';
import { seedKeyOf } from './bootstrap-weights.js';
import { describeValue as describe, fail } from './errors.js';
import { MAX_REPLICATES } from './limits.js';
import { checkBins, checkLabels } from './options.js';
import { AUROC_BINS, AUROC_CELL_ROWS, AUROC_COUNT_SHIFT, AUROC_MAX_CLASSES, AUROC_U32_ROWS } from './auroc-bins.js';

/** Options of `lk.bootstrapAccumulator(options)`: how many Poisson-bootstrap replicates, the confidence bins, the seed. */
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
  /** Indexed by replicate r: Σ w, Σ w·correct, Σ w·NLL. */
  weight: Float64Array;
  correct: Float64Array;
  nll: Float64Array;
  /** Indexed by r · bins + b: Σ w, Σ w·confidence, Σ w·correct of the rows in confidence bin b. */
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
 * (seed, key, i, r), so the weights do not depend on how rows are split into blocks, threads or
 * shards. A block goes in chunks of BOOTSTRAP_CHUNK_ROWS rows, split across the engine's threads, each
 * into its own partial sums added in chunk order: the sums are bit-identical with any thread count.
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
      { rows: n, seedKey: seedKeyOf(this.seed, key), first, replicates: this.replicates, bins: this.bins, chunkRows: BOOTSTRAP_CHUNK_ROWS },
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

/** Options of `lk.aurocHistogram(classes, options)`. */
export interface AurocHistogramOptions {
  /**
   * Rows a packed cell takes before it spills into the exact side counts: an integer in
   * [1, AUROC_CELL_ROWS = 16383], default 16383. Any value gives the same counts; small ones only make
   * the spill path run often (tests).
   */
  cellRows?: number;
}

/** Spill-log entries in all (1 MiB of logs): logCap = AUROC_LOG_ENTRIES / classes per class. */
const AUROC_LOG_ENTRIES = 1 << 17;
const POSITION_MASK = (1 << AUROC_COUNT_SHIFT) - 1;

/**
 * One-vs-rest AUROC histograms (src/metrics/auroc.ts describes the bins and the method): for every class
 * k and AUROC bin b, the rows whose p_k falls in b and the sum of their positions inside the bin, the
 * statistics AUROC is computed from.
 *
 * Storage: one packed u32 cell per class and bin (rows × 2^18 + position sum: 64 KiB a class, 62.5 MiB
 * at 1000 classes) where the backend computes (wasm memory for 'wasm'; kernel: assembly/kernels/score.ts
 * aurocCounts). A cell that reaches 16383 rows (options.cellRows) is spilled by the kernel into a
 * per-class log, which add() drains after each backend call into exact side counts here (a bin needs
 * 16383 rows to spill once: at 3M rows × 100 classes there are at most 18,000 spilled bins). So the
 * counts are exact, the same on every backend and for any number of threads (a thread pool splits a
 * call by classes). The whole footprint at 1000 classes is 62.5 MiB of cells, 1 MiB of logs and the
 * side counts (see `bytes`).
 *
 * Made by `lk.aurocHistogram(classes)`. Read one class with classCells(k) (no expansion of the
 * others); view() and take() give every class in the 2-u32 layout (a copy). A histogram holds
 * AUROC_U32_ROWS rows ((2^32 − 1) / 15, so that layout's Uint32 position sums cannot overflow); add()
 * refuses more, so take() the cells out and start a new histogram first.
 */
export class AurocHistogram {
  readonly classes: number;
  readonly #b: Backend;
  readonly #live: () => void;
  #cells: CellsBuffer | null;
  #log: CellsBuffer | null;
  /** classBins' scratch in engine memory (3 · AUROC_BINS u32), allocated on its first call. */
  #bins: CellsBuffer | null = null;
  /** Entries of each class's spill log. */
  readonly #logCap: number;
  readonly #limit: number;
  /** Per class: bin → [rows, position sum] spilled out of its cell. */
  readonly #spill: (Map<number, number[]> | undefined)[];
  #spilled = 0;
  #rows = 0;

  /** @internal Use lk.aurocHistogram(classes). */
  constructor(backend: Backend, live: () => void, classes: number, options: AurocHistogramOptions = {}) {
    if (typeof classes !== 'number' || !Number.isInteger(classes) || classes < 1 || classes > AUROC_MAX_CLASSES)
      fail('invalid_argument', `classes = ${describe(classes)}, expected an integer in [1, ${AUROC_MAX_CLASSES}]`, 'classes');
    if (options === null || typeof options !== 'object') fail('invalid_argument', `options = ${describe(options)}, expected an object`, 'options');
    const limit = options.cellRows ?? AUROC_CELL_ROWS;
    if (typeof limit !== 'number' || !Number.isInteger(limit) || limit < 1 || limit > AUROC_CELL_ROWS)
      fail('invalid_argument', `options.cellRows = ${describe(limit)}, expected an integer in [1, ${AUROC_CELL_ROWS}]`, 'options.cellRows');
    const logCap = Math.max(1, Math.floor(AUROC_LOG_ENTRIES / classes));
    const cellsLength = classes * AUROC_BINS;
    const logLength = classes * (2 + 2 * logCap);
    const bytes = 4 * (cellsLength + logLength);
    if (bytes > backend.memoryLimit) fail('out_of_memory', `${classes} classes need ${bytes} bytes of AUROC cells, more than the memory limit of ${backend.memoryLimit} bytes`, 'classes');
    this.classes = classes;
    this.#b = backend;
    this.#live = live;
    this.#logCap = logCap;
    this.#limit = limit;
    this.#spill = new Array<Map<number, number[]> | undefined>(classes);
    // zeroed by the allocator, which leaves pages wasm has just added untouched (62.5 MiB at 1000
    // classes, most of it never written: clearing it cost 0.2 s of a 200k-row score)
    this.#cells = backend.alloc(cellsLength, 'int32', true);
    try {
      this.#log = backend.alloc(logLength, 'int32', true);
    } catch (e) {
      this.#cells.free();
      throw e;
    }
  }

  /** Rows added so far. */
  get rows(): number {
    return this.#rows;
  }

  /** Bytes this histogram holds: the packed cells and spill logs (engine memory) and the side counts (an estimate, 64 B a spilled bin). */
  get bytes(): number {
    const c = this.#cells;
    const l = this.#log;
    return (c ? c.array.byteLength : 0) + (l ? l.array.byteLength : 0) + 64 * this.#spilled;
  }

  /**
   * Adds a block of rows × classes float32 probabilities (row-major). Rows whose first value is NaN are
   * not counted; returns how many there were.
   */
  add(p: Float32Array): number {
    this.#live();
    const cells = this.#cells;
    const log = this.#log;
    if (!cells || !log) fail('invalid_argument', 'this AUROC histogram was taken; make a new one', 'histogram');
    if (!(p instanceof Float32Array)) fail('invalid_argument', `p = ${describe(p)}, expected a Float32Array of rows × ${this.classes} probabilities`, 'p');
    const K = this.classes;
    if (p.length % K !== 0) fail('shape_mismatch', `p holds ${p.length} values, not a whole number of rows of ${K}`, 'p');
    const rows = p.length / K;
    if (this.#rows + rows > AUROC_U32_ROWS)
      fail('invalid_argument', `${this.#rows} + ${rows} rows would pass the ${AUROC_U32_ROWS} a histogram holds; take() it and start another`, 'p');
    if (rows === 0) return 0;
    let nan = 0;
    for (let r = 0; r < rows; r++) if (p[r * K] !== p[r * K]) nan++;
    this.#rows += rows;
    const l = log.array;
    const per = 2 + 2 * this.#logCap;
    for (let k = 0; k < K; k++) l[k * per + 1] = 0; // every class starts at row 0
    // One call takes the whole block, so the kernel can keep each class's cells in cache over all its
    // rows; a class whose spill log fills stops (its rows done in the log's second word) and the next
    // call, after the drain, goes on from there. At the default cellRows a class spills at most once a
    // 16383 rows of a bin: a second call is rare.
    for (;;) {
      const c = cells.array; // fresh views: wasm memory may have grown since
      const lv = log.array;
      this.#b.aurocCounts(p, rows, K, {
        cells: new Uint32Array(c.buffer, c.byteOffset, c.length),
        log: new Uint32Array(lv.buffer, lv.byteOffset, lv.length),
        logCap: this.#logCap,
        limit: this.#limit,
      });
      if (this.#drain(rows)) break;
    }
    return nan;
  }

  /** Moves the logs' spilled cells into the side counts and empties the logs; true once every class has done all `rows`. */
  #drain(rows: number): boolean {
    const l = this.#log!.array;
    const per = 2 + 2 * this.#logCap;
    let finished = true;
    for (let k = 0; k < this.classes; k++) {
      const o = k * per;
      if (l[o + 1] !== rows) finished = false;
      const used = l[o]!;
      if (used === 0) continue;
      let m = this.#spill[k];
      if (!m) m = this.#spill[k] = new Map();
      for (let j = 0; j < used; j++) {
        const b = l[o + 2 + 2 * j]!;
        const v = l[o + 3 + 2 * j]! >>> 0;
        let e = m.get(b);
        if (!e) {
          m.set(b, (e = [0, 0]));
          this.#spilled++;
        }
        e[0]! += v >>> AUROC_COUNT_SHIFT;
        e[1]! += v & POSITION_MASK;
      }
      l[o] = 0;
    }
    return finished;
  }

  /**
   * Class k's counts in the 2-u32 layout: at 2b the rows whose p_k falls in bin b, at 2b + 1 the sum
   * of their positions (2 · AUROC_BINS values, written into `out` when given). Reads only class k.
   */
  classCells(k: number, out?: Uint32Array): Uint32Array {
    const cells = this.#cells;
    if (!cells) fail('invalid_argument', 'this AUROC histogram was taken', 'histogram');
    if (typeof k !== 'number' || !Number.isInteger(k) || k < 0 || k >= this.classes)
      fail('invalid_argument', `k = ${describe(k)}, expected an integer in [0, ${this.classes})`, 'k');
    if (out === undefined) out = new Uint32Array(2 * AUROC_BINS);
    else if (!(out instanceof Uint32Array) || out.length !== 2 * AUROC_BINS)
      fail('invalid_argument', `out = ${describe(out)}, expected a Uint32Array of ${2 * AUROC_BINS}`, 'out');
    this.#expand(k, out, 0);
    return out;
  }

  /**
   * Class k's non-empty bins, compactly: (bin, rows, position sum) triples, ascending by bin, with the
   * spilled side counts folded in — the same figures as classCells(k) without its empty bins (a softmax
   * class fills ~160 of AUROC_BINS). Written into `out` when given (a Uint32Array of at least
   * 3 · AUROC_BINS, outside engine memory: kept valid when the memory grows); returns the part written.
   * Reads only class k (a kernel skips empty cells 16 at a time: assembly/kernels/score.ts aurocClassBins).
   */
  classBins(k: number, out?: Uint32Array): Uint32Array {
    if (!this.#cells) fail('invalid_argument', 'this AUROC histogram was taken', 'histogram');
    if (typeof k !== 'number' || !Number.isInteger(k) || k < 0 || k >= this.classes)
      fail('invalid_argument', `k = ${describe(k)}, expected an integer in [0, ${this.classes})`, 'k');
    if (out === undefined) out = new Uint32Array(3 * AUROC_BINS);
    else if (!(out instanceof Uint32Array) || out.length < 3 * AUROC_BINS)
      fail('invalid_argument', `out = ${describe(out)}, expected a Uint32Array of at least ${3 * AUROC_BINS}`, 'out');
    // the kernel writes where it computes (engine memory): one scratch, kept until take()
    this.#bins ??= this.#b.alloc(3 * AUROC_BINS, 'int32');
    const a = this.#cells.array; // views after the alloc, which may have grown memory
    const t = this.#bins.array;
    const got = new Uint32Array(t.buffer, t.byteOffset, 3 * AUROC_BINS);
    const n = this.#b.aurocClassBins(new Uint32Array(a.buffer, a.byteOffset + 4 * k * AUROC_BINS, AUROC_BINS), got);
    const m = this.#spill[k];
    if (!m || m.size === 0) {
      out.set(got.subarray(0, 3 * n));
      return out.subarray(0, 3 * n);
    }
    // merge the cells' triples with the spilled bins (a spilled cell may be 0 again, or hold more rows)
    const spilled = [...m.keys()].sort((x, y) => x - y);
    let i = 0;
    let j = 0;
    let w = 0;
    while (i < n || j < spilled.length) {
      const bi = i < n ? got[3 * i]! : Infinity;
      const bj = j < spilled.length ? spilled[j]! : Infinity;
      if (bi < bj) {
        out[w] = bi;
        out[w + 1] = got[3 * i + 1]!;
        out[w + 2] = got[3 * i + 2]!;
        i++;
      } else {
        const e = m.get(bj)!;
        const both = bi === bj;
        out[w] = bj;
        out[w + 1] = (both ? got[3 * i + 1]! : 0) + e[0]!;
        out[w + 2] = (both ? got[3 * i + 2]! : 0) + e[1]!;
        if (both) i++;
        j++;
      }
      w += 3;
    }
    return out.subarray(0, w);
  }

  #expand(k: number, out: Uint32Array, at: number): void {
    const a = this.#cells!.array;
    const c = new Int32Array(a.buffer, a.byteOffset + 4 * k * AUROC_BINS, AUROC_BINS);
    for (let b = 0; b < AUROC_BINS; b++) {
      const v = c[b]!;
      out[at + 2 * b] = v >>> AUROC_COUNT_SHIFT;
      out[at + 2 * b + 1] = v & POSITION_MASK;
    }
    const m = this.#spill[k];
    if (m)
      for (const [b, e] of m) {
        out[at + 2 * b]! += e[0]!;
        out[at + 2 * b + 1]! += e[1]!;
      }
  }

  /**
   * Every class's counts in the 2-u32 layout (2 Uint32 per class and bin, the rows and the sum of their
   * positions, at 2 · (class · AUROC_BINS + bin)): a copy, expanded from the packed cells and the side
   * counts (2 × 131 KB a class; read one class with classCells(k) instead).
   */
  view(): Uint32Array {
    if (!this.#cells) fail('invalid_argument', 'this AUROC histogram was taken', 'histogram');
    const out = new Uint32Array(2 * this.classes * AUROC_BINS);
    for (let k = 0; k < this.classes; k++) this.#expand(k, out, 2 * k * AUROC_BINS);
    return out;
  }

  /** The cells in the layout of view() (outside the engine's memory) and the end of this histogram: its memory is freed. */
  take(): Uint32Array {
    this.#live();
    if (!this.#cells) fail('invalid_argument', 'this AUROC histogram was already taken', 'histogram');
    const out = this.view();
    this.#cells.free();
    this.#log!.free();
    this.#bins?.free();
    this.#bins = null;
    this.#cells = null;
    this.#log = null;
    return out;
  }
}

/** Fine confidence bins of the row summary (adaptive ECE: src/metrics/calibration-errors.ts). */
export const ROW_SCORE_FINE_BINS = 1 << 14;

/** Where each sum of a RowScoreAccumulator's float64 state starts (and its length). */
export function rowScoreLayout(classes: number, bins: number) {
  const C = classes;
  const M = bins;
  const F = ROW_SCORE_FINE_BINS;
  const relCount = 8;
  const relConf = relCount + M;
  const relCorrect = relConf + M;
  const fineCount = relCorrect + M;
  const fineConf = fineCount + F;
  const fineCorrect = fineConf + F;
  const support = fineCorrect + F;
  const classCorrect = support + C;
  const predicted = classCorrect + C;
  const probSum = predicted + C;
  const logitSum = probSum + C;
  const cwCount = logitSum + C;
  const cwProb = cwCount + C * M;
  const cwPositives = cwProb + C * M;
  return { relCount, relConf, relCorrect, fineCount, fineConf, fineCorrect, support, classCorrect, predicted, probSum, logitSum, cwCount, cwProb, cwPositives, length: cwPositives + C * M };
}

/**
 * float64 values of one chunk's partial sums (assembly/kernels/score.ts, "Slot of a chunk"): Σnll,
 * top-k hits, Σbrier, Σentropy, then Σp and Σx per class, the classwise count and Σp per class and
 * bin, and two per-class arrays the wasm kernel counts bin 0 in.
 */
export function rowScoreSlotLength(classes: number, bins: number): number {
  return 4 + 4 * classes + 2 * classes * bins;
}

/**
 * Rows per chunk of a row-summary block: a function of classes and bins only, never of the threads,
 * so the per-chunk partial sums (and the JSON) are the same with any thread count. A chunk holds
 * ≥ 2^17 elements (≈ 0.3 ms of work, worth a claim on the pool) and ≥ 8 slots' worth, so zeroing
 * and folding its slot stays a small share of the chunk.
 */
export function rowScoreChunkRows(classes: number, bins: number): number {
  return Math.max(16, Math.ceil(Math.max(1 << 17, 8 * rowScoreSlotLength(classes, bins)) / classes));
}

/**
 * Rows per chunk of a bootstrap block (≤ the kernel's sort chunk of 4096): ≈ 0.6 ms of work at 200
 * replicates, so a 4 MiB block of 100 classes gives each of two threads three chunks. Fixed: the
 * replicate sums do not depend on the thread count.
 */
export const BOOTSTRAP_CHUNK_ROWS = 2048;

/** Options of `lk.rowScoreAccumulator(options)`: the class count, the confidence bins (default 15) and the k of top-k accuracy (default 5). */
export interface RowScoreOptions {
  /** Classes C (≥ 1). */
  classes: number;
  /** Equal-width confidence bins (default 15). */
  bins?: number;
  /** The k of top-k accuracy (default 5; capped at classes). */
  topk?: number;
}

/**
 * The sums of a RowScoreAccumulator (fresh arrays). Counts are integers held in float64. Per row, with
 * y the label, pred the given argmax, p and lp the given softmax and log-softmax: NLL = −lp_y,
 * hit = [pred = y], top-k hit = [fewer than k classes rank above y in x] (SEMANTICS §8 order),
 * confidence = p_pred, Brier = Σ p² − 2 p_y + 1, entropy = −Σ p·lp (0·log 0 = 0).
 */
export interface RowScoreSums {
  classes: number;
  bins: number;
  k: number;
  rows: number;
  /** Rows whose confidence is NaN (left out of both confidence binnings). */
  nanRows: number;
  /** Rows whose p_0 is NaN (left out of the classwise bins). */
  classwiseNanRows: number;
  nllSum: number;
  correct: number;
  topkCorrect: number;
  brierSum: number;
  entropySum: number;
  /** Indexed by bin: the rows, Σ confidence and Σ hit, in `bins` equal-width bins (binOf). */
  binCount: Float64Array;
  binConf: Float64Array;
  binCorrect: Float64Array;
  /** The same in ROW_SCORE_FINE_BINS bins. */
  fineCount: Float64Array;
  fineConf: Float64Array;
  fineCorrect: Float64Array;
  /** Indexed by class: the rows labelled it, the hits among them, the rows predicted as it, Σ p_class, Σ x_class. */
  support: Float64Array;
  classCorrect: Float64Array;
  predicted: Float64Array;
  probSum: Float64Array;
  logitSum: Float64Array;
  /** Indexed by class · bins + bin: the rows whose p_class falls in bin, their Σ p_class, and how many of them are labelled class. */
  classwiseCount: Float64Array;
  classwiseProb: Float64Array;
  classwisePositives: Float64Array;
}

/**
 * Every per-row and per-element sum of a classification score (src/metrics/summary.ts turns them into
 * NLL, accuracy, top-k, Brier, entropy, ECE, adaptive and classwise ECE and the per-class tables), added
 * block by block from the engine's own softmax, logSoftmax and argmax of the block. The state (float64,
 * rowScoreLayout) lives where the backend computes — wasm memory for 'wasm', added to by one fused
 * SIMD pass per block (assembly/kernels/score.ts scoreRowsChunk, then scoreRowsFinish); the JS
 * reference is backends/js-score.ts. A block goes in chunks of rowScoreChunkRows(classes, bins) rows,
 * split across the engine's threads, each into its own partial sums that are added in chunk order:
 * the sums are bit-identical with any thread count. Counts are identical on both backends; float64
 * sums agree to ≈ 1e-16 relative (only the order of the additions inside a row differs).
 *
 * Made by `lk.rowScoreAccumulator({ classes, bins?, topk? })`. add() also hands back each row's hit,
 * NLL and confidence (the bootstrap, groups and selective prediction take them from there).
 */
export class RowScoreAccumulator {
  readonly classes: number;
  readonly bins: number;
  readonly k: number;
  readonly #b: Backend;
  readonly #live: () => void;
  readonly #length: number;
  #state: CellsBuffer | null;

  /** @internal Use lk.rowScoreAccumulator(options). */
  constructor(backend: Backend, live: () => void, options: RowScoreOptions) {
    if (options === null || typeof options !== 'object') fail('invalid_argument', `options = ${describe(options)}, expected { classes, bins?, topk? }`, 'options');
    const C = options.classes;
    if (typeof C !== 'number' || !Number.isInteger(C) || C < 1) fail('invalid_argument', `options.classes = ${describe(C)}, expected an integer ≥ 1`, 'options.classes');
    const bins = checkBins(options.bins);
    const k = options.topk ?? 5;
    if (typeof k !== 'number' || !Number.isInteger(k) || k < 1) fail('invalid_k', `options.topk = ${describe(k)}, expected an integer ≥ 1`, 'options.topk');
    const length = rowScoreLayout(C, bins).length;
    if (length * 8 > backend.memoryLimit)
      fail('out_of_memory', `${C} classes × ${bins} bins need ${length * 8} bytes of sums, more than the memory limit of ${backend.memoryLimit} bytes`, 'options.classes');
    this.classes = C;
    this.bins = bins;
    this.k = Math.min(k, C);
    this.#b = backend;
    this.#live = live;
    this.#length = length;
    this.#state = backend.alloc(2 * length, 'int32', true); // float64 cells: 16-byte aligned on both backends
  }

  #view(): Float64Array {
    const st = this.#state;
    if (!st) fail('invalid_argument', 'this row-score accumulator was taken; make a new one', 'accumulator');
    const a = st.array; // a fresh view: wasm memory may have grown since
    return new Float64Array(a.buffer, a.byteOffset, this.#length);
  }

  /**
   * Adds a block: x (rows × classes logits), p = softmax(x / T) and lp = logSoftmax(x / T) of them,
   * labels and pred = argmax(x) (Int32Array per row, each in [0, classes)). Returns each row's hit
   * (0/1), NLL and confidence p_pred, in `out`'s arrays when given (each exactly one value per row).
   *
   * Or from the logits alone — block = { x, labels, temperature? } (T, default 1): p, lp and pred are
   * then made in the same pass as the sums (one pass over x; wasm: assembly/kernels/score.ts
   * scoreLogitsChunk), with the bits of lk.softmax, lk.logSoftmax and lk.argmax, so the sums are
   * the same. pred is returned too (in out.pred when given), p is written to out.p when given, and
   * each row's p_y (the same float32 bits as p's) to out.py when given: a per-row array that a consumer
   * of the labelled class's p (the AUROC positives) reads sequentially instead of from the block.
   */
  add(
    block: { x: Float32Array; p: Float32Array; lp: Float32Array; labels: Int32Array; pred: Int32Array },
    out?: { hit?: Uint8Array; nll?: Float64Array; conf?: Float32Array },
  ): { hit: Uint8Array; nll: Float64Array; conf: Float32Array };
  add(
    block: { x: Float32Array; labels: Int32Array; temperature?: number },
    out?: { hit?: Uint8Array; nll?: Float64Array; conf?: Float32Array; pred?: Int32Array; p?: Float32Array; py?: Float32Array },
  ): { hit: Uint8Array; nll: Float64Array; conf: Float32Array; pred: Int32Array };
  add(
    block: { x: Float32Array; p?: Float32Array; lp?: Float32Array; labels: Int32Array; pred?: Int32Array; temperature?: number },
    out?: { hit?: Uint8Array; nll?: Float64Array; conf?: Float32Array; pred?: Int32Array; p?: Float32Array; py?: Float32Array },
  ): { hit: Uint8Array; nll: Float64Array; conf: Float32Array; pred?: Int32Array } {
    this.#live();
    this.#view();
    const { x, p, lp, labels, pred } = block ?? ({} as never);
    const C = this.classes;
    // from the logits alone when the block brings none of p, lp and pred
    const fused = p === undefined && lp === undefined && pred === undefined;
    const given = fused ? ([['x', x]] as const) : ([['x', x], ['p', p], ['lp', lp]] as const);
    for (const [name, v] of given)
      if (!(v instanceof Float32Array)) fail('invalid_argument', `block.${name} = ${describe(v)}, expected a Float32Array of rows × ${C} values`, `block.${name}`);
    if (x.length % C !== 0) fail('shape_mismatch', `block.x holds ${x.length} values, not a whole number of rows of ${C}`, 'block.x');
    const rows = x.length / C;
    if (!fused && (p!.length !== x.length || lp!.length !== x.length)) fail('shape_mismatch', `block.p and block.lp hold ${p!.length} and ${lp!.length} values, expected ${x.length} as block.x`, 'block');
    checkLabels(labels, rows, C, 'block.labels');
    if (!fused) checkLabels(pred, rows, C, 'block.pred');
    const hit = out?.hit ?? new Uint8Array(rows);
    const nll = out?.nll ?? new Float64Array(rows);
    const conf = out?.conf ?? new Float32Array(rows);
    if (!(hit instanceof Uint8Array) || hit.length !== rows) fail('invalid_argument', `out.hit = ${describe(hit)}, expected a Uint8Array of ${rows}`, 'out.hit');
    if (!(nll instanceof Float64Array) || nll.length !== rows) fail('invalid_argument', `out.nll = ${describe(nll)}, expected a Float64Array of ${rows}`, 'out.nll');
    if (!(conf instanceof Float32Array) || conf.length !== rows) fail('invalid_argument', `out.conf = ${describe(conf)}, expected a Float32Array of ${rows}`, 'out.conf');
    const args = { rows, classes: C, bins: this.bins, k: this.k, chunkRows: rowScoreChunkRows(C, this.bins) };
    if (!fused) {
      if (rows > 0) this.#b.scoreRows(args, x, p!, lp!, labels, pred!, this.#view(), hit, nll, conf);
      return { hit, nll, conf };
    }
    const T = (block as { temperature?: unknown }).temperature ?? 1;
    if (typeof T !== 'number' || !(Number.isFinite(T) && T > 0)) fail('invalid_temperature', `block.temperature = ${describe(T)}, expected a finite number > 0`, 'block.temperature');
    const predOut = out?.pred ?? new Int32Array(rows);
    if (!(predOut instanceof Int32Array) || predOut.length !== rows) fail('invalid_argument', `out.pred = ${describe(predOut)}, expected an Int32Array of ${rows}`, 'out.pred');
    const pOut = out?.p ?? null;
    if (pOut !== null && (!(pOut instanceof Float32Array) || pOut.length !== x.length)) fail('invalid_argument', `out.p = ${describe(pOut)}, expected a Float32Array of ${x.length} (rows × ${C})`, 'out.p');
    const pyOut = out?.py ?? null;
    if (pyOut !== null && (!(pyOut instanceof Float32Array) || pyOut.length !== rows)) fail('invalid_argument', `out.py = ${describe(pyOut)}, expected a Float32Array of ${rows}`, 'out.py');
    if (rows > 0) this.#b.scoreLogits(args, T, x, pOut, labels, predOut, this.#view(), hit, nll, conf, pyOut);
    return { hit, nll, conf, pred: predOut };
  }

  /** The sums so far (fresh arrays; the accumulator keeps adding). */
  sums(): RowScoreSums {
    this.#live();
    const s = this.#view();
    const C = this.classes;
    const M = this.bins;
    const L = rowScoreLayout(C, M);
    const F = ROW_SCORE_FINE_BINS;
    const cut = (at: number, n: number) => s.slice(at, at + n);
    return {
      classes: C,
      bins: M,
      k: this.k,
      rows: s[0]!,
      nanRows: s[1]!,
      classwiseNanRows: s[2]!,
      nllSum: s[3]!,
      correct: s[4]!,
      topkCorrect: s[5]!,
      brierSum: s[6]!,
      entropySum: s[7]!,
      binCount: cut(L.relCount, M),
      binConf: cut(L.relConf, M),
      binCorrect: cut(L.relCorrect, M),
      fineCount: cut(L.fineCount, F),
      fineConf: cut(L.fineConf, F),
      fineCorrect: cut(L.fineCorrect, F),
      support: cut(L.support, C),
      classCorrect: cut(L.classCorrect, C),
      predicted: cut(L.predicted, C),
      probSum: cut(L.probSum, C),
      logitSum: cut(L.logitSum, C),
      classwiseCount: cut(L.cwCount, C * M),
      classwiseProb: cut(L.cwProb, C * M),
      classwisePositives: cut(L.cwPositives, C * M),
    };
  }

  /** The sums, and the end of this accumulator: its memory is freed. */
  take(): RowScoreSums {
    const out = this.sums();
    this.#state!.free();
    this.#state = null;
    return out;
  }
}
