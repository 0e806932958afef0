// adjustLogits (z' = W (x / T) + b) on both backends against an independent float64 reference,
// plus the threads build (bit-identical to one thread), special values and argument errors.
import { describe, expect, it } from 'vitest';
import { init } from '../src/index.js';
import { float32ToFloat16Bits } from '../src/half.js';
import { LogitkitError } from '../src/errors.js';
import { describeEachBackend } from './helpers/backends.js';
import { randomLogits, rng } from './helpers/random.js';

const U = 2 ** -24;

/** Written from the definition, independently of src/backends/js.ts: float64, one rounding. */
function reference(x: Float32Array, classes: number, o: { temperature?: number; scale?: Float32Array; bias?: Float32Array; matrix?: Float32Array }): Float64Array {
  const T = o.temperature ?? 1;
  const rows = x.length / classes;
  const out = new Float64Array(x.length);
  for (let r = 0; r < rows; r++) {
    for (let i = 0; i < classes; i++) {
      let v: number;
      if (o.matrix) {
        v = 0;
        for (let j = 0; j < classes; j++) v += o.matrix[i * classes + j]! * (x[r * classes + j]! / T);
      } else v = (x[r * classes + i]! / T) * (o.scale ? o.scale[i]! : 1);
      out[r * classes + i] = v + (o.bias ? o.bias[i]! : 0);
    }
  }
  return out;
}

/** Bound: half an ulp of the result plus float64 noise on the terms summed (matrix: Σ|W_ij z_j|). */
function bound(x: Float32Array, classes: number, o: { temperature?: number; scale?: Float32Array; bias?: Float32Array; matrix?: Float32Array }, k: number): number {
  const T = o.temperature ?? 1;
  const r = Math.floor(k / classes);
  const i = k % classes;
  let mag = 0;
  if (o.matrix) for (let j = 0; j < classes; j++) mag += Math.abs(o.matrix[i * classes + j]! * x[r * classes + j]! / T);
  else mag = Math.abs((x[k]! / T) * (o.scale?.[i] ?? 1));
  return 2 ** -50 * (mag + Math.abs(o.bias?.[i] ?? 0));
}

function expectClose(got: Float32Array, exp: Float64Array, x: Float32Array, classes: number, o: Parameters<typeof reference>[2]): void {
  let worst = 0;
  for (let k = 0; k < exp.length; k++) {
    const e = exp[k]!;
    const g = got[k]!;
    if (!Number.isFinite(Math.fround(e))) {
      expect(Object.is(g, Math.fround(e)) || (Number.isNaN(g) && Number.isNaN(e)), `[${k}] ${g} vs ${e}`).toBe(true);
      continue;
    }
    const err = Math.abs(g - e);
    const tol = 0.5 * U * 2 * Math.abs(e) + bound(x, classes, o, k) + 1e-45;
    worst = Math.max(worst, err / tol);
    if (err > tol) expect.fail(`[${k}] got ${g}, expected ${e} (error ${err}, bound ${tol})`);
  }
  expect(worst).toBeLessThanOrEqual(1);
}

function vec(n: number, seed: number, mean: number, sd: number): Float32Array {
  const r = rng(seed);
  return Float32Array.from({ length: n }, () => mean + sd * (2 * r() - 1));
}

