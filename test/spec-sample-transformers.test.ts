/**
 * The transformers.js recipe (README "transformers.js"): a processor in 'sample' mode draws the
 * token inside logitkit and leaves one finite logit. This file mirrors what transformers.js does
 * around user processors — the generation-config temperature first, then the user processors,
 * then its sampler's top_k (default 50), softmax and a multinomial (or greedy) pick — and shows
 * the tokens equal `lk.sample`'s with the same seed, for float32, float16 and bfloat16 logits.
 */
import { expect, it } from 'vitest';
import { describeEachBackend } from './helpers/backends.js';
import { randomLogits, rng } from './helpers/random.js';
import { createLogitsProcessor, type LogitsProcessorFunction } from '../src/interop.js';
import { float32ToBfloat16Bits, float32ToFloat16Bits } from '../src/half.js';
import type { SampleOptions } from '../src/index.js';

interface Tensor {
  data: Float32Array | Uint16Array;
  dims: number[];
  type: string;
}

function toNumber(t: Tensor, i: number): number {
  if (t.type === 'float32') return (t.data as Float32Array)[i]!;
  const h = t.data[i]!;
  if (t.type === 'bfloat16') return new Float32Array(new Uint32Array([h << 16]).buffer)[0]!;
  const sign = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 31;
  const f = h & 1023;
  if (e === 31) return f ? NaN : sign * Infinity;
  return e === 0 ? sign * f * 2 ** -24 : sign * (1024 + f) * 2 ** (e - 25);
}

/**
 * One generation step as transformers.js runs it: generation-config temperature (in place), the
 * user processors, then the sampler — top_k (50 by default) of the processed logits, softmax, a
 * multinomial draw with its own random source (or the argmax when do_sample is false).
 */
function transformersStep(t: Tensor, ids: bigint[][], processors: LogitsProcessorFunction[], gen: { temperature: number; topK: number; doSample: boolean }, random: () => number): number[] {
  const V = t.dims[t.dims.length - 1]!;
  const rows = t.data.length / V;
  if (gen.temperature !== 1) {
    if (t.type !== 'float32') throw new Error('the mirror divides float32 data only');
    const d = t.data as Float32Array;
    for (let i = 0; i < d.length; i++) d[i] = d[i]! / gen.temperature;
  }
  for (const p of processors) p(ids, t);
  const out: number[] = [];
  for (let r = 0; r < rows; r++) {
    const v = Array.from({ length: V }, (_, j) => toNumber(t, r * V + j));
    const order = v.map((_, j) => j).sort((a, b) => v[b]! - v[a]! || a - b);
    if (!gen.doSample) {
      out.push(order[0]!);
      continue;
    }
    const top = order.slice(0, gen.topK);
    const m = v[top[0]!]!;
    const w = top.map((j) => Math.exp(v[j]! - m));
    const s = w.reduce((a, b) => a + b, 0);
    let u = random() * s;
    let pick = top[top.length - 1]!;
    for (let i = 0; i < top.length; i++) {
      u -= w[i]!;
      if (u < 0) {
        pick = top[i]!;
        break;
      }
    }
    out.push(pick);
  }
  return out;
}

