/**
 * The core spec suite (SEMANTICS.md §1–3, §8), written once and run against
 * every backend, comparing each op with a float64 reference computed here.
 */
import { describe, expect, it } from 'vitest';
import { describeEachBackend } from './helpers/backends.js';
import { expectClose, expectExact, logTol, probTol, spreadOf } from './helpers/tolerance.js';
import { normal, randomLogits, rng } from './helpers/random.js';
import {
  refArgmax,
  refLogSigmoid,
  refLogSoftmax,
  refLogSumExp,
  refSigmoid,
  refSoftmax,
  refTopk,
} from './reference/index.js';
import type { Engine } from '../src/index.js';

const INF = Infinity;
const f32 = (a: number[]): Float32Array => Float32Array.from(a);

interface Case {
  name: string;
  x: Float32Array;
  classes: number;
}

/** The rows of SEMANTICS' edge tables, plus the extremes the issue names. */
function edgeCases(): Case[] {
  const c: Case[] = [
    { name: 'finite', x: f32([1, 2, 3, 4, 5]), classes: 5 },
    { name: 'partial -inf mask', x: f32([1, -INF, 3, -INF, 0.5]), classes: 5 },
    { name: 'all -inf', x: f32([-INF, -INF, -INF, -INF, -INF]), classes: 5 },
    { name: 'one +inf', x: f32([1, INF, 3, 0, -2]), classes: 5 },
    { name: '+inf and -inf', x: f32([-INF, INF, 3, 0, -2]), classes: 5 },
    { name: 'two +inf', x: f32([INF, INF, 0, 0, 0]), classes: 5 },
    { name: 'NaN', x: f32([1, NaN, 3, 0, -2]), classes: 5 },
    { name: 'NaN and +inf', x: f32([NaN, INF, 3, 0, -2]), classes: 5 },
    { name: 'NaN and all -inf', x: f32([-INF, NaN, -INF, -INF, -INF]), classes: 5 },
    { name: '±1e30', x: f32([1e30, -1e30, 0, 1e30, 5]), classes: 5 },
    { name: '±3e38', x: f32([3e38, -3e38, 0, 1, -1]), classes: 5 },
    { name: '3e38 twice', x: f32([3e38, 3e38, -3e38, -3e38, 0]), classes: 5 },
    { name: '-3e38 only', x: f32([-3e38, -3e38, -3e38, -3e38, -3e38]), classes: 5 },
    { name: 'equal logits', x: f32([7, 7, 7, 7, 7, 7, 7]), classes: 7 },
    { name: 'one dominant', x: f32([0, 0, 100, 0, 0, 0, 0]), classes: 7 },
    { name: 'one dominant (large)', x: f32([-50, -50, 60, -50, -50, -50, -50]), classes: 7 },
    { name: 'C = 1 finite', x: f32([3, -2, 0, 1e30]), classes: 1 },
    { name: 'C = 1 specials', x: f32([INF, -INF, NaN]), classes: 1 },
    { name: 'mixed rows', x: f32([0, 1, -INF, -INF, -INF, -INF, NaN, 2, 5, INF, 0, 0]), classes: 2 },
    { name: 'signed zeros', x: f32([-0, 0, -0, 0]), classes: 4 },
  ];
  // A row 1e6 + N(0,1): catches log_softmax computed as z − (m + log s).
  const r = rng(7);
  const big = new Float32Array(1000);
  for (let i = 0; i < big.length; i++) big[i] = 1e6 + normal(r);
  c.push({ name: '1e6 + N(0,1)', x: big, classes: 1000 });
  return c;
}

const LENGTHS = [1, 2, 3, 5, 7, 17, 1000, 32000, 128256];
const SCALES = [0.1, 1, 10, 100];

function randomCases(): Case[] {
  const cases: Case[] = [];
  let seed = 1;
  for (const C of LENGTHS) {
    const rows = C >= 32000 ? 2 : C >= 1000 ? 4 : 9;
    for (const scale of C >= 32000 ? [1, 100] : SCALES) {
      cases.push({ name: `random C=${C} scale=${scale}`, x: randomLogits(rows, C, scale, seed++), classes: C });
    }
  }
  // Several rows whose last row is masked to -inf partially or completely.
  const masked = randomLogits(6, 37, 3, 99);
  for (let j = 0; j < 37; j += 3) masked[2 * 37 + j] = -INF;
  masked.fill(-INF, 5 * 37, 6 * 37);
  cases.push({ name: 'random C=37 with -inf masks', x: masked, classes: 37 });
  return cases;
}

const ALL = [...edgeCases(), ...randomCases()];
const TEMPS = [0.5, 2, 0.07, 13];

