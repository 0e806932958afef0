/**
 * lk.temperatureFitSums (issue 21 item 5): the temperature fit's per-pass sums in one call, on the JS
 * reference and on both wasm builds (SIMD128 and relaxed, pinned), against
 * - a float64 reference written here (p, log p and the moments in float64 from the logits), within the
 *   float32 error of p and log p;
 * - the computation the fitter made before, from lk.softmax and lk.logSoftmax plus a float64 loop,
 *   within 1e-12 (only the order of the float64 additions may differ: this is what keeps fitted
 *   temperatures at the bits of the build before);
 * with NaN / ±inf logits, all −inf rows, huge offsets, one class, class counts not a multiple of 4,
 * 128k-wide rows, temperatures on every kernel path, and bad input → LogitkitError codes.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { createWasmBackend } from '../src/backends/wasm.js';
import { relaxedSimdSupported } from '../src/init.js';
import type { Engine } from '../src/index.js';
import { engineOf, type Configuration } from './helpers/backends.js';
import { codeOf } from './helpers/checks.js';
import { randomLogits, randomTargets } from './helpers/random.js';

interface Sums {
  nll: number;
  gradient: number;
  curvature: number;
}

/** Per row, in float64 from x: z = x/T, p = softmax(z), NLL = lse(z) − z_y, and the moments of d = x − x_0. */
function reference(x: Float32Array, classes: number, labels: Int32Array, T: number): { rows: Sums[]; bound: Sums[] } {
  const rows: Sums[] = [];
  const bound: Sums[] = [];
  for (let r = 0; r < labels.length; r++) {
    const o = r * classes;
    const y = labels[r]!;
    let m = -Infinity;
    let nan = false;
    for (let j = 0; j < classes; j++) {
      const z = x[o + j]! / T;
      if (z !== z) nan = true;
      if (z > m) m = z;
    }
    if (nan) m = NaN;
    let s = 0;
    for (let j = 0; j < classes; j++) s += Math.exp(x[o + j]! / T - m);
    const lse = m + Math.log(s);
    const x0 = x[o]!;
    let m1 = 0;
    let m2 = 0;
    let spread = 0;
    let zmax = 0;
    for (let j = 0; j < classes; j++) {
      zmax = Math.max(zmax, Math.abs(x[o + j]! / T));
      const p = Math.exp(x[o + j]! / T - m) / s;
      const d = x[o + j]! - x0;
      m1 += p * d;
      m2 += p * d * d;
      spread = Math.max(spread, Math.abs(d));
    }
    const v = m2 - m1 * m1;
    rows.push({ nll: lse - x[o + y]! / T, gradient: m1 - (x[o + y]! - x0), curvature: v > 0 || v !== v ? v : 0 });
    // float32 p (≤ a few ulp relative each, plus the normalisation) and float32 log p (≤ a few ulp
    // of |z_y − m| + log s): 2e-6 relative is ≥ 10× the kernels' measured errors (softmax.ts header);
    // z = x / T is itself rounded to float32 (6e-8 |z|), which moves p by up to 6e-8 |z| relative.
    const zy = Math.abs(x[o + y]! / T);
    bound.push({
      nll: 2e-6 * (Math.abs(x[o + y]! / T - m) + Math.log(s)) + 2e-7 * (zy + Math.abs(m)),
      gradient: 2e-6 * spread * (1 + 0.1 * zmax),
      curvature: 4e-6 * spread * spread * (1 + 0.1 * zmax),
    });
  }
  return { rows, bound };
}

/** The fitter's loop before this op: lk.softmax, lk.logSoftmax and float64 sums, rows in order. */
function viaRowOps(lk: Engine, x: Float32Array, classes: number, labels: Int32Array, T: number): Sums {
  const p = lk.softmax(x, classes, { temperature: T });
  const lp = lk.logSoftmax(x, classes, { temperature: T });
  let nll = 0;
  let g = 0;
  let h = 0;
  for (let r = 0; r < labels.length; r++) {
    const o = r * classes;
    const t = labels[r]!;
    nll -= lp[o + t]!;
    const x0 = x[o]!;
    let m1 = 0;
    let m2 = 0;
    for (let j = 0; j < classes; j++) {
      const d = x[o + j]! - x0;
      const pd = p[o + j]! * d;
      m1 += pd;
      m2 += pd * d;
    }
    g += m1 - (x[o + t]! - x0);
    const v = m2 - m1 * m1;
    if (v > 0) h += v;
  }
  return { nll, gradient: g, curvature: h };
}

const close = (a: number, b: number, rel: number): boolean => a === b || Math.abs(a - b) <= rel * Math.max(Math.abs(a), Math.abs(b), 1e-300);