describeEachBackend('transformers.js recipe: a sample-mode processor', (lk) => {
  const V = 4000;
  const steps = 12;

  for (const dtype of ['float32', 'float16', 'bfloat16'] as const) {
    it(`${dtype}: tokens equal lk.sample with the same seed, whatever transformers.js does after the processor`, () => {
      const opts: SampleOptions = { temperature: 0.8, topP: 0.95, minP: 0.001, repetitionPenalty: 1.2, frequencyPenalty: 0.3 };
      // Flat logits: top-p keeps hundreds of tokens, far more than the sampler's top_k 50.
      const x = randomLogits(steps, V, 0.7, 11);
      const bits = dtype === 'float16' ? Uint16Array.from(x, float32ToFloat16Bits) : dtype === 'bfloat16' ? Uint16Array.from(x, float32ToBfloat16Bits) : null;
      const kept = lk().filterLogits(bits ?? x, V, { ...opts, ...(bits ? { dtype } : {}) }).subarray(0, V).filter((v) => v !== -Infinity).length;
      expect(kept).toBeGreaterThan(50);
      for (const gen of [{ temperature: 1, topK: 50, doSample: true }, { temperature: 1, topK: 50, doSample: false }]) {
        const processor = createLogitsProcessor(lk(), { ...opts, mode: 'sample', seed: 2024 });
        const ids: bigint[] = [5n, 17n];
        const got: number[] = [];
        const wantPenalty: Int32Array[] = [];
        const transformersRandom = rng(1);
        for (let s = 0; s < steps; s++) {
          const data = bits ? bits.slice(s * V, (s + 1) * V) : x.slice(s * V, (s + 1) * V);
          const t: Tensor = { data, dims: [1, 1, V], type: dtype };
          wantPenalty.push(Int32Array.from(ids, Number));
          const [tok] = transformersStep(t, [ids], [processor], gen, transformersRandom);
          // One finite logit is left: 0 at the token, -inf elsewhere (in the tensor's own format).
          const finite = Array.from({ length: V }, (_, j) => toNumber(t, j)).filter((v) => v !== -Infinity);
          expect(finite).toEqual([0]);
          got.push(tok!);
          ids.push(BigInt(tok!));
        }
        const want = lk().sample(bits ?? x, V, { ...opts, ...(bits ? { dtype } : {}), penaltyTokens: wantPenalty, seed: 2024 });
        expect(got).toEqual(Array.from(want));
      }
    });
  }

  it('the generation-config temperature runs before user processors: the recipe passes temperature 1 so it is a no-op', () => {
    // With a generation temperature T_g ≠ 1 the processor would see x / T_g: a different distribution.
    const x = randomLogits(1, V, 1, 12);
    const probe = (tg: number): number[] => {
      const p = createLogitsProcessor(lk(), { mode: 'sample', seed: 7, topK: 0 });
      return Array.from({ length: 40 }, () => transformersStep({ data: x.slice(), dims: [1, V], type: 'float32' }, [[]], [p], { temperature: tg, topK: 50, doSample: true }, Math.random)[0]!);
    };
    const plain = Array.from(lk().sample(new Float32Array(40 * V).map((_, i) => x[i % V]!), V, { seed: 7 }));
    expect(probe(1)).toEqual(plain);
    expect(probe(0.3)).not.toEqual(plain);
  });

  it('toHalfBits narrows exactly like float32ToFloat16Bits / float32ToBfloat16Bits (ties, subnormals, overflow, NaN)', () => {
    const rand = rng(21);
    const u = new Uint32Array(300_000);
    for (let i = 0; i < u.length; i++) u[i] = Math.floor(rand() * 2 ** 32);
    // Every half value, every half midpoint (a tie), and the bf16 ties.
    for (let h = 0; h < 65536; h++) {
      const f = new Float32Array([toNumber({ data: Uint16Array.of(h), dims: [1], type: 'float16' }, 0)]);
      u[h] = new Uint32Array(f.buffer)[0]!;
      u[65536 + h] = (u[h]! + 0x1000) >>> 0;
      u[131072 + h] = ((h << 16) | 0x8000) >>> 0;
    }
    const x = new Float32Array(u.buffer);
    const h16 = lk().toHalfBits(x, 'float16');
    const b16 = lk().toHalfBits(x, 'bfloat16');
    for (let i = 0; i < x.length; i++) {
      if (h16[i] !== float32ToFloat16Bits(x[i]!)) expect(h16[i], `float16 of bits ${u[i]!.toString(16)}`).toBe(float32ToFloat16Bits(x[i]!));
      if (b16[i] !== float32ToBfloat16Bits(x[i]!)) expect(b16[i], `bfloat16 of bits ${u[i]!.toString(16)}`).toBe(float32ToBfloat16Bits(x[i]!));
    }
    const out = new Uint16Array(3);
    expect(lk().toHalfBits(Float32Array.of(1, -Infinity, 0), 'float16', { out })).toBe(out);
    expect(Array.from(out)).toEqual([0x3c00, 0xfc00, 0]);
    expect(() => lk().toHalfBits(Float32Array.of(1), 'float16', { out })).toThrow(/shape_mismatch/);
    expect(() => lk().toHalfBits(Float32Array.of(1), 'float8' as never)).toThrow(/invalid_argument/);
  });

  it('batch rows draw in row order from the stream; bad modes are coded errors', () => {
    const x = randomLogits(3, 100, 1, 13);
    const p = createLogitsProcessor(lk(), { mode: 'sample', seed: 3, topK: 20 });
    const t = { data: x.slice(), dims: [3, 100], type: 'float32' };
    p([[], [], []], t);
    const want = lk().sample(x, 100, { seed: 3, topK: 20 });
    for (let r = 0; r < 3; r++) expect(t.data[r * 100 + want[r]!]).toBe(0);
    expect(() => createLogitsProcessor(lk(), { mode: 'greedy' as never })).toThrow(/invalid_argument/);
    // Vocabulary-sized options are checked on the first call.
    const q = createLogitsProcessor(lk(), { mode: 'sample', logitBias: { 150: 5 } });
    expect(() => q([[]], { data: new Float32Array(100), dims: [1, 100] })).toThrow(/target_out_of_range/);
    const r = createLogitsProcessor(lk(), { mode: 'sample', logitBias: { 50: 100 }, seed: 1 });
    const u = { data: new Float32Array(100), dims: [1, 100] };
    r([[]], u);
    expect(u.data[50]).toBe(0);
  });
});
