// The row reducer shared by the softmax and loss families: z = x (or x / t when scaled), the
// NaN-skipping row max and Σ exp(z − m) along one row, and the same two reductions for four
// short rows at once, one row per lane (lanes.ts: columns). The callers decide what a NaN or
// infinite max means, and combine the sums into their results.
//
// Algorithm: the max is a compare-select (f32x4.pmax, one maxps in V8; the IEEE f32x4.max is a
// long sequence) that skips NaN. Σ exp(z − m) uses the degree-5 exp (≤ 2.4 ulp, math/exp.ts),
// four vectors an iteration into two f32x4 accumulators (measured against two and three
// vectors, and four accumulators, which spill: 3-10% ahead on 4096×1000), flushed into an f64x2
// total every SUM_BLOCK values; the short-row forms sum each row (lane) in one f32 chain, in
// column order, whether a group is whole (4×4 blocks transposed with shuffles) or not
// (gathered lane by lane), so a row gives the same bits wherever it sits in a batch. The loss
// family's second sums (Σ d, Σ w·d, Σ e·d) ride in the same passes (addSecond, one definition for
// both forms), so its whole groups run the transposed blocks too (fourRowsMax, fourRowsExpSum).
// A 4×4 block costs four vector loads and eight shuffles per 16 values, a gathered column 16 lane
// loads (softmax 4096 × 10: 17.4 instructions an element in all, crossentropy.ts for the loss).
import { expNonPositiveP5F32x4 } from '../math/exp';
import { logLowLanesF64x2, logHighLanesF64x2, logPositiveF32x4 } from '../math/log';
import {
  addLanes, laneSum, laneMax, firstLanes, loadFirst, storeFirst, blockEnd, gatherColumn, scatterColumn, laneOffset, lo32, hi32, lo64, hi64, storeRows,
} from '../lanes';

// @ts-ignore: decorator
@inline
export function loadZ(p: usize, offset: usize, scaled: bool, tv: v128): v128 {
  let v = v128.load(p + offset);
  return scaled ? f32x4.div(v, tv) : v;
}

/** The k-value row tail at p as z (lanes.ts convention: first k lanes, zeros after). */
// @ts-ignore: decorator
@inline
export function loadZFirst(p: usize, k: i32, scaled: bool, tv: v128): v128 {
  let v = loadFirst(p, k);
  return scaled ? f32x4.div(v, tv) : v;
}

/** Row max of z skipping NaN (pmax(acc, x) keeps acc when x is NaN); -inf for an all-NaN row. */
// @ts-ignore: decorator
@inline
export function rowMax(p: usize, n: i32, scaled: bool, t: f32): f32 {
  let tv = f32x4.splat(t);
  let m0 = f32x4.splat(-Infinity);
  let m1 = m0;
  let m2 = m0;
  let m3 = m0;
  let i = 0;
  for (; i + 16 <= n; i += 16) {
    let q = p + (<usize>i << 2);
    m0 = f32x4.pmax(m0, loadZ(q, 0, scaled, tv));
    m1 = f32x4.pmax(m1, loadZ(q, 16, scaled, tv));
    m2 = f32x4.pmax(m2, loadZ(q, 32, scaled, tv));
    m3 = f32x4.pmax(m3, loadZ(q, 48, scaled, tv));
  }
  for (; i + 4 <= n; i += 4) m0 = f32x4.pmax(m0, loadZ(p + (<usize>i << 2), 0, scaled, tv));
  if (i < n) {
    let k = n - i;
    m1 = f32x4.pmax(m1, v128.bitselect(loadZFirst(p + (<usize>i << 2), k, scaled, tv), f32x4.splat(-Infinity), firstLanes(k)));
  }
  return laneMax(f32x4.pmax(f32x4.pmax(m0, m1), f32x4.pmax(m2, m3)));
}

/** Four vectors to d .. d + 63. */
// @ts-ignore: decorator
@inline
function store4(d: usize, v0: v128, v1: v128, v2: v128, v3: v128): void {
  v128.store(d, v0);
  v128.store(d, v1, 16);
  v128.store(d, v2, 32);
  v128.store(d, v3, 48);
}

