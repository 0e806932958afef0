/**
 * SEMANTICS.md §4–7, §9 on both backends: cross-entropy (class and probability
 * targets, weights, ignore_index, label smoothing, every reduction), its
 * gradient, BCE with logits, entropy, KL and perplexity — random data and every
 * row of the spec's edge tables, against the float64 reference in
 * spec-loss-reference.ts with the §11 comparison rule.
 */
import { expect, it } from 'vitest';
import { describeEachBackend, describeOnce } from './helpers/backends.js';
import { expectClose, gradTol, logTol, spreadOf, type Tol } from './helpers/tolerance.js';
import { normal, randomLogits, randomTargets, rng } from './helpers/random.js';
import {
  bceRef,
  crossEntropyClassRef,
  crossEntropyGradRef,
  crossEntropySoftGradRef,
  crossEntropySoftRef,
  entropyRef,
  klRef,
} from './reference/index.js';

const NI = -Infinity;
const f32 = (a: ArrayLike<number>): Float32Array => Float32Array.from(a);
const i32 = (a: ArrayLike<number>): Int32Array => Int32Array.from(a);

/** Log-domain tolerance for a [rows, C] batch; N = C per row, rows·C for a reduction. */
function lossTol(x: ArrayLike<number>, C: number, reduced: boolean): Tol {
  const { S } = spreadOf(x, C);
  return logTol({ C, S, N: reduced ? x.length : C });
}

/** §11 gradient tolerance with g = (max_{i∈V} w_t + (ε/C)·Σ|w|)/D. */
function gradTolFor(x: ArrayLike<number>, C: number, target: ArrayLike<number>, reduction: 'sum' | 'mean', o: { weight?: ArrayLike<number>; labelSmoothing?: number; ignoreIndex?: number } = {}): Tol {
  const ignore = o.ignoreIndex ?? -100;
  const w = (c: number): number => (o.weight ? o.weight[c]! : 1);
  let maxW = 0;
  let D = 0;
  for (let i = 0; i < target.length; i++)
    if (target[i] !== ignore) {
      maxW = Math.max(maxW, Math.abs(w(target[i]!)));
      D += w(target[i]!);
    }
  let absW = 0;
  for (let c = 0; c < C; c++) absW += Math.abs(w(c));
  const eps = o.labelSmoothing ?? 0;
  const g = (maxW + (eps / C) * absW) / (reduction === 'mean' ? D : 1);
  return gradTol({ C, S: spreadOf(x, C).S, g });
}

/** Random positive class weights in [0.25, 2). */
function randomWeights(C: number, seed: number): Float32Array {
  const r = rng(seed);
  return f32(Array.from({ length: C }, () => 0.25 + 1.75 * r()));
}

/** Random probability rows (each sums to ~1, float32). */
function randomProbs(rows: number, C: number, seed: number): Float32Array {
  const r = rng(seed);
  const q = new Float32Array(rows * C);
  for (let i = 0; i < rows; i++) {
    let s = 0;
    for (let j = 0; j < C; j++) s += q[i * C + j] = Math.exp(2 * normal(r));
    for (let j = 0; j < C; j++) q[i * C + j] = q[i * C + j]! / s;
  }
  return q;
}

describeOnce('the float64 reference itself reproduces the spec tables', () => {
  it('§4 class cross-entropy rows', () => {
    // target logit -inf → +inf; -inf elsewhere with ε = 0 → finite; with ε > 0 → +inf; weight 0 → NaN
    expect(crossEntropyClassRef([NI, 0, 1], 3, [0]).none[0]).toBe(Infinity);
    expect(Number.isFinite(crossEntropyClassRef([NI, 0, 1], 3, [1]).none[0])).toBe(true);
    expect(crossEntropyClassRef([NI, 0, 1], 3, [1], { labelSmoothing: 0.1 }).none[0]).toBe(Infinity);
    expect(crossEntropyClassRef([NI, 0, 1], 3, [1], { labelSmoothing: 0.1, weight: [0, 1, 1] }).none[0]).toBeNaN();
    expect(crossEntropyClassRef([NI, 0, 1], 3, [0], { labelSmoothing: 1 }).none[0]).toBeNaN();
    expect(crossEntropyClassRef([0, 1, NaN, 2, 3, 4], 3, [-100, -100]).mean).toBeNaN();
    expect(Math.abs(crossEntropyClassRef([7], 1, [0]).none[0]!)).toBe(0);
  });
  it('§7 BCE infinities and §9 entropy / KL basics', () => {
    const b = bceRef([Infinity, Infinity, NI, NI, Infinity, NI], [0, 1, 0, 1, 0.5, 0.5]).none;
    expect(b[0]).toBe(Infinity);
    expect(b.slice(1, 4).every(Number.isNaN)).toBe(true);
    expect(b[4]).toBe(Infinity);
    expect(b[5]).toBeNaN();
    expect(entropyRef([1, 1, 1, 1], 4)[0]).toBeCloseTo(Math.log(4), 14);
    expect(klRef([0, NI], [NI, 0], 2)[0]).toBe(Infinity);
    expect(klRef([NI, 0], [NI, 0], 2)[0]).toBe(0);
  });
});

