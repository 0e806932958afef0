// Prior corrections: logitAdjustment, contextualBias and estimateLabelShift (EM, BBSE) on both
// backends, on the experiment split (scripts/label-shift-experiment.js) and against float64
// references written here from the definitions.
import { describe, expect, it } from 'vitest';
import { LogitkitError } from '../src/errors.js';
import { readNpyFloat32, readNpyInt32 } from '../src/io/npy.js';
import { logitAdjustment, solve } from '../src/metrics/label-shift.js';
import { float32ToFloat16Bits } from '../src/half.js';
import { describeEachBackend } from './helpers/backends.js';
import { randomLogits } from './helpers/random.js';
// @ts-expect-error: a plain-JS script, shared so that the test checks the experiment's exact split
import { makeSplit, TARGET_MIX } from '../scripts/label-shift-experiment.js';

const root = new URL('../', import.meta.url);
const x = readNpyFloat32(new URL('data/sample/logits.npy', root).pathname);
const y = readNpyInt32(new URL('data/sample/labels.npy', root).pathname).data;
const C = x.shape[1]!;
const split = makeSplit(x.data, y, C) as {
  source: { x: Float32Array; y: Int32Array };
  target: { x: Float32Array; y: Int32Array };
  truePriors: Float64Array;
};
const l1 = (a: ArrayLike<number>, b: ArrayLike<number>): number => Array.from(a).reduce((s, v, j) => s + Math.abs(v - b[j]!), 0);

describe('logitAdjustment', () => {
  it('is −τ log π, for priors or counts', () => {
    expect(Array.from(logitAdjustment([0.5, 0.25, 0.25]))).toEqual([0.5, 0.25, 0.25].map((p) => Math.fround(-Math.log(p))));
    expect(Array.from(logitAdjustment(new Float64Array([0.5, 0.5]), { tau: 2 }))).toEqual([Math.fround(2 * Math.log(2)), Math.fround(2 * Math.log(2))]);
    expect(Array.from(logitAdjustment([3, 1], { tau: 0 }))).toEqual([0, 0]);
  });
  it('rejects zero, negative, NaN priors and a bad tau', () => {
    for (const bad of [[0.5, 0], [1, -1], [NaN, 1]]) expect(() => logitAdjustment(bad)).toThrow(/invalid_argument: priors\[1\]|invalid_argument: priors\[0\]/);
    expect(() => logitAdjustment([])).toThrow(LogitkitError);
    expect(() => logitAdjustment([1, 1], { tau: -1 })).toThrow(/options.tau/);
    expect(() => logitAdjustment(new Int32Array([1, 1]) as never)).toThrow(/invalid_argument/);
  });
});

describe('solve (BBSE linear system)', () => {
  it('solves with pivoting and reports singular systems', () => {
    const a = new Float64Array([0, 2, 1, 1]); // needs a row swap
    expect(Array.from(solve(a, new Float64Array([4, 3]), 2)!)).toEqual([1, 2]);
    expect(solve(new Float64Array([1, 2, 2, 4]), new Float64Array([1, 2]), 2)).toBeNull();
  });
});

