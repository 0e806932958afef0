/**
 * crossEntropy's `out` (reduction 'none') and the class-target check that now runs in the backend
 * (a vectorised wasm pass from 1024 targets on, the JavaScript loop below that and in the js backend),
 * on every configuration of the matrix (js, simd128, relaxed, threads 2):
 * - out, a Float32Array or an alloc() buffer, receives exactly the bits of the call without out,
 *   for class targets (weights, ε, ignoreIndex) and probability targets, on rows of 1 to 33 classes
 *   with NaN, ±inf and all −inf rows, and on a batch big enough to be split across threads and copied
 *   in blocks;
 * - a bad target anywhere in a long array (the 16-wide body, its lanes, the scalar tail) is
 *   target_out_of_range naming the first bad row, as before, with out left untouched;
 * - bad out arguments are LogitkitErrors naming options.out, and the engine keeps working;
 * - 'sum' / 'mean' and the fused gradient, whose per-row parts now live in wasm memory from 4096
 *   rows, give the bits of plain arrays whether x, targets and gradient are buffers or not, also
 *   when the parts' block grows the memory under zero-copy views (their views are re-taken).
 */
import { expect, it } from 'vitest';
import { init, LogitkitError, type Engine } from '../src/index.js';
import { describeEachBackend, describeFor, engineFor } from './helpers/backends.js';
import { randomLogits, randomTargets } from './helpers/random.js';

function caught(fn: () => unknown): LogitkitError {
  let value: unknown;
  try {
    value = fn();
  } catch (e) {
    expect(value, 'an error must return no value').toBeUndefined();
    expect(e).toBeInstanceOf(LogitkitError);
    return e as LogitkitError;
  }
  throw new Error('expected a LogitkitError, got a result');
}

/** Logits with the special rows of SEMANTICS.md: NaN, +inf, −inf entries and an all −inf row. */
function specialLogits(rows: number, classes: number, seed: number): Float32Array {
  const x = randomLogits(rows, classes, 3, seed);
  if (rows > 1) x[classes + (classes > 1 ? 1 : 0)] = NaN;
  if (rows > 2) x[2 * classes] = Infinity;
  if (rows > 3) x[3 * classes + classes - 1] = -Infinity;
  if (rows > 4) x.fill(-Infinity, 4 * classes, 5 * classes);
  if (rows > 6) x[6 * classes] = 1e30;
  return x;
}

const sameBits = (got: Float32Array, want: Float32Array): void => {
  expect(got.length).toBe(want.length);
  const g = new Uint32Array(got.buffer, got.byteOffset, got.length);
  const w = new Uint32Array(want.buffer, want.byteOffset, want.length);
  for (let i = 0; i < got.length; i++) if (g[i] !== w[i]) expect([i, got[i]]).toEqual([i, want[i]]);
};

/** The first target neither in [0, classes) nor ignoreIndex (the check's contract), or −1. */
function firstBad(t: Int32Array, classes: number, ignoreIndex: number): number {
  for (let i = 0; i < t.length; i++) if (t[i] !== ignoreIndex && !(t[i]! >= 0 && t[i]! < classes)) return i;
  return -1;
}

