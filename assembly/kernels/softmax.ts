// logsumexp, softmax and log_softmax along each row of a row-major float32 [rows, classes]
// batch, with temperature (SEMANTICS.md §1, §2).
//
// Algorithm (XNNPACK's three-pass shape): pass 1 takes the row max m with a compare-select
// max (f32x4.pmax, which V8 lowers to one maxps; the IEEE f32x4.max is a long sequence);
// pass 2 computes e = exp(z - m) with the degree-5 vector exp of math/exp.ts
// (expNonPositiveP5F32x4: ≤ 2.4 ulp, two operations a vector fewer than the ≤ 1.2 ulp exp;
// measured 7-15% faster, and invisible in the errors below) and sums it, storing e (softmax)
// or z - m (log_softmax) in the same pass; pass 3 runs in place on that row: scales by 1/s
// (softmax) or subtracts log s (log_softmax). Partial short-row groups (fewer than four rows
// left, or C < 4) write (z - m) - log s from z lane by lane instead; the bits are the same.
// The max deliberately skips NaN: a NaN anywhere makes exp(NaN - m) = NaN, which poisons
// s and so every output, exactly as the spec's NaN-propagating max would; +inf and
// all -inf rows give inf - inf = NaN the same way (no masking, as PyTorch).
// Sums: two f32x4 accumulators over blocks of SUM_BLOCK elements (each lane adds at most
// SUM_BLOCK/8 terms), each block added into an f64x2 total; log and 1/s are taken in f64,
// except on short rows: there log_softmax takes the four rows' log s as one f32x4 log
// (math/log.ts logPositiveF32x4, ≤ 0.86 ulp of log s, s ∈ [1, C]) and softmax 1/s as one f32x4
// division; logsumexp keeps f32(log(f64 s) + m), two f64x2 logs a group.
// The exp loop is unrolled by four vectors into two accumulators (measured against two and
// three vectors, and four accumulators, which spill: four vectors/two accumulators is 3-10%
// ahead on 4096×1000).
// Rows of at most SHORT_ROW_MAX_CLASSES (32) classes go four rows at a time, one row per
// lane. Whole groups with ≥ 4 classes load four values of each row and transpose 4×4 blocks
// with shuffles; every store is a whole vector (measured: 1,000,000×10 softmax 1.4x, logsumexp
// 1.3x the lane-by-lane gather it replaced, which partial groups and C < 4 still use).
// Whole groups are software-pipelined: group g's max and Σ exp run before group g − 1's 1/s or
// log s and its last pass, so that the chain max → Σ exp → log s (a 28-operation f32x4 log and a
// division) → stores of one group overlaps the next group's loads and exps. One group at a time,
// the relaxed build (whose exp is shorter with FMA) waited on that chain at 10 classes: log_softmax
// ran at 0.76 of softmax on 1,000,000×10 (Node 22). Pipelined, the raw kernels gained, in the best of
// 11 interleaved rounds (bench/micro/ab.js, CPU clock, Node 22, relaxed build, AMD EPYC Zen 5):
// 1,000,000×10 softmax 1.17×, log_softmax 1.20×, logsumexp 1.13×; 100,000×20 1.01× / 1.07× / 1.17×;
// 4096×32 1.03× / 1.07× / 1.11×; the SIMD128 build on Node 20 1.01× / 1.10× / 1.15× at 1,000,000×10.
// Same operations per row, so the same bits (bench/micro/same.js, both builds).
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
// Measured with the f32 log on short rows (bench/micro/short-row-accuracy.js, widths 1..32,
// N(0, 1) and N(0, 4²) rows, 4096 a width): log_softmax's worst error is 0.077 of its bound
// (0.086 with a 1e4 offset), as with the f64 log; the log's ≤ 0.86 ulp of log s ≤ 2.1e-7 does
// not reach the worst element (rows of C equal logits: test/spec-short-row-logs.test.ts).
// Cost (callgrind, Node 20, whole call; bench/limits.md): short rows 4096 × 10 softmax 17.4
// instructions an element, log_softmax 18.7 (21.8 with the two f64x2 logs a group: issue 23);
// long rows ≈ 14 (V8 12.4's code for log_softmax: max loop 38, exp-and-sum 139, last pass 48
// instructions per 16 elements), the exp 21 SIMD operations a vector (13 with FMA).
// The max and Σ exp(z - m) passes are the row reducer of ./rows.ts (shared with the loss
// family); row tails and short-row columns follow the conventions of ../lanes.ts.
import { expNonPositiveP5F32x4, expNonPositiveP5F32 } from '../math/exp';
import { logPlusShiftF32x4 } from '../math/log';
import { SHORT_ROW_MAX_CLASSES, firstLanes, loadFirst, storeFirst, laneOffset, gatherColumn, scatterColumn, broadcastLane, laneMax } from '../lanes';
import { loadZ, rowMax, expSumRow, mapRow, columnMax, columnExpSum, groupMax, groupMaxRowwise, groupExpSum, rowLogsF32, SECOND_NONE, temperatureFitsF32, divideByTemperature } from './rows';