function rowwiseChecks(lk: () => Engine): void {
  describe('logsumexp (§1)', () => {
    for (const c of ALL) {
      it(c.name, () => {
        const { S } = spreadOf(c.x, c.classes);
        expectClose(lk().logsumexp(c.x, c.classes), refLogSumExp(c.x, c.classes), logTol({ C: c.classes, S }), c.name);
      });
    }
    it('a 128,256-wide row is within 2e-6 absolute of float64', () => {
      const x = randomLogits(1, 128256, 1, 4242);
      const got = lk().logsumexp(x, 128256)[0]!;
      expect(Math.abs(got - refLogSumExp(x, 128256)[0]!)).toBeLessThanOrEqual(2e-6);
    });
  });

  describe('softmax (§2)', () => {
    for (const c of ALL) {
      it(c.name, () => {
        const { S } = spreadOf(c.x, c.classes);
        expectClose(lk().softmax(c.x, c.classes), refSoftmax(c.x, c.classes), probTol({ C: c.classes, S }), c.name);
      });
    }
  });

  describe('logSoftmax (§2)', () => {
    for (const c of ALL) {
      it(c.name, () => {
        const { S } = spreadOf(c.x, c.classes);
        expectClose(lk().logSoftmax(c.x, c.classes), refLogSoftmax(c.x, c.classes), logTol({ C: c.classes, S }), c.name);
      });
    }
  });

  describe('temperature ≠ 1 (z = x / T)', () => {
    const cases = ALL.filter((c) => c.x.length <= 40000);
    for (const T of TEMPS) {
      for (const c of cases) {
        it(`T=${T} ${c.name}`, () => {
          const { S, zmax } = spreadOf(c.x, c.classes, T);
          const o = { temperature: T };
          expectClose(lk().logsumexp(c.x, c.classes, o), refLogSumExp(c.x, c.classes, T), logTol({ C: c.classes, S, zmax, T }), 'lse');
          expectClose(lk().softmax(c.x, c.classes, o), refSoftmax(c.x, c.classes, T), probTol({ C: c.classes, S, zmax, T }), 'softmax');
          expectClose(lk().logSoftmax(c.x, c.classes, o), refLogSoftmax(c.x, c.classes, T), logTol({ C: c.classes, S, zmax, T }), 'logSoftmax');
        });
      }
    }
    it('T = 1 is exactly the same as no temperature', () => {
      const x = randomLogits(3, 17, 5, 3);
      expectExact(lk().softmax(x, 17, { temperature: 1 }), lk().softmax(x, 17));
    });
    it('extreme temperatures follow float32 arithmetic of x / T', () => {
      const x = f32([1, 2, 3, 1e-3]);
      for (const T of [1e-300, 1e-40, 1e300, 1e-20]) {
        const { S, zmax } = spreadOf(x, 4, T);
        expectClose(lk().logSoftmax(x, 4, { temperature: T }), refLogSoftmax(x, 4, T), logTol({ C: 4, S, zmax, T }), `T=${T}`);
        expectClose(lk().softmax(x, 4, { temperature: T }), refSoftmax(x, 4, T), probTol({ C: 4, S, zmax, T }), `T=${T}`);
      }
    });
  });

  describe('in place (out === x)', () => {
    for (const C of [1, 5, 17, 1000]) {
      it(`softmax and logSoftmax, C=${C}`, () => {
        const x = randomLogits(4, C, 3, C);
        const { S } = spreadOf(x, C);
        const a = x.slice();
        const ra = lk().softmax(a, C, { out: a });
        expect(ra).toBe(a);
        expectClose(a, refSoftmax(x, C), probTol({ C, S }));
        const b = x.slice();
        lk().logSoftmax(b, C, { out: b, temperature: 0.5 });
        const t = spreadOf(x, C, 0.5);
        expectClose(b, refLogSoftmax(x, C, 0.5), logTol({ C, S: t.S, zmax: t.zmax, T: 0.5 }));
      });
    }
    it('sigmoid and logSigmoid', () => {
      const x = randomLogits(1, 103, 20, 5);
      const a = x.slice();
      lk().sigmoid(a, { out: a });
      expectClose(a, refSigmoid(x), probTol({ C: 1, S: 0, sigmoid: true }));
      const b = x.slice();
      lk().logSigmoid(b, { out: b });
      expectClose(b, refLogSigmoid(x), logTol({ C: 1, S: 0 }));
    });
    it('a separate out array receives the result and x is untouched', () => {
      const x = randomLogits(2, 9, 2, 8);
      const keep = x.slice();
      const out = new Float32Array(18);
      expect(lk().softmax(x, 9, { out })).toBe(out);
      expectExact(x, keep);
      const lse = new Float32Array(2);
      expect(lk().logsumexp(x, 9, { out: lse })).toBe(lse);
      expectClose(lse, refLogSumExp(x, 9), logTol({ C: 9, S: spreadOf(x, 9).S }));
    });
  });
}

