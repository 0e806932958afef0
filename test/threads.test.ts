/**
 * The worker pool (src/backends/threads.ts) and the shared-memory build:
 * results bit-identical to one thread on inputs big enough to be split, small
 * calls stay on the calling thread, dispose ends the workers, a process that
 * never disposes still exits, and the one-time single-thread warning.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { readFile, mkdtemp, writeFile, rm } from 'node:fs/promises';
import { existsSync, readFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFile } from 'node:child_process';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { makeInit, featuresOf, warnSingleThread, type Platform } from '../src/init.js';
import { createWasmBackend, splitCount, rowGrain, PARALLEL_MIN_WORK, ROW_GRAIN, type WasmBackend } from '../src/backends/wasm.js';
import { threadSupport } from '../src/backends/threads.js';
import { createRuntime } from '../src/backends/wasm-runtime.js';
import type { Engine } from '../src/engine.js';
import { randomLogits } from './helpers/random.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const buildDir = new URL('../build/', import.meta.url);
const platform: Platform = {
  defaultWasm: () => readFile(new URL('logitkit.wasm', buildDir)),
  fetchUrl: (url) => readFile(url),
  wasmFile: (file) => readFile(new URL(file, buildDir)),
};
const init = makeInit(platform);
const threadsModule = new WebAssembly.Module(readFileSync(new URL('logitkit-threads.wasm', buildDir)));

/** Logits with the special values of SEMANTICS §1–§3 sprinkled over some rows. */
function logitsWithSpecials(rows: number, classes: number, seed: number): Float32Array {
  const x = randomLogits(rows, classes, 4, seed);
  for (let r = 3; r < rows; r += 97) x[r * classes + (r % classes)] = NaN;
  for (let r = 5; r < rows; r += 101) x[r * classes + ((r * 7) % classes)] = Infinity;
  for (let r = 7; r < rows; r += 89) x.fill(-Infinity, r * classes, (r + 1) * classes);
  for (let r = 11; r < rows; r += 83) x[r * classes] = -Infinity;
  return x;
}

/**
 * Bit-identical, except that a NaN may differ from another NaN in its sign and payload: wasm
 * leaves those to the engine, and V8's baseline and optimising tiers can differ, so a NaN's bits
 * can change between two calls on one thread just as well.
 */
function expectSameBits(a: ArrayBufferView, b: ArrayBufferView, what: string): void {
  expect(a.byteLength, what).toBe(b.byteLength);
  if (a instanceof Float32Array && b instanceof Float32Array) {
    const ua = new Uint32Array(a.buffer, a.byteOffset, a.length);
    const ub = new Uint32Array(b.buffer, b.byteOffset, b.length);
    let first = -1;
    for (let i = 0; i < ua.length; i++)
      if (ua[i] !== ub[i] && !(Number.isNaN(a[i]) && Number.isNaN(b[i]))) {
        first = i;
        break;
      }
    expect(first, `${what}: first differing element`).toBe(-1);
    return;
  }
  const ua = new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  const ub = new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
  let first = -1;
  for (let i = 0; i < ua.length; i++)
    if (ua[i] !== ub[i]) {
      first = i;
      break;
    }
  expect(first, `${what}: first differing byte`).toBe(-1);
}

