// The per-row terms of the temperature fit's per-pass sums (src/metrics/calibration.ts,
// SEMANTICS.md §10; Engine.temperatureFitSums adds them): for labelled rows at temperature T = 1/β,
//   nll   = Σ_r −lp_r[y_r]                    lp = log_softmax(x/T), p = softmax(x/T)
//   grad  = Σ_r (Σ_j p_rj d_rj − d_r,y_r)      = Σ_r dNLL_r/dβ,   d_rj = x_rj − x_r0
//   curv  = Σ_r max(0, Σ_j p_rj d_rj² − m1²)   = Σ_r d²NLL_r/dβ² (Var_p[x], rounding kept ≥ 0)
// with p and lp exactly the float32 values lk.softmax / lk.logSoftmax give at that T, so a fit
// through this kernel takes the same Newton steps as one through those two ops (the fit's figures
// are pinned to 1e-9 of the build before, test/score-main.test.ts), and the moments in float64.
// Moments of d = x − x_0 rather than of x: the variance's cancellation is tied to the row's
// spread, not its offset. A NaN or ±inf logit makes the row's dNLL/dβ and d²NLL/dβ² NaN (a p or d
// is NaN; 0 · ±inf where p = 0), its NLL what log_softmax gives (NaN, or +inf for a −inf label
// logit); the engine does not check finiteness, the fitter reports it.
//
// Algorithm. Rows of more than SHORT_ROW_MAX_CLASSES (32) classes, one at a time: z = x/f32(T)
// into the work row, then softmax's own passes from ./rows on it in place (max, then
// e = exp(z − m) and s = Σ e), so m and s have softmax's bits; p_j = e_j · f32(1/s) is softmax's last pass and
// lp_y = (z_y − m) − f32(log s) is log_softmax's value at y (same two f32 operations), then one
// moments pass over x and e in f64x2. Three reads of the row instead of softmax's three plus
// log_softmax's three and the JS moments loop. Short rows go CHUNK rows at a time (a multiple of
// four: the kernels' row groups, so a row's bits are those of one whole call) through the
// softmax and log_softmax kernels into the chunk's work rows (in L1), then the same moments pass.
// Output: the three values per row in f64; the caller adds the rows in order (as the fitter's JS loop
// did), so a call splits across threads without changing a bit. Moments: f64x2 per row in two
// accumulator pairs (their order differs from a scalar loop by ~1e-16 relative).
import { SHORT_ROW_MAX_CLASSES } from '../lanes';
import { rowMax, expSumRow, divideByTemperature } from './rows';
import { softmax, logSoftmax } from './softmax';

/** Rows per short-row chunk (a multiple of four). */
// @ts-ignore: decorator
@inline const CHUNK: i32 = 64;

// Moments of one row: m1 = Σ p_j d_j, m2 = Σ p_j d_j², p_j = f32(e_j · inv) (inv = 1 when the
// work row already holds p). Returned as the f64x2 (m1, m2).
// @ts-ignore: decorator
@inline
function rowMoments(x: usize, e: usize, n: i32, inv: f32): v128 {
  let x0 = f64x2.splat(<f64>load<f32>(x));
  let iv = f32x4.splat(inv);
  let a1 = f64x2.splat(0.0);
  let a2 = a1;
  let b1 = a1;
  let b2 = a1;
  let j = 0;
  for (; j + 4 <= n; j += 4) {
    let off = <usize>j << 2;
    let xv = v128.load(x + off);
    let pv = f32x4.mul(v128.load(e + off), iv);
    let dl = f64x2.sub(f64x2.promote_low_f32x4(xv), x0);
    let dh = f64x2.sub(f64x2.promote_low_f32x4(v128.shuffle<f32>(xv, xv, 2, 3, 0, 1)), x0);
    let pl = f64x2.mul(f64x2.promote_low_f32x4(pv), dl);
    let ph = f64x2.mul(f64x2.promote_low_f32x4(v128.shuffle<f32>(pv, pv, 2, 3, 0, 1)), dh);
    a1 = f64x2.add(a1, pl);
    b1 = f64x2.add(b1, ph);
    a2 = f64x2.add(a2, f64x2.mul(pl, dl));
    b2 = f64x2.add(b2, f64x2.mul(ph, dh));
  }
  let m1 = f64x2.add(a1, b1);
  let m2 = f64x2.add(a2, b2);
  let s1 = f64x2.extract_lane(m1, 0) + f64x2.extract_lane(m1, 1);
  let s2 = f64x2.extract_lane(m2, 0) + f64x2.extract_lane(m2, 1);
  // The last 1–3 columns one by one, in f64 as the lanes (no zero-filled lanes to mask).
  let xs = f64x2.extract_lane(x0, 0);
  for (; j < n; j++) {
    let off = <usize>j << 2;
    let d = <f64>load<f32>(x + off) - xs;
    let pd = <f64>(load<f32>(e + off) * inv) * d;
    s1 += pd;
    s2 += pd * d;
  }
  return f64x2.replace_lane(f64x2.splat(s1), 1, s2);
}

