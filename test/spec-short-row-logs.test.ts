/**
 * The log of the row sum on short rows (≤ 32 classes, four rows a group; issue 23): log_softmax
 * and cross-entropy 'none' take it as an f32x4 log (math/log.ts logPositiveF32x4, ≤ 0.86 ulp),
 * the f64 per-row parts of 'mean' / 'sum' keep the f64 log. Rows of C equal logits have
 * s = C exactly (every exp(0) is 1), so log s = log C is known in closed form and the log's
 * own error is what the results show: whole and partial groups, every width 1..32, offsets
 * from 0 to ±1e30. Runs in every configuration of the matrix (js, simd128, relaxed, threads 2).
 */
import { expect, it } from 'vitest';
import { describeEachBackend } from './helpers/backends.js';

const f32 = Math.fround;
/** Spacing of float32 at |y| (y normal or 0). */
const ulp = (y: number): number => (y === 0 ? 2 ** -149 : 2 ** (Math.floor(Math.log2(Math.abs(f32(y)))) - 23));
const OFFSETS = [0, 3.5, -7.25, 1e30, -1e30];

describeEachBackend('short rows: the log of the row sum', (lk, backend) => {
  // The JS backend rounds the float64 log once (≤ 0.5 ulp); the wasm f32 log is within 0.86.
  const within = backend === 'js' ? 0.5 : 1;

  it('logSoftmax of C equal logits is −log C within one ulp, in whole and partial groups', () => {
    for (let C = 1; C <= 32; C++) {
      for (const rows of [1, 3, 4, 5, 9]) {
        for (const v of OFFSETS) {
          const got = lk().logSoftmax(new Float32Array(rows * C).fill(v), C);
          const exp = -Math.log(C);
          for (let i = 0; i < got.length; i++) {
            const err = Math.abs(got[i]! - exp) / ulp(exp);
            if (!(err <= within)) throw new Error(`C=${C} rows=${rows} v=${v} [${i}]: ${got[i]} vs ${exp} (${err} ulp)`);
          }
        }
      }
    }
  });

  it("crossEntropy 'none' of C equal logits is log C within one ulp, every target, ignored rows 0", () => {
    for (let C = 1; C <= 32; C++) {
      for (const rows of [1, 3, 4, 5, 9]) {
        for (const v of OFFSETS) {
          const x = new Float32Array(rows * C).fill(v);
          const t = Int32Array.from({ length: rows }, (_, r) => (r === 2 ? -100 : (r * 7) % C));
          const got = lk().crossEntropy(x, C, t, { reduction: 'none' });
          for (let r = 0; r < rows; r++) {
            if (t[r] === -100) {
              expect(got[r]).toBe(0);
              continue;
            }
            const err = Math.abs(got[r]! - Math.log(C)) / ulp(Math.log(C) || 1);
            if (!(err <= within)) throw new Error(`C=${C} rows=${rows} v=${v} row ${r}: ${got[r]} vs ${Math.log(C)} (${err} ulp)`);
          }
        }
      }
    }
  });

  it("crossEntropy 'sum' and 'mean' keep the float64 log: R·log C correctly rounded to float32", () => {
    // An f32 log s in the per-row parts would be off by up to 0.86 ulp of log C in every row
    // alike, which moves the float32 of the sum off its correctly rounded value for many C.
    for (let C = 2; C <= 32; C++) {
      for (const rows of [7, 9, 13]) {
        const x = new Float32Array(rows * C).fill(1.5);
        const t = Int32Array.from({ length: rows }, (_, r) => (r * 5) % C);
        expect(lk().crossEntropy(x, C, t, { reduction: 'sum' }), `C=${C} rows=${rows}`).toBe(f32(rows * Math.log(C)));
        expect(lk().crossEntropy(x, C, t, { reduction: 'mean' }), `C=${C} rows=${rows}`).toBe(f32(Math.log(C)));
        expect(lk().crossEntropy(x, C, t, { reduction: 'sum', labelSmoothing: 0.25 }), `C=${C} rows=${rows} ε`).toBe(f32(rows * Math.log(C)));
      }
    }
  });

  it("unweighted crossEntropy 'none' without smoothing is −logSoftmax[target] bit for bit", () => {
    for (const C of [1, 2, 3, 4, 5, 10, 17, 31, 32]) {
      const rows = 11;
      const x = new Float32Array(rows * C);
      for (let i = 0; i < x.length; i++) x[i] = Math.sin(i * 0.7) * 6 + (i % 3 === 0 ? 1e4 : 0);
      const t = Int32Array.from({ length: rows }, (_, r) => (r * 3) % C);
      const lp = lk().logSoftmax(x, C);
      const ce = lk().crossEntropy(x, C, t, { reduction: 'none' });
      for (let r = 0; r < rows; r++) expect(ce[r], `C=${C} row ${r}`).toBe(-lp[r * C + t[r]!]!);
    }
  });

  it("logSoftmax and crossEntropy 'none' of NaN, +inf and all −inf rows are NaN, next to finite rows", () => {
    for (const C of [1, 3, 4, 10, 32]) {
      const rows = 6;
      const x = new Float32Array(rows * C);
      for (let i = 0; i < x.length; i++) x[i] = Math.sin(i) * 4;
      x[1 * C] = NaN;
      x[2 * C + C - 1] = Infinity;
      x.fill(-Infinity, 3 * C, 4 * C);
      const lp = lk().logSoftmax(x, C);
      const ce = lk().crossEntropy(x, C, new Int32Array(rows), { reduction: 'none' });
      for (const r of [1, 2, 3]) {
        expect(Array.from(lp.subarray(r * C, (r + 1) * C)).every(Number.isNaN), `C=${C} row ${r}`).toBe(true);
        expect(ce[r], `C=${C} row ${r}`).toBeNaN();
      }
      for (const r of [0, 4, 5]) {
        expect(Array.from(lp.subarray(r * C, (r + 1) * C)).every(Number.isFinite), `C=${C} row ${r}`).toBe(true);
        expect(Number.isFinite(ce[r]!), `C=${C} row ${r}`).toBe(true);
      }
    }
  });
});
