/**
 * Issue 16, typical-p (Hugging Face TypicalLogitsWarper; llama.cpp `typical`) on both backends:
 * kept sets and filtered logits against the float64 reference (test/reference/sample.ts, Math.log
 * and a whole-vocabulary sort), hand-computed cases (HF's own arithmetic), ties, −inf / NaN / +inf,
 * minTokensToKeep, both stage orders, the draw's distribution (chi-square), verifyDraft and the
 * transformers.js processor, and the cross-backend check that wasm and JS agree exactly.
 */
import { expect, it } from 'vitest';
import { describeEachBackend, describeVsJs, engineFor } from './helpers/backends.js';
import { randomLogits, rng } from './helpers/random.js';
import { LogitkitError, type SampleOptions } from '../src/index.js';
import { SAMPLE_OPTION_KEYS } from '../src/sampling.js';
import { createLogitsProcessor, PROCESSOR_OPTION_KEYS } from '../src/interop.js';
import { libOptions, refKept, type RefOptions } from './reference/index.js';
import { codeOf, expectDrawsMatch, finiteIndices } from './helpers/checks.js';

const fround = Math.fround;

function tagOf(o: unknown): string {
  return JSON.stringify(o, (_, v) => (ArrayBuffer.isView(v) ? Array.from(v as Int32Array).slice(0, 40) : v));
}

/** Random options with typical-p always on, mixed with the other filters in both orders. */
function randomOptions(rand: () => number, C: number): RefOptions {
  const pick = <T>(xs: T[]): T => xs[Math.floor(rand() * xs.length)]!;
  const o: RefOptions = {
    typicalP: pick([0.05, 0.2, 0.5, 0.9, 0.95, 0.999]),
    temperature: pick([1, 0.7, 1.3, 1.3, 0]),
    topK: pick([0, 0, 0, 3, 40]),
    topP: pick([1, 1, 0.9, 0.6]),
    minP: pick([0, 0, 0.05]),
    minTokensToKeep: pick([1, 1, 1, 2, 6]),
  };
  if (rand() < 0.2) o.epsilon = pick([3e-4, 0.02]);
  if (rand() < 0.2) o.eta = pick([6e-4, 0.05]);
  if (rand() < 0.15) o.xtcThreshold = pick([0.05, 0.2]);
  if (rand() < 0.15) o.topNSigma = pick([1, 2.5]);
  if (rand() < 0.4) o.llama = true;
  if (rand() < 0.15) {
    o.penaltyTokens = Int32Array.from({ length: 5 }, () => Math.floor(rand() * C));
    o.repetitionPenalty = 1.3;
  }
  return o;
}


// Twelve logits whose most likely token (index 0, p ≈ 0.25) is not the most typical one.
const BASE = Float32Array.of(2, 1.5, 1.2, 1, 0.8, 0.5, 0.3, 0, -0.5, -1, -1.5, -2);

