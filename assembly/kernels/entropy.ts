// Entropy and KL divergence of softmax distributions along the rows of a row-major float32
// [rows, classes] batch (SEMANTICS.md §7, §9), from logits, without materialising
// log-softmax:
//   H  = log s − Σ e_c·d_c / s                             (0·log 0 = 0 by clamping d)
//   KL = Σ e^p_c (d^p_c − d^q_c) / s_p + log s_q − log s_p (log-domain −inf tests)
// with d = x − m (m the NaN-skipping row max of ./rows.ts), e = exp(d) (degree-5 exp,
// ≤ 2.4 ulp). Rows of at most SHORT_ROW_MAX_CLASSES go four at a time, one row per lane, every
// row of the batch (lanes.ts), so a row's result does not depend on its place in the batch;
// their four sums' logs are one f64x2 log per two lanes (math/log.ts). Longer rows accumulate
// f32x4 lanes flushed into f64x2 every SUM_BLOCK values; logs and the combination are f64.
// Every NaN written is the canonical quiet NaN. Whole groups of short rows run softmax's
// transposed 4×4 blocks (rows.ts fourRowsExpSum). Cost (callgrind, Node 20, 4096 × 10): 21.5
// instructions an element (21.7 with gathered columns; softmax 17.4).
// Measured accuracy against the float64 JS backend (N(0, 3²) logits, 2..32,000 classes, plain
// SIMD build, 2026-12-02): entropy within 4.8e-7 absolute, KL within 3.8e-6 absolute;
// test/spec-loss*.test.ts asserts the SEMANTICS §11 bounds.
import { expNonPositiveP5F32x4 } from '../math/exp';
import { logLowLanesF64x2, logHighLanesF64x2 } from '../math/log';
import {
  SHORT_ROW_MAX_CLASSES, addLanes, laneSum, laneF32, laneF64, laneI32, laneOffset, laneRow, firstLanes, loadFirst, blockEnd, gatherColumn, canonicalF32,
} from '../lanes';
import { rowMax, columnMax, columnSecond, fourRowsMax, fourRowsExpSum, rowLogsLow, rowLogsHigh, SECOND_ED } from './rows';

