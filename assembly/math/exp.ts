// Vector exp for f32x4: e^x for four float32 lanes at once.
//
// Algorithm (the shape of XNNPACK's "rr2-p5" exp, with one more polynomial term):
// n = round(x·log2 e) comes from adding a magic bias 1.5·2^23 + 127, whose low mantissa
// bits then hold n + 127, so shifting them into the exponent field builds s = 2^n with
// one integer shift. The reduced argument t = x − n·ln2 is formed in two steps
// (Cody–Waite: ln2_hi has 15 significant bits, so n·ln2_hi is exact for |n| < 256) and
// lies in [−ln2/2, ln2/2]. There e^t = 1 + t·p(t) with p a degree-5 minimax polynomial
// (so e^t is degree 6; relative error of the float32 coefficients 3.1e-9 ≈ 0.05·2^-24,
// fitted by us with Lawson's iteration, coefficients rounded to f32 one at a time). The
// result is s + (s·t)·p(t). Every a·b + c goes through madd(): two roundings in the plain
// SIMD build (wasm SIMD has no FMA), f32x4.relaxed_madd in the relaxed-SIMD build.
//
// Two flavours:
// * expNonPositiveF32x4 — for x ≤ 0, the only case in softmax/loss paths (z − max).
//   Results below 2^-126·√½ (x < −87.68) flush to exactly 0, which is far inside every
//   tolerance (softmax atol is 1e-36); above that, subnormal results are computed.
//   exp(−inf) = 0, NaN passes through.
// * expF32x4 — all float32 inputs: overflow → +inf, gradual underflow into subnormals,
//   exp(−inf) = 0, NaN passes through. n is split as n1 + n2 with n1 clamped to the normal
//   exponent range, and the second factor 2^n2 (exactly 1 in the normal range) scales
//   into overflow or the subnormals with one final rounding.
//
// Measured accuracy (node scripts/exp-accuracy.js: every 7th float32 bit pattern, 614M
// inputs, against Math.exp in float64), expF32x4:
//   plain SIMD build:   max 1.17 ulp for normal results, 0.85 ulp (of 2^-149) for subnormal
//                       results; ~0.8% of in-range results not correctly rounded.
//   relaxed-SIMD build: max 0.88 ulp (madd fused on this x64 CPU), subnormal 0.85 ulp.
//   Special values exact: exp(-inf) = 0, exp(+inf) = inf, NaN → NaN, x > 88.7228 → inf.
// expNonPositiveF32x4 runs the same arithmetic, so the same bounds hold on [-87.68, 0].
// expNonPositiveP5F32x4 (softmax/logsumexp hot loops only) trades accuracy for two
// operations and one constant register a vector: degree-5 e^t (q of degree 4, evaluated
// Estrin-style: ~2% faster than Horner, shorter dependency chain), max 2.39 ulp on
// [-87.68, 0] in the plain SIMD build (scripts/exp-accuracy.js emulates it in float32
// after checking the emulation bit for bit against the wasm), ~5% of results not
// correctly rounded; the relaxed build can only be more accurate (fused madd).
// The largest error terms are the rounding of t (≤ 2^-26 absolute) and the final add; a
// further 0.2 ulp would cost two more operations per vector (carrying t as hi + lo), which
// the softmax tolerances (≥ 2e-6 relative ≈ 33 ulp) do not need.
//
// Constants live in a table in static memory (EXP_TABLE), read with v128.load where they are
// used, not as f32x4.splat(constant): V8 13.6 (Node 24; Turboshaft) rematerialises every SIMD
// constant at each use inside a loop (movq r10, imm64 / vmovq / vpunpcklqdq: three instructions
// per use, 44 uses in the softmax exp loop, whose body grew from 134 to 243 instructions) and
// ran the exp loops 40-45% slower than V8 12.4. A load from a fixed address is not a constant:
// V8 (every version measured) loads each one once per loop iteration and keeps it in a register
// (bench/limits.md, bench/micro/).