describeEachBackend('crossEntropy with class targets (§4)', (lk) => {
  const shapes: [number, number][] = [
    [1, 1],
    [5, 2],
    [7, 3],
    [9, 13],
    [6, 64],
    [3, 1001],
  ];
  for (const [R, C] of shapes) {
    for (const eps of [0, 0.1, 1]) {
      for (const weighted of [false, true]) {
        it(`[${R}, ${C}] ε=${eps}${weighted ? ' weighted' : ''}, with ignored rows, every reduction`, () => {
          const x = randomLogits(R, C, 3, R * 1000 + C);
          const t = randomTargets(R, C, C + 7);
          if (R > 2) t[1] = -100;
          const weight = weighted ? randomWeights(C, C) : undefined;
          const o = { labelSmoothing: eps, ...(weight ? { weight } : {}) };
          const ref = crossEntropyClassRef(x, C, t, o);
          expectClose(lk().crossEntropy(x, C, t, { ...o, reduction: 'none' }), ref.none, lossTol(x, C, false), 'none');
          expectClose(lk().crossEntropy(x, C, t, { ...o, reduction: 'sum' }), ref.sum, lossTol(x, C, true), 'sum');
          expectClose(lk().crossEntropy(x, C, t, { ...o, reduction: 'mean' }), ref.mean, lossTol(x, C, true), 'mean');
          expectClose(lk().crossEntropy(x, C, t, o), ref.mean, lossTol(x, C, true), 'default is mean');
        });
      }
    }
  }

  it('is shift invariant: rows of 1e6 + N(0,1) keep their accuracy', () => {
    const C = 50;
    const x = randomLogits(4, C, 1, 77, 1e6);
    const t = randomTargets(4, C, 3);
    const ref = crossEntropyClassRef(x, C, t);
    expectClose(lk().crossEntropy(x, C, t, { reduction: 'none' }), ref.none, lossTol(x, C, false));
  });

  it('ignore_index may be a real class, and an ignored row contributes exactly 0 even when NaN or all -inf', () => {
    const C = 4;
    const x = f32([0.5, 1, -1, 2, NaN, 0, 0, 0, NI, NI, NI, NI, 3, 2, 1, 0]);
    const t = i32([1, 3, 3, 0]);
    const o = { ignoreIndex: 3 };
    const ref = crossEntropyClassRef(x, C, t, o);
    const none = lk().crossEntropy(x, C, t, { ...o, reduction: 'none' });
    expect(Array.from(none.subarray(1, 3))).toEqual([0, 0]);
    expectClose(none, ref.none, lossTol(x, C, false));
    expectClose(lk().crossEntropy(x, C, t, { ...o, reduction: 'sum' }), ref.sum, lossTol(x, C, true));
    expectClose(lk().crossEntropy(x, C, t, { ...o, reduction: 'mean' }), ref.mean, lossTol(x, C, true));
    expect(Number.isFinite(ref.mean)).toBe(true);
    // with smoothing too: masked, not multiplied
    const s = lk().crossEntropy(x, C, t, { ...o, labelSmoothing: 0.2, reduction: 'none' });
    expect(Array.from(s.subarray(1, 3))).toEqual([0, 0]);
  });

  it('an ignoreIndex outside the int32 range ignores nothing (no wrap-around to a real class)', () => {
    const x = randomLogits(4, 5, 1, 2);
    const t = i32([3, 3, 0, 4]);
    const o = { ignoreIndex: 2 ** 32 + 3 };
    const ref = crossEntropyClassRef(x, 5, t, o);
    expectClose(lk().crossEntropy(x, 5, t, { ...o, reduction: 'none' }), ref.none, lossTol(x, 5, false));
    expectClose(lk().crossEntropyWithGrad(x, 5, t, o).grad, crossEntropyGradRef(x, 5, t, 'mean', o), gradTolFor(x, 5, t, 'mean', o));
  });

  it('all rows ignored: mean NaN, sum 0, none all zeros', () => {
    const x = randomLogits(3, 5, 1, 1);
    const t = i32([-100, -100, -100]);
    for (const eps of [0, 0.3]) {
      expect(lk().crossEntropy(x, 5, t, { labelSmoothing: eps })).toBeNaN();
      expect(lk().crossEntropy(x, 5, t, { labelSmoothing: eps, reduction: 'sum' })).toBe(0);
      expect(Array.from(lk().crossEntropy(x, 5, t, { labelSmoothing: eps, reduction: 'none' }))).toEqual([0, 0, 0]);
    }
  });

  it('weighted mean divides by the sum of the weights of the non-ignored targets', () => {
    const x = f32([1, 2, 3, 3, 1, 2, 0, 0, 5]);
    const t = i32([2, 0, -100]);
    const weight = f32([4, 1, 0.5]);
    const lse = (a: number[]): number => Math.log(a.reduce((s, v) => s + Math.exp(v), 0));
    const nll0 = -(3 - lse([1, 2, 3])) * 0.5;
    const nll1 = -(3 - lse([3, 1, 2])) * 4;
    const want = (nll0 + nll1) / 4.5;
    expectClose(lk().crossEntropy(x, 3, t, { weight }), want, logTol({ C: 3, S: 5 }));
    expect(Math.abs(lk().crossEntropy(x, 3, t, { weight }) - (nll0 + nll1) / 2)).toBeGreaterThan(0.1);
  });

  it('all non-ignored targets with weight 0 give NaN for mean', () => {
    const x = randomLogits(2, 3, 1, 5);
    expect(lk().crossEntropy(x, 3, i32([0, 0]), { weight: f32([0, 1, 1]) })).toBeNaN();
    expect(lk().crossEntropy(x, 3, i32([0, 0]), { weight: f32([0, 1, 1]), labelSmoothing: 0.1 })).toBeNaN();
  });

  it('the §4 edge rows: -inf logits, NaN / +inf / all -inf rows, ε = 1, C = 1', () => {
    const C = 3;
    const x = f32([
      NI, 0, 1, // target's logit -inf → +inf
      NI, 0, 1, // -inf elsewhere: finite with ε = 0
      NaN, 0, 1, // NaN row → NaN
      Infinity, 0, 1, // +inf row → NaN
      NI, NI, NI, // all -inf → NaN
      2, 1, 0, // ordinary
    ]);
    const t = i32([0, 1, 1, 1, 1, 0]);
    for (const eps of [0, 0.1, 1]) {
      for (const weight of [undefined, f32([0, 1, 2]), f32([1, 1, 2])]) {
        const o = { labelSmoothing: eps, ...(weight ? { weight } : {}) };
        const ref = crossEntropyClassRef(x, C, t, o);
        const got = lk().crossEntropy(x, C, t, { ...o, reduction: 'none' });
        expectClose(got, ref.none, lossTol(x, C, false), `ε=${eps} w=${weight}`);
        expect(lk().crossEntropy(x, C, t, { ...o, reduction: 'sum' })).toBeNaN(); // poisoned
        expect(lk().crossEntropy(x, C, t, { ...o, reduction: 'mean' })).toBeNaN();
      }
    }
    const none0 = lk().crossEntropy(x, C, t, { reduction: 'none' });
    expect(none0[0]).toBe(Infinity);
    expect(Number.isFinite(none0[1])).toBe(true);
    expect([none0[2], none0[3], none0[4]].every(Number.isNaN)).toBe(true);
    const smoothed = lk().crossEntropy(x, C, t, { reduction: 'none', labelSmoothing: 0.1 });
    expect(smoothed[1]).toBe(Infinity); // the smoothing term sums -lp = +inf [PyTorch quirk]
    expect(lk().crossEntropy(x, C, t, { reduction: 'none', labelSmoothing: 0.1, weight: f32([0, 1, 2]) })[1]).toBeNaN(); // 0·-inf
    const one = lk().crossEntropy(x, C, t, { reduction: 'none', labelSmoothing: 1 });
    expect(one[0]).toBeNaN(); // (1-1)·inf
    // ε = 1: only the uniform term, −mean lp
    const row = [2, 1, 0];
    const lse = Math.log(row.reduce((s, v) => s + Math.exp(v), 0));
    expectClose(one[5]!, row.reduce((s, v) => s - (v - lse), 0) / 3, logTol({ C: 3, S: 2 }));
    // C = 1: the loss is 0 for finite x
    expect(Array.from(lk().crossEntropy(f32([3, -7, 1e30]), 1, i32([0, 0, 0]), { reduction: 'none' }), Math.abs)).toEqual([0, 0, 0]);
    expect(lk().crossEntropy(f32([Infinity]), 1, i32([0]))).toBeNaN();
  });

  it('without weights equals soft targets (1-ε)·onehot + ε/C in every reduction; with weights the means differ', () => {
    const R = 6;
    const C = 9;
    const x = randomLogits(R, C, 2, 12);
    const t = randomTargets(R, C, 13);
    const eps = 0.15;
    const q = new Float32Array(R * C);
    for (let i = 0; i < R; i++) q[i * C + t[i]!] = 1;
    for (const reduction of ['none', 'sum', 'mean'] as const) {
      const a = lk().crossEntropy(x, C, t, { labelSmoothing: eps, reduction });
      const b = lk().crossEntropy(x, C, q, { labelSmoothing: eps, reduction });
      expectClose(a, typeof b === 'number' ? b : Array.from(b), lossTol(x, C, reduction !== 'none'), reduction);
    }
    const weight = randomWeights(C, 4);
    const a = lk().crossEntropy(x, C, t, { labelSmoothing: eps, weight });
    const b = lk().crossEntropy(x, C, q, { labelSmoothing: eps, weight });
    expect(Math.abs(a - b)).toBeGreaterThan(1e-3);
  });
});

