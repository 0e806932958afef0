// Vector natural log in float64 (f64x2), for the per-row sums of the four-rows-per-lane
// softmax/logsumexp kernels, where four scalar Math.log calls per group of four rows cost
// as much as the exps of a 10-wide row.
//
// Algorithm: s = 2^k·m with m ∈ [√½, √2) (exponent and mantissa taken from the bits; k is
// turned into a double with the 2^52 magic-number trick, SIMD has no i64 → f64 convert);
// log m = 2·atanh(u), u = (m − 1)/(m + 1) ∈ [−0.172, 0.172], by the odd series to u^13
// (first omitted term < 3e-12 relative); log s = k·ln2 + log m. Error about 1e-15 relative,
// far below the float32 rounding that follows. Inputs are sums of exps: positive normal
// doubles, 0 (→ −inf) or NaN (→ NaN); +inf and negative inputs do not occur.

// @ts-ignore: decorator
@inline const LN2: f64 = 0.6931471805599453; // 0x3FE62E42FEFA39EF
// @ts-ignore: decorator
@inline const SQRT_HALF_BITS: i64 = 0x3FE6A09E667F3BCD; // √½

/** log(s) for s > 0 normal, 0 (→ -inf) or NaN, in each f64 lane. */
// @ts-ignore: decorator
@inline
export function logPositiveF64x2(s: v128): v128 {
  // Mantissa with exponent 0 ([1, 2)), then halved where it is ≥ √2 → m ∈ [√½, √2).
  let bits = s;
  let mBits = v128.or(v128.and(bits, i64x2.splat(0x000FFFFFFFFFFFFF)), i64x2.splat(0x3FF0000000000000));
  let big = i64x2.gt_s(mBits, i64x2.splat(SQRT_HALF_BITS + 0x0010000000000000)); // m ≥ √2
  // Subtracting 2^52 from the bits halves m (exponent − 1).
  mBits = i64x2.sub(mBits, v128.and(big, i64x2.splat(0x0010000000000000)));
  let m = mBits;
  // k = biased exponent − 1023 (+1 where m was halved), as a double: 2^52 + e − 2^52.
  let e = i64x2.sub(i64x2.shr_u(bits, 52), big); // big is −1 in those lanes
  let kd = f64x2.sub(
    v128.or(e, i64x2.splat(0x4330000000000000)),
    f64x2.splat(4503599627370496.0 + 1023.0),
  );
  let u = f64x2.div(f64x2.sub(m, f64x2.splat(1.0)), f64x2.add(m, f64x2.splat(1.0)));
  let u2 = f64x2.mul(u, u);
  let q = f64x2.splat(1.0 / 13.0);
  q = f64x2.add(f64x2.mul(q, u2), f64x2.splat(1.0 / 11.0));
  q = f64x2.add(f64x2.mul(q, u2), f64x2.splat(1.0 / 9.0));
  q = f64x2.add(f64x2.mul(q, u2), f64x2.splat(1.0 / 7.0));
  q = f64x2.add(f64x2.mul(q, u2), f64x2.splat(1.0 / 5.0));
  q = f64x2.add(f64x2.mul(q, u2), f64x2.splat(1.0 / 3.0));
  let twoU = f64x2.add(u, u);
  let logM = f64x2.add(f64x2.mul(f64x2.mul(twoU, u2), q), twoU);
  let r = f64x2.add(f64x2.mul(kd, f64x2.splat(LN2)), logM);
  r = v128.bitselect(f64x2.splat(-Infinity), r, f64x2.eq(s, f64x2.splat(0.0)));
  return v128.bitselect(s, r, f64x2.ne(s, s));
}

/**
 * Four lanes of f32(log(f64(s)) + f64(shift)) for float32 sums s and shifts: the same
 * rounding as the scalar per-row path (log in f64, one final rounding to f32).
 */
// @ts-ignore: decorator
@inline
export function logPlusShiftF32x4(s: v128, shift: v128): v128 {
  let lo = f64x2.add(logLowLanesF64x2(s), f64x2.promote_low_f32x4(shift));
  let shiftHi = v128.shuffle<f32>(shift, shift, 2, 3, 0, 1);
  let hi = f64x2.add(logHighLanesF64x2(s), f64x2.promote_low_f32x4(shiftHi));
  let loF = f32x4.demote_f64x2_zero(lo);
  let hiF = f32x4.demote_f64x2_zero(hi);
  return v128.shuffle<f32>(loF, hiF, 0, 1, 4, 5);
}

/** log of lanes 0, 1 of an f32x4 of sums (as logPositiveF64x2), in f64. */
// @ts-ignore: decorator
@inline
export function logLowLanesF64x2(s: v128): v128 {
  return logPositiveF64x2(f64x2.promote_low_f32x4(s));
}

/** log of lanes 2, 3 of an f32x4 of sums (as logPositiveF64x2), in f64. */
// @ts-ignore: decorator
@inline
export function logHighLanesF64x2(s: v128): v128 {
  return logPositiveF64x2(f64x2.promote_low_f32x4(v128.shuffle<f32>(s, s, 2, 3, 0, 1)));
}

