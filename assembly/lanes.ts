// The lanes library: the few vector idioms every kernel family shares, with one convention
// each, so that a row's arithmetic does not depend on which family (or which copy) runs it.
//
// Tails. A row of n float32 values is walked in whole vectors of four; its last k = n % 4
// values (k in 1..3) go in the FIRST k lanes of one more vector, zeros after (loadFirst):
// nothing is read or written past the row, every value goes through the same vector
// arithmetic as the others, and firstLanes(k) masks the unused lanes out of sums.
//
// Columns. Short rows go four at a time, one row per lane: lane k reads row r + k at byte
// offset o_k from row r (gatherColumn). In a last, partial group the missing lanes repeat
// row r (o_k = 0): they compute exactly what lane 0 computes and store the same values to the
// same places, so every row goes through identical arithmetic wherever the batch (or a thread
// split) puts it. Whole groups may load four values of each row and transpose 4×4 blocks
// (lo32/hi32/lo64/hi64: one unpck instruction each on x64) instead; the arithmetic per lane
// and its order are the same.
//
// Sums. Long sums accumulate f32x4 lanes over blocks of SUM_BLOCK values (each lane adds at
// most SUM_BLOCK/4 terms), each block flushed into an f64x2 total (addLanes), so 128k-wide
// rows do not drift; laneSum folds the total.
//
// NaN. Wasm leaves the sign and payload of an arithmetic NaN to the engine, and V8's tiers
// differ, so results that may be NaN are written as the canonical quiet NaN (0x7FC00000).

// @ts-ignore: decorator
@inline export const SUM_BLOCK: i32 = 256;

/**
 * Rows of at most this many classes go four at a time, one row per lane, in every row-wise
 * family (softmax, logsumexp, cross-entropy, entropy, KL). The limit is accuracy, not speed: a
 * lane sums its row in one f32 chain, whose worst case (C − 1)·u must stay inside the
 * SEMANTICS §11 constant terms (31u ≈ 1.85e-6 at 32 classes).
 */
// @ts-ignore: decorator
@inline export const SHORT_ROW_MAX_CLASSES: i32 = 32;

// ---- tails: the first k lanes ---------------------------------------------------------------

/** All-ones in lanes 0 .. k − 1 (k in 1..3). */
// @ts-ignore: decorator
@inline
export function firstLanes(k: i32): v128 {
  return i32x4.gt_s(i32x4.splat(k), i32x4(0, 1, 2, 3));
}

/** The k floats at p (k in 1..3) in lanes 0 .. k − 1, zeros after: never reads past the row. */
// @ts-ignore: decorator
@inline
export function loadFirst(p: usize, k: i32): v128 {
  let v = v128.load32_zero(p);
  if (k > 1) v = v128.load32_lane(p + 4, v, 1);
  if (k > 2) v = v128.load32_lane(p + 8, v, 2);
  return v;
}

/** Stores lanes 0 .. k − 1 of v (k in 1..3) to the k floats at p. */
// @ts-ignore: decorator
@inline
export function storeFirst(p: usize, v: v128, k: i32): void {
  v128.store32_lane(p, v, 0);
  if (k > 1) v128.store32_lane(p + 4, v, 1);
  if (k > 2) v128.store32_lane(p + 8, v, 2);
}

/** End of the block of whole vectors that starts at i (at most SUM_BLOCK values, step | 4). */
// @ts-ignore: decorator
@inline
export function blockEnd(i: i32, n: i32, step: i32): i32 {
  return i + (min(SUM_BLOCK, n - i) & ~(step - 1));
}

// ---- lane sums --------------------------------------------------------------------------------

/** total (f64x2) + the four f32 lanes of a, each widened exactly. */
// @ts-ignore: decorator
@inline
export function addLanes(total: v128, a: v128): v128 {
  total = f64x2.add(total, f64x2.promote_low_f32x4(a));
  return f64x2.add(total, f64x2.promote_low_f32x4(v128.shuffle<f32>(a, a, 2, 3, 0, 1)));
}

/** Lane 0 + lane 1 of an f64x2 total. */
// @ts-ignore: decorator
@inline
export function laneSum(total: v128): f64 {
  return f64x2.extract_lane(total, 0) + f64x2.extract_lane(total, 1);
}

/** Max of the four lanes (pmax: a NaN lane is skipped unless all are NaN). */
// @ts-ignore: decorator
@inline
export function laneMax(m: v128): f32 {
  m = f32x4.pmax(m, v128.shuffle<f32>(m, m, 2, 3, 0, 1));
  m = f32x4.pmax(m, v128.shuffle<f32>(m, m, 1, 0, 3, 2));
  return f32x4.extract_lane(m, 0);
}

/** Lane k of v in every lane. */
// @ts-ignore: decorator
@inline
export function broadcastLane(v: v128, k: i32): v128 {
  if (k == 0) return v128.shuffle<f32>(v, v, 0, 0, 0, 0);
  if (k == 1) return v128.shuffle<f32>(v, v, 1, 1, 1, 1);
  if (k == 2) return v128.shuffle<f32>(v, v, 2, 2, 2, 2);
  return v128.shuffle<f32>(v, v, 3, 3, 3, 3);
}

