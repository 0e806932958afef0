/**
 * Vocabulary-sized rows (SEMANTICS.md §11: "a plain sequential float32 sum over
 * a 128,256-wide row is not accurate enough"): cross-entropy and perplexity on
 * 32 × 128,256 and 2,048 × 32,000, label smoothing summed over 128k classes,
 * and the gradient against the §6 closed forms on 32,000-class rows.
 */
import { expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { Engine } from '../src/index.js';
import { createWasmBackend } from '../src/backends/wasm.js';
import { describeEachBackend, describeFor } from './helpers/backends.js';
import { expectClose, gradTol, logTol, spreadOf, type Tol } from './helpers/tolerance.js';
import { randomLogits, randomTargets, rng } from './helpers/random.js';
import { cachedFixture } from './helpers/fixture-cache.js';
import { crossEntropyClassRef, crossEntropyGradRef, crossEntropySoftGradRef, crossEntropySoftRef } from './reference/index.js';

/**
 * The §4 per-row parts in plain float64 loops (the array-based reference is too slow for
 * 65M logits): nll_i = −w_t·((x_t − m) − log s), smooth_i = −Σ w_c·((x_c − m) − log s).
 */
function rowPartsRef(x: Float32Array, C: number, t: Int32Array, weight?: Float32Array, smoothing = false) {
  const R = t.length;
  const nll = new Float64Array(R);
  const smooth = new Float64Array(R);
  let D = 0;
  for (let i = 0; i < R; i++) {
    if (t[i] === -100) continue;
    const o = i * C;
    let m = -Infinity;
    for (let j = 0; j < C; j++) m = Math.max(m, x[o + j]!);
    let s = 0;
    for (let j = 0; j < C; j++) s += Math.exp(x[o + j]! - m);
    const ls = Math.log(s);
    const w = (c: number): number => (weight ? weight[c]! : 1);
    nll[i] = -(x[o + t[i]!]! - m - ls) * w(t[i]!);
    D += w(t[i]!);
    if (smoothing) {
      let acc = 0;
      for (let j = 0; j < C; j++) acc += w(j) * (x[o + j]! - m - ls);
      smooth[i] = -acc;
    }
  }
  return { nll, smooth, D };
}

const maxOf = (a: ArrayLike<number>): number => {
  let m = -Infinity;
  for (let i = 0; i < a.length; i++) m = Math.max(m, a[i]!);
  return m;
};
const sum = (a: ArrayLike<number>): number => {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]!;
  return s;
};

function pplTol(nll: number, tl: Tol): Tol {
  return { rtol: 2 * (tl.atol + tl.rtol * Math.abs(nll)) + 4e-6, atol: 0 };
}

const big = { rows: 32, classes: 128_256 };
const xBig = randomLogits(big.rows, big.classes, 3, 2024);
const tBig = randomTargets(big.rows, big.classes, 7);
tBig[5] = -100;
const bigParts = rowPartsRef(xBig, big.classes, tBig);
const SBig = spreadOf(xBig, big.classes).S;