function elementwiseChecks(lk: () => Engine): void {
  describe('sigmoid and logSigmoid (§3)', () => {
    const specials = f32([0, -0, 1, -1, 20, -20, 88, -88, -87, -100, -104, -110, 1e-8, -1e-8, 30, 50, 100, 1e30, -1e30, 3e38, -3e38, INF, -INF, NaN]);
    const random = randomLogits(1, 4099, 15, 11);
    for (const [name, x] of [['specials', specials], ['random 4099', random]] as const) {
      it(`sigmoid ${name}`, () => expectClose(lk().sigmoid(x), refSigmoid(x), probTol({ C: 1, S: 0, sigmoid: true }), name));
      it(`logSigmoid ${name}`, () => expectClose(lk().logSigmoid(x), refLogSigmoid(x), logTol({ C: 1, S: 0 }), name));
    }
    it('special values exactly', () => {
      expectExact(lk().sigmoid(f32([INF, -INF, NaN])), [1, 0, NaN]);
      expectExact(lk().logSigmoid(f32([INF, -INF, NaN])), [0, -INF, NaN]);
    });
    it('logSigmoid keeps full relative precision at both ends', () => {
      const x = f32([-80, -60, -30, 20, 40, 60, 80, 87]);
      const got = lk().logSigmoid(x);
      const exp = refLogSigmoid(x);
      for (let i = 0; i < x.length; i++) expect(Math.abs(got[i]! - exp[i]!) / Math.abs(exp[i]!)).toBeLessThan(4e-7);
    });
    for (const n of [1, 2, 3, 5, 7, 17]) {
      it(`length ${n}`, () => {
        const x = randomLogits(1, n, 5, n + 100);
        expectClose(lk().sigmoid(x), refSigmoid(x), probTol({ C: 1, S: 0, sigmoid: true }));
        expectClose(lk().logSigmoid(x), refLogSigmoid(x), logTol({ C: 1, S: 0 }));
      });
    }
  });
}

function selectionChecks(lk: () => Engine): void {
  describe('argmax (§8)', () => {
    for (const c of ALL) it(c.name, () => expectExact(lk().argmax(c.x, c.classes), refArgmax(c.x, c.classes), c.name));
    it('ties go to the lowest index, -0 == +0, first NaN wins, all -inf gives 0', () => {
      expectExact(lk().argmax(f32([1, 3, 3, 2]), 4), [1]);
      expectExact(lk().argmax(f32([-0, 0]), 2), [0]);
      expectExact(lk().argmax(f32([0, -0]), 2), [0]);
      expectExact(lk().argmax(f32([1, NaN, INF, NaN]), 4), [1]);
      expectExact(lk().argmax(f32([-INF, -INF, -INF]), 3), [0]);
      expectExact(lk().argmax(f32([-INF, -INF, INF, 5]), 4), [2]);
    });
    it('ties spread over SIMD lanes and blocks', () => {
      const x = new Float32Array(1000).fill(1);
      x[517] = 2;
      x[733] = 2;
      expectExact(lk().argmax(x, 1000), [517]);
      x[901] = NaN;
      x[950] = NaN;
      expectExact(lk().argmax(x, 1000), [901]);
    });
  });

  describe('topk (§8)', () => {
    for (const c of ALL.filter((c) => c.x.length <= 300000)) {
      for (const k of [0, 1, 3, c.classes]) {
        if (k > c.classes) continue;
        it(`${c.name} k=${k}`, () => {
          const got = lk().topk(c.x, c.classes, k);
          const exp = refTopk(c.x, c.classes, k);
          expectExact(got.indices, exp.indices, 'indices');
          // Values are the input float32 values bit for bit (−0 stays −0). The strings (and vitest's
          // deep equality on 128,256 of them) only when some value differs: Object.is on every value is
          // the same test (distinct numbers print differently, NaN as NaN, −0 as '-0').
          const same = got.values.length === exp.values.length && exp.values.every((v, i) => Object.is(got.values[i], v));
          if (!same)
            expect(Array.from(got.values, (v) => Object.is(v, -0) ? '-0' : String(v))).toEqual(
              exp.values.map((v) => (Object.is(v, -0) ? '-0' : String(v))),
            );
        });
      }
    }
    it('NaN ranks above +inf; ties (incl. NaN vs NaN, -0 vs +0) by lower index', () => {
      const x = f32([0, NaN, INF, -0, NaN, 5, 5, 0]);
      const { values, indices } = lk().topk(x, 8, 8);
      expectExact(indices, [1, 4, 2, 5, 6, 0, 3, 7]);
      expect(Object.is(values[6], -0)).toBe(true);
    });
    it('many rows, k in the middle, with heavy ties', () => {
      const r = rng(5);
      const x = new Float32Array(50 * 64);
      for (let i = 0; i < x.length; i++) x[i] = Math.floor(r() * 6) - 3;
      const exp = refTopk(x, 64, 13);
      const got = lk().topk(x, 64, 13);
      expectExact(got.indices, exp.indices);
      expectExact(got.values, exp.values);
    });
  });
}