describeEachBackend('crossEntropy with probability targets (§5)', (lk) => {
  for (const [R, C] of [[1, 1], [4, 3], [5, 17], [3, 300]] as [number, number][]) {
    for (const eps of [0, 0.2]) {
      for (const weighted of [false, true]) {
        it(`[${R}, ${C}] ε=${eps}${weighted ? ' weighted' : ''}`, () => {
          const x = randomLogits(R, C, 3, R + C * 31);
          const q = randomProbs(R, C, C);
          const weight = weighted ? randomWeights(C, 9) : undefined;
          const o = { labelSmoothing: eps, ...(weight ? { weight } : {}) };
          const ref = crossEntropySoftRef(x, C, q, o);
          expectClose(lk().crossEntropy(x, C, q, { ...o, reduction: 'none' }), ref.none, lossTol(x, C, false), 'none');
          expectClose(lk().crossEntropy(x, C, q, { ...o, reduction: 'sum' }), ref.sum, lossTol(x, C, true), 'sum');
          expectClose(lk().crossEntropy(x, C, q, o), ref.mean, lossTol(x, C, true), 'mean');
        });
      }
    }
  }

  it('q is used as given (rows not summing to 1, negative entries)', () => {
    const x = randomLogits(3, 4, 2, 8);
    const q = f32([0.5, 0.5, 0.5, 0.5, 0, 0, 0, 0, -0.25, 1, 0.5, 0]);
    const ref = crossEntropySoftRef(x, 4, q);
    expectClose(lk().crossEntropy(x, 4, q, { reduction: 'none' }), ref.none, lossTol(x, 4, false));
    expect(Math.abs(lk().crossEntropy(x, 4, q, { reduction: 'none' })[1]!)).toBe(0);
  });

  it('a zero target on a -inf logit is NaN (0·-inf); with ε > 0 it is +inf', () => {
    const x = f32([NI, 1, 2, 0, 1, 2]);
    const q = f32([0, 0.5, 0.5, 0.2, 0.3, 0.5]);
    const none = lk().crossEntropy(x, 3, q, { reduction: 'none' });
    expect(none[0]).toBeNaN();
    expectClose(none[1]!, crossEntropySoftRef(x, 3, q).none[1]!, logTol({ C: 3, S: 2 }));
    expect(lk().crossEntropy(x, 3, q, { reduction: 'none', labelSmoothing: 0.1 })[0]).toBe(Infinity);
    expect(lk().crossEntropy(x, 3, q)).toBeNaN();
  });

  it('NaN, +inf and all -inf rows give NaN', () => {
    const x = f32([NaN, 0, Infinity, 0, NI, NI]);
    const q = f32([0.5, 0.5, 0.5, 0.5, 0.5, 0.5]);
    expect(Array.from(lk().crossEntropy(x, 2, q, { reduction: 'none' })).every(Number.isNaN)).toBe(true);
  });

  it('R = 0: mean is NaN, sum 0', () => {
    expect(lk().crossEntropy(new Float32Array(0), 3, new Float32Array(0))).toBeNaN();
    expect(lk().crossEntropy(new Float32Array(0), 3, new Float32Array(0), { reduction: 'sum' })).toBe(0);
    expect(lk().crossEntropy(new Float32Array(0), 3, new Int32Array(0))).toBeNaN();
  });
});

