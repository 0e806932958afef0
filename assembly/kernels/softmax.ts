// logsumexp, softmax and log_softmax along each row of a row-major float32 [rows, classes]
// batch, with temperature (SEMANTICS.md §1, §2).
//
// Algorithm (XNNPACK's three-pass shape): pass 1 takes the row max m with a compare-select
// max (f32x4.pmax, which V8 lowers to one maxps; the IEEE f32x4.max is a long sequence);
// pass 2 computes e = exp(z - m) with the degree-5 vector exp of math/exp.ts
// (expNonPositiveP5F32x4: ≤ 2.4 ulp, two operations a vector fewer than the ≤ 1.2 ulp exp;
// measured 7-15% faster, and invisible in the errors below), stores it (softmax only) and
// sums it in the same pass; pass 3 scales by 1/s (softmax) or writes (z - m) - log s
// (log_softmax, recomputed from z, which is shift invariant).
// The max deliberately skips NaN: a NaN anywhere makes exp(NaN - m) = NaN, which poisons
// s and so every output, exactly as the spec's NaN-propagating max would; +inf and
// all -inf rows give inf - inf = NaN the same way (no masking, as PyTorch).
// Sums: two f32x4 accumulators over blocks of SUM_BLOCK elements (each lane adds at most
// SUM_BLOCK/8 terms), each block added into an f64x2 total; log and 1/s are taken in f64.
// The exp loop is unrolled by four vectors into two accumulators (measured against two and
// three vectors, and four accumulators, which spill: four vectors/two accumulators is 3-10%
// ahead on 4096×1000).
// Rows of at most ACROSS_ROWS_MAX_CLASSES (32) classes go four rows at a time, one row per
// lane. Whole groups with ≥ 4 classes load four values of each row and transpose 4×4 blocks
// with shuffles; every store is a whole vector (measured: 1,000,000×10 softmax 1.4x, logsumexp
// 1.3x the lane-by-lane gather it replaced, which partial groups and C < 4 still use).
// The limit is accuracy, not speed (the group path still measured 1.1-1.6x the per-row path
// at 40-64 classes): a lane sums its row in one f32 chain, whose worst case (C - 1)·u must
// stay inside the §11 constant terms (31u ≈ 1.85e-6 at 32 classes).
// Temperature: T == 1 does no arithmetic. If f32(T) is a finite normal float32, z = x / f32(T)
// in f32 (softmax/log_softmax write z into out, in the max pass for long rows, and then
// run in place on it; logsumexp divides in both passes); else z = f32(f64(x) / T) in f64.
// Measured accuracy against float64 (N(0, σ²) rows, σ = 1 and 4, widths 2..128,256, plain
// SIMD build): worst error as a fraction of its SEMANTICS §11 bound 28% (softmax, 16-wide,
// σ = 4; it was the same 28% with the degree-6 exp: the f32 rounding of z - m and of the
// output dominates), logsumexp 6%, log_softmax 7%; i.e. ≥ 3.6x headroom everywhere.
// test/kernels-abi.test.ts checks all of it with the bounds divided by 4.
// The degree-5 exp under the names the code below uses (see the header).
import { expNonPositiveP5F32x4 as expNonPositiveF32x4, expNonPositiveP5F32 as expNonPositiveF32 } from '../math/exp';
import { logPlusShiftF32x4 } from '../math/log';
import { loadZ, loadZScalar, rowMax } from './rows';

// @ts-ignore: decorator
@inline const SUM_BLOCK: i32 = 256;
// @ts-ignore: decorator
@inline const ACROSS_ROWS_MAX_CLASSES: i32 = 32;

// ---- per-row building blocks (z = x, or x / tv when scaled) ---------------------------

// Row tails (n % 4 = r elements, n >= 4): one more vector over the LAST four elements,
// overlapping lanes already done; those lanes are masked out of sums and never stored
// again, so re-reading them after an in-place write is harmless.

/** Lanes 4 - r .. 3 set (the r elements not yet covered by whole vectors). */
// @ts-ignore: decorator
@inline
function tailMask(r: i32): v128 {
  return i32x4.gt_s(i32x4(0, 1, 2, 3), i32x4.splat(3 - r));
}

/** Store only lanes 4 - r .. 3 of v to the vector at q. */
// @ts-ignore: decorator
@inline
function storeTail(q: usize, v: v128, r: i32): void {
  if (r == 1) {
    v128.store32_lane(q, v, 3, 12);
  } else {
    if (r == 3) v128.store32_lane(q, v, 1, 4);
    v128.store64_lane(q, v, 1, 8);
  }
}