describe('threads: engine start-up', () => {
  it('init({ threads: 2 }) starts the shared-memory build with a pool of 2', async () => {
    const lk = await init({ threads: 2 });
    try {
      expect(lk.backend).toBe('wasm');
      expect(featuresOf(lk)).toMatchObject({ simd: true, threads: 2 });
    } finally {
      lk.dispose();
    }
  });

  it("threads: 1 (the default) and threads: 'auto' (= logical cores)", async () => {
    const one = await init();
    expect(featuresOf(one).threads).toBe(1);
    one.dispose();
    const auto = await init({ threads: 'auto' });
    expect(featuresOf(auto).threads).toBe(availableParallelism());
    auto.dispose();
  });

  it('rejects a bad thread count with invalid_argument naming options.threads', async () => {
    for (const bad of [0, -1, 1.5, NaN, '2', 1000]) {
      await expect(init({ threads: bad as never })).rejects.toMatchObject({ code: 'invalid_argument', argument: 'options.threads' });
    }
  });

  it('a non-shared module passed as options.wasm runs on one thread, with the one-time warning', async () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    try {
      const plain = await readFile(new URL('logitkit.wasm', buildDir));
      const lk = await init({ threads: 2, wasm: plain });
      expect(featuresOf(lk).threads).toBe(1);
      expect(featuresOf(lk).threadsUnavailable).toMatch(/^the module passed as options.wasm is not the shared-memory build/);
      expect(lk.softmax(new Float32Array([0, 0]), 2)).toEqual(new Float32Array([0.5, 0.5]));
      lk.dispose();
      const again = await init({ threads: 2, wasm: plain });
      again.dispose();
      expect(warn).toHaveBeenCalledTimes(1); // the first warning of this process (each test file runs in its own)
      expect(String(warn.mock.calls[0]![0])).toMatch(/threads: 2 \}\) runs on one thread: .*not the shared-memory build/);
      // The second engine printed nothing, but is not silent: its features carry the same reason.
      expect(featuresOf(again).threadsUnavailable).toBe(featuresOf(lk).threadsUnavailable);
      // One thread asked for: nothing to explain.
      const single = await init({ wasm: plain });
      expect('threadsUnavailable' in featuresOf(single)).toBe(false);
      single.dispose();
    } finally {
      warn.mockRestore();
    }
  });

  it('warms up while the workers start: the warm-up runs on one thread, the pool is there when init resolves', async () => {
    const seen: number[] = [];
    const rt = await createRuntime(threadsModule, {
      threads: 2,
      whileStarting: (r) => {
        seen.push(r.poolSize);
      },
    });
    try {
      expect(seen).toEqual([1]);
      expect(rt.poolSize).toBe(2);
    } finally {
      rt.dispose();
    }
    // A warm-up that throws rejects the start with its own error (not the pool's, not unhandled).
    await expect(
      createRuntime(threadsModule, {
        threads: 2,
        whileStarting: () => {
          throw new Error('warm-up failed');
        },
      }),
    ).rejects.toThrow('warm-up failed');
  });

  it('the JS backend reports no SIMD and one thread', async () => {
    const lk = await init({ backend: 'js', threads: 2 });
    expect(featuresOf(lk)).toEqual({ simd: false, relaxedSimd: false, threads: 1 });
  });
});