// Every constant of the exps, each splatted to four lanes; K_* are byte offsets into the table.
// C1..C6: p(t) = C1 + C2·t + ... + C6·t^5, e^t ≈ 1 + t·p(t) (degree 6); D1..D5 the degree-5 q.
// ZERO_FLOOR: expNonPositive* raise x to at least −88, where n = round(x·log2 e) = −127, so the
// exponent field of s = 2^n is 0 and s is exactly +0: the result is exactly 0, for −inf too,
// with one pmax instead of a compare and a mask. CLAMP_LO/HI: expF32x4 clamps x into
// [−110, 100] before reducing: e^−110 underflows to 0 and e^100 overflows to inf through the
// final scaling, while n stays a small integer. The i32 127 and −126 bound its split of n.
const EXP_TABLE: usize = memory.data<u32>([
  0x3FB8AA3B, 0x3FB8AA3B, 0x3FB8AA3B, 0x3FB8AA3B, //   0 LOG2E       0x1.715476p+0 ≈ 1.44269502
  0x4B40007F, 0x4B40007F, 0x4B40007F, 0x4B40007F, //  16 MAGIC_BIAS  0x1.8000FEp23 = 1.5·2^23 + 127
  0xBF317200, 0xBF317200, 0xBF317200, 0xBF317200, //  32 −LN2_HI     −0x1.62E400p-1 = −0.693145751953125
  0xB5BFBE8E, 0xB5BFBE8E, 0xB5BFBE8E, 0xB5BFBE8E, //  48 −LN2_LO     −0x1.7F7D1Cp-20 ≈ −1.42860677e-6
  0x3F800000, 0x3F800000, 0x3F800000, 0x3F800000, //  64 C1 = 1
  0x3EFFFFFE, 0x3EFFFFFE, 0x3EFFFFFE, 0x3EFFFFFE, //  80 C2          0x1.fffffcp-2  ≈ 0.49999994
  0x3E2AAA49, 0x3E2AAA49, 0x3E2AAA49, 0x3E2AAA49, //  96 C3          0x1.555492p-3  ≈ 0.16666521
  0x3D2AAC5B, 0x3D2AAC5B, 0x3D2AAC5B, 0x3D2AAC5B, // 112 C4          0x1.5558b6p-5  ≈ 0.041668277
  0x3C091CD1, 0x3C091CD1, 0x3C091CD1, 0x3C091CD1, // 128 C5          0x1.1239a2p-7  ≈ 0.0083686868
  0x3AB523A3, 0x3AB523A3, 0x3AB523A3, 0x3AB523A3, // 144 C6          0x1.6a4746p-10 ≈ 0.0013819825
  0x3F7FFFFB, 0x3F7FFFFB, 0x3F7FFFFB, 0x3F7FFFFB, // 160 D1          ≈ 0.99999970
  0x3EFFFEE3, 0x3EFFFEE3, 0x3EFFFEE3, 0x3EFFFEE3, // 176 D2          ≈ 0.49999151
  0x3E2AAD35, 0x3E2AAD35, 0x3E2AAD35, 0x3E2AAD35, // 192 D3          ≈ 0.16667636
  0x3D2B9D2A, 0x3D2B9D2A, 0x3D2B9D2A, 0x3D2B9D2A, // 208 D4          ≈ 0.041897930
  0x3C07D41B, 0x3C07D41B, 0x3C07D41B, 0x3C07D41B, // 224 D5          ≈ 0.0082903160
  0xC2B00000, 0xC2B00000, 0xC2B00000, 0xC2B00000, // 240 ZERO_FLOOR  −88
  0xC2DC0000, 0xC2DC0000, 0xC2DC0000, 0xC2DC0000, // 256 CLAMP_LO    −110
  0x42C80000, 0x42C80000, 0x42C80000, 0x42C80000, // 272 CLAMP_HI    100
  0x0000007F, 0x0000007F, 0x0000007F, 0x0000007F, // 288 i32 127
  0xFFFFFF82, 0xFFFFFF82, 0xFFFFFF82, 0xFFFFFF82, // 304 i32 −126
], 16);