/** Σ exp(z - m) over a row; with storeExp, each exp(z - m) is also written to dst. */
// @ts-ignore: decorator
@inline
function expSumRow(p: usize, dst: usize, n: i32, m: f32, storeExp: bool, scaled: bool, t: f32): f64 {
  let tv = f32x4.splat(t);
  let mv = f32x4.splat(m);
  let total = f64x2.splat(0.0);
  let i = 0;
  while (n - i >= 16) {
    let end = i + (min(SUM_BLOCK, n - i) & ~15);
    let a0 = f32x4.splat(0.0);
    let a1 = a0;
    for (; i < end; i += 16) {
      let off = <usize>i << 2;
      let q = p + off;
      let e0 = expNonPositiveF32x4(f32x4.sub(loadZ(q, 0, scaled, tv), mv));
      let e1 = expNonPositiveF32x4(f32x4.sub(loadZ(q, 16, scaled, tv), mv));
      let e2 = expNonPositiveF32x4(f32x4.sub(loadZ(q, 32, scaled, tv), mv));
      let e3 = expNonPositiveF32x4(f32x4.sub(loadZ(q, 48, scaled, tv), mv));
      if (storeExp) {
        let d = dst + off;
        v128.store(d, e0);
        v128.store(d, e1, 16);
        v128.store(d, e2, 32);
        v128.store(d, e3, 48);
      }
      a0 = f32x4.add(f32x4.add(a0, e0), e2);
      a1 = f32x4.add(f32x4.add(a1, e1), e3);
    }
    a0 = f32x4.add(a0, a1);
    total = f64x2.add(total, f64x2.promote_low_f32x4(a0));
    total = f64x2.add(total, f64x2.promote_low_f32x4(v128.shuffle<f32>(a0, a0, 2, 3, 0, 1)));
  }
  let sum = f64x2.extract_lane(total, 0) + f64x2.extract_lane(total, 1);
  for (; i + 4 <= n; i += 4) {
    let off = <usize>i << 2;
    let e = expNonPositiveF32x4(f32x4.sub(loadZ(p + off, 0, scaled, tv), mv));
    if (storeExp) v128.store(dst + off, e);
    let pair = f64x2.add(f64x2.promote_low_f32x4(e), f64x2.promote_low_f32x4(v128.shuffle<f32>(e, e, 2, 3, 0, 1)));
    sum += f64x2.extract_lane(pair, 0) + f64x2.extract_lane(pair, 1);
  }
  if (i < n && n >= 4) {
    let off = <usize>(n - 4) << 2;
    let r = n - i;
    let e = v128.and(expNonPositiveF32x4(f32x4.sub(loadZ(p + off, 0, scaled, tv), mv)), tailMask(r));
    if (storeExp) storeTail(dst + off, e, r);
    let pair = f64x2.add(f64x2.promote_low_f32x4(e), f64x2.promote_low_f32x4(v128.shuffle<f32>(e, e, 2, 3, 0, 1)));
    sum += f64x2.extract_lane(pair, 0) + f64x2.extract_lane(pair, 1);
    i = n;
  }
  for (; i < n; i++) {
    let off = <usize>i << 2;
    let e = expNonPositiveF32(loadZScalar(p + off, scaled, t) - m);
    if (storeExp) store<f32>(dst + off, e);
    sum += <f64>e;
  }
  return sum;
}

/** dst[i] *= scale. */
// @ts-ignore: decorator
@inline
function scaleRow(dst: usize, n: i32, scale: f32): void {
  let sv = f32x4.splat(scale);
  let i = 0;
  for (; i + 16 <= n; i += 16) {
    let q = dst + (<usize>i << 2);
    v128.store(q, f32x4.mul(v128.load(q), sv));
    v128.store(q, f32x4.mul(v128.load(q, 16), sv), 16);
    v128.store(q, f32x4.mul(v128.load(q, 32), sv), 32);
    v128.store(q, f32x4.mul(v128.load(q, 48), sv), 48);
  }
  for (; i + 4 <= n; i += 4) {
    let q = dst + (<usize>i << 2);
    v128.store(q, f32x4.mul(v128.load(q), sv));
  }
  if (i < n && n >= 4) {
    let q = dst + (<usize>(n - 4) << 2);
    storeTail(q, f32x4.mul(v128.load(q), sv), n - i);
    i = n;
  }
  for (; i < n; i++) {
    let q = dst + (<usize>i << 2);
    store<f32>(q, load<f32>(q) * scale);
  }
}

