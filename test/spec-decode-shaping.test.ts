/**
 * Issue 25 items 3, 5 and 6: Mirostat v1 / v2 (llama.cpp), the thinking budget (vLLM), and the
 * row shaping — dynamicTemperature (llama.cpp temp_ext), softCap (Gemma 2), guidance (Hugging Face
 * CFG) — against the float64 references in test/reference/decode.ts, on both backends; wasm and JS
 * give identical tokens.
 */
import { describe, expect, it } from 'vitest';
import { describeEachBackend, describeVsJs, engineFor } from './helpers/backends.js';
import { randomLogits, rng } from './helpers/random.js';
import { codeOf } from './helpers/checks.js';
import type { Engine, SamplerCreateOptions } from '../src/index.js';
import { splitMix32 } from '../src/engine.js';
import { refDynamicTemperature, refGuidanceLogSoftmax, refMirostat, refThinkingForce } from './reference/index.js';

const fround = Math.fround;

describeEachBackend('Mirostat', (lk) => {
  for (const version of [2, 1] as const)
    for (const C of [200, 3000])
      it(`v${version}, vocab ${C}: 50 steps equal the reference step by step (token and μ), minP and temperature before it`, () => {
        const seed = 31 + C + version;
        const tau = version === 2 ? 3 : 4;
        const eta = 0.15;
        const m = 100;
        const T = 0.8;
        const minP = C === 200 ? 0 : 0.001;
        const s = lk().sampler({ vocab: C, seed, temperature: T, minP, mirostat: { version, tau, eta, m } });
        const stream = splitMix32(seed);
        let mu = 2 * tau;
        expect(s.state.mu).toBe(mu);
        for (let step = 0; step < 50; step++) {
          const x = randomLogits(1, C, [1, 3, 0.3][step % 3]!, 50 + step);
          // The reference's own filter: z = fround(x / T), then min-p over softmax(z).
          let z = Array.from(x, (v) => fround(v / T));
          if (minP > 0) {
            const zmax = Math.max(...z);
            z = z.map((v) => (Math.exp(v - zmax) < minP ? -Infinity : v));
          }
          const want = refMirostat(z, version, mu, tau, eta, m, C, stream());
          mu = want.mu;
          expect(s.sample(x), `step ${step}`).toBe(want.token);
          expect(s.state.mu!).toBeCloseTo(mu, 9);
        }
      });

  it('state carries μ; reset() returns μ to 2τ; one-step calls refuse mirostat', () => {
    const C = 100;
    const o: SamplerCreateOptions = { vocab: C, seed: 4, mirostat: { version: 2 } };
    const s = lk().sampler(o);
    for (let i = 0; i < 5; i++) s.sample(randomLogits(1, C, 2, i));
    const t = lk().sampler({ ...o, state: JSON.parse(JSON.stringify(s.state)) });
    const next = Array.from({ length: 5 }, (_, i) => randomLogits(1, C, 2, 10 + i));
    expect(next.map((x) => t.sample(x))).toEqual(next.map((x) => s.sample(x)));
    expect(t.state.mu).toBe(s.state.mu);
    s.reset();
    expect(s.state.mu).toBe(10);
    expect(codeOf(() => lk().sample(new Float32Array(C), C, { mirostat: { version: 2 } } as never))).toBe('invalid_argument');
    expect(codeOf(() => lk().sampler({ vocab: C, mirostat: { version: 3 as never } }))).toBe('invalid_argument');
    expect(codeOf(() => lk().sampler({ vocab: C, mirostat: { version: 2, tau: -1 } }))).toBe('invalid_argument');
  });
});

