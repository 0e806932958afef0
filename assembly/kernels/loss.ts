// Losses and distribution measures along the rows of a row-major float32 [rows, classes]
// batch (SEMANTICS.md §4–7, §9): cross-entropy with class and probability targets, its
// gradient in one fused pass, BCE with logits, entropy and KL divergence.
//
// Algorithm. Every row op is two or three streaming passes over the row: pass 1 takes the
// max m (compare-select, skipping NaN: a NaN still poisons the sums through exp(NaN − m), and
// +inf or all −inf rows give inf − inf = NaN, exactly as the spec's unmasked log-softmax);
// pass 2 computes d = x − m and e = exp(d) and accumulates s = Σ e together with whatever
// weighted sum of d the op needs, so that log-softmax is never materialised:
//   nll    = −w_t·((x_t − m) − log s)                         (x_t − m in f64)
//   smooth = −Σ w_c·lp_c = −Σ w_c·d_c + W·log s                (W = Σ w_c)
//   soft   = −Σ q'_c w_c·lp_c = −Σ d_c·q'_c w_c + log s·Σ q'_c w_c
//   H      = log s − Σ e_c·d_c / s                             (0·log 0 = 0 by clamping d)
//   KL     = Σ e^p_c (d^p_c − d^q_c) / s_p + log s_q − log s_p (log-domain −inf tests)
// All parts are sums of same-signed terms for non-negative weights and targets, so these
// rearrangements do not cancel. The gradient kernels store e into the gradient row in
// pass 2 and turn it into grad = A·e + G in pass 3 (A = −ΣG/s, G = ∂L/∂lp), so they read
// the logits twice and write the gradient twice, like softmax.
// Rows of at most ACROSS_ROWS_MAX_CLASSES go four at a time, one row per lane (a per-row
// vector loop would be all tail there); BCE is one elementwise pass in the stable form.
// Accumulation: f32x4 lanes over blocks of BLOCK elements (each lane adds at most BLOCK/4
// terms), each block flushed into an f64x2 total, so 128k-wide rows do not drift. Logs and
// the per-row combination are f64. Per-row results go out as f64 for the TypeScript glue to
// reduce in f64, or as f32 where they are the answer (reduction 'none', entropy, gradients);
// every NaN written is the canonical quiet NaN, so results are bit-reproducible.
// Measured accuracy (against float64, N(0, 3²) logits, weights and ε = 0.1): per-row
// cross-entropy on 32 × 128,256 and 64 × 32,000 within 0.001× its §11 bound, the gradient
// within 0.002× its bound; test/spec-loss-large.test.ts asserts the bounds themselves.
import { rowMax } from './rows';
// The hot loops use the degree-5 exp of the softmax family (≤ 2.4 ulp; ~10% faster than the
// 1.2-ulp one); every loss stays far inside its SEMANTICS §11 bound (test/spec-loss*).
import { expNonPositiveP5F32x4 as expNonPositiveF32x4, expF32x4 } from '../math/exp';
import { log1pUnitF32x4 } from '../math/log1p';
import { logPositiveF64x2 } from '../math/log';

// @ts-ignore: decorator
@inline const BLOCK: i32 = 256;
// @ts-ignore: decorator
@inline const ACROSS_ROWS_MAX_CLASSES: i32 = 15;
// @ts-ignore: decorator
@inline const FLT_MAX: f32 = reinterpret<f32>(0x7F7FFFFF); // 3.40282347e38

// Extra results of the multi-sum passes (kernels run one at a time per instance).
let sumB: f64 = 0;
let sumQ: f64 = 0;

// ---- small vector helpers ----------------------------------------------------------------

/** total (f64x2) + the four f32 lanes of a. */
// @ts-ignore: decorator
@inline
function addLanes(total: v128, a: v128): v128 {
  total = f64x2.add(total, f64x2.promote_low_f32x4(a));
  return f64x2.add(total, f64x2.promote_low_f32x4(v128.shuffle<f32>(a, a, 2, 3, 0, 1)));
}

// @ts-ignore: decorator
@inline
function laneSum(total: v128): f64 {
  return f64x2.extract_lane(total, 0) + f64x2.extract_lane(total, 1);
}

/** All-ones in the first k lanes (k in 1..3). */
// @ts-ignore: decorator
@inline
function tailMask(k: i32): v128 {
  return i32x4.gt_s(i32x4.splat(k), i32x4(0, 1, 2, 3));
}

/** The first k floats at p (k in 1..3), zeros after: never reads past the row. */
// @ts-ignore: decorator
@inline
function loadTail(p: usize, k: i32): v128 {
  let v = v128.load32_zero(p);
  if (k > 1) v = v128.load32_lane(p + 4, v, 1);
  if (k > 2) v = v128.load32_lane(p + 8, v, 2);
  return v;
}

/** Scatters the four lanes of v to element j of four consecutive rows. */
// @ts-ignore: decorator
@inline
function scatterColumn(q: usize, stride: usize, v: v128): void {
  v128.store32_lane(q, v, 0);
  v128.store32_lane(q + stride, v, 1);
  v128.store32_lane(q + 2 * stride, v, 2);
  v128.store32_lane(q + 3 * stride, v, 3);
}

// @ts-ignore: decorator
@inline
function storeTail(p: usize, v: v128, k: i32): void {
  v128.store32_lane(p, v, 0);
  if (k > 1) v128.store32_lane(p + 4, v, 1);
  if (k > 2) v128.store32_lane(p + 8, v, 2);
}

/** Element j of four consecutive rows (q points at row 0's element j). */
// @ts-ignore: decorator
@inline
function gatherColumn(q: usize, stride: usize): v128 {
  let v = v128.load32_zero(q);
  v = v128.load32_lane(q + stride, v, 1);
  v = v128.load32_lane(q + 2 * stride, v, 2);
  return v128.load32_lane(q + 3 * stride, v, 3);
}

/**
 * NaN lanes replaced by the canonical quiet NaN (0x7FC00000). Wasm leaves the sign of a NaN
 * produced by arithmetic to the engine, and V8's baseline and optimising tiers differ, so
 * without this a NaN result could flip its sign bit between calls or threads.
 */
// @ts-ignore: decorator
@inline
function canonicalF32x4(v: v128): v128 {
  return v128.bitselect(v, f32x4.splat(<f32>NaN), f32x4.eq(v, v));
}

// @ts-ignore: decorator
@inline
function canonicalF32(v: f32): f32 {
  return v == v ? v : <f32>NaN;
}

// @ts-ignore: decorator
@inline
function canonicalF64(v: f64): f64 {
  return v == v ? v : NaN;
}