/** dst[i] = (z[i] - m) - logS. */
// @ts-ignore: decorator
@inline
function shiftRow(p: usize, dst: usize, n: i32, m: f32, logS: f32): void {
  let mv = f32x4.splat(m);
  let lv = f32x4.splat(logS);
  let i = 0;
  for (; i + 16 <= n; i += 16) {
    let off = <usize>i << 2;
    let q = p + off;
    let d = dst + off;
    let z0 = v128.load(q);
    let z1 = v128.load(q, 16);
    let z2 = v128.load(q, 32);
    let z3 = v128.load(q, 48);
    v128.store(d, f32x4.sub(f32x4.sub(z0, mv), lv));
    v128.store(d, f32x4.sub(f32x4.sub(z1, mv), lv), 16);
    v128.store(d, f32x4.sub(f32x4.sub(z2, mv), lv), 32);
    v128.store(d, f32x4.sub(f32x4.sub(z3, mv), lv), 48);
  }
  for (; i + 4 <= n; i += 4) {
    let off = <usize>i << 2;
    v128.store(dst + off, f32x4.sub(f32x4.sub(v128.load(p + off), mv), lv));
  }
  if (i < n && n >= 4) {
    let off = <usize>(n - 4) << 2;
    storeTail(dst + off, f32x4.sub(f32x4.sub(v128.load(p + off), mv), lv), n - i);
    i = n;
  }
  for (; i < n; i++) {
    let off = <usize>i << 2;
    store<f32>(dst + off, (load<f32>(p + off) - m) - logS);
  }
}

// ---- four rows at a time, one per lane (short rows) ---------------------------------
// Lane k reads row r + k at byte offset o_k = k·stride from row r. In a last, partial group
// the missing lanes repeat row r (o_k = 0): they compute exactly what lane 0 computes and
// store the same values to the same places, so every row, wherever a caller (or a thread
// split) cuts the batch, goes through identical arithmetic.

// @ts-ignore: decorator
@inline
function gatherColumn(q: usize, o1: usize, o2: usize, o3: usize): v128 {
  let v = v128.load32_zero(q);
  v = v128.load32_lane(q + o1, v, 1);
  v = v128.load32_lane(q + o2, v, 2);
  return v128.load32_lane(q + o3, v, 3);
}

// @ts-ignore: decorator
@inline
function scatterColumn(q: usize, o1: usize, o2: usize, o3: usize, v: v128): void {
  v128.store32_lane(q, v, 0);
  v128.store32_lane(q + o1, v, 1);
  v128.store32_lane(q + o2, v, 2);
  v128.store32_lane(q + o3, v, 3);
}

// @ts-ignore: decorator
@inline
function columnMax(p: usize, o1: usize, o2: usize, o3: usize, classes: i32, scaled: bool, tv: v128): v128 {
  let m = f32x4.splat(-Infinity);
  for (let j = 0; j < classes; j++) {
    let z = gatherColumn(p + (<usize>j << 2), o1, o2, o3);
    m = f32x4.pmax(m, scaled ? f32x4.div(z, tv) : z);
  }
  return m;
}

/**
 * f32(log(s) + shift) for four row sums. Kept out of line on purpose: inlined, V8 hoists
 * the log's constants out of the row-group loop and they crowd the exp loop's registers
 * (measured: log_softmax on 1,000,000×10 ran at 260 instead of 440 Melem/s).
 */
function rowGroupLogs(s: v128, shift: v128): v128 {
  return logPlusShiftF32x4(s, shift);
}


// Whole groups of four rows with at least four classes load each row's next four values
// as one vector and transpose the 4×4 block with shuffles (V8: unpck*ps / punpck*qdq, one
// instruction each) instead of gathering lane by lane. The arithmetic per element, and the
// order of every max and sum, is exactly that of the gather path: a row gives the same bits
// in a whole group, a partial group or the per-row path's neighbours. The last, overlapping
// block (columns classes - 4 .. classes - 1) only uses its columns not covered before.

// @ts-ignore: decorator
@inline function lo32(a: v128, b: v128): v128 { return v128.shuffle<f32>(a, b, 0, 4, 1, 5); }
// @ts-ignore: decorator
@inline function hi32(a: v128, b: v128): v128 { return v128.shuffle<f32>(a, b, 2, 6, 3, 7); }
// @ts-ignore: decorator
@inline function lo64(a: v128, b: v128): v128 { return v128.shuffle<f32>(a, b, 0, 1, 4, 5); }
// @ts-ignore: decorator
@inline function hi64(a: v128, b: v128): v128 { return v128.shuffle<f32>(a, b, 2, 3, 6, 7); }

