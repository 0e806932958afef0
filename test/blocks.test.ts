// Plain-array calls of the row kernels run in copied blocks (src/backends/wasm-runtime.ts): a
// block of rows is copied in, run and copied out while it is still in cache. Blocks fall on the
// kernel's grain, so every row takes the path it takes in one whole call: the results must be
// bit-identical to the whole-array path, on one thread and split across the pool.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { createWasmBackend, type WasmBackend } from '../src/backends/wasm.js';
import { BLOCK_BYTES } from '../src/backends/wasm-runtime.js';
import type { CrossEntropyTarget } from '../src/backends/backend.js';
import { randomLogits } from './helpers/random.js';

const buildDir = new URL('../build/', import.meta.url);
const simd = new WebAssembly.Module(readFileSync(new URL('logitkit.wasm', buildDir)));
const threadsBuild = new WebAssembly.Module(readFileSync(new URL('logitkit-threads.wasm', buildDir)));

function bitsOf(a: ArrayLike<number> & { buffer: ArrayBufferLike; byteOffset: number; byteLength: number }): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength).slice();
}

/** Logits with NaN, ±inf, all −inf rows and huge values sprinkled in (every 7th row special). */
function logits(rows: number, classes: number, seed: number): Float32Array {
  const x = randomLogits(rows, classes, 3, seed);
  for (let r = 0; r < rows; r += 7) {
    const o = r * classes;
    const kind = (r / 7) % 5;
    if (kind === 0) x[o + (r % classes)] = NaN;
    else if (kind === 1) x[o] = Infinity;
    else if (kind === 2) x.fill(-Infinity, o, o + classes);
    else if (kind === 3) x[o + classes - 1] = -Infinity;
    else x[o] = 3e38;
  }
  return x;
}

/** Index of the first differing byte, or -1 (toEqual's diff of megabyte arrays takes minutes). */
function firstDifference(a: Uint8Array, b: Uint8Array): number {
  if (a.length !== b.length) return Math.min(a.length, b.length);
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return i;
  return -1;
}

type Outputs = Uint8Array[];
/** Every row-wise op of the backend on (rows, classes) plain arrays; returns all outputs' bits and reductions. */
function everyOp(b: WasmBackend, rows: number, classes: number, seed: number): { outs: Outputs; numbers: number[] } {
  const x = logits(rows, classes, seed);
  const q = logits(rows, classes, seed + 1);
  const n = x.length;
  const outs: Outputs = [];
  const numbers: number[] = [];
  const f = (len: number) => new Float32Array(len);
  let o = f(n);
  b.softmax(x, rows, classes, 1, o), outs.push(bitsOf(o));
  o = f(n);
  b.softmax(x, rows, classes, 0.7, o), outs.push(bitsOf(o));
  o = f(n);
  b.logSoftmax(x, rows, classes, 1, o), outs.push(bitsOf(o));
  o = f(rows);
  b.logsumexp(x, rows, classes, 1.3, o), outs.push(bitsOf(o));
  const am = new Int32Array(rows);
  b.argmax(x, rows, classes, am), outs.push(bitsOf(am));
  const k = Math.min(5, classes);
  const tv = f(rows * k);
  const ti = new Int32Array(rows * k);
  b.topk(x, rows, classes, k, tv, ti), outs.push(bitsOf(tv), bitsOf(ti));
  o = f(n);
  b.sigmoid(x, o), outs.push(bitsOf(o));
  o = f(n);
  b.logSigmoid(x, o), outs.push(bitsOf(o));
  o = f(rows);
  b.entropy(x, rows, classes, o), outs.push(bitsOf(o));
  o = f(rows);
  numbers.push(b.klDiv(x, q, rows, classes, o)), outs.push(bitsOf(o));
  const target = new Int32Array(rows).map((_, i) => (i % 11 === 3 ? -100 : (i * 7) % classes));
  const weight = new Float32Array(classes).map((_, i) => 0.5 + (i % 3));
  const targets: CrossEntropyTarget[] = [
    { kind: 'class', target, ignoreIndex: -100, weight: null, labelSmoothing: 0 },
    { kind: 'class', target, ignoreIndex: -100, weight, labelSmoothing: 0.1 },
    { kind: 'prob', target: new Float32Array(n).fill(1 / classes), weight, labelSmoothing: 0.05 },
  ];
  for (const t of targets) {
    o = f(rows);
    b.crossEntropy(x, rows, classes, t, 'none', o), outs.push(bitsOf(o));
    numbers.push(b.crossEntropy(x, rows, classes, t, 'mean', null), b.crossEntropy(x, rows, classes, t, 'sum', null));
    o = f(n);
    numbers.push(b.crossEntropyWithGrad(x, rows, classes, t, 'mean', o)), outs.push(bitsOf(o));
  }
  o = f(n);
  b.adjustLogits(x, rows, classes, { temperature: 0.9, scale: weight, bias: weight, matrix: null }, o), outs.push(bitsOf(o));
  if (classes <= 64) {
    o = f(n);
    const matrix = randomLogits(classes, classes, 0.2, seed + 2);
    b.adjustLogits(x, rows, classes, { temperature: 1, scale: null, bias: null, matrix }, o), outs.push(bitsOf(o));
  }
  // In place: one array is both input and output.
  const inPlace = x.slice();
  b.softmax(inPlace, rows, classes, 1, inPlace), outs.push(bitsOf(inPlace));
  return { outs, numbers };
}

const SHAPES: [number, number][] = [
  [301, 1000], // long rows: blocks of any row count
  [1001, 10], // short rows: blocks on multiples of 16, a tail not a multiple of 4
  [517, 3],
  [3, 128_256 / 2], // rows wider than a block
  [64, 33],
];

