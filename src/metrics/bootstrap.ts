/**
 * Percentile intervals by a Poisson bootstrap that streams and merges exactly.
 *
 * Replicate r gives row i the weight w_ir ~ Poisson(1) (the streaming limit of resampling n of n rows
 * with replacement). The weight is a pure function of (seed, shard key, i, r) — a counter-based
 * generator, so nothing is stored per row: a shard scored alone or inside a larger run gives its rows
 * the same weights, and shards merge by adding each replicate's weighted sums. Per replicate it keeps
 * Σ w, Σ w·correct, Σ w·NLL and the reliability bins (Σ w, Σ w·conf, Σ w·correct per bin); the interval
 * of a figure is the 5th and 95th percentiles (numpy's default linear interpolation) of its R replicate
 * values.
 *
 * The weights come from src/bootstrap-weights.ts (a counter-based generator: one 32-bit hash per row
 * and pair of replicates, 16 bits per weight, Poisson(1) by inverse CDF), and the replicate sums are
 * accumulated by the engine (lk.bootstrapAccumulator: wasm SIMD across replicates, or the JS
 * reference); this file keeps their totals, merges shards and turns the sums into intervals.
 */
import { LogitkitError } from '../errors.js';
import type { BootstrapAccumulator } from '../accumulators.js';
import { MAX_REPLICATES } from '../limits.js';
import { overlapped, type OverlapEngine } from './overlap.js';

export { bootstrapWeight } from '../bootstrap-weights.js';
export { MAX_REPLICATES };

export const DEFAULT_REPLICATES = 200;

/** What the bootstrap needs of the engine. */
export interface BootstrapEngine extends OverlapEngine {
  bootstrapAccumulator(options: { replicates: number; bins: number; seed: number }): BootstrapAccumulator;
}

export interface Intervals {
  /** Replicates and the level (0.9). */
  replicates: number;
  level: number;
  seed: number;
  accuracy: [number, number];
  nll: [number, number];
  ece: [number, number];
}

/** The q-quantile of sorted values, linear interpolation between order statistics (numpy's default). */
export function quantileSorted(v: ArrayLike<number>, q: number): number {
  const n = v.length;
  if (n === 0) return NaN;
  const h = (n - 1) * q;
  const lo = Math.floor(h);
  const hi = Math.min(n - 1, lo + 1);
  return v[lo] + (h - lo) * (v[hi] - v[lo]);
}

export class BootstrapSums {
  readonly replicates: number;
  readonly bins: number;
  readonly seed: number;
  // The totals, read through getters that first add what the engine's accumulator holds.
  readonly #weight: Float64Array;
  readonly #correct: Float64Array;
  readonly #nll: Float64Array;
  readonly #binWeight: Float64Array;
  readonly #binConf: Float64Array;
  readonly #binCorrect: Float64Array;
  #nanRows = 0;
  /** [r]: Σ w, Σ w·correct, Σ w·NLL. */
  get weight(): Float64Array {
    return this.flush().#weight;
  }
  get correct(): Float64Array {
    return this.flush().#correct;
  }
  get nll(): Float64Array {
    return this.flush().#nll;
  }
  /** [r · bins + b]: Σ w, Σ w·conf, Σ w·correct of the rows in confidence bin b. */
  get binWeight(): Float64Array {
    return this.flush().#binWeight;
  }
  get binConf(): Float64Array {
    return this.flush().#binConf;
  }
  get binCorrect(): Float64Array {
    return this.flush().#binCorrect;
  }
  /** Rows whose confidence was NaN (they make the ECE interval NaN, as ECE). */
  get nanRows(): number {
    return this.flush().#nanRows;
  }
  set nanRows(v: number) {
    this.flush().#nanRows = v;
  }
  /** The engine's accumulator of the rows added since the last flush(). */
  private core: BootstrapAccumulator | null = null;

