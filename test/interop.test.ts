/**
 * The transformers.js-compatible logits processor (src/interop.ts), on every backend.
 * transformers.js itself is not a dependency: its contract is reproduced here
 * (processors are called as functions by LogitsProcessorList, input ids are bigint[][],
 * logits a Tensor with .data / .dims modified in place).
 */
import { expect, it } from 'vitest';
import { describeEachBackend } from './helpers/backends.js';
import { randomLogits } from './helpers/random.js';
import { LogitkitError } from '../src/index.js';
import { createLogitsProcessor } from '../src/interop.js';
import { float32ToBfloat16Bits, float32ToFloat16Bits } from '../src/half.js';

/** What transformers.js' LogitsProcessorList._call does with its processors. */
function applyList<T>(processors: Array<(ids: bigint[][], logits: T) => T>, ids: bigint[][], logits: T): T {
  let out = logits;
  for (const p of processors) out = p(ids, out);
  return out;
}

function f16ToNumber(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 31;
  const f = h & 1023;
  if (e === 31) return f ? NaN : sign * Infinity;
  return e === 0 ? sign * f * 2 ** -24 : sign * (1024 + f) * 2 ** (e - 25);
}

describeEachBackend('transformers.js logits processor', (lk) => {
  it('is callable like a transformers.js processor, modifies logits in place and returns them', () => {
    const V = 3000;
    const x = randomLogits(2, V, 2, 1);
    const ids = [[1n, 5n, 7n, 5n], [2n, 2999n]];
    const opts = { temperature: 0.7, topK: 40, topP: 0.9, minP: 0.02, repetitionPenalty: 1.3 };
    const want = lk().filterLogits(x, V, { ...opts, penaltyTokens: [Int32Array.of(1, 5, 7, 5), Int32Array.of(2, 2999)] });
    const processor = createLogitsProcessor(lk(), opts);
    const tensor = { data: x.slice(), dims: [2, V], type: 'float32' };
    const data = tensor.data;
    expect(applyList([processor], ids, tensor)).toBe(tensor);
    expect(tensor.data).toBe(data);
    expect(tensor.data).toEqual(want);
    // `_call` directly, with number ids, gives the same.
    const t2 = { data: x.slice(), dims: [2, V] };
    expect(processor._call([[1, 5, 7, 5], [2, 2999]], t2).data).toEqual(want);
    // Only the kept tokens stay finite, and the penalty changed the penalised logits.
    expect(want.filter((v) => v !== -Infinity).length).toBeGreaterThan(0);
    expect(want.filter((v) => v !== -Infinity).length).toBeLessThanOrEqual(80);
  });

  it('one id list for a batch shares it; without a penalty the ids are ignored', () => {
    const V = 100;
    const x = randomLogits(3, V, 1, 2);
    const p = createLogitsProcessor(lk(), { topP: 0.8 });
    const t = { data: x.slice(), dims: [3, 1, V] };
    p([], t);
    expect(t.data).toEqual(lk().filterLogits(x, V, { topP: 0.8 }));
    const q = createLogitsProcessor(lk(), { repetitionPenalty: 2 });
    const u = { data: x.slice(), dims: [3, V] };
    q([[3n, 4n]], u);
    expect(u.data).toEqual(lk().filterLogits(x, V, { repetitionPenalty: 2, penaltyTokens: Int32Array.of(3, 4) }));
  });

  it('works on a real onnxruntime Tensor', async () => {
    const { Tensor } = await import('onnxruntime-common');
    const x = randomLogits(1, 500, 2, 3);
    const t = new Tensor('float32', x.slice(), [1, 500]);
    createLogitsProcessor(lk(), { topK: 10 })([[1n]], t as never);
    expect(t.data).toEqual(lk().filterLogits(x, 500, { topK: 10 }));
  });

  it('float16 and bfloat16 tensors are filtered and written back in their format', () => {
    const V = 64;
    const x = randomLogits(1, V, 2, 4);
    const bits16 = Uint16Array.from(x, float32ToFloat16Bits);
    const t = { data: bits16.slice(), dims: [1, V], type: 'float16' };
    createLogitsProcessor(lk(), { topK: 5, temperature: 0.5 })([[0n]], t);
    const want = lk().filterLogits(bits16, V, { dtype: 'float16', topK: 5, temperature: 0.5 });
    expect(Array.from(t.data, f16ToNumber)).toEqual(Array.from(want, (v) => f16ToNumber(float32ToFloat16Bits(v))));
    // At least k survive (more when rounding to half made ties at the k-th value).
    const kept16 = Array.from(t.data).filter((b) => b !== 0xfc00).length;
    expect(kept16).toBe(want.filter((v) => v !== -Infinity).length);
    expect(kept16).toBeGreaterThanOrEqual(5);
    const bb = Uint16Array.from(x, float32ToBfloat16Bits);
    const tb = { data: bb.slice(), dims: [1, V], type: 'bfloat16' };
    createLogitsProcessor(lk(), { topK: 3 })([[0n]], tb);
    const wantB = lk().filterLogits(bb, V, { dtype: 'bfloat16', topK: 3 });
    expect(Array.from(tb.data)).toEqual(Array.from(wantB, float32ToBfloat16Bits));
    expect(Array.from(tb.data).filter((b) => b !== 0xff80).length).toBeGreaterThanOrEqual(3);
  });

  it('bad options throw coded errors when the processor is created', () => {
    const code = (f: () => unknown): string | undefined => {
      try {
        f();
      } catch (e) {
        return e instanceof LogitkitError ? e.code : 'other';
      }
      return undefined;
    };
    expect(code(() => createLogitsProcessor(lk(), { temperature: -1 }))).toBe('invalid_temperature');
    expect(code(() => createLogitsProcessor(lk(), { topK: -2 }))).toBe('invalid_k');
    expect(code(() => createLogitsProcessor(lk(), { topP: 2 }))).toBe('invalid_argument');
    expect(code(() => createLogitsProcessor(lk(), {}) ([[0n]], { data: new Uint16Array(4), dims: [1, 4] }))).toBe('invalid_argument');
    expect(code(() => createLogitsProcessor(lk(), { repetitionPenalty: 1.2 })([[9n]], { data: new Float32Array(4), dims: [1, 4] }))).toBe('target_out_of_range');
  });
});

it('float32 → float16 / bfloat16 rounding: exact round trips and ties to even', () => {
  for (let h = 0; h < 65536; h++) {
    if (((h >> 10) & 31) === 31 && h & 1023) continue; // NaN payloads are not round-tripped exactly
    expect(float32ToFloat16Bits(f16ToNumber(h))).toBe(h);
    const f = new Float32Array(new Uint32Array([h << 16]).buffer)[0]!;
    if (!Number.isNaN(f)) expect(float32ToBfloat16Bits(f)).toBe(h);
  }
  expect(float32ToFloat16Bits(1 + 2 ** -11)).toBe(0x3c00); // tie → even (down)
  expect(float32ToFloat16Bits(1 + 3 * 2 ** -11)).toBe(0x3c02); // tie → even (up)
  expect(float32ToFloat16Bits(65520)).toBe(0x7c00); // rounds to inf
  expect(float32ToFloat16Bits(65519)).toBe(0x7bff);
  expect(float32ToFloat16Bits(2 ** -25)).toBe(0); // tie with 0 → even
  expect(float32ToFloat16Bits(3 * 2 ** -26)).toBe(1);
  expect(Number.isNaN(f16ToNumber(float32ToFloat16Bits(NaN)))).toBe(true);
  expect(float32ToBfloat16Bits(-Infinity)).toBe(0xff80);
});