const CONFIGS: Configuration[] = ['js', 'wasm simd128', 'wasm relaxed', 'threads 2'];
// Every kernel path: T = 1 (no division), f32 division (long rows fused, short rows through softmax),
// a T whose f32 rounding is subnormal or infinite (softmax's f64 division).
const TEMPERATURES = [1, 0.37, 1.7, 1e300];
// Short rows (≤ 32: groups of four rows through the softmax kernels, 64-row chunks) and long rows.
const SHAPES: [rows: number, classes: number][] = [
  [150, 1], [150, 2], [150, 3], [150, 5], [150, 10], [131, 31], [67, 32], [41, 33], [37, 100], [9, 1000], [1, 131072],
];

for (const config of CONFIGS) {
  describe.skipIf(config === 'wasm relaxed' && !relaxedSimdSupported())(`temperatureFitSums [${config}]`, () => {
    const lk = () => engineOf(config);

    for (const [rows, classes] of SHAPES) {
      it(`${rows} × ${classes}: the float64 reference within float32's error, and the softmax/logSoftmax loop within 1e-12`, async () => {
        const e = await lk();
        const x = randomLogits(rows, classes, 3, rows * 7919 + classes, 0.5);
        const y = randomTargets(rows, classes, classes + 11);
        for (const T of TEMPERATURES) {
          const got = e.temperatureFitSums(x, classes, y, { temperature: T });
          expect(got.rows).toBe(rows);
          const ref = reference(x, classes, y, T);
          for (const k of ['nll', 'gradient', 'curvature'] as const) {
            const want = ref.rows.reduce((a, r) => a + r[k], 0);
            const tol = ref.bound.reduce((a, r) => a + r[k], 0) + 1e-12 * Math.abs(want);
            expect(Math.abs(got[k] - want), `T = ${T} ${k}: ${got[k]} vs ${want}`).toBeLessThanOrEqual(tol);
          }
          const ops = viaRowOps(e, x, classes, y, T);
          for (const k of ['nll', 'gradient', 'curvature'] as const) {
            // The gradient and curvature cancel (E_p[d] − d_y, E_p[d²] − E_p[d]²): 1e-12 of the
            // terms' size (spread, spread², which the bounds are 2e-6 of), not of the result.
            const scale = Math.abs(ops[k]) + (k === 'nll' ? 0 : 5e5 * ref.bound.reduce((a, r) => a + r[k], 0));
            expect(Math.abs(got[k] - ops[k]), `T = ${T} ${k}: ${got[k]} vs ${ops[k]}`).toBeLessThanOrEqual(1e-12 * scale + 1e-300);
          }
        }
      });
    }

    it('huge offsets: the moments are taken of x − x_0, so 1e6 + N(0, 9) rows keep their curvature', async () => {
      const e = await lk();
      const classes = 10;
      const x = randomLogits(64, classes, 3, 5, 1e6);
      const y = randomTargets(64, classes, 6);
      const got = e.temperatureFitSums(x, classes, y, { temperature: 1.3 });
      const ops = viaRowOps(e, x, classes, y, 1.3);
      expect(close(got.curvature, ops.curvature, 1e-12)).toBe(true);
      expect(got.curvature).toBeGreaterThan(0);
      // the same rows shifted to 0: equal up to the float32 rounding of the shifted logits (~6e-8 · 1e6)
      const shifted = x.map((v, i) => v - x[i - (i % classes)]!);
      const near = e.temperatureFitSums(shifted, classes, y, { temperature: 1.3 });
      expect(Math.abs(near.curvature - got.curvature)).toBeLessThan(0.1 * got.curvature);
    });

    it('blocks add up: the sums of two blocks equal those of their concatenation (1e-12)', async () => {
      const e = await lk();
      for (const classes of [10, 100]) {
        const x = randomLogits(203, classes, 2, classes, 0);
        const y = randomTargets(203, classes, 3);
        const cut = 77 * classes;
        const a = e.temperatureFitSums(x.subarray(0, cut), classes, y.subarray(0, 77), { temperature: 0.8 });
        const b = e.temperatureFitSums(x.subarray(cut), classes, y.subarray(77), { temperature: 0.8 });
        const all = e.temperatureFitSums(x, classes, y, { temperature: 0.8 });
        expect(close(a.nll + b.nll, all.nll, 1e-12)).toBe(true);
        expect(Math.abs(a.gradient + b.gradient - all.gradient)).toBeLessThan(1e-12 * 203 * 10);
        expect(close(a.curvature + b.curvature, all.curvature, 1e-12)).toBe(true);
      }
    });

    it('a block big enough to split across threads and into kernel slices: the bits of the same rows in small calls added in order', async () => {
      const e = await lk();
      for (const classes of [10, 100]) {
        const rows = 3_000_000 / classes; // 3M elements: three 1M-element slices, each split across the pool
        const x = randomLogits(rows, classes, 2, classes + 1, 0.25);
        const y = randomTargets(rows, classes, classes + 2);
        const all = e.temperatureFitSums(x, classes, y, { temperature: 0.9 });
        // rows one at a time can't be added in JS in the kernel's f64 order, but blocks of 1000 rows can
        // be compared to 1e-12 of the terms; a different split must not move a figure more than that.
        let nll = 0;
        let g = 0;
        let h = 0;
        let size = 0;
        for (let r = 0; r < rows; r += 1000) {
          const part = e.temperatureFitSums(x.subarray(r * classes, (r + 1000) * classes), classes, y.subarray(r, r + 1000), { temperature: 0.9 });
          nll += part.nll;
          g += part.gradient;
          h += part.curvature;
          size += Math.abs(part.gradient);
        }
        expect(close(all.nll, nll, 1e-12)).toBe(true);
        expect(Math.abs(all.gradient - g)).toBeLessThanOrEqual(1e-12 * size);
        expect(close(all.curvature, h, 1e-12)).toBe(true);
        expect(e.temperatureFitSums(x, classes, y, { temperature: 0.9 })).toEqual(all);
      }
    });

    it('one class: NLL 0, gradient 0, curvature 0 for every row', async () => {
      const e = await lk();
      const got = e.temperatureFitSums(new Float32Array([3, -1e30, 7.5]), 1, new Int32Array(3), { temperature: 2 });
      expect(got).toEqual({ rows: 3, nll: 0, gradient: 0, curvature: 0 });
    });

    it('NaN, ±inf logits and all −inf rows: gradient and curvature NaN, NLL as logSoftmax gives it', async () => {
      const e = await lk();
      for (const classes of [5, 40]) {
        const cases: [string, (row: Float32Array) => void, number][] = [
          ['NaN', (r) => (r[2] = NaN), NaN],
          ['+inf', (r) => (r[1] = Infinity), NaN],
          ['all −inf', (r) => r.fill(-Infinity), NaN],
          ['−inf at the label', (r) => (r[0] = -Infinity), Infinity],
        ];
        for (const [what, poison, nll] of cases) {
          const rows = 9;
          const x = randomLogits(rows, classes, 1, 3, 0);
          const y = new Int32Array(rows);
          poison(x.subarray(4 * classes, 5 * classes)); // row 4 (inside a short-row group)
          const got = e.temperatureFitSums(x, classes, y, { temperature: 1.1 });
          expect(got.gradient, `${what} C=${classes}`).toBeNaN();
          expect(got.curvature, `${what} C=${classes}`).toBeNaN();
          expect(got.nll, `${what} C=${classes}`).toBe(nll);
        }
        // −inf away from the label: p = 0 there, NLL finite (the row's −log p[y]).
        const x = randomLogits(9, classes, 1, 3, 0);
        x[4 * classes + 3] = -Infinity;
        const got = e.temperatureFitSums(x, classes, new Int32Array(9), { temperature: 1.1 });
        expect(Number.isFinite(got.nll)).toBe(true);
        expect(got.gradient).toBeNaN();
      }
    });

    it('a subnormal-f32 temperature takes softmax f64 path: tiny logits at T = 1e-39 are ordinary rows', async () => {
      const e = await lk();
      const classes = 40;
      const x = randomLogits(6, classes, 1e-39, 8, 0); // subnormal float32 logits
      const y = randomTargets(6, classes, 9);
      const got = e.temperatureFitSums(x, classes, y, { temperature: 1e-39 });
      const ops = viaRowOps(e, x, classes, y, 1e-39);
      expect(close(got.nll, ops.nll, 1e-12)).toBe(true);
      expect(Number.isFinite(got.gradient)).toBe(true);
    });

    it('bad input → LogitkitError with a stable code, and the engine keeps working', async () => {
      const e = await lk();
      const x = randomLogits(8, 4, 1, 1, 0);
      const y = randomTargets(8, 4, 2);
      const good = e.temperatureFitSums(x, 4, y, { temperature: 1.5 });
      expect(codeOf(() => e.temperatureFitSums(x, 4, new Int32Array([0, 1, 2, 4, 0, 0, 0, 0])))).toBe('target_out_of_range');
      expect(codeOf(() => e.temperatureFitSums(x, 4, new Int32Array([0, 1, 2, -1, 0, 0, 0, 0])))).toBe('target_out_of_range');
      expect(codeOf(() => e.temperatureFitSums(x, 4, new Int32Array(7)))).toBe('shape_mismatch');
      expect(codeOf(() => e.temperatureFitSums(x, 4, new Float32Array(8) as unknown as Int32Array))).toBe('invalid_argument');
      expect(codeOf(() => e.temperatureFitSums(x, 3, y))).toBe('shape_mismatch');
      for (const t of [0, -1, NaN, Infinity, '2'])
        expect(codeOf(() => e.temperatureFitSums(x, 4, y, { temperature: t as number })), String(t)).toBe('invalid_temperature');
      expect(codeOf(() => e.temperatureFitSums(x, 4, y, { temperatur: 2 } as never))).toBe('invalid_argument');
      expect(e.temperatureFitSums(x, 4, y, { temperature: 1.5 })).toEqual(good);
      expect(e.temperatureFitSums(new Float32Array(0), 4, new Int32Array(0))).toEqual({ rows: 0, nll: 0, gradient: 0, curvature: 0 });
    });

    it('takes a tensor (classes from dims) and Float64Array logits, as every op that takes logits', async () => {
      const e = await lk();
      const x = randomLogits(6, 3, 1, 4, 0);
      const y = randomTargets(6, 3, 5);
      const want = e.temperatureFitSums(x, 3, y, { temperature: 0.9 });
      expect(e.temperatureFitSums({ data: x, dims: [6, 3] }, y, { temperature: 0.9 })).toEqual(want);
      expect(e.temperatureFitSums(Float64Array.from(x), 3, y, { temperature: 0.9 })).toEqual(want);
    });
  });
}

