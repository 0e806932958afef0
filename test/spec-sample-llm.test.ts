/**
 * Issue 16: constraints (token bitmask, logit bias, allowed / suppressed tokens) and penalties
 * (frequency, presence, the last-N window) on both backends, against the float64 reference
 * (test/reference/sample.ts) written from the README's exact rules (Math.exp, whole-vocabulary sort), plus the
 * cross-backend check that wasm and JS return identical tokens and filtered logits.
 */
import { expect, it } from 'vitest';
import { describeEachBackend, describeVsJs, engineFor } from './helpers/backends.js';
import { randomLogits, rng } from './helpers/random.js';
import { LogitkitError, type Engine, type SampleOptions } from '../src/index.js';
import { SAMPLE_OPTION_KEYS } from '../src/sampling.js';
import { logAtLeastOne } from '../src/backends/js-sample.js';
import { libOptions, refKept, type RefOptions } from './reference/index.js';
import { codeOf, finiteIndices } from './helpers/checks.js';

const fround = Math.fround;

function maskOf(C: number, allowed: Iterable<number>): Int32Array {
  const m = new Int32Array(Math.ceil(C / 32));
  for (const t of allowed) m[t >> 5]! |= 1 << (t & 31);
  return m;
}

/** Random options over the constraint and penalty grid, with the HF filters mixed in. */
function randomOptions(rand: () => number, C: number): RefOptions {
  const pick = <T>(xs: T[]): T => xs[Math.floor(rand() * xs.length)]!;
  const o: RefOptions = {
    temperature: pick([1, 0.7, 1.3, 0]),
    topK: pick([0, 0, 1, 5, 40]),
    topP: pick([1, 1, 0.9, 0.5]),
    minP: pick([0, 0, 0.05]),
    minTokensToKeep: pick([1, 1, 3]),
  };
  const some = (p: number): Int32Array => Int32Array.from({ length: C }, (_, j) => j).filter(() => rand() < p);
  if (rand() < 0.5) {
    const m = maskOf(C, some(pick([0.9, 0.3, 0.02])));
    m[0]! |= 1; // keep one token so the row is never empty
    if (rand() < 0.3) m[m.length - 1] = -1; // bits past the vocabulary are ignored
    o.tokenBitmask = m;
  }
  if (rand() < 0.3) o.allowedTokens = Int32Array.of(0, ...some(0.2));
  if (rand() < 0.3) o.suppressTokens = some(0.1).filter((t) => t !== 0);
  if (rand() < 0.4) o.bias = new Map(Array.from(some(0.05), (t) => [t, pick([-100, -5, 0.5, 3, 100])]));
  if (rand() < 0.6) {
    o.penaltyTokens = Int32Array.from({ length: pick([3, 12, 40]) }, () => Math.floor(rand() * Math.min(C, 20)));
    o.frequencyPenalty = pick([0, 0.5, -1, 2]);
    o.presencePenalty = pick([0, 1.5, -0.5]);
    o.repetitionPenalty = pick([1, 1, 1.3]);
    o.penaltyLastN = pick([-1, 0, 4, 64]);
  }
  if (rand() < 0.25) o.topNSigma = pick([0.5, 1, 2.5]);
  if (rand() < 0.25) o.epsilon = pick([3e-4, 0.01, 0.2]);
  if (rand() < 0.25) o.eta = pick([6e-4, 0.02, 0.3]);
  if (rand() < 0.25) o.xtcThreshold = pick([0, 0.01, 0.1, 0.3, 0.6]);
  if (rand() < 0.3) o.llama = true;
  return o;
}

function tagOf(o: unknown): string {
  return JSON.stringify(o, (_, v) => (v instanceof Map ? [...v] : ArrayBuffer.isView(v) ? Array.from(v as Int32Array).slice(0, 40) : v));
}

// ---- per-backend specification -----------------------------------------------------------

