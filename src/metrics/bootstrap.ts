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
 * The generator: u = fmix32(row hash + (r + 1)·0x632BE5AB) with the row hash fmix32 of (seed, key, i)
 * (MurmurHash3's finaliser: a bijection with full avalanche), mapped to Poisson(1) by inverse CDF on
 * 32-bit thresholds. Cost: per row and replicate one fmix32 and a few adds, done replicate by replicate
 * over a block's rows (the per-row figures computed once).
 */
import { LogitkitError } from '../errors.js';
import { binOf } from './calibration.js';

export const DEFAULT_REPLICATES = 200;
/** Replicates above this are refused (memory and time grow with R). */
export const MAX_REPLICATES = 10_000;

function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** Poisson(1) inverse CDF on u in [0, 2^32): P(w ≤ k) · 2^32 for k = 0..11 (beyond: 12, p < 1e-9). */
const THRESHOLDS = (() => {
  const t: number[] = [];
  let pk = Math.exp(-1);
  let cdf = 0;
  for (let k = 0; k < 12; k++) {
    cdf += pk;
    t.push(Math.min(2 ** 32, Math.floor(cdf * 2 ** 32)));
    pk /= k + 1;
  }
  return t;
})();

export function poissonOfU(u: number): number {
  let k = 0;
  while (k < THRESHOLDS.length && u >= THRESHOLDS[k]) k++;
  return k;
}

/** The hash of row i of a shard: mixes seed, key and both 32-bit halves of i. */
function rowHash(seed: number, key: number, i: number): number {
  const lo = i >>> 0;
  const hi = Math.floor(i / 2 ** 32) >>> 0;
  return fmix32(fmix32(fmix32(seed ^ 0x5bd1e995) ^ key) ^ Math.imul(lo, 0x9e3779b1) ^ fmix32(hi + 0x27d4eb2f));
}

/** w_ir: the Poisson(1) weight of row i of the shard `key` in replicate r. */
export function bootstrapWeight(seed: number, key: number, i: number, r: number): number {
  return poissonOfU(fmix32((rowHash(seed, key, i) + Math.imul(r + 1, 0x632be5ab)) >>> 0));
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
  /** [r]: Σ w, Σ w·correct, Σ w·NLL. */
  readonly weight: Float64Array;
  readonly correct: Float64Array;
  readonly nll: Float64Array;
  /** [r · bins + b]: Σ w, Σ w·conf, Σ w·correct of the rows in confidence bin b. */
  readonly binWeight: Float64Array;
  readonly binConf: Float64Array;
  readonly binCorrect: Float64Array;
  /** Rows whose confidence was NaN (they make the ECE interval NaN, as ECE). */
  nanRows = 0;
  private hashes = new Uint32Array(0);
  private bin = new Int32Array(0);

  constructor(replicates: number, bins: number, seed = 0) {
    if (!Number.isInteger(replicates) || replicates < 1 || replicates > MAX_REPLICATES) {
      throw new LogitkitError('invalid_argument', `intervals = ${replicates}, expected an integer in [1, ${MAX_REPLICATES}] (0 turns intervals off)`, 'options.intervals');
    }
    if (!Number.isSafeInteger(seed) || seed < 0) throw new LogitkitError('invalid_argument', `seed = ${seed}, expected an integer >= 0`, 'options.seed');
    this.replicates = replicates;
    this.bins = bins;
    this.seed = seed;
    this.weight = new Float64Array(replicates);
    this.correct = new Float64Array(replicates);
    this.nll = new Float64Array(replicates);
    this.binWeight = new Float64Array(replicates * bins);
    this.binConf = new Float64Array(replicates * bins);
    this.binCorrect = new Float64Array(replicates * bins);
  }

  /**
   * Adds R rows: their correctness (0/1), NLL and top-label confidence, rows first..first+R−1 of the
   * shard `key`.
   */
  addRows(key: number, first: number, hit: Uint8Array, nll: Float64Array, conf: Float32Array, R: number): void {
    if (this.hashes.length < R) {
      this.hashes = new Uint32Array(R);
      this.bin = new Int32Array(R);
    }
    const h = this.hashes;
    const bin = this.bin;
    const M = this.bins;
    for (let i = 0; i < R; i++) {
      h[i] = rowHash(this.seed, key >>> 0, first + i);
      const c = conf[i];
      bin[i] = c !== c ? -1 : binOf(c, M);
      if (c !== c) this.nanRows++;
    }
    const t0 = THRESHOLDS[0];
    const t1 = THRESHOLDS[1];
    const bw = this.binWeight;
    const bc = this.binConf;
    const bk = this.binCorrect;
    for (let r = 0; r < this.replicates; r++) {
      const add = Math.imul(r + 1, 0x632be5ab);
      let sw = 0;
      let sc = 0;
      let sn = 0;
      const o = r * M;
      for (let i = 0; i < R; i++) {
        // fmix32 inline: this loop runs rows × replicates times
        let u = (h[i] + add) | 0;
        u ^= u >>> 16;
        u = Math.imul(u, 0x85ebca6b);
        u ^= u >>> 13;
        u = Math.imul(u, 0xc2b2ae35);
        u ^= u >>> 16;
        u >>>= 0;
        if (u < t0) continue; // w = 0, 37% of rows
        const w = u < t1 ? 1 : poissonOfU(u);
        sw += w;
        const k = hit[i];
        sc += w * k;
        sn += w * nll[i];
        const b = bin[i];
        if (b >= 0) {
          bw[o + b] += w;
          bc[o + b] += w * conf[i];
          bk[o + b] += w * k;
        }
      }
      this.weight[r] += sw;
      this.correct[r] += sc;
      this.nll[r] += sn;
    }
  }

  merge(o: BootstrapSums): void {
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