describeEachBackend('crossEntropy out', (lk: () => Engine) => {
  const options: { weighted?: boolean; labelSmoothing?: number; ignoreIndex?: number }[] = [
    {},
    { labelSmoothing: 0.1 },
    { weighted: true, ignoreIndex: 1 },
    { weighted: true, labelSmoothing: 0.25, ignoreIndex: -1 },
  ];

  it("writes the same bits into out (Float32Array and alloc() buffer) as a fresh result: class and probability targets", () => {
    for (const classes of [1, 3, 4, 10, 32, 33]) {
      for (const rows of [1, 5, 9, 16]) {
        const x = specialLogits(rows, classes, rows * 100 + classes);
        const t = randomTargets(rows, classes, rows + classes);
        if (rows > 7 && classes > 1) t[7] = -1; // ignored where ignoreIndex is −1, else a bad target below
        const weight = Float32Array.from({ length: classes }, (_, c) => 0.5 + c / classes);
        for (const o of options) {
          const { weighted, ...rest } = o;
          const opts = { reduction: 'none' as const, ...rest, ...(weighted ? { weight } : {}) };
          const target = (opts.ignoreIndex ?? -100) === -1 ? t : t.map((v) => (v < 0 ? 0 : v));
          const want = lk().crossEntropy(x, classes, target, opts);
          const out = new Float32Array(rows).fill(7);
          const r = lk().crossEntropy(x, classes, target, { ...opts, out });
          expect(r).toBe(out);
          sameBits(out, want);
          const ob = lk().alloc(rows);
          ob.array.fill(7);
          const rb = lk().crossEntropy(x, classes, target, { ...opts, out: ob });
          sameBits(rb, want);
          sameBits(ob.array, want);
          ob.free();
        }
        const q = new Float32Array(rows * classes).fill(1 / classes);
        const wantSoft = lk().crossEntropy(x, classes, q, { reduction: 'none', labelSmoothing: 0.1 });
        const outSoft = new Float32Array(rows);
        sameBits(lk().crossEntropy(x, classes, q, { reduction: 'none', labelSmoothing: 0.1, out: outSoft }), wantSoft);
      }
    }
  });

  it('a large batch (split across threads, copied in blocks) gives the same bits with out as without, buffers or not', () => {
    const rows = 40_003;
    const classes = 10;
    const x = specialLogits(rows, classes, 5);
    const t = randomTargets(rows, classes, 6);
    t[rows - 2] = -100;
    const want = lk().crossEntropy(x, classes, t, { reduction: 'none' });
    expect(want[rows - 2]).toBe(0);
    const xb = lk().alloc(x.length);
    xb.array.set(x);
    const tb = lk().alloc(rows, 'int32');
    tb.array.set(t);
    const ob = lk().alloc(rows);
    try {
      sameBits(lk().crossEntropy(xb, classes, tb, { reduction: 'none', out: ob }), want);
      sameBits(lk().crossEntropy(xb, classes, t, { reduction: 'none', out: ob }), want);
      const out = new Float32Array(rows);
      sameBits(lk().crossEntropy(x, classes, tb, { reduction: 'none', out }), want);
      // the reductions read the same targets through the same check
      expect(lk().crossEntropy(xb, classes, tb)).toBe(lk().crossEntropy(x, classes, t));
    } finally {
      xb.free();
      tb.free();
      ob.free();
    }
  });

  it('a bad target anywhere in a long array is target_out_of_range naming the first one, out untouched', () => {
    const classes = 10;
    for (const rows of [1023, 1024, 1040, 4099]) {
      const x = randomLogits(rows, classes, 2, rows);
      const base = randomTargets(rows, classes, rows + 1);
      const positions = [0, 1, 3, 4, 15, 16, 17, 31, rows - 17, rows - 4, rows - 3, rows - 1].filter((p) => p >= 0 && p < rows);
      for (const [ignoreIndex, bads] of [
        [-100, [classes, -1, -2147483648, 2147483647, -99, -101]],
        [-1, [-100, classes, classes + 100]],
        [classes + 5, [classes + 4, classes + 6, -1]],
        [2 ** 32 + 3, [-1, classes]], // no int32 target equals it (a kernel's i32 would wrap it to 3)
      ] as const) {
        for (const p of positions) {
          for (const bad of bads) {
            const t = base.slice();
            t[p] = bad;
            // a second bad target after the first: the message names the first
            if (p + 5 < rows) t[p + 5] = classes;
            const out = new Float32Array(rows).fill(3);
            const e = caught(() => lk().crossEntropy(x, classes, t, { reduction: 'none', ignoreIndex, out }));
            expect(e.code).toBe('target_out_of_range');
            expect(e.argument).toBe('target');
            const first = firstBad(t, classes, ignoreIndex);
            expect(first).toBe(p);
            expect(e.message).toContain(`target[${p}] = ${t[p]}, expected 0 ≤ t < ${classes} or ignoreIndex (${ignoreIndex})`);
            expect(out.every((v) => v === 3)).toBe(true);
            expect(caught(() => lk().crossEntropyWithGrad(x, classes, t, { ignoreIndex })).message).toContain(`target[${p}] =`);
          }
        }
        // targets equal to ignoreIndex (or any class) everywhere pass, and give 0 where ignored
        const t = base.slice();
        if (ignoreIndex === (ignoreIndex | 0)) t[rows - 1] = ignoreIndex;
        const r = lk().crossEntropy(x, classes, t, { reduction: 'none', ignoreIndex });
        if (ignoreIndex === (ignoreIndex | 0)) expect(r[rows - 1]).toBe(0);
        expect(Number.isFinite(r[0])).toBe(true);
      }
    }
  });

  it('bad out arguments name options.out, and the engine keeps working', () => {
    const rows = 6;
    const classes = 5;
    const x = randomLogits(rows, classes, 2, 9);
    const t = randomTargets(rows, classes, 10);
    const want = lk().crossEntropy(x, classes, t, { reduction: 'none' });
    const cases: [object, string][] = [
      [{ reduction: 'mean', out: new Float32Array(rows) }, 'invalid_argument'],
      [{ out: new Float32Array(rows) }, 'invalid_argument'], // the default reduction, 'mean'
      [{ reduction: 'sum', out: new Float32Array(rows) }, 'invalid_argument'],
      [{ reduction: 'none', out: new Float32Array(rows + 1) }, 'shape_mismatch'],
      [{ reduction: 'none', out: new Float64Array(rows) }, 'invalid_argument'],
      [{ reduction: 'none', out: [0, 0, 0, 0, 0, 0] }, 'invalid_argument'],
      [{ reduction: 'none', out: lk().alloc(rows, 'int32') }, 'invalid_argument'],
    ];
    for (const [o, code] of cases) {
      const e = caught(() => lk().crossEntropy(x, classes, t, o as never));
      expect(e.code).toBe(code);
      expect(e.argument).toBe('options.out');
    }
    // the logits themselves (classes = 1: as many losses as logits), and a view overlapping the targets
    const x1 = randomLogits(rows, 1, 1, 3);
    expect(caught(() => lk().crossEntropy(x1, 1, new Int32Array(rows), { reduction: 'none', out: x1 })).argument).toBe('options.out');
    const shared = new ArrayBuffer(rows * 8);
    const ts = new Int32Array(shared, 0, rows);
    ts.set(t);
    for (const at of [0, 4, (rows - 1) * 4]) {
      const e = caught(() => lk().crossEntropy(x, classes, ts, { reduction: 'none', out: new Float32Array(shared, at, rows) }));
      expect([e.code, e.argument]).toEqual(['invalid_argument', 'options.out']);
    }
    // a separate part of the same ArrayBuffer is fine
    sameBits(lk().crossEntropy(x, classes, ts, { reduction: 'none', out: new Float32Array(shared, rows * 4, rows) }), want);
    sameBits(lk().crossEntropy(x, classes, t, { reduction: 'none' }), want);
  });
});