describeEachBackend('typical-p', (lk) => {
  it('is an option of sample / filterLogits / verifyDraft and of the transformers.js processor', () => {
    expect(SAMPLE_OPTION_KEYS).toContain('typicalP');
    expect(PROCESSOR_OPTION_KEYS).toContain('typicalP');
  });

  it('rejects typicalP outside (0, 1] with invalid_argument naming the option; 1 is off', () => {
    const x = randomLogits(1, 20, 2, 1);
    for (const bad of [0, -0.1, 1.5, NaN, Infinity, '0.5', null])
      try {
        lk().sample(x, 20, { typicalP: bad as number });
        expect.unreachable(`typicalP ${String(bad)}`);
      } catch (e) {
        expect(e).toBeInstanceOf(LogitkitError);
        expect((e as LogitkitError).code).toBe('invalid_argument');
        expect((e as LogitkitError).message).toContain('typicalP');
      }
    // 1 is HF's "skip the warper": exactly the result without the option.
    for (const o of [{}, { topK: 5 }, { topP: 0.8, temperature: 0.7 }, { order: 'llama.cpp' as const, minP: 0.1 }])
      expect(lk().filterLogits(x, 20, { ...o, typicalP: 1 })).toEqual(lk().filterLogits(x, 20, o));
    // The engine keeps working after the errors.
    expect(lk().sample(x, 20, { typicalP: 0.5, seed: 1 }).length).toBe(1);
  });

  it('keeps the tokens HF keeps on a hand-computed row (the most likely token can be dropped)', () => {
    // Shifted scores |−log p − H| (H = 2.0618) order the tokens 2, 3, 1, 4, 5, 0, 6, 7, …; the
    // cumulative probability in that order first reaches 0.2 at token 3, 0.5 at token 4, 0.9 at token 6.
    expect(finiteIndices(lk().filterLogits(BASE, 12, { typicalP: 0.2 }), 0, 12)).toEqual([2, 3]);
    expect(finiteIndices(lk().filterLogits(BASE, 12, { typicalP: 0.5 }), 0, 12)).toEqual([1, 2, 3, 4]);
    expect(finiteIndices(lk().filterLogits(BASE, 12, { typicalP: 0.9 }), 0, 12)).toEqual([0, 1, 2, 3, 4, 5, 6]);
    // Kept tokens keep their processed logits.
    const f = lk().filterLogits(BASE, 12, { typicalP: 0.5, temperature: 0.8 });
    for (const j of finiteIndices(f, 0, 12)) expect(f[j]).toBe(fround(BASE[j]! / 0.8));
    // minTokensToKeep takes the next tokens of the same order.
    expect(finiteIndices(lk().filterLogits(BASE, 12, { typicalP: 0.2, minTokensToKeep: 5 }), 0, 12)).toEqual([1, 2, 3, 4, 5]);
    expect(finiteIndices(lk().filterLogits(BASE, 12, { typicalP: 0.05, minTokensToKeep: 1 }), 0, 12)).toEqual([2]);
  });

  it('ties: every token tied with the cut is kept (HF); the minTokensToKeep extras go by lower id', () => {
    // p(0) ≈ 0.886 < 0.9: the mass is reached inside the seven tied tokens, so all of them stay
    // (llama.cpp, which cuts at the first index exceeding p, would keep only token 1 of them).
    const x = Float32Array.of(5, 1, 1, 1, 1, 1, 1, 1);
    expect(finiteIndices(lk().filterLogits(x, 8, { typicalP: 0.9 }), 0, 8)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(finiteIndices(lk().filterLogits(x, 8, { typicalP: 0.3 }), 0, 8)).toEqual([0]);
    expect(finiteIndices(lk().filterLogits(x, 8, { typicalP: 0.3, minTokensToKeep: 3 }), 0, 8)).toEqual([0, 1, 2]);
    // A flat row: every score is 0, one tie group, all kept whatever the mass.
    const flat = new Float32Array(37).fill(0.25);
    expect(finiteIndices(lk().filterLogits(flat, 37, { typicalP: 0.01 }), 0, 37).length).toBe(37);
    // Ties at the cut inside a wide row (non-multiple of 4), on both sides of the typical band.
    const y = new Float32Array(103);
    for (let j = 0; j < 103; j++) y[j] = [3, 0, -1, 0, 3, -4][j % 6]!;
    const ref = refKept(y, { typicalP: 0.6 });
    expect(finiteIndices(lk().filterLogits(y, 103, { typicalP: 0.6 }), 0, 103)).toEqual(ref.kept);
  });

  it('−inf and NaN logits are never kept or drawn; +inf tokens are the typical ones; length-1 rows', () => {
    const x = Float32Array.from(BASE);
    x[2] = NaN; // the most typical token of BASE
    x[3] = -Infinity;
    const ref = refKept(x, { typicalP: 0.5 });
    const kept = finiteIndices(lk().filterLogits(x, 12, { typicalP: 0.5 }), 0, 12);
    expect(kept).toEqual(ref.kept);
    expect(kept).not.toContain(2);
    expect(kept).not.toContain(3);
    for (let s = 0; s < 50; s++) expect(kept).toContain(lk().sample(x, 12, { typicalP: 0.5, seed: s })[0]);
    // Only −inf / NaN but one: that token.
    const one = Float32Array.of(-Infinity, NaN, 0.5, -Infinity, NaN);
    expect(finiteIndices(lk().filterLogits(one, 5, { typicalP: 0.1, minTokensToKeep: 4 }), 0, 5)).toEqual([2]);
    expect(lk().sample(one, 5, { typicalP: 0.1, seed: 3 })[0]).toBe(2);
    // +inf: those tokens share the mass (score 0); minTokensToKeep adds the next ones by lower id.
    const inf = Float32Array.of(Infinity, 1, Infinity, 0, 7);
    expect(finiteIndices(lk().filterLogits(inf, 5, { typicalP: 0.5 }), 0, 5)).toEqual([0, 2]);
    expect(finiteIndices(lk().filterLogits(inf, 5, { typicalP: 0.5, minTokensToKeep: 3 }), 0, 5)).toEqual([0, 1, 2]);
    expect([0, 2]).toContain(lk().sample(inf, 5, { typicalP: 0.5, minTokensToKeep: 3, seed: 9 })[0]);
    // A length-1 row keeps its token.
    expect(finiteIndices(lk().filterLogits(Float32Array.of(-3), 1, { typicalP: 0.01 }), 0, 1)).toEqual([0]);
    expect(lk().sample(Float32Array.of(-3), 1, { typicalP: 0.01, seed: 1 })[0]).toBe(0);
    // All −inf without constraints: token 0, as for every sampler.
    expect(lk().sample(Float32Array.of(-Infinity, -Infinity), 2, { typicalP: 0.5, seed: 1 })[0]).toBe(0);
  });

  it('sits after min-p in the HF order and right after top-k in the llama.cpp order', () => {
    // HF: top-p 0.8 keeps the 6 most likely tokens of BASE first; typical then works on those.
    const hf = refKept(BASE, { topP: 0.8, typicalP: 0.5 });
    expect(finiteIndices(lk().filterLogits(BASE, 12, { topP: 0.8, typicalP: 0.5 }), 0, 12)).toEqual(hf.kept);
    // llama.cpp: typical first (on the whole row), then top-p on what it kept.
    const ll = refKept(BASE, { topP: 0.8, typicalP: 0.5, llama: true });
    expect(finiteIndices(lk().filterLogits(BASE, 12, { topP: 0.8, typicalP: 0.5, order: 'llama.cpp' }), 0, 12)).toEqual(ll.kept);
    expect(hf.kept).not.toEqual(ll.kept);
    // The stage lists, with or without 'typicalP' (the lists of earlier releases), name the same orders.
    const lists: [SampleOptions['order'], SampleOptions['order']][] = [
      [['temperature', 'topNSigma', 'topK', 'topP', 'minP', 'typicalP', 'epsilon', 'eta', 'xtc'], 'hf'],
      [['temperature', 'topNSigma', 'topK', 'topP', 'minP', 'epsilon', 'eta', 'xtc'], 'hf'],
      [['topNSigma', 'topK', 'typicalP', 'topP', 'minP', 'epsilon', 'eta', 'xtc', 'temperature'], 'llama.cpp'],
      [['topNSigma', 'topK', 'topP', 'minP', 'epsilon', 'eta', 'xtc', 'temperature'], 'llama.cpp'],
    ];
    for (const [list, name] of lists) {
      const o = { topP: 0.8, typicalP: 0.5, temperature: 0.7 };
      expect(lk().filterLogits(BASE, 12, { ...o, order: list })).toEqual(lk().filterLogits(BASE, 12, { ...o, order: name }));
    }
    expect(codeOf(() => lk().sample(BASE, 12, { order: ['topNSigma', 'typicalP', 'topK', 'topP', 'minP', 'epsilon', 'eta', 'xtc', 'temperature'] }))).toBe('invalid_argument');
  });

  it('random rows and options: kept sets and filtered logits equal the float64 reference; tokens lie in them', () => {
    const rand = rng(1717);
    for (let trial = 0; trial < 160; trial++) {
      const C = [1, 5, 7, 32, 33, 101, 1000][trial % 7]!;
      const x = randomLogits(1, C, [0.5, 2, 6][trial % 3]!, 5000 + trial);
      if (trial % 4 === 0) for (let i = 1; i < C; i += 5) x[i] = x[i - 1]!; // ties
      if (trial % 5 === 0) for (let i = 0; i < C; i++) x[i] = Math.round(x[i]!); // many ties
      if (trial % 7 === 3) x[Math.min(3, C - 1)] = NaN;
      if (trial % 9 === 0) x[Math.min(5, C - 1)] = -Infinity;
      const o = randomOptions(rand, C);
      const { kept, z } = refKept(x, o);
      const f = lk().filterLogits(x, C, libOptions(o));
      expect(finiteIndices(f, 0, C), `trial ${trial} ${tagOf(o)}`).toEqual(kept);
      for (const j of kept) expect(f[j], tagOf(o)).toBe(fround(z[j]!));
      const toks = lk().sample(x, C, { ...libOptions(o), seed: trial });
      // A row with nothing above −inf (C = 1 with −inf) gives token 0, as for every sampler.
      if (kept.length === 0) expect(toks[0]).toBe(0);
      else expect(kept, tagOf(o)).toContain(toks[0]);
    }
  });

  it('several rows per call: each row is filtered on its own', () => {
    const C = 57;
    const rows = 5;
    const x = randomLogits(rows, C, 2, 77);
    for (const o of [{ typicalP: 0.7 }, { typicalP: 0.4, llama: true, temperature: 0.6 }, { typicalP: 0.9, topK: 10, minTokensToKeep: 3 }] as RefOptions[]) {
      const f = lk().filterLogits(x, C, libOptions(o));
      for (let r = 0; r < rows; r++) expect(finiteIndices(f, r * C, C)).toEqual(refKept(x.subarray(r * C, (r + 1) * C), o).kept);
    }
  });

  it('a seed gives the same tokens every time; different seeds differ', () => {
    const x = randomLogits(64, 300, 2, 8);
    const a = lk().sample(x, 300, { typicalP: 0.8, seed: 11 });
    expect(lk().sample(x, 300, { typicalP: 0.8, seed: 11 })).toEqual(a);
    expect(lk().sample(x, 300, { typicalP: 0.8, seed: 12 })).not.toEqual(a);
  });

  it('200,000 seeded draws match the filtered distribution (chi-square, alpha = 0.001)', () => {
    const C = 12;
    const rows = 200_000;
    const x = new Float32Array(rows * C);
    for (let r = 0; r < rows; r++) x.set(BASE, r * C);
    for (const o of [{ typicalP: 0.9 }, { typicalP: 0.7, temperature: 0.7, topK: 9 }, { typicalP: 0.6, topP: 0.95, llama: true, temperature: 1.4 }] as RefOptions[]) {
      const tokens = lk().sample(x, C, { ...libOptions(o), seed: 2026 });
      const { kept, probs } = refKept(BASE, o);
      expectDrawsMatch(tokens, kept, probs, `options ${JSON.stringify(o)}`, 1);
    }
  }, 240_000); // 600,000 rows through the JS reference, which sorts each row: slow on a loaded machine

  it('verifyDraft and the transformers.js processor apply it like filterLogits', () => {
    const V = 40;
    const target = randomLogits(3, V, 2, 21);
    const draft = randomLogits(2, V, 2, 22);
    const o = { typicalP: 0.6, temperature: 0.9 };
    const ft = lk().filterLogits(target, V, o);
    const fd = lk().filterLogits(draft, V, o);
    // The filtered rows as plain logits give the same verdict as the options applied inside.
    for (let seed = 0; seed < 20; seed++) {
      const dt = Int32Array.of(finiteIndices(fd, 0, V)[0]!, finiteIndices(fd, V, V)[0]!);
      expect(lk().verifyDraft(target, draft, V, dt, { ...o, seed })).toEqual(lk().verifyDraft(ft, fd, V, dt, { seed }));
    }
    const p = createLogitsProcessor(lk(), { typicalP: 0.6, temperature: 0.9 });
    const t = { data: target.slice(0, 2 * V), dims: [2, V], type: 'float32' };
    p([[], []], t);
    expect(t.data).toEqual(ft.slice(0, 2 * V));
    expect(codeOf(() => createLogitsProcessor(lk(), { typicalP: 0 }))).toBe('invalid_argument');
  });
});

describeVsJs('typical-p: wasm and JS give identical tokens and filtered logits', () => {
  it('random rows and options, several vocabulary sizes and rows per call', async () => {
    const w = await engineFor('wasm');
    const j = await engineFor('js');
    const rand = rng(4242);
    for (let trial = 0; trial < 150; trial++) {
      const C = [3, 4, 9, 64, 333, 2000, 5001][trial % 7]!;
      const rows = 1 + (trial % 3);
      const x = randomLogits(rows, C, [0.3, 1, 2.5, 8][trial % 4]!, 7000 + trial);
      if (trial % 5 === 0) for (let i = 0; i < x.length; i += 2) x[i] = Math.round(x[i]!);
      if (trial % 6 === 0) (x[0] = NaN), (x[x.length - 1] = -Infinity);
      if (trial % 13 === 0) x[1] = Infinity;
      const o = { ...libOptions(randomOptions(rand, C)), seed: trial };
      expect(w.filterLogits(x, C, o), `trial ${trial} ${tagOf(o)}`).toEqual(j.filterLogits(x, C, o));
      expect(w.sample(x, C, o), `trial ${trial} ${tagOf(o)}`).toEqual(j.sample(x, C, o));
    }
  });

  it('rows whose score band cannot be bounded (scores past 32 nats, minTokensToKeep near the vocabulary) give the reference set', async () => {
    const w = await engineFor('wasm');
    const j = await engineFor('js');
    const C = 301;
    const x = Float32Array.from({ length: C }, (_, i) => -i * 0.5); // scores reach ~150 nats
    for (const o of [{ typicalP: 0.9, minTokensToKeep: C }, { typicalP: 0.999999 }, { typicalP: 0.5, minTokensToKeep: 200 }, { typicalP: 0.3, order: 'llama.cpp' as const, minTokensToKeep: 250 }]) {
      const ref = refKept(x, { ...o, llama: o.order === 'llama.cpp' });
      expect(finiteIndices(w.filterLogits(x, C, o), 0, C), tagOf(o)).toEqual(ref.kept);
      expect(w.filterLogits(x, C, o)).toEqual(j.filterLogits(x, C, o));
      expect(w.sample(x, C, { ...o, seed: 4 })).toEqual(j.sample(x, C, { ...o, seed: 4 }));
    }
  });

  it('128,256-wide rows: typical alone, with top-k / top-p / min-p, in the llama.cpp order, with a large minTokensToKeep', async () => {
    const w = await engineFor('wasm');
    const j = await engineFor('js');
    const C = 128_256;
    const x = randomLogits(1, C, 2.5, 31);
    const flat = randomLogits(1, C, 1, 32);
    for (let i = 0; i < C; i += 7) flat[i] = Math.round(flat[i]! * 4) / 4; // ties
    const cases: SampleOptions[] = [
      { typicalP: 0.9 },
      { typicalP: 0.2, temperature: 0.8 },
      { typicalP: 0.9, topK: 50, topP: 0.9, temperature: 0.8 },
      { typicalP: 0.5, topP: 0.9 },
      { typicalP: 0.7, minP: 0.01 },
      { typicalP: 0.9, order: 'llama.cpp', temperature: 0.7, topP: 0.9 },
      { typicalP: 0.05, minTokensToKeep: 3000 },
      { typicalP: 0.95, epsilon: 3e-5, eta: 1e-4 },
    ];
    for (const row of [x, flat])
      for (const o of cases) {
        const fw = w.filterLogits(row, C, o);
        const fj = j.filterLogits(row, C, o);
        expect(fw, tagOf(o)).toEqual(fj);
        expect(finiteIndices(fw, 0, C).length, tagOf(o)).toBeGreaterThan(0);
        expect(w.sample(row, C, { ...o, seed: 5 }), tagOf(o)).toEqual(j.sample(row, C, { ...o, seed: 5 }));
      }
  }, 240_000);
});