describeEachBackend('crossEntropyWithGrad (§6)', (lk) => {
  for (const [R, C] of [[1, 1], [4, 2], [6, 5], [5, 37], [3, 1000]] as [number, number][]) {
    for (const reduction of ['mean', 'sum'] as const) {
      for (const eps of [0, 0.1]) {
        for (const weighted of [false, true]) {
          it(`class targets [${R}, ${C}] ${reduction} ε=${eps}${weighted ? ' weighted' : ''} with an ignored row`, () => {
            const x = randomLogits(R, C, 2, R * 7 + C);
            const t = randomTargets(R, C, C * 3);
            if (R > 2) t[2] = -100;
            const weight = weighted ? randomWeights(C, C + 1) : undefined;
            const o = { labelSmoothing: eps, ...(weight ? { weight } : {}) };
            const { loss, grad } = lk().crossEntropyWithGrad(x, C, t, { ...o, reduction });
            const ref = crossEntropyClassRef(x, C, t, o);
            expectClose(loss, ref[reduction], lossTol(x, C, true), 'loss');
            expect(loss).toBe(lk().crossEntropy(x, C, t, { ...o, reduction })); // the fused loss is the plain loss
            expectClose(grad, crossEntropyGradRef(x, C, t, reduction, o), gradTolFor(x, C, t, reduction, o), 'grad');
            if (R > 2) expect(Array.from(grad.subarray(2 * C, 3 * C)).every((v) => v === 0)).toBe(true);
          });
        }
      }
      it(`probability targets [${R}, ${C}] ${reduction}, smoothing and weights`, () => {
        const x = randomLogits(R, C, 2, R * 11 + C);
        const q = randomProbs(R, C, 5);
        for (const o of [{}, { labelSmoothing: 0.25 }, { weight: randomWeights(C, 3), labelSmoothing: 0.05 }]) {
          const { loss, grad } = lk().crossEntropyWithGrad(x, C, q, { ...o, reduction });
          const ref = crossEntropySoftRef(x, C, q, o);
          expectClose(loss, ref[reduction], lossTol(x, C, true), 'loss');
          const w = 'weight' in o ? o.weight! : undefined;
          const g = (w ? Math.max(...w) : 1) / (reduction === 'mean' ? R : 1);
          expectClose(grad, crossEntropySoftGradRef(x, C, q, reduction, o), gradTol({ C, S: spreadOf(x, C).S, g }), 'grad');
        }
      });
    }
  }

  it('matches central finite differences of the float64 loss (class and probability targets)', () => {
    const R = 3;
    const C = 4;
    const x = randomLogits(R, C, 1.5, 99);
    const t = i32([1, -100, 3]);
    const q = randomProbs(R, C, 4);
    const weight = f32([0.5, 2, 1, 1.5]);
    const h = 1e-5;
    const cases: [string, (z: number[]) => number, () => Float32Array][] = [
      ['class mean ε=0.1 weighted', (z) => crossEntropyClassRef(z, C, t, { weight, labelSmoothing: 0.1 }).mean, () => lk().crossEntropyWithGrad(x, C, t, { weight, labelSmoothing: 0.1 }).grad],
      ['class sum', (z) => crossEntropyClassRef(z, C, t).sum, () => lk().crossEntropyWithGrad(x, C, t, { reduction: 'sum' }).grad],
      ['soft mean ε=0.2 weighted', (z) => crossEntropySoftRef(z, C, q, { weight, labelSmoothing: 0.2 }).mean, () => lk().crossEntropyWithGrad(x, C, q, { weight, labelSmoothing: 0.2 }).grad],
    ];
    for (const [label, f, g] of cases) {
      const got = g();
      const fd = Array.from(x, (_, k) => {
        const plus = Array.from(x);
        const minus = Array.from(x);
        plus[k]! += h;
        minus[k]! -= h;
        return (f(plus) - f(minus)) / (2 * h);
      });
      // float64 central differences are good to ~1e-10; the rest is the §11 gradient bound
      expectClose(got, fd, { rtol: 1e-5, atol: 2e-6 + 1e-9 }, label);
    }
  });

  it('ignored rows: 0 for finite logits, NaN when the row softmax is NaN; all ignored → loss NaN, grad zeros', () => {
    const C = 3;
    const x = f32([1, 2, 3, NaN, 0, 0, NI, NI, NI, 0, 1, Infinity, 2, 1, 0]);
    const t = i32([-100, -100, -100, -100, 0]);
    const { loss, grad } = lk().crossEntropyWithGrad(x, C, t);
    expect(Array.from(grad.subarray(0, 3))).toEqual([0, 0, 0]);
    expect(Array.from(grad.subarray(3, 12)).every(Number.isNaN)).toBe(true);
    expectClose(grad, crossEntropyGradRef(x, C, t, 'mean'), gradTolFor(x, C, t, 'mean'));
    expect(Number.isFinite(loss)).toBe(true);
    const all = lk().crossEntropyWithGrad(randomLogits(3, 4, 1, 3), 4, i32([-100, -100, -100]));
    expect(all.loss).toBeNaN();
    expect(Array.from(all.grad).every((v) => v === 0)).toBe(true);
  });

  it('ε > 0 with -inf logits: loss +inf but a finite gradient, -σ(ε/C)w_j at those entries', () => {
    const C = 4;
    const x = f32([NI, 0, 1, 2, 0.5, NI, NI, 1]);
    const t = i32([2, 0]);
    const weight = f32([1, 2, 0.5, 1]);
    const o = { labelSmoothing: 0.2, weight };
    const { loss, grad } = lk().crossEntropyWithGrad(x, C, t, o);
    expect(loss).toBe(Infinity);
    expect(Array.from(grad).every(Number.isFinite)).toBe(true);
    const sigma = 1 / (0.5 + 1);
    expectClose([grad[0]!, grad[5]!, grad[6]!], [-sigma * 0.05 * 1, -sigma * 0.05 * 2, -sigma * 0.05 * 0.5], { rtol: 1e-6, atol: 1e-9 });
    expectClose(grad, crossEntropyGradRef(x, C, t, 'mean', o), gradTolFor(x, C, t, 'mean', o));
  });

  it('the target logit -inf: loss +inf, gradient finite; NaN rows give NaN gradients', () => {
    const x = f32([NI, 1, 2, NaN, 1, 2]);
    const t = i32([0, 1]);
    const { loss, grad } = lk().crossEntropyWithGrad(x, 3, t, { reduction: 'sum' });
    expect(loss).toBeNaN();
    expectClose(grad, crossEntropyGradRef(x, 3, t, 'sum'), gradTolFor(x, 3, t, 'sum'));
    expect(Array.from(grad.subarray(0, 3)).every(Number.isFinite)).toBe(true);
    expect(Array.from(grad.subarray(3)).every(Number.isNaN)).toBe(true);
    expect(lk().crossEntropyWithGrad(x.subarray(0, 3), 3, i32([0])).loss).toBe(Infinity);
  });

  it('soft targets without weights and Σq = 1: grad = (p - q′)/R', () => {
    const R = 4;
    const C = 6;
    const x = randomLogits(R, C, 2, 5);
    const q = randomProbs(R, C, 6);
    const { grad } = lk().crossEntropyWithGrad(x, C, q, { labelSmoothing: 0.1 });
    const want: number[] = [];
    for (let i = 0; i < R; i++) {
      const row = Array.from(x.subarray(i * C, (i + 1) * C));
      const m = Math.max(...row);
      const s = row.reduce((a, v) => a + Math.exp(v - m), 0);
      for (let j = 0; j < C; j++) want.push((Math.exp(row[j]! - m) / s - (q[i * C + j]! * 0.9 + 0.1 / C)) / R);
    }
    expectClose(grad, want, gradTol({ C, S: spreadOf(x, C).S, g: 1 / R }));
  });
});

