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