/** Lane k = max over row k (at p + k·stride) of z, columns in order, NaN skipped. */
// @ts-ignore: decorator
@inline
function groupMax(p: usize, stride: usize, classes: i32, scaled: bool, tv: v128): v128 {
  let m = f32x4.splat(-Infinity);
  let j = 0;
  for (; j + 4 <= classes; j += 4) {
    let q = p + (<usize>j << 2);
    let r0 = loadZ(q, 0, scaled, tv);
    let r1 = loadZ(q + stride, 0, scaled, tv);
    let r2 = loadZ(q + (stride << 1), 0, scaled, tv);
    let r3 = loadZ(q + stride * 3, 0, scaled, tv);
    let t0 = lo32(r0, r1);
    let t1 = hi32(r0, r1);
    let t2 = lo32(r2, r3);
    let t3 = hi32(r2, r3);
    m = f32x4.pmax(m, lo64(t0, t2));
    m = f32x4.pmax(m, hi64(t0, t2));
    m = f32x4.pmax(m, lo64(t1, t3));
    m = f32x4.pmax(m, hi64(t1, t3));
  }
  let rest = classes - j;
  if (rest > 0) {
    let q = p + (<usize>(classes - 4) << 2);
    let r0 = loadZ(q, 0, scaled, tv);
    let r1 = loadZ(q + stride, 0, scaled, tv);
    let r2 = loadZ(q + (stride << 1), 0, scaled, tv);
    let r3 = loadZ(q + stride * 3, 0, scaled, tv);
    let t0 = lo32(r0, r1);
    let t1 = hi32(r0, r1);
    let t2 = lo32(r2, r3);
    let t3 = hi32(r2, r3);
    if (rest == 3) m = f32x4.pmax(m, hi64(t0, t2));
    if (rest >= 2) m = f32x4.pmax(m, lo64(t1, t3));
    m = f32x4.pmax(m, hi64(t1, t3));
  }
  return m;
}

/**
 * Lane k = max over row k, like groupMax, but each row reduced on its own and transposed
 * once at the end (8 shuffles a block fewer). The order of a max only decides the sign of
 * a zero maximum, which logsumexp cannot see (exp(z - (±0)) and log s + (±0) give the same
 * bits), so it serves logsumexp only; softmax rows keep groupMax's column order.
 */
// @ts-ignore: decorator
@inline
function groupMaxRowwise(p: usize, stride: usize, classes: i32, scaled: bool, tv: v128): v128 {
  let m0 = f32x4.splat(-Infinity);
  let m1 = m0;
  let m2 = m0;
  let m3 = m0;
  let j = 0;
  for (; j + 4 <= classes; j += 4) {
    let q = p + (<usize>j << 2);
    m0 = f32x4.pmax(m0, loadZ(q, 0, scaled, tv));
    m1 = f32x4.pmax(m1, loadZ(q + stride, 0, scaled, tv));
    m2 = f32x4.pmax(m2, loadZ(q + (stride << 1), 0, scaled, tv));
    m3 = f32x4.pmax(m3, loadZ(q + stride * 3, 0, scaled, tv));
  }
  if (j < classes) {
    // max is idempotent: the overlapping last block needs no mask
    let q = p + (<usize>(classes - 4) << 2);
    m0 = f32x4.pmax(m0, loadZ(q, 0, scaled, tv));
    m1 = f32x4.pmax(m1, loadZ(q + stride, 0, scaled, tv));
    m2 = f32x4.pmax(m2, loadZ(q + (stride << 1), 0, scaled, tv));
    m3 = f32x4.pmax(m3, loadZ(q + stride * 3, 0, scaled, tv));
  }
  let t0 = lo32(m0, m1);
  let t1 = hi32(m0, m1);
  let t2 = lo32(m2, m3);
  let t3 = hi32(m2, m3);
  return f32x4.pmax(f32x4.pmax(lo64(t0, t2), hi64(t0, t2)), f32x4.pmax(lo64(t1, t3), hi64(t1, t3)));
}