// ---- per-row passes (the max, Σ exp(z − m) and the last in-place pass are the row reducer's, ./rows)

// ---- four rows at a time, one per lane (short rows; lanes.ts: columns) -----------------

/**
 * f32(log(s) + shift) for four row sums, for logsumexp (log_softmax takes rows.ts rowLogsF32).
 * Kept out of line on purpose: inlined, V8 hoists the log's constants out of the row-group
 * loop and they crowd the exp loop's registers (measured: log_softmax on 1,000,000×10 ran at
 * 260 instead of 440 Melem/s when it used this log).
 */
function rowGroupLogs(s: v128, shift: v128): v128 {
  return logPlusShiftF32x4(s, shift);
}


/**
 * dst[i] *= v (or -= v with `sub`, a constant) for one row of a whole group (n >= 4) with
 * whole-vector stores only: the last vector (loaded before anything is stored) overlaps the
 * one before it and rewrites its lanes with the same results.
 */
// @ts-ignore: decorator
@inline
function mapGroupRow(q: usize, n: i32, v: v128, sub: bool): void {
  let tailAt = q + (<usize>(n - 4) << 2);
  let tail = sub ? f32x4.sub(v128.load(tailAt), v) : f32x4.mul(v128.load(tailAt), v);
  let j = 0;
  for (; j + 4 <= n; j += 4) {
    let a = q + (<usize>j << 2);
    v128.store(a, sub ? f32x4.sub(v128.load(a), v) : f32x4.mul(v128.load(a), v));
  }
  if (j < n) v128.store(tailAt, tail);
}

/**
 * The last pass of a whole group whose sums are s: scales its four stored rows by 1/s (softmax) or
 * subtracts log s from their stored z − m (log_softmax).
 */
// @ts-ignore: decorator
@inline
function finishGroup(o: usize, stride: usize, classes: i32, s: v128, log: bool): void {
  let v = log ? rowLogsF32(s) : f32x4.div(f32x4.splat(1.0), s);
  mapGroupRow(o, classes, broadcastLane(v, 0), log);
  mapGroupRow(o + stride, classes, broadcastLane(v, 1), log);
  mapGroupRow(o + (stride << 1), classes, broadcastLane(v, 2), log);
  mapGroupRow(o + stride * 3, classes, broadcastLane(v, 3), log);
}

