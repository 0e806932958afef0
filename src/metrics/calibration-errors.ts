/**
 * The calibration errors people cite beside ECE, each from sums that stream and merge exactly.
 *
 * With top-label reliability bins b (n_b rows, accuracy acc_b, mean confidence conf_b, n rows):
 *   rmsce      = √ Σ_b (n_b/n)(acc_b − conf_b)²
 *   debiasedL2 = √ max(0, Σ_b (n_b/n)[(acc_b − conf_b)² − acc_b(1 − acc_b)/(n_b − 1)])   (n_b < 2 → 0)
 *                — the squared error minus each bin's sampling variance, after Kumar et al. 2019
 *                ("Verified uncertainty calibration").
 *   classwiseEce = mean over classes k of the equal-width ECE of p_k against 1[y = k], over all rows.
 *   adaptiveEce  = rows sorted by confidence, cut into B contiguous groups of ⌈n/B⌉ or ⌊n/B⌋ rows
 *                  (the first n mod B larger, as numpy.array_split), Σ (n_g/n)|acc_g − conf_g|.
 *
 * adaptiveEce needs the sorted confidences. Streaming keeps instead FINE_BINS = 2^14 equal-width
 * confidence bins (count, Σ conf, Σ correct); the groups are cut from them in order, a bin that
 * straddles a cut being shared pro rata. The approximation only moves rows within one bin of
 * width 2^-14, and measured against the exact sort it stays below 1e-4 on the bundled samples and
 * random data (test/calibration-errors.test.ts; the contract is 1e-3).
 */
import { ROW_SCORE_FINE_BINS } from '../accumulators.js';
import { binOf, type ReliabilityBins } from './calibration.js';

// The engine's row-score accumulator fills these bins (lk.rowScoreAccumulator).
export const FINE_BINS = ROW_SCORE_FINE_BINS;

/** rmsce and debiasedL2 of top-label reliability bins (NaN when a confidence was NaN or n = 0). */
export function binnedErrors(r: ReliabilityBins): { rmsce: number; debiasedL2: number } {
  const n = r.rows;
  if (n === 0 || r.nanRows > 0) return { rmsce: NaN, debiasedL2: NaN };
  let sq = 0;
  let debiased = 0;
  for (let b = 0; b < r.bins; b++) {
    const nb = r.count[b];
    if (nb === 0) continue;
    const acc = r.correctSum[b] / nb;
    const gap = acc - r.confSum[b] / nb;
    sq += (nb / n) * gap * gap;
    if (nb >= 2) debiased += (nb / n) * (gap * gap - (acc * (1 - acc)) / (nb - 1));
  }
  return { rmsce: Math.sqrt(sq), debiasedL2: Math.sqrt(Math.max(0, debiased)) };
}

/** Per-class equal-width bins of p_k with the count of rows whose label is k. */
export class ClasswiseBins {
  readonly classes: number;
  readonly bins: number;
  /** [k * bins + b]: rows, Σ p_k, rows with label k. */
  readonly count: Float64Array;
  readonly probSum: Float64Array;
  readonly positives: Float64Array;
  rows = 0;
  nanRows = 0;

  constructor(classes: number, bins: number) {
    this.classes = classes;
    this.bins = bins;
    this.count = new Float64Array(classes * bins);
    this.probSum = new Float64Array(classes * bins);
    this.positives = new Float64Array(classes * bins);
  }

  /** Adds one row of probabilities p[o .. o + classes) with label y. */
  addRow(p: Float32Array, o: number, y: number): void {
    const K = this.classes;
    const M = this.bins;
    this.rows++;
    if (p[o] !== p[o]) {
      // softmax rows are NaN all together (NaN, +inf or all −inf logits)
      this.nanRows++;
      return;
    }
    for (let k = 0; k < K; k++) {
      const pk = p[o + k];
      const i = k * M + binOf(pk, M);
      this.count[i] += 1;
      this.probSum[i] += pk;
    }
    this.positives[y * M + binOf(p[o + y], M)] += 1;
  }

  merge(o: ClasswiseBins): void {
    for (let i = 0; i < this.count.length; i++) {
      this.count[i] += o.count[i];
      this.probSum[i] += o.probSum[i];
      this.positives[i] += o.positives[i];
    }
    this.rows += o.rows;
    this.nanRows += o.nanRows;
  }

  ece(): number {
    if (this.rows === 0 || this.nanRows > 0) return NaN;
    let total = 0;
    for (let i = 0; i < this.count.length; i++) total += Math.abs(this.positives[i] - this.probSum[i]);
    return total / this.rows / this.classes;
  }
}

/** Top-label confidences in FINE_BINS equal-width bins, for the adaptive (equal-mass) ECE. */
export class FineConfidenceBins {
  readonly count = new Float64Array(FINE_BINS);
  readonly confSum = new Float64Array(FINE_BINS);
  readonly correctSum = new Float64Array(FINE_BINS);
  nanRows = 0;

  add(conf: number, correct: number): void {
    if (conf !== conf) {
      this.nanRows++;
      return;
    }
    const b = binOf(conf, FINE_BINS);
    this.count[b] += 1;
    this.confSum[b] += conf;
    this.correctSum[b] += correct;
  }

  merge(o: FineConfidenceBins): void {
    for (let b = 0; b < FINE_BINS; b++) {
      this.count[b] += o.count[b];
      this.confSum[b] += o.confSum[b];
      this.correctSum[b] += o.correctSum[b];
    }
    this.nanRows += o.nanRows;
  }

  /** Adaptive ECE with `groups` equal-mass groups (see the file comment). */
  adaptiveEce(groups: number): number {
    let n = this.nanRows;
    for (let b = 0; b < FINE_BINS; b++) n += this.count[b];
    if (n === 0 || this.nanRows > 0) return NaN;
    const small = Math.floor(n / groups);
    const large = n % groups;
    let total = 0;
    let b = 0;
    let used = 0; // rows of bin b already given to earlier groups
    for (let g = 0; g < groups; g++) {
      let need = g < large ? small + 1 : small;
      const size = need;
      let conf = 0;
      let correct = 0;
      while (need > 0) {
        const left = this.count[b] - used;
        if (left <= 0) {
          b++;
          used = 0;
          continue;
        }
        const take = Math.min(left, need);
        const share = take / this.count[b];
        conf += this.confSum[b] * share;
        correct += this.correctSum[b] * share;
        used += take;
        need -= take;
      }
      if (size > 0) total += Math.abs(correct - conf);
    }
    return total / n;
  }
}