describeEachBackend('thinking budget', (lk) => {
  const C = 20;
  const start = Int32Array.of(10, 11);
  const end = Int32Array.of(12, 13);
  const marker = (t: number): boolean => t >= 10 && t <= 13;
  /** Logits that never pick start or end on their own: end is −inf, so forcing is "whatever the logits". */
  const plain = (i: number): Float32Array => {
    const x = randomLogits(1, C, 1, 70 + i);
    x[10] = x[11] = -20;
    x[12] = x[13] = -Infinity;
    return x;
  };

  it('after the start sequence, exactly `budget` free tokens, then the end sequence token by token', () => {
    const s = lk().sampler({ vocab: C, seed: 1, prompt: Int32Array.of(1, 10, 11), thinkingBudget: { start, end, budget: 4 } });
    const out = Array.from({ length: 9 }, (_, i) => s.sample(plain(i)));
    expect(out.slice(0, 4).some(marker)).toBe(false);
    expect(out.slice(4, 6)).toEqual([12, 13]);
    expect(out.slice(6).some(marker)).toBe(false); // thinking is over: free again
    expect(s.state.thinking).toEqual({ thinking: false, count: 0, forced: 0 });
  });

  it('budget 0 forces at once; prompt tokens after the start count; a start in the output starts a phase', () => {
    const zero = lk().sampler({ vocab: C, seed: 1, prompt: Int32Array.of(10, 11), thinkingBudget: { start, end, budget: 0 } });
    expect([zero.sample(plain(0)), zero.sample(plain(1))]).toEqual([12, 13]);
    const counted = lk().sampler({ vocab: C, seed: 1, prompt: Int32Array.of(10, 11, 3, 4), thinkingBudget: { start, end, budget: 3 } });
    const out = Array.from({ length: 3 }, (_, i) => counted.sample(plain(i)));
    expect(marker(out[0]!)).toBe(false);
    expect(out.slice(1)).toEqual([12, 13]);
    const later = lk().sampler({ vocab: C, seed: 1, thinkingBudget: { start, end, budget: 1 } });
    later.accept(10);
    later.accept(11);
    later.sample(plain(0));
    expect([later.sample(plain(1)), later.sample(plain(2))]).toEqual([12, 13]);
    // A prompt whose last start is closed by an end: not thinking.
    const closed = lk().sampler({ vocab: C, seed: 1, prompt: Int32Array.of(10, 11, 5, 12, 13), thinkingBudget: { start, end, budget: 0 } });
    expect(marker(closed.sample(plain(0)))).toBe(false);
  });

  it('a natural end before the budget stops forcing', () => {
    const s = lk().sampler({ vocab: C, seed: 2, prompt: Int32Array.of(10, 11), thinkingBudget: { start, end, budget: 6 } });
    s.sample(plain(0));
    s.accept(12);
    s.accept(13);
    const after = Array.from({ length: 8 }, (_, i) => s.sample(plain(i + 1)));
    expect(after.some(marker)).toBe(false);
  });

  it('random accept / sample sequences follow the reference replay of the rules', () => {
    const rand = rng(20859);
    for (let trial = 0; trial < 40; trial++) {
      const budget = trial % 4;
      const prompt = Int32Array.from({ length: trial % 5 }, () => [1, 10, 11, 12, 13][Math.floor(rand() * 5)]!);
      const s = lk().sampler({ vocab: C, seed: trial, prompt, thinkingBudget: { start, end, budget } });
      for (let step = 0; step < 25; step++) {
        const want = refThinkingForce(s.history, prompt.length, [10, 11], [12, 13], budget);
        if (rand() < 0.4) {
          s.accept([10, 11, 12, 13, 2][Math.floor(rand() * 5)]!);
          continue;
        }
        const got = s.sample(plain(step));
        if (want >= 0) expect(got, `trial ${trial} step ${step}`).toBe(want);
        else expect(marker(got), `trial ${trial} step ${step}: ${got}`).toBe(false);
      }
    }
  });

  it('one-step calls derive the phase from the history: only the forced token is left, with logit 0', () => {
    const x = plain(0);
    const f = lk().filterLogits(x, C, { history: Int32Array.of(10, 11, 4, 5), thinkingBudget: { start, end, budget: 2 }, temperature: 0.5 });
    expect(Array.from(f).map((v, j) => (v > -Infinity ? j : -1)).filter((j) => j >= 0)).toEqual([12]);
    expect(f[12]).toBe(0);
    expect(lk().sample(x, C, { history: Int32Array.of(10, 11, 4, 5, 12), thinkingBudget: { start, end, budget: 2 }, seed: 1 })[0]).toBe(13);
    expect(lk().sample(x, C, { history: Int32Array.of(10, 11, 4), thinkingBudget: { start, end, budget: 2 }, seed: 1 })[0]! >= 12).toBe(false);
    expect(codeOf(() => lk().sample(x, C, { thinkingBudget: { start, end: Int32Array.of(), budget: 2 } }))).toBe('invalid_argument');
    expect(codeOf(() => lk().sample(x, C, { thinkingBudget: { start, end: Int32Array.of(20), budget: 2 } }))).toBe('target_out_of_range');
    expect(codeOf(() => lk().sample(x, C, { thinkingBudget: { start, end, budget: -1 } }))).toBe('invalid_argument');
  });
});