// @ts-ignore: decorator
@inline
function softmaxAcrossRows(xPtr: usize, rows: i32, classes: i32, outPtr: usize, log: bool): i32 {
  let stride = <usize>classes << 2;
  let tv = f32x4.splat(1.0);
  // Whole groups (four rows, ≥ 4 classes), software-pipelined: group g's max and exp pass run
  // before group g − 1's log (or 1/s) and last pass, so the two dependency chains (max → Σ exp →
  // log s → the stores) of neighbouring groups overlap; one group at a time left the core waiting
  // on the log's chain at 10 classes. Each row gets the same operations, so the same bits.
  let whole = classes >= 4 ? rows & ~3 : 0;
  let sPrev = f32x4.splat(1.0);
  // one pass past the last group, which only ends it (one inlined copy of the end instead of two)
  for (let r = 0; r <= whole; r += 4) {
    let base = <usize>r * stride;
    let s = sPrev;
    if (r < whole) {
      let p = xPtr + base;
      let m = groupMax(p, stride, classes, false, tv);
      // log_softmax: the exp pass stores d = z − m (whole vectors, transposed back) and the
      // last pass subtracts log s in place, as softmax scales its stored exps: the same two f32
      // operations as (z − m) − log s from z, so the same bits, without the partial-lane tail
      // loads and stores of a per-row pass over z (1,000,000×10 ran at 63% of softmax).
      s = groupExpSum(p, outPtr + base, stride, classes, m, !log, false, tv, SECOND_NONE, false, 0, log);
    }
    if (r > 0) finishGroup(outPtr + base - (stride << 2), stride, classes, sPrev, log);
    sPrev = s;
  }
  for (let r = whole; r < rows; r += 4) {
    let left = rows - r;
    let base = <usize>r * stride;
    let p = xPtr + base;
    let o = outPtr + base;
    let m = columnMax(p, left, stride, classes, false, tv);
    let s = columnExpSum(p, o, left, stride, classes, m, !log, false, tv);
    let o1 = laneOffset(1, left, stride);
    let o2 = laneOffset(2, left, stride);
    let o3 = laneOffset(3, left, stride);
    if (log) {
      let logS = rowLogsF32(s);
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
  for (; i + 4 <= n; i += 4) {
    let off = <usize>i << 2;
    let z = f32x4.div(v128.load(p + off), tv);
    v128.store(dst + off, z);
    m0 = f32x4.pmax(m0, z);
  }
  if (i < n) {
    let off = <usize>i << 2;
    let k = n - i;
    let z = f32x4.div(loadFirst(p + off, k), tv);
    storeFirst(dst + off, z, k);
    m1 = f32x4.pmax(m1, v128.bitselect(z, f32x4.splat(-Infinity), firstLanes(k)));
  }
  return laneMax(f32x4.pmax(m0, m1));
}

// ---- softmax / log_softmax ------------------------------------------------------------

// @ts-ignore: decorator
@inline
function softmaxRows(xPtr: usize, rows: i32, classes: i32, temperature: f64, outPtr: usize, log: bool): void {
  // Per-row path with an f32 temperature: pass 1 divides, stores z into out and takes the
  // max in one go (saves a pass, ~10-15%). Otherwise z = x / T goes into out first and
  // everything below runs on z in place.
  let fuse = temperature != 1.0 && temperatureFitsF32(temperature) && classes > SHORT_ROW_MAX_CLASSES;
  if (temperature != 1.0 && !fuse) {
    divideByTemperature(xPtr, <usize>rows * <usize>classes, temperature, outPtr);
    xPtr = outPtr;
  }
  let r = 0;
  if (classes <= SHORT_ROW_MAX_CLASSES) r = softmaxAcrossRows(xPtr, rows, classes, outPtr, log);
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
      // The exp pass writes d = z − m (the f32 difference the exp is taken of) and the
      // last pass subtracts log s in place: the output row is written while the exps keep the
      // core busy, and the last pass runs on L1, as softmax's scale does (reading x again and
      // writing a fresh row there was 1.1-1.2x slower on 4096×1000, Node 22).
      let s = expSumRow(p, o, classes, m, false, false, 1.0, true);
      mapRow(o, classes, <f32>Math.log(s), true);
    } else {
      let s = expSumRow(p, o, classes, m, true, false, 1.0);
      mapRow(o, classes, <f32>(1.0 / s), false);
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
    s += <f64>expNonPositiveP5F32(z - shift);
  }
  return <f32>(Math.log(s) + <f64>shift);
}

function lseAcrossRows(xPtr: usize, rows: i32, classes: i32, outPtr: usize, scaled: bool, t: f32): i32 {
  let stride = <usize>classes << 2;
  let tv = f32x4.splat(t);
  // Whole groups software-pipelined as in softmaxAcrossRows: group g's max and Σ exp run before
  // group g − 1's log, so their dependency chains overlap.
  let whole = classes >= 4 ? rows & ~3 : 0;
  let mPrev = f32x4.splat(0), sPrev = f32x4.splat(1);
  // one pass past the last group, which only ends it
  for (let r = 0; r <= whole; r += 4) {
    let m = mPrev, s = sPrev;
    if (r < whole) {
      let p = xPtr + <usize>r * stride;
      m = groupMaxRowwise(p, stride, classes, scaled, tv);
      s = groupExpSum(p, 0, stride, classes, lseShift(m), false, scaled, tv);
    }
    if (r > 0) lseGroupEnd(xPtr, r - 4, 4, stride, classes, outPtr, scaled, t, mPrev, sPrev);
    mPrev = m;
    sPrev = s;
  }
  for (let r = whole; r < rows; r += 4) {
    let left = rows - r;
    let p = xPtr + <usize>r * stride;
    let m = columnMax(p, left, stride, classes, scaled, tv);
    let s = columnExpSum(p, 0, left, stride, classes, lseShift(m), false, scaled, tv);
    lseGroupEnd(xPtr, r, left, stride, classes, outPtr, scaled, t, m, s);
  }
  return rows;
}

/** The shift of Σ exp(z − shift): m, except 0 where m is ±inf (abs(m) == inf). */
// @ts-ignore: decorator
@inline
function lseShift(m: v128): v128 {
  return v128.andnot(m, f32x4.eq(f32x4.abs(m), f32x4.splat(Infinity)));
}

/** Stores the logsumexp of rows r .. r + min(4, left) − 1 from their max m and Σ exp(z − lseShift(m)). */
// @ts-ignore: decorator
@inline
function lseGroupEnd(xPtr: usize, r: i32, left: i32, stride: usize, classes: i32, outPtr: usize, scaled: bool, t: f32, m: v128, s: v128): void {
  let lse = rowGroupLogs(s, lseShift(m));
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
    let p = xPtr + <usize>r * stride;
    for (let k = 0; k < min(4, left); k++) {
      let q = p + <usize>k * stride;
      if (rowMax(q, classes, scaled, t) == Infinity) store<f32>(outPtr + (<usize>(r + k) << 2), lseOfInfiniteRow(q, classes));
    }
  }
}

/** out[r] = log Σ_j exp(x[r, j] / T) (torch.logsumexp semantics). */
export function logsumexp(xPtr: usize, rows: i32, classes: i32, temperature: f64, outPtr: usize): void {
  let stride = <usize>classes << 2;
  let r = 0;
  if (temperature == 1.0) {
    if (classes <= SHORT_ROW_MAX_CLASSES) r = lseAcrossRows(xPtr, rows, classes, outPtr, false, 1.0);
    for (; r < rows; r++) store<f32>(outPtr + (<usize>r << 2), lseRow(xPtr + <usize>r * stride, classes, false, 1.0));
  } else if (temperatureFitsF32(temperature)) {
    let t = <f32>temperature;
    if (classes <= SHORT_ROW_MAX_CLASSES) r = lseAcrossRows(xPtr, rows, classes, outPtr, true, t);
    for (; r < rows; r++) store<f32>(outPtr + (<usize>r << 2), lseRow(xPtr + <usize>r * stride, classes, true, t));
  } else {
    for (; r < rows; r++) store<f32>(outPtr + (<usize>r << 2), lseRowWideTemperature(xPtr + <usize>r * stride, classes, temperature));
  }
}