describeOnce('§7 reference check', () => {
  it('§7: the literal formula and the stable form agree on finite inputs (reference check)', () => {
    const r = rng(5);
    for (let k = 0; k < 2000; k++) {
      const x = 20 * normal(r);
      const t = r();
      const pw = 3 * r();
      const lw = 1 + (pw - 1) * t;
      const literal = (1 - t) * x - lw * (Math.min(x, 0) - Math.log1p(Math.exp(-Math.abs(x))));
      const stable = bceRef([x], [t], { posWeight: [pw], classes: 1 }).none[0]!;
      expect(Math.abs(literal - stable)).toBeLessThan(1e-12 * (1 + Math.abs(x)));
    }
  });
});

describeEachBackend('bceWithLogits (§7)', (lk) => {
  const bceTol = (x: ArrayLike<number>, N: number): Tol => {
    let xmax = 0;
    for (let i = 0; i < x.length; i++) if (Number.isFinite(x[i]!)) xmax = Math.max(xmax, Math.abs(x[i]!));
    // C = 1 per element; the spread term covers the rounding of (1 − t)·x against log_sigmoid(x).
    return logTol({ C: 1, S: xmax, N });
  };
  for (const [R, C] of [[1, 1], [3, 5], [8, 16], [4, 131]] as [number, number][]) {
    it(`[${R}, ${C}]: plain, per-class weight, per-element weight, posWeight; every reduction`, () => {
      const x = randomLogits(R, C, 4, R * C);
      const r = rng(C);
      const t = f32(Array.from({ length: R * C }, (_, i) => (i % 3 === 0 ? r() : r() < 0.5 ? 0 : 1)));
      const wc = randomWeights(C, 1);
      const we = randomWeights(R * C, 2);
      const pw = randomWeights(C, 3);
      const variants: [string, { weight?: Float32Array; posWeight?: Float32Array; classes?: number }][] = [
        ['plain', {}],
        ['classes only', { classes: C }],
        ['per-class weight', { weight: wc, classes: C }],
        ['per-element weight', { weight: we }],
        ['posWeight', { posWeight: pw, classes: C }],
        ['both', { weight: we, posWeight: pw, classes: C }],
        ['per-class both', { weight: wc, posWeight: pw, classes: C }],
      ];
      for (const [label, o] of variants) {
        const ref = bceRef(x, t, o);
        expectClose(lk().bceWithLogits(x, t, { ...o, reduction: 'none' }), ref.none, bceTol(x, 1), `${label} none`);
        expectClose(lk().bceWithLogits(x, t, { ...o, reduction: 'sum' }), ref.sum, bceTol(x, x.length), `${label} sum`);
        expectClose(lk().bceWithLogits(x, t, o), ref.mean, bceTol(x, x.length), `${label} mean`);
      }
    });
  }

  it('mean divides by R·C, not by the sum of the weights', () => {
    const x = f32([0.5, -1, 2, 0]);
    const t = f32([1, 0, 1, 0]);
    const weight = f32([2, 0, 3, 1]);
    const ref = bceRef(x, t, { weight });
    expectClose(lk().bceWithLogits(x, t, { weight }), ref.sum / 4, bceTol(x, 4));
  });

  it('infinite logits follow the literal formula [PyTorch quirk]; NaN gives NaN', () => {
    const x = f32([Infinity, Infinity, NI, NI, Infinity, NI, NaN, 1e30, -1e30]);
    const t = f32([0, 1, 0, 1, 0.5, 0.5, 0.5, 1, 0]);
    const got = lk().bceWithLogits(x, t, { reduction: 'none' });
    expect(got[0]).toBe(Infinity);
    expect([got[1], got[2], got[3]].every(Number.isNaN)).toBe(true);
    expect(got[4]).toBe(Infinity);
    expect(got[5]).toBeNaN();
    expect(got[6]).toBeNaN();
    expectClose(got, bceRef(x, t).none, { rtol: 1e-6, atol: 1e-6 });
    expect(lk().bceWithLogits(x, t)).toBeNaN();
    // infinities in a row tail and beside finite lanes of the same vector
    const x2 = f32([1, 2, Infinity, 4, 5, NI]);
    const t2 = f32([0, 1, 1, 0.5, 0, 0]);
    const got2 = lk().bceWithLogits(x2, t2, { reduction: 'none', posWeight: f32([2, 3]), classes: 2 });
    expectClose(got2, bceRef(x2, t2, { posWeight: [2, 3], classes: 2 }).none, { rtol: 1e-6, atol: 1e-6 });
    expect(got2[2]).toBeNaN();
    expect(got2[5]).toBeNaN();
    expect(Number.isFinite(got2[3]!)).toBe(true);
  });

  it('large |x| keeps full relative precision where the loss is tiny (no x − x cancellation)', () => {
    const x = f32([30, -30, 90, -90, 17, -17, -60]);
    const t = f32([1, 0, 1, 0, 1, 0, 0]);
    const pw = f32([3]);
    for (const o of [{}, { posWeight: pw, classes: 1 }]) {
      const got = lk().bceWithLogits(x, t, { ...o, reduction: 'none' });
      const want = bceRef(x, t, o).none;
      for (let i = 0; i < x.length; i++) expect(Math.abs(got[i]! - want[i]!) / want[i]!, `x = ${x[i]}`).toBeLessThan(2e-5);
    }
  });

  it('empty input: mean NaN, sum 0', () => {
    expect(lk().bceWithLogits(new Float32Array(0), new Float32Array(0))).toBeNaN();
    expect(lk().bceWithLogits(new Float32Array(0), new Float32Array(0), { reduction: 'sum' })).toBe(0);
  });
});