describe('threads: results are bit-identical to one thread', () => {
  let one: WasmBackend;
  let two: WasmBackend;
  beforeAll(async () => {
    one = await createWasmBackend(threadsModule, { threads: 1 });
    two = await createWasmBackend(threadsModule, { threads: 2 });
    expect(one.activeThreads).toBe(1);
    expect(two.activeThreads).toBe(2);
  });
  afterAll(() => {
    one.dispose();
    two.dispose();
  });

  // Row counts that are not multiples of the grain or of 4, long and short rows
  // (the kernels handle rows of < 16 classes four at a time).
  const shapes: [number, number][] = [
    [1037, 1000],
    [4099, 64],
    [100_003, 10],
    [30_001, 3],
    [9, 128_256],
  ];
  for (const [rows, classes] of shapes) {
    it(`${rows}×${classes}: softmax, logSoftmax, logsumexp (T = 1 and 0.7), argmax, topk`, () => {
      const x = logitsWithSpecials(rows, classes, rows + classes);
      const before = two.runtime.parallelCalls;
      for (const T of [1, 0.7]) {
        for (const op of ['softmax', 'logSoftmax'] as const) {
          const a = new Float32Array(x.length);
          const b = new Float32Array(x.length);
          one[op](x, rows, classes, T, a);
          two[op](x, rows, classes, T, b);
          expectSameBits(a, b, `${op} T=${T}`);
        }
        const a = new Float32Array(rows);
        const b = new Float32Array(rows);
        one.logsumexp(x, rows, classes, T, a);
        two.logsumexp(x, rows, classes, T, b);
        expectSameBits(a, b, `logsumexp T=${T}`);
      }
      const ia = new Int32Array(rows);
      const ib = new Int32Array(rows);
      one.argmax(x, rows, classes, ia);
      two.argmax(x, rows, classes, ib);
      expectSameBits(ia, ib, 'argmax');
      const k = Math.min(5, classes);
      const va = new Float32Array(rows * k);
      const vb = new Float32Array(rows * k);
      const xa = new Int32Array(rows * k);
      const xb = new Int32Array(rows * k);
      one.topk(x, rows, classes, k, va, xa);
      two.topk(x, rows, classes, k, vb, xb);
      expectSameBits(va, vb, 'topk values');
      expectSameBits(xa, xb, 'topk indices');
      // Every one of the 8 calls above was big enough to be split.
      expect(two.runtime.parallelCalls - before).toBe(8);
    });
  }

  it('the workers really compute chunks (not only the calling thread)', () => {
    const rows = 4096;
    const classes = 1000;
    const x = randomLogits(rows, classes, 2, 77);
    const out = new Float32Array(x.length);
    const before = two.runtime.workerChunks;
    // A worker that wakes late finds its chunks taken, so on a busy machine a
    // single call may run entirely here; over a few calls the worker joins in.
    for (let i = 0; i < 50 && two.runtime.workerChunks === before; i++) two.softmax(x, rows, classes, 1, out);
    expect(two.runtime.workerChunks).toBeGreaterThan(before);
  });

  it('sigmoid and logSigmoid over 1,000,003 elements, in place too', () => {
    const x = logitsWithSpecials(1_000_003, 1, 7);
    for (const op of ['sigmoid', 'logSigmoid'] as const) {
      const a = new Float32Array(x.length);
      const b = new Float32Array(x.length);
      one[op](x, a);
      two[op](x, b);
      expectSameBits(a, b, op);
      const inPlace = x.slice();
      two[op](inPlace, inPlace);
      expectSameBits(a, inPlace, `${op} in place`);
    }
  });

  it('zero-copy buffers and in-place softmax split across threads give the same bits', () => {
    const rows = 2048;
    const classes = 1000;
    const x = randomLogits(rows, classes, 3, 42);
    const expected = new Float32Array(x.length);
    one.softmax(x, rows, classes, 1, expected);
    const buf = two.alloc(x.length, 'float32');
    buf.array.set(x);
    const before = two.runtime.parallelCalls;
    two.softmax(buf.array, rows, classes, 1, buf.array);
    expect(two.runtime.parallelCalls - before).toBe(1);
    expectSameBits(buf.array, expected, 'in-place zero-copy softmax');
    buf.free();
  });

  it('the engine API on a threaded engine matches the plain single-thread build', async () => {
    const plain = await init({ threads: 1 });
    const threaded = await init({ threads: 2 });
    try {
      const rows = 3001;
      const classes = 257;
      const x = logitsWithSpecials(rows, classes, 5);
      expectSameBits(threaded.softmax(x, classes), plain.softmax(x, classes), 'softmax');
      expectSameBits(threaded.logSoftmax(x, classes, { temperature: 2 }), plain.logSoftmax(x, classes, { temperature: 2 }), 'logSoftmax');
      expectSameBits(threaded.logsumexp(x, classes), plain.logsumexp(x, classes), 'logsumexp');
      expectSameBits(threaded.argmax(x, classes), plain.argmax(x, classes), 'argmax');
      const ta = threaded.topk(x, classes, 10);
      const tb = plain.topk(x, classes, 10);
      expectSameBits(ta.values, tb.values, 'topk values');
      expectSameBits(ta.indices, tb.indices, 'topk indices');
    } finally {
      plain.dispose();
      threaded.dispose();
    }
  });
});