// @ts-ignore: decorator
@inline const K_LOG2E: usize = 0;
// @ts-ignore: decorator
@inline const K_MAGIC_BIAS: usize = 16;
// @ts-ignore: decorator
@inline const K_MINUS_LN2_HI: usize = 32;
// @ts-ignore: decorator
@inline const K_MINUS_LN2_LO: usize = 48;
// @ts-ignore: decorator
@inline const K_C1: usize = 64;
// @ts-ignore: decorator
@inline const K_C2: usize = 80;
// @ts-ignore: decorator
@inline const K_C3: usize = 96;
// @ts-ignore: decorator
@inline const K_C4: usize = 112;
// @ts-ignore: decorator
@inline const K_C5: usize = 128;
// @ts-ignore: decorator
@inline const K_C6: usize = 144;
// @ts-ignore: decorator
@inline const K_D1: usize = 160;
// @ts-ignore: decorator
@inline const K_D2: usize = 176;
// @ts-ignore: decorator
@inline const K_D3: usize = 192;
// @ts-ignore: decorator
@inline const K_D4: usize = 208;
// @ts-ignore: decorator
@inline const K_D5: usize = 224;
// @ts-ignore: decorator
@inline const K_ZERO_FLOOR: usize = 240;
// @ts-ignore: decorator
@inline const K_CLAMP_LO: usize = 256;
// @ts-ignore: decorator
@inline const K_CLAMP_HI: usize = 272;
// @ts-ignore: decorator
@inline const K_I127: usize = 288;
// @ts-ignore: decorator
@inline const K_IM126: usize = 304;

/** The four-lane constant at byte offset `at` of EXP_TABLE (see the header for why a load). */
// @ts-ignore: decorator
@inline
export function expConstant(at: usize): v128 {
  return v128.load(EXP_TABLE + at);
}


/**
 * a·b + c. In the relaxed-SIMD build this is f32x4.relaxed_madd (one FMA where the CPU has
 * it, else the same two roundings as the plain build); either way the error analysis above
 * holds, a fused multiply-add only removes roundings.
 */
// @ts-ignore: decorator
@inline
export function madd(a: v128, b: v128, c: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return f32x4.relaxed_madd(a, b, c);
  return f32x4.add(f32x4.mul(a, b), c);
}

/** e^t·s for the reduced argument: s + (s·t)·p(t). */
// @ts-ignore: decorator
@inline
function scaledPoly(t: v128, s: v128): v128 {
  let p = madd(expConstant(K_C6), t, expConstant(K_C5));
  p = madd(p, t, expConstant(K_C4));
  p = madd(p, t, expConstant(K_C3));
  p = madd(p, t, expConstant(K_C2));
  p = madd(p, t, expConstant(K_C1));
  return madd(f32x4.mul(t, s), p, s);
}

/**
 * e^x for x ≤ 0 (or NaN) in each lane: the range reduction both polynomials share, then the
 * degree-6 (≤ 1.2 ulp) or, with degree5, the degree-5 polynomial. Results below
 * 2^-126·√½ (x < -87.68) flush to 0. degree5 is a constant at every call, so the branch folds.
 */
// @ts-ignore: decorator
@inline
function expNonPositive(input: v128, degree5: bool): v128 {
  // pmax(a, b) = a < b ? b : a keeps a NaN input, which then flows through to the result.
  let x = f32x4.pmax(input, expConstant(K_ZERO_FLOOR));
  let biased = madd(x, expConstant(K_LOG2E), expConstant(K_MAGIC_BIAS));
  // Low 9 bits of the biased float hold n + 127; moved into the exponent field, 2^n.
  let s = i32x4.shl(biased, 23);
  let n = f32x4.sub(biased, expConstant(K_MAGIC_BIAS));
  let t = madd(n, expConstant(K_MINUS_LN2_HI), x);
  t = madd(n, expConstant(K_MINUS_LN2_LO), t);
  return degree5 ? scaledPoly5(t, s) : scaledPoly(t, s);
}

/** e^x for x ≤ 0 (or NaN) in each lane, ≤ 1.2 ulp; results below 2^-126·√½ (x < -87.68) flush to 0. */
// @ts-ignore: decorator
@inline
export function expNonPositiveF32x4(input: v128): v128 {
  return expNonPositive(input, false);
}

