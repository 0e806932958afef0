// The fast path for calls whose copies fit one block (src/backends/wasm-runtime.ts #small): the
// same bits as the general path (whole arrays through the arena) and as zero-copy buffers, no arena
// memory taken, in-place calls, refused outputs, and views kept current across memory growth
// (the runtime re-reads memory.buffer only when the arena has grown it).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { createWasmBackend, type WasmBackend } from '../src/backends/wasm.js';
import { STAGING_BYTES } from '../src/backends/wasm-runtime.js';
import type { CrossEntropyTarget } from '../src/backends/backend.js';
import { randomLogits } from './helpers/random.js';

const buildDir = new URL('../build/', import.meta.url);
const simd = new WebAssembly.Module(readFileSync(new URL('logitkit.wasm', buildDir)));
const threadsBuild = new WebAssembly.Module(readFileSync(new URL('logitkit-threads.wasm', buildDir)));

const bits = (a: Float32Array | Int32Array): number[] => Array.from(new Int32Array(a.buffer, a.byteOffset, a.length));

function logits(rows: number, classes: number, seed: number): Float32Array {
  const x = randomLogits(rows, classes, 3, seed);
  x[0] = NaN;
  if (rows > 2) x.fill(-Infinity, 2 * classes, 3 * classes);
  // +inf in a row of its own: a row holding both NaN and +inf gets NaNs whose sign differs between
  // V8's baseline and optimised code (0x7fc00000 vs 0xffc00000, Node 20 and 24 alike), so comparing
  // two calls' bits would depend on when the kernel tiered up.
  if (rows > 1 && classes > 5) x[classes + 5] = Infinity;
  return x;
}

/** softmax, logSoftmax, logsumexp, crossEntropy 'none' (weighted, smoothed), argmax: every output's bits. */
function ops(b: WasmBackend, x: Float32Array, rows: number, classes: number): number[][] {
  const n = rows * classes;
  const o1 = new Float32Array(n);
  b.softmax(x, rows, classes, 0.8, o1);
  const o2 = new Float32Array(n);
  b.logSoftmax(x, rows, classes, 1, o2);
  const o3 = new Float32Array(rows);
  b.logsumexp(x, rows, classes, 1.2, o3);
  const target = Int32Array.from({ length: rows }, (_, i) => (i % 5 === 4 ? -100 : (i * 7) % classes));
  const t: CrossEntropyTarget = { kind: 'class', target, ignoreIndex: -100, weight: new Float32Array(classes).fill(0.5), labelSmoothing: 0.1 };
  const o4 = new Float32Array(rows);
  b.crossEntropy(x, rows, classes, t, 'none', o4);
  const o5 = new Int32Array(rows);
  b.argmax(x, rows, classes, o5);
  return [bits(o1), bits(o2), bits(o3), bits(o4), bits(o5)];
}

const SHAPES: [number, number][] = [
  [1, 32],
  [1, 1],
  [3, 7],
  [256, 32], // 64 KiB of copies: the fast path since the staging block is one copy block
  [17, 1000],
];

