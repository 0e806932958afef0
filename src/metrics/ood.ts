/**
 * Out-of-distribution detection metrics (issue 24) from two sets of OOD scores (higher = more
 * likely out of distribution), exact:
 * - auroc = P(OOD score > ID score) + ½ P(tie), by counting pairs through a sorted copy of the ID scores;
 * - fpr95 = the fraction of OOD rows with score ≤ t, t the k-th smallest ID score, k = ⌈0.95·n_ID⌉
 *   (95 % of the ID rows are accepted as in-distribution at t);
 * - auprOut / auprIn = average precision as scikit-learn's average_precision_score computes it
 *   (Σ (R_n − R_{n−1}) P_n over the thresholds at distinct values, descending) with OOD positive ranked
 *   by the score, or ID positive ranked by −score.
 * NaN scores are refused (non_finite_input); ±inf are ordinary values.
 */
import { fail } from '../errors.js';

/** What `oodMetrics` reports: the OOD rows are the positives, ranked by score (higher = more likely OOD). */
export interface OodMetrics {
  /** P(OOD score > ID score) + ½ P(tie), exact. */
  auroc: number;
  /** Average precision with the ID rows positive, ranked by −score. */
  auprIn: number;
  /** Average precision with the OOD rows positive, ranked by score. */
  auprOut: number;
  /** The fraction of OOD rows scored at or below the threshold that accepts 95% of the ID rows. */
  fpr95: number;
}

/** One OOD score per row (as `lk.oodScore` returns them): NaN is refused, ±inf are ordinary values. */
export type Scores = Float32Array | Float64Array | readonly number[];

function toSorted(v: unknown, name: string): Float64Array {
  if (!(v instanceof Float32Array || v instanceof Float64Array || Array.isArray(v)))
    fail('invalid_argument', `${name} must be a Float32Array, Float64Array or number[] of OOD scores`, name);
  const a = v as ArrayLike<unknown>;
  if (a.length === 0) fail('shape_mismatch', `${name} is empty, expected at least one score`, name);
  const out = new Float64Array(a.length);
  for (let i = 0; i < a.length; i++) {
    const s = a[i];
    if (typeof s !== 'number') fail('invalid_argument', `${name}[${i}] is not a number`, name);
    if (s !== s) fail('non_finite_input', `${name}[${i}] is NaN, expected a score (±inf allowed)`, name);
    out[i] = s;
  }
  return out.sort();
}

/** First index whose value is ≥ v (strict = false) or > v (strict = true) in sorted a. */
function bound(a: Float64Array, v: number, strict: boolean): number {
  let lo = 0;
  let hi = a.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (strict ? a[mid]! <= v : a[mid]! < v) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * Average precision of positives `pos` against negatives `neg`, ranking by the value descending;
 * both sorted ascending. Walks the distinct values from the top.
 */
function averagePrecision(pos: Float64Array, neg: Float64Array): number {
  let i = pos.length - 1;
  let j = neg.length - 1;
  let tp = 0;
  let fp = 0;
  let ap = 0;
  let prevRecall = 0;
  while (i >= 0 || j >= 0) {
    const t = Math.max(i >= 0 ? pos[i]! : -Infinity, j >= 0 ? neg[j]! : -Infinity);
    while (i >= 0 && pos[i] === t) (tp++, i--);
    while (j >= 0 && neg[j] === t) (fp++, j--);
    const recall = tp / pos.length;
    ap += (recall - prevRecall) * (tp / (tp + fp));
    prevRecall = recall;
  }
  return ap;
}

/** The k of "the k-th smallest" for a fraction q of n, exact for q = 0.95 (⌈95·n/100⌉). */
function fpr95Rank(n: number): number {
  return Math.max(1, Math.ceil((95 * n) / 100));
}

/**
 * AUROC, AUPR-In, AUPR-Out and FPR@95 of OOD scores of in-distribution rows (`idScores`) against those of
 * out-of-distribution rows (`oodScores`), exact (no binning); each set needs at least one score.
 */
export function oodMetrics(idScores: Scores, oodScores: Scores): OodMetrics {
  const id = toSorted(idScores, 'idScores');
  const ood = toSorted(oodScores, 'oodScores');
  let pairs = 0;
  for (let i = 0; i < ood.length; i++) {
    const below = bound(id, ood[i]!, false);
    const tied = bound(id, ood[i]!, true) - below;
    pairs += below + tied / 2;
  }
  const t = id[fpr95Rank(id.length) - 1]!;
  const negId = id.map((v) => -v).reverse();
  const negOod = ood.map((v) => -v).reverse();
  return {
    auroc: pairs / (id.length * ood.length),
    auprIn: averagePrecision(negId, negOod),
    auprOut: averagePrecision(ood, id),
    fpr95: bound(ood, t, true) / ood.length,
  };
}

/** The FPR@95 threshold t of these ID scores (the k-th smallest, k = ⌈0.95·n⌉): for reports and the CLI. */
export function fpr95Threshold(idScores: Scores): number {
  const id = toSorted(idScores, 'idScores');
  return id[fpr95Rank(id.length) - 1]!;
}