// ---- float32 log, four lanes ---------------------------------------------------------------
// For the per-row log s of the four-rows-per-lane kernels whose result is float32 anyway
// (log_softmax, cross-entropy 'none'): one f32x4 chain of 28 operations for four rows, where
// f32(log(f64 s)) takes two f64x2 logs (two divisions), their conversions and an out-of-line
// call (bench/limits.md, issue 23).
//
// Algorithm: s = 2^k·m with m ∈ [√½, √2): k = (bits(s) − bits(√½)) >> 23 (arithmetic), and
// m = s·2^−k, a multiplication rather than a bit splice so that a NaN s stays NaN without a
// select. With f = m − 1 (exact: Sterbenz) and u = f/(2 + f) ∈ [−0.172, 0.172],
// log m = 2·atanh(u) = 2u + u·R(u²), R(z) = (2/3)z + (2/5)z² + (2/7)z³ + (2/9)z⁴ (Taylor
// coefficients; the first omitted term, (2/11)u^11, is below 2.2e-9 of 2u: 0.04 ulp), evaluated
// as log m = f − f²/2 + u·(f²/2 + R) (2u = f − u·f), so that the leading term f is exact and
// only the small correction carries the division's rounding. log s = k·ln2_hi + (log m +
// k·ln2_lo), ln2_hi with 15 significant bits so that k·ln2_hi is exact.
// Plain f32x4 multiplies and adds in both builds (no relaxed madd): the same bits in the simd128
// and relaxed builds, on every CPU.
// Domain: positive normal s below 2^126 (from 2^126·√2 on, 2^−k underflows), and NaN (→ NaN).
// 0, subnormals, +inf and negatives are not handled: the callers' sums are ≥ 1 (the max's own
// term is exp(0) = 1) or NaN.
// Measured accuracy (node bench/micro/log-accuracy.js, against Math.log, both builds alike): max
// 0.854 ulp over every float32 in [1, 64] (5.8% not correctly rounded; f32(log(f64 s)) is 0.5 ulp),
// max 0.800 ulp over every 64th float32 of [2^−126, 2^126); NaN → NaN, log 1 = 0 exactly.
// Cost: 28 SIMD operations and 10 constant loads for four logs (the f64x2 pair above: ≈ 176
// instructions a group of four rows in V8 12.4, spills and call included; bench/limits.md).

const LOG_TABLE: usize = memory.data<u32>([
  0x3F3504F3, 0x3F3504F3, 0x3F3504F3, 0x3F3504F3, //   0 i32 bits(√½)
  0x3F800000, 0x3F800000, 0x3F800000, 0x3F800000, //  16 1.0 (and i32 bits(1.0))
  0x40000000, 0x40000000, 0x40000000, 0x40000000, //  32 2.0
  0x3F000000, 0x3F000000, 0x3F000000, 0x3F000000, //  48 0.5
  0x3F2AAAAB, 0x3F2AAAAB, 0x3F2AAAAB, 0x3F2AAAAB, //  64 R1 = 2/3
  0x3ECCCCCD, 0x3ECCCCCD, 0x3ECCCCCD, 0x3ECCCCCD, //  80 R2 = 2/5
  0x3E924925, 0x3E924925, 0x3E924925, 0x3E924925, //  96 R3 = 2/7
  0x3E638E39, 0x3E638E39, 0x3E638E39, 0x3E638E39, // 112 R4 = 2/9
  0x3F317200, 0x3F317200, 0x3F317200, 0x3F317200, // 128 LN2_HI 0x1.62E4p-1 = 0.693145751953125
  0x35BFBE8E, 0x35BFBE8E, 0x35BFBE8E, 0x35BFBE8E, // 144 LN2_LO ≈ 1.42860677e-6
], 16);

/**
 * The four-lane constant at byte offset `at` of LOG_TABLE: a load, not f32x4.splat, for the
 * reason exp.ts gives (V8 13.6 rematerialises SIMD constants at each use; V8 12.4 hoists them
 * out of the row-group loop, where they would crowd the exp loop's registers).
 */
// @ts-ignore: decorator
@inline
function logConstant(at: usize): v128 {
  return v128.load(LOG_TABLE + at);
}

/** f32 log(s) in each lane, for s positive normal below 2^126 or NaN (see above). */
// @ts-ignore: decorator
@inline
export function logPositiveF32x4(s: v128): v128 {
  let one = logConstant(16);
  let k = i32x4.shr_s(i32x4.sub(s, logConstant(0)), 23);
  let kBits = i32x4.shl(k, 23);
  let m = f32x4.mul(s, i32x4.sub(one, kBits)); // s·2^−k: exact, and NaN stays NaN
  let f = f32x4.sub(m, one);
  let u = f32x4.div(f, f32x4.add(f, logConstant(32)));
  let z = f32x4.mul(u, u);
  let w = f32x4.mul(z, z);
  let r = f32x4.add(
    f32x4.mul(z, f32x4.add(logConstant(64), f32x4.mul(w, logConstant(96)))),
    f32x4.mul(w, f32x4.add(logConstant(80), f32x4.mul(w, logConstant(112)))),
  );
  let hfsq = f32x4.mul(f32x4.mul(f, logConstant(48)), f);
  let kf = f32x4.convert_i32x4_s(k);
  let low = f32x4.add(f32x4.mul(u, f32x4.add(hfsq, r)), f32x4.mul(kf, logConstant(144)));
  return f32x4.add(f32x4.add(f32x4.sub(low, hfsq), f), f32x4.mul(kf, logConstant(128)));
}
