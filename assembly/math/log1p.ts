// Vector log(1 + e) for e in [0, 1] (f32x4), as needed by log_sigmoid where e = exp(-|x|).
//
// Algorithm: log(1 + e) = 2·atanh(s) with s = e / (2 + e) ∈ [0, 1/3], and
// 2·atanh(s) = 2s + 2s·(s²/3 + s⁴/5 + … + s¹⁴/15). The series is cut after s¹⁴/15; the
// first omitted term is below (1/9)^7/17 ≈ 1.2e-8 relative at s = 1/3 and far smaller
// for small s. Because the leading term is 2s, tiny e keeps full relative precision
// (log1p(e) ≈ e for e → 0, including subnormal e), which log(1 + e) would lose.
// Accuracy is dominated by rounding 2 + e and the division; log_sigmoid built on it (with
// the exp's own error) measures ≤ 2.82 ulp against float64 (see kernels/sigmoid.ts).

/** log(1 + e) for e in [0, 1] or NaN in each lane. */
// @ts-ignore: decorator
@inline
export function log1pUnitF32x4(e: v128): v128 {
  let s = f32x4.div(e, f32x4.add(e, f32x4.splat(2.0)));
  let s2 = f32x4.mul(s, s);
  let q = f32x4.splat(<f32>(1.0 / 15.0));
  q = f32x4.add(f32x4.mul(q, s2), f32x4.splat(<f32>(1.0 / 13.0)));
  q = f32x4.add(f32x4.mul(q, s2), f32x4.splat(<f32>(1.0 / 11.0)));
  q = f32x4.add(f32x4.mul(q, s2), f32x4.splat(<f32>(1.0 / 9.0)));
  q = f32x4.add(f32x4.mul(q, s2), f32x4.splat(<f32>(1.0 / 7.0)));
  q = f32x4.add(f32x4.mul(q, s2), f32x4.splat(<f32>(1.0 / 5.0)));
  q = f32x4.add(f32x4.mul(q, s2), f32x4.splat(<f32>(1.0 / 3.0)));
  let twoS = f32x4.add(s, s);
  return f32x4.add(f32x4.mul(f32x4.mul(twoS, s2), q), twoS);
}