/**
 * Σ exp(z − m) over a row, in f64; with storeExp, each exp(z − m) is also written to dst; with
 * storeShifted, each z − m (the f32 difference the exp is taken of).
 */
// @ts-ignore: decorator
@inline
export function expSumRow(p: usize, dst: usize, n: i32, m: f32, storeExp: bool, scaled: bool, t: f32, storeShifted: bool = false): f64 {
  let tv = f32x4.splat(t);
  let mv = f32x4.splat(m);
  let total = f64x2.splat(0.0);
  let i = 0;
  while (n - i >= 16) {
    let end = blockEnd(i, n, 16);
    let a0 = f32x4.splat(0.0);
    let a1 = a0;
    for (; i < end; i += 16) {
      let off = <usize>i << 2;
      let q = p + off;
      let d0 = f32x4.sub(loadZ(q, 0, scaled, tv), mv);
      let d1 = f32x4.sub(loadZ(q, 16, scaled, tv), mv);
      let d2 = f32x4.sub(loadZ(q, 32, scaled, tv), mv);
      let d3 = f32x4.sub(loadZ(q, 48, scaled, tv), mv);
      if (storeShifted) store4(dst + off, d0, d1, d2, d3);
      let e0 = expNonPositiveP5F32x4(d0);
      let e1 = expNonPositiveP5F32x4(d1);
      let e2 = expNonPositiveP5F32x4(d2);
      let e3 = expNonPositiveP5F32x4(d3);
      if (storeExp) store4(dst + off, e0, e1, e2, e3);
      a0 = f32x4.add(f32x4.add(a0, e0), e2);
      a1 = f32x4.add(f32x4.add(a1, e1), e3);
    }
    total = addLanes(total, f32x4.add(a0, a1));
  }
  let a = f32x4.splat(0.0);
  for (; i + 4 <= n; i += 4) {
    let off = <usize>i << 2;
    let d = f32x4.sub(loadZ(p + off, 0, scaled, tv), mv);
    if (storeShifted) v128.store(dst + off, d);
    let e = expNonPositiveP5F32x4(d);
    if (storeExp) v128.store(dst + off, e);
    a = f32x4.add(a, e);
  }
  if (i < n) {
    let off = <usize>i << 2;
    let k = n - i;
    let d = f32x4.sub(loadZFirst(p + off, k, scaled, tv), mv);
    if (storeShifted) storeFirst(dst + off, d, k);
    let e = v128.and(expNonPositiveP5F32x4(d), firstLanes(k));
    if (storeExp) storeFirst(dst + off, e, k);
    a = f32x4.add(a, e);
  }
  return laneSum(addLanes(total, a));
}

/**
 * dst[i] *= v, or dst[i] -= v with `sub` (a constant): the last, in-place pass over the row
 * the exp pass has just written (still in L1).
 */
// @ts-ignore: decorator
@inline
export function mapRow(dst: usize, n: i32, v: f32, sub: bool): void {
  let sv = f32x4.splat(v);
  let i = 0;
  for (; i + 16 <= n; i += 16) {
    let q = dst + (<usize>i << 2);
    v128.store(q, sub ? f32x4.sub(v128.load(q), sv) : f32x4.mul(v128.load(q), sv));
    v128.store(q, sub ? f32x4.sub(v128.load(q, 16), sv) : f32x4.mul(v128.load(q, 16), sv), 16);
    v128.store(q, sub ? f32x4.sub(v128.load(q, 32), sv) : f32x4.mul(v128.load(q, 32), sv), 32);
    v128.store(q, sub ? f32x4.sub(v128.load(q, 48), sv) : f32x4.mul(v128.load(q, 48), sv), 48);
  }
  for (; i + 4 <= n; i += 4) {
    let q = dst + (<usize>i << 2);
    v128.store(q, sub ? f32x4.sub(v128.load(q), sv) : f32x4.mul(v128.load(q), sv));
  }
  if (i < n) {
    let q = dst + (<usize>i << 2);
    let x = loadFirst(q, n - i);
    storeFirst(q, sub ? f32x4.sub(x, sv) : f32x4.mul(x, sv), n - i);
  }
}

