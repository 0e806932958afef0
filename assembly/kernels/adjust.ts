// adjustLogits: z' = W (x / T) + b along each row of a row-major float32 [rows, classes] batch,
// with W absent (identity), diagonal (`scale`, one weight per class) or full (`matrix`, classes²
// row-major); b optional. Every recalibration map of the library (temperature, BCTS, vector and
// matrix scaling, logit adjustment, label-shift and contextual bias) is one call of this kernel.
//
// Algorithm: all arithmetic is float64 in f64x2 lanes, rounded to float32 once at the store.
//   identity / diagonal: out_j = f32((f64(x_j) / T) · w_j + b_j)
//   matrix:              out_i = f32((Σ_j W_ij · x_j) / T + b_i)
// A float32 × float32 product is exact in float64, so the matrix row is a float64 dot product of
// exact terms (two f64x2 accumulators), divided by T once instead of dividing every x_j; the
// float64 rounding of these few operations (≤ C·2^-53 relative to Σ|W_ij x_j|) sits far below the
// final float32 rounding. Measured against the float64 reference of the JS backend (random rows,
// widths 1..1031, T ∈ {1, 0.37, 3}): the diagonal path is within 0.5 ulp of the correctly rounded
// result, the matrix path within 0.5 ulp + 2^-50·Σ|W_ij x_j|/T (test/adjust.test.ts).
// Special values follow IEEE arithmetic, as the float64 reference does: NaN propagates; ±inf · 0
// is NaN (so a −inf logit with a zero weight, or any non-finite logit under a matrix with a zero
// entry, makes NaN); −inf · w = −inf for w > 0.
// `out` may equal `x` for the identity/diagonal path (each element is read before it is written);
// the matrix path reads the whole row for every output, so the engine never passes out == x there.
// Pointers of absent operands are 0 (the arena never hands out address 0).

// @ts-ignore: decorator
@inline
function lo(v: v128): v128 {
  return f64x2.promote_low_f32x4(v);
}

// @ts-ignore: decorator
@inline
function hi(v: v128): v128 {
  return f64x2.promote_low_f32x4(v128.shuffle<f32>(v, v, 2, 3, 0, 1));
}

// @ts-ignore: decorator
@inline
function narrow(a: v128, b: v128): v128 {
  let l = f32x4.demote_f64x2_zero(a);
  let h = f32x4.demote_f64x2_zero(b);
  return v128.shuffle<f32>(l, h, 0, 1, 4, 5);
}

/** One row, identity or diagonal W: out_j = (x_j / T) · w_j + b_j. */
// @ts-ignore: decorator
@inline
function diagRow(xp: usize, n: i32, t: f64, divide: bool, sp: usize, bp: usize, op: usize): void {
  let tv = f64x2.splat(t);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    let off = <usize>i << 2;
    let v = v128.load(xp + off);
    let a = lo(v);
    let b = hi(v);
    if (divide) {
      a = f64x2.div(a, tv);
      b = f64x2.div(b, tv);
    }
    if (sp != 0) {
      let w = v128.load(sp + off);
      a = f64x2.mul(a, lo(w));
      b = f64x2.mul(b, hi(w));
    }
    if (bp != 0) {
      let c = v128.load(bp + off);
      a = f64x2.add(a, lo(c));
      b = f64x2.add(b, hi(c));
    }
    v128.store(op + off, narrow(a, b));
  }
  for (; i < n; i++) {
    let off = <usize>i << 2;
    let z = <f64>load<f32>(xp + off);
    if (divide) z = z / t;
    if (sp != 0) z = z * <f64>load<f32>(sp + off);
    if (bp != 0) z = z + <f64>load<f32>(bp + off);
    store<f32>(op + off, <f32>z);
  }
}

/** One row, full W (out must not alias x): out_i = (Σ_j W_ij x_j) / T + b_i. */
// @ts-ignore: decorator
@inline
function matrixRow(xp: usize, n: i32, t: f64, divide: bool, mp: usize, bp: usize, op: usize): void {
  for (let r = 0; r < n; r++) {
    let wp = mp + (<usize>r * <usize>n << 2);
    let a0 = f64x2.splat(0.0);
    let a1 = a0;
    let j = 0;
    for (; j + 4 <= n; j += 4) {
      let off = <usize>j << 2;
      let x = v128.load(xp + off);
      let w = v128.load(wp + off);
      a0 = f64x2.add(a0, f64x2.mul(lo(x), lo(w)));
      a1 = f64x2.add(a1, f64x2.mul(hi(x), hi(w)));
    }
    a0 = f64x2.add(a0, a1);
    let s = f64x2.extract_lane(a0, 0) + f64x2.extract_lane(a0, 1);
    for (; j < n; j++) {
      let off = <usize>j << 2;
      s += <f64>load<f32>(xp + off) * <f64>load<f32>(wp + off);
    }
    if (divide) s = s / t;
    if (bp != 0) s += <f64>load<f32>(bp + (<usize>r << 2));
    store<f32>(op + (<usize>r << 2), <f32>s);
  }
}

/**
 * rows × classes logits at xPtr → out: z' = W (x / t) + b. scalePtr (classes weights) or
 * matrixPtr (classes² row-major) or neither; biasPtr optional (0 = absent).
 */
export function adjustLogits(xPtr: usize, rows: i32, classes: i32, t: f64, scalePtr: usize, biasPtr: usize, matrixPtr: usize, outPtr: usize): void {
  let divide = t != 1.0;
  let rowBytes = <usize>classes << 2;
  for (let r = 0; r < rows; r++) {
    let off = <usize>r * rowBytes;
    if (matrixPtr != 0) matrixRow(xPtr + off, classes, t, divide, matrixPtr, biasPtr, outPtr + off);
    else diagRow(xPtr + off, classes, t, divide, scalePtr, biasPtr, outPtr + off);
  }
}