describeEachBackend('constraints and penalties', (lk) => {
  it('every option key is listed in SAMPLE_OPTION_KEYS', () => {
    for (const k of ['tokenBitmask', 'logitBias', 'allowedTokens', 'suppressTokens', 'frequencyPenalty', 'presencePenalty', 'penaltyLastN'])
      expect(SAMPLE_OPTION_KEYS).toContain(k);
  });

  it('random rows and options: kept sets and filtered logits equal the float64 reference; tokens lie in them', () => {
    const rand = rng(1616);
    for (let trial = 0; trial < 120; trial++) {
      const C = [7, 32, 33, 100, 1000][trial % 5]!;
      const x = randomLogits(1, C, [0.5, 2, 6][trial % 3]!, 900 + trial);
      if (trial % 4 === 0) for (let i = 1; i < C; i += 5) x[i] = x[i - 1]!; // ties
      if (trial % 7 === 0) x[Math.min(3, C - 1)] = NaN;
      if (trial % 9 === 0) x[Math.min(5, C - 1)] = -Infinity;
      const o = randomOptions(rand, C);
      const { kept, z } = refKept(x, o);
      const f = lk().filterLogits(x, C, libOptions(o));
      expect(finiteIndices(f, 0, C), tagOf(o)).toEqual(kept);
      for (const j of kept) expect(f[j], tagOf(o)).toBe(fround(z[j]!));
      const toks = lk().sample(x, C, { ...libOptions(o), seed: trial });
      expect(kept, tagOf(o)).toContain(toks[0]);
    }
  });

  it('tokenBitmask: only allowed tokens survive; one mask for all rows or one per row; vocab not a multiple of 32', () => {
    const C = 70; // 3 words, the last one partly past the vocabulary
    const x = randomLogits(2, C, 1, 5);
    const shared = maskOf(C, [3, 31, 32, 64, 69]);
    shared[2]! |= ~((1 << 6) - 1); // bits 70..95 set: ignored
    const f = lk().filterLogits(x, C, { tokenBitmask: shared });
    expect(finiteIndices(f, 0, C)).toEqual([3, 31, 32, 64, 69]);
    expect(finiteIndices(f, C, C)).toEqual([3, 31, 32, 64, 69]);
    const perRow = new Int32Array(6);
    perRow.set(maskOf(C, [1]), 0);
    perRow.set(maskOf(C, [2, 68]), 3);
    expect(finiteIndices(lk().filterLogits(x, C, { tokenBitmask: perRow }), C, C)).toEqual([2, 68]);
    expect(Array.from(lk().sample(x, C, { tokenBitmask: perRow, seed: 1 }))[0]).toBe(1);
    // The greedy token is the best allowed one.
    const g = lk().sample(x, C, { tokenBitmask: shared, temperature: 0 });
    const best = [3, 31, 32, 64, 69].reduce((a, b) => (x[b]! > x[a]! ? b : a));
    expect(g[0]).toBe(best);
    expect(codeOf(() => lk().sample(x, C, { tokenBitmask: new Int32Array(4) }))).toBe('shape_mismatch');
    expect(codeOf(() => lk().sample(x, C, { tokenBitmask: new Int32Array(7) }))).toBe('shape_mismatch');
    expect(codeOf(() => lk().sample(x, C, { tokenBitmask: new Uint32Array(3) as unknown as Int32Array }))).toBe('invalid_argument');
  });

  it('logitBias: a Map, a record and parallel arrays are the same; bias is added before temperature in float32', () => {
    const C = 50;
    const x = randomLogits(1, C, 1, 6);
    const asMap = lk().filterLogits(x, C, { temperature: 0.7, logitBias: new Map([[4, 2.5], [10, -100]]) });
    const asRecord = lk().filterLogits(x, C, { temperature: 0.7, logitBias: { 4: 2.5, '10': -100 } });
    const asArrays = lk().filterLogits(x, C, { temperature: 0.7, logitBias: { ids: Int32Array.of(4, 10), values: [2.5, -100] } });
    expect(asRecord).toEqual(asMap);
    expect(asArrays).toEqual(asMap);
    expect(asMap[4]).toBe(fround(fround(x[4]! + 2.5) / 0.7));
    expect(asMap[10]).toBe(fround(fround(x[10]! - 100) / 0.7));
    expect(asMap[7]).toBe(fround(x[7]! / 0.7));
    // A +100 bias makes the token the greedy pick.
    expect(lk().sample(x, C, { temperature: 0, logitBias: { 33: 100 } })[0]).toBe(33);
    expect(codeOf(() => lk().sample(x, C, { logitBias: { 50: 1 } }))).toBe('target_out_of_range');
    expect(codeOf(() => lk().sample(x, C, { logitBias: { '01': 1 } }))).toBe('target_out_of_range');
    expect(codeOf(() => lk().sample(x, C, { logitBias: new Map([[-1, 1]]) }))).toBe('target_out_of_range');
    expect(codeOf(() => lk().sample(x, C, { logitBias: { 3: Infinity } }))).toBe('invalid_argument');
    expect(codeOf(() => lk().sample(x, C, { logitBias: { ids: [1, 1], values: [1, 2] } }))).toBe('invalid_argument');
    expect(codeOf(() => lk().sample(x, C, { logitBias: { ids: [1], values: [1, 2] } }))).toBe('shape_mismatch');
    expect(codeOf(() => lk().sample(x, C, { logitBias: 3 as never }))).toBe('invalid_argument');
  });

  it('allowedTokens and suppressTokens combine with the mask (per row or for all rows)', () => {
    const C = 40;
    const x = randomLogits(2, C, 1, 7);
    const f = lk().filterLogits(x, C, { tokenBitmask: maskOf(C, [1, 2, 3, 4, 5]), allowedTokens: Int32Array.of(2, 3, 4, 9), suppressTokens: [Int32Array.of(3), Int32Array.of()] });
    expect(finiteIndices(f, 0, C)).toEqual([2, 4]);
    expect(finiteIndices(f, C, C)).toEqual([2, 3, 4]);
    expect(codeOf(() => lk().sample(x, C, { allowedTokens: Int32Array.of(40) }))).toBe('target_out_of_range');
    expect(codeOf(() => lk().sample(x, C, { suppressTokens: [Int32Array.of(1)] }))).toBe('shape_mismatch');
  });

  it('a row with no token left throws no_token_allowed (never a silent token 0); the engine keeps working', () => {
    const C = 10;
    const x = randomLogits(2, C, 1, 8);
    const empty = new Int32Array(2 * 1);
    empty[0] = 0b10; // row 0 allows token 1, row 1 nothing
    expect(codeOf(() => lk().sample(x, C, { tokenBitmask: empty }))).toBe('no_token_allowed');
    expect(codeOf(() => lk().filterLogits(x, C, { tokenBitmask: empty }))).toBe('no_token_allowed');
    expect(codeOf(() => lk().sample(x, C, { allowedTokens: Int32Array.of(2), suppressTokens: Int32Array.of(2) }))).toBe('no_token_allowed');
    expect(codeOf(() => lk().sample(x, C, { allowedTokens: Int32Array.of(), temperature: 0 }))).toBe('no_token_allowed');
    // Allowed tokens whose logits are all -inf or NaN leave nothing either.
    const y = x.slice();
    (y[4] = -Infinity), (y[6] = NaN), (y[14] = -Infinity), (y[16] = NaN);
    expect(codeOf(() => lk().sample(y, C, { allowedTokens: Int32Array.of(4, 6) }))).toBe('no_token_allowed');
    try {
      lk().sample(y, C, { allowedTokens: [Int32Array.of(4, 5), Int32Array.of(4, 6)] });
      expect.unreachable();
    } catch (e) {
      expect((e as LogitkitError).message).toContain('row 1');
    }
    // Without constraints an all -inf row still gives token 0 (unchanged).
    expect(lk().sample(new Float32Array(C).fill(-Infinity), C, { seed: 1 })[0]).toBe(0);
    expect(Array.from(lk().sample(x, C, { allowedTokens: Int32Array.of(7), seed: 3 }))).toEqual([7, 7]);
  });

  it('applyTokenBitmask: -inf where disallowed, in place or into out; bad masks are coded errors', () => {
    const C = 37;
    const x = randomLogits(2, C, 1, 9);
    const m = new Int32Array(4);
    m.set(maskOf(C, [0, 5, 36]), 0);
    m.set(maskOf(C, [1, 32]), 2);
    const y = lk().applyTokenBitmask(x, C, m);
    expect(finiteIndices(y, 0, C)).toEqual([0, 5, 36]);
    expect(finiteIndices(y, C, C)).toEqual([1, 32]);
    expect(y[5]).toBe(x[5]);
    const shared = lk().applyTokenBitmask(x, C, maskOf(C, [2]));
    expect(finiteIndices(shared, C, C)).toEqual([2]);
    const inPlace = x.slice();
    expect(lk().applyTokenBitmask(inPlace, C, m, { out: inPlace })).toBe(inPlace);
    expect(inPlace).toEqual(y);
    expect(codeOf(() => lk().applyTokenBitmask(x, C, new Int32Array(3)))).toBe('shape_mismatch');
    expect(codeOf(() => lk().applyTokenBitmask(x, C, new Int32Array(2)))).toBe('no_token_allowed');
    const pastVocab = new Int32Array(2);
    pastVocab[1] = ~0b11111; // only bits ≥ 37 set
    expect(codeOf(() => lk().applyTokenBitmask(x, C, pastVocab))).toBe('no_token_allowed');
    expect(codeOf(() => lk().applyTokenBitmask(x, C, m, { out: new Float32Array(3) }))).toBe('shape_mismatch');
  });

  it('frequency and presence penalties: z_t −= c_t·α_f + [c_t > 0]·α_p over the last N penalty tokens', () => {
    const C = 20;
    const x = randomLogits(1, C, 1, 10);
    const pt = Int32Array.of(3, 3, 3, 5, 7, 5);
    const f = lk().filterLogits(x, C, { frequencyPenalty: 0.5, presencePenalty: 1, penaltyTokens: pt });
    expect(f[3]).toBe(fround(x[3]! - (3 * 0.5 + 1)));
    expect(f[5]).toBe(fround(x[5]! - (2 * 0.5 + 1)));
    expect(f[7]).toBe(fround(x[7]! - (0.5 + 1)));
    expect(f[4]).toBe(x[4]);
    // Window of 2: only [7, 5] count.
    const w = lk().filterLogits(x, C, { frequencyPenalty: 0.5, presencePenalty: 1, penaltyTokens: pt, penaltyLastN: 2 });
    expect(w[3]).toBe(x[3]);
    expect(w[5]).toBe(fround(x[5]! - 1.5));
    // 0 switches every penalty off, the repetition penalty too.
    const off = lk().filterLogits(x, C, { frequencyPenalty: 2, repetitionPenalty: 1.5, penaltyTokens: pt, penaltyLastN: 0 });
    expect(off).toEqual(x);
    // Repetition first, then frequency / presence, each rounded to float32.
    const both = lk().filterLogits(x, C, { repetitionPenalty: 1.3, frequencyPenalty: -0.25, penaltyTokens: pt, temperature: 0.9 });
    const rp = (v: number): number => (v > 0 ? fround(v / 1.3) : fround(v * 1.3));
    expect(both[3]).toBe(fround(fround(rp(x[3]!) + 0.75) / 0.9));
    for (const bad of [2.01, -2.5, NaN, Infinity]) {
      expect(codeOf(() => lk().sample(x, C, { frequencyPenalty: bad }))).toBe('invalid_argument');
      expect(codeOf(() => lk().sample(x, C, { presencePenalty: bad }))).toBe('invalid_argument');
    }
    for (const bad of [-2, 1.5, NaN]) expect(codeOf(() => lk().sample(x, C, { penaltyLastN: bad }))).toBe('invalid_argument');
    expect(lk().sample(x, C, { seed: 1 }).length).toBe(1);
  });

  it('constraints come before penalties: a suppressed token stays -inf whatever its penalty or bias', () => {
    const C = 8;
    const x = Float32Array.of(1, 2, 3, 4, 5, 6, 7, 8);
    const f = lk().filterLogits(x, C, { suppressTokens: Int32Array.of(7), logitBias: { 7: 50 }, presencePenalty: -2, penaltyTokens: Int32Array.of(7) });
    expect(f[7]).toBe(-Infinity);
    expect(lk().sample(x, C, { suppressTokens: Int32Array.of(7), logitBias: { 7: 50 }, temperature: 0 })[0]).toBe(6);
  });

  it('seeded draws under constraints and penalties follow the filtered distribution (chi-square, alpha = 0.001)', () => {
    const C = 12;
    const base = Float32Array.of(2, 1.5, 1.2, 1, 0.8, 0.5, 0.3, 0, -0.5, -1, -1.5, -2);
    const rows = 100_000;
    const x = new Float32Array(rows * C);
    for (let r = 0; r < rows; r++) x.set(base, r * C);
    const o: RefOptions = { tokenBitmask: maskOf(C, [0, 1, 3, 4, 6, 8, 11]), bias: new Map([[11, 2]]), frequencyPenalty: 0.4, presencePenalty: 0.2, penaltyTokens: Int32Array.of(0, 0, 3), temperature: 0.9 };
    const tokens = lk().sample(x, C, { ...libOptions(o), seed: 99 });
    const { kept, probs } = refKept(base, o);
    const counts = new Map<number, number>(kept.map((j) => [j, 0]));
    for (const t of tokens) {
      expect(counts.has(t)).toBe(true);
      counts.set(t, counts.get(t)! + 1);
    }
    let chi2 = 0;
    for (const j of kept) chi2 += (counts.get(j)! - probs.get(j)! * rows) ** 2 / (probs.get(j)! * rows);
    expect(kept.length).toBe(7);
    expect(chi2).toBeLessThan(22.46); // df 6
  });
});