/** Store the transpose of columns e0..e3 as four row vectors at d + k·stride. */
// @ts-ignore: decorator
@inline
function storeRows(d: usize, stride: usize, e0: v128, e1: v128, e2: v128, e3: v128): void {
  let t0 = lo32(e0, e1);
  let t1 = hi32(e0, e1);
  let t2 = lo32(e2, e3);
  let t3 = hi32(e2, e3);
  v128.store(d, lo64(t0, t2));
  v128.store(d + stride, hi64(t0, t2));
  v128.store(d + (stride << 1), lo64(t1, t3));
  v128.store(d + stride * 3, hi64(t1, t3));
}

/**
 * dst[i] *= scale for one row of a whole group (n >= 4) with whole-vector stores only: the
 * last vector (loaded before anything is stored) overlaps the one before it and rewrites
 * its lanes with the same products.
 */
// @ts-ignore: decorator
@inline
function scaleGroupRow(q: usize, n: i32, sv: v128): void {
  let tailAt = q + (<usize>(n - 4) << 2);
  let tail = f32x4.mul(v128.load(tailAt), sv);
  let j = 0;
  for (; j + 4 <= n; j += 4) {
    let a = q + (<usize>j << 2);
    v128.store(a, f32x4.mul(v128.load(a), sv));
  }
  if (j < n) v128.store(tailAt, tail);
}

/** Lane k = Σ exp(z - m_k) over row k; with storeExp each exp is written to the same place in dst. */
// @ts-ignore: decorator
@inline
function groupExpSum(p: usize, dst: usize, stride: usize, classes: i32, m: v128, storeExp: bool, scaled: bool, tv: v128): v128 {
  let s = f32x4.splat(0.0);
  // The last whole block's exps: the overlapping tail block stores them again, so that
  // every store is a whole vector (partial-lane stores followed by the scale pass's
  // whole-vector loads defeat store-to-load forwarding: measured 1.5x slower on 5 classes).
  let last1 = s;
  let last2 = s;
  let last3 = s;
  let j = 0;
  for (; j + 4 <= classes; j += 4) {
    let off = <usize>j << 2;
    let q = p + off;
    let r0 = loadZ(q, 0, scaled, tv);
    let r1 = loadZ(q + stride, 0, scaled, tv);
    let r2 = loadZ(q + (stride << 1), 0, scaled, tv);
    let r3 = loadZ(q + stride * 3, 0, scaled, tv);
    let t0 = lo32(r0, r1);
    let t1 = hi32(r0, r1);
    let t2 = lo32(r2, r3);
    let t3 = hi32(r2, r3);
    let e0 = expNonPositiveF32x4(f32x4.sub(lo64(t0, t2), m));
    let e1 = expNonPositiveF32x4(f32x4.sub(hi64(t0, t2), m));
    let e2 = expNonPositiveF32x4(f32x4.sub(lo64(t1, t3), m));
    let e3 = expNonPositiveF32x4(f32x4.sub(hi64(t1, t3), m));
    s = f32x4.add(f32x4.add(f32x4.add(f32x4.add(s, e0), e1), e2), e3);
    if (storeExp) {
      storeRows(dst + off, stride, e0, e1, e2, e3);
      last1 = e1;
      last2 = e2;
      last3 = e3;
    }
  }
  let rest = classes - j;
  if (rest > 0) {
    let off = <usize>(classes - 4) << 2;
    let q = p + off;
    let r0 = loadZ(q, 0, scaled, tv);
    let r1 = loadZ(q + stride, 0, scaled, tv);
    let r2 = loadZ(q + (stride << 1), 0, scaled, tv);
    let r3 = loadZ(q + stride * 3, 0, scaled, tv);
    let t0 = lo32(r0, r1);
    let t1 = hi32(r0, r1);
    let t2 = lo32(r2, r3);
    let t3 = hi32(r2, r3);
    let zero = f32x4.splat(0.0);
    let e1 = zero;
    let e2 = zero;
    if (rest == 3) {
      e1 = expNonPositiveF32x4(f32x4.sub(hi64(t0, t2), m));
      s = f32x4.add(s, e1);
    }
    if (rest >= 2) {
      e2 = expNonPositiveF32x4(f32x4.sub(lo64(t1, t3), m));
      s = f32x4.add(s, e2);
    }
    let e3 = expNonPositiveF32x4(f32x4.sub(hi64(t1, t3), m));
    s = f32x4.add(s, e3);
    if (storeExp) {
      // Columns already covered keep their values: f0..f(3-rest) come from the last block.
      let f0 = rest == 1 ? last1 : rest == 2 ? last2 : last3;
      let f1 = rest == 1 ? last2 : rest == 2 ? last3 : e1;
      let f2 = rest == 1 ? last3 : e2;
      storeRows(dst + off, stride, f0, f1, f2, e3);
    }
  }
  return s;
}