/**
 * log of lanes 0, 1 of an f32x4 of positive sums, in f64 (math/log.ts). The short-row entropy
 * and KL paths use it; cross-entropy and its gradient measured faster with four scalar
 * Math.log calls (V8, x86-64: 1.8 vs 2.5 ms for 131,072 × 2), so they keep those.
 */
// @ts-ignore: decorator
@inline
function logLow(s: v128): v128 {
  return logPositiveF64x2(f64x2.promote_low_f32x4(s));
}

/** log of lanes 2, 3 of an f32x4 of positive sums, in f64. */
// @ts-ignore: decorator
@inline
function logHigh(s: v128): v128 {
  return logPositiveF64x2(f64x2.promote_low_f32x4(v128.shuffle<f32>(s, s, 2, 3, 0, 1)));
}

// ---- pass 1: row max -----------------------------------------------------------------------

// rowMax (NaN-skipping, in ./rows) is shared with the softmax family.

// ---- pass 2 variants -----------------------------------------------------------------------

/** s = Σ exp(x − m); with storeExp each exp(x − m) is also written to dst. */
// @ts-ignore: decorator
@inline
function expSum(p: usize, dst: usize, n: i32, m: f32, storeExp: bool): f64 {
  let mv = f32x4.splat(m);
  let total = f64x2.splat(0.0);
  let i = 0;
  while (n - i >= 16) {
    let end = i + (min(BLOCK, n - i) & ~15);
    let a0 = f32x4.splat(0.0);
    let a1 = a0;
    let a2 = a0;
    let a3 = a0;
    for (; i < end; i += 16) {
      let off = <usize>i << 2;
      let q = p + off;
      let e0 = expNonPositiveF32x4(f32x4.sub(v128.load(q), mv));
      let e1 = expNonPositiveF32x4(f32x4.sub(v128.load(q, 16), mv));
      let e2 = expNonPositiveF32x4(f32x4.sub(v128.load(q, 32), mv));
      let e3 = expNonPositiveF32x4(f32x4.sub(v128.load(q, 48), mv));
      if (storeExp) {
        let d = dst + off;
        v128.store(d, e0);
        v128.store(d, e1, 16);
        v128.store(d, e2, 32);
        v128.store(d, e3, 48);
      }
      a0 = f32x4.add(a0, e0);
      a1 = f32x4.add(a1, e1);
      a2 = f32x4.add(a2, e2);
      a3 = f32x4.add(a3, e3);
    }
    total = addLanes(total, f32x4.add(f32x4.add(a0, a1), f32x4.add(a2, a3)));
  }
  let a = f32x4.splat(0.0);
  for (; i + 4 <= n; i += 4) {
    let off = <usize>i << 2;
    let e = expNonPositiveF32x4(f32x4.sub(v128.load(p + off), mv));
    if (storeExp) v128.store(dst + off, e);
    a = f32x4.add(a, e);
  }
  if (i < n) {
    let off = <usize>i << 2;
    let k = n - i;
    let e = v128.and(expNonPositiveF32x4(f32x4.sub(loadTail(p + off, k), mv)), tailMask(k));
    if (storeExp) storeTail(dst + off, e, k);
    a = f32x4.add(a, e);
  }
  return laneSum(addLanes(total, a));
}

/**
 * s = Σ exp(d) (returned) and sumB = Σ w_c·d_c (w_c = 1 unweighted), d = x − m: the
 * label-smoothing term. d = −inf gives −inf·w (NaN for w = 0), as the literal formula.
 */
// @ts-ignore: decorator
@inline
function expSumSmooth(p: usize, w: usize, dst: usize, n: i32, m: f32, weighted: bool, storeExp: bool): f64 {
  let mv = f32x4.splat(m);
  let ts = f64x2.splat(0.0);
  let tb = ts;
  let i = 0;
  while (n - i >= 4) {
    let end = i + (min(BLOCK, n - i) & ~3);
    let as = f32x4.splat(0.0);
    let ab = as;
    for (; i < end; i += 4) {
      let off = <usize>i << 2;
      let d = f32x4.sub(v128.load(p + off), mv);
      let e = expNonPositiveF32x4(d);
      if (storeExp) v128.store(dst + off, e);
      as = f32x4.add(as, e);
      ab = f32x4.add(ab, weighted ? f32x4.mul(v128.load(w + off), d) : d);
    }
    ts = addLanes(ts, as);
    tb = addLanes(tb, ab);
  }
  if (i < n) {
    let off = <usize>i << 2;
    let k = n - i;
    let mask = tailMask(k);
    let d = f32x4.sub(loadTail(p + off, k), mv);
    let e = v128.and(expNonPositiveF32x4(d), mask);
    if (storeExp) storeTail(dst + off, e, k);
    ts = addLanes(ts, e);
    tb = addLanes(tb, v128.and(weighted ? f32x4.mul(loadTail(w + off, k), d) : d, mask));
  }
  sumB = laneSum(tb);
  return laneSum(ts);
}

/** q'·w for four classes: q(1−ε) + ε/C when smoothing, times w when weighted. */
// @ts-ignore: decorator
@inline
function targetWeight(q: v128, w: v128, keep: v128, add: v128, smoothing: bool, weighted: bool): v128 {
  let t = smoothing ? f32x4.add(f32x4.mul(q, keep), add) : q;
  return weighted ? f32x4.mul(t, w) : t;
}

/**
 * Soft targets: s = Σ exp(d) (returned), sumB = Σ d_c·q'_c w_c and sumQ = Σ q'_c w_c.
 * (d·(q'w) is −inf·0 = NaN for a zero target on a −inf logit, as PyTorch's lp·q.)
 */
// @ts-ignore: decorator
@inline
function expSumSoft(p: usize, qp: usize, w: usize, dst: usize, n: i32, m: f32, keep: f32, add: f32, smoothing: bool, weighted: bool, storeExp: bool): f64 {
  let mv = f32x4.splat(m);
  let kv = f32x4.splat(keep);
  let av = f32x4.splat(add);
  let ts = f64x2.splat(0.0);
  let tb = ts;
  let tq = ts;
  let i = 0;
  while (n - i >= 4) {
    let end = i + (min(BLOCK, n - i) & ~3);
    let as = f32x4.splat(0.0);
    let ab = as;
    let aq = as;
    for (; i < end; i += 4) {
      let off = <usize>i << 2;
      let d = f32x4.sub(v128.load(p + off), mv);
      let e = expNonPositiveF32x4(d);
      if (storeExp) v128.store(dst + off, e);
      let qw = targetWeight(v128.load(qp + off), weighted ? v128.load(w + off) : kv, kv, av, smoothing, weighted);
      as = f32x4.add(as, e);
      ab = f32x4.add(ab, f32x4.mul(d, qw));
      aq = f32x4.add(aq, qw);
    }
    ts = addLanes(ts, as);
    tb = addLanes(tb, ab);
    tq = addLanes(tq, aq);
  }
  if (i < n) {
    let off = <usize>i << 2;
    let k = n - i;
    let mask = tailMask(k);
    let d = f32x4.sub(loadTail(p + off, k), mv);
    let e = v128.and(expNonPositiveF32x4(d), mask);
    if (storeExp) storeTail(dst + off, e, k);
    let qw = v128.and(targetWeight(loadTail(qp + off, k), weighted ? loadTail(w + off, k) : kv, kv, av, smoothing, weighted), mask);
    ts = addLanes(ts, e);
    tb = addLanes(tb, v128.and(f32x4.mul(d, qw), mask));
    tq = addLanes(tq, qw);
  }
  sumB = laneSum(tb);
  sumQ = laneSum(tq);
  return laneSum(ts);
}