describeEachBackend('top-nσ, epsilon and eta', (lk) => {
  it('kept sets and filtered logits equal the float64 reference (alone, combined, with ties, NaN, -inf)', () => {
    const rand = rng(99);
    const pick = <T>(xs: T[]): T => xs[Math.floor(rand() * xs.length)]!;
    for (let trial = 0; trial < 90; trial++) {
      const C = [6, 64, 501, 2000][trial % 4]!;
      const x = randomLogits(1, C, [0.5, 2, 5][trial % 3]!, 1300 + trial);
      if (trial % 4 === 1) for (let i = 1; i < C; i += 3) x[i] = x[i - 1]!;
      if (trial % 5 === 2) (x[0] = NaN), (x[C - 1] = -Infinity);
      const o: RefOptions = {
        temperature: pick([1, 0.8, 1.5]),
        topNSigma: pick([0, 0.5, 1, 3]),
        epsilon: pick([0, 1e-4, 0.01, 0.3]),
        eta: pick([0, 3e-4, 0.01, 0.5]),
        topK: pick([0, 0, 20]),
        topP: pick([1, 1, 0.9]),
        minP: pick([0, 0, 0.02]),
        minTokensToKeep: pick([1, 1, 4]),
      };
      const { kept, z } = refKept(x, o);
      const f = lk().filterLogits(x, C, o);
      expect(finiteIndices(f, 0, C), tagOf(o)).toEqual(kept);
      for (const j of kept) expect(f[j]).toBe(fround(z[j]!));
      expect(kept).toContain(lk().sample(x, C, { ...o, seed: trial })[0]);
    }
  });

  it('top-nσ keeps z ≥ max − n·σ; epsilon drops p < ε; eta uses min(ε, √ε·e^-H); each keeps minTokensToKeep', () => {
    // z = 0..9: μ = 4.5, σ = √8.25 ≈ 2.872; n = 1 keeps z ≥ 6.13 → tokens 7, 8, 9.
    const x = Float32Array.from({ length: 10 }, (_, j) => j);
    expect(finiteIndices(lk().filterLogits(x, 10, { topNSigma: 1 }), 0, 10)).toEqual([7, 8, 9]);
    expect(finiteIndices(lk().filterLogits(x, 10, { topNSigma: 1, minTokensToKeep: 5 }), 0, 10)).toEqual([7, 8, 9]); // a filter on z, like llama.cpp
    const p = Float32Array.from([0.5, 0.3, 0.15, 0.05], Math.log);
    expect(finiteIndices(lk().filterLogits(p, 4, { epsilon: 0.1 }), 0, 4)).toEqual([0, 1, 2]);
    expect(finiteIndices(lk().filterLogits(p, 4, { epsilon: 0.6 }), 0, 4)).toEqual([0]);
    expect(finiteIndices(lk().filterLogits(p, 4, { epsilon: 0.6, minTokensToKeep: 2 }), 0, 4)).toEqual([0, 1]);
    // H ≈ 1.1468: √0.5·e^-H ≈ 0.2245 < 0.5, so eta = 0.5 drops p < 0.2245.
    expect(finiteIndices(lk().filterLogits(p, 4, { eta: 0.5 }), 0, 4)).toEqual([0, 1]);
    expect(finiteIndices(lk().filterLogits(p, 4, { eta: 0.1 }), 0, 4)).toEqual([0, 1, 2]);
    for (const [k, v] of [['topNSigma', -1], ['topNSigma', Infinity], ['epsilon', 1], ['epsilon', -0.1], ['eta', NaN], ['eta', 1.5]] as const)
      expect(codeOf(() => lk().sample(x, 10, { [k]: v }))).toBe('invalid_argument');
  });
});

