/**
 * The engine's own behaviour: loading, backend choice, the zero-copy path,
 * memory growth and its limit, and disposal.
 */
import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { fallbackReason, init, LogitkitError } from '../src/index.js';
import { describeEachBackend } from './helpers/backends.js';
import { expectClose, expectExact, logTol, probTol, spreadOf } from './helpers/tolerance.js';
import { randomLogits } from './helpers/random.js';
import { refLogSumExp, refSoftmax } from './reference/index.js';
import { codeOf } from './helpers/checks.js';

const WASM = new URL('../build/logitkit.wasm', import.meta.url);

describe('init()', () => {
  it('uses wasm SIMD by default on Node 20 and says so', async () => {
    const lk = await init();
    expect(lk.backend).toBe('wasm');
    expect(fallbackReason(lk)).toBeUndefined();
  });

  it('accepts the wasm as bytes, a file URL, or a compiled Module', async () => {
    const bytes = await readFile(WASM);
    const module = await WebAssembly.compile(bytes);
    for (const wasm of [bytes, WASM, module, new Uint8Array(bytes).buffer]) {
      const lk = await init({ backend: 'wasm', wasm });
      expect(lk.backend).toBe('wasm');
      expectExact(lk.argmax(Float32Array.from([0, 3, 1]), 3), [1]);
    }
  });

  it('falls back to JS when the SIMD build does not validate, and reports why', async () => {
    // A valid header with an invalid body stands in for a runtime without SIMD.
    const lk = await init({ wasm: new Uint8Array([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 0xff]) });
    expect(lk.backend).toBe('js');
    expect(fallbackReason(lk)).toMatch(/does not validate/);
    await expect(init({ backend: 'wasm', wasm: new Uint8Array([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 0xff]) })).rejects.toMatchObject({
      code: 'wasm_unavailable',
    });
  });

  it('explains an HTML page served instead of wasm', async () => {
    const html = new TextEncoder().encode('<!DOCTYPE html><html></html>');
    await expect(init({ backend: 'wasm', wasm: html })).rejects.toThrow(/expected 00 61 73 6d.*HTML/);
    const lk = await init({ wasm: html });
    expect(lk.backend).toBe('js');
  });

  it('rejects bad options with coded errors', async () => {
    await expect(init({ backend: 'gpu' as 'js' })).rejects.toMatchObject({ code: 'invalid_argument' });
    await expect(init({ memoryLimit: 10 })).rejects.toMatchObject({ code: 'invalid_argument' });
  });

  it('engines are independent', async () => {
    const a = await init({ backend: 'wasm' });
    const b = await init({ backend: 'wasm' });
    const buf = a.alloc(4);
    buf.array.set([1, 2, 3, 4]);
    a.dispose();
    expect(() => a.softmax(buf, 4)).toThrow(/disposed/);
    expectExact(b.argmax(Float32Array.from([1, 2, 3, 4]), 4), [3]);
  });
});