// @ts-ignore: decorator
@inline const FLT_MAX: f32 = reinterpret<f32>(0x7F7FFFFF); // 3.40282347e38

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
  if (classes <= SHORT_ROW_MAX_CLASSES) {
    // Every row four at a time, one per lane (lanes.ts: a partial group repeats its first row).
    for (let r = 0; r < rows; r += 4) {
      let left = rows - r;
      let p = xPtr + <usize>r * stride;
      let m = fourRowsMax(p, left, stride, classes);
      let s = fourRowsExpSum(p, left, stride, classes, m, SECOND_ED, true, 0);
      let b = columnSecond;
      let logLo = rowLogsLow(s);
      let logHi = rowLogsHigh(s);
      // Unrolled with constant lanes; a missing row's lane stores row r's result again.
      let o = outPtr + (<usize>r << 2);
      store<f32>(o, entropyOf(laneF32(s, 0), laneF64(logLo, logHi, 0), laneF32(b, 0)));
      store<f32>(o + (<usize>laneRow(1, left) << 2), entropyOf(laneF32(s, 1), laneF64(logLo, logHi, 1), laneF32(b, 1)));
      store<f32>(o + (<usize>laneRow(2, left) << 2), entropyOf(laneF32(s, 2), laneF64(logLo, logHi, 2), laneF32(b, 2)));
      store<f32>(o + (<usize>laneRow(3, left) << 2), entropyOf(laneF32(s, 3), laneF64(logLo, logHi, 3), laneF32(b, 3)));
    }
    return;
  }
  for (let r = 0; r < rows; r++) {
    let p = xPtr + <usize>r * stride;
    let mv = f32x4.splat(rowMax(p, classes, false, 1.0));
    let ts = f64x2.splat(0.0);
    let tb = ts;
    let i = 0;
    while (classes - i >= 4) {
      let end = blockEnd(i, classes, 4);
      let as = f32x4.splat(0.0);
      let ab = as;
      for (; i < end; i += 4) {
        let d = f32x4.sub(v128.load(p + (<usize>i << 2)), mv);
        let e = expNonPositiveP5F32x4(d);
        as = f32x4.add(as, e);
        // pmax keeps NaN (the comparison is false) and lifts only −inf.
        ab = f32x4.add(ab, f32x4.mul(e, f32x4.pmax(d, lo)));
      }
      ts = addLanes(ts, as);
      tb = addLanes(tb, ab);
    }
    if (i < classes) {
      let k = classes - i;
      let mask = firstLanes(k);
      let d = f32x4.sub(loadFirst(p + (<usize>i << 2), k), mv);
      let e = v128.and(expNonPositiveP5F32x4(d), mask);
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
  if (classes <= SHORT_ROW_MAX_CLASSES) {
    // Every row four at a time, one per lane (as entropy).
    let one = f32x4.splat(1.0);
    for (let r = 0; r < rows; r += 4) {
      let left = rows - r;
      let o1 = laneOffset(1, left, stride);
      let o2 = laneOffset(2, left, stride);
      let o3 = laneOffset(3, left, stride);
      let pp = pPtr + <usize>r * stride;
      let qp = qPtr + <usize>r * stride;
      let mp = columnMax(pp, left, stride, classes, false, one);
      let mq = columnMax(qp, left, stride, classes, false, one);
      let sp = f32x4.splat(0.0);
      let sq = sp;
      let c = sp;
      let inf = i32x4.splat(0);
      for (let j = 0; j < classes; j++) {
        let off = <usize>j << 2;
        let dp = f32x4.sub(gatherColumn(pp + off, o1, o2, o3), mp);
        let dq = f32x4.sub(gatherColumn(qp + off, o1, o2, o3), mq);
        let ep = expNonPositiveP5F32x4(dp);
        sp = f32x4.add(sp, ep);
        sq = f32x4.add(sq, expNonPositiveP5F32x4(dq));
        c = f32x4.add(c, klContribution(dp, dq, ep));
        inf = v128.or(inf, klInfinite(dp, dq));
      }
      let logPLo = logLowLanesF64x2(sp);
      let logPHi = logHighLanesF64x2(sp);
      let logQLo = logLowLanesF64x2(sq);
      let logQHi = logHighLanesF64x2(sq);
      // Unrolled with constant lanes; a missing row's lane stores row r's result again.
      let o = outPtr + (<usize>r << 3);
      store<f64>(o, klOf(laneF32(c, 0), laneF32(sp, 0), laneF64(logPLo, logPHi, 0), laneF64(logQLo, logQHi, 0), laneI32(inf, 0) != 0));
      store<f64>(o + (<usize>laneRow(1, left) << 3), klOf(laneF32(c, 1), laneF32(sp, 1), laneF64(logPLo, logPHi, 1), laneF64(logQLo, logQHi, 1), laneI32(inf, 1) != 0));
      store<f64>(o + (<usize>laneRow(2, left) << 3), klOf(laneF32(c, 2), laneF32(sp, 2), laneF64(logPLo, logPHi, 2), laneF64(logQLo, logQHi, 2), laneI32(inf, 2) != 0));
      store<f64>(o + (<usize>laneRow(3, left) << 3), klOf(laneF32(c, 3), laneF32(sp, 3), laneF64(logPLo, logPHi, 3), laneF64(logQLo, logQHi, 3), laneI32(inf, 3) != 0));
    }
    return;
  }
  for (let r = 0; r < rows; r++) {
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
      let end = blockEnd(i, classes, 4);
      let ap = f32x4.splat(0.0);
      let aq = ap;
      let ac = ap;
      for (; i < end; i += 4) {
        let off = <usize>i << 2;
        let dp = f32x4.sub(v128.load(pp + off), mp);
        let dq = f32x4.sub(v128.load(qp + off), mq);
        let ep = expNonPositiveP5F32x4(dp);
        ap = f32x4.add(ap, ep);
        aq = f32x4.add(aq, expNonPositiveP5F32x4(dq));
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
      let mask = firstLanes(k);
      let dp = f32x4.sub(loadFirst(pp + off, k), mp);
      let dq = f32x4.sub(loadFirst(qp + off, k), mq);
      let ep = v128.and(expNonPositiveP5F32x4(dp), mask);
      tp = addLanes(tp, ep);
      tq = addLanes(tq, v128.and(expNonPositiveP5F32x4(dq), mask));
      tc = addLanes(tc, v128.and(klContribution(dp, dq, ep), mask));
      inf = v128.or(inf, v128.and(klInfinite(dp, dq), mask));
    }
    let sp = laneSum(tp);
    store<f64>(outPtr + (<usize>r << 3), klOf(laneSum(tc), sp, Math.log(sp), Math.log(laneSum(tq)), v128.any_true(inf)));
  }
}