// ---- four short rows, one per lane -----------------------------------------------------------
// Lane k holds row r + k of the group at p; `left` rows remain from r, so lanes past the
// batch repeat row r (lanes.ts laneOffset). The helpers take (left, stride) rather than the
// three offsets so that every caller's group set-up is one line; inlined, the offsets are
// computed once per group, outside the column loops.

/** Lane k = max over row k of z, columns in order, NaN skipped. */
// @ts-ignore: decorator
@inline
export function columnMax(p: usize, left: i32, stride: usize, classes: i32, scaled: bool, tv: v128): v128 {
  let o1 = laneOffset(1, left, stride);
  let o2 = laneOffset(2, left, stride);
  let o3 = laneOffset(3, left, stride);
  let m = f32x4.splat(-Infinity);
  for (let j = 0; j < classes; j++) {
    let z = gatherColumn(p + (<usize>j << 2), o1, o2, o3);
    m = f32x4.pmax(m, scaled ? f32x4.div(z, tv) : z);
  }
  return m;
}

// What columnExpSum sums beside Σ e, per lane, with d = z − m and e = exp(d) (compile-time
// constants: the unused forms fold away). The loss family's smoothing term and the entropy's
// Σ e·d come from the same column pass as Σ e.
// @ts-ignore: decorator
@inline export const SECOND_NONE: i32 = 0;
/** Σ d */
// @ts-ignore: decorator
@inline export const SECOND_D: i32 = 1;
/** Σ w_c·d (w the f32 class weights at weightPtr) */
// @ts-ignore: decorator
@inline export const SECOND_WD: i32 = 2;
/** Σ e·max(d, −FLT_MAX) (0·log 0 = 0 for the entropy) */
// @ts-ignore: decorator
@inline export const SECOND_ED: i32 = 3;

/**
 * The second sum of the last columnExpSum with a `second` form: a module global rather than
 * a second return value (AssemblyScript has none); written once per group, after the loop.
 */
export let columnSecond: v128 = i32x4(0, 0, 0, 0);

/** b plus column j's term of the `second` form (d, e of that column; w = the address of w_j). */
// @ts-ignore: decorator
@inline
function addSecond(b: v128, second: i32, secondOn: bool, d: v128, e: v128, w: usize): v128 {
  if (second == SECOND_ED) return f32x4.add(b, f32x4.mul(e, f32x4.pmax(d, f32x4.splat(-reinterpret<f32>(0x7F7FFFFF)))));
  if (second == SECOND_D && secondOn) return f32x4.add(b, d);
  if (second == SECOND_WD && secondOn) return f32x4.add(b, f32x4.mul(f32x4.splat(load<f32>(w)), d));
  return b;
}

/**
 * Lane k = Σ_j exp(z_kj − m_k), columns in order; with storeExp each exp goes to dst + o_k.
 * With a `second` form other than SECOND_NONE and secondOn, that sum goes to columnSecond
 * (accumulated in the same order, one f32 chain a lane).
 */
// @ts-ignore: decorator
@inline
export function columnExpSum(
  p: usize, dst: usize, left: i32, stride: usize, classes: i32, m: v128, storeExp: bool, scaled: bool, tv: v128,
  second: i32 = SECOND_NONE, secondOn: bool = false, weightPtr: usize = 0,
): v128 {
  let o1 = laneOffset(1, left, stride);
  let o2 = laneOffset(2, left, stride);
  let o3 = laneOffset(3, left, stride);
  let s = f32x4.splat(0.0);
  let b = s;
  for (let j = 0; j < classes; j++) {
    let off = <usize>j << 2;
    let z = gatherColumn(p + off, o1, o2, o3);
    let d = f32x4.sub(scaled ? f32x4.div(z, tv) : z, m);
    let e = expNonPositiveP5F32x4(d);
    if (storeExp) scatterColumn(dst + off, o1, o2, o3, e);
    s = f32x4.add(s, e);
    b = addSecond(b, second, secondOn, d, e, weightPtr + off);
  }
  if (second != SECOND_NONE) columnSecond = b;
  return s;
}

