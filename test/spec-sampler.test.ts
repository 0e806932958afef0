/**
 * Issue 25 item 1: lk.sampler — the stateful sampler for one sequence. Each step must be exactly the
 * one-step lk.sample with the history as penaltyTokens and the seed stream continued; state is plain
 * JSON and restores the stream, the history and the counters; both backends give identical tokens.
 */
import { expect, it } from 'vitest';
import { describeEachBackend, describeVsJs, engineFor } from './helpers/backends.js';
import { randomLogits } from './helpers/random.js';
import { codeOf } from './helpers/checks.js';
import type { Engine, SamplerCreateOptions } from '../src/index.js';
import { splitMix32 } from '../src/engine.js';

const C = 97;
const logitsAt = (step: number, scale = 2): Float32Array => randomLogits(1, C, scale, 4000 + step);

/** `steps` tokens from a sampler, with the logits of each step from logitsAt. */
function run(lk: Engine, o: SamplerCreateOptions, steps: number, from = 0): number[] {
  const s = lk.sampler(o);
  return Array.from({ length: steps }, (_, i) => s.sample(logitsAt(from + i)));
}

describeEachBackend('lk.sampler', (lk) => {
  it('each step is the one-step lk.sample with the history as penaltyTokens and the seed stream continued', () => {
    const prompt = Int32Array.of(3, 5, 5, 8);
    const o = { temperature: 0.8, topK: 20, topP: 0.9, repetitionPenalty: 1.3, frequencyPenalty: 0.4 };
    const s = lk().sampler({ vocab: C, prompt, seed: 42, ...o });
    const stream = splitMix32(42);
    const history = Array.from(prompt);
    for (let step = 0; step < 30; step++) {
      const x = logitsAt(step);
      const want = lk().sample(x, C, { ...o, penaltyTokens: Int32Array.from(history), random: stream })[0]!;
      const got = s.sample(x);
      expect(got, `step ${step}`).toBe(want);
      history.push(got);
    }
    expect(Array.from(s.history)).toEqual(history);
  });

  it('the first token equals lk.sample with the same seed; XTC takes two uniforms per step as lk.sample does', () => {
    const x = logitsAt(0);
    for (const seed of [1, 2, 3, 99]) {
      expect(lk().sampler({ vocab: C, seed, temperature: 1.2 }).sample(x)).toBe(lk().sample(x, C, { seed, temperature: 1.2 })[0]);
      const xtc = { probability: 0.7, threshold: 0.05 };
      const s = lk().sampler({ vocab: C, seed, xtc, temperature: 1.5 });
      const stream = splitMix32(seed);
      for (let step = 0; step < 5; step++) {
        const y = logitsAt(step, 0.5);
        expect(s.sample(y)).toBe(lk().sample(y, C, { random: stream, xtc, temperature: 1.5, penaltyTokens: s.history.subarray(0, s.history.length) })[0]);
      }
    }
  });

  it('accept() appends without drawing: the stream is where it was', () => {
    const a = lk().sampler({ vocab: C, seed: 7 });
    const b = lk().sampler({ vocab: C, seed: 7 });
    a.accept(11);
    a.accept(12);
    expect(Array.from(a.history)).toEqual([11, 12]);
    expect(a.sample(logitsAt(0))).toBe(b.sample(logitsAt(0)));
  });

  it('state is plain JSON: a sampler made from it continues with identical tokens; reset() starts over', () => {
    const o: SamplerCreateOptions = { vocab: C, prompt: Int32Array.of(1, 2), seed: 5, temperature: 0.9, minP: 0.02, presencePenalty: 0.5 };
    const s = lk().sampler(o);
    const first = Array.from({ length: 12 }, (_, i) => s.sample(logitsAt(i)));
    const saved = JSON.parse(JSON.stringify(s.state));
    const rest = Array.from({ length: 12 }, (_, i) => s.sample(logitsAt(12 + i)));
    const t = lk().sampler({ ...o, state: saved });
    expect(Array.from(t.history)).toEqual([1, 2, ...first]);
    expect(Array.from({ length: 12 }, (_, i) => t.sample(logitsAt(12 + i)))).toEqual(rest);
    expect(t.state).toEqual(s.state);
    s.reset();
    expect(Array.from(s.history)).toEqual([1, 2]);
    expect(Array.from({ length: 12 }, (_, i) => s.sample(logitsAt(i)))).toEqual(first);
  });

  it('without a seed the sampler still restores exactly from its state', () => {
    const s = lk().sampler({ vocab: C, temperature: 1 });
    s.sample(logitsAt(0));
    const t = lk().sampler({ vocab: C, temperature: 1, state: s.state });
    expect(Array.from({ length: 8 }, (_, i) => t.sample(logitsAt(i + 1)))).toEqual(Array.from({ length: 8 }, (_, i) => s.sample(logitsAt(i + 1))));
  });

  it('penaltyTokens given explicitly replaces the history for the penalties', () => {
    const x = new Float32Array(C).fill(0);
    x[4] = 3;
    x[9] = 2.9;
    const s = lk().sampler({ vocab: C, prompt: Int32Array.of(9), temperature: 0, presencePenalty: 1 });
    expect(s.sample(x)).toBe(4); // 9 is penalised by the history
    const t = lk().sampler({ vocab: C, prompt: Int32Array.of(9), temperature: 0, presencePenalty: 1, penaltyTokens: Int32Array.of(4) });
    expect(t.sample(x)).toBe(9);
  });

  it('tensors and plain arrays of one row are accepted', () => {
    const x = logitsAt(3);
    const a = lk().sampler({ vocab: C, seed: 3 }).sample(x);
    expect(lk().sampler({ vocab: C, seed: 3 }).sample({ data: x, dims: [1, C], type: 'float32' } as never)).toBe(a);
    expect(lk().sampler({ vocab: C, seed: 3 }).sample(Array.from(x))).toBe(a);
  });

  it('bad input → coded errors, and the sampler keeps working', () => {
    const s = lk().sampler({ vocab: C, seed: 1 });
    expect(codeOf(() => lk().sampler({ vocab: 0 }))).toBe('invalid_argument');
    expect(codeOf(() => lk().sampler({ vocab: C, prompt: Int32Array.of(C) }))).toBe('target_out_of_range');
    expect(codeOf(() => lk().sampler({ vocab: C, prompt: [1, 2] as never }))).toBe('invalid_argument');
    expect(codeOf(() => lk().sampler({ vocab: C, nope: 1 } as never))).toBe('invalid_argument');
    expect(codeOf(() => lk().sampler({ vocab: C, seed: 1, random: Math.random }))).toBe('invalid_argument');
    expect(codeOf(() => s.sample(new Float32Array(C + 1)))).toBe('shape_mismatch');
    expect(codeOf(() => s.sample(new Float32Array(2 * C)))).toBe('shape_mismatch');
    expect(codeOf(() => s.accept(C))).toBe('target_out_of_range');
    expect(codeOf(() => s.accept(1.5))).toBe('invalid_argument');
    expect(codeOf(() => lk().sampler({ vocab: C, seed: 1, state: { history: [C], generated: 0, mu: null, thinking: null, rng: 1 } }))).toBe('target_out_of_range');
    expect(codeOf(() => lk().sampler({ vocab: C, seed: 1, state: { history: [1], generated: 0, mu: 3, thinking: null, rng: 1 } }))).toBe('invalid_argument');
    expect(codeOf(() => lk().sampler({ vocab: C, seed: 1, state: 'x' as never }))).toBe('invalid_argument');
    expect(s.history.length).toBe(0);
    expect(s.sample(logitsAt(0))).toBe(lk().sample(logitsAt(0), C, { seed: 1 })[0]);
  });
});

describeVsJs('lk.sampler: wasm and JS give identical tokens', () => {
  it('random option sets, 40 steps each', async () => {
    const wasm = await engineFor('wasm');
    const js = await engineFor('js');
    const sets: SamplerCreateOptions[] = [
      { vocab: C, seed: 1, temperature: 0.7, topK: 40, topP: 0.9 },
      { vocab: C, seed: 2, minP: 0.05, repetitionPenalty: 1.2, penaltyLastN: 8 },
      { vocab: C, seed: 3, typicalP: 0.8, order: 'llama.cpp', temperature: 1.3 },
      { vocab: C, seed: 4, xtc: { probability: 0.5, threshold: 0.02 }, frequencyPenalty: 1, prompt: Int32Array.of(1, 2, 3) },
    ];
    for (const o of sets) expect(run(wasm, o, 40), JSON.stringify(o)).toEqual(run(js, o, 40));
  });
});
