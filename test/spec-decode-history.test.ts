/**
 * Issue 25 items 2 and 4: the history rules — DRY (llama.cpp), noRepeatNgramSize, badWords,
 * sequenceBias (Hugging Face), minTokens (vLLM) — against the float64 references in
 * test/reference/decode.ts, on both backends, one-step and through lk.sampler; wasm and JS give
 * identical tokens.
 */
import { expect, it } from 'vitest';
import { describeEachBackend, describeVsJs, engineFor } from './helpers/backends.js';
import { randomLogits, rng } from './helpers/random.js';
import { codeOf } from './helpers/checks.js';
import type { Engine, SamplerCreateOptions } from '../src/index.js';
import { splitMix32 } from '../src/engine.js';
import { refBadWords, refDry, refNgramBans, refSequenceBias, type RefDry } from './reference/index.js';

const fround = Math.fround;

/** A history over a small alphabet, so that repeats are common. */
function history(rand: () => number, n: number, alphabet: number): Int32Array {
  return Int32Array.from({ length: n }, () => Math.floor(rand() * alphabet));
}

describeEachBackend('history rules', (lk) => {
  it('DRY: filtered logits are x − multiplier·base^(L − allowedLength) for the reference L, nothing else changes', () => {
    const rand = rng(2525);
    const C = 40;
    for (let trial = 0; trial < 150; trial++) {
      const h = history(rand, [0, 1, 3, 8, 30, 120][trial % 6]!, [2, 3, 6][trial % 3]!);
      // Plant a repeat of the tail now and then.
      if (trial % 4 === 0 && h.length > 10) h.set(h.subarray(h.length - 5), 2);
      const d: RefDry = {
        multiplier: [0.8, 2, 0][trial % 7 === 6 ? 2 : trial % 2]!,
        base: [1.75, 1.1, 3][trial % 3]!,
        allowedLength: [2, 0, 1, 4][trial % 4]!,
        lastN: [-1, 5, 20, 0, 64][trial % 5]!,
        breakers: trial % 3 === 0 ? [1] : trial % 3 === 1 ? [] : [0, 4],
      };
      const x = randomLogits(1, C, 2, 77 + trial);
      const dry = { multiplier: d.multiplier, base: d.base, allowedLength: d.allowedLength, penaltyLastN: d.lastN, sequenceBreakers: Int32Array.from(d.breakers) };
      const f = lk().filterLogits(x, C, { dry, history: h });
      const pen = refDry(h, d);
      const tag = JSON.stringify({ trial, h: Array.from(h), d });
      for (let j = 0; j < C; j++) expect(f[j], `${tag} token ${j}`).toBe(pen.has(j) ? fround(x[j]! - pen.get(j)!) : x[j]);
    }
  });

  it('DRY: the rules fixed by the issue, on hand-made histories', () => {
    const C = 10;
    const x = new Float32Array(C);
    const dry = (h: number[], o: Record<string, unknown> = {}): number[] =>
      Array.from(lk().filterLogits(x, C, { dry: { multiplier: 1, base: 2, allowedLength: 2, ...o }, history: Int32Array.from(h) }), (v) => -v);
    // 1 2 3 … 1 2: the suffix [1 2] also ends at index 1, so token 3 gets 1·2^(2−2) = 1.
    expect(dry([1, 2, 3, 5, 1, 2])[3]).toBe(1);
    // Longer match → larger penalty: [5 1 2] matched, L = 3 → 2.
    expect(dry([5, 1, 2, 3, 6, 5, 1, 2])[3]).toBe(2);
    // Overlapping matches count: 7 7 7 7 → the suffix of length 3 ends at index 2, so 7 gets 2^(3−2).
    expect(dry([7, 7, 7, 7])[7]).toBe(2);
    // Below allowedLength: nothing.
    expect(dry([1, 3, 5, 1])).toEqual(new Array(C).fill(-0));
    // A breaker caps L at the tokens after it: [9 5 1 2] matches (L = 4 → 4) but 3 tokens follow the last 9, so L = 3 → 2.
    expect(dry([9, 5, 1, 2, 3, 9, 5, 1, 2])[3]).toBe(4);
    expect(dry([9, 5, 1, 2, 3, 9, 5, 1, 2], { sequenceBreakers: Int32Array.of(9) })[3]).toBe(2);
    // … and when that count is not longer than allowedLength, no penalty at all.
    expect(dry([5, 1, 2, 3, 6, 5, 9, 1, 2], { sequenceBreakers: Int32Array.of(9) })).toEqual(new Array(C).fill(-0));
    // Breaker tokens themselves are never penalised.
    expect(dry([1, 2, 4, 5, 1, 2], { sequenceBreakers: Int32Array.of(4) })[4]).toBe(-0);
    // The window: with penaltyLastN 3 the earlier [1 2] is out of sight.
    expect(dry([1, 2, 3, 5, 1, 2], { penaltyLastN: 3 })[3]).toBe(-0);
  });

  it('DRY and the n-gram ban run in time linear in the history (200,000 equal tokens)', () => {
    const C = 8;
    const h = new Int32Array(200_000).fill(3);
    const t0 = performance.now();
    const f = lk().filterLogits(new Float32Array(C), C, { dry: { multiplier: 1, base: 1.01, allowedLength: 2 }, noRepeatNgramSize: 3, history: h });
    // A quadratic scan would take 2·10^10 steps here.
    expect(performance.now() - t0).toBeLessThan(20_000);
    expect(f[3]).toBe(-Infinity);
  });

  it('noRepeatNgramSize: the banned tokens are the reference ones', () => {
    const rand = rng(7842);
    const C = 12;
    for (let trial = 0; trial < 120; trial++) {
      const h = history(rand, [0, 1, 2, 5, 20, 80][trial % 6]!, [2, 4, 8][trial % 3]!);
      const n = [1, 2, 3, 4][trial % 4]!;
      const x = randomLogits(1, C, 1, trial);
      const f = lk().filterLogits(x, C, { noRepeatNgramSize: n, history: h });
      const bans = refNgramBans(h, n);
      if (bans.size === C) continue;
      for (let j = 0; j < C; j++) expect(f[j], `n=${n} h=${Array.from(h)} token ${j}`).toBe(bans.has(j) ? -Infinity : x[j]);
    }
  });

  it('badWords and sequenceBias: the reference bans and sums', () => {
    const rand = rng(22168);
    const C = 16;
    for (let trial = 0; trial < 120; trial++) {
      const h = history(rand, [0, 1, 4, 30][trial % 4]!, 4);
      const seqs = Array.from({ length: 4 }, () => history(rand, 1 + Math.floor(rand() * 3), 5));
      const x = randomLogits(1, C, 1, 500 + trial);
      const bad = lk().filterLogits(x, C, { badWords: seqs, history: h });
      const bans = refBadWords(h, seqs);
      for (let j = 0; j < C; j++) expect(bad[j]).toBe(bans.has(j) ? -Infinity : x[j]);
      const pairs = seqs.map((s, i) => [s, [1.5, -2, 0.25, 3][i]!] as [Int32Array, number]);
      const biased = lk().filterLogits(x, C, { sequenceBias: pairs, history: h });
      const sums = refSequenceBias(h, pairs);
      for (let j = 0; j < C; j++) expect(biased[j]).toBe(sums.has(j) ? fround(x[j]! + sums.get(j)!) : x[j]);
    }
  });

  it('order: logitBias, then penalties, then DRY + sequenceBias; bans beat everything; `history` fills in penaltyTokens', () => {
    const C = 6;
    const x = Float32Array.of(1, 2, 3, 0.5, -1, 0);
    const h = Int32Array.of(1, 2, 0, 1, 2);
    const o = { logitBias: { 0: 0.5 }, presencePenalty: 1, dry: { multiplier: 1, base: 2, allowedLength: 2 }, sequenceBias: [[Int32Array.of(2, 0), 0.25]] as Array<[Int32Array, number]> };
    const f = lk().filterLogits(x, C, { ...o, history: h });
    // Token 0: bias, presence (it is in the history), DRY (suffix [1 2] also ends before 0: L = 2 → 1), sequence bias (h ends with 2).
    expect(f[0]).toBe(fround(fround(fround(1 + 0.5) - 1) + (-1 + 0.25)));
    expect(f[1]).toBe(fround(2 - 1));
    expect(f[4]).toBe(-1);
    expect(lk().filterLogits(x, C, { ...o, penaltyTokens: h, history: h })).toEqual(f);
    const banned = lk().filterLogits(x, C, { ...o, history: h, badWords: [Int32Array.of(0)] });
    expect(banned[0]).toBe(-Infinity);
    // Everything banned is an error, not a silent token 0.
    expect(codeOf(() => lk().sample(x, C, { history: h, badWords: [0, 1, 2, 3, 4, 5].map((t) => Int32Array.of(t)) }))).toBe('no_token_allowed');
  });

  it('minTokens (lk.sampler): stop tokens are −inf until count tokens were produced by the sampler (sample and accept), not the prompt', () => {
    const C = 8;
    const x = new Float32Array(C).fill(0);
    x[7] = 50; // the stop token is overwhelmingly likely
    const s = lk().sampler({ vocab: C, prompt: Int32Array.of(1, 2, 3, 4, 5), seed: 1, minTokens: { count: 3, stopTokens: Int32Array.of(7, 6) } });
    const a = s.sample(x);
    s.accept(2);
    const b = s.sample(x);
    expect([a, b].some((t) => t === 7 || t === 6)).toBe(false);
    expect(s.sample(x)).toBe(7);
    s.reset();
    expect(s.sample(x)).not.toBe(7);
    expect(codeOf(() => lk().sampler({ vocab: C, minTokens: { count: -1, stopTokens: Int32Array.of(7) } }))).toBe('invalid_argument');
    expect(codeOf(() => lk().sampler({ vocab: C, minTokens: { count: 1, stopTokens: Int32Array.of(8) } }))).toBe('target_out_of_range');
    expect(codeOf(() => lk().sample(x, C, { minTokens: { count: 1, stopTokens: Int32Array.of(7) } } as never))).toBe('invalid_argument');
  });

  it('bad values → invalid_argument, ids outside the vocabulary → target_out_of_range, wrong lengths → shape_mismatch', () => {
    const C = 8;
    const x = new Float32Array(C);
    const bad = (o: object): string | undefined => codeOf(() => lk().sample(x, C, o as never));
    expect(bad({ dry: { multiplier: -1 } })).toBe('invalid_argument');
    expect(bad({ dry: { multiplier: 1, base: 0.5 } })).toBe('invalid_argument');
    expect(bad({ dry: { multiplier: 1, allowedLength: 1.5 } })).toBe('invalid_argument');
    expect(bad({ dry: { multiplier: 1, penaltyLastN: -2 } })).toBe('invalid_argument');
    expect(bad({ dry: { multiplier: 1, sequenceBreakers: Int32Array.of(8) } })).toBe('target_out_of_range');
    expect(bad({ dry: { multiplier: 1, typo: 1 } })).toBe('invalid_argument');
    expect(bad({ noRepeatNgramSize: -1 })).toBe('invalid_argument');
    expect(bad({ badWords: [Int32Array.of()] })).toBe('invalid_argument');
    expect(bad({ badWords: [Int32Array.of(9)] })).toBe('target_out_of_range');
    expect(bad({ badWords: Int32Array.of(1) })).toBe('invalid_argument');
    expect(bad({ sequenceBias: [[Int32Array.of(1), Infinity]] })).toBe('invalid_argument');
    expect(bad({ sequenceBias: [[Int32Array.of(1, 99), 1]] })).toBe('target_out_of_range');
    expect(bad({ history: Int32Array.of(8) })).toBe('target_out_of_range');
    expect(bad({ history: [Int32Array.of(1), Int32Array.of(2)] })).toBe('shape_mismatch');
    // The engine still works.
    expect(lk().sample(x, C, { temperature: 0 })[0]).toBe(0);
  });
});

