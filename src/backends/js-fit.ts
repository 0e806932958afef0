/**
 * The temperature fit's per-pass sums on the JS reference backend (assembly/kernels/fit.ts is the
 * wasm kernel): p and lp are this backend's softmax and log-softmax at T rounded to float32, as
 * lk.softmax and lk.logSoftmax return them, and the moments of d = x − x_0 under p are float64,
 * one row after another (the loop the fitter ran in JS before, so fits keep their bits).
 */
import { rowLogSoftmax, rowSoftmax, scaled } from './js-rows.js';

const fround = Math.fround;

/**
 * out = (Σ −lp[y], Σ (E_p[d] − d_y), Σ max(0, Var_p[d])) over the rows; labels already checked.
 * z and w: row work arrays of `classes` float64 values.
 */
export function temperatureFitSums(x: Float32Array, rows: number, classes: number, labels: Int32Array, temperature: number, z: Float64Array, w: Float64Array, out: Float64Array): void {
  let nll = 0;
  let g = 0;
  let h = 0;
  for (let r = 0; r < rows; r++) {
    const o = r * classes;
    const y = labels[r]!;
    const p = rowSoftmax(scaled(x, o, classes, temperature, z), w);
    const x0 = x[o]!;
    let m1 = 0;
    let m2 = 0;
    for (let j = 0; j < classes; j++) {
      const d = x[o + j]! - x0;
      const pd = fround(p[j]!) * d;
      m1 += pd;
      m2 += pd * d;
    }
    nll -= fround(rowLogSoftmax(z, z)[y]!); // in place: z is not needed after this
    g += m1 - (x[o + y]! - x0);
    const v = m2 - m1 * m1;
    // Var ≥ 0: rounding can leave a tiny negative v on a near-constant row; NaN passes.
    if (v > 0 || v !== v) h += v;
  }
  out[0] = nll;
  out[1] = g;
  out[2] = h;
}