describe('threads: the losses that split by rows are bit-identical too', () => {
  it('crossEntropy (class and probability targets, every reduction), its gradient, entropy, klDiv', async () => {
    const plain = await init({ threads: 1 });
    const threaded = await init({ threads: 2 });
    try {
      expect(featuresOf(threaded).threads).toBe(2);
      const rows = 2051;
      const classes = 301;
      const x = randomLogits(rows, classes, 3, 9);
      const q = randomLogits(rows, classes, 2, 10);
      const target = new Int32Array(rows).map((_, i) => (i * 37) % classes);
      target[5] = -100;
      const probs = plain.softmax(q, classes);
      const weight = new Float32Array(classes).map((_, i) => 0.5 + (i % 3));
      for (const reduction of ['none', 'sum', 'mean'] as const) {
        const o = { reduction, weight, labelSmoothing: 0.1 };
        const a = plain.crossEntropy(x, classes, target, o);
        const b = threaded.crossEntropy(x, classes, target, o);
        if (typeof a === 'number') expect(Object.is(a, b), `crossEntropy ${reduction}: ${a} vs ${b}`).toBe(true);
        else expectSameBits(a, b as Float32Array, `crossEntropy ${reduction}`);
        const sa = plain.crossEntropy(x, classes, probs, { reduction });
        const sb = threaded.crossEntropy(x, classes, probs, { reduction });
        if (typeof sa === 'number') expect(Object.is(sa, sb), `soft crossEntropy ${reduction}`).toBe(true);
        else expectSameBits(sa, sb as Float32Array, `soft crossEntropy ${reduction}`);
      }
      const ga = plain.crossEntropyWithGrad(x, classes, target, { labelSmoothing: 0.05 });
      const gb = threaded.crossEntropyWithGrad(x, classes, target, { labelSmoothing: 0.05 });
      expect(Object.is(ga.loss, gb.loss)).toBe(true);
      expectSameBits(ga.grad, gb.grad, 'crossEntropyWithGrad grad');
      expectSameBits(plain.entropy(x, classes), threaded.entropy(x, classes), 'entropy');
      expectSameBits(plain.klDiv(x, q, classes), threaded.klDiv(x, q, classes), 'klDiv');
    } finally {
      plain.dispose();
      threaded.dispose();
    }
  });
});

describe('threads: static data', () => {
  // Each worker's instantiation re-applies the module's active data segments
  // (asc emits no passive ones) to the shared memory. That is harmless only
  // while kernels never write below heapBase(): then the bytes rewritten are
  // the bytes already there.
  it('no kernel writes to the static data below heapBase()', async () => {
    const b = await createWasmBackend(threadsModule, { threads: 2 });
    try {
      const base = b.runtime.heapBase;
      const before = new Uint8Array(b.runtime.memory.buffer, 0, base).slice();
      const rows = 1024;
      const classes = 100;
      const x = logitsWithSpecials(rows, classes, 3);
      const f = new Float32Array(x.length);
      b.softmax(x, rows, classes, 0.5, f);
      b.logSoftmax(x, rows, classes, 1, f);
      b.logsumexp(x, rows, classes, 1, new Float32Array(rows));
      b.sigmoid(x, f);
      b.logSigmoid(x, f);
      b.argmax(x, rows, classes, new Int32Array(rows));
      b.topk(x, rows, classes, 7, new Float32Array(rows * 7), new Int32Array(rows * 7));
      b.entropy(x, rows, classes, new Float32Array(rows));
      b.crossEntropy(x, rows, classes, { kind: 'class', target: new Int32Array(rows), ignoreIndex: -100, weight: null, labelSmoothing: 0.1 }, 'none', new Float32Array(rows));
      expectSameBits(new Uint8Array(b.runtime.memory.buffer, 0, base), before, 'static data');
    } finally {
      b.dispose();
    }
  });
});