/** Row r's three values into out (f64 nll, dNLL/dβ, d²NLL/dβ², 24 bytes a row). */
// @ts-ignore: decorator
@inline
function storeRow(out: usize, x: usize, y: i32, lpy: f32, mv: v128): void {
  let m1 = f64x2.extract_lane(mv, 0);
  let m2 = f64x2.extract_lane(mv, 1);
  store<f64>(out, -<f64>lpy);
  store<f64>(out, m1 - (<f64>load<f32>(x + (<usize>y << 2)) - <f64>load<f32>(x)), 8);
  let v = m2 - m1 * m1;
  // Var ≥ 0: rounding can leave a tiny negative v on a near-constant row; NaN passes.
  store<f64>(out, v > 0 || v != v ? v : 0, 16);
}

/**
 * Per row r: out[3r..3r+3) = (−lp[y], dNLL/dβ, d²NLL/dβ²) of x at `temperature`; labels in
 * [0, classes) (checked by the engine). work: 2 · classes floats a row (p and lp of short rows,
 * the exps of a long row). Rows are independent, so the runtime splits a call across threads.
 */
export function temperatureFitRows(xPtr: usize, labelsPtr: usize, rows: i32, classes: i32, temperature: f64, work: usize, outPtr: usize): void {
  let stride = <usize>classes << 2;
  if (classes <= SHORT_ROW_MAX_CLASSES) {
    for (let r0 = 0; r0 < rows; r0 += CHUNK) {
      let n = min(CHUNK, rows - r0);
      let x = xPtr + <usize>r0 * stride;
      let p = work + <usize>r0 * (stride << 1);
      let lp = p + <usize>n * stride;
      softmax(x, n, classes, temperature, p);
      logSoftmax(x, n, classes, temperature, lp);
      for (let k = 0; k < n; k++) {
        let r = r0 + k;
        let xr = x + <usize>k * stride;
        let y = load<i32>(labelsPtr + (<usize>r << 2));
        let lpy = load<f32>(lp + <usize>k * stride + (<usize>y << 2));
        storeRow(outPtr + <usize>r * 24, xr, y, lpy, rowMoments(xr, p + <usize>k * stride, classes, 1.0));
      }
    }
  } else {
    for (let r = 0; r < rows; r++) {
      let xr = xPtr + <usize>r * stride;
      let e = work + <usize>r * (stride << 1);
      let y = load<i32>(labelsPtr + (<usize>r << 2));
      let zr = xr;
      if (temperature != 1.0) {
        divideByTemperature(xr, <usize>classes, temperature, e); // softmax's own z = x / T, one division an element
        zr = e;
      }
      // z_y before the exp pass overwrites the work row.
      let zy = load<f32>(zr + (<usize>y << 2));
      let m = rowMax(zr, classes, false, 1.0);
      let s = expSumRow(zr, e, classes, m, true, false, 1.0);
      let lpy: f32 = (zy - m) - <f32>Math.log(s);
      storeRow(outPtr + <usize>r * 24, xr, y, lpy, rowMoments(xr, e, classes, <f32>(1.0 / s)));
    }
  }
}