describeEachBackend('XTC and the llama.cpp order', (lk) => {
  it('random rows and options: kept sets and filtered logits equal the float64 reference', () => {
    const rand = rng(4321);
    const pick = <T>(xs: T[]): T => xs[Math.floor(rand() * xs.length)]!;
    for (let trial = 0; trial < 90; trial++) {
      const C = [5, 40, 300, 2001][trial % 4]!;
      const x = randomLogits(1, C, [0.5, 2, 5][trial % 3]!, 2300 + trial);
      if (trial % 4 === 1) for (let i = 1; i < C; i += 3) x[i] = x[i - 1]!;
      if (trial % 5 === 2) (x[0] = NaN), (x[C - 1] = -Infinity);
      const o: RefOptions = {
        temperature: pick([1, 0.6, 1.7, 0]),
        llama: pick([true, false]),
        topK: pick([0, 0, 30]),
        topP: pick([1, 0.9, 0.6]),
        minP: pick([0, 0.05]),
        eta: pick([0, 0, 0.01]),
        topNSigma: pick([0, 0, 1.5]),
        minTokensToKeep: pick([1, 1, 3]),
      };
      if (rand() < 0.7) o.xtcThreshold = pick([0, 0.02, 0.1, 0.3, 0.5, 0.7]);
      const { kept, z } = refKept(x, o);
      const f = lk().filterLogits(x, C, libOptions(o));
      expect(finiteIndices(f, 0, C), tagOf(o)).toEqual(kept);
      for (const j of kept) expect(f[j], tagOf(o)).toBe(fround(z[j]!));
      expect(kept).toContain(lk().sample(x, C, { ...libOptions(o), seed: trial })[0]);
    }
  });

  it('XTC drops every top choice but the least likely; a single top choice, threshold > 0.5 or minTokensToKeep stop it', () => {
    const p = Float32Array.from([0.4, 0.3, 0.2, 0.1], Math.log);
    const kept = (o: SampleOptions): number[] => finiteIndices(lk().filterLogits(p, 4, o), 0, 4);
    expect(kept({ xtc: { probability: 1, threshold: 0.15 } })).toEqual([2, 3]);
    expect(kept({ xtc: { probability: 1, threshold: 0.35 } })).toEqual([0, 1, 2, 3]);
    expect(kept({ xtc: { probability: 1, threshold: 0.6 } })).toEqual([0, 1, 2, 3]);
    expect(kept({ xtc: { probability: 1, threshold: 0.15 }, minTokensToKeep: 3 })).toEqual([0, 1, 2, 3]);
    expect(kept({ xtc: { probability: 0, threshold: 0.15 } })).toEqual([0, 1, 2, 3]);
    // −inf tokens are not candidates: they do not count as tokens left.
    const padded = new Float32Array(14).fill(-Infinity);
    padded.set(p, 5);
    expect(finiteIndices(lk().filterLogits(padded, 14, { xtc: { probability: 1, threshold: 0.15 }, minTokensToKeep: 3 }), 0, 14)).toEqual([5, 6, 7, 8]);
    expect(finiteIndices(lk().filterLogits(padded, 14, { xtc: { probability: 1, threshold: 0.15 }, minTokensToKeep: 2 }), 0, 14)).toEqual([7, 8]);
    // The draw is the second uniform of the row's pair: below the probability → applied.
    const seq = (...v: number[]): (() => number) => () => v.shift()!;
    expect(kept({ xtc: { probability: 0.5, threshold: 0.15 }, random: seq(0.9, 0.4) })).toEqual([2, 3]);
    expect(kept({ xtc: { probability: 0.5, threshold: 0.15 }, random: seq(0.1, 0.6) })).toEqual([0, 1, 2, 3]);
    expect(lk().sample(p, 4, { xtc: { probability: 0.5, threshold: 0.15 }, random: seq(0, 0.4) })[0]).toBe(2);
    expect(lk().sample(p, 4, { xtc: { probability: 0.5, threshold: 0.15 }, random: seq(0, 0.6) })[0]).toBe(0);
  });

  it('with one seed, filterLogits and sample make the same XTC decision per row; about P of the rows apply it', () => {
    const C = 4;
    const rows = 4000;
    const p = Float32Array.from([0.4, 0.3, 0.2, 0.1], Math.log);
    const x = new Float32Array(rows * C);
    for (let r = 0; r < rows; r++) x.set(p, r * C);
    const o: SampleOptions = { xtc: { probability: 0.3, threshold: 0.15 }, seed: 5 };
    const f = lk().filterLogits(x, C, o);
    const t = lk().sample(x, C, o);
    let applied = 0;
    for (let r = 0; r < rows; r++) {
      const k = finiteIndices(f, r * C, C);
      if (k.length === 2) applied++;
      expect(k).toContain(t[r]);
    }
    expect(Math.abs(applied / rows - 0.3)).toBeLessThan(0.03);
  });

  it("the llama.cpp order filters before temperature; 'hf' after; stage lists name the same orders", () => {
    const x = Float32Array.from([0.5, 0.3, 0.2], Math.log);
    const hf = lk().filterLogits(x, 3, { topP: 0.75, temperature: 0.25 });
    const ll = lk().filterLogits(x, 3, { topP: 0.75, temperature: 0.25, order: 'llama.cpp' });
    expect(finiteIndices(hf, 0, 3)).toEqual([0]);
    expect(finiteIndices(ll, 0, 3)).toEqual([0, 1]);
    expect(ll[1]).toBe(fround(x[1]! / 0.25));
    expect(lk().filterLogits(x, 3, { topP: 0.75, temperature: 0.25, order: ['topNSigma', 'topK', 'topP', 'minP', 'epsilon', 'eta', 'xtc', 'temperature'] })).toEqual(ll);
    expect(lk().filterLogits(x, 3, { topP: 0.75, temperature: 0.25, order: ['temperature', 'topNSigma', 'topK', 'topP', 'minP', 'epsilon', 'eta', 'xtc'] })).toEqual(hf);
    for (const order of ['vllm', ['topK', 'temperature'], 3])
      expect(codeOf(() => lk().sample(x, 3, { order: order as never }))).toBe('invalid_argument');
    for (const xtc of [{ probability: 2, threshold: 0.1 }, { probability: 0.5 }, { probability: 0.5, threshold: -1 }, 1])
      expect(codeOf(() => lk().sample(x, 3, { xtc: xtc as never }))).toBe('invalid_argument');
  });
});