// @ts-ignore: decorator
@inline
function softmaxAcrossRows(xPtr: usize, rows: i32, classes: i32, outPtr: usize, log: bool): i32 {
  let stride = <usize>classes << 2;
  let tv = f32x4.splat(1.0);
  for (let r = 0; r < rows; r += 4) {
    let left = rows - r;
    let o1: usize = left > 1 ? stride : 0;
    let o2: usize = left > 2 ? stride << 1 : 0;
    let o3: usize = left > 3 ? stride * 3 : 0;
    let base = <usize>r * stride;
    let p = xPtr + base;
    let o = outPtr + base;
    if (left >= 4 && classes >= 4) {
      let m = groupMax(p, stride, classes, false, tv);
      let s = groupExpSum(p, o, stride, classes, m, !log, false, tv);
      if (log) {
        let logS = rowGroupLogs(s, f32x4.splat(0.0));
        shiftRow(p, o, classes, f32x4.extract_lane(m, 0), f32x4.extract_lane(logS, 0));
        shiftRow(p + stride, o + stride, classes, f32x4.extract_lane(m, 1), f32x4.extract_lane(logS, 1));
        shiftRow(p + (stride << 1), o + (stride << 1), classes, f32x4.extract_lane(m, 2), f32x4.extract_lane(logS, 2));
        shiftRow(p + stride * 3, o + stride * 3, classes, f32x4.extract_lane(m, 3), f32x4.extract_lane(logS, 3));
      } else {
        let inv = f32x4.div(f32x4.splat(1.0), s);
        scaleGroupRow(o, classes, v128.shuffle<f32>(inv, inv, 0, 0, 0, 0));
        scaleGroupRow(o + stride, classes, v128.shuffle<f32>(inv, inv, 1, 1, 1, 1));
        scaleGroupRow(o + (stride << 1), classes, v128.shuffle<f32>(inv, inv, 2, 2, 2, 2));
        scaleGroupRow(o + stride * 3, classes, v128.shuffle<f32>(inv, inv, 3, 3, 3, 3));
      }
      continue;
    }
    let m = columnMax(p, o1, o2, o3, classes, false, tv);
    let s = f32x4.splat(0.0);
    for (let j = 0; j < classes; j++) {
      let off = <usize>j << 2;
      let e = expNonPositiveF32x4(f32x4.sub(gatherColumn(p + off, o1, o2, o3), m));
      if (!log) scatterColumn(o + off, o1, o2, o3, e);
      s = f32x4.add(s, e);
    }
    if (log) {
      let logS = rowGroupLogs(s, f32x4.splat(0.0));
      for (let j = 0; j < classes; j++) {
        let off = <usize>j << 2;
        scatterColumn(o + off, o1, o2, o3, f32x4.sub(f32x4.sub(gatherColumn(p + off, o1, o2, o3), m), logS));
      }
    } else {
      let inv = f32x4.div(f32x4.splat(1.0), s);
      for (let j = 0; j < classes; j++) {
        let q = o + (<usize>j << 2);
        scatterColumn(q, o1, o2, o3, f32x4.mul(gatherColumn(q, o1, o2, o3), inv));
      }
    }
  }
  return rows;
}

// ---- temperature --------------------------------------------------------------------

/** f32(T) is finite and normal, so z = x / f32(T) can run in f32. */
// @ts-ignore: decorator
@inline
function temperatureFitsF32(temperature: f64): bool {
  let t = <f32>temperature;
  return t < Infinity && t >= reinterpret<f32>(0x00800000); // FLT_MIN
}

/** out = x / T elementwise (f32 division, or f64 when f32(T) is not a normal float). */
function divideByTemperature(xPtr: usize, n: usize, temperature: f64, outPtr: usize): void {
  if (temperatureFitsF32(temperature)) {
    let t = <f32>temperature;
    let tv = f32x4.splat(t);
    let i: usize = 0;
    for (; i + 4 <= n; i += 4) v128.store(outPtr + (i << 2), f32x4.div(v128.load(xPtr + (i << 2)), tv));
    for (; i < n; i++) store<f32>(outPtr + (i << 2), load<f32>(xPtr + (i << 2)) / t);
  } else {
    for (let i: usize = 0; i < n; i++) {
      store<f32>(outPtr + (i << 2), <f32>(<f64>load<f32>(xPtr + (i << 2)) / temperature));
    }
  }
}