describeEachBackend('dynamicTemperature, softCap, guidance', (lk) => {
  it('dynamicTemperature: filterLogits is z / T′ with T′ from the normalised entropy (reference), per row, both orders', () => {
    const C = 64;
    for (let trial = 0; trial < 30; trial++) {
      const rows = 1 + (trial % 3);
      const x = randomLogits(rows, C, [0.1, 1, 4][trial % 3]!, 600 + trial);
      if (trial % 4 === 1) for (let j = 0; j < C; j += 3) x[j] = -Infinity;
      const T = [1, 0.7, 0.3][trial % 3]!;
      const range = [0.5, 0.2][trial % 2]!;
      const exponent = [1, 2, 0.5][trial % 3]!;
      const order = trial % 2 === 0 ? 'hf' : 'llama.cpp';
      const f = lk().filterLogits(x, C, { temperature: T, dynamicTemperature: { range, exponent }, order, logitBias: { 3: 1 } });
      for (let r = 0; r < rows; r++) {
        const row = Array.from(x.subarray(r * C, (r + 1) * C));
        row[3] = fround(row[3]! + 1);
        const t = refDynamicTemperature(row, T, range, exponent);
        for (let j = 0; j < C; j++) {
          const want = t === 0 ? null : row[j]! / t;
          const got = f[r * C + j]!;
          if (t === 0) continue;
          if (want === -Infinity) expect(got).toBe(-Infinity);
          else expect(Math.abs(got - want!), `trial ${trial} row ${r} token ${j}`).toBeLessThanOrEqual(1e-6 * Math.abs(want!) + 1e-30);
        }
      }
    }
  });

  it('dynamicTemperature: a flat row gets T + range, a one-token row max(0, T − range) (greedy at 0)', () => {
    const C = 10;
    const flat = new Float32Array(C).fill(1);
    expect(lk().filterLogits(flat, C, { temperature: 1, dynamicTemperature: { range: 0.5 } })[0]).toBe(fround(1 / 1.5));
    const one = new Float32Array(C).fill(-Infinity);
    one[4] = 2;
    expect(lk().filterLogits(one, C, { temperature: 1, dynamicTemperature: { range: 0.5 } })[4]).toBe(4);
    // T − range < 0: clamped at 0, the greedy pick.
    const peaked = randomLogits(1, C, 1, 1);
    const g = lk().sample(peaked, C, { temperature: 0.2, dynamicTemperature: { range: 0.5 }, suppressTokens: Int32Array.from({ length: C - 1 }, (_, i) => i + 1) });
    expect(g[0]).toBe(0);
    expect(codeOf(() => lk().sample(peaked, C, { dynamicTemperature: { range: -1 } }))).toBe('invalid_argument');
    expect(codeOf(() => lk().sample(peaked, C, { dynamicTemperature: { range: 1, exponent: 0 } }))).toBe('invalid_argument');
  });

  it('softCap applies first: filterLogits returns (c·tanh(z/c) + b) / T', () => {
    const C = 50;
    const x = randomLogits(2, C, 30, 9);
    x[7] = NaN;
    x[8] = Infinity;
    const c = 30;
    const f = lk().filterLogits(x, C, { softCap: c, logitBias: { 2: 1.5 }, temperature: 0.7 });
    for (let i = 0; i < 2 * C; i++) {
      const j = i % C;
      let v = Number.isNaN(x[i]!) ? -Infinity : fround(c * Math.tanh(x[i]! / c));
      if (j === 2) v = fround(v + 1.5);
      expect(f[i], `index ${i}`).toBe(fround(v / 0.7));
    }
    expect(codeOf(() => lk().filterLogits(x, C, { softCap: 0 }))).toBe('invalid_argument');
  });

  it('guidance: filterLogits returns log_softmax(u) + scale·(log_softmax(z) − log_softmax(u)); scale 1 is log_softmax(z)', () => {
    const C = 40;
    const x = randomLogits(2, C, 2, 21);
    const u = randomLogits(2, C, 2, 22);
    u[5] = -Infinity;
    for (const scale of [1, 1.5, 3, 0.5]) {
      const f = lk().filterLogits(x, C, { guidance: { scale, unconditional: u } });
      for (let r = 0; r < 2; r++) {
        const lz = refGuidanceLogSoftmax(x.subarray(r * C, (r + 1) * C));
        const lu = refGuidanceLogSoftmax(u.subarray(r * C, (r + 1) * C));
        for (let j = 0; j < C; j++) {
          const want = lu[j] === -Infinity ? -Infinity : lu[j]! + scale * (lz[j]! - lu[j]!);
          const got = f[r * C + j]!;
          if (want === -Infinity) expect(got).toBe(-Infinity);
          else expect(Math.abs(got - want), `scale ${scale} row ${r} token ${j}`).toBeLessThanOrEqual(1e-5 * (1 + Math.abs(want)));
        }
      }
    }
    expect(codeOf(() => lk().filterLogits(x, C, { guidance: { scale: 1, unconditional: u.subarray(0, C) } }))).toBe('shape_mismatch');
    expect(codeOf(() => lk().filterLogits(x, C, { guidance: { scale: 1, unconditional: () => u } }))).toBe('invalid_argument');
  });

  it('guidance in lk.sampler: one row, or a function of the history called each step', () => {
    const C = 30;
    const u = randomLogits(1, C, 2, 5);
    const seen: number[][] = [];
    const s = lk().sampler({ vocab: C, seed: 3, prompt: Int32Array.of(1), guidance: { scale: 2, unconditional: (h) => (seen.push(Array.from(h)), u) } });
    const t = lk().sampler({ vocab: C, seed: 3, prompt: Int32Array.of(1), guidance: { scale: 2, unconditional: u } });
    const xs = Array.from({ length: 4 }, (_, i) => randomLogits(1, C, 2, 40 + i));
    const a = xs.map((x) => s.sample(x));
    expect(xs.map((x) => t.sample(x))).toEqual(a);
    expect(seen).toEqual([[1], [1, a[0]], [1, a[0], a[1]], [1, a[0], a[1], a[2]]]);
    expect(codeOf(() => lk().sampler({ vocab: C, guidance: { scale: 1, unconditional: new Float32Array(C + 1) } }))).toBe('shape_mismatch');
    const bad = lk().sampler({ vocab: C, guidance: { scale: 1, unconditional: () => new Float32Array(3) } });
    expect(codeOf(() => bad.sample(xs[0]!))).toBe('shape_mismatch');
  });
});