describeEachBackend('logprobs', (lk) => {
  const close = (a: number, b: number): boolean => (Number.isFinite(b) ? Math.abs(a - b) <= 2e-6 * Math.max(1, Math.abs(b)) : Object.is(a, b));
  /** Rank order (descending, ties by lower id) of a row, NaN as −inf. */
  const ranked = (v: number[]): number[] => v.map((_, j) => j).sort((a, b) => (v[b]! !== v[a]! ? (v[b]! > v[a]! ? 1 : -1) : a - b));

  it('raw: log-softmax of the logits as given (NaN as -inf), the token and the top n by partial selection', () => {
    const C = 777;
    const x = randomLogits(3, C, 3, 41);
    x[5] = NaN;
    for (let i = 10; i < 20; i++) x[C + i] = x[C + 9]!; // ties
    const res = lk().sample(x, C, { logprobs: true, topLogprobs: 20, temperature: 0.7, topK: 40, seed: 3 });
    expect(Array.from(res.tokens)).toEqual(Array.from(lk().sample(x, C, { temperature: 0.7, topK: 40, seed: 3 })));
    for (let r = 0; r < 3; r++) {
      const v = Array.from(x.subarray(r * C, (r + 1) * C), (a) => (Number.isNaN(a) ? -Infinity : a));
      const m = Math.max(...v);
      const L = m + Math.log(v.reduce((s, a) => s + Math.exp(a - m), 0));
      expect(close(res.logprobs[r]!, v[res.tokens[r]!]! - L)).toBe(true);
      const top = ranked(v).slice(0, 20);
      expect(Array.from(res.topLogprobs.ids.subarray(r * 20, (r + 1) * 20))).toEqual(top);
      top.forEach((j, i) => expect(close(res.topLogprobs.logprobs[r * 20 + i]!, v[j]! - L), `row ${r} rank ${i}`).toBe(true));
    }
    // Without logprobs the result is still an Int32Array.
    expect(lk().sample(x, C, { seed: 3 })).toBeInstanceOf(Int32Array);
  });

  it("processed: the filtered distribution sample draws from (-inf outside it; 0 for greedy)", () => {
    const C = 300;
    const x = randomLogits(1, C, 2, 42);
    const o: RefOptions = { temperature: 0.8, topK: 30, topP: 0.8, frequencyPenalty: 1, penaltyTokens: Int32Array.of(1, 2, 2) };
    const { kept, probs } = refKept(x, o);
    const res = lk().sample(x, C, { ...libOptions(o), logprobs: true, topLogprobs: 20, logprobsOf: 'processed', seed: 9 });
    expect(close(res.logprobs[0]!, Math.log(probs.get(res.tokens[0]!)!))).toBe(true);
    const keptRanked = [...kept].sort((a, b) => probs.get(b)! - probs.get(a)! || a - b);
    const ids = Array.from(res.topLogprobs.ids);
    expect(ids.slice(0, Math.min(20, kept.length))).toEqual(keptRanked.slice(0, 20));
    ids.forEach((j, i) => expect(close(res.topLogprobs.logprobs[i]!, probs.has(j) ? Math.log(probs.get(j)!) : -Infinity)).toBe(true));
    const g = lk().sample(x, C, { temperature: 0, logprobs: true, logprobsOf: 'processed' });
    expect(g.logprobs[0]).toBe(0);
    expect(g.topLogprobs.ids.length).toBe(0);
  });

  it('+inf rows share the mass; rows with nothing finite give NaN; topLogprobs is capped at the vocabulary', () => {
    const x = Float32Array.of(Infinity, 1, Infinity, -Infinity, -Infinity, -Infinity);
    const res = lk().sample(x, 3, { logprobs: true, topLogprobs: 5, seed: 1 });
    expect([0, 2]).toContain(res.tokens[0]);
    expect(res.logprobs[0]).toBe(fround(-Math.log(2)));
    expect(Array.from(res.topLogprobs.ids)).toEqual([0, 2, 1, 0, 1, 2]);
    expect(Array.from(res.topLogprobs.logprobs.subarray(0, 3))).toEqual([fround(-Math.log(2)), fround(-Math.log(2)), -Infinity]);
    expect(res.logprobs[1]).toBeNaN();
  });

  it('bad logprob options are coded errors', () => {
    const x = randomLogits(1, 30, 1, 1);
    expect(codeOf(() => lk().sample(x, 30, { logprobs: true, topLogprobs: 21 }))).toBe('invalid_argument');
    expect(codeOf(() => lk().sample(x, 30, { logprobs: true, topLogprobs: 1.5 }))).toBe('invalid_argument');
    expect(codeOf(() => lk().sample(x, 30, { topLogprobs: 3 }))).toBe('invalid_argument');
    expect(codeOf(() => lk().sample(x, 30, { logprobs: 1 as never }))).toBe('invalid_argument');
    expect(codeOf(() => lk().sample(x, 30, { logprobs: true, logprobsOf: 'filtered' as never }))).toBe('invalid_argument');
  });
});

