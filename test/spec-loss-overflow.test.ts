/**
 * Reduced losses beyond float32 (issue 22 item 7), on every backend of the matrix: a reduced result
 * is a float32 number like the per-row ones (SEMANTICS.md §2 "Overflow", §11: the float64 value
 * rounded to float32), so a mean over FLT_MAX is +inf as 'none' is; and the label-smoothing term of
 * a row whose x − max overflows float32 is what float64 gives (finite), not +inf or NaN.
 */
import { expect, it } from 'vitest';
import { describeEachBackend } from './helpers/backends.js';
import { randomLogits, randomTargets } from './helpers/random.js';
import { crossEntropyClassRef, crossEntropySoftRef } from './reference/loss.js';

const f32 = Math.fround;
const HUGE = [3e38, -3e38, 0, 1, 2, 3, 4];

/** float32 of the float64 expected value: special values exactly, else within 1e-6 relative. */
function expectF32(got: number, expected: number): void {
  const e = f32(expected);
  if (!Number.isFinite(e)) expect(got).toBe(e);
  else expect(Math.abs(got - e)).toBeLessThanOrEqual(1e-6 * Math.abs(e) + 1e-30);
}

/** A wide row (past the short-row lanes) holding the same huge pair. */
function wide(C: number): Float32Array {
  const x = new Float32Array(C).map((_, j) => (j % 5) - 2);
  x[3] = 3e38;
  x[C - 2] = -3e38;
  return x;
}

describeEachBackend('reduced losses beyond float32', (lk) => {
  it("the issue's row: 'mean' and 'sum' are +inf like 'none'", () => {
    const x = new Float32Array(HUGE);
    const t = new Int32Array([1]);
    expect(lk().crossEntropy(x, 7, t, { reduction: 'none' })[0]).toBe(Infinity);
    expect(lk().crossEntropy(x, 7, t, { reduction: 'mean' })).toBe(Infinity);
    expect(lk().crossEntropy(x, 7, t, { reduction: 'sum' })).toBe(Infinity);
    expect(lk().crossEntropyWithGrad(x, 7, t).loss).toBe(Infinity);
    expect(lk().perplexity(x, 7, t)).toBe(Infinity);
  });

  it('finite rows whose sum passes FLT_MAX: sum +inf, mean the float32 of the float64 mean', () => {
    const x = new Float32Array([0, -2e38, 0, -2e38]);
    const t = new Int32Array([1, 1]);
    const ref = crossEntropyClassRef(x, 2, t);
    expect(lk().crossEntropy(x, 2, t, { reduction: 'sum' })).toBe(Infinity);
    expect(lk().crossEntropy(x, 2, t, { reduction: 'mean' })).toBe(f32(ref.mean));
    const q = new Float32Array([0, 1, 0, 1]);
    expect(lk().crossEntropy(x, 2, q, { reduction: 'sum' })).toBe(Infinity);
    expect(lk().klDiv(x, new Float32Array([-2e38, 0, -2e38, 0]), 2, { reduction: 'sum' })).toBe(Infinity);
    const z = new Float32Array([-2e38, -2e38]);
    expect(lk().bceWithLogits(z, new Float32Array([1, 1]), { reduction: 'sum' })).toBe(Infinity);
    expect(lk().bceWithLogits(z, new Float32Array([1, 1]), { reduction: 'mean' })).toBe(f32(2e38));
  });

  it('every reduced result is a float32 number', () => {
    const R = 9;
    const C = 37;
    const x = randomLogits(R, C, 5, 11);
    const t = randomTargets(R, C, 12);
    const q = lk().softmax(randomLogits(R, C, 1, 13), C);
    const isF32 = (v: number) => expect(f32(v)).toBe(v);
    for (const reduction of ['mean', 'sum'] as const) {
      isF32(lk().crossEntropy(x, C, t, { reduction, labelSmoothing: 0.1 }));
      isF32(lk().crossEntropy(x, C, q, { reduction }));
      isF32(lk().crossEntropyWithGrad(x, C, t, { reduction }).loss);
      isF32(lk().bceWithLogits(x, q, { reduction }));
    }
    isF32(lk().klDiv(x, q.map((v) => Math.log(v)), C, { reduction: 'batchmean' }));
    isF32(lk().perplexity(x, C, t));
  });

  for (const C of [7, 64]) {
    it(`label smoothing where x − max overflows float32 (${C} classes): the float64 value, in every reduction`, () => {
      const x = C === 7 ? new Float32Array(HUGE) : wide(C);
      const top = C === 7 ? 0 : 3;
      const t = new Int32Array([top]);
      for (const weight of [undefined, new Float32Array(C).map((_, j) => (j === (C === 7 ? 1 : C - 2) ? 0 : 1 + (j % 3)))]) {
        const o = { labelSmoothing: 0.1, ...(weight ? { weight } : {}) };
        const ref = crossEntropyClassRef(x, C, t, o);
        expect(Number.isFinite(ref.none[0]!)).toBe(true);
        expectF32(lk().crossEntropy(x, C, t, { ...o, reduction: 'none' })[0]!, ref.none[0]!);
        expectF32(lk().crossEntropy(x, C, t, { ...o, reduction: 'mean' }), ref.mean);
        expectF32(lk().crossEntropy(x, C, t, { ...o, reduction: 'sum' }), ref.sum);
        expectF32(lk().crossEntropyWithGrad(x, C, t, { ...o, reduction: 'mean' }).loss, ref.mean);
      }
      // Probability targets with smoothing put mass on every class: the same term.
      const q = new Float32Array(C);
      q[top] = 1;
      const soft = crossEntropySoftRef(x, C, q, { labelSmoothing: 0.1 });
      expectF32(lk().crossEntropy(x, C, q, { labelSmoothing: 0.1, reduction: 'none' })[0]!, soft.none[0]!);
      expectF32(lk().crossEntropy(x, C, q, { labelSmoothing: 0.1, reduction: 'mean' }), soft.mean);
    });
  }
});