// Degree-5 coefficients for expNonPositiveP5F32x4: e^t ≈ 1 + t·q(t), q = D1 + D2·t + ... + D5·t^4
// (fitted by us with Lawson's iteration; relative error 9.5e-8 ≈ 1.6·2^-24 with the f32 values,
// against 1.7e-8 for the degree-6 p above).

/** e^t·s for the reduced argument with the degree-5 polynomial: s + (s·t)·q(t). */
// @ts-ignore: decorator
@inline
function scaledPoly5(t: v128, s: v128): v128 {
  // q = (D1 + D2·t) + t²·((D5·t + D4)·t + D3): two short chains instead of one long one.
  let t2 = f32x4.mul(t, t);
  let hi = madd(expConstant(K_D5), t, expConstant(K_D4));
  hi = madd(hi, t, expConstant(K_D3));
  let lo = madd(expConstant(K_D2), t, expConstant(K_D1));
  let q = madd(hi, t2, lo);
  return madd(f32x4.mul(t, s), q, s);
}

/**
 * e^x for x ≤ 0 (or NaN), like expNonPositiveF32x4 (same range reduction, same flush to 0
 * below -87.68, NaN passes through) but with the degree-5 polynomial: ≤ 2.4 ulp instead of
 * 1.2, for the softmax/logsumexp hot loops whose tolerances (≥ 33 ulp) dwarf either.
 */
// @ts-ignore: decorator
@inline
export function expNonPositiveP5F32x4(input: v128): v128 {
  return expNonPositive(input, true);
}

/** Scalar twin of expNonPositiveP5F32x4 (row tails). */
// @ts-ignore: decorator
@inline
export function expNonPositiveP5F32(x: f32): f32 {
  return f32x4.extract_lane(expNonPositiveP5F32x4(f32x4.splat(x)), 0);
}

/** e^x for every float32 lane value, with overflow to +inf and gradual underflow. */
// @ts-ignore: decorator
@inline
export function expF32x4(x: v128): v128 {
  // pmax/pmin keep a NaN x (the comparison is false), so NaN flows through to the result.
  let xc = f32x4.pmin(f32x4.pmax(x, expConstant(K_CLAMP_LO)), expConstant(K_CLAMP_HI));
  let biased = madd(xc, expConstant(K_LOG2E), expConstant(K_MAGIC_BIAS));
  let n = f32x4.sub(biased, expConstant(K_MAGIC_BIAS));
  // Integer n (the biased float stays in [2^23, 2^24), so the bit difference is n).
  let ni = i32x4.sub(biased, expConstant(K_MAGIC_BIAS));
  let n1 = i32x4.max_s(i32x4.min_s(ni, expConstant(K_I127)), expConstant(K_IM126));
  let n2 = i32x4.sub(ni, n1);
  let s1 = i32x4.shl(i32x4.add(n1, expConstant(K_I127)), 23);
  let s2 = i32x4.shl(i32x4.add(n2, expConstant(K_I127)), 23);
  let t = madd(n, expConstant(K_MINUS_LN2_HI), xc);
  t = madd(n, expConstant(K_MINUS_LN2_LO), t);
  return f32x4.mul(scaledPoly(t, s1), s2);
}

/** Scalar e^x through the same vector code (for row tails), x ≤ 0 or NaN. */
// @ts-ignore: decorator
@inline
export function expNonPositiveF32(x: f32): f32 {
  return f32x4.extract_lane(expNonPositiveF32x4(f32x4.splat(x)), 0);
}

/** out[i] = e^x[i] for n float32 values (all inputs); out may equal x. */
export function expArray(xPtr: usize, n: i32, outPtr: usize): void {
  let i: i32 = 0;
  for (; i + 4 <= n; i += 4) {
    let off = <usize>i << 2;
    v128.store(outPtr + off, expF32x4(v128.load(xPtr + off)));
  }
  for (; i < n; i++) {
    let off = <usize>i << 2;
    store<f32>(outPtr + off, f32x4.extract_lane(expF32x4(f32x4.splat(load<f32>(xPtr + off))), 0));
  }
}