describeEachBackend('entropy (§9)', (lk) => {
  for (const [R, C] of [[1, 1], [5, 3], [4, 17], [3, 2000]] as [number, number][]) {
    it(`[${R}, ${C}] random rows, and rows of 1e6 + N(0,1)`, () => {
      for (const x of [randomLogits(R, C, 3, R + C), randomLogits(R, C, 1, C, 1e6)]) {
        expectClose(lk().entropy(x, C), entropyRef(x, C), lossTol(x, C, false));
      }
    });
  }
  it('equal logits give log C, one dominant ≈ 0, C = 1 gives 0, -inf entries contribute 0', () => {
    const got = lk().entropy(f32([2, 2, 2, 2, 100, 0, 0, 0, 0, NI, 0, NI]), 4);
    expectClose(got, [Math.log(4), entropyRef([100, 0, 0, 0], 4)[0]!, Math.log(2)], logTol({ C: 4, S: 100 }));
    expect(got[1]).toBeLessThan(1e-38);
    // C = 1: 0, except the all -inf row, which softmax maps to NaN
    expectClose(lk().entropy(f32([5, NI, -3]), 1), [0, NaN, 0], logTol({ C: 1, S: 0 }));
  });
  it('short rows (taken four at a time) with special values in every lane position', () => {
    const x = f32([
      1, 2, 3, NaN, 0, 0, NI, NI, NI, 0, Infinity, 1, // NaN, all -inf and +inf rows beside a finite one
      NI, 0, 0, 5, 5, 5, 1e6, 1e6 + 1, 1e6 - 1, 3e38, -3e38, 0, // -inf entry, equal, offset, huge spread
      0.5, NI, 0.25,
    ]);
    const got = lk().entropy(x, 3);
    const want = entropyRef(x, 3);
    for (let r = 0; r < want.length; r++) {
      const row = x.subarray(3 * r, 3 * r + 3);
      expectClose(got[r]!, want[r]!, logTol({ C: 3, S: spreadOf(row, 3).S }), `row ${r}`);
    }
    expect([got[1], got[2], got[3]].every(Number.isNaN)).toBe(true);
    expectClose(got[4]!, Math.log(2), logTol({ C: 3, S: 0 }));
  });

  it('rows that softmax maps to NaN give NaN; huge logits do not cancel', () => {
    const got = lk().entropy(f32([NaN, 1, Infinity, 1, NI, NI, 3e38, -3e38]), 2);
    expect([got[0], got[1], got[2]].every(Number.isNaN)).toBe(true);
    expect(got[3]).toBe(0);
  });
});

