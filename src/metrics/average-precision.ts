/**
 * Average precision (the area under the precision-recall curve) per class, one-vs-rest, from the same
 * streamed counts as AUROC (auroc.ts AurocCounts): no pass over the data of its own, and it merges
 * exactly because the counts do.
 *
 * Definition: scikit-learn's average_precision_score, step-wise without interpolation. Walking the
 * distinct scores t from the top, with TP(t) and FP(t) the positives and negatives scored ≥ t,
 *   AP = Σ_t (R(t) − R(t⁺)) · P(t) = (1/P) Σ_t tp_t · TP(t) / (TP(t) + FP(t)),
 * tp_t the positives scored exactly t (tied rows enter together, at the precision after all of them).
 *
 * From bins: bins are ordered exactly (auroc.ts: equal scores always share a bin), so every bin's
 * contribution is known but for the order of its own rows. For bin b, with TPa / FPa the counts of the
 * bins above and pb / nb its own, the contribution Σ_j (TPa + j)/(TPa + FPa + j + fp_j) (j-th positive
 * of the bin from its top, fp_j the bin's negatives at or above it) lies between
 *   lo = Σ_j (TPa + j)/(TPa + FPa + nb + j)   (every negative above every positive, no ties) and
 *   hi = pb · (TPa + pb)/(TPa + FPa + pb)      (every positive above every negative, all tied),
 * and these are attained, so Σ_b max(est − lo, hi − est) / P is a true worst-case bound (errorBound).
 * The estimate places the bin's negatives among its positives from the position sums: when both
 * kinds' mean positions are whole numbers, each kind is taken to sit at its mean (exact for one row of
 * each, and for ties: a bin whose rows share one score, as a grid of probabilities k/32 gives, is one
 * tied score, as sklearn counts it); otherwise the in-bin share a of (positive, negative) pairs with the
 * positive above (auroc.ts's same-bin estimate from the position sums) gives the shift c of two
 * equal-width uniform runs (a = ½ (1 − c)² for c ≥ 0, 1 − ½ (1 + c)² for c < 0), and the j-th positive
 * has fp_j = nb · clamp(c + (j − ½)/pb, 0, 1) negatives above it.
 *
 * Measured (test/average-precision.test.ts, worst class against an exact sort of the same float32
 * scores; test/sklearn-22-ap.test.ts against sklearn 1.2's average_precision_score): exact (1e-15) on
 * tied grids; 1e-5–1.5e-4 on softmax scores (3000–100 000 rows, 2–100 classes; 3e-5–6e-5 on the sklearn
 * fixtures), 1e-4 when every p_k lies within ±5% of 1/K, and up to 3e-3 within ±0.5% — the hard case, as
 * for AUROC, where errorBound (≈ 0.2 there, 3e-4–3e-3 on the others) says so.
 * Cost: one walk over a class's non-empty bins (AurocCounts.classBins, read once for AUROC, this and
 * the encoded statistics) plus one step per positive, once per report. (Walking all 16386 bins through
 * per-bin accessors was 22 ms at 100 classes and 150 ms at 1000, bench/ap-cost.js on a loaded machine.)
 */
import { AUROC_Q } from '../auroc-bins.js';
import type { AurocCounts } from './auroc.js';

/** Average precision per class, their unweighted mean, and the worst-case bound on its binning error. */
export interface AveragePrecisionReport {
  /** Per class; null without positives (sklearn warns and gives 0 there); NaN when a row's scores were NaN. */
  perClass: (number | null)[];
  /** Mean over the classes with positives (NaN if none). */
  macro: number;
  /** The largest, over classes, of the worst-case |binned − exact| (see the file header); NaN with NaN rows. */
  errorBound: number;
}

/** Shift c of the negatives' uniform run against the positives' for an in-bin pair share a (see header). */
function shiftOf(a: number): number {
  return a <= 0.5 ? 1 - Math.sqrt(2 * a) : Math.sqrt(2 * (1 - a)) - 1;
}

/**
 * One bin's contribution (Σ over its positives of the precision at which each enters) and its bounds.
 * pb ≥ 1 positives and nb negatives below TPa / FPa rows of the bins above; pq / nq their position sums.
 */
function binTerm(TPa: number, FPa: number, pb: number, nb: number, pq: number, nq: number): { est: number; lo: number; hi: number } {
  const hi = (pb * (TPa + pb)) / (TPa + FPa + pb);
  const q = pq / pb;
  const qn = nb > 0 ? nq / nb : q;
  // both kinds' positions may each be one value: taken as such (ties, or two separate points)
  const points = Number.isInteger(q) && Number.isInteger(qn);
  const tied = points && q === qn;
  let lo = 0;
  let est = 0;
  if (tied) est = (pb * (TPa + pb)) / (TPa + FPa + pb + nb);
  let c = 1;
  if (points && !tied) c = q > qn ? -1 : 1;
  else if (!tied && nb > 0) {
    // auroc.ts sameBin: positions (q + ½)/Q stand for the rows, pairs clamped to what the sums allow
    const diff = (nb * pq - pb * nq) / AUROC_Q;
    const all = pb * nb;
    const pairs = Math.min(Math.min(all, all + diff), Math.max(Math.max(0, diff), 0.5 * all + diff));
    c = shiftOf(pairs / all);
  }
  for (let j = 1; j <= pb; j++) {
    lo += (TPa + j) / (TPa + FPa + nb + j);
    if (!tied) est += (TPa + j) / (TPa + FPa + j + nb * Math.min(1, Math.max(0, c + (j - 0.5) / pb)));
  }
  return { est, lo, hi };
}

/**
 * Average precision of column k of `counts` (a class of softmax p_k, a label's p, or a pooled column),
 * with its worst-case error; null without positives.
 */
export function classAveragePrecision(counts: AurocCounts, k: number): { ap: number; errorBound: number } | null {
  const bins = counts.classBins(k);
  let TP = 0;
  let FP = 0;
  let sum = 0;
  let err = 0;
  // bins ascend with the score: walk from the top (empty bins add nothing)
  for (let j = bins.length - 5; j >= 0; j -= 5) {
    const pb = bins[j + 1];
    const nb = bins[j + 2];
    if (pb === 0) {
      FP += nb;
      continue;
    }
    const t = binTerm(TP, FP, pb, nb, bins[j + 3], bins[j + 4]);
    sum += t.est;
    err += Math.max(t.est - t.lo, t.hi - t.est);
    TP += pb;
    FP += nb;
  }
  if (TP === 0) return null;
  return { ap: sum / TP, errorBound: err / TP };
}

/** Per-class average precision of every column of `counts`, and the macro mean over those with positives. */
export function averagePrecisionReport(counts: AurocCounts): AveragePrecisionReport {
  const perClass: (number | null)[] = [];
  let sum = 0;
  let n = 0;
  let errorBound = 0;
  const nan = counts.nanRows > 0;
  for (let k = 0; k < counts.classes; k++) {
    const c = classAveragePrecision(counts, k);
    if (c === null) {
      perClass.push(null);
      continue;
    }
    perClass.push(nan ? NaN : c.ap);
    sum += c.ap;
    n++;
    errorBound = Math.max(errorBound, c.errorBound);
  }
  if (nan) return { perClass, macro: NaN, errorBound: NaN };
  return { perClass, macro: n > 0 ? sum / n : NaN, errorBound };
}