describeEachBackend('32 × 128,256 rows', (lk) => {
  const C = big.classes;
  it('crossEntropy none / sum / mean and perplexity within §11', () => {
    const tRow = logTol({ C, S: SBig });
    const tAll = logTol({ C, S: SBig, N: xBig.length });
    expectClose(lk().crossEntropy(xBig, C, tBig, { reduction: 'none' }), bigParts.nll, tRow, 'none');
    expectClose(lk().crossEntropy(xBig, C, tBig, { reduction: 'sum' }), sum(bigParts.nll), tAll, 'sum');
    const mean = sum(bigParts.nll) / bigParts.D;
    expectClose(lk().crossEntropy(xBig, C, tBig), mean, tAll, 'mean');
    expectClose(lk().perplexity(xBig, C, tBig), Math.exp(mean), pplTol(mean, tAll), 'perplexity');
  });

  it('label smoothing with weights sums 128k terms per row without drift', () => {
    const r = rng(3);
    const weight = Float32Array.from({ length: C }, () => 0.5 + r());
    const eps = 0.1;
    const p = rowPartsRef(xBig, C, tBig, weight, true);
    const none = Array.from(p.nll, (n, i) => (1 - eps) * n + (eps / C) * p.smooth[i]!);
    expectClose(lk().crossEntropy(xBig, C, tBig, { reduction: 'none', weight, labelSmoothing: eps }), none, logTol({ C, S: SBig }), 'none');
    const mean = (1 - eps) * (sum(p.nll) / p.D) + (eps / C) * (sum(p.smooth) / p.D);
    const got = lk().crossEntropyWithGrad(xBig, C, tBig, { weight, labelSmoothing: eps });
    expectClose(got.loss, mean, logTol({ C, S: SBig, N: xBig.length }), 'mean (fused)');
    // the gradient on the same 128k-wide rows, spot-checked on three rows against §6
    for (const i of [0, 5, 31]) {
      const xi = xBig.subarray(i * C, (i + 1) * C);
      const want = crossEntropyGradRef(xi, C, [tBig[i]!], 'sum', { weight, labelSmoothing: eps }).map((g) => g / p.D);
      const g = (maxOf(weight) + (eps / C) * sum(weight)) / p.D;
      expectClose(got.grad.subarray(i * C, (i + 1) * C), want, gradTol({ C, S: SBig, g }), `grad row ${i}`);
    }
  });
});

/**
 * 2,048 × 32,000 (262 MB of logits) and its reference, built once for both backends, and once per run
 * for the four matrix columns (helpers/fixture-cache.ts; the key hashes this file, the generator and
 * spreadOf): building it took ~6 s of each column's ~10 s.
 */
let vocab: { x: Float32Array; t: Int32Array; nll: Float64Array; D: number; S: number } | undefined;
function vocabBatch(R: number, C: number) {
  vocab ??= cachedFixture(
    'spec-loss-large-vocab',
    [new URL(import.meta.url), new URL('./helpers/random.ts', import.meta.url), new URL('./helpers/tolerance.ts', import.meta.url)],
    [R, C],
    () => {
      const x = randomLogits(R, C, 2.5, 11);
      const t = randomTargets(R, C, 12);
      for (let i = 0; i < R; i += 97) t[i] = -100;
      const p = rowPartsRef(x, C, t);
      return { x, t, nll: p.nll, D: p.D, S: spreadOf(x, C).S };
    },
  );
  return vocab;
}

describeEachBackend('2,048 × 32,000 rows', (lk) => {
  const R = 2048;
  const C = 32_000;
  it('crossEntropy none / mean and perplexity within §11', { timeout: 240_000 }, () => {
    const { x, t, nll, D, S } = vocabBatch(R, C);
    const tAll = logTol({ C, S, N: x.length });
    expectClose(lk().crossEntropy(x, C, t, { reduction: 'none' }), nll, logTol({ C, S }), 'none');
    const mean = sum(nll) / D;
    expectClose(lk().crossEntropy(x, C, t), mean, tAll, 'mean');
    expectClose(lk().perplexity(x, C, t), Math.exp(mean), pplTol(mean, tAll), 'perplexity');
  });
});