/** dst[i] = z = p[i] / t (f32, same bits as divideByTemperature), returning max z (NaN skipped). */
function rowMaxDivide(p: usize, dst: usize, n: i32, t: f32): f32 {
  let tv = f32x4.splat(t);
  let m0 = f32x4.splat(-Infinity);
  let m1 = m0;
  let i = 0;
  for (; i + 8 <= n; i += 8) {
    let off = <usize>i << 2;
    let z0 = f32x4.div(v128.load(p + off), tv);
    let z1 = f32x4.div(v128.load(p + off, 16), tv);
    v128.store(dst + off, z0);
    v128.store(dst + off, z1, 16);
    m0 = f32x4.pmax(m0, z0);
    m1 = f32x4.pmax(m1, z1);
  }
  m0 = f32x4.pmax(m0, m1);
  m0 = f32x4.pmax(m0, v128.shuffle<f32>(m0, m0, 2, 3, 0, 1));
  m0 = f32x4.pmax(m0, v128.shuffle<f32>(m0, m0, 1, 0, 3, 2));
  let m = f32x4.extract_lane(m0, 0);
  for (; i < n; i++) {
    let off = <usize>i << 2;
    let z = load<f32>(p + off) / t;
    store<f32>(dst + off, z);
    if (m < z) m = z;
  }
  return m;
}

// ---- softmax / log_softmax ------------------------------------------------------------

// @ts-ignore: decorator
@inline
function softmaxRows(xPtr: usize, rows: i32, classes: i32, temperature: f64, outPtr: usize, log: bool): void {
  // Per-row path with an f32 temperature: pass 1 divides, stores z into out and takes the
  // max in one go (saves a pass, ~10-15%). Otherwise z = x / T goes into out first and
  // everything below runs on z in place.
  let fuse = temperature != 1.0 && temperatureFitsF32(temperature) && classes > ACROSS_ROWS_MAX_CLASSES;
  if (temperature != 1.0 && !fuse) {
    divideByTemperature(xPtr, <usize>rows * <usize>classes, temperature, outPtr);
    xPtr = outPtr;
  }
  let r = 0;
  if (classes <= ACROSS_ROWS_MAX_CLASSES) r = softmaxAcrossRows(xPtr, rows, classes, outPtr, log);
  let stride = <usize>classes << 2;
  for (; r < rows; r++) {
    let p = xPtr + <usize>r * stride;
    let o = outPtr + <usize>r * stride;
    let m: f32;
    if (fuse) {
      m = rowMaxDivide(p, o, classes, <f32>temperature);
      p = o;
    } else {
      m = rowMax(p, classes, false, 1.0);
    }
    if (log) {
      let s = expSumRow(p, o, classes, m, false, false, 1.0);
      shiftRow(p, o, classes, m, <f32>Math.log(s));
    } else {
      let s = expSumRow(p, o, classes, m, true, false, 1.0);
      scaleRow(o, classes, <f32>(1.0 / s));
    }
  }
}

/** out[r, :] = softmax(x[r, :] / T); outPtr may equal xPtr. */
export function softmax(xPtr: usize, rows: i32, classes: i32, temperature: f64, outPtr: usize): void {
  softmaxRows(xPtr, rows, classes, temperature, outPtr, false);
}

/** out[r, :] = log_softmax(x[r, :] / T) = (z - m) - log s; outPtr may equal xPtr. */
export function logSoftmax(xPtr: usize, rows: i32, classes: i32, temperature: f64, outPtr: usize): void {
  softmaxRows(xPtr, rows, classes, temperature, outPtr, true);
}

// ---- logsumexp ------------------------------------------------------------------------

/**
 * logsumexp of a row whose NaN-skipping max is +inf: +inf, or NaN if the row holds a NaN.
 * (scaled: NaN in x/T is NaN in x, so the raw row decides.)
 */
function lseOfInfiniteRow(p: usize, n: i32): f32 {
  for (let i = 0; i < n; i++) {
    let v = load<f32>(p + (<usize>i << 2));
    if (v != v) return NaN;
  }
  return Infinity;
}

/** f32(log(s) + m') with m' = (m is ±inf) ? 0 : m, from the NaN-skipping max. */
// @ts-ignore: decorator
@inline
function lseRow(p: usize, n: i32, scaled: bool, t: f32): f32 {
  let m = rowMax(p, n, scaled, t);
  if (m == Infinity) return lseOfInfiniteRow(p, n);
  // m == -inf: every entry is -inf or NaN; exp(z - 0) gives 0 or NaN, as the spec's m' = 0.
  let shift: f32 = m == -Infinity ? 0 : m;
  let s = expSumRow(p, 0, n, shift, false, scaled, t);
  return <f32>(Math.log(s) + <f64>shift);
}