describe('threads: when to split', () => {
  it('small calls stay on the calling thread', async () => {
    const b = await createWasmBackend(threadsModule, { threads: 2 });
    try {
      const before = b.runtime.parallelCalls;
      const small: [number, number][] = [
        [1, 32],
        [256, 32],
        [32, 1000],
        [1, 128_256 / 4],
      ];
      for (const [rows, classes] of small) {
        const x = randomLogits(rows, classes, 2, rows);
        const out = new Float32Array(x.length);
        b.softmax(x, rows, classes, 1, out);
        b.logsumexp(x, rows, classes, 1, new Float32Array(rows));
      }
      b.sigmoid(new Float32Array(1000), new Float32Array(1000));
      expect(b.runtime.parallelCalls).toBe(before);
      // and a big one does split
      const x = randomLogits(512, 1000, 2, 1);
      b.softmax(x, 512, 1000, 1, new Float32Array(x.length));
      expect(b.runtime.parallelCalls).toBe(before + 1);
    } finally {
      b.dispose();
    }
  });

  it('a chunk that traps makes the call throw, and the pool keeps working', async () => {
    const b = await createWasmBackend(threadsModule, { threads: 2 });
    try {
      const rows = 256;
      const classes = 1000;
      const buf = b.alloc(rows * classes, 'float32');
      buf.array.set(randomLogits(rows, classes, 1, 3));
      const p = buf.array.byteOffset;
      // Rows past the first chunk point far outside memory: whichever thread claims them traps.
      const far = b.runtime.memory.buffer.byteLength;
      const before = b.runtime.parallelCalls;
      expect(() => b.runtime.rowsRaw('softmax', [p, rows, classes, 1, p], [far, 0, 0, 0, far], rows, 1)).toThrow(/out of bounds|failed in a worker thread/);
      expect(b.runtime.parallelCalls).toBe(before + 1);
      expect(b.activeThreads).toBe(2);
      b.softmax(buf.array, rows, classes, 1, buf.array);
      expect(b.runtime.parallelCalls).toBe(before + 2);
      expect(buf.array.subarray(0, classes).reduce((s, v) => s + v, 0)).toBeCloseTo(1, 5);
      buf.free();
    } finally {
      b.dispose();
    }
  });

  it('splitCount: one part below PARALLEL_MIN_WORK per thread, never more parts than row blocks or threads', () => {
    expect(splitCount(1, 32, 2)).toBe(1);
    expect(splitCount(100, PARALLEL_MIN_WORK * 2 - 1, 2)).toBe(1);
    expect(splitCount(100, PARALLEL_MIN_WORK * 2, 2)).toBe(2);
    expect(splitCount(ROW_GRAIN, PARALLEL_MIN_WORK * 8, 8)).toBe(1); // one row block: nothing to split
    expect(splitCount(ROW_GRAIN * 3, PARALLEL_MIN_WORK * 8, 8)).toBe(3);
    expect(splitCount(3, PARALLEL_MIN_WORK * 8, 8, rowGrain(128_256))).toBe(3); // long rows split one by one
    expect(rowGrain(10)).toBe(ROW_GRAIN);
    expect(splitCount(1, 1e9, 8, 1)).toBe(1); // a single row is never split
    expect(splitCount(1_000_000, 1e9, 4)).toBe(4);
  });
});