// ---- pass 3: the gradient from the stored exponentials ---------------------------------------

/** g[j] = a·g[j] + b·w[j] (weighted), a·g[j] + b (unweighted), or a·g[j] (no b). */
// @ts-ignore: decorator
@inline
function scaleAddRow(g: usize, w: usize, n: i32, a: f32, b: f32, withB: bool, weighted: bool): void {
  let av = f32x4.splat(a);
  let bv = f32x4.splat(b);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    let q = g + (<usize>i << 2);
    let v = f32x4.mul(v128.load(q), av);
    if (withB) v = f32x4.add(v, weighted ? f32x4.mul(v128.load(w + (<usize>i << 2)), bv) : bv);
    v128.store(q, canonicalF32x4(v));
  }
  for (; i < n; i++) {
    let q = g + (<usize>i << 2);
    let v = load<f32>(q) * a;
    if (withB) v += weighted ? load<f32>(w + (<usize>i << 2)) * b : b;
    store<f32>(q, canonicalF32(v));
  }
}

/** g[j] = a·g[j] − sigma·q'_j w_j (soft targets). */
// @ts-ignore: decorator
@inline
function softGradRow(g: usize, qp: usize, w: usize, n: i32, a: f32, sigma: f32, keep: f32, add: f32, smoothing: bool, weighted: bool): void {
  let av = f32x4.splat(a);
  let sv = f32x4.splat(sigma);
  let kv = f32x4.splat(keep);
  let adv = f32x4.splat(add);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    let off = <usize>i << 2;
    let qw = targetWeight(v128.load(qp + off), weighted ? v128.load(w + off) : kv, kv, adv, smoothing, weighted);
    v128.store(g + off, canonicalF32x4(f32x4.sub(f32x4.mul(v128.load(g + off), av), f32x4.mul(sv, qw))));
  }
  for (; i < n; i++) {
    let off = <usize>i << 2;
    let q = load<f32>(qp + off);
    let qw = smoothing ? q * keep + add : q;
    if (weighted) qw *= load<f32>(w + off);
    store<f32>(g + off, canonicalF32(load<f32>(g + off) * a - sigma * qw));
  }
}

function fillRow(g: usize, n: i32, v: f32): void {
  let vv = f32x4.splat(v);
  let i = 0;
  for (; i + 4 <= n; i += 4) v128.store(g + (<usize>i << 2), vv);
  for (; i < n; i++) store<f32>(g + (<usize>i << 2), v);
}

// ---- cross-entropy with class targets ------------------------------------------------------

/** nll[r] (and smooth[r]) of one row from its max m, log s (s = Σ exp(x − m)) and b = Σ w_c·(x_c − m). */
// @ts-ignore: decorator
@inline
function storeClassRow(
  r: i32, p: usize, classes: i32, targetPtr: usize, ignoreIndex: i32, weightPtr: usize, m: f32, logS: f64, b: f64,
  smoothing: f64, sumW: f64, nllPtr: usize, smoothPtr: usize, weighted: bool, lossOut: bool,
): void {
  let t = load<i32>(targetPtr + (<usize>r << 2));
  if (t == ignoreIndex) {
    // Masked, not multiplied: contributes exactly 0 whatever the row holds.
    if (lossOut) store<f32>(nllPtr + (<usize>r << 2), 0.0);
    else {
      store<f64>(nllPtr + (<usize>r << 3), 0.0);
      if (smoothing > 0) store<f64>(smoothPtr + (<usize>r << 3), 0.0);
    }
    return;
  }
  let wt: f64 = weighted ? <f64>load<f32>(weightPtr + (<usize>t << 2)) : 1.0;
  let lpT = (<f64>load<f32>(p + (<usize>t << 2)) - <f64>m) - logS;
  let nll = -(lpT * wt);
  let smooth = smoothing > 0 ? -b + sumW * logS : 0;
  if (lossOut) {
    // reduction 'none': the row's loss itself, (1−ε)·nll + (ε/C)·smooth, rounded once to f32.
    store<f32>(nllPtr + (<usize>r << 2), canonicalF32(<f32>(smoothing > 0 ? (1 - smoothing) * nll + (smoothing / <f64>classes) * smooth : nll)));
  } else {
    store<f64>(nllPtr + (<usize>r << 3), nll);
    if (smoothing > 0) store<f64>(smoothPtr + (<usize>r << 3), smooth);
  }
}

/**
 * Rows of at most ACROSS_ROWS_MAX_CLASSES classes, four at a time with one row per lane (a per-row
 * vector loop would be all tail there): column max, then Σ exp(d) and Σ w_c·d_c per lane in
 * f32 (at most 15 terms). Returns how many rows it did (a multiple of 4).
 */