/** Scalar path for a temperature whose f32 rounding is not a normal float: z = f32(f64(x)/T). */
function lseRowWideTemperature(p: usize, n: i32, temperature: f64): f32 {
  let m: f32 = -Infinity;
  for (let i = 0; i < n; i++) {
    let z = <f32>(<f64>load<f32>(p + (<usize>i << 2)) / temperature);
    if (m < z) m = z;
  }
  if (m == Infinity) return lseOfInfiniteRow(p, n);
  let shift: f32 = m == -Infinity ? 0 : m;
  let s: f64 = 0;
  for (let i = 0; i < n; i++) {
    let z = <f32>(<f64>load<f32>(p + (<usize>i << 2)) / temperature);
    s += <f64>expNonPositiveF32(z - shift);
  }
  return <f32>(Math.log(s) + <f64>shift);
}

function lseAcrossRows(xPtr: usize, rows: i32, classes: i32, outPtr: usize, scaled: bool, t: f32): i32 {
  let stride = <usize>classes << 2;
  let tv = f32x4.splat(t);
  for (let r = 0; r < rows; r += 4) {
    let left = rows - r;
    let o1: usize = left > 1 ? stride : 0;
    let o2: usize = left > 2 ? stride << 1 : 0;
    let o3: usize = left > 3 ? stride * 3 : 0;
    let p = xPtr + <usize>r * stride;
    let whole = left >= 4 && classes >= 4;
    let m = whole ? groupMaxRowwise(p, stride, classes, scaled, tv) : columnMax(p, o1, o2, o3, classes, scaled, tv);
    // m' = 0 where m is ±inf (abs(m) == inf), else m.
    let shift = v128.andnot(m, f32x4.eq(f32x4.abs(m), f32x4.splat(Infinity)));
    let s = f32x4.splat(0.0);
    if (whole) {
      s = groupExpSum(p, 0, stride, classes, shift, false, scaled, tv);
    } else {
      for (let j = 0; j < classes; j++) {
        let z = gatherColumn(p + (<usize>j << 2), o1, o2, o3);
        if (scaled) z = f32x4.div(z, tv);
        s = f32x4.add(s, expNonPositiveF32x4(f32x4.sub(z, shift)));
      }
    }
    let lse = rowGroupLogs(s, shift);
    let o = outPtr + (<usize>r << 2);
    if (left >= 4) {
      v128.store(o, lse);
    } else {
      v128.store32_lane(o, lse, 0);
      if (left > 1) v128.store32_lane(o, lse, 1, 4);
      if (left > 2) v128.store32_lane(o, lse, 2, 8);
    }
    // Lanes whose max is +inf: exp of a positive z is outside the kernel's domain; redo.
    if (v128.any_true(f32x4.eq(m, f32x4.splat(Infinity)))) {
      for (let k = 0; k < min(4, left); k++) {
        let q = p + <usize>k * stride;
        if (rowMax(q, classes, scaled, t) == Infinity) store<f32>(outPtr + (<usize>(r + k) << 2), lseOfInfiniteRow(q, classes));
      }
    }
  }
  return rows;
}

/** out[r] = log Σ_j exp(x[r, j] / T) (torch.logsumexp semantics). */
export function logsumexp(xPtr: usize, rows: i32, classes: i32, temperature: f64, outPtr: usize): void {
  let stride = <usize>classes << 2;
  let r = 0;
  if (temperature == 1.0) {
    if (classes <= ACROSS_ROWS_MAX_CLASSES) r = lseAcrossRows(xPtr, rows, classes, outPtr, false, 1.0);
    for (; r < rows; r++) store<f32>(outPtr + (<usize>r << 2), lseRow(xPtr + <usize>r * stride, classes, false, 1.0));
  } else if (temperatureFitsF32(temperature)) {
    let t = <f32>temperature;
    if (classes <= ACROSS_ROWS_MAX_CLASSES) r = lseAcrossRows(xPtr, rows, classes, outPtr, true, t);
    for (; r < rows; r++) store<f32>(outPtr + (<usize>r << 2), lseRow(xPtr + <usize>r * stride, classes, true, t));
  } else {
    for (; r < rows; r++) store<f32>(outPtr + (<usize>r << 2), lseRowWideTemperature(xPtr + <usize>r * stride, classes, temperature));
  }
}
