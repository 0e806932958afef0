/**
 * Soak: 100,000 calls of mixed sizes leave wasm memory and the JS heap bounded,
 * and an error in the middle leaves the engine usable and earlier results unchanged.
 */
import { expect, it } from 'vitest';
import { init, type Engine } from '../src/index.js';
import { randomLogits } from './helpers/random.js';

const CALLS = 100_000;

it('100,000 mixed calls keep memory bounded; errors mid-way change nothing', async () => {
  const lk: Engine = await init({ backend: 'wasm' });
  expect(lk.backend).toBe('wasm');
  const sizes = [1, 3, 10, 32, 100, 1000];
  const inputs = sizes.map((c, i) => randomLogits(c < 100 ? 8 : 2, c, 4, i + 1));
  const first = inputs.map((x, i) => lk.softmax(x, sizes[i]!));
  const keep = first.map((a) => a.slice());
  lk.logsumexp(randomLogits(4, 32000, 1, 9), 32000); // the largest call sets the high-water mark
  const wasmAfterWarmup = lk.memoryStats().wasmBytes;
  const heapStart = process.memoryUsage().heapUsed;
  let heapPeak = 0;
  let errors = 0;
  for (let n = 0; n < CALLS; n++) {
    const i = n % sizes.length;
    const c = sizes[i]!;
    const x = inputs[i]!;
    switch (n % 5) {
      case 0: lk.softmax(x, c); break;
      case 1: lk.logSoftmax(x, c, { temperature: 0.7 }); break;
      case 2: lk.logsumexp(x, c); break;
      case 3: lk.argmax(x, c); break;
      default: lk.topk(x, c, Math.min(3, c));
    }
    if (n % 10_000 === 5_000) {
      // Errors mid-way: coded, and harmless.
      for (const bad of [() => lk.softmax(x, c + 1 === 2 ? 7 : c + 1), () => lk.topk(x, c, c + 1), () => lk.logsumexp(x, c, { temperature: -1 })]) {
        try {
          bad();
        } catch (e) {
          expect((e as { code?: string }).code).toMatch(/shape_mismatch|invalid_k|invalid_temperature/);
          errors++;
        }
      }
      heapPeak = Math.max(heapPeak, process.memoryUsage().heapUsed);
    }
  }
  expect(errors).toBe(30);
  expect(lk.memoryStats().inUse).toBe(0);
  expect(lk.memoryStats().wasmBytes).toBe(wasmAfterWarmup);
  // The JS heap may hold garbage not yet collected, but it must not grow with the call count.
  expect(heapPeak - heapStart).toBeLessThan(96 << 20);
  first.forEach((a, i) => expect(Buffer.from(a.buffer).equals(Buffer.from(keep[i]!.buffer))).toBe(true));
  inputs.forEach((x, i) => expect(Buffer.from(lk.softmax(x, sizes[i]!).buffer).equals(Buffer.from(keep[i]!.buffer))).toBe(true));
});