// @ts-ignore: decorator
@inline
function classAcrossRows(
  xPtr: usize, rows: i32, classes: i32, targetPtr: usize, ignoreIndex: i32, weightPtr: usize,
  smoothing: f64, sumW: f64, nllPtr: usize, smoothPtr: usize, weighted: bool, lossOut: bool,
): i32 {
  let stride = <usize>classes << 2;
  let smooth = smoothing > 0;
  let r = 0;
  for (; r + 4 <= rows; r += 4) {
    let p = xPtr + <usize>r * stride;
    let m = f32x4.splat(-Infinity);
    for (let j = 0; j < classes; j++) m = f32x4.pmax(m, gatherColumn(p + (<usize>j << 2), stride));
    let s = f32x4.splat(0.0);
    let b = s;
    for (let j = 0; j < classes; j++) {
      let d = f32x4.sub(gatherColumn(p + (<usize>j << 2), stride), m);
      s = f32x4.add(s, expNonPositiveF32x4(d));
      if (smooth) b = f32x4.add(b, weighted ? f32x4.mul(f32x4.splat(load<f32>(weightPtr + (<usize>j << 2))), d) : d);
    }
    storeClassRow(r, p, classes, targetPtr, ignoreIndex, weightPtr, f32x4.extract_lane(m, 0), Math.log(<f64>f32x4.extract_lane(s, 0)), <f64>f32x4.extract_lane(b, 0), smoothing, sumW, nllPtr, smoothPtr, weighted, lossOut);
    storeClassRow(r + 1, p + stride, classes, targetPtr, ignoreIndex, weightPtr, f32x4.extract_lane(m, 1), Math.log(<f64>f32x4.extract_lane(s, 1)), <f64>f32x4.extract_lane(b, 1), smoothing, sumW, nllPtr, smoothPtr, weighted, lossOut);
    storeClassRow(r + 2, p + 2 * stride, classes, targetPtr, ignoreIndex, weightPtr, f32x4.extract_lane(m, 2), Math.log(<f64>f32x4.extract_lane(s, 2)), <f64>f32x4.extract_lane(b, 2), smoothing, sumW, nllPtr, smoothPtr, weighted, lossOut);
    storeClassRow(r + 3, p + 3 * stride, classes, targetPtr, ignoreIndex, weightPtr, f32x4.extract_lane(m, 3), Math.log(<f64>f32x4.extract_lane(s, 3)), <f64>f32x4.extract_lane(b, 3), smoothing, sumW, nllPtr, smoothPtr, weighted, lossOut);
  }
  return r;
}

// @ts-ignore: decorator
@inline
function classRows(
  xPtr: usize, rows: i32, classes: i32, targetPtr: usize, ignoreIndex: i32, weightPtr: usize,
  smoothing: f64, sumW: f64, nllPtr: usize, smoothPtr: usize, weighted: bool, lossOut: bool,
): void {
  let stride = <usize>classes << 2;
  let r = 0;
  if (classes <= ACROSS_ROWS_MAX_CLASSES)
    r = classAcrossRows(xPtr, rows, classes, targetPtr, ignoreIndex, weightPtr, smoothing, sumW, nllPtr, smoothPtr, weighted, lossOut);
  for (; r < rows; r++) {
    let p = xPtr + <usize>r * stride;
    let m: f32 = 0;
    let logS: f64 = 0;
    // An ignored row is not even read (storeClassRow writes its zeros).
    if (load<i32>(targetPtr + (<usize>r << 2)) != ignoreIndex) {
      m = rowMax(p, classes, false, 1.0);
      if (smoothing > 0) logS = Math.log(expSumSmooth(p, weightPtr, 0, classes, m, weighted, false));
      else logS = Math.log(expSum(p, 0, classes, m, false));
    }
    storeClassRow(r, p, classes, targetPtr, ignoreIndex, weightPtr, m, logS, sumB, smoothing, sumW, nllPtr, smoothPtr, weighted, lossOut);
  }
}

/**
 * Per-row parts of class-target cross-entropy: nll[r] = −w_t·lp_t and (when smoothing > 0)
 * smooth[r] = −Σ_c w_c·lp_c, as f64, for the caller's reductions; ignored rows give 0.
 * With lossOut (reduction 'none') nllPtr is instead an f32 array of the rows' losses
 * (1−ε)·nll + (ε/C)·smooth, and smoothPtr is unused. sumW = Σ_c w_c (classes unweighted).
 */
export function crossEntropyClass(
  xPtr: usize, rows: i32, classes: i32, targetPtr: usize, ignoreIndex: i32, weighted: i32, weightPtr: usize,
  smoothing: f64, sumW: f64, nllPtr: usize, smoothPtr: usize, lossOut: i32,
): void {
  let none = lossOut != 0;
  if (weighted) classRows(xPtr, rows, classes, targetPtr, ignoreIndex, weightPtr, smoothing, sumW, nllPtr, smoothPtr, true, none);
  else classRows(xPtr, rows, classes, targetPtr, ignoreIndex, weightPtr, smoothing, sumW, nllPtr, smoothPtr, false, none);
}

// Per-row results of gradScalars besides its return value.
let rowTargetOffset: i32 = 0; // byte offset of the target within the row, or -1 if the row is ignored
let rowGradT: f64 = 0; // G_t = −σ((1−ε)w_t + (ε/C)w_t)

/**
 * Stores the row's nll (and smooth) and returns a = −ΣG/s, the factor of e = exp(x − m) in
 * grad = a·e + G (G_j = −σ(ε/C)w_j off the target, G_t = −σ((1−ε)w_t + (ε/C)w_t)). Ignored
 * rows have G = 0, so grad = 0 − p·0: a is 0, or NaN when the row's softmax is (s = NaN).
 */
// @ts-ignore: decorator
@inline
function gradScalars(
  r: i32, p: usize, classes: i32, targetPtr: usize, ignoreIndex: i32, weightPtr: usize, m: f32, s: f64, logS: f64, b: f64,
  smoothing: f64, sumW: f64, sigma: f64, nllPtr: usize, smoothPtr: usize, weighted: bool,
): f64 {
  storeClassRow(r, p, classes, targetPtr, ignoreIndex, weightPtr, m, logS, b, smoothing, sumW, nllPtr, smoothPtr, weighted, false);
  let t = load<i32>(targetPtr + (<usize>r << 2));
  if (t == ignoreIndex) {
    rowTargetOffset = -1;
    return s == s ? 0.0 : NaN;
  }
  rowTargetOffset = t << 2;
  let wt: f64 = weighted ? <f64>load<f32>(weightPtr + (<usize>t << 2)) : 1.0;
  let sumG: f64;
  if (smoothing > 0) {
    let uniform = smoothing / <f64>classes; // ε/C
    sumG = -sigma * ((1 - smoothing) * wt + uniform * sumW);
    rowGradT = -sigma * ((1 - smoothing) * wt + uniform * wt);
  } else {
    sumG = -sigma * wt;
    rowGradT = sumG;
  }
  return -sumG / s;
}