function compare(b: WasmBackend, blockBytes: number): void {
  for (const [rows, classes] of SHAPES) {
    b.runtime.blockBytes = 0;
    const whole = everyOp(b, rows, classes, rows + classes);
    const blockedBefore = b.runtime.blockedCalls;
    b.runtime.blockBytes = blockBytes;
    const blocked = everyOp(b, rows, classes, rows + classes);
    // Calls that copy at least two blocks go by blocks (softmax copies 8 bytes per element).
    if (rows * classes * 8 >= 2 * blockBytes) expect(b.runtime.blockedCalls - blockedBefore, `${rows}×${classes}: calls ran in blocks`).toBeGreaterThan(0);
    expect(blocked.numbers, `${rows}×${classes}`).toEqual(whole.numbers);
    for (let i = 0; i < whole.outs.length; i++) expect(firstDifference(blocked.outs[i]!, whole.outs[i]!), `${rows}×${classes} output ${i}`).toBe(-1);
  }
}

describe('copied blocks give the bits of whole-array calls', () => {
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

  it('one thread, small blocks (many per call, rows wider than a block)', () => {
    compare(one, 4096);
  });

  it('one thread, the default block size', () => {
    expect(BLOCK_BYTES).toBeGreaterThanOrEqual(64 * 1024);
    compare(one, BLOCK_BYTES / 8);
  });

  it('two threads: every block is split across the pool, and gives the same bits', () => {
    const before = two.runtime.parallelCalls;
    compare(two, 8192);
    expect(two.runtime.parallelCalls).toBeGreaterThan(before);
    // The same bits as one thread, blocked or not.
    one.runtime.blockBytes = 0;
    two.runtime.blockBytes = 8192;
    const a = everyOp(one, 301, 1000, 9);
    const b = everyOp(two, 301, 1000, 9);
    expect(b.numbers).toEqual(a.numbers);
    for (let i = 0; i < a.outs.length; i++) expect(firstDifference(b.outs[i]!, a.outs[i]!), `output ${i}`).toBe(-1);
  });

  it('a big plain-array call runs in blocks by default, and a small one whole', () => {
    const b = one.runtime;
    b.blockBytes = BLOCK_BYTES;
    const before = b.blockedCalls;
    one.softmax(new Float32Array(16), 2, 8, 1, new Float32Array(16));
    expect(b.blockedCalls).toBe(before);
    const rows = 512;
    const classes = 1000;
    const x = logits(rows, classes, 5);
    const out = new Float32Array(x.length);
    one.softmax(x, rows, classes, 1, out);
    expect(b.blockedCalls).toBe(before + 1);
    // zero-copy calls never copy, so never block
    const buf = one.alloc(x.length, 'float32');
    buf.array.set(x);
    const out2 = one.alloc(x.length, 'float32');
    one.softmax(buf.array, rows, classes, 1, out2.array);
    expect(b.blockedCalls).toBe(before + 1);
    expect(firstDifference(bitsOf(out2.array), bitsOf(out))).toBe(-1);
    buf.free();
    out2.free();
  });

  it('a zero-copy input with a plain output: only the output goes by blocks', () => {
    const b = one.runtime;
    const rows = 300;
    const classes = 500;
    const x = logits(rows, classes, 6);
    const buf = one.alloc(x.length, 'float32');
    buf.array.set(x);
    const expected = new Float32Array(x.length);
    b.blockBytes = 0;
    one.logSoftmax(x, rows, classes, 1, expected);
    b.blockBytes = 8192;
    const before = b.blockedCalls;
    const out = new Float32Array(x.length);
    one.logSoftmax(buf.array, rows, classes, 1, out);
    expect(b.blockedCalls).toBe(before + 1);
    expect(firstDifference(bitsOf(out), bitsOf(expected))).toBe(-1);
    buf.free();
  });

  it('an output overlapping the input in one ArrayBuffer goes whole (blocks would read rows already overwritten)', () => {
    const b = one.runtime;
    const rows = 200;
    const classes = 100;
    const x = logits(rows, classes, 7);
    b.blockBytes = 0;
    const expected = new Float32Array(x.length);
    one.softmax(x, rows, classes, 1, expected);
    // out starts one row after x in the same buffer: copied whole, the result is as if they did not overlap.
    const shared = new Float32Array(x.length + classes);
    shared.set(x);
    const xv = shared.subarray(0, x.length);
    const ov = shared.subarray(classes);
    b.blockBytes = 4096;
    const before = b.blockedCalls;
    one.softmax(xv, rows, classes, 1, ov);
    expect(b.blockedCalls).toBe(before);
    expect(firstDifference(bitsOf(ov), bitsOf(expected))).toBe(-1);
  });

  it('after a failing call the engine keeps working, and blocks leave no arena memory behind', () => {
    const b = one.runtime;
    b.blockBytes = 4096;
    const inUse = one.memoryStats().inUse;
    const rows = 100;
    const classes = 300;
    const x = logits(rows, classes, 8);
    const out = new Float32Array(x.length);
    one.softmax(x, rows, classes, 1, out);
    expect(one.memoryStats().inUse).toBe(inUse);
    // An output that is a view of wasm memory alloc() did not hand out is refused before anything runs.
    const stray = new Float32Array(b.memory.buffer, b.heapBase, x.length);
    expect(() => one.softmax(x, rows, classes, 1, stray)).toThrow(/alloc\(\) did not hand out/);
    expect(one.memoryStats().inUse).toBe(inUse);
    const again = new Float32Array(x.length);
    one.softmax(x, rows, classes, 1, again);
    expect(firstDifference(bitsOf(again), bitsOf(out))).toBe(-1);
  });
});
