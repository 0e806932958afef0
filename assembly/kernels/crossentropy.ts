// Cross-entropy along the rows of a row-major float32 [rows, classes] batch (SEMANTICS.md §4–6):
// class targets (with class weights, ignore_index and label smoothing), probability targets,
// and the gradient of either in one fused pass.
//
// Algorithm. Every row is two or three streaming passes: pass 1 takes the max m (the row
// reducer's NaN-skipping compare-select, ./rows.ts: a NaN still poisons the sums through
// exp(NaN − m), and +inf or all −inf rows give inf − inf = NaN, exactly as the spec's unmasked
// log-softmax); pass 2 computes d = x − m and e = exp(d) (degree-5 exp, ≤ 2.4 ulp) and
// accumulates s = Σ e together with whatever weighted sum of d the loss needs, so that
// log-softmax is never materialised:
//   nll    = −w_t·((x_t − m) − log s)                         (x_t − m in f64)
//   smooth = −Σ w_c·lp_c = −Σ w_c·d_c + W·log s                (W = Σ w_c)
//   soft   = −Σ q'_c w_c·lp_c = −Σ d_c·q'_c w_c + log s·Σ q'_c w_c
// All parts are sums of same-signed terms for non-negative weights and targets, so these
// rearrangements do not cancel. The gradient kernels store e into the gradient row in pass 2
// and turn it into grad = A·e + G in pass 3 (A = −ΣG/s, G = ∂L/∂lp), so they read the logits
// twice and write the gradient twice, like softmax.
// Rows of at most SHORT_ROW_MAX_CLASSES go four at a time, one row per lane, every row of the
// batch (lanes.ts), so a row's result does not depend on where it sits in the batch or on
// how threads split it. Longer rows: f32x4 lanes flushed into f64x2 every SUM_BLOCK values.
// Logs and the per-row combination are f64 (short rows with reduction 'none': log s is an f32x4
// log, see below). Per-row results go out as f64 for the TypeScript
// glue to reduce in f64, or as f32 where they are the answer (reduction 'none', gradients);
// every NaN written is the canonical quiet NaN, so results are bit-reproducible.
// Short rows (≤ SHORT_ROW_MAX_CLASSES): whole groups of four rows run softmax's transposed 4×4
// blocks (rows.ts groupMax / groupExpSum with the Σ w_c·d_c term), the four log s are two f64x2
// logs (math/log.ts, ≈ 1e-15 relative) for the f64 parts of 'mean' / 'sum' and the fused
// gradient, and one f32x4 log (math/log.ts logPositiveF32x4, ≤ 0.86 ulp of log s) for 'none',
// whose f32 loss rounds them away; the four rows' results are computed and stored as vectors
// (storeClassGroup: storeClassRow's operations, so the same bits as a partial group's rows).
// Whole groups are software-pipelined like softmax.ts's (group g's max and Σ exp before group
// g − 1's logs and stores): 'none' on 1,000,000×10 1.20× (best of 11 rounds, relaxed build, Node 22),
// 1.07× (SIMD128, Node 20); 100,000×20 1.10×.
// 'none' without smoothing is −w_t·((x_t − m) − log s) in f32, log_softmax's operations (so
// unweighted it is −logSoftmax[t] bit for bit); with smoothing the combination stays f64.
// Cost (callgrind, Node 20, whole call, 4096 × 10, unweighted, ε = 0): 'none' 16.4 instructions
// an element (20.9 with the f64x2 logs and the f64 combination, 29.4 with gathered columns and
// four scalar Math.log a group; softmax: 17.4), bench/limits.md. Accuracy of 'none': worst error
// 0.066 of its §11 bound, 2.1e-6 absolute (bench/micro/short-row-accuracy.js, widths 1..32,
// N(0, 4²); 0.066 and 1.2e-6 with the f64 log and combination).
// Long rows run softmax's max and exp-and-sum passes (softmax.ts header for their cost).
// Measured accuracy (against float64, N(0, 3²) logits, weights and ε = 0.1): per-row
// cross-entropy on 32 × 128,256 and 64 × 32,000 within 0.001× its §11 bound, the gradient
// within 0.002× its bound; test/spec-loss-large.test.ts asserts the bounds themselves.
import { expNonPositiveP5F32x4 } from '../math/exp';
import {
  SHORT_ROW_MAX_CLASSES, addLanes, laneSum, laneF32, laneF64, laneOffset, laneRow, firstLanes, loadFirst, storeFirst, blockEnd,
  gatherColumn, scatterColumn, broadcastLane, canonicalF32x4, canonicalF32, canonicalF64,
} from '../lanes';
import {
  rowMax, expSumRow, columnExpSum, groupExpSum, columnSecond, fourRowsMax, fourRowsExpSum, rowLogsLow, rowLogsHigh, rowLogsF32, SECOND_D, SECOND_WD,
} from './rows';