/** Short rows four at a time (as classAcrossRows), e stored in grad, then grad = a·e + G per column. */
// @ts-ignore: decorator
@inline
function classGradAcrossRows(
  xPtr: usize, rows: i32, classes: i32, targetPtr: usize, ignoreIndex: i32, weightPtr: usize,
  smoothing: f64, sumW: f64, sigma: f64, gradPtr: usize, nllPtr: usize, smoothPtr: usize, weighted: bool,
): i32 {
  let stride = <usize>classes << 2;
  let smooth = smoothing > 0;
  let bOff = f32x4.splat(<f32>(-sigma * (smoothing / <f64>classes))); // −σ(ε/C), times w_j when weighted
  let r = 0;
  for (; r + 4 <= rows; r += 4) {
    let p = xPtr + <usize>r * stride;
    let g = gradPtr + <usize>r * stride;
    let m = f32x4.splat(-Infinity);
    for (let j = 0; j < classes; j++) m = f32x4.pmax(m, gatherColumn(p + (<usize>j << 2), stride));
    let s = f32x4.splat(0.0);
    let b = s;
    for (let j = 0; j < classes; j++) {
      let off = <usize>j << 2;
      let d = f32x4.sub(gatherColumn(p + off, stride), m);
      let e = expNonPositiveF32x4(d);
      scatterColumn(g + off, stride, e);
      s = f32x4.add(s, e);
      if (smooth) b = f32x4.add(b, weighted ? f32x4.mul(f32x4.splat(load<f32>(weightPtr + off)), d) : d);
    }
    // Per lane: a, the target's offset, e_t (read before pass 3 overwrites it) and G_t.
    let a0 = gradScalars(r, p, classes, targetPtr, ignoreIndex, weightPtr, f32x4.extract_lane(m, 0), <f64>f32x4.extract_lane(s, 0), Math.log(<f64>f32x4.extract_lane(s, 0)), <f64>f32x4.extract_lane(b, 0), smoothing, sumW, sigma, nllPtr, smoothPtr, weighted);
    let o0 = rowTargetOffset;
    let t0 = rowGradT;
    let e0: f64 = o0 >= 0 ? <f64>load<f32>(g + <usize>o0) : 0;
    let a1 = gradScalars(r + 1, p + stride, classes, targetPtr, ignoreIndex, weightPtr, f32x4.extract_lane(m, 1), <f64>f32x4.extract_lane(s, 1), Math.log(<f64>f32x4.extract_lane(s, 1)), <f64>f32x4.extract_lane(b, 1), smoothing, sumW, sigma, nllPtr, smoothPtr, weighted);
    let o1 = rowTargetOffset;
    let t1 = rowGradT;
    let e1: f64 = o1 >= 0 ? <f64>load<f32>(g + stride + <usize>o1) : 0;
    let a2 = gradScalars(r + 2, p + 2 * stride, classes, targetPtr, ignoreIndex, weightPtr, f32x4.extract_lane(m, 2), <f64>f32x4.extract_lane(s, 2), Math.log(<f64>f32x4.extract_lane(s, 2)), <f64>f32x4.extract_lane(b, 2), smoothing, sumW, sigma, nllPtr, smoothPtr, weighted);
    let o2 = rowTargetOffset;
    let t2 = rowGradT;
    let e2: f64 = o2 >= 0 ? <f64>load<f32>(g + 2 * stride + <usize>o2) : 0;
    let a3 = gradScalars(r + 3, p + 3 * stride, classes, targetPtr, ignoreIndex, weightPtr, f32x4.extract_lane(m, 3), <f64>f32x4.extract_lane(s, 3), Math.log(<f64>f32x4.extract_lane(s, 3)), <f64>f32x4.extract_lane(b, 3), smoothing, sumW, sigma, nllPtr, smoothPtr, weighted);
    let o3 = rowTargetOffset;
    let t3 = rowGradT;
    let e3: f64 = o3 >= 0 ? <f64>load<f32>(g + 3 * stride + <usize>o3) : 0;
    // Pass 3: grad = a·e + G; G's smoothing part only on rows that are not ignored.
    let av = f32x4(<f32>a0, <f32>a1, <f32>a2, <f32>a3);
    let keep = i32x4(o0 >= 0 ? -1 : 0, o1 >= 0 ? -1 : 0, o2 >= 0 ? -1 : 0, o3 >= 0 ? -1 : 0);
    let bv = v128.and(bOff, keep);
    for (let j = 0; j < classes; j++) {
      let off = <usize>j << 2;
      let v = f32x4.mul(gatherColumn(g + off, stride), av);
      if (smooth) v = f32x4.add(v, weighted ? f32x4.mul(f32x4.splat(load<f32>(weightPtr + off)), bv) : bv);
      scatterColumn(g + off, stride, canonicalF32x4(v));
    }
    if (o0 >= 0) store<f32>(g + <usize>o0, canonicalF32(<f32>(a0 * e0 + t0)));
    if (o1 >= 0) store<f32>(g + stride + <usize>o1, canonicalF32(<f32>(a1 * e1 + t1)));
    if (o2 >= 0) store<f32>(g + 2 * stride + <usize>o2, canonicalF32(<f32>(a2 * e2 + t2)));
    if (o3 >= 0) store<f32>(g + 3 * stride + <usize>o3, canonicalF32(<f32>(a3 * e3 + t3)));
  }
  return r;
}

// @ts-ignore: decorator
@inline
function classGradRows(
  xPtr: usize, rows: i32, classes: i32, targetPtr: usize, ignoreIndex: i32, weightPtr: usize,
  smoothing: f64, sumW: f64, sigma: f64, gradPtr: usize, nllPtr: usize, smoothPtr: usize, weighted: bool,
): void {
  let stride = <usize>classes << 2;
  let r = 0;
  if (classes <= ACROSS_ROWS_MAX_CLASSES)
    r = classGradAcrossRows(xPtr, rows, classes, targetPtr, ignoreIndex, weightPtr, smoothing, sumW, sigma, gradPtr, nllPtr, smoothPtr, weighted);
  let bOff = <f32>(-sigma * (smoothing / <f64>classes));
  for (; r < rows; r++) {
    let p = xPtr + <usize>r * stride;
    let g = gradPtr + <usize>r * stride;
    let m = rowMax(p, classes, false, 1.0);
    if (load<i32>(targetPtr + (<usize>r << 2)) == ignoreIndex) {
      // G = 0, so grad = 0 − p·0: zeros, or NaN where softmax is NaN (then all of the row).
      let s = expSum(p, 0, classes, m, false);
      fillRow(g, classes, <f32>gradScalars(r, p, classes, targetPtr, ignoreIndex, weightPtr, m, s, 0, 0, smoothing, sumW, sigma, nllPtr, smoothPtr, weighted));
      continue;
    }
    let s: f64;
    if (smoothing > 0) s = expSumSmooth(p, weightPtr, g, classes, m, weighted, true);
    else s = expSum(p, g, classes, m, true);
    let a = gradScalars(r, p, classes, targetPtr, ignoreIndex, weightPtr, m, s, Math.log(s), sumB, smoothing, sumW, sigma, nllPtr, smoothPtr, weighted);
    let tOff = <usize>rowTargetOffset;
    let gT = rowGradT;
    let eT = <f64>load<f32>(g + tOff);
    if (smoothing > 0) scaleAddRow(g, weightPtr, classes, <f32>a, bOff, true, weighted);
    else scaleAddRow(g, weightPtr, classes, <f32>a, 0, false, weighted);
    store<f32>(g + tOff, canonicalF32(<f32>(a * eT + gT)));
  }
}