describeEachBackend('zero-copy buffers', (lk, name) => {
  it('ops read and write buffers in place and return the out buffer view', () => {
    const x = randomLogits(64, 100, 3, 1);
    const xb = lk().alloc(x.length);
    const ob = lk().alloc(x.length);
    xb.array.set(x);
    const res = lk().softmax(xb, 100, { out: ob });
    expect(res.buffer).toBe(ob.array.buffer);
    expect(res.byteOffset).toBe(ob.array.byteOffset);
    expectClose(ob.array, refSoftmax(x, 100), probTol({ C: 100, S: spreadOf(x, 100).S }));
    // The raw view works as well as the buffer object.
    const lse = lk().logsumexp(xb.array, 100);
    expectClose(lse, refLogSumExp(x, 100), logTol({ C: 100, S: spreadOf(x, 100).S }));
    xb.free();
    ob.free();
    expect(() => xb.array).toThrow(/freed/);
  });

  it('in place on a buffer', () => {
    const x = randomLogits(8, 33, 2, 2);
    const b = lk().alloc(x.length);
    b.array.set(x);
    lk().softmax(b, 33, { out: b });
    expectClose(b.array, refSoftmax(x, 33), probTol({ C: 33, S: spreadOf(x, 33).S }));
    b.free();
  });

  it('buffers keep their contents when memory grows, and re-create their views', () => {
    const b = lk().alloc(1000);
    b.array.fill(7);
    const view = b.array;
    // A large call forces growth; the old view may detach, the buffer does not lose data.
    const big = new Float32Array(20_000_000);
    lk().logsumexp(big, 1000);
    expect(b.array[999]).toBe(7);
    if (name === 'wasm') expect(view.length === 0 || view.buffer === b.array.buffer).toBe(true);
    b.free();
  });

  it('int32 and uint16 buffers', () => {
    const i = lk().alloc(3, 'int32');
    expect(i.array).toBeInstanceOf(Int32Array);
    const h = lk().alloc(2, 'uint16');
    expect(h.array).toBeInstanceOf(Uint16Array);
    expect(codeOf(() => lk().alloc(-1))).toBe('invalid_argument');
    expect(codeOf(() => lk().alloc(3, 'float64' as 'int32'))).toBe('invalid_argument');
    expect(codeOf(() => lk().softmax(i as never, 3))).toBe('invalid_argument');
    i.free();
    h.free();
  });
});

describe('wasm memory', () => {
  it('temporaries are freed after each call, also after errors', async () => {
    const lk = await init({ backend: 'wasm' });
    const x = randomLogits(100, 100, 1, 4);
    lk.softmax(x, 100);
    expect(lk.memoryStats().inUse).toBe(0);
    codeOf(() => lk.topk(x, 100, 101));
    expect(lk.memoryStats().inUse).toBe(0);
    const b = lk.alloc(10);
    expect(lk.memoryStats().inUse).toBeGreaterThanOrEqual(40);
    b.free();
    expect(lk.memoryStats().inUse).toBe(0);
  });

  it('past the limit: out_of_memory before anything is written, then the engine still works', async () => {
    const lk = await init({ backend: 'wasm', memoryLimit: 8 << 20 });
    const small = randomLogits(4, 10, 1, 5);
    const before = lk.softmax(small, 10);
    const keep = before.slice();
    const kept = lk.alloc(1000);
    kept.array.fill(3);
    // One 12 MiB row: 12 MiB in + 12 MiB out > 8 MiB. (Many shorter rows would now fit: plain
    // arrays are copied in blocks of rows, see test/blocks.test.ts.)
    const huge = new Float32Array(3 << 20);
    let err: unknown;
    try {
      lk.softmax(huge, huge.length);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(LogitkitError);
    expect((err as LogitkitError).code).toBe('out_of_memory');
    expect((err as Error).message).toMatch(/limit.*memoryLimit/);
    expectExact(before, keep);
    expectExact(lk.softmax(small, 10), keep);
    expect(kept.array[999]).toBe(3);
    expect(lk.memoryStats().wasmBytes).toBeLessThanOrEqual(8 << 20);
    // A call that fits still runs, many times, and so does the many-row call, block by block.
    for (let i = 0; i < 20; i++) lk.logsumexp(new Float32Array(1 << 19), 512);
    expect(lk.softmax(huge, 1024).length).toBe(huge.length);
    expect(lk.memoryStats().wasmBytes).toBeLessThanOrEqual(8 << 20);
  });
});

describe('init({ warmup })', () => {
  it('warm-up is on by default and can be turned off; both engines compute the same', async () => {
    const cold = await init({ backend: 'wasm', warmup: false });
    const warm = await init({ backend: 'wasm' });
    const x = randomLogits(8, 1000, 3, 77);
    expectExact(cold.softmax(x, 1000), warm.softmax(x, 1000));
    // The warm-up's blocks are returned to the arena.
    expect(warm.memoryStats().inUse).toBe(0);
  });
});