describeEachBackend('verifyDraft', (lk) => {
  it('the emitted token follows the target distribution and acceptance is Σ min(p, q) (chi-square, alpha = 0.001)', () => {
    const C = 6;
    // Fixed (context-free) logits: target p and a deliberately different draft q, k = 2.
    const target = Float32Array.of(2, 1.2, 0.4, 0, -0.5, -3, /**/ 0, 1, 2, 0.5, 0, -1, /**/ 1, 1, 0, 0, -1, 0.3);
    const draft = Float32Array.of(0, 1.5, 1.8, -1, 0.2, 0, /**/ 1, 0, 0, 0, 2, 0);
    const o = { temperature: 0.9, topK: 5 };
    const p0 = refKept(target.subarray(0, C), o).probs;
    const q0 = refKept(draft.subarray(0, C), o).probs;
    const trials = 40_000;
    const counts = new Array<number>(C).fill(0);
    let accepted0 = 0;
    // every trial's v.accepted, each value once: the same two expects on every value seen, without
    // 80,000 expect calls per column (~20 µs each, a third of the test)
    const acceptedSeen = new Set<number>();
    for (let t = 0; t < trials; t++) {
      // The draft samples its tokens from q, then the target verifies them.
      const d = Int32Array.of(lk().sample(draft.subarray(0, C), C, { ...o, seed: 2 * t })[0]!, lk().sample(draft.subarray(C), C, { ...o, seed: 2 * t + 1 })[0]!);
      const v = lk().verifyDraft(target, draft, C, d, { ...o, seed: 1e6 + t });
      const first = v.accepted >= 1 ? d[0]! : v.token;
      counts[first]!++;
      if (v.accepted >= 1) accepted0++;
      acceptedSeen.add(v.accepted);
    }
    for (const a of acceptedSeen) {
      expect(a).toBeGreaterThanOrEqual(0);
      expect(a).toBeLessThanOrEqual(2);
    }
    let chi2 = 0;
    for (let j = 0; j < C; j++) {
      const e = (p0.get(j) ?? 0) * trials;
      if (e === 0) expect(counts[j]).toBe(0);
      else chi2 += (counts[j]! - e) ** 2 / e;
    }
    expect(chi2).toBeLessThan(18.47); // df 4: the five tokens top-k keeps
    let overlap = 0;
    for (let j = 0; j < C; j++) overlap += Math.min(p0.get(j) ?? 0, q0.get(j) ?? 0);
    const se = Math.sqrt((overlap * (1 - overlap)) / trials);
    expect(Math.abs(accepted0 / trials - overlap)).toBeLessThan(4 * se);
  });

  it('all accepted: the bonus token is what sample draws from the last target row with the same uniform', () => {
    const C = 50;
    const target = randomLogits(3, C, 1, 77);
    const draftLogits = target.slice(0, 2 * C); // p = q: every kept draft token passes u·q < p
    const o: SampleOptions = { topP: 0.95, minP: 0.001 };
    const kept0 = finiteIndices(lk().filterLogits(target.subarray(0, C), C, o), 0, C);
    const kept1 = finiteIndices(lk().filterLogits(target.subarray(C, 2 * C), C, o), 0, C);
    const d = Int32Array.of(kept0[0]!, kept1[kept1.length - 1]!);
    for (const u of [0, 0.37, 0.9, 0.999]) {
      const seq = [0.5, 0.999999, u];
      let i = 0;
      const v = lk().verifyDraft(target, draftLogits, C, d, { ...o, random: () => seq[i++]! });
      expect(v.accepted).toBe(2);
      expect(v.token).toBe(lk().sample(target.subarray(2 * C), C, { ...o, random: () => u })[0]);
    }
  });

  it('greedy: accepted while the draft matches the target argmax; then the argmax', () => {
    const C = 8;
    const target = Float32Array.of(0, 5, 0, 0, 0, 0, 0, 0, /**/ 0, 0, 6, 0, 0, 0, 0, 0, /**/ 7, 0, 0, 0, 0, 0, 0, 0);
    const draft = new Float32Array(2 * C);
    expect(lk().verifyDraft(target, draft, C, Int32Array.of(1, 2), { temperature: 0 })).toEqual({ accepted: 2, token: 0 });
    expect(lk().verifyDraft(target, draft, C, Int32Array.of(1, 3), { temperature: 0 })).toEqual({ accepted: 1, token: 2 });
    expect(lk().verifyDraft(target, draft, C, Int32Array.of(4, 2), { temperature: 0 })).toEqual({ accepted: 0, token: 1 });
    expect(lk().verifyDraft(target.subarray(0, C), new Float32Array(0), C, new Int32Array(0), { temperature: 0 })).toEqual({ accepted: 0, token: 1 });
  });

  it('penalties see the draft tokens before each row; bad shapes and options are coded errors', () => {
    const C = 4;
    const target = Float32Array.of(0, 3, 0, 0, /**/ 0, 3, 0, 2.9, /**/ 0, 0, 0, 0);
    const draft = Float32Array.of(0, 3, 0, 0, /**/ 0, 3, 0, 0);
    // Row 1 penalises token 1 (drafted at row 0), so the greedy target there is 3, not 1.
    expect(lk().verifyDraft(target, draft, C, Int32Array.of(1, 1), { temperature: 0, presencePenalty: 1, penaltyTokens: new Int32Array(0) })).toEqual({ accepted: 1, token: 3 });
    expect(codeOf(() => lk().verifyDraft(target, draft, C, Int32Array.of(1)))).toBe('shape_mismatch');
    expect(codeOf(() => lk().verifyDraft(target.subarray(0, 8), draft, C, Int32Array.of(1, 1)))).toBe('shape_mismatch');
    expect(codeOf(() => lk().verifyDraft(target, draft, C, Int32Array.of(1, 4)))).toBe('target_out_of_range');
    expect(codeOf(() => lk().verifyDraft(target, draft, C, [1, 1] as never))).toBe('invalid_argument');
    expect(codeOf(() => lk().verifyDraft(target, draft, C, Int32Array.of(1, 1), { xtc: { probability: 1, threshold: 0.1 } }))).toBe('invalid_argument');
    expect(codeOf(() => lk().verifyDraft(target, draft, C, Int32Array.of(1, 1), { penaltyTokens: [Int32Array.of(1)] }))).toBe('invalid_argument');
    expect(codeOf(() => lk().verifyDraft(target, draft, C, Int32Array.of(1, 1), { allowedTokens: Int32Array.of(), seed: 1 }))).toBe('no_token_allowed');
    expect(lk().verifyDraft(target, draft, C, Int32Array.of(1, 1), { seed: 3 }).accepted).toBeGreaterThanOrEqual(0);
  });
});