/**
 * Fused loss parts (as crossEntropyClass) and the gradient of the reduced loss w.r.t. x
 * into grad. sigma = 1/D ('mean') or 1 ('sum'), computed by the caller.
 */
export function crossEntropyClassGrad(
  xPtr: usize, rows: i32, classes: i32, targetPtr: usize, ignoreIndex: i32, weighted: i32, weightPtr: usize,
  smoothing: f64, sumW: f64, sigma: f64, gradPtr: usize, nllPtr: usize, smoothPtr: usize,
): void {
  if (weighted) classGradRows(xPtr, rows, classes, targetPtr, ignoreIndex, weightPtr, smoothing, sumW, sigma, gradPtr, nllPtr, smoothPtr, true);
  else classGradRows(xPtr, rows, classes, targetPtr, ignoreIndex, weightPtr, smoothing, sumW, sigma, gradPtr, nllPtr, smoothPtr, false);
}

// ---- cross-entropy with probability targets --------------------------------------------------

// @ts-ignore: decorator
@inline
function softRows(
  xPtr: usize, rows: i32, classes: i32, qPtr: usize, weightPtr: usize, smoothing: f64,
  sigma: f64, gradPtr: usize, lossPtr: usize, weighted: bool, withGrad: bool,
): void {
  let stride = <usize>classes << 2;
  let keep = <f32>(1 - smoothing);
  let add = <f32>(smoothing / <f64>classes);
  let smooth = smoothing > 0;
  for (let r = 0; r < rows; r++) {
    let off = <usize>r * stride;
    let p = xPtr + off;
    let qp = qPtr + off;
    let g = gradPtr + off;
    let m = rowMax(p, classes, false, 1.0);
    let s: f64;
    if (smooth) s = expSumSoft(p, qp, weightPtr, g, classes, m, keep, add, true, weighted, withGrad);
    else s = expSumSoft(p, qp, weightPtr, g, classes, m, keep, add, false, weighted, withGrad);
    store<f64>(lossPtr + (<usize>r << 3), canonicalF64(-sumB + Math.log(s) * sumQ));
    if (withGrad) {
      // grad = σ(p·Q − q'w) = (σQ/s)·e − σ·q'w.
      let a = <f32>(sigma * sumQ / s);
      if (smooth) softGradRow(g, qp, weightPtr, classes, a, <f32>sigma, keep, add, true, weighted);
      else softGradRow(g, qp, weightPtr, classes, a, <f32>sigma, keep, add, false, weighted);
    }
  }
}

/** loss[r] = −Σ_c lp_c·q'_c·w_c as f64 (q' = q(1−ε) + ε/C when smoothing > 0). */
export function crossEntropySoft(
  xPtr: usize, rows: i32, classes: i32, qPtr: usize, weighted: i32, weightPtr: usize, smoothing: f64, lossPtr: usize,
): void {
  if (weighted) softRows(xPtr, rows, classes, qPtr, weightPtr, smoothing, 0, 0, lossPtr, true, false);
  else softRows(xPtr, rows, classes, qPtr, weightPtr, smoothing, 0, 0, lossPtr, false, false);
}

/** Per-row soft loss (as crossEntropySoft) and grad = σ(p·Σq'w − q'w); σ = 1/rows or 1. */
export function crossEntropySoftGrad(
  xPtr: usize, rows: i32, classes: i32, qPtr: usize, weighted: i32, weightPtr: usize, smoothing: f64,
  sigma: f64, gradPtr: usize, lossPtr: usize,
): void {
  if (weighted) softRows(xPtr, rows, classes, qPtr, weightPtr, smoothing, sigma, gradPtr, lossPtr, true, true);
  else softRows(xPtr, rows, classes, qPtr, weightPtr, smoothing, sigma, gradPtr, lossPtr, false, true);
}

// ---- BCE with logits ------------------------------------------------------------------------

/**
 * (1 − t)·x − lw·log_sigmoid(x), lw = 1 + (pw − 1)·t, times w. Finite x: the stable form
 * (1 − t)·x + lw·(log1p(e^−|x|) + max(−x, 0)) with the multiples of x combined first (no
 * x − x cancellation for t = 0, x ≪ 0); ±inf lanes take the literal formula and its 0·inf.
 */
// @ts-ignore: decorator
@inline
function bceF32x4(x: v128, t: v128, w: v128, pw: v128, weighted: bool, posWeighted: bool): v128 {
  let one = f32x4.splat(1.0);
  let zero = f32x4.splat(0.0);
  let ax = f32x4.abs(x);
  let tail = log1pUnitF32x4(expF32x4(f32x4.neg(ax))); // log1p(e^−|x|), full relative precision
  let keep = f32x4.sub(one, t);
  let lw = posWeighted ? f32x4.add(one, f32x4.mul(f32x4.sub(pw, one), t)) : one;
  let coef = v128.bitselect(f32x4.sub(keep, lw), keep, f32x4.lt(x, zero));
  let l = f32x4.add(f32x4.mul(coef, x), posWeighted ? f32x4.mul(lw, tail) : tail);
  let infinite = f32x4.eq(ax, f32x4.splat(Infinity));
  if (v128.any_true(infinite)) {
    let logSig = f32x4.sub(f32x4.pmin(x, zero), tail);
    let literal = f32x4.sub(f32x4.mul(keep, x), posWeighted ? f32x4.mul(lw, logSig) : logSig);
    l = v128.bitselect(literal, l, infinite);
  }
  return weighted ? f32x4.mul(l, w) : l;
}