// Whole groups of four rows with at least four classes load each row's next four values as
// one vector and transpose the 4×4 block instead of gathering lane by lane (measured:
// 1,000,000×10 softmax 1.4x, logsumexp 1.3x). The arithmetic per element and the order of
// every max and sum are those of columnMax / columnExpSum. The last, overlapping block
// (columns classes − 4 .. classes − 1) only uses its columns not covered before.

/**
 * m, raised by the columns of one 4×4 block of four rows at q + k·stride, in column order;
 * `rest` < 4: only the last `rest` columns (the overlapping tail block).
 */
// @ts-ignore: decorator
@inline
function blockMax(m: v128, q: usize, stride: usize, rest: i32, scaled: bool, tv: v128): v128 {
  let r0 = loadZ(q, 0, scaled, tv);
  let r1 = loadZ(q + stride, 0, scaled, tv);
  let r2 = loadZ(q + (stride << 1), 0, scaled, tv);
  let r3 = loadZ(q + stride * 3, 0, scaled, tv);
  let t0 = lo32(r0, r1);
  let t1 = hi32(r0, r1);
  let t2 = lo32(r2, r3);
  let t3 = hi32(r2, r3);
  if (rest == 4) m = f32x4.pmax(m, lo64(t0, t2));
  if (rest >= 3) m = f32x4.pmax(m, hi64(t0, t2));
  if (rest >= 2) m = f32x4.pmax(m, lo64(t1, t3));
  return f32x4.pmax(m, hi64(t1, t3));
}