// Extra results of the multi-sum passes (kernels run one at a time per instance).
let sumB: f64 = 0;
let sumQ: f64 = 0;

// ---- pass 2 with weighted sums of d (Σ exp(d) alone is the row reducer's expSumRow) ---------

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
 * With unitTarget, q' = 1 (qp is not read): sumB = Σ w_c·d_c (w_c = 1 unweighted), the
 * label-smoothing term of class targets; d = −inf gives −inf·w (NaN for w = 0), as the
 * literal formula.
 */
// @ts-ignore: decorator
@inline
function expSumSoft(p: usize, qp: usize, w: usize, dst: usize, n: i32, m: f32, keep: f32, add: f32, smoothing: bool, weighted: bool, storeExp: bool, unitTarget: bool): f64 {
  let mv = f32x4.splat(m);
  let kv = f32x4.splat(keep);
  let av = f32x4.splat(add);
  let ts = f64x2.splat(0.0);
  let tb = ts;
  let tq = ts;
  let i = 0;
  while (n - i >= 4) {
    let end = blockEnd(i, n, 4);
    let as = f32x4.splat(0.0);
    let ab = as;
    let aq = as;
    for (; i < end; i += 4) {
      let off = <usize>i << 2;
      let d = f32x4.sub(v128.load(p + off), mv);
      let e = expNonPositiveP5F32x4(d);
      if (storeExp) v128.store(dst + off, e);
      as = f32x4.add(as, e);
      if (unitTarget) {
        ab = f32x4.add(ab, weighted ? f32x4.mul(v128.load(w + off), d) : d);
      } else {
        let qw = targetWeight(v128.load(qp + off), weighted ? v128.load(w + off) : kv, kv, av, smoothing, weighted);
        ab = f32x4.add(ab, f32x4.mul(d, qw));
        aq = f32x4.add(aq, qw);
      }
    }
    ts = addLanes(ts, as);
    tb = addLanes(tb, ab);
    tq = addLanes(tq, aq);
  }
  if (i < n) {
    let off = <usize>i << 2;
    let k = n - i;
    let mask = firstLanes(k);
    let d = f32x4.sub(loadFirst(p + off, k), mv);
    let e = v128.and(expNonPositiveP5F32x4(d), mask);
    if (storeExp) storeFirst(dst + off, e, k);
    ts = addLanes(ts, e);
    if (unitTarget) {
      tb = addLanes(tb, v128.and(weighted ? f32x4.mul(loadFirst(w + off, k), d) : d, mask));
    } else {
      let qw = v128.and(targetWeight(loadFirst(qp + off, k), weighted ? loadFirst(w + off, k) : kv, kv, av, smoothing, weighted), mask);
      tb = addLanes(tb, v128.and(f32x4.mul(d, qw), mask));
      tq = addLanes(tq, qw);
    }
  }
  sumB = laneSum(tb);
  if (!unitTarget) sumQ = laneSum(tq);
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
  if (i < n) {
    let k = n - i;
    let q = g + (<usize>i << 2);
    let v = f32x4.mul(loadFirst(q, k), av);
    if (withB) v = f32x4.add(v, weighted ? f32x4.mul(loadFirst(w + (<usize>i << 2), k), bv) : bv);
    storeFirst(q, canonicalF32x4(v), k);
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
  if (i < n) {
    let off = <usize>i << 2;
    let k = n - i;
    let qw = targetWeight(loadFirst(qp + off, k), weighted ? loadFirst(w + off, k) : kv, kv, adv, smoothing, weighted);
    storeFirst(g + off, canonicalF32x4(f32x4.sub(f32x4.mul(loadFirst(g + off, k), av), f32x4.mul(sv, qw))), k);
  }
}

function fillRow(g: usize, n: i32, v: f32): void {
  let vv = f32x4.splat(v);
  let i = 0;
  for (; i + 4 <= n; i += 4) v128.store(g + (<usize>i << 2), vv);
  if (i < n) storeFirst(g + (<usize>i << 2), vv, n - i);
}

// ---- cross-entropy with class targets ------------------------------------------------------

/**
 * b = Σ w_c·(x_c − m) again, each term in f64: the fallback for a row whose f32 b came out ±inf or
 * NaN. x_c − m overflows f32 when the row holds both ~+3e38 and ~−3e38 (−inf where f64 has −6e38,
 * and 0·−inf = NaN under a zero weight), so the smoothing term was +inf or NaN where the float64
 * definition is finite. Only such rows pay this scalar pass (a true −inf logit comes out −inf again).
 */
function secondF64(p: usize, classes: i32, m: f32, weightPtr: usize, weighted: bool): f64 {
  let b: f64 = 0;
  for (let c = 0; c < classes; c++) {
    let d = <f64>load<f32>(p + (<usize>c << 2)) - <f64>m;
    b += weighted ? <f64>load<f32>(weightPtr + (<usize>c << 2)) * d : d;
  }
  return b;
}

/** sumB of soft targets, Σ d_c·q'_c·w_c, term by term in f64: the same fallback as secondF64. */
function softSecondF64(p: usize, qp: usize, classes: i32, m: f32, weightPtr: usize, weighted: bool, keep: f32, add: f32, smooth: bool): f64 {
  let b: f64 = 0;
  for (let c = 0; c < classes; c++) {
    let q = load<f32>(qp + (<usize>c << 2));
    let qw = <f64>(smooth ? q * keep + add : q) * (weighted ? <f64>load<f32>(weightPtr + (<usize>c << 2)) : 1.0);
    b += (<f64>load<f32>(p + (<usize>c << 2)) - <f64>m) * qw;
  }
  return b;
}

/**
 * nll[r] (and smooth[r]) of one row from its max m, log s (s = Σ exp(x − m)) and b = Σ w_c·(x_c − m).
 * shortLog: a short row's 'none' loss, whose logS is an f32 log (classShortRows).
 */
// @ts-ignore: decorator
@inline
function storeClassRow(
  r: i32, p: usize, classes: i32, targetPtr: usize, ignoreIndex: i32, weightPtr: usize, m: f32, logS: f64, b: f64,
  smoothing: f64, sumW: f64, nllPtr: usize, smoothPtr: usize, weighted: bool, lossOut: bool, shortLog: bool = false,
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
  if (shortLog && lossOut && !(smoothing > 0)) {
    // 'none' without smoothing, short rows (logS is then an f32 log): −w_t·((x_t − m) − log s)
    // in f32, the operations of log_softmax's (z − m) − log s, so that unweighted it is −lp_t
    // bit for bit; storeClassGroup runs the same f32 operations four rows at a time.
    let lp = (load<f32>(p + (<usize>t << 2)) - m) - <f32>logS;
    store<f32>(nllPtr + (<usize>r << 2), canonicalF32(weighted ? -(lp * load<f32>(weightPtr + (<usize>t << 2))) : -lp));
    return;
  }
  let wt: f64 = weighted ? <f64>load<f32>(weightPtr + (<usize>t << 2)) : 1.0;
  let lpT = (<f64>load<f32>(p + (<usize>t << 2)) - <f64>m) - logS;
  let nll = -(lpT * wt);
  if (smoothing > 0 && !isFinite(b) && isFinite(m)) b = secondF64(p, classes, m, weightPtr, weighted);
  let smooth = smoothing > 0 ? -b + sumW * logS : 0;
  if (lossOut) {
    // reduction 'none': the row's loss itself, (1−ε)·nll + (ε/C)·smooth, rounded once to f32.
    store<f32>(nllPtr + (<usize>r << 2), canonicalF32(<f32>(smoothing > 0 ? (1 - smoothing) * nll + (smoothing / <f64>classes) * smooth : nll)));
  } else {
    // Canonical NaNs: the sign of a NaN here is the optimiser's choice (binaryen may turn −b + y
    // into y − b), and storeClassGroup's vector arithmetic must give the same bits.
    store<f64>(nllPtr + (<usize>r << 3), canonicalF64(nll));
    if (smoothing > 0) store<f64>(smoothPtr + (<usize>r << 3), canonicalF64(smooth));
  }
}

/** NaN lanes of an f64x2 replaced by the canonical quiet NaN (lanes.ts canonicalF64, two lanes). */
// @ts-ignore: decorator
@inline
function canonicalF64x2(v: v128): v128 {
  return v128.bitselect(v, f64x2.splat(NaN), f64x2.eq(v, v));
}

/** Lanes 0, 1 (hi false) or 2, 3 (hi true) of an f32x4, widened to f64x2 exactly. */
// @ts-ignore: decorator
@inline
function widenHalf(v: v128, hi: bool): v128 {
  return f64x2.promote_low_f32x4(hi ? v128.shuffle<f32>(v, v, 2, 3, 0, 1) : v);
}

// smooth of the last classHalf with smoothing (a module global: AssemblyScript has one return value).
let halfSmooth: v128 = i32x4(0, 0, 0, 0);

/**
 * storeClassRow's f64 arithmetic for two rows of a group (lanes 0, 1, or 2, 3 with hi): the
 * value it stores in nllPtr, the same operations in the same order, so the same bits. xt: the
 * target logits, wt: the target weights, b: Σ w_c·d_c, logS: the two rows' log s.
 */
// @ts-ignore: decorator
@inline
function classHalf(xt: v128, m: v128, wt: v128, b: v128, logS: v128, hi: bool, smoothing: f64, sumW: f64, classes: i32, weighted: bool, lossOut: bool): v128 {
  let lpT = f64x2.sub(f64x2.sub(widenHalf(xt, hi), widenHalf(m, hi)), logS);
  let nll = f64x2.neg(f64x2.mul(lpT, weighted ? widenHalf(wt, hi) : f64x2.splat(1.0)));
  if (!(smoothing > 0)) return nll;
  let smooth = f64x2.add(f64x2.neg(widenHalf(b, hi)), f64x2.mul(f64x2.splat(sumW), logS));
  halfSmooth = smooth;
  if (!lossOut) return nll;
  return f64x2.add(f64x2.mul(f64x2.splat(1 - smoothing), nll), f64x2.mul(f64x2.splat(smoothing / <f64>classes), smooth));
}

/**
 * storeClassRow for the four rows of a whole group at once (rows r .. r + 3 at p + k·stride):
 * the targets as one vector, the target logits gathered, the per-row f64 arithmetic two rows
 * at a time (classHalf: storeClassRow's operations, so a row's bits do not depend on whether
 * its group is whole; 'none' without smoothing: its f32 operations on logS32, the f32 logs),
 * and whole-vector stores. Ignored rows read their row's first logit (any
 * address inside the row would do) and store 0.
 */
// @ts-ignore: decorator
@inline
function storeClassGroup(
  r: i32, p: usize, stride: usize, targetPtr: usize, ignoreIndex: i32, weightPtr: usize, m: v128, logLo: v128, logHi: v128, b: v128,
  smoothing: f64, sumW: f64, classes: i32, nllPtr: usize, smoothPtr: usize, weighted: bool, lossOut: bool, logS32: v128,
): void {
  let t = v128.load(targetPtr + (<usize>r << 2));
  let ignored = i32x4.eq(t, i32x4.splat(ignoreIndex));
  let tc = v128.andnot(t, ignored);
  let xt = v128.load32_zero(p + (<usize>i32x4.extract_lane(tc, 0) << 2));
  xt = v128.load32_lane(p + stride + (<usize>i32x4.extract_lane(tc, 1) << 2), xt, 1);
  xt = v128.load32_lane(p + (stride << 1) + (<usize>i32x4.extract_lane(tc, 2) << 2), xt, 2);
  xt = v128.load32_lane(p + stride * 3 + (<usize>i32x4.extract_lane(tc, 3) << 2), xt, 3);
  let wt = xt;
  if (weighted) {
    wt = v128.load32_zero(weightPtr + (<usize>i32x4.extract_lane(tc, 0) << 2));
    wt = v128.load32_lane(weightPtr + (<usize>i32x4.extract_lane(tc, 1) << 2), wt, 1);
    wt = v128.load32_lane(weightPtr + (<usize>i32x4.extract_lane(tc, 2) << 2), wt, 2);
    wt = v128.load32_lane(weightPtr + (<usize>i32x4.extract_lane(tc, 3) << 2), wt, 3);
  }
  if (lossOut && !(smoothing > 0)) {
    // storeClassRow's f32 form for 'none' without smoothing, four rows at once.
    let lp = f32x4.sub(f32x4.sub(xt, m), logS32);
    let v = weighted ? f32x4.neg(f32x4.mul(lp, wt)) : f32x4.neg(lp);
    v128.store(nllPtr + (<usize>r << 2), v128.andnot(canonicalF32x4(v), ignored));
    return;
  }
  let lo = classHalf(xt, m, wt, b, logLo, false, smoothing, sumW, classes, weighted, lossOut);
  let smoothLo = halfSmooth;
  let hi = classHalf(xt, m, wt, b, logHi, true, smoothing, sumW, classes, weighted, lossOut);
  let smoothHi = halfSmooth;
  if (lossOut) {
    let v = v128.shuffle<f32>(f32x4.demote_f64x2_zero(lo), f32x4.demote_f64x2_zero(hi), 0, 1, 4, 5);
    v128.store(nllPtr + (<usize>r << 2), v128.andnot(canonicalF32x4(v), ignored));
    return;
  }
  let ignLo = i64x2.extend_low_i32x4_s(ignored);
  let ignHi = i64x2.extend_high_i32x4_s(ignored);
  let at = nllPtr + (<usize>r << 3);
  v128.store(at, v128.andnot(canonicalF64x2(lo), ignLo));
  v128.store(at, v128.andnot(canonicalF64x2(hi), ignHi), 16);
  if (smoothing > 0) {
    at = smoothPtr + (<usize>r << 3);
    v128.store(at, v128.andnot(canonicalF64x2(smoothLo), ignLo));
    v128.store(at, v128.andnot(canonicalF64x2(smoothHi), ignHi), 16);
  }
}

/**
 * Rows of at most SHORT_ROW_MAX_CLASSES classes, four at a time with one row per lane (a
 * per-row vector loop would be all tail there), every row of the batch, a last partial group
 * repeating its first row (lanes.ts): column max, then Σ exp(d) and Σ w_c·d_c per lane in f32,
 * whole groups through softmax's transposed 4×4 blocks, and the four log s as two f64x2 logs.
 * (Until this round the gathered lane-by-lane columns and four scalar Math.log calls a group
 * ran 1,000,000×10 at a third of softmax's speed; bench/limits.md has the counts.)
 */
// @ts-ignore: decorator
@inline
function classShortRows(
  xPtr: usize, rows: i32, classes: i32, targetPtr: usize, ignoreIndex: i32, weightPtr: usize,
  smoothing: f64, sumW: f64, nllPtr: usize, smoothPtr: usize, weighted: bool, lossOut: bool,
): void {
  let stride = <usize>classes << 2;
  let smooth = smoothing > 0;
  // Whole groups software-pipelined as softmax.ts's softmaxAcrossRows: group g's max and Σ exp run
  // before group g − 1's logs and stores, so neighbouring groups' dependency chains overlap.
  let whole = rows & ~3;
  let mPrev = f32x4.splat(0), sPrev = f32x4.splat(1), bPrev = f32x4.splat(0);
  // one pass past the last group, which only ends it (one inlined copy of the end instead of two)
  for (let r = 0; r <= whole; r += 4) {
    let p = xPtr + <usize>r * stride;
    let m = mPrev, s = sPrev, b = bPrev;
    if (r < whole) {
      m = fourRowsMax(p, 4, stride, classes);
      s = fourRowsExpSum(p, 4, stride, classes, m, weighted ? SECOND_WD : SECOND_D, smooth, weightPtr);
      b = columnSecond;
    }
    if (r > 0) classGroupEnd(r - 4, 4, p - stride * 4, stride, targetPtr, ignoreIndex, weightPtr, mPrev, sPrev, bPrev, smoothing, sumW, classes, nllPtr, smoothPtr, weighted, lossOut);
    mPrev = m;
    sPrev = s;
    bPrev = b;
  }
  if (whole < rows) {
    let p = xPtr + <usize>whole * stride;
    let left = rows - whole;
    let m = fourRowsMax(p, left, stride, classes);
    let s = fourRowsExpSum(p, left, stride, classes, m, weighted ? SECOND_WD : SECOND_D, smooth, weightPtr);
    classGroupEnd(whole, left, p, stride, targetPtr, ignoreIndex, weightPtr, m, s, columnSecond, smoothing, sumW, classes, nllPtr, smoothPtr, weighted, lossOut);
  }
}

/**
 * The logs and stores of rows r .. r + min(4, left) − 1 at p, whose max, Σ exp and second sum are m, s
 * and b. 'none' rounds each row's loss to f32: log s in f32 (one f32x4 log for the four rows,
 * ≤ 0.86 ulp) is enough there, and costs a fifth of the two f64x2 logs that the f64 parts of 'mean' /
 * 'sum' keep. Either way whole and partial groups combine the same values with the same operations
 * (storeClassGroup / storeClassRow), so a row's bits do not depend on its group.
 */
// @ts-ignore: decorator
@inline
function classGroupEnd(
  r: i32, left: i32, p: usize, stride: usize, targetPtr: usize, ignoreIndex: i32, weightPtr: usize, m: v128, s: v128, b: v128,
  smoothing: f64, sumW: f64, classes: i32, nllPtr: usize, smoothPtr: usize, weighted: bool, lossOut: bool,
): void {
  let logLo: v128;
  let logHi: v128;
  let logS = s;
  if (lossOut) {
    logS = rowLogsF32(s);
    logLo = f64x2.promote_low_f32x4(logS);
    logHi = f64x2.promote_low_f32x4(v128.shuffle<f32>(logS, logS, 2, 3, 0, 1));
  } else {
    logLo = rowLogsLow(s);
    logHi = rowLogsHigh(s);
  }
  if (left >= 4) {
    storeClassGroup(r, p, stride, targetPtr, ignoreIndex, weightPtr, m, logLo, logHi, b, smoothing, sumW, classes, nllPtr, smoothPtr, weighted, lossOut, logS);
    return;
  }
  let o1 = laneOffset(1, left, stride);
  let o2 = laneOffset(2, left, stride);
  let o3 = laneOffset(3, left, stride);
  // Unrolled with constant lanes (a loop over k measured 15-35% slower on 1,000,000 × 10, Node 22); a
  // missing row's lane stores row r's results again.
  storeClassRow(r, p, classes, targetPtr, ignoreIndex, weightPtr, laneF32(m, 0), laneF64(logLo, logHi, 0), <f64>laneF32(b, 0), smoothing, sumW, nllPtr, smoothPtr, weighted, lossOut, true);
  storeClassRow(r + laneRow(1, left), p + o1, classes, targetPtr, ignoreIndex, weightPtr, laneF32(m, 1), laneF64(logLo, logHi, 1), <f64>laneF32(b, 1), smoothing, sumW, nllPtr, smoothPtr, weighted, lossOut, true);
  storeClassRow(r + laneRow(2, left), p + o2, classes, targetPtr, ignoreIndex, weightPtr, laneF32(m, 2), laneF64(logLo, logHi, 2), <f64>laneF32(b, 2), smoothing, sumW, nllPtr, smoothPtr, weighted, lossOut, true);
  storeClassRow(r + laneRow(3, left), p + o3, classes, targetPtr, ignoreIndex, weightPtr, laneF32(m, 3), laneF64(logLo, logHi, 3), <f64>laneF32(b, 3), smoothing, sumW, nllPtr, smoothPtr, weighted, lossOut, true);
}

// @ts-ignore: decorator
@inline
function classRows(
  xPtr: usize, rows: i32, classes: i32, targetPtr: usize, ignoreIndex: i32, weightPtr: usize,
  smoothing: f64, sumW: f64, nllPtr: usize, smoothPtr: usize, weighted: bool, lossOut: bool,
): void {
  if (classes <= SHORT_ROW_MAX_CLASSES) {
    classShortRows(xPtr, rows, classes, targetPtr, ignoreIndex, weightPtr, smoothing, sumW, nllPtr, smoothPtr, weighted, lossOut);
    return;
  }
  let stride = <usize>classes << 2;
  for (let r = 0; r < rows; r++) {
    let p = xPtr + <usize>r * stride;
    let m: f32 = 0;
    let logS: f64 = 0;
    // An ignored row is not even read (storeClassRow writes its zeros).
    if (load<i32>(targetPtr + (<usize>r << 2)) != ignoreIndex) {
      m = rowMax(p, classes, false, 1.0);
      if (smoothing > 0) logS = Math.log(expSumSoft(p, 0, weightPtr, 0, classes, m, 1, 0, false, weighted, false, true));
      else logS = Math.log(expSumRow(p, 0, classes, m, false, false, 1.0));
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

/**
 * g[j] = a·g[j] (+ b·w_j or + b with smooth) for one row of a whole group (n ≥ 4), whole
 * vectors only: the last vector, computed before anything is stored, overlaps the one before.
 */
// @ts-ignore: decorator
@inline
function gradGroupRow(g: usize, n: i32, av: v128, bv: v128, w: usize, smooth: bool, weighted: bool): void {
  let tailOff = <usize>(n - 4) << 2;
  let tail = f32x4.mul(v128.load(g + tailOff), av);
  if (smooth) tail = f32x4.add(tail, weighted ? f32x4.mul(v128.load(w + tailOff), bv) : bv);
  let j = 0;
  for (; j + 4 <= n; j += 4) {
    let off = <usize>j << 2;
    let v = f32x4.mul(v128.load(g + off), av);
    if (smooth) v = f32x4.add(v, weighted ? f32x4.mul(v128.load(w + off), bv) : bv);
    v128.store(g + off, canonicalF32x4(v));
  }
  if (j < n) v128.store(g + tailOff, canonicalF32x4(tail));
}

/**
 * Short rows four at a time (as classShortRows), e stored in grad, then grad = a·e + G per
 * column. The lanes of a partial group repeat its first row: they compute and store exactly
 * that row's values again.
 */
// @ts-ignore: decorator
@inline
function classGradShortRows(
  xPtr: usize, rows: i32, classes: i32, targetPtr: usize, ignoreIndex: i32, weightPtr: usize,
  smoothing: f64, sumW: f64, sigma: f64, gradPtr: usize, nllPtr: usize, smoothPtr: usize, weighted: bool,
): void {
  let stride = <usize>classes << 2;
  let smooth = smoothing > 0;
  let bOff = f32x4.splat(<f32>(-sigma * (smoothing / <f64>classes))); // −σ(ε/C), times w_j when weighted
  let one = f32x4.splat(1.0);
  for (let r = 0; r < rows; r += 4) {
    let left = rows - r;
    let p = xPtr + <usize>r * stride;
    let g = gradPtr + <usize>r * stride;
    let whole = left >= 4 && classes >= 4;
    let m = fourRowsMax(p, left, stride, classes);
    let s = whole
      ? groupExpSum(p, g, stride, classes, m, true, false, one, weighted ? SECOND_WD : SECOND_D, smooth, weightPtr)
      : columnExpSum(p, g, left, stride, classes, m, true, false, one, weighted ? SECOND_WD : SECOND_D, smooth, weightPtr);
    let b = columnSecond;
    // The same logs as the loss path (classShortRows), so the fused call's losses are its bits.
    let logLo = rowLogsLow(s);
    let logHi = rowLogsHigh(s);
    let o1 = laneOffset(1, left, stride);
    let o2 = laneOffset(2, left, stride);
    let o3 = laneOffset(3, left, stride);
    // Per lane: a, the target's offset, e_t (read before pass 3 overwrites it) and G_t.
    let a0 = gradScalars(r, p, classes, targetPtr, ignoreIndex, weightPtr, laneF32(m, 0), <f64>laneF32(s, 0), laneF64(logLo, logHi, 0), <f64>laneF32(b, 0), smoothing, sumW, sigma, nllPtr, smoothPtr, weighted);
    let t0 = rowTargetOffset;
    let gt0 = rowGradT;
    let e0: f64 = t0 >= 0 ? <f64>load<f32>(g + <usize>t0) : 0;
    let a1 = gradScalars(r + laneRow(1, left), p + o1, classes, targetPtr, ignoreIndex, weightPtr, laneF32(m, 1), <f64>laneF32(s, 1), laneF64(logLo, logHi, 1), <f64>laneF32(b, 1), smoothing, sumW, sigma, nllPtr, smoothPtr, weighted);
    let t1 = rowTargetOffset;
    let gt1 = rowGradT;
    let e1: f64 = t1 >= 0 ? <f64>load<f32>(g + o1 + <usize>t1) : 0;
    let a2 = gradScalars(r + laneRow(2, left), p + o2, classes, targetPtr, ignoreIndex, weightPtr, laneF32(m, 2), <f64>laneF32(s, 2), laneF64(logLo, logHi, 2), <f64>laneF32(b, 2), smoothing, sumW, sigma, nllPtr, smoothPtr, weighted);
    let t2 = rowTargetOffset;
    let gt2 = rowGradT;
    let e2: f64 = t2 >= 0 ? <f64>load<f32>(g + o2 + <usize>t2) : 0;
    let a3 = gradScalars(r + laneRow(3, left), p + o3, classes, targetPtr, ignoreIndex, weightPtr, laneF32(m, 3), <f64>laneF32(s, 3), laneF64(logLo, logHi, 3), <f64>laneF32(b, 3), smoothing, sumW, sigma, nllPtr, smoothPtr, weighted);
    let t3 = rowTargetOffset;
    let gt3 = rowGradT;
    let e3: f64 = t3 >= 0 ? <f64>load<f32>(g + o3 + <usize>t3) : 0;
    // Pass 3: grad = a·e + G; G's smoothing part only on rows that are not ignored.
    let av = f32x4(<f32>a0, <f32>a1, <f32>a2, <f32>a3);
    let keep = i32x4(t0 >= 0 ? -1 : 0, t1 >= 0 ? -1 : 0, t2 >= 0 ? -1 : 0, t3 >= 0 ? -1 : 0);
    let bv = v128.and(bOff, keep);
    if (whole) {
      // Row by row on the stored exps, whole vectors (the same products and sums per element).
      gradGroupRow(g, classes, broadcastLane(av, 0), broadcastLane(bv, 0), weightPtr, smooth, weighted);
      gradGroupRow(g + o1, classes, broadcastLane(av, 1), broadcastLane(bv, 1), weightPtr, smooth, weighted);
      gradGroupRow(g + o2, classes, broadcastLane(av, 2), broadcastLane(bv, 2), weightPtr, smooth, weighted);
      gradGroupRow(g + o3, classes, broadcastLane(av, 3), broadcastLane(bv, 3), weightPtr, smooth, weighted);
    } else {
      for (let j = 0; j < classes; j++) {
        let off = <usize>j << 2;
        let v = f32x4.mul(gatherColumn(g + off, o1, o2, o3), av);
        if (smooth) v = f32x4.add(v, weighted ? f32x4.mul(f32x4.splat(load<f32>(weightPtr + off)), bv) : bv);
        scatterColumn(g + off, o1, o2, o3, canonicalF32x4(v));
      }
    }
    if (t0 >= 0) store<f32>(g + <usize>t0, canonicalF32(<f32>(a0 * e0 + gt0)));
    if (t1 >= 0) store<f32>(g + o1 + <usize>t1, canonicalF32(<f32>(a1 * e1 + gt1)));
    if (t2 >= 0) store<f32>(g + o2 + <usize>t2, canonicalF32(<f32>(a2 * e2 + gt2)));
    if (t3 >= 0) store<f32>(g + o3 + <usize>t3, canonicalF32(<f32>(a3 * e3 + gt3)));
  }
}

// @ts-ignore: decorator
@inline
function classGradRows(
  xPtr: usize, rows: i32, classes: i32, targetPtr: usize, ignoreIndex: i32, weightPtr: usize,
  smoothing: f64, sumW: f64, sigma: f64, gradPtr: usize, nllPtr: usize, smoothPtr: usize, weighted: bool,
): void {
  if (classes <= SHORT_ROW_MAX_CLASSES) {
    classGradShortRows(xPtr, rows, classes, targetPtr, ignoreIndex, weightPtr, smoothing, sumW, sigma, gradPtr, nllPtr, smoothPtr, weighted);
    return;
  }
  let stride = <usize>classes << 2;
  let bOff = <f32>(-sigma * (smoothing / <f64>classes));
  for (let r = 0; r < rows; r++) {
    let p = xPtr + <usize>r * stride;
    let g = gradPtr + <usize>r * stride;
    let m = rowMax(p, classes, false, 1.0);
    if (load<i32>(targetPtr + (<usize>r << 2)) == ignoreIndex) {
      // G = 0, so grad = 0 − p·0: zeros, or NaN where softmax is NaN (then all of the row).
      let s = expSumRow(p, 0, classes, m, false, false, 1.0);
      fillRow(g, classes, <f32>gradScalars(r, p, classes, targetPtr, ignoreIndex, weightPtr, m, s, 0, 0, smoothing, sumW, sigma, nllPtr, smoothPtr, weighted));
      continue;
    }
    let s: f64;
    if (smoothing > 0) s = expSumSoft(p, 0, weightPtr, g, classes, m, 1, 0, false, weighted, true, true);
    else s = expSumRow(p, g, classes, m, true, false, 1.0);
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
    if (smooth) s = expSumSoft(p, qp, weightPtr, g, classes, m, keep, add, true, weighted, withGrad, false);
    else s = expSumSoft(p, qp, weightPtr, g, classes, m, keep, add, false, weighted, withGrad, false);
    if (!isFinite(sumB) && isFinite(m)) sumB = softSecondF64(p, qp, classes, m, weightPtr, weighted, keep, add, smooth);
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

/**
 * The first i in [0, n) whose class target is neither in [0, classes) nor ignoreIndex, or −1: the
 * engine's check of class targets before any loss is computed (so an error leaves every output
 * untouched). One unsigned compare catches t < 0 and t ≥ classes alike; 16 targets an iteration,
 * one branch, ≈ 0.1 instructions a target (the same check in JavaScript ran at ≈ 1 ns a target,
 * a tenth of a 10-class row's loss: bench/limits.md, issue 23).
 */
export function firstBadTarget(targetPtr: usize, n: i32, classes: i32, ignoreIndex: i32): i32 {
  let c = i32x4.splat(classes);
  let ig = i32x4.splat(ignoreIndex);
  let i = 0;
  for (; i + 16 <= n; i += 16) {
    let p = targetPtr + (<usize>i << 2);
    let a = v128.load(p);
    let b = v128.load(p, 16);
    let d = v128.load(p, 32);
    let e = v128.load(p, 48);
    let bad = v128.or(
      v128.or(v128.andnot(i32x4.ge_u(a, c), i32x4.eq(a, ig)), v128.andnot(i32x4.ge_u(b, c), i32x4.eq(b, ig))),
      v128.or(v128.andnot(i32x4.ge_u(d, c), i32x4.eq(d, ig)), v128.andnot(i32x4.ge_u(e, c), i32x4.eq(e, ig))),
    );
    if (v128.any_true(bad)) break; // the scalar loop below names the first one
  }
  for (; i < n; i++) {
    let t = load<i32>(targetPtr + (<usize>i << 2));
    if (<u32>t >= <u32>classes && t != ignoreIndex) return i;
  }
  return -1;
}