// @ts-ignore: decorator
@inline
function bceRows(
  xPtr: usize, tPtr: usize, n: i32, cols: i32, weightPtr: usize, weightPerElement: bool, posWeightPtr: usize,
  outPtr: usize, writeOut: bool, weighted: bool, posWeighted: bool,
): f64 {
  let total = f64x2.splat(0.0);
  let one = f32x4.splat(1.0);
  let rows = n / cols;
  for (let r = 0; r < rows; r++) {
    let base = <usize>r * <usize>cols << 2;
    let wRow = weightPerElement ? weightPtr + base : weightPtr;
    let i = 0;
    while (cols - i >= 4) {
      // f32 lanes over a block, then into the f64 total (as the row sums).
      let end = i + (min(BLOCK, cols - i) & ~3);
      let acc = f32x4.splat(0.0);
      for (; i < end; i += 4) {
        let off = <usize>i << 2;
        let l = bceF32x4(
          v128.load(xPtr + base + off), v128.load(tPtr + base + off),
          weighted ? v128.load(wRow + off) : one, posWeighted ? v128.load(posWeightPtr + off) : one,
          weighted, posWeighted,
        );
        if (writeOut) v128.store(outPtr + base + off, canonicalF32x4(l));
        acc = f32x4.add(acc, l);
      }
      total = addLanes(total, acc);
    }
    if (i < cols) {
      let off = <usize>i << 2;
      let k = cols - i;
      let l = v128.and(bceF32x4(
        loadTail(xPtr + base + off, k), loadTail(tPtr + base + off, k),
        weighted ? loadTail(wRow + off, k) : one, posWeighted ? loadTail(posWeightPtr + off, k) : one,
        weighted, posWeighted,
      ), tailMask(k));
      if (writeOut) storeTail(outPtr + base + off, canonicalF32x4(l), k);
      total = addLanes(total, l);
    }
  }
  return laneSum(total);
}

/**
 * BCE with logits over n elements laid out as rows of `classes`; returns the f64 sum and,
 * when writeOut, the elementwise losses in out. weightPerElement: weight has n entries,
 * else one per class; posWeight has one per class.
 */
export function bceWithLogits(
  xPtr: usize, tPtr: usize, n: i32, classes: i32, weighted: i32, weightPtr: usize, weightPerElement: i32,
  posWeighted: i32, posWeightPtr: usize, outPtr: usize, writeOut: i32,
): f64 {
  // Only per-class vectors need the row structure; otherwise the batch is one long row.
  let cols = posWeighted || (weighted && !weightPerElement) ? classes : n;
  if (cols == 0) return 0;
  let perEl = weightPerElement != 0;
  if (writeOut) {
    if (weighted && posWeighted) return bceRows(xPtr, tPtr, n, cols, weightPtr, perEl, posWeightPtr, outPtr, true, true, true);
    if (weighted) return bceRows(xPtr, tPtr, n, cols, weightPtr, perEl, posWeightPtr, outPtr, true, true, false);
    if (posWeighted) return bceRows(xPtr, tPtr, n, cols, weightPtr, perEl, posWeightPtr, outPtr, true, false, true);
    return bceRows(xPtr, tPtr, n, cols, weightPtr, perEl, posWeightPtr, outPtr, true, false, false);
  }
  if (weighted && posWeighted) return bceRows(xPtr, tPtr, n, cols, weightPtr, perEl, posWeightPtr, outPtr, false, true, true);
  if (weighted) return bceRows(xPtr, tPtr, n, cols, weightPtr, perEl, posWeightPtr, outPtr, false, true, false);
  if (posWeighted) return bceRows(xPtr, tPtr, n, cols, weightPtr, perEl, posWeightPtr, outPtr, false, false, true);
  return bceRows(xPtr, tPtr, n, cols, weightPtr, perEl, posWeightPtr, outPtr, false, false, false);
}

// ---- entropy ----------------------------------------------------------------------------------

/** H = log s − b/s from s = Σ e and b = Σ e·d, in f64. */
// @ts-ignore: decorator
@inline
function entropyOf(s: f64, logS: f64, b: f64): f32 {
  return canonicalF32(<f32>(logS - b / s));
}

/** out[r] = H(softmax(x[r])) = log s − Σ e·d / s, with d clamped to −FLT_MAX so 0·log 0 = 0. */
export function entropy(xPtr: usize, rows: i32, classes: i32, outPtr: usize): void {
  let stride = <usize>classes << 2;
  let lo = f32x4.splat(-FLT_MAX);
  let r = 0;
  if (classes <= ACROSS_ROWS_MAX_CLASSES) {
    // Short rows four at a time, one per lane (as classAcrossRows).
    for (; r + 4 <= rows; r += 4) {
      let p = xPtr + <usize>r * stride;
      let m = f32x4.splat(-Infinity);
      for (let j = 0; j < classes; j++) m = f32x4.pmax(m, gatherColumn(p + (<usize>j << 2), stride));
      let s = f32x4.splat(0.0);
      let b = s;
      for (let j = 0; j < classes; j++) {
        let d = f32x4.sub(gatherColumn(p + (<usize>j << 2), stride), m);
        let e = expNonPositiveF32x4(d);
        s = f32x4.add(s, e);
        b = f32x4.add(b, f32x4.mul(e, f32x4.pmax(d, lo)));
      }
      let o = outPtr + (<usize>r << 2);
      let logLo = logLow(s);
      let logHi = logHigh(s);
      store<f32>(o, entropyOf(f32x4.extract_lane(s, 0), f64x2.extract_lane(logLo, 0), f32x4.extract_lane(b, 0)));
      store<f32>(o, entropyOf(f32x4.extract_lane(s, 1), f64x2.extract_lane(logLo, 1), f32x4.extract_lane(b, 1)), 4);
      store<f32>(o, entropyOf(f32x4.extract_lane(s, 2), f64x2.extract_lane(logHi, 0), f32x4.extract_lane(b, 2)), 8);
      store<f32>(o, entropyOf(f32x4.extract_lane(s, 3), f64x2.extract_lane(logHi, 1), f32x4.extract_lane(b, 3)), 12);
    }
  }
  for (; r < rows; r++) {
    let p = xPtr + <usize>r * stride;
    let mv = f32x4.splat(rowMax(p, classes, false, 1.0));
    let ts = f64x2.splat(0.0);
    let tb = ts;
    let i = 0;
    while (classes - i >= 4) {
      let end = i + (min(BLOCK, classes - i) & ~3);
      let as = f32x4.splat(0.0);
      let ab = as;
      for (; i < end; i += 4) {
        let d = f32x4.sub(v128.load(p + (<usize>i << 2)), mv);
        let e = expNonPositiveF32x4(d);
        as = f32x4.add(as, e);
        // pmax keeps NaN (the comparison is false) and lifts only −inf.
        ab = f32x4.add(ab, f32x4.mul(e, f32x4.pmax(d, lo)));
      }
      ts = addLanes(ts, as);
      tb = addLanes(tb, ab);
    }
    if (i < classes) {
      let k = classes - i;
      let mask = tailMask(k);
      let d = f32x4.sub(loadTail(p + (<usize>i << 2), k), mv);
      let e = v128.and(expNonPositiveF32x4(d), mask);
      ts = addLanes(ts, e);
      tb = addLanes(tb, v128.and(f32x4.mul(e, f32x4.pmax(d, lo)), mask));
    }
    let sum = laneSum(ts);
    store<f32>(outPtr + (<usize>r << 2), entropyOf(sum, Math.log(sum), laneSum(tb)));
  }
}