/** As columnMax for a whole group (rows at p + k·stride, classes ≥ 4), transposed. */
// @ts-ignore: decorator
@inline
export function groupMax(p: usize, stride: usize, classes: i32, scaled: bool, tv: v128): v128 {
  let m = f32x4.splat(-Infinity);
  let j = 0;
  for (; j + 4 <= classes; j += 4) m = blockMax(m, p + (<usize>j << 2), stride, 4, scaled, tv);
  if (j < classes) m = blockMax(m, p + (<usize>(classes - 4) << 2), stride, classes - j, scaled, tv);
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
export function groupMaxRowwise(p: usize, stride: usize, classes: i32, scaled: bool, tv: v128): v128 {
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

/**
 * Column k (a constant) of the 4×4 block of four rows at q + i·stride, as z. Each call loads
 * and transposes the whole block; inlined side by side, the optimiser (binaryen's local CSE)
 * keeps one load and one shuffle of each kind, so the four columns cost what one block does.
 */
// @ts-ignore: decorator
@inline
function blockColumn(q: usize, stride: usize, k: i32, scaled: bool, tv: v128): v128 {
  let r0 = loadZ(q, 0, scaled, tv);
  let r1 = loadZ(q + stride, 0, scaled, tv);
  let r2 = loadZ(q + (stride << 1), 0, scaled, tv);
  let r3 = loadZ(q + stride * 3, 0, scaled, tv);
  if (k == 0) return lo64(lo32(r0, r1), lo32(r2, r3));
  if (k == 1) return hi64(lo32(r0, r1), lo32(r2, r3));
  if (k == 2) return lo64(hi32(r0, r1), hi32(r2, r3));
  return hi64(hi32(r0, r1), hi32(r2, r3));
}

/**
 * As columnExpSum for a whole group (classes ≥ 4), transposed; every store is a whole vector.
 * With storeExp each exp goes to dst (row layout), with storeShifted each d = z − m instead;
 * the `second` forms and columnSecond are columnExpSum's, summed in the same column order.
 */
// @ts-ignore: decorator
@inline
export function groupExpSum(
  p: usize, dst: usize, stride: usize, classes: i32, m: v128, storeExp: bool, scaled: bool, tv: v128,
  second: i32 = SECOND_NONE, secondOn: bool = false, weightPtr: usize = 0, storeShifted: bool = false,
): v128 {
  let s = f32x4.splat(0.0);
  let b = s;
  // The last whole block's stored values: the overlapping tail block stores them again, so
  // that every store is a whole vector (partial-lane stores followed by the scale pass's
  // whole-vector loads defeat store-to-load forwarding: measured 1.5x slower on 5 classes).
  let last1 = s;
  let last2 = s;
  let last3 = s;
  let j = 0;
  for (; j + 4 <= classes; j += 4) {
    let off = <usize>j << 2;
    let q = p + off;
    let d0 = f32x4.sub(blockColumn(q, stride, 0, scaled, tv), m);
    let d1 = f32x4.sub(blockColumn(q, stride, 1, scaled, tv), m);
    let d2 = f32x4.sub(blockColumn(q, stride, 2, scaled, tv), m);
    let d3 = f32x4.sub(blockColumn(q, stride, 3, scaled, tv), m);
    // Stored before the exps, so that the d's need not stay live across them (registers).
    if (storeShifted) {
      storeRows(dst + off, stride, d0, d1, d2, d3);
      last1 = d1;
      last2 = d2;
      last3 = d3;
    }
    let e0 = expNonPositiveP5F32x4(d0);
    let e1 = expNonPositiveP5F32x4(d1);
    let e2 = expNonPositiveP5F32x4(d2);
    let e3 = expNonPositiveP5F32x4(d3);
    s = f32x4.add(f32x4.add(f32x4.add(f32x4.add(s, e0), e1), e2), e3);
    if (second != SECOND_NONE) {
      b = addSecond(b, second, secondOn, d0, e0, weightPtr + off);
      b = addSecond(b, second, secondOn, d1, e1, weightPtr + off + 4);
      b = addSecond(b, second, secondOn, d2, e2, weightPtr + off + 8);
      b = addSecond(b, second, secondOn, d3, e3, weightPtr + off + 12);
    }
    if (storeExp) {
      storeRows(dst + off, stride, e0, e1, e2, e3);
      last1 = e1;
      last2 = e2;
      last3 = e3;
    }
  }
  let rest = classes - j;
  if (rest > 0) {
    // The overlapping block (columns classes − 4 .. classes − 1): only its last `rest` columns are new.
    // The block is loaded and transposed once, before the branches (see blockColumn); in place
    // (dst == p) the columns it reads are the new ones, not yet overwritten.
    let off = <usize>(classes - 4) << 2;
    let d1 = f32x4.sub(blockColumn(p + off, stride, 1, scaled, tv), m);
    let d2 = f32x4.sub(blockColumn(p + off, stride, 2, scaled, tv), m);
    let d3 = f32x4.sub(blockColumn(p + off, stride, 3, scaled, tv), m);
    let zero = f32x4.splat(0.0);
    let e1 = zero;
    let e2 = zero;
    if (rest == 3) {
      e1 = expNonPositiveP5F32x4(d1);
      s = f32x4.add(s, e1);
    }
    if (rest >= 2) {
      e2 = expNonPositiveP5F32x4(d2);
      s = f32x4.add(s, e2);
    }
    let e3 = expNonPositiveP5F32x4(d3);
    s = f32x4.add(s, e3);
    if (second != SECOND_NONE) {
      if (rest == 3) b = addSecond(b, second, secondOn, d1, e1, weightPtr + off + 4);
      if (rest >= 2) b = addSecond(b, second, secondOn, d2, e2, weightPtr + off + 8);
      b = addSecond(b, second, secondOn, d3, e3, weightPtr + off + 12);
    }
    if (storeExp || storeShifted) {
      // Columns already covered keep their values: f0..f(3-rest) come from the last block.
      let n1 = storeShifted ? d1 : e1;
      let n2 = storeShifted ? d2 : e2;
      let f0 = rest == 1 ? last1 : rest == 2 ? last2 : last3;
      let f1 = rest == 1 ? last2 : rest == 2 ? last3 : n1;
      let f2 = rest == 1 ? last3 : n2;
      storeRows(dst + off, stride, f0, f1, f2, storeShifted ? d3 : e3);
    }
  }
  if (second != SECOND_NONE) columnSecond = b;
  return s;
}

/** Lane k = max over row k of z (column order, NaN skipped): groupMax for whole groups. */
// @ts-ignore: decorator
@inline
export function fourRowsMax(p: usize, left: i32, stride: usize, classes: i32): v128 {
  let one = f32x4.splat(1.0);
  return left >= 4 && classes >= 4 ? groupMax(p, stride, classes, false, one) : columnMax(p, left, stride, classes, false, one);
}

/**
 * columnExpSum (no stores) with its `second` form, transposed (groupExpSum) for whole groups:
 * the same sums in the same order either way, so a row's bits do not depend on its group.
 */
// @ts-ignore: decorator
@inline
export function fourRowsExpSum(p: usize, left: i32, stride: usize, classes: i32, m: v128, second: i32, secondOn: bool, weightPtr: usize): v128 {
  let one = f32x4.splat(1.0);
  return left >= 4 && classes >= 4
    ? groupExpSum(p, 0, stride, classes, m, false, false, one, second, secondOn, weightPtr)
    : columnExpSum(p, 0, left, stride, classes, m, false, false, one, second, secondOn, weightPtr);
}

/**
 * log of lanes 0, 1 (f64x2) of four row sums (math/log.ts, ≈ 1e-15 relative); rowLogsHigh
 * lanes 2, 3. The logs themselves stay out of line on purpose, like softmax's rowGroupLogs:
 * inlined, V8 hoists the log's constants out of the group loop and they crowd the exp loop's
 * registers. (Only these inlined wrappers are exported: an exported function taking v128 is
 * an ABI warning in AssemblyScript even when no entry re-exports it.)
 */
// @ts-ignore: decorator
@inline
export function rowLogsLow(s: v128): v128 {
  return logsLow(s);
}

// @ts-ignore: decorator
@inline
export function rowLogsHigh(s: v128): v128 {
  return logsHigh(s);
}

function logsLow(s: v128): v128 {
  return logLowLanesF64x2(s);
}

function logsHigh(s: v128): v128 {
  return logHighLanesF64x2(s);
}

/**
 * f32 log of four row sums (math/log.ts logPositiveF32x4: ≤ 0.86 ulp, one f32x4 chain for the
 * four rows), for the kernels whose per-row result is f32 (log_softmax, cross-entropy 'none').
 * Inlined: its constants are loads from a table where they are used, so V8 does not hoist
 * them out of the row-group loop (what kept the f64 logs above out of line).
 */
// @ts-ignore: decorator
@inline
export function rowLogsF32(s: v128): v128 {
  return logPositiveF32x4(s);
}

// z = x / T, shared by softmax.ts (a scaled copy before the short-row passes) and fit.ts (a long
// row's work row), so both divide with the same bits.

/** f32(T) is finite and normal, so z = x / f32(T) can run in f32. */
// @ts-ignore: decorator
@inline
export function temperatureFitsF32(temperature: f64): bool {
  let t = <f32>temperature;
  return t < Infinity && t >= reinterpret<f32>(0x00800000); // FLT_MIN
}

/** out = x / T elementwise (f32 division, or f64 when f32(T) is not a normal float). */
export function divideByTemperature(xPtr: usize, n: usize, temperature: f64, outPtr: usize): void {
  if (temperatureFitsF32(temperature)) {
    let t = <f32>temperature;
    let tv = f32x4.splat(t);
    let i: usize = 0;
    for (; i + 4 <= n; i += 4) v128.store(outPtr + (i << 2), f32x4.div(v128.load(xPtr + (i << 2)), tv));
    if (i < n) storeFirst(outPtr + (i << 2), f32x4.div(loadFirst(xPtr + (i << 2), <i32>(n - i)), tv), <i32>(n - i));
  } else {
    for (let i: usize = 0; i < n; i++) {
      store<f32>(outPtr + (i << 2), <f32>(<f64>load<f32>(xPtr + (i << 2)) / temperature));
    }
  }
}