describeEachBackend('klDiv (§9)', (lk) => {
  for (const [R, C] of [[1, 1], [4, 3], [5, 19], [2, 3000]] as [number, number][]) {
    it(`[${R}, ${C}] all reductions`, () => {
      const p = randomLogits(R, C, 2, C);
      const q = randomLogits(R, C, 2, C + 1);
      const ref = klRef(p, q, C);
      const { S: sp } = spreadOf(p, C);
      const { S: sq } = spreadOf(q, C);
      const tol = (N: number): Tol => logTol({ C, S: sp + sq, N });
      expectClose(lk().klDiv(p, q, C), ref, tol(C), 'none');
      expectClose(lk().klDiv(p, q, C, { reduction: 'none' }), ref, tol(C), 'none');
      const sum = ref.reduce((a, v) => a + v, 0);
      expectClose(lk().klDiv(p, q, C, { reduction: 'sum' }), sum, tol(R * C), 'sum');
      expectClose(lk().klDiv(p, q, C, { reduction: 'batchmean' }), sum / R, tol(R * C), 'batchmean');
      expect(lk().klDiv(p, p, C)).toEqual(new Float32Array(R));
    });
  }
  it('terms with lp = -inf are 0, lq = -inf gives +inf, any NaN gives NaN; tested in the log domain', () => {
    // 6 rows of 3: the first four go through the short-row path (four rows at a time), the rest one by one
    const p = f32([NI, 0, 1, 0, 0, 1, 0, 0, 1, NI, 0, 1, 0, -200, 1, NaN, 0, 1, 0, -30, 1, 0, NI, 2]);
    const q = f32([5, 1, 0, NI, 0, 1, NaN, 0, 1, NaN, 0, 1, 0, 0, 1, 0, 0, 1, 0, NI, 1, 0, NI, 1]);
    for (const rows of [6, 8]) {
      const got = lk().klDiv(p.subarray(0, 3 * rows), q.subarray(0, 3 * rows), 3);
      const ref = klRef(p.subarray(0, 3 * rows), q.subarray(0, 3 * rows), 3);
      expect(got[1]).toBe(Infinity);
      expect(got[2]).toBeNaN();
      expect(got[3]).toBeNaN(); // NaN in q beside a skipped term
      expect(got[5]).toBeNaN();
      expectClose(got, ref, logTol({ C: 3, S: 205 }), `${rows} rows`);
    }
    expect(lk().klDiv(p, q, 3)[6]).toBe(Infinity); // lq = -inf where p's probability is e^-31 > 0
    expect(Number.isFinite(lk().klDiv(p, q, 3)[7])).toBe(true); // both -inf: the term is 0
    // a finite but very negative q logit: probability underflows in float32, the KL stays finite [deviation]
    const far = lk().klDiv(f32([0, 0]), f32([0, -200]), 2);
    expect(Number.isFinite(far[0])).toBe(true);
    expectClose(far, klRef([0, 0], [0, -200], 2), logTol({ C: 2, S: 200 }));
    expect(lk().klDiv(f32([0, -200]), f32([0, NI]), 2)[0]).toBe(Infinity);
  });
});

describeEachBackend('perplexity (§9)', (lk) => {
  it('exp(mean NLL) over non-ignored rows; all ignored gives NaN; +inf and NaN follow §4', () => {
    const C = 40;
    const x = randomLogits(6, C, 2, 4);
    const t = randomTargets(6, C, 2);
    t[3] = 7;
    const ref = crossEntropyClassRef(x, C, t, { ignoreIndex: 7 });
    const tl = lossTol(x, C, true);
    const pplTol: Tol = { rtol: 2 * (tl.atol + tl.rtol * Math.abs(ref.mean)) + 4e-6, atol: 0 };
    expectClose(lk().perplexity(x, C, t, { ignoreIndex: 7 }), Math.exp(ref.mean), pplTol);
    expectClose(lk().perplexity(x, C, t), Math.exp(crossEntropyClassRef(x, C, t).mean), pplTol);
    expect(lk().perplexity(x, C, new Int32Array(6).fill(-100))).toBeNaN();
    expect(lk().perplexity(f32([NI, 0, 0, 1]), 2, i32([0, 1]))).toBe(Infinity);
    expect(lk().perplexity(f32([NaN, 0, 0, 1]), 2, i32([0, 1]))).toBeNaN();
  });
});