// ---- KL divergence ----------------------------------------------------------------------------

/** e_p·(d_p − d_q), or 0 where d_p or d_q is −inf (those terms are 0 or +inf, decided apart). */
// @ts-ignore: decorator
@inline
function klContribution(dp: v128, dq: v128, ep: v128): v128 {
  let ninf = f32x4.splat(-Infinity);
  let skip = v128.or(f32x4.eq(dp, ninf), f32x4.eq(dq, ninf));
  return v128.andnot(f32x4.mul(ep, f32x4.sub(dp, dq)), skip);
}

/** Lanes where lq = −inf but lp is not: the term, and so the row, is +inf. */
// @ts-ignore: decorator
@inline
function klInfinite(dp: v128, dq: v128): v128 {
  let ninf = f32x4.splat(-Infinity);
  return v128.andnot(f32x4.eq(dq, ninf), f32x4.eq(dp, ninf));
}

/** KL = c/s_p + log s_q − log s_p, or +inf when a term is (and nothing is NaN). */
// @ts-ignore: decorator
@inline
function klOf(c: f64, sp: f64, logSp: f64, logSq: f64, infinite: bool): f64 {
  let kl = c / sp + (logSq - logSp);
  return kl != kl ? NaN : infinite ? Infinity : kl;
}

/**
 * out[r] = KL(softmax(p[r]) || softmax(q[r])) as f64. A term is 0 where lp = −inf, +inf
 * where lq = −inf (tested in the log domain, §9), and NaN anywhere makes the row NaN.
 */
export function klDiv(pPtr: usize, qPtr: usize, rows: i32, classes: i32, outPtr: usize): void {
  let stride = <usize>classes << 2;
  let r = 0;
  if (classes <= ACROSS_ROWS_MAX_CLASSES) {
    // Short rows four at a time, one per lane (as classAcrossRows).
    for (; r + 4 <= rows; r += 4) {
      let pp = pPtr + <usize>r * stride;
      let qp = qPtr + <usize>r * stride;
      let mp = f32x4.splat(-Infinity);
      let mq = mp;
      for (let j = 0; j < classes; j++) {
        mp = f32x4.pmax(mp, gatherColumn(pp + (<usize>j << 2), stride));
        mq = f32x4.pmax(mq, gatherColumn(qp + (<usize>j << 2), stride));
      }
      let sp = f32x4.splat(0.0);
      let sq = sp;
      let c = sp;
      let inf = i32x4.splat(0);
      for (let j = 0; j < classes; j++) {
        let off = <usize>j << 2;
        let dp = f32x4.sub(gatherColumn(pp + off, stride), mp);
        let dq = f32x4.sub(gatherColumn(qp + off, stride), mq);
        let ep = expNonPositiveF32x4(dp);
        sp = f32x4.add(sp, ep);
        sq = f32x4.add(sq, expNonPositiveF32x4(dq));
        c = f32x4.add(c, klContribution(dp, dq, ep));
        inf = v128.or(inf, klInfinite(dp, dq));
      }
      let o = outPtr + (<usize>r << 3);
      let lpLo = logLow(sp);
      let lpHi = logHigh(sp);
      let lqLo = logLow(sq);
      let lqHi = logHigh(sq);
      store<f64>(o, klOf(f32x4.extract_lane(c, 0), f32x4.extract_lane(sp, 0), f64x2.extract_lane(lpLo, 0), f64x2.extract_lane(lqLo, 0), i32x4.extract_lane(inf, 0) != 0));
      store<f64>(o, klOf(f32x4.extract_lane(c, 1), f32x4.extract_lane(sp, 1), f64x2.extract_lane(lpLo, 1), f64x2.extract_lane(lqLo, 1), i32x4.extract_lane(inf, 1) != 0), 8);
      store<f64>(o, klOf(f32x4.extract_lane(c, 2), f32x4.extract_lane(sp, 2), f64x2.extract_lane(lpHi, 0), f64x2.extract_lane(lqHi, 0), i32x4.extract_lane(inf, 2) != 0), 16);
      store<f64>(o, klOf(f32x4.extract_lane(c, 3), f32x4.extract_lane(sp, 3), f64x2.extract_lane(lpHi, 1), f64x2.extract_lane(lqHi, 1), i32x4.extract_lane(inf, 3) != 0), 24);
    }
  }
  for (; r < rows; r++) {
    let pp = pPtr + <usize>r * stride;
    let qp = qPtr + <usize>r * stride;
    let mp = f32x4.splat(rowMax(pp, classes, false, 1.0));
    let mq = f32x4.splat(rowMax(qp, classes, false, 1.0));
    let tp = f64x2.splat(0.0);
    let tq = tp;
    let tc = tp;
    let inf = i32x4.splat(0);
    let i = 0;
    while (classes - i >= 4) {
      let end = i + (min(BLOCK, classes - i) & ~3);
      let ap = f32x4.splat(0.0);
      let aq = ap;
      let ac = ap;
      for (; i < end; i += 4) {
        let off = <usize>i << 2;
        let dp = f32x4.sub(v128.load(pp + off), mp);
        let dq = f32x4.sub(v128.load(qp + off), mq);
        let ep = expNonPositiveF32x4(dp);
        ap = f32x4.add(ap, ep);
        aq = f32x4.add(aq, expNonPositiveF32x4(dq));
        ac = f32x4.add(ac, klContribution(dp, dq, ep));
        inf = v128.or(inf, klInfinite(dp, dq));
      }
      tp = addLanes(tp, ap);
      tq = addLanes(tq, aq);
      tc = addLanes(tc, ac);
    }
    if (i < classes) {
      let off = <usize>i << 2;
      let k = classes - i;
      let mask = tailMask(k);
      let dp = f32x4.sub(loadTail(pp + off, k), mp);
      let dq = f32x4.sub(loadTail(qp + off, k), mq);
      let ep = v128.and(expNonPositiveF32x4(dp), mask);
      tp = addLanes(tp, ep);
      tq = addLanes(tq, v128.and(expNonPositiveF32x4(dq), mask));
      tc = addLanes(tc, v128.and(klContribution(dp, dq, ep), mask));
      inf = v128.or(inf, v128.and(klInfinite(dp, dq), mask));
    }
    let sp = laneSum(tp);
    store<f64>(outPtr + (<usize>r << 3), klOf(laneSum(tc), sp, Math.log(sp), Math.log(laneSum(tq)), v128.any_true(inf)));
  }
}