/** The sampler's step with the history rules = lk.sample on the logits the references adjust by hand. */
function referenceStep(lk: Engine, x: Float32Array, C: number, h: Int32Array, o: { dry: RefDry; ngram: number; bad: Int32Array[]; bias: Array<[Int32Array, number]> }, random: () => number): number {
  const dry = refDry(h, o.dry);
  const bias = refSequenceBias(h, o.bias);
  const y = x.slice();
  for (let j = 0; j < C; j++) if (dry.has(j) || bias.has(j)) y[j] = fround(x[j]! + (-(dry.get(j) ?? 0) + (bias.get(j) ?? 0)));
  const bans = new Set([...refNgramBans(h, o.ngram), ...refBadWords(h, o.bad)]);
  return lk.sample(y, C, { temperature: 0.9, topK: 30, random, ...(bans.size > 0 ? { suppressTokens: Int32Array.from(bans) } : {}) })[0]!;
}

describeEachBackend('history rules through lk.sampler', (lk) => {
  it('60 steps equal lk.sample on the reference-adjusted logits', () => {
    const C = 24;
    const rules = { dry: { multiplier: 0.8, base: 1.75, allowedLength: 2, lastN: -1, breakers: [0] }, ngram: 3, bad: [Int32Array.of(4), Int32Array.of(5, 6)], bias: [[Int32Array.of(7), 1] as [Int32Array, number], [Int32Array.of(1, 2), -0.5] as [Int32Array, number]] };
    const s = lk().sampler({
      vocab: C,
      seed: 9,
      prompt: Int32Array.of(1, 2, 3),
      temperature: 0.9,
      topK: 30,
      dry: { multiplier: 0.8, sequenceBreakers: Int32Array.of(0) },
      noRepeatNgramSize: 3,
      badWords: rules.bad,
      sequenceBias: rules.bias,
    });
    const stream = splitMix32(9);
    for (let step = 0; step < 60; step++) {
      // Peaked logits so that repeats (and so the rules) come up.
      const x = randomLogits(1, C, 3, 300 + (step % 7));
      const want = referenceStep(lk(), x, C, s.history, rules, stream);
      expect(s.sample(x), `step ${step}`).toBe(want);
    }
  });
});

describeVsJs('history rules: wasm and JS give identical tokens', () => {
  it('a sampler with every history rule, 80 steps', async () => {
    const o: SamplerCreateOptions = {
      vocab: 50,
      seed: 11,
      topP: 0.95,
      dry: { multiplier: 1.2, allowedLength: 1, sequenceBreakers: Int32Array.of(3) },
      noRepeatNgramSize: 4,
      badWords: [Int32Array.of(2, 9)],
      sequenceBias: [[Int32Array.of(8), 2]],
      minTokens: { count: 10, stopTokens: Int32Array.of(0) },
    };
    const go = (lk: Engine): number[] => {
      const s = lk.sampler(o);
      return Array.from({ length: 80 }, (_, i) => s.sample(randomLogits(1, 50, 2.5, 900 + (i % 9))));
    };
    expect(go(await engineFor('wasm'))).toEqual(go(await engineFor('js')));
  });
});
