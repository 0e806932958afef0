// Split conformal prediction (issue 24): the nonconformity score of each class of a row, from
// p = softmax(x / T) as rank.ts computes it (float32 values, classes in rank order: p
// descending, ties to the lower index) and float64 arithmetic after it. With ρ_j the sum of p
// over the classes ranked before j (accumulated in rank order) and r_j the 1-based rank:
//   lac   1 − p_j
//   aps   ρ_j + u·p_j
//   raps  ρ_j + u·p_j + λ·max(0, r_j − kReg)
// u is the row's uniform (uniforms[r]), or 1 when uniforms is null (not randomized).
// conformalLabelScores writes the score of each row's label (calibration); conformalSets
// writes, per row, the classes whose score is ≤ q̂ (q̂ one value, or one per class), in rank
// order, packed one row after the other, and each row's size. A row that softmax maps to NaN
// scores NaN, so its set is empty. The JS reference (src/backends/js-uncertainty.ts) runs the
// same steps in the same order: equal p give equal f64 scores on both backends.
// Cost per row: C exp and a heap sort of C indices (rank.ts).
import { rowProbabilities, rankOrder } from './rank';

// Method codes: src/backends/abi.ts ConformalMethod.
// @ts-ignore: decorator
@inline const LAC: i32 = 0;
// @ts-ignore: decorator
@inline const RAPS: i32 = 2;

/** Bytes of the conformal kernels' scratch for rows of `classes`: f64 probabilities, i32 rank order. */
export function conformalScratchBytes(classes: i32): i32 {
  return classes * 12;
}

// @ts-ignore: decorator
@inline
function scoreOf(method: i32, rho: f64, pj: f64, rank: i32, u: f64, lambda: f64, kReg: i32): f64 {
  if (method == LAC) return 1.0 - pj;
  let s = rho + u * pj;
  if (method == RAPS) s += lambda * <f64>max(0, rank - kReg);
  return s;
}

/** out[r] = the score of class labels[r] of row r (f64). */
export function conformalLabelScores(
  xPtr: usize, rows: i32, classes: i32, temperature: f64, method: i32, uniforms: usize, lambda: f64, kReg: i32,
  labels: usize, scratch: usize, outPtr: usize,
): void {
  let stride = <usize>classes << 2;
  let probs = scratch;
  let order = scratch + (<usize>classes << 3);
  for (let r = 0; r < rows; r++) {
    let o = outPtr + (<usize>r << 3);
    if (!rowProbabilities(xPtr + <usize>r * stride, classes, temperature, probs)) {
      store<f64>(o, NaN);
      continue;
    }
    rankOrder(probs, classes, order);
    let u = uniforms == 0 ? 1.0 : load<f64>(uniforms + (<usize>r << 3));
    let y = load<i32>(labels + (<usize>r << 2));
    let rho: f64 = 0.0;
    for (let k = 0; k < classes; k++) {
      let j = load<i32>(order + (<usize>k << 2));
      let pj = load<f64>(probs + (<usize>j << 3));
      if (j == y) {
        store<f64>(o, scoreOf(method, rho, pj, k + 1, u, lambda, kReg));
        break;
      }
      rho += pj;
    }
  }
}

/**
 * Prediction sets: row r's members (score_j ≤ q̂, or ≤ q̂_j with qhatPerClass) go to members in
 * rank order right after row r − 1's, and their count to sizes[r]. Returns the total.
 */
export function conformalSets(
  xPtr: usize, rows: i32, classes: i32, temperature: f64, method: i32, uniforms: usize, lambda: f64, kReg: i32,
  qhat: usize, qhatPerClass: bool, scratch: usize, members: usize, sizes: usize,
): i32 {
  let stride = <usize>classes << 2;
  let probs = scratch;
  let order = scratch + (<usize>classes << 3);
  let w = 0;
  let q0 = load<f64>(qhat);
  for (let r = 0; r < rows; r++) {
    let start = w;
    if (rowProbabilities(xPtr + <usize>r * stride, classes, temperature, probs)) {
      rankOrder(probs, classes, order);
      let u = uniforms == 0 ? 1.0 : load<f64>(uniforms + (<usize>r << 3));
      let rho: f64 = 0.0;
      for (let k = 0; k < classes; k++) {
        let j = load<i32>(order + (<usize>k << 2));
        let pj = load<f64>(probs + (<usize>j << 3));
        let q = qhatPerClass ? load<f64>(qhat + (<usize>j << 3)) : q0;
        if (scoreOf(method, rho, pj, k + 1, u, lambda, kReg) <= q) {
          store<i32>(members + (<usize>w << 2), j);
          w++;
        }
        rho += pj;
      }
    }
    store<i32>(sizes + (<usize>r << 2), w - start);
  }
  return w;
}