describeEachBackend('adjustLogits', (lk) => {
  const widths = [1, 2, 3, 4, 5, 7, 10, 16, 33, 130, 1031];
  for (const C of widths) {
    it(`matches the float64 reference, ${C} classes (T, scale, bias, matrix)`, () => {
      const rows = C > 100 ? 3 : 17;
      const x = randomLogits(rows, C, 4, 100 + C);
      const cases = [
        {},
        { temperature: 0.37 },
        { bias: vec(C, 2, 0, 3) },
        { temperature: 3, scale: vec(C, 3, 1, 0.5), bias: vec(C, 4, 0, 2) },
        { scale: vec(C, 5, 0, 2) },
        ...(C <= 130 ? [{ matrix: vec(C * C, 6, 0, 1) }, { temperature: 1.7, matrix: vec(C * C, 7, 0, 1), bias: vec(C, 8, 0, 1) }] : []),
      ];
      for (const o of cases) {
        const got = lk().adjustLogits(x, C, o);
        expectClose(got, reference(x, C, o), x, C, o);
      }
    });
  }

  it('a 128k-wide row with scale and bias', () => {
    const C = 128256;
    const x = randomLogits(2, C, 6, 9);
    const o = { temperature: 0.7, scale: vec(C, 10, 1, 0.3), bias: vec(C, 11, 0, 1) };
    expectClose(lk().adjustLogits(x, C, o), reference(x, C, o), x, C, o);
  });

  it('identity (no options) copies exactly; in place works without a matrix', () => {
    const x = randomLogits(5, 7, 3, 12);
    expect(Array.from(lk().adjustLogits(x, 7))).toEqual(Array.from(x));
    const y = x.slice();
    const bias = vec(7, 13, 0, 1);
    const r = lk().adjustLogits(y, 7, { bias, out: y });
    expect(r).toBe(y);
    expect(Array.from(y)).toEqual(Array.from(lk().adjustLogits(x, 7, { bias })));
  });

  it('special values follow IEEE arithmetic', () => {
    const x = new Float32Array([-Infinity, 1, NaN, Infinity, -Infinity, -Infinity, -Infinity, -Infinity]);
    const got = lk().adjustLogits(x, 4, { scale: new Float32Array([2, 0, 1, 0]), bias: new Float32Array([1, 1, 1, 1]) });
    // row 0: -inf·2+1, 1·0+1, NaN, inf·0 = NaN; row 1: all -inf, the zero weight makes NaN
    expect(Array.from(got)).toEqual([-Infinity, 1, NaN, NaN, -Infinity, NaN, -Infinity, NaN]);
    const m = lk().adjustLogits(new Float32Array([-Infinity, 0]), 2, { matrix: new Float32Array([1, 0, 0, 1]) });
    expect(m[0]).toBe(-Infinity); // 1·(−inf) + 0·0
    expect(m[1]).toBeNaN(); // 0·(−inf) in the dot product
  });

  it('takes half-precision bits and tensors like other ops', () => {
    const x = new Float32Array([0.5, -1, 2, 4]);
    const bits = Uint16Array.from(x, (v) => float32ToFloat16Bits(v));
    const o = { bias: new Float32Array([1, 2]) };
    expect(Array.from(lk().adjustLogits(bits, 2, { ...o, dtype: 'float16' }))).toEqual([1.5, 1, 3, 6]);
    expect(Array.from(lk().adjustLogits({ data: x, dims: [2, 2] }, 2, o))).toEqual([1.5, 1, 3, 6]);
  });

  it('works on zero-copy buffers (x, parameters and out)', () => {
    const C = 6;
    const x = lk().alloc(C * 3);
    x.array.set(randomLogits(3, C, 2, 14));
    const m = lk().alloc(C * C);
    m.array.set(vec(C * C, 15, 0, 1));
    const out = lk().alloc(C * 3);
    try {
      const got = lk().adjustLogits(x, C, { matrix: m, out });
      const exp = reference(x.array, C, { matrix: m.array });
      expectClose(got, exp, x.array, C, { matrix: m.array });
    } finally {
      x.free();
      m.free();
      out.free();
    }
  });

  it('rejects bad arguments with coded errors and keeps working', () => {
    const x = new Float32Array(6);
    const code = (o: unknown): string | undefined => {
      try {
        lk().adjustLogits(x, 3, o as never);
      } catch (e) {
        expect(e).toBeInstanceOf(LogitkitError);
        return `${(e as LogitkitError).code} ${(e as LogitkitError).argument}`;
      }
      return undefined;
    };
    expect(code({ temperature: 0 })).toBe('invalid_temperature options.temperature');
    expect(code({ temperature: NaN })).toBe('invalid_temperature options.temperature');
    expect(code({ scale: new Float32Array(2) })).toBe('shape_mismatch options.scale');
    expect(code({ bias: new Float32Array(4) })).toBe('shape_mismatch options.bias');
    expect(code({ matrix: new Float32Array(3) })).toBe('shape_mismatch options.matrix');
    expect(code({ bias: [1, 2, 3] })).toBe('invalid_argument options.bias');
    expect(code({ bias: new Float64Array(3) })).toBe('invalid_argument options.bias');
    expect(code({ bias: new Float32Array([0, NaN, 0]) })).toBe('invalid_argument options.bias');
    expect(code({ scale: new Float32Array([1, Infinity, 1]) })).toBe('invalid_argument options.scale');
    expect(code({ scale: new Float32Array(3), matrix: new Float32Array(9) })).toBe('invalid_argument options.matrix');
    expect(code({ matrix: new Float32Array(9), out: x })).toBe('invalid_argument options.out');
    expect(code({ out: new Float32Array(5) })).toBe('shape_mismatch options.out');
    expect(() => lk().adjustLogits(new Float32Array(5), 3)).toThrow(/shape_mismatch/);
    expect(Array.from(lk().adjustLogits(new Float32Array([1, 2, 3]), 3, { bias: new Float32Array([1, 1, 1]) }))).toEqual([2, 3, 4]);
  });
});

describe('adjustLogits on the threads build', () => {
  it('is bit-identical to one thread when the rows are split', async () => {
    const one = await init({ backend: 'wasm' });
    const two = await init({ threads: 2 });
    try {
      for (const C of [10, 1000]) {
        const rows = C === 10 ? 20000 : 200;
        const x = randomLogits(rows, C, 3, 16);
        const o = { temperature: 1.3, scale: vec(C, 17, 1, 0.2), bias: vec(C, 18, 0, 1) };
        expect(Array.from(two.adjustLogits(x, C, o))).toEqual(Array.from(one.adjustLogits(x, C, o)));
        if (C === 10) {
          const m = { matrix: vec(100, 19, 0, 1) };
          expect(Array.from(two.adjustLogits(x, C, m))).toEqual(Array.from(one.adjustLogits(x, C, m)));
        }
      }
    } finally {
      one.dispose();
      two.dispose();
    }
  });
});