describeEachBackend('crossEntropy reductions over many rows', (lk: () => Engine) => {
  it("'sum' / 'mean' / the gradient: buffers or plain arrays, the same bits; against the js backend within §11", async () => {
    const rows = 9_001;
    const classes = 12;
    const x = specialLogits(rows, classes, 21).map((v) => (Number.isFinite(v) ? v : 0.5));
    const t = randomTargets(rows, classes, 22);
    t[5] = 3; // ignored where ignoreIndex is 3
    const weight = Float32Array.from({ length: classes }, (_, c) => 1 + (c % 3));
    const js = await engineFor('js');
    for (const o of [{}, { labelSmoothing: 0.2 }, { weight, ignoreIndex: 3 }, { weight, labelSmoothing: 0.1, ignoreIndex: 3 }]) {
      for (const reduction of ['sum', 'mean'] as const) {
        const want = lk().crossEntropy(x, classes, t, { ...o, reduction });
        const xb = lk().alloc(x.length);
        xb.array.set(x);
        const tb = lk().alloc(rows, 'int32');
        tb.array.set(t);
        const gb = lk().alloc(x.length);
        try {
          expect(lk().crossEntropy(xb, classes, tb, { ...o, reduction })).toBe(want);
          const g = lk().crossEntropyWithGrad(x, classes, t, { ...o, reduction });
          const gz = lk().crossEntropyWithGrad(xb, classes, tb, { ...o, reduction, out: gb });
          expect(gz.loss).toBe(g.loss);
          expect(g.loss).toBe(want);
          sameBits(gb.array, g.grad);
          const ref = js.crossEntropy(x, classes, t, { ...o, reduction });
          expect(Math.abs(want - ref)).toBeLessThanOrEqual(1e-6 + 1e-5 * Math.abs(ref));
        } finally {
          xb.free();
          tb.free();
          gb.free();
        }
      }
    }
  });
});

describeFor(['wasm', 'wasm simd128'], 'crossEntropy reductions: zero-copy views across memory growth', () => {
  it('a fresh engine whose memory grows during the call gives the plain arrays\' result', async () => {
    const rows = 300_000;
    const classes = 4;
    const x = randomLogits(rows, classes, 2, 31);
    const t = randomTargets(rows, classes, 32);
    t[rows - 1] = -100;
    for (const reduction of ['mean', 'sum'] as const) {
      for (const labelSmoothing of [0, 0.1]) {
        const lk = await init({ backend: 'wasm' });
        try {
          const want = lk.crossEntropy(x, classes, t, { reduction, labelSmoothing });
          const fresh = await init({ backend: 'wasm' });
          try {
            const xb = fresh.alloc(x.length);
            xb.array.set(x);
            const tb = fresh.alloc(rows, 'int32');
            tb.array.set(t);
            const before = fresh.memoryStats().wasmBytes;
            expect(fresh.crossEntropy(xb, classes, tb, { reduction, labelSmoothing })).toBe(want);
            // the parts' block (8 or 16 bytes a row) did not fit: memory grew under xb and tb
            expect(fresh.memoryStats().wasmBytes).toBeGreaterThan(before);
            expect(tb.array[rows - 1]).toBe(-100);
          } finally {
            fresh.dispose();
          }
        } finally {
          lk.dispose();
        }
      }
    }
  });
});
