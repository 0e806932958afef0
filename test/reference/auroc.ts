// The exact rank-based AUROC, the reference of the AUROC tests (auroc, binary, multilabel).

/** Exact AUROC: sort the scores, give each its mid-rank among ties (Mann–Whitney U). */
export function exactAuroc(scores: ArrayLike<number>, positive: ArrayLike<boolean | number>): number | null {
  const n = scores.length;
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => scores[a] - scores[b]);
  let P = 0;
  let rankSum = 0;
  for (let i = 0; i < n; ) {
    let j = i;
    while (j + 1 < n && scores[order[j + 1]] === scores[order[i]]) j++;
    const mid = (i + j) / 2 + 1;
    for (let t = i; t <= j; t++) {
      if (positive[order[t]]) {
        P++;
        rankSum += mid;
      }
    }
    i = j + 1;
  }
  const N = n - P;
  if (P === 0 || N === 0) return null;
  return (rankSum - (P * (P + 1)) / 2) / (P * N);
}

/**
 * Exact average precision as sklearn.metrics.average_precision_score: over the distinct scores from
 * the top, Σ (R_n − R_{n−1}) P_n, tied scores entering together; null without positives.
 */
export function exactAveragePrecision(scores: ArrayLike<number>, positive: ArrayLike<boolean | number>): number | null {
  const n = scores.length;
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => scores[b] - scores[a]);
  let P = 0;
  for (let i = 0; i < n; i++) if (positive[i]) P++;
  if (P === 0) return null;
  let tp = 0;
  let fp = 0;
  let ap = 0;
  for (let i = 0; i < n; ) {
    let dtp = 0;
    const t = scores[order[i]];
    for (; i < n && scores[order[i]] === t; i++) {
      if (positive[order[i]]) dtp++;
      else fp++;
    }
    tp += dtp;
    ap += (dtp / P) * (tp / (tp + fp));
  }
  return ap;
}