describeEachBackend('loss ops take every kind of logits input', (lk) => {
  const R = 6;
  const C = 11;
  const x = randomLogits(R, C, 2, 41);
  const t = randomTargets(R, C, 42);
  const q = randomProbs(R, C, 43);

  it('zero-copy buffers from alloc() (logits, probability targets, class targets) give the same results', () => {
    const bx = lk().alloc(x.length);
    const bq = lk().alloc(q.length);
    const bt = lk().alloc(R, 'int32');
    try {
      bx.array.set(x);
      bq.array.set(q);
      (bt.array as Int32Array).set(t);
      expect(lk().crossEntropy(bx, C, t, { reduction: 'none' })).toEqual(lk().crossEntropy(x, C, t, { reduction: 'none' }));
      expect(lk().crossEntropy(bx.array, C, bt.array as Int32Array, { reduction: 'none' })).toEqual(lk().crossEntropy(x, C, t, { reduction: 'none' }));
      expect(lk().crossEntropy(bx, C, bq.array, { labelSmoothing: 0.1 })).toBe(lk().crossEntropy(x, C, q, { labelSmoothing: 0.1 }));
      expect(lk().crossEntropyWithGrad(bx, C, t, { labelSmoothing: 0.1 })).toEqual(lk().crossEntropyWithGrad(x, C, t, { labelSmoothing: 0.1 }));
      expect(lk().entropy(bx, C)).toEqual(lk().entropy(x, C));
      expect(lk().klDiv(bx, bq.array, C)).toEqual(lk().klDiv(x, q, C));
      expect(lk().bceWithLogits(bx.array, bq.array, { reduction: 'none' })).toEqual(lk().bceWithLogits(x, q, { reduction: 'none' }));
      expect(Array.from(bx.array)).toEqual(Array.from(x)); // inputs untouched
    } finally {
      bx.free();
      bq.free();
      bt.free();
    }
  });

  it('bfloat16 bits and tensors ({ data, dims }) are read as their float32 values', () => {
    const bits = new Uint16Array(x.length);
    const u = new Uint32Array(x.buffer.slice(0));
    for (let i = 0; i < x.length; i++) bits[i] = u[i]! >>> 16; // truncation: exact bfloat16 values
    const widened = new Float32Array(new Uint32Array(Array.from(bits, (b) => b << 16)).buffer);
    const ref = crossEntropyClassRef(widened, C, t, { labelSmoothing: 0.2 });
    expectClose(lk().crossEntropy(bits, C, t, { dtype: 'bfloat16', reduction: 'none', labelSmoothing: 0.2 }), ref.none, lossTol(widened, C, false));
    const g = lk().crossEntropyWithGrad(bits, C, t, { dtype: 'bfloat16' });
    expectClose(g.grad, crossEntropyGradRef(widened, C, t, 'mean'), gradTolFor(widened, C, t, 'mean'));
    expectClose(lk().entropy(bits, C, { dtype: 'bfloat16' }), entropyRef(widened, C), lossTol(widened, C, false));
    const tensor = { data: x, dims: [2, 3, C], type: 'float32' };
    expect(lk().crossEntropy(tensor, C, t, { reduction: 'none' })).toEqual(lk().crossEntropy(x, C, t, { reduction: 'none' }));
    expectClose(lk().perplexity(tensor, C, t), Math.exp(crossEntropyClassRef(x, C, t).mean), { rtol: 1e-5, atol: 0 });
  });
});

describeEachBackend('NaN results are the canonical quiet NaN (bit-reproducible across calls, tiers and threads)', (lk, backend) => {
  // The wasm kernels canonicalise; the JS reference stores whatever NaN V8's arithmetic made.
  const name = 'crossEntropy none, soft none, gradients, entropy, klDiv, bce none';
  it.skipIf(backend === 'js')(backend === 'js' ? `${name} (wasm only: the JS reference keeps whatever NaN bits V8 computes)` : name, () => {
    const C = 3;
    // rows: NaN, +inf, all -inf, finite (short rows) and the same at 40 classes (long rows)
    const short = f32([NaN, 0, 1, Infinity, 0, 1, NI, NI, NI, 0, 1, 2, 1, NaN, 0]);
    const long = new Float32Array(5 * 40).map((_, i) => Math.sin(i));
    long[3] = NaN;
    long[40 + 7] = Infinity;
    long.fill(NI, 80, 120);
    for (const [x, c] of [[short, C], [long, 40]] as [Float32Array, number][]) {
      const R = x.length / c;
      const t = new Int32Array(R).fill(1);
      t[4] = -100;
      const q = new Float32Array(x.length).fill(1 / c);
      const outs = [
        lk().crossEntropy(x, c, t, { reduction: 'none' }),
        lk().crossEntropy(x, c, t, { reduction: 'none', labelSmoothing: 0.1 }),
        lk().crossEntropy(x, c, q, { reduction: 'none' }),
        lk().crossEntropyWithGrad(x, c, t).grad,
        lk().crossEntropyWithGrad(x, c, t, { labelSmoothing: 0.1, weight: new Float32Array(c).fill(2) }).grad,
        lk().crossEntropyWithGrad(x, c, q).grad,
        lk().entropy(x, c),
        lk().klDiv(x, q, c),
        lk().bceWithLogits(x, q, { reduction: 'none' }),
      ];
      outs.forEach((o, k) => {
        const bits = new Uint32Array(o.buffer, o.byteOffset, o.length);
        let nans = 0;
        for (let i = 0; i < o.length; i++)
          if (Number.isNaN(o[i]!)) {
            nans++;
            expect(bits[i]!.toString(16), `output ${k}[${i}] (C = ${c})`).toBe('7fc00000');
          }
        expect(nans, `output ${k} has NaNs to check`).toBeGreaterThan(0);
      });
    }
  });
});