// ---- wasm and JS agree token for token -----------------------------------------------------

describeVsJs('constraints, penalties and samplers: wasm and JS give identical tokens and filtered logits', () => {
  it('the shared ln is within 2 ulp of Math.log on [1, 2^21] and exact at 1', () => {
    const rand = rng(3);
    let worst = 0;
    for (let i = 0; i < 200_000; i++) {
      const s = i < 10 ? [1, 2, 1.5, Math.SQRT2, 3, 1024, 2 ** 21 - 1, 1 + 2 ** -52, 4.000000001, 7][i]! : 1 + rand() * 2 ** (rand() * 21);
      const ulp = Math.max(Number.EPSILON * Math.abs(Math.log(s)), Number.MIN_VALUE);
      worst = Math.max(worst, Math.abs(logAtLeastOne(s) - Math.log(s)) / ulp);
    }
    expect(logAtLeastOne(1)).toBe(0);
    expect(worst).toBeLessThanOrEqual(2); // measured 1.91 (units of EPSILON·|ln s|)
  });

  it('random rows and options, several vocabulary sizes, several rows per call', async () => {
    const w = await engineFor('wasm');
    const j = await engineFor('js');
    expect(w.backend).toBe('wasm');
    const rand = rng(77);
    for (let trial = 0; trial < 80; trial++) {
      const C = [5, 33, 1000, 4099][trial % 4]!;
      const x = randomLogits(3, C, [0.3, 1, 3][trial % 3]!, 700 + trial);
      if (trial % 5 === 0) for (let i = 0; i < x.length; i += 7) x[i] = x[i + 1] ?? 0;
      if (trial % 6 === 0) x[2] = NaN;
      if (trial % 8 === 1) (x[1] = Infinity), (x[C + 1] = -Infinity);
      const o = libOptions(randomOptions(rand, C));
      const so = { ...o, seed: trial };
      expect(Array.from(w.sample(x, C, so)), tagOf(o)).toEqual(Array.from(j.sample(x, C, so)));
      expect(w.filterLogits(x, C, o), tagOf(o)).toEqual(j.filterLogits(x, C, o));
    }
  });

  it('verifyDraft: the same answers on both backends for the same seed', async () => {
    const w = await engineFor('wasm');
    const j = await engineFor('js');
    const C = 5000;
    const target = randomLogits(4, C, 2, 1234);
    const draft = randomLogits(3, C, 2, 1235);
    for (let s = 0; s < 40; s++) {
      const o: SampleOptions = { temperature: 0.8, topK: [0, 50][s % 2]!, topP: 0.9, seed: s };
      const d = w.sample(draft, C, o);
      expect(w.verifyDraft(target, draft, C, d, o)).toEqual(j.verifyDraft(target, draft, C, d, o));
    }
  });

  it('logprobs: same tokens and top ids on both backends, values within float32 rounding (128,256-wide rows)', async () => {
    const w = await engineFor('wasm');
    const j = await engineFor('js');
    const C = 128_256;
    const x = randomLogits(2, C, 2.5, 999);
    for (const o of [{ topK: 50, topP: 0.9, temperature: 0.8 }, { minP: 0.1, logprobsOf: 'processed' as const }]) {
      const a = w.sample(x, C, { ...o, logprobs: true, topLogprobs: 20, seed: 4 });
      const b = j.sample(x, C, { ...o, logprobs: true, topLogprobs: 20, seed: 4 });
      expect(Array.from(a.tokens)).toEqual(Array.from(b.tokens));
      expect(Array.from(a.topLogprobs.ids)).toEqual(Array.from(b.topLogprobs.ids));
      const near = (p: number, q: number): boolean => p === q || Math.abs(p - q) < 1e-5;
      for (let i = 0; i < a.topLogprobs.logprobs.length; i++) expect(near(a.topLogprobs.logprobs[i]!, b.topLogprobs.logprobs[i]!)).toBe(true);
      for (let r = 0; r < 2; r++) expect(near(a.logprobs[r]!, b.logprobs[r]!)).toBe(true);
      if (o.minP) expect(a.topLogprobs.logprobs[19]).toBe(-Infinity); // fewer than 20 kept
    }
  });

  it('a 128,256-wide row with a grammar mask, bias and penalties', async () => {
    const w = await engineFor('wasm');
    const j = await engineFor('js');
    const C = 128_256;
    const x = randomLogits(1, C, 2.5, 4711);
    const rand = rng(5);
    const sparse = maskOf(C, Array.from({ length: 300 }, () => Math.floor(rand() * C)));
    const dense = new Int32Array(Math.ceil(C / 32)).fill(-1);
    for (let i = 0; i < dense.length; i += 3) dense[i] = 0x0f0f0f0f;
    const penaltyTokens = Int32Array.from({ length: 500 }, () => Math.floor(rand() * C));
    const configs: SampleOptions[] = [
      { tokenBitmask: sparse, topK: 50, topP: 0.9, temperature: 0.8 },
      { tokenBitmask: dense, topP: 0.9, temperature: 0.8, frequencyPenalty: 0.5, presencePenalty: 0.5, penaltyTokens, penaltyLastN: 64 },
      { logitBias: new Map([[5, 10], [77, -3]]), minP: 0.05, repetitionPenalty: 1.2, penaltyTokens },
      { suppressTokens: Int32Array.of(0, 1, 2), temperature: 1.1 },
      { topNSigma: 1.5, temperature: 0.7 },
      { topNSigma: 3, topK: 50, topP: 0.9 },
      { epsilon: 3e-4 },
      { eta: 6e-4, temperature: 0.9 },
      { epsilon: 1e-5, eta: 2e-3, minTokensToKeep: 3000 },
      { eta: 0.01, topP: 0.95, tokenBitmask: dense },
      { xtc: { probability: 1, threshold: 0.001 }, temperature: 0.9 },
      { xtc: { probability: 0.5, threshold: 0.05 }, topK: 50, topP: 0.9 },
      { order: 'llama.cpp', topK: 50, topP: 0.9, temperature: 0.8 },
      { order: 'llama.cpp', temperature: 1.3 },
      { order: 'llama.cpp', minP: 0.05, temperature: 0.7, xtc: { probability: 1, threshold: 0.1 } },
    ];
    const flat = randomLogits(1, C, 0.3, 4712);
    for (const [o, row] of [...configs.map((c) => [c, x] as const), [{ eta: 3e-4 }, flat] as const, [{ topNSigma: 1 }, flat] as const, [{ xtc: { probability: 1, threshold: 1e-5 } }, flat] as const]) {
      const x = row;
      for (const seed of [1, 2]) expect(Array.from(w.sample(x, C, { ...o, seed })), tagOf(o)).toEqual(Array.from(j.sample(x, C, { ...o, seed })));
      expect(w.filterLogits(x, C, o)).toEqual(j.filterLogits(x, C, o));
    }
  }, 240_000); // the JS reference sorts 128,256 keys per row; slow on a loaded machine
});