describe('threads: dispose and process exit', () => {
  it('dispose() ends the pool; the engine then throws disposed', async () => {
    const b = await createWasmBackend(threadsModule, { threads: 2 });
    expect(b.activeThreads).toBe(2);
    b.dispose();
    expect(b.activeThreads).toBe(1);
    const lk: Engine = await init({ threads: 2 });
    lk.dispose();
    expect(() => lk.softmax(new Float32Array(4), 2)).toThrow(expect.objectContaining({ code: 'disposed' }));
  });

  // A fresh Node running the built package (dist/, which `npm test` builds first), as a user's script would.
  let dir: string;
  beforeAll(async () => {
    const entry = join(root, 'dist', 'index.js');
    if (!existsSync(entry)) throw new Error('dist/ is not built: run `npm run build` (npm test does it in pretest)');
    dir = await mkdtemp(join(tmpdir(), 'logitkit-threads-'));
  });
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  function runScript(body: string, timeoutMs: number): Promise<{ code: number | null; stdout: string; stderr: string; ms: number }> {
    const script = `import { init } from ${JSON.stringify(pathToFileURL(join(root, 'dist', 'index.js')).href)};
const featuresOf = (lk) => lk.features;
${body}`;
    const file = join(dir, `s${Math.random().toString(36).slice(2)}.mjs`);
    return writeFile(file, script).then(
      () =>
        new Promise((resolve) => {
          const t0 = performance.now();
          execFile(process.execPath, [file], { timeout: timeoutMs, cwd: dir }, (err, stdout, stderr) => {
            const code = err ? ((err as { code?: number }).code ?? null) : 0;
            resolve({ code: typeof code === 'number' ? code : null, stdout, stderr, ms: performance.now() - t0 });
          });
        }),
    );
  }

  it('a script that never calls dispose() still exits by itself', async () => {
    const r = await runScript(
      `const lk = await init({ threads: 2 });
const x = new Float32Array(512 * 1000).map((_, i) => Math.sin(i));
const y = lk.softmax(x, 1000);
console.log(JSON.stringify({ threads: featuresOf(lk).threads, sum: y.slice(0, 1000).reduce((a, b) => a + b, 0) }));`,
      20_000,
    );
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0); // killed by the timeout → code null
    const out = JSON.parse(r.stdout) as { threads: number; sum: number };
    expect(out.threads).toBe(2);
    expect(out.sum).toBeCloseTo(1, 5);
  });

  it('a script that disposes exits too, and init() awaited at top level does not exit early', async () => {
    const r = await runScript(
      `const lk = await init({ threads: 2 });
lk.dispose();
console.log('after-dispose');`,
      20_000,
    );
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe('after-dispose');
  });
});

describe('threads: where they cannot run', () => {
  it('browser pages without cross-origin isolation get a reason that names COOP/COEP', () => {
    const page = threadSupport({ isNode: false, hasWorker: true, crossOriginIsolated: false, hasSharedMemory: false });
    expect(page.ok).toBe(false);
    if (!page.ok) {
      expect(page.reason).toMatch(/Cross-Origin-Opener-Policy: same-origin/);
      expect(page.reason).toMatch(/Cross-Origin-Embedder-Policy: require-corp/);
    }
    expect(threadSupport({ isNode: false, hasWorker: true, crossOriginIsolated: true, hasSharedMemory: true })).toEqual({ ok: true });
    // WebKitGTK: isolated, yet no SharedArrayBuffer. The reason must not send people to the headers they already send.
    const webkit = threadSupport({ isNode: false, hasWorker: true, crossOriginIsolated: true, hasSharedMemory: false });
    expect(webkit.ok).toBe(false);
    if (!webkit.ok) {
      expect(webkit.reason).toMatch(/cross-origin isolated, but this browser has no SharedArrayBuffer/);
      expect(webkit.reason).not.toMatch(/Cross-Origin-Opener-Policy/);
    }
    expect(threadSupport({ isNode: false, hasWorker: false, crossOriginIsolated: true, hasSharedMemory: true }).ok).toBe(false);
    expect(threadSupport({ isNode: true, hasWorker: false, crossOriginIsolated: undefined, hasSharedMemory: true })).toEqual({ ok: true });
    expect(threadSupport().ok).toBe(true); // this Node
  });

  it('the single-thread warning is printed once per process', () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    try {
      // The options.wasm test above printed this process's one warning.
      expect(warnSingleThread(4, 'another reason')).toBe(false);
      expect(warn).not.toHaveBeenCalled();
    } finally {
      warn.mockRestore();
    }
  });
});
