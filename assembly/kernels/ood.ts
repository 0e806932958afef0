// Out-of-distribution scores of each row of a row-major float32 [rows, classes] batch (issue 24),
// higher = more likely out of distribution, from p = softmax(x / T) as rank.ts computes it
// (float32 values) and float64 arithmetic after it:
//   msp       −max p                      maxLogit  −max x (ignores T)
//   energy    −T·logsumexp(x / T)          entropy   −Σ p ln p (0 ln 0 = 0)
//   margin    −(p₍₁₎ − p₍₂₎), p₍₂₎ = 0 for one class
//   gen       Σ over the topM largest p of p^γ (1 − p)^γ (Liu et al., CVPR 2023)
// Special rows follow SEMANTICS.md literally: a row that softmax maps to NaN (NaN, +inf, all −inf)
// scores NaN under msp, entropy, margin and gen; maxLogit is −(NaN-propagating max) (+inf row → −inf,
// all −inf → +inf); energy uses logsumexp's masking of an infinite max (§1), so an all −inf row
// scores +inf and a row with +inf scores −inf. NaN results are the canonical quiet NaN.
// Algorithm: one scalar f64 pass per row (two for p); gen with topM < classes ranks the row
// (rank.ts heap sort). Not vectorised: the cost is a few exp per element, small beside reading
// the logits from disk; measured agreement with the float64 JS reference: bit-identical on the
// test batches (test/uncertainty.test.ts allows the SEMANTICS §11 log-domain bounds).
import { canonicalF32 } from '../lanes';
import { rowProbabilities, rankOrder } from './rank';

// Method codes: src/backends/abi.ts OodMethod.
// @ts-ignore: decorator
@inline const MSP: i32 = 0;
// @ts-ignore: decorator
@inline const MAX_LOGIT: i32 = 1;
// @ts-ignore: decorator
@inline const ENERGY: i32 = 2;
// @ts-ignore: decorator
@inline const ENTROPY: i32 = 3;
// @ts-ignore: decorator
@inline const MARGIN: i32 = 4;
// @ts-ignore: decorator
@inline const GEN: i32 = 5;

/** Bytes of oodScores' scratch for rows of `classes`: f64 probabilities, then i32 rank order. */
export function oodScratchBytes(classes: i32): i32 {
  return classes * 12;
}

/** NaN-propagating max of a row (SEMANTICS §0), optionally of x / T rounded to float32. */
function rowMaxScaled(p: usize, classes: i32, temperature: f64): f64 {
  let m: f32 = -Infinity;
  let scaled = temperature != 1.0;
  for (let j = 0; j < classes; j++) {
    let v = load<f32>(p + (<usize>j << 2));
    if (scaled) v = <f32>(<f64>v / temperature);
    if (v != v) return NaN;
    if (v > m) m = v;
  }
  return m;
}

/** −T·logsumexp(x / T) with logsumexp's masking of an infinite max (SEMANTICS §1). */
function energyOf(p: usize, classes: i32, temperature: f64): f64 {
  let m = rowMaxScaled(p, classes, temperature);
  if (m != m) return NaN;
  let shift = m == Infinity || m == -Infinity ? 0.0 : m;
  let scaled = temperature != 1.0;
  let s: f64 = 0.0;
  for (let j = 0; j < classes; j++) {
    let v = load<f32>(p + (<usize>j << 2));
    if (scaled) v = <f32>(<f64>v / temperature);
    s += Math.exp(<f64>v - shift);
  }
  return -temperature * (Math.log(s) + shift);
}

function probabilityScore(probs: usize, order: usize, classes: i32, method: i32, gamma: f64, topM: i32): f64 {
  if (method == MSP || method == MARGIN) {
    let p1: f64 = -1.0;
    let p2: f64 = 0.0;
    for (let j = 0; j < classes; j++) {
      let v = load<f64>(probs + (<usize>j << 3));
      if (v > p1) {
        p2 = p1;
        p1 = v;
      } else if (v > p2) p2 = v;
    }
    if (classes == 1) p2 = 0.0;
    return method == MSP ? -p1 : -(p1 - p2);
  }
  if (method == ENTROPY) {
    let h: f64 = 0.0;
    for (let j = 0; j < classes; j++) {
      let v = load<f64>(probs + (<usize>j << 3));
      if (v > 0.0) h -= v * Math.log(v);
    }
    return h;
  }
  // GEN: all classes in index order, or the topM largest in rank order.
  let g: f64 = 0.0;
  if (topM >= classes) {
    for (let j = 0; j < classes; j++) {
      let v = load<f64>(probs + (<usize>j << 3));
      g += Math.pow(v, gamma) * Math.pow(1.0 - v, gamma);
    }
    return g;
  }
  rankOrder(probs, classes, order);
  for (let k = 0; k < topM; k++) {
    let v = load<f64>(probs + (<usize>load<i32>(order + (<usize>k << 2)) << 3));
    g += Math.pow(v, gamma) * Math.pow(1.0 - v, gamma);
  }
  return g;
}

/** out[r] = the OOD score of row r under `method` (codes above); topM in [1, classes]. */
export function oodScores(
  xPtr: usize, rows: i32, classes: i32, temperature: f64, method: i32, gamma: f64, topM: i32, scratch: usize, outPtr: usize,
): void {
  let stride = <usize>classes << 2;
  let probs = scratch;
  let order = scratch + (<usize>classes << 3);
  for (let r = 0; r < rows; r++) {
    let p = xPtr + <usize>r * stride;
    let score: f64;
    if (method == MAX_LOGIT) score = -rowMaxScaled(p, classes, 1.0);
    else if (method == ENERGY) score = energyOf(p, classes, temperature);
    else score = rowProbabilities(p, classes, temperature, probs) ? probabilityScore(probs, order, classes, method, gamma, topM) : NaN;
    store<f32>(outPtr + (<usize>r << 2), canonicalF32(<f32>score));
  }
}