describe('small plain-array calls (the fast path)', () => {
  let one: WasmBackend;
  let two: WasmBackend;
  beforeAll(async () => {
    one = await createWasmBackend(simd, { threads: 1, warmup: false });
    two = await createWasmBackend(threadsBuild, { threads: 2, warmup: false });
    expect(two.features.threads).toBe(2);
  });
  afterAll(() => {
    one?.dispose();
    two?.dispose();
  });

  it('the staging block holds one copy block: a 256×32 softmax (in and out) fits', () => {
    expect(STAGING_BYTES).toBeGreaterThanOrEqual(256 * 32 * 4 * 2);
  });

  it('give the bits of the general path and of zero-copy buffers, and take no arena memory', () => {
    for (const [rows, classes] of SHAPES) {
      const x = logits(rows, classes, rows + classes);
      const inUse = one.memoryStats().inUse;
      const fast = ops(one, x, rows, classes);
      expect(one.memoryStats().inUse).toBe(inUse);
      // The fast path only takes calls that copy less than two blocks: with 16-byte blocks the same
      // calls take the general path, by blocks through arena memory.
      one.runtime.blockBytes = 16;
      const blocked = ops(one, x, rows, classes);
      one.runtime.blockBytes = 256 * 1024;
      expect(blocked, `${rows}×${classes} blocked`).toEqual(fast);
      const buf = one.alloc(x.length, 'float32');
      buf.array.set(x);
      const zeroCopy = ops(one, buf.array, rows, classes);
      buf.free();
      expect(zeroCopy, `${rows}×${classes} zero-copy`).toEqual(fast);
      // The threads build: small calls do not split, and give the same bits.
      const parallel = two.runtime.parallelCalls;
      expect(ops(two, x, rows, classes), `${rows}×${classes} threads build`).toEqual(fast);
      expect(two.runtime.parallelCalls).toBe(parallel);
    }
  });

  it('in place (one array as input and output) gives the bits of separate arrays', () => {
    const x = logits(4, 32, 3);
    const want = new Float32Array(x.length);
    one.softmax(x, 4, 32, 1, want);
    const inPlace = x.slice();
    one.softmax(inPlace, 4, 32, 1, inPlace);
    expect(bits(inPlace)).toEqual(bits(want));
  });

  it('an output that is a stray view of wasm memory is refused, nothing is written, and the engine keeps working', () => {
    const x = randomLogits(1, 32, 3, 4);
    const rt = one.runtime;
    const stray = new Float32Array(rt.memory.buffer, rt.heapBase, 32);
    const before = stray.slice();
    expect(() => one.softmax(x, 1, 32, 1, stray)).toThrow(/alloc\(\) did not hand out/);
    expect(bits(stray)).toEqual(bits(before));
    const out = new Float32Array(32);
    one.softmax(x, 1, 32, 1, out);
    const again = new Float32Array(32);
    one.softmax(x, 1, 32, 1, again);
    expect(bits(again)).toEqual(bits(out));
    expect(out[1]).toBeGreaterThan(0);
  });

  it('after memory grows, small calls and buffers see the new memory', async () => {
    const b = await createWasmBackend(simd, { threads: 1, warmup: false });
    try {
      const x = logits(2, 32, 5);
      const want = new Float32Array(64);
      b.softmax(x, 2, 32, 1, want);
      const kept = b.alloc(64, 'float32');
      kept.array.set(x);
      const wasmBytes = b.memoryStats().wasmBytes;
      const big = b.alloc(4 << 20, 'float32'); // grows memory: every earlier view is detached
      expect(b.memoryStats().wasmBytes).toBeGreaterThan(wasmBytes);
      expect(kept.array.length).toBe(64); // re-made over the new memory, not a detached view
      expect(bits(kept.array)).toEqual(bits(x));
      const out = new Float32Array(64);
      b.softmax(x, 2, 32, 1, out);
      expect(bits(out)).toEqual(bits(want));
      const zc = b.alloc(64, 'float32');
      b.softmax(kept.array, 2, 32, 1, zc.array);
      expect(bits(zc.array)).toEqual(bits(want));
      big.free();
      zc.free();
      kept.free();
    } finally {
      b.dispose();
    }
  });
});

describe('rows wider than a copy block', () => {
  it('go by blocks of one row (not one whole-array copy), with the bits of the whole-array path', async () => {
    const b = await createWasmBackend(simd, { threads: 1, warmup: false });
    try {
      const rows = 3;
      const classes = 128_256; // 513 KB a row: wider than a 256 KiB block
      const x = logits(rows, classes, 9);
      const rt = b.runtime;
      rt.blockBytes = 0;
      const want = [new Float32Array(x.length), new Float32Array(x.length)];
      b.softmax(x, rows, classes, 1, want[0]!);
      b.logSoftmax(x, rows, classes, 1, want[1]!);
      rt.blockBytes = 256 * 1024;
      const blocked = rt.blockedCalls;
      const got = [new Float32Array(x.length), new Float32Array(x.length)];
      b.softmax(x, rows, classes, 1, got[0]!);
      b.logSoftmax(x, rows, classes, 1, got[1]!);
      expect(rt.blockedCalls - blocked).toBe(2);
      expect(b.memoryStats().inUse).toBe(0);
      expect(bits(got[0]!)).toEqual(bits(want[0]!));
      expect(bits(got[1]!)).toEqual(bits(want[1]!));
    } finally {
      b.dispose();
    }
  });
});