describeEachBackend('gradients on 32,000-class rows against the §6 closed forms', (lk) => {
  const R = 12;
  const C = 32_000;
  const x = randomLogits(R, C, 3, 5);
  const t = randomTargets(R, C, 6);
  t[4] = -100;
  const r = rng(8);
  const weight = Float32Array.from({ length: C }, () => 0.25 + 2 * r());
  const S = spreadOf(x, C).S;
  for (const reduction of ['mean', 'sum'] as const) {
    for (const [label, o] of [
      ['plain', {}],
      ['smoothing', { labelSmoothing: 0.1 }],
      ['weights + smoothing', { weight, labelSmoothing: 0.05 }],
    ] as [string, { weight?: Float32Array; labelSmoothing?: number }][]) {
      it(`class targets, ${reduction}, ${label}`, () => {
        const got = lk().crossEntropyWithGrad(x, C, t, { ...o, reduction });
        const ref = crossEntropyClassRef(x, C, t, o);
        expectClose(got.loss, ref[reduction], logTol({ C, S, N: x.length }), 'loss');
        const w = o.weight;
        const eps = o.labelSmoothing ?? 0;
        const g = ((w ? maxOf(w) : 1) + (eps / C) * (w ? sum(w) : C)) / (reduction === 'mean' ? ref.D : 1);
        expectClose(got.grad, crossEntropyGradRef(x, C, t, reduction, o), gradTol({ C, S, g }), 'grad');
        // the ignored row is exactly 0
        expect(got.grad.subarray(4 * C, 5 * C).every((v) => v === 0)).toBe(true);
      });
    }
    it(`probability targets, ${reduction}, weights + smoothing`, () => {
      const q = new Float32Array(R * C);
      const rq = rng(9);
      for (let i = 0; i < q.length; i++) q[i] = rq() < 0.001 ? rq() : 0;
      const o = { weight, labelSmoothing: 0.1 };
      const got = lk().crossEntropyWithGrad(x, C, q, { ...o, reduction });
      expectClose(got.loss, crossEntropySoftRef(x, C, q, o)[reduction], logTol({ C, S, N: x.length }), 'loss');
      const g = (maxOf(weight) * 2) / (reduction === 'mean' ? R : 1);
      expectClose(got.grad, crossEntropySoftGradRef(x, C, q, reduction, o), gradTol({ C, S, g }), 'grad');
    });
  }
});

describeFor('threads 2', 'split across worker threads', () => {
  it('per-row losses, gradients, entropy and KL are bit-identical to one thread', async () => {
    // The shared-memory build, as test/threads.test.ts loads it, on one thread and on two.
    const module = new WebAssembly.Module(readFileSync(new URL('../build/logitkit-threads.wasm', import.meta.url)));
    const wOne = await createWasmBackend(module, { threads: 1 });
    const wTwo = await createWasmBackend(module, { threads: 2 });
    const one = new Engine(wOne);
    const two = new Engine(wTwo);
    try {
      expect(wTwo.activeThreads).toBe(2);
      for (const [R, C] of [[512, 1000], [8195, 10]] as [number, number][]) {
        const x = randomLogits(R, C, 3, 31);
        for (let r = 3; r < R; r += 97) x[r * C + (5 % C)] = NaN;
        for (let r = 7; r < R; r += 89) x.fill(-Infinity, r * C, (r + 1) * C);
        for (let r = 11; r < R; r += 83) x[r * C] = -Infinity;
        const q = randomLogits(R, C, 2, 32);
        const t = randomTargets(R, C, 33);
        for (let r = 0; r < R; r += 13) t[r] = -100;
        const weight = Float32Array.from({ length: C }, (_, i) => 0.5 + (i % 5) / 4);
        const run = (lk: Engine) => [
          lk.crossEntropy(x, C, t, { reduction: 'none', weight, labelSmoothing: 0.1 }),
          lk.crossEntropy(x, C, lk.softmax(q, C), { reduction: 'none' }),
          lk.crossEntropyWithGrad(x, C, t, { labelSmoothing: 0.05 }).grad,
          lk.crossEntropyWithGrad(x, C, lk.softmax(q, C), { weight }).grad,
          lk.entropy(x, C),
          lk.klDiv(x, q, C),
        ];
        const a = run(one);
        const before = wTwo.runtime.parallelCalls;
        const b = run(two);
        expect(wTwo.runtime.parallelCalls - before, 'every call was split').toBe(a.length + 2); // + the two softmax calls
        for (let i = 0; i < a.length; i++) expect(Buffer.compare(Buffer.from(a[i]!.buffer), Buffer.from(b[i]!.buffer)), `[${R}, ${C}] result ${i}`).toBe(0);
      }
    } finally {
      one.dispose();
      two.dispose();
    }
  });
});