// ---- columns of four rows ----------------------------------------------------------------------

/** Byte offset of lane k's row from row r, where `left` rows remain: a missing row repeats row r. */
// @ts-ignore: decorator
@inline
export function laneOffset(k: i32, left: i32, stride: usize): usize {
  return left > k ? <usize>k * stride : 0;
}

/** Element j of the four rows at q, q + o1, q + o2, q + o3 (q points at row 0's element j). */
// @ts-ignore: decorator
@inline
export function gatherColumn(q: usize, o1: usize, o2: usize, o3: usize): v128 {
  let v = v128.load32_zero(q);
  v = v128.load32_lane(q + o1, v, 1);
  v = v128.load32_lane(q + o2, v, 2);
  return v128.load32_lane(q + o3, v, 3);
}

/** Lane k of v to q + o_k (the inverse of gatherColumn). */
// @ts-ignore: decorator
@inline
export function scatterColumn(q: usize, o1: usize, o2: usize, o3: usize, v: v128): void {
  v128.store32_lane(q, v, 0);
  v128.store32_lane(q + o1, v, 1);
  v128.store32_lane(q + o2, v, 2);
  v128.store32_lane(q + o3, v, 3);
}

// 4×4 transpose in two shuffle stages: rows r0..r3 → t0 = lo32(r0, r1), t1 = hi32(r0, r1),
// t2 = lo32(r2, r3), t3 = hi32(r2, r3) → columns lo64(t0, t2), hi64(t0, t2), lo64(t1, t3), hi64(t1, t3).
// @ts-ignore: decorator
@inline export function lo32(a: v128, b: v128): v128 { return v128.shuffle<f32>(a, b, 0, 4, 1, 5); }
// @ts-ignore: decorator
@inline export function hi32(a: v128, b: v128): v128 { return v128.shuffle<f32>(a, b, 2, 6, 3, 7); }
// @ts-ignore: decorator
@inline export function lo64(a: v128, b: v128): v128 { return v128.shuffle<f32>(a, b, 0, 1, 4, 5); }
// @ts-ignore: decorator
@inline export function hi64(a: v128, b: v128): v128 { return v128.shuffle<f32>(a, b, 2, 3, 6, 7); }

/** Store the transpose of columns e0..e3 as four row vectors at d + k·stride. */
// @ts-ignore: decorator
@inline
export function storeRows(d: usize, stride: usize, e0: v128, e1: v128, e2: v128, e3: v128): void {
  let t0 = lo32(e0, e1);
  let t1 = hi32(e0, e1);
  let t2 = lo32(e2, e3);
  let t3 = hi32(e2, e3);
  v128.store(d, lo64(t0, t2));
  v128.store(d + stride, hi64(t0, t2));
  v128.store(d + (stride << 1), lo64(t1, t3));
  v128.store(d + stride * 3, hi64(t1, t3));
}

// ---- canonical NaN -------------------------------------------------------------------------------

/** NaN lanes replaced by the canonical quiet NaN. */
// @ts-ignore: decorator
@inline
export function canonicalF32x4(v: v128): v128 {
  return v128.bitselect(v, f32x4.splat(<f32>NaN), f32x4.eq(v, v));
}

// @ts-ignore: decorator
@inline
export function canonicalF32(v: f32): f32 {
  return v == v ? v : <f32>NaN;
}

// @ts-ignore: decorator
@inline
export function canonicalF64(v: f64): f64 {
  return v == v ? v : NaN;
}


/** Lane k of an f32x4, k not a constant. */
// @ts-ignore: decorator
@inline
export function laneF32(v: v128, k: i32): f32 {
  if (k == 0) return f32x4.extract_lane(v, 0);
  if (k == 1) return f32x4.extract_lane(v, 1);
  if (k == 2) return f32x4.extract_lane(v, 2);
  return f32x4.extract_lane(v, 3);
}

/** Row of lane k relative to the group's first row, where `left` rows remain (see laneOffset). */
// @ts-ignore: decorator
@inline
export function laneRow(k: i32, left: i32): i32 {
  return left > k ? k : 0;
}

/** Lane k of an i32x4, k not a constant (lane moves keep every bit). */
// @ts-ignore: decorator
@inline
export function laneI32(v: v128, k: i32): i32 {
  return reinterpret<i32>(laneF32(v, k));
}

/** Lane k of four f64 values held as lanes 0, 1 of lo and lanes 0, 1 of hi. */
// @ts-ignore: decorator
@inline
export function laneF64(lo: v128, hi: v128, k: i32): f64 {
  let v = k < 2 ? lo : hi;
  return (k & 1) != 0 ? f64x2.extract_lane(v, 1) : f64x2.extract_lane(v, 0);
}