describe('the order the rules take (documented in docs/sampler.md)', () => {
  it('softCap before guidance: guidance sees the capped logits', async () => {
    const lk = await engineFor('js');
    const C = 8;
    const x = randomLogits(1, C, 20, 1);
    const u = randomLogits(1, C, 20, 2);
    const capped = (a: Float32Array): Float32Array => a.map((v) => fround(10 * Math.tanh(v / 10)));
    const both = lk.filterLogits(x, C, { softCap: 10, guidance: { scale: 2, unconditional: u } });
    const manual = lk.filterLogits(capped(x), C, { guidance: { scale: 2, unconditional: capped(u) } });
    for (let j = 0; j < C; j++) expect(both[j]).toBeCloseTo(manual[j]!, 5);
  });
});

describeVsJs('every rule at once: wasm and JS give identical tokens', () => {
  it('Mirostat v2 + DRY + min-p + dynamicTemperature + softCap + guidance + thinking budget, 60 steps', async () => {
    const C = 500;
    const u = randomLogits(1, C, 2, 99);
    const o: SamplerCreateOptions = {
      vocab: C,
      seed: 12,
      prompt: Int32Array.of(1, 2, 3),
      minP: 0.02,
      dry: { multiplier: 0.8 },
      mirostat: { version: 2, tau: 4 },
      dynamicTemperature: { range: 0.3 },
      softCap: 15,
      guidance: { scale: 1.5, unconditional: u },
      thinkingBudget: { start: Int32Array.of(7), end: Int32Array.of(8), budget: 5 },
    };
    const go = (lk: Engine): { tokens: number[]; mu: number | null } => {
      const s = lk.sampler(o);
      const tokens = Array.from({ length: 60 }, (_, i) => (i === 10 ? (s.accept(7), 7) : s.sample(randomLogits(1, C, 3, 700 + (i % 11)))));
      return { tokens, mu: s.state.mu };
    };
    expect(go(await engineFor('wasm'))).toEqual(go(await engineFor('js')));
  });
});