  constructor(replicates: number, bins: number, seed = 0) {
    if (!Number.isInteger(replicates) || replicates < 1 || replicates > MAX_REPLICATES) {
      throw new LogitkitError('invalid_argument', `intervals = ${replicates}, expected an integer in [1, ${MAX_REPLICATES}] (0 turns intervals off)`, 'options.intervals');
    }
    if (!Number.isSafeInteger(seed) || seed < 0) throw new LogitkitError('invalid_argument', `seed = ${seed}, expected an integer >= 0`, 'options.seed');
    this.replicates = replicates;
    this.bins = bins;
    this.seed = seed;
    this.#weight = new Float64Array(replicates);
    this.#correct = new Float64Array(replicates);
    this.#nll = new Float64Array(replicates);
    this.#binWeight = new Float64Array(replicates * bins);
    this.#binConf = new Float64Array(replicates * bins);
    this.#binCorrect = new Float64Array(replicates * bins);
  }

  /**
   * Adds R rows: their correctness (0/1), NLL and top-label confidence, rows first..first+R−1 of the
   * shard `key` (the engine's accumulator does the work; its sums join these totals when read).
   */
  addRows(lk: BootstrapEngine, key: number, first: number, hit: Uint8Array, nll: Float64Array, conf: Float32Array, R: number, meanwhile: (() => void) | null = null): void {
    const core = (this.core ??= lk.bootstrapAccumulator({ replicates: this.replicates, bins: this.bins, seed: this.seed }));
    // `meanwhile` (the caller's JavaScript) runs while the engine's threads add the replicates (lk.overlap)
    overlapped(lk, meanwhile, () => core.add({ hit: hit.subarray(0, R), nll: nll.subarray(0, R), conf: conf.subarray(0, R) }, { key: key >>> 0, row: first }));
  }

  /** Adds the engine accumulator's sums to the totals (before anything reads them). */
  flush(): this {
    const c = this.core;
    if (!c) return this;
    this.core = null;
    const s = c.sums();
    const add = (a: Float64Array, b: Float64Array) => {
      for (let i = 0; i < a.length; i++) a[i] += b[i];
    };
    add(this.#weight, s.weight);
    add(this.#correct, s.correct);
    add(this.#nll, s.nll);
    add(this.#binWeight, s.binWeight);
    add(this.#binConf, s.binConf);
    add(this.#binCorrect, s.binCorrect);
    this.#nanRows += s.nanRows;
    return this;
  }

  merge(o: BootstrapSums): void {
    this.flush();
    o.flush();
    if (o.replicates !== this.replicates || o.seed !== this.seed || o.bins !== this.bins) {
      throw new LogitkitError(
        'shape_mismatch',
        `cannot merge bootstrap intervals of ${o.replicates} replicates (seed ${o.seed}) into ${this.replicates} (seed ${this.seed}): score every shard with the same --intervals and --seed`,
        'intervals',
      );
    }
    const add = (a: Float64Array, b: Float64Array) => {
      for (let i = 0; i < a.length; i++) a[i] += b[i];
    };
    add(this.weight, o.weight);
    add(this.correct, o.correct);
    add(this.nll, o.nll);
    add(this.binWeight, o.binWeight);
    add(this.binConf, o.binConf);
    add(this.binCorrect, o.binCorrect);
    this.nanRows += o.nanRows;
  }

  result(level = 0.9): Intervals {
    this.flush();
    const R = this.replicates;
    const M = this.bins;
    // A replicate that drew no row at all (likely only for a handful of rows: e^-n) has no figures.
    let used = 0;
    for (let r = 0; r < R; r++) if (this.weight[r] > 0) used++;
    const acc = new Float64Array(used);
    const nll = new Float64Array(used);
    const ece = new Float64Array(used);
    for (let r = 0, u = 0; r < R; r++) {
      const w = this.weight[r];
      if (!(w > 0)) continue;
      acc[u] = this.correct[r] / w;
      nll[u] = this.nll[r] / w;
      let gap = 0;
      for (let b = 0; b < M; b++) gap += Math.abs(this.binCorrect[r * M + b] - this.binConf[r * M + b]);
      ece[u++] = this.nanRows > 0 ? NaN : gap / w;
    }
    const lo = (1 - level) / 2;
    const interval = (v: Float64Array): [number, number] => {
      if (v.length === 0 || v.some((x) => x !== x)) return [NaN, NaN];
      v.sort();
      return [quantileSorted(v, lo), quantileSorted(v, 1 - lo)];
    };
    return { replicates: R, level, seed: this.seed, accuracy: interval(acc), nll: interval(nll), ece: interval(ece) };
  }
}
