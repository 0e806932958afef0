/**
 * The classification report, by scikit-learn's conventions (classification_report,
 * precision_recall_fscore_support with zero_division = 0, balanced_accuracy_score), from counts
 * that stream and merge exactly: the confusion matrix (rows = true class, columns = predicted).
 *
 * Per class k, with TP_k = C[k][k], predicted_k = Σ_t C[t][k], support_k = Σ_p C[k][p]:
 *   precision = TP / predicted (0 when never predicted: listed in `zeroDivision.precision`)
 *   recall    = TP / support   (0 when no support: listed in `zeroDivision.recall`)
 *   f1        = 2PR / (P + R)  (0 when P + R = 0)
 * macro = unweighted mean over the classes that occur in the labels or the predictions (sklearn's
 * unique_labels(y_true, y_pred)); weighted = mean weighted by support; balancedAccuracy = mean recall
 * over the classes with support.
 */

/** Confusion counts: dense up to DENSE_MAX classes, sparse above (distinct pairs ≤ rows). */
export const DENSE_MAX = 2048;

export class ConfusionCounts {
  readonly classes: number;
  private readonly dense: Float64Array | null;
  private readonly sparse: Map<number, number> | null;

  constructor(classes: number) {
    this.classes = classes;
    this.dense = classes <= DENSE_MAX ? new Float64Array(classes * classes) : null;
    this.sparse = this.dense ? null : new Map();
  }

  add(truth: number, pred: number, n = 1): void {
    const key = truth * this.classes + pred;
    if (this.dense) this.dense[key] += n;
    else this.sparse!.set(key, (this.sparse!.get(key) ?? 0) + n);
  }

  get(truth: number, pred: number): number {
    const key = truth * this.classes + pred;
    return this.dense ? this.dense[key] : (this.sparse!.get(key) ?? 0);
  }

  merge(o: ConfusionCounts): void {
    for (const [t, p, n] of o.entries()) this.add(t, p, n);
  }

  /** Non-zero cells as [true, predicted, count], row-major order. */
  entries(): [number, number, number][] {
    const out: [number, number, number][] = [];
    const K = this.classes;
    if (this.dense) {
      for (let i = 0; i < this.dense.length; i++) if (this.dense[i] !== 0) out.push([Math.floor(i / K), i % K, this.dense[i]]);
    } else {
      for (const key of [...this.sparse!.keys()].sort((a, b) => a - b)) out.push([Math.floor(key / K), key % K, this.sparse!.get(key)!]);
    }
    return out;
  }

  /** The K × K matrix (rows = true class). */
  matrix(): number[][] {
    const K = this.classes;
    const m = Array.from({ length: K }, () => new Array<number>(K).fill(0));
    for (const [t, p, n] of this.entries()) m[t][p] = n;
    return m;
  }
}

export interface ClassReport {
  precision: number;
  recall: number;
  f1: number;
  support: number;
}

export interface ClassificationReport {
  perClass: ClassReport[];
  macro: { precision: number; recall: number; f1: number };
  weighted: { precision: number; recall: number; f1: number };
  balancedAccuracy: number;
  /**
   * Matthews correlation, the multi-class form sklearn.metrics.matthews_corrcoef computes:
   * (c·n − Σ p_k t_k) / √((n² − Σ p_k²)(n² − Σ t_k²)), c correct rows, p_k predicted and t_k true
   * counts; 0 when a factor under the root is 0 (sklearn's convention). From the same sums as the rest,
   * so it streams and merges exactly.
   */
  mcc: number;
  /** Cohen's kappa of prediction against label, (p_o − p_e)/(1 − p_e), p_e = Σ p_k t_k / n² (NaN when p_e = 1, as sklearn). */
  kappa: number;
  /** Classes whose precision (never predicted) or recall (no support) was 0/0 and is reported as 0. */
  zeroDivision: { precision: number[]; recall: number[] };
}

/** The report from per-class true positives, prediction counts and supports. */
export function classificationReport(truePositives: ArrayLike<number>, predicted: ArrayLike<number>, support: ArrayLike<number>): ClassificationReport {
  const K = support.length;
  const perClass: ClassReport[] = [];
  const zeroDivision = { precision: [] as number[], recall: [] as number[] };
  const macro = { precision: 0, recall: 0, f1: 0 };
  const weighted = { precision: 0, recall: 0, f1: 0 };
  let present = 0;
  let supported = 0;
  let total = 0;
  let recallSum = 0;
  for (let k = 0; k < K; k++) {
    const tp = truePositives[k];
    const s = support[k];
    const p = predicted[k];
    const precision = p > 0 ? tp / p : 0;
    const recall = s > 0 ? tp / s : 0;
    const f1 = precision + recall > 0 ? (2 * precision * recall) / (precision + recall) : 0;
    perClass.push({ precision, recall, f1, support: s });
    if (s > 0 || p > 0) {
      // sklearn warns only for the classes it averages over (those in y_true or y_pred).
      if (p === 0) zeroDivision.precision.push(k);
      if (s === 0) zeroDivision.recall.push(k);
      present++;
      macro.precision += precision;
      macro.recall += recall;
      macro.f1 += f1;
    }
    if (s > 0) {
      supported++;
      recallSum += recall;
      weighted.precision += s * precision;
      weighted.recall += s * recall;
      weighted.f1 += s * f1;
      total += s;
    }
  }
  for (const key of ['precision', 'recall', 'f1'] as const) {
    macro[key] = present > 0 ? macro[key] / present : NaN;
    weighted[key] = total > 0 ? weighted[key] / total : NaN;
  }
  let n = 0;
  let correct = 0;
  let pt = 0;
  let pp = 0;
  let tt = 0;
  for (let k = 0; k < K; k++) {
    n += support[k];
    correct += truePositives[k];
    pt += predicted[k] * support[k];
    pp += predicted[k] * predicted[k];
    tt += support[k] * support[k];
  }
  const denominator = Math.sqrt((n * n - pp) * (n * n - tt));
  const mcc = denominator > 0 ? (correct * n - pt) / denominator : 0;
  const pe = pt / (n * n);
  const kappa = (correct / n - pe) / (1 - pe);
  return { perClass, macro, weighted, balancedAccuracy: supported > 0 ? recallSum / supported : NaN, mcc, kappa, zeroDivision };
}