function errorChecks(lk: () => Engine): void {
  describe('errors (§0): coded, naming the argument, engine unharmed', () => {
    const x = f32([1, 2, 3, 4, 5, 6]);
    const code = (f: () => unknown): string => {
      try {
        f();
      } catch (e) {
        expect((e as Error).name).toBe('LogitkitError');
        expect((e as Error).message.length).toBeGreaterThan(20);
        return (e as { code: string }).code;
      }
      return 'no error';
    };
    it('shape_mismatch', () => {
      expect(code(() => lk().softmax(x, 4))).toBe('shape_mismatch');
      expect(code(() => lk().softmax(x, 0))).toBe('shape_mismatch');
      expect(code(() => lk().softmax(x, 1.5))).toBe('shape_mismatch');
      expect(code(() => lk().logsumexp(x, -3))).toBe('shape_mismatch');
      expect(code(() => lk().argmax(x, 5))).toBe('shape_mismatch');
      expect(code(() => lk().softmax(x, 3, { out: new Float32Array(5) }))).toBe('shape_mismatch');
      expect(code(() => lk().logsumexp(x, 3, { out: new Float32Array(6) }))).toBe('shape_mismatch');
      expect(code(() => lk().sigmoid(x, { out: new Float32Array(2) }))).toBe('shape_mismatch');
    });
    it('invalid_temperature', () => {
      for (const T of [0, -1, NaN, INF, -INF, '2' as unknown as number])
        expect(code(() => lk().softmax(x, 3, { temperature: T }))).toBe('invalid_temperature');
      expect(code(() => lk().logsumexp(x, 3, { temperature: 0 }))).toBe('invalid_temperature');
      expect(code(() => lk().logSoftmax(x, 3, { temperature: -2 }))).toBe('invalid_temperature');
    });
    it('invalid_k', () => {
      for (const k of [-1, 4, 1.5, NaN]) expect(code(() => lk().topk(x, 3, k))).toBe('invalid_k');
    });
    it('invalid_argument for wrong array kinds and overlapping out', () => {
      expect(code(() => lk().softmax(new Int32Array(6) as unknown as Float32Array, 3))).toBe('invalid_argument');
      expect(code(() => lk().softmax('abc' as unknown as Float32Array, 3))).toBe('invalid_argument');
      const buf = new Float32Array(8);
      const a = buf.subarray(0, 6);
      const b = buf.subarray(2, 8);
      expect(code(() => lk().softmax(a, 3, { out: b }))).toBe('invalid_argument');
      expect(code(() => lk().softmax(x, 3, { out: new Int32Array(6) as unknown as Float32Array }))).toBe('invalid_argument');
    });
    it('the message names the argument and what was expected', () => {
      expect(() => lk().topk(x, 3, 7)).toThrow(/k = 7, expected 0 ≤ k ≤ classes \(3\)/);
      expect(() => lk().softmax(x, 3, { temperature: -1 })).toThrow(/options\.temperature = number -1, expected a finite number > 0/);
      expect(() => lk().softmax(x, 4)).toThrow(/x has 6 elements, not a multiple of classes = 4/);
    });
    it('after errors the engine still works and earlier results are unchanged', () => {
      const before = lk().softmax(x, 3);
      const keep = before.slice();
      for (let i = 0; i < 20; i++) {
        code(() => lk().softmax(x, 4));
        code(() => lk().topk(x, 3, 9));
        code(() => lk().logsumexp(x, 3, { temperature: NaN }));
      }
      expectExact(before, keep);
      expectExact(lk().softmax(x, 3), keep);
    });
    it('array-likes (number[], Float64Array) are converted', () => {
      expectExact(lk().argmax([1, 5, 2], 3), [1]);
      expectClose(lk().softmax(Float64Array.from([1, 2]), 2), refSoftmax([1, 2], 2), probTol({ C: 2, S: 1 }));
    });
    it('rows = 0 gives empty outputs', () => {
      expect(lk().softmax(new Float32Array(0), 5).length).toBe(0);
      expect(lk().logsumexp(new Float32Array(0), 5).length).toBe(0);
      expect(lk().argmax(new Float32Array(0), 5).length).toBe(0);
      expect(lk().topk(new Float32Array(0), 5, 2).values.length).toBe(0);
    });
  });
}

describeEachBackend('core ops', (lk) => {
  rowwiseChecks(lk);
  elementwiseChecks(lk);
  selectionChecks(lk);
  errorChecks(lk);
});
