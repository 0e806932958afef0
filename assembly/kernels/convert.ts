// Half-precision logits → float32, exactly (every float16 and bfloat16 value is a float32).
//
// bfloat16 is the top half of a float32: widen each u16 to u32 and shift left by 16.
// float16: with em = the 15 bits below the sign, the float32 whose bits are em << 13 has the
// half's exponent field in the low bits of the float32 exponent, so multiplying it by 2^112
// rebias the exponent (15 → 127). That one multiply is exact for normals and for subnormal
// halves alike (a subnormal half lands on a float32 subnormal, which wasm keeps; × 2^112 makes
// it normal). Infinities and NaNs (exponent field 31) get the float32 all-ones exponent with
// the fraction shifted into place, so NaN payloads and the quiet bit carry over. The sign is
// OR-ed back last. Eight values per iteration (one v128 of u16); a scalar tail does the rest
// with the same bit operations. Verified on all 65,536 bit patterns of each format
// (test/spec-sample.test.ts).

// @ts-ignore: decorator
@inline const TWO_POW_112_BITS: u32 = 0x77800000; // 2^112 as float32

// @ts-ignore: decorator
@inline
function halfBitsToF32x4(h: v128): v128 {
  let sign = i32x4.shl(v128.and(h, i32x4.splat(0x8000)), 16);
  let em = v128.and(h, i32x4.splat(0x7fff));
  let shifted = i32x4.shl(em, 13);
  let finite = f32x4.mul(shifted, f32x4.splat(reinterpret<f32>(TWO_POW_112_BITS)));
  let special = v128.or(shifted, i32x4.splat(0x7f800000));
  let isSpecial = i32x4.gt_s(em, i32x4.splat(0x7bff));
  return v128.or(v128.bitselect(special, finite, isSpecial), sign);
}

// @ts-ignore: decorator
@inline
function halfBitsToF32(h: u32): f32 {
  let sign = (h & 0x8000) << 16;
  let em = h & 0x7fff;
  let bits: u32 = em >= 0x7c00
    ? (em << 13) | 0x7f800000
    : reinterpret<u32>(reinterpret<f32>(em << 13) * reinterpret<f32>(TWO_POW_112_BITS));
  return reinterpret<f32>(bits | sign);
}

/** dst[i] = float16 bits src[i] as float32, for i < n. */
export function widenFloat16(srcPtr: usize, n: i32, dstPtr: usize): void {
  let i = 0;
  for (; i + 8 <= n; i += 8) {
    let h = v128.load(srcPtr + (<usize>i << 1));
    let d = dstPtr + (<usize>i << 2);
    v128.store(d, halfBitsToF32x4(i32x4.extend_low_i16x8_u(h)));
    v128.store(d, halfBitsToF32x4(i32x4.extend_high_i16x8_u(h)), 16);
  }
  for (; i < n; i++) store<f32>(dstPtr + (<usize>i << 2), halfBitsToF32(<u32>load<u16>(srcPtr + (<usize>i << 1))));
}

/** dst[i] = bfloat16 bits src[i] as float32 (bits << 16), for i < n. */
export function widenBfloat16(srcPtr: usize, n: i32, dstPtr: usize): void {
  let i = 0;
  for (; i + 8 <= n; i += 8) {
    let h = v128.load(srcPtr + (<usize>i << 1));
    let d = dstPtr + (<usize>i << 2);
    v128.store(d, i32x4.shl(i32x4.extend_low_i16x8_u(h), 16));
    v128.store(d, i32x4.shl(i32x4.extend_high_i16x8_u(h), 16), 16);
  }
  for (; i < n; i++) store<u32>(dstPtr + (<usize>i << 2), <u32>load<u16>(srcPtr + (<usize>i << 1)) << 16);
}