describeEachBackend('prior corrections', (lk) => {
  it('contextualBias = −log mean softmax (float64 reference)', () => {
    const cf = randomLogits(3, 6, 2, 4);
    const exp = new Float64Array(6);
    for (let r = 0; r < 3; r++) {
      const row = Array.from(cf.subarray(r * 6, r * 6 + 6));
      const m = Math.max(...row);
      const s = row.reduce((a, v) => a + Math.exp(v - m), 0);
      row.forEach((v, j) => (exp[j] += Math.exp(v - m) / s / 3));
    }
    const got = lk().contextualBias(cf, 6);
    got.forEach((g, j) => expect(Math.abs(g + Math.log(exp[j]!))).toBeLessThan(1e-5));
    // With one content-free input, the corrected prediction on it is uniform (Zhao et al.'s goal).
    const one = cf.subarray(0, 6);
    const p = lk().softmax(lk().adjustLogits(one, 6, { bias: lk().contextualBias(one, 6) }), 6);
    p.forEach((v) => expect(v).toBeCloseTo(1 / 6, 5));
    expect(() => lk().contextualBias(new Float32Array(0), 6)).toThrow(/shape_mismatch/);
    expect(() => lk().contextualBias(new Float32Array([NaN, 1]), 2)).toThrow(/non_finite_input/);
  });

  for (const method of ['em', 'bbse'] as const) {
    it(`${method}: recovers the skewed target priors of the CIFAR-10 split, and the map helps`, () => {
      const r = lk().estimateLabelShift(split.source.x, C, split.source.y, split.target.x, { method });
      expect(r.method).toBe(method);
      expect(r.sourcePriors.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
      expect(r.targetPriors.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
      expect(l1(r.sourcePriors, split.truePriors)).toBeGreaterThan(0.6); // the shift is large
      expect(l1(r.targetPriors, split.truePriors)).toBeLessThan(0.05); // measured: EM 0.020, BBSE 0.024
      if (method === 'em') expect(r.iterations).toBeGreaterThan(1);
      r.bias.forEach((b, j) => expect(b).toBeCloseTo(Math.log(r.targetPriors[j]! / r.sourcePriors[j]!), 5));
      const before = lk().crossEntropy(split.target.x, C, split.target.y);
      const z = lk().applyCalibration(split.target.x, C, r.map);
      expect(lk().crossEntropy(z, C, split.target.y)).toBeLessThan(before * 0.6);
      const acc = (v: Int32Array) => v.reduce((s, p, i) => s + (p === split.target.y[i] ? 1 : 0), 0) / v.length;
      expect(acc(lk().argmax(z, C))).toBeGreaterThan(acc(lk().argmax(split.target.x, C)) + 0.02);
    });
  }

  it('EM matches a float64 reference of the issue\'s update on uncalibrated logits', () => {
    const r = lk().estimateLabelShift(split.source.x, C, split.source.y, split.target.x, { calibrate: 'none' });
    const ps = r.sourcePriors;
    const n = split.target.y.length;
    const p: number[][] = [];
    for (let i = 0; i < n; i++) {
      const row = Array.from(split.target.x.subarray(i * C, (i + 1) * C));
      const m = Math.max(...row);
      const s = row.reduce((a, v) => a + Math.exp(v - m), 0);
      p.push(row.map((v) => Math.exp(v - m) / s));
    }
    let pi = Array.from(ps);
    for (let it = 0; it < 100; it++) {
      const next = new Array<number>(C).fill(0);
      for (const row of p) {
        const w = row.map((v, j) => (v * pi[j]!) / ps[j]!);
        const s = w.reduce((a, b) => a + b, 0);
        w.forEach((v, j) => (next[j] += v / s / n));
      }
      const d = Math.max(...next.map((v, j) => Math.abs(v - pi[j]!)));
      pi = next;
      if (d <= 1e-6) break;
    }
    // float32 posteriors from the backend vs float64 here: the fixed point moves by far less than the tolerance.
    expect(l1(r.targetPriors, pi)).toBeLessThan(1e-4);
    expect(TARGET_MIX.length).toBe(C);
  });

  it('takes a float16 tensor and a zero-copy buffer (inputs that live in wasm memory)', () => {
    const n = 2000 * C;
    const half = Uint16Array.from(split.source.x.subarray(0, n), (v) => float32ToFloat16Bits(v));
    const target = lk().alloc(split.target.x.length);
    try {
      target.array.set(split.target.x);
      const tensor = { data: half, dims: [2000, C], type: 'float16' };
      const r = lk().estimateLabelShift(tensor, C, split.source.y.subarray(0, 2000), target);
      expect(l1(r.targetPriors, split.truePriors)).toBeLessThan(0.06);
    } finally {
      target.free();
    }
  });

  it('rejects bad arguments with coded errors', () => {
    const s = split.source;
    const t = split.target.x;
    expect(() => lk().estimateLabelShift(s.x, C, s.y, t, { method: 'mle' as never })).toThrow(/invalid_argument: options.method/);
    expect(() => lk().estimateLabelShift(s.x, C, s.y, t, { calibrate: 'dirichlet' as never })).toThrow(/options.calibrate/);
    expect(() => lk().estimateLabelShift(s.x, C, s.y.subarray(1), t)).toThrow(/shape_mismatch: sourceLabels/);
    expect(() => lk().estimateLabelShift(s.x, C, s.y.map((v) => (v === 3 ? 4 : v)), t)).toThrow(/class 3 never occurs/);
    expect(() => lk().estimateLabelShift(s.x, C, s.y, t.subarray(0, 15))).toThrow(/shape_mismatch/);
    const tn = t.slice(0, 20);
    tn[5] = NaN;
    expect(() => lk().estimateLabelShift(s.x, C, s.y, tn)).toThrow(/non_finite_input/);
  });
});