describe('temperatureFitSums across threads', () => {
  it('a pool of two gives the bits of one thread (the same build: rows added in order after the kernel)', async () => {
    const one = await engineOf('wasm');
    const two = await engineOf('threads 2');
    expect(two.features.relaxedSimd).toBe(one.features.relaxedSimd);
    for (const classes of [10, 100, 1000]) {
      const rows = 2_000_000 / classes;
      const x = randomLogits(rows, classes, 2, classes + 3, 0);
      const y = randomTargets(rows, classes, classes + 4);
      for (const T of [1, 0.6]) expect(two.temperatureFitSums(x, classes, y, { temperature: T })).toEqual(one.temperatureFitSums(x, classes, y, { temperature: T }));
    }
  });
});

describe('temperatureFitSums on the backend: split across the pool, blocked copies', () => {
  const buildDir = new URL('../build/', import.meta.url);
  it('a pool of two really splits the kernel, and the sums keep the bits of one thread and of unblocked calls', async () => {
    const one = await createWasmBackend(new WebAssembly.Module(readFileSync(new URL('logitkit.wasm', buildDir))), { threads: 1, warmup: false });
    const two = await createWasmBackend(new WebAssembly.Module(readFileSync(new URL('logitkit-threads.wasm', buildDir))), { threads: 2, warmup: false });
    try {
      expect(two.features.threads).toBe(2);
      for (const classes of [10, 100]) {
        const rows = 400_000 / classes;
        const x = randomLogits(rows, classes, 2, classes + 5, 0);
        const y = randomTargets(rows, classes, classes + 6);
        const a = new Float64Array(3);
        const b = new Float64Array(3);
        const c = new Float64Array(3);
        one.runtime.blockBytes = 0; // whole-array copy
        one.temperatureFitSums(x, rows, classes, y, 0.7, a);
        const before = two.runtime.parallelCalls;
        two.runtime.blockBytes = 8192; // many copied blocks, each split
        two.temperatureFitSums(x, rows, classes, y, 0.7, b);
        expect(two.runtime.parallelCalls).toBeGreaterThan(before);
        expect(b).toEqual(a);
        one.runtime.blockBytes = 8192;
        one.temperatureFitSums(x, rows, classes, y, 0.7, c);
        expect(c).toEqual(a);
        expect(Number.isFinite(a[0]!) && a[2]! > 0).toBe(true);
      }
    } finally {
      one.dispose();
      two.dispose();
    }
  });
});

describe('temperatureFitSums on zero-copy buffers', () => {
  it('gives the plain-array sums when its work rows grow wasm memory under the buffer (several slices)', async () => {
    for (const config of ['wasm', 'threads 2'] as const) {
      const lk = await engineOf(config);
      const classes = 10;
      const rows = 300_000; // 3 slices of the kernel's 2^20 elements: growth detaches the caller's view
      const x = randomLogits(rows, classes, 2, 41, 0);
      const y = randomTargets(rows, classes, 42);
      const want = lk.temperatureFitSums(x, classes, y, { temperature: 1.3 });
      const buf = lk.alloc(rows * classes);
      const labels = lk.alloc(rows, 'int32');
      try {
        buf.array.set(x);
        labels.array.set(y);
        expect(lk.temperatureFitSums(buf, classes, labels.array, { temperature: 1.3 })).toEqual(want);
        expect(lk.temperatureFitSums(buf.array, classes, labels.array, { temperature: 1.3 })).toEqual(want);
      } finally {
        buf.free();
        labels.free();
      }
    }
  });
});
