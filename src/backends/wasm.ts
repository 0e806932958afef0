/**
 * The wasm backend: instantiation, the memory arena, copy-in/out for plain
 * arrays and the zero-copy path for arrays that already live in wasm memory.
 *
 * A call classifies its arrays first (already in wasm memory → use the bytes
 * where they are; elsewhere → copy into an arena block), only then allocates
 * (allocation may grow memory, which detaches every view, including the
 * caller's), runs the kernel, copies results out through fresh views, and
 * frees its blocks whatever happens.
 *
 * With the shared-memory build and a worker pool (threads.ts), the row-wise ops
 * split their rows across threads once a call is big enough to gain
 * (PARALLEL_MIN_WORK); the split falls on multiples of ROW_GRAIN rows so every
 * row goes through exactly the code path it takes on one thread (the kernels
 * handle short rows four at a time), which keeps results bit-identical.
 */
import { instantiate } from '@assemblyscript/loader';
import type { AdjustArgs, Backend, Features, BceArgs, CrossEntropyTarget, FilterOptions, Reduction } from './backend.js';
import { Arena } from './arena.js';
import { ThreadPool, type Job } from './threads.js';
import { MAX_ARGS } from './worker.js';
import { BUFFER_TAG, registerWidened, typedArrayCtor, type ArrayOf, type BufferType, type LkBuffer } from '../buffers.js';
import { fail } from '../errors.js';
import * as loss from './wasm-loss.js';
import * as gen from './wasm-sample.js';

type Kernel = (...args: number[]) => number | void;
export type KernelExports = Record<string, Kernel> & { heapBase(): number; buildFeatures?(): number };

type Typed = Float32Array | Int32Array | Uint16Array | Uint8Array | Float64Array;

/** One array taking part in a call. `io`: copy in before, copy out after, or both. */
export interface Arg {
  a: Typed;
  io: 'in' | 'out' | 'inout';
}

export { DEFAULT_MEMORY_LIMIT } from '../limits.js';
import { DEFAULT_MEMORY_LIMIT } from '../limits.js';
/** Bytes of the staging block for small calls' temporaries (1×32 softmax needs 256). */
const STAGING_BYTES = 16384;
const align16 = (n: number): number => (n + 15) & ~15;
const MAX_PAGES = 65536;
/** Bits of the buildFeatures() export (assembly/features.ts). */
const BUILD_RELAXED_SIMD = 1;
const BUILD_THREADS = 2;

/**
 * Fewest elements per thread for a split to pay. Measured on the 2-core EPYC VM
 * with Node 20 in a quiet moment (softmax, threads build, forced splits): with
 * the workers still busy from the previous call a split already wins at 16k
 * elements (16×1000: 1.7×), but a call arriving after a pause, when a worker
 * must first be woken, breaks even near 64k elements in all (66×1000: 1.07×,
 * 3277×10: 1.2×) — hence 32k per thread.
 */
export const PARALLEL_MIN_WORK = 32768;
/**
 * Row blocks handed to threads are multiples of this many rows when rows are
 * short (see the header: the kernels take rows of < 16 classes four at a time;
 * 16 leaves room should that grow); long rows go one by one, so any split works.
 */
export const ROW_GRAIN = 16;
const LONG_ROW = 64;
export function rowGrain(classes: number): number {
  return classes >= LONG_ROW ? 1 : ROW_GRAIN;
}

export interface WasmBackendOptions {
  memoryLimit?: number;
  /** Threads for large row-wise calls; > 1 needs the shared-memory build. Default 1. */
  threads?: number;
  /** Run the hot kernels briefly before returning (default true): see warmUp(). */
  warmup?: boolean;
}

export async function createWasmBackend(module: WebAssembly.Module, options: WasmBackendOptions = {}): Promise<WasmBackend> {
  const limit = Math.min(options.memoryLimit ?? DEFAULT_MEMORY_LIMIT, MAX_PAGES * 65536);
  const maximum = Math.floor(limit / 65536);
  // Whether the module imports a shared memory (the threads build) is not
  // visible from outside in every runtime, so try the likely kind first.
  const shared = (options.threads ?? 1) > 1;
  let memory!: WebAssembly.Memory;
  let instance!: WebAssembly.Instance;
  let firstError: unknown = null;
  for (const s of shared ? [true, false] : [false, true]) {
    if (s && typeof SharedArrayBuffer !== 'function') continue;
    try {
      memory = new WebAssembly.Memory({ initial: 16, maximum, shared: s } as WebAssembly.MemoryDescriptor);
      instance = (await instantiate(module, { env: { memory } })).instance;
      firstError = null;
      break;
    } catch (e) {
      firstError ??= e;
    }
  }
  if (firstError !== null) throw firstError;
  const exports = instance.exports as unknown as KernelExports;
  const bits = typeof exports.buildFeatures === 'function' ? exports.buildFeatures() : 0;
  let pool: ThreadPool | null = null;
  const threads = options.threads ?? 1;
  // Workers call kernels by their index in this list.
  const names = WebAssembly.Module.exports(module).filter((e) => e.kind === 'function').map((e) => e.name);
  if (threads > 1 && bits & BUILD_THREADS) pool = await ThreadPool.start(module, memory, threads, names);
  const features: Features = { simd: true, relaxedSimd: (bits & BUILD_RELAXED_SIMD) !== 0, threads: pool ? pool.size : 1 };
  const backend = new WasmBackend(exports, memory, limit, pool, features, names);
  if (options.warmup ?? true) await warmUp(backend);
  return backend;
}

/**
 * V8 runs a wasm function in its baseline compiler (Liftoff) until the function
 * has used up a tier-up budget, then optimises it in the background; the call
 * that is running keeps the baseline code. Without this, a user's first big call
 * ran 3× slower (softmax 4096×1000: 12.6 ms cold vs 3.8 ms, page faults aside).
 * About 640k elements through the hot row kernels (wide and short rows, a few ms)
 * spend the budget, and a short pause lets the optimised code land; measured:
 * the first 4096×1000 softmax then runs at steady-state speed.
 */
async function warmUp(w: WasmBackend): Promise<void> {
  const n = 16000;
  const x = w.alloc(n, 'float32');
  const out = w.alloc(n, 'float32');
  try {
    const a = x.array;
    for (let i = 0; i < n; i++) a[i] = Math.sin(i) * 3;
    const p = a.byteOffset;
    const q = out.array.byteOffset;
    for (let rep = 0; rep < 40; rep++) {
      for (const classes of rep % 4 === 0 ? [1000, 10] : [1000]) {
        w.k.softmax!(p, n / classes, classes, 1, q);
        w.k.logSoftmax!(p, n / classes, classes, 1, q);
        w.k.logsumexp!(p, n / classes, classes, 1, q);
      }
    }
  } finally {
    x.free();
    out.free();
  }
  await new Promise((resolve) => setTimeout(resolve, 15));
}


export class WasmBackend implements Backend {
  readonly name = 'wasm' as const;
  readonly k: KernelExports;
  readonly arena: Arena;
  readonly memory: WebAssembly.Memory;
  readonly features: Features;
  readonly #pool: ThreadPool | null;
  readonly #fnIndex = new Map<string, number>();
  #views: HeapViews | null = null;
  /**
   * A block kept for the temporaries of small calls: taking and returning arena
   * blocks costs more than a 1×32 kernel, so calls that fit here skip the arena.
   * Calls never nest, but the flag keeps a nested one (if ever) on the arena.
   */
  readonly #staging: number;
  #stagingBusy = false;
  /** Calls that were split across threads (for tests and diagnostics). */
  parallelCalls = 0;
  /**
   * Live blocks handed out by alloc(), start → bytes: the only wasm memory a
   * call may write as a zero-copy output. Any other view of the memory (static
   * data, the arena's free space, temporaries) is refused, never written.
   */
  readonly #owned = new Map<number, number>();

  get memoryLimit(): number {
    return this.arena.limit;
  }

  constructor(
    exports: KernelExports,
    memory: WebAssembly.Memory,
    limit: number,
    pool: ThreadPool | null = null,
    features?: Features,
    kernelNames: readonly string[] = [],
  ) {
    this.k = exports;
    this.memory = memory;
    this.arena = new Arena(memory, exports.heapBase(), limit);
    this.#staging = this.arena.alloc(STAGING_BYTES);
    this.#pool = pool;
    this.features = features ?? { simd: true, relaxedSimd: false, threads: 1 };
    kernelNames.forEach((name, i) => this.#fnIndex.set(name, i));
  }

  /** Row chunks computed by worker threads so far (0 without a pool). */
  get workerChunks(): number {
    return this.#pool?.workerChunks ?? 0;
  }

  /** Threads available to the next large call: the pool's size, or 1 (no pool, disposed, or a worker died). */
  get activeThreads(): number {
    const pool = this.#pool;
    return pool !== null && pool.usable ? pool.size : 1;
  }

  /**
   * Calls kernel export `name` over rows [0, rows), split across the pool when
   * the call is big enough: `args(begin, end)` returns the export's arguments for
   * rows [begin, end) (pointers advanced to row `begin`). `work` is the number
   * of elements the call touches, which decides the split; blocks are multiples
   * of `grain` rows (rowGrain(classes) for row-wise kernels). Rows must be
   * independent (each row's outputs depend on that row's inputs only).
   * Usable by any row-wise kernel, e.g. per-row losses with reduction 'none'.
   */
  rowParallel(name: string, rows: number, work: number, args: (begin: number, end: number) => number[], grain = ROW_GRAIN): void {
    const fn = this.k[name]!;
    const pool = this.#pool;
    const parts = pool !== null && pool.usable ? splitCount(rows, work, pool.size, grain) : 1;
    const job = parts > 1 ? affineJob(this.#fnIndex.get(name), rows, Math.min(Math.ceil(rows / grain), parts * CHUNKS_PER_THREAD), grain, args) : null;
    if (job === null) {
      fn(...args(0, rows));
      return;
    }
    this.parallelCalls++;
    pool!.run(job, (begin, end) => fn(...args(begin, end)));
  }

  /**
   * Runs `kernel(ptrs)` with every array of `args` in wasm memory, plus
   * `scratch` zeroed-or-not temporary blocks (byte sizes) appended to ptrs.
   * The same array passed twice (in-place) gets one block.
   */
  run<R>(args: Arg[], scratch: number[], kernel: (ptrs: number[]) => R): R {
    const before = this.memory.buffer;
    const n = args.length;
    // 1. Classify before any allocation: a zero-copy view's offset is only
    //    readable while its buffer is still attached.
    const ptrs: number[] = [];
    for (let i = 0; i < n; i++) {
      const { a, io } = args[i]!;
      ptrs.push(a.buffer === before ? a.byteOffset : -1);
      if (io !== 'in' && a.buffer === before && !this.#owns(a.byteOffset, a.byteLength))
        fail(
          'invalid_argument',
          `an output array is a view of this engine's wasm memory (bytes ${a.byteOffset}–${a.byteOffset + a.byteLength}) that alloc() did not hand out; ` +
            'pass a buffer from lk.alloc() (or its .array) or an ordinary Float32Array',
          'options.out',
        );
    }
    const temps: number[] = [];
    let staged = false;
    try {
      // 2. Blocks for arrays outside wasm memory (one per distinct array), then scratch:
      //    from the staging block when everything fits, else from the arena.
      let need = 0;
      for (let i = 0; i < n; i++) if (ptrs[i] === -1) need += align16(args[i]!.a.byteLength);
      for (const bytes of scratch) need += align16(bytes);
      staged = !this.#stagingBusy && need <= STAGING_BYTES;
      let next = this.#staging;
      const take = (bytes: number): number => {
        if (!staged) {
          const p = this.arena.alloc(bytes);
          temps.push(p);
          return p;
        }
        const p = next;
        next += align16(bytes);
        return p;
      };
      if (staged) this.#stagingBusy = true;
      for (let i = 0; i < n; i++) {
        if (ptrs[i] !== -1) continue;
        const a = args[i]!.a;
        let first = 0;
        while (args[first]!.a !== a) first++;
        ptrs[i] = first < i ? ptrs[first]! : take(a.byteLength);
      }
      for (const bytes of scratch) ptrs.push(take(bytes));
      // 3. Copy in, run, copy out through views taken after any growth.
      let heap = this.#heap();
      for (let i = 0; i < n; i++) {
        const { a, io } = args[i]!;
        if (io !== 'out' && a.buffer !== before) copyIn(heap, a, ptrs[i]!);
      }
      const result = kernel(ptrs);
      heap = this.#heap();
      for (let i = 0; i < n; i++) {
        const { a, io } = args[i]!;
        if (io !== 'in' && a.buffer !== before) copyOut(heap, a, ptrs[i]!);
      }
      return result;
    } finally {
      if (staged) this.#stagingBusy = false;
      for (let i = temps.length - 1; i >= 0; i--) this.arena.free(temps[i]!); // last in, first out: frees coalesce in place
    }
  }

  /** Whether [start, start + bytes) lies inside one live alloc() block. */
  #owns(start: number, bytes: number): boolean {
    for (const [p, size] of this.#owned) if (start >= p && start + bytes <= p + size) return true;
    return false;
  }

  /** Views of the whole memory, re-made only after growth (one per call would cost more than a small kernel). */
  #heap(): HeapViews {
    const buffer = this.memory.buffer;
    let v = this.#views;
    if (v === null || v.buffer !== buffer) v = this.#views = { buffer, u8: new Uint8Array(buffer), f32: new Float32Array(buffer), i32: new Int32Array(buffer) };
    return v;
  }

  logsumexp(x: Float32Array, rows: number, classes: number, temperature: number, out: Float32Array): void {
    this.run([{ a: x, io: 'in' }, { a: out, io: 'out' }], [], ([px, po]) =>
      this.rowParallel('logsumexp', rows, rows * classes, (b, e) => [px! + b * classes * 4, e - b, classes, temperature, po! + b * 4], rowGrain(classes)),
    );
  }

  softmax(x: Float32Array, rows: number, classes: number, temperature: number, out: Float32Array): void {
    this.run([{ a: x, io: 'in' }, { a: out, io: 'out' }], [], ([px, po]) =>
      this.rowParallel('softmax', rows, rows * classes, (b, e) => [px! + b * classes * 4, e - b, classes, temperature, po! + b * classes * 4], rowGrain(classes)),
    );
  }

  logSoftmax(x: Float32Array, rows: number, classes: number, temperature: number, out: Float32Array): void {
    this.run([{ a: x, io: 'in' }, { a: out, io: 'out' }], [], ([px, po]) =>
      this.rowParallel('logSoftmax', rows, rows * classes, (b, e) => [px! + b * classes * 4, e - b, classes, temperature, po! + b * classes * 4], rowGrain(classes)),
    );
  }

  sigmoid(x: Float32Array, out: Float32Array): void {
    // Elementwise: one "row" per element; blocks stay multiples of ROW_GRAIN, a whole number of vectors.
    this.run([{ a: x, io: 'in' }, { a: out, io: 'out' }], [], ([px, po]) =>
      this.rowParallel('sigmoid', x.length, x.length, (b, e) => [px! + b * 4, e - b, po! + b * 4]),
    );
  }

  logSigmoid(x: Float32Array, out: Float32Array): void {
    this.run([{ a: x, io: 'in' }, { a: out, io: 'out' }], [], ([px, po]) =>
      this.rowParallel('logSigmoid', x.length, x.length, (b, e) => [px! + b * 4, e - b, po! + b * 4]),
    );
  }

  argmax(x: Float32Array, rows: number, classes: number, out: Int32Array): void {
    this.run([{ a: x, io: 'in' }, { a: out, io: 'out' }], [], ([px, po]) =>
      this.rowParallel('argmax', rows, rows * classes, (b, e) => [px! + b * classes * 4, e - b, classes, po! + b * 4], rowGrain(classes)),
    );
  }

  topk(x: Float32Array, rows: number, classes: number, k: number, values: Float32Array, indices: Int32Array): void {
    this.run(
      [{ a: x, io: 'in' }, { a: values, io: 'out' }, { a: indices, io: 'out' }],
      [],
      ([px, pv, pi]) =>
        this.rowParallel('topk', rows, rows * classes, (b, e) => [px! + b * classes * 4, e - b, classes, k, pv! + b * k * 4, pi! + b * k * 4], rowGrain(classes)),
    );
  }

  crossEntropy(x: Float32Array, rows: number, classes: number, t: CrossEntropyTarget, reduction: Reduction, out: Float32Array | null): number {
    return loss.crossEntropy(this, x, rows, classes, t, reduction, out);
  }

  crossEntropyWithGrad(x: Float32Array, rows: number, classes: number, t: CrossEntropyTarget, reduction: 'sum' | 'mean', grad: Float32Array): number {
    return loss.crossEntropyWithGrad(this, x, rows, classes, t, reduction, grad);
  }

  bceWithLogits(x: Float32Array, target: Float32Array, a: BceArgs, reduction: Reduction, out: Float32Array | null): number {
    return loss.bceWithLogits(this, x, target, a, reduction, out);
  }

  entropy(x: Float32Array, rows: number, classes: number, out: Float32Array): void {
    loss.entropy(this, x, rows, classes, out);
  }

  klDiv(p: Float32Array, q: Float32Array, rows: number, classes: number, out: Float32Array): number {
    return loss.klDiv(this, p, q, rows, classes, out);
  }

  adjustLogits(x: Float32Array, rows: number, classes: number, a: AdjustArgs, out: Float32Array): void {
    const args: Arg[] = [{ a: x, io: 'in' }, { a: out, io: 'out' }];
    // Parameters that already live in wasm memory are used in place, like any other array.
    const params = [a.scale, a.bias, a.matrix];
    for (const p of params) if (p !== null) args.push({ a: p, io: 'in' });
    this.run(args, [], (ptrs) => {
      let at = 2;
      const [ps, pb, pm] = params.map((p) => (p === null ? 0 : ptrs[at++]!));
      const [px, po] = ptrs;
      this.rowParallel(
        'adjustLogits',
        rows,
        rows * classes * (a.matrix === null ? 1 : classes),
        (b, e) => [px! + b * classes * 4, e - b, classes, a.temperature, ps!, pb!, pm!, po! + b * classes * 4],
        rowGrain(classes),
      );
    });
  }

  filterLogits(x: Float32Array, rows: number, classes: number, o: FilterOptions, out: Float32Array): number {
    return gen.filterLogits(this, x, rows, classes, o, out);
  }

  sample(x: Float32Array, rows: number, classes: number, o: FilterOptions, uniforms: Float64Array, out: Int32Array): number {
    return gen.sample(this, x, rows, classes, o, uniforms, out);
  }

  /**
   * Half-precision bits are copied in as they are (2 bytes each) and widened
   * inside wasm; the float32 result stays in wasm memory as a zero-copy input
   * for the op that follows, and is freed when that op ends.
   */
  narrowHalf(x: Float32Array, dtype: 'float16' | 'bfloat16', out: Uint16Array): void {
    this.run([{ a: x, io: 'in' }, { a: out, io: 'out' }], [], ([px, po]) => this.k.narrowToHalf!(px!, x.length, po!, dtype === 'bfloat16' ? 1 : 0));
  }

  widenHalf(bits: Uint16Array, dtype: 'float16' | 'bfloat16'): Float32Array {
    const buf = this.alloc(bits.length, 'float32');
    try {
      const kernel = dtype === 'float16' ? this.k.widenFloat16! : this.k.widenBfloat16!;
      // The destination's offset is read inside the callback: copying the bits in may grow memory.
      this.run([{ a: bits, io: 'in' }], [], ([pb]) => kernel(pb!, bits.length, buf.array.byteOffset));
    } catch (e) {
      buf.free();
      throw e;
    }
    const view = buf.array;
    registerWidened(view, () => buf.free());
    return view;
  }

  alloc<T extends BufferType>(length: number, type: T): LkBuffer<T> {
    const Ctor = typedArrayCtor(type);
    const bytes = length * Ctor.BYTES_PER_ELEMENT;
    let ptr: number | null = this.arena.alloc(bytes);
    this.#owned.set(ptr, bytes);
    let view: ArrayOf<T> | null = null;
    const memory = this.memory;
    const arena = this.arena;
    const owned = this.#owned;
    return {
      [BUFFER_TAG]: true,
      type,
      length,
      get array(): ArrayOf<T> {
        if (ptr === null) fail('invalid_argument', 'this buffer was freed', 'buffer');
        if (view === null || view.buffer !== memory.buffer) view = new Ctor(memory.buffer, ptr, length) as ArrayOf<T>;
        return view;
      },
      get freed() {
        return ptr === null;
      },
      free() {
        if (ptr !== null) {
          owned.delete(ptr);
          arena.free(ptr);
        }
        ptr = null;
        view = null;
      },
    } as LkBuffer<T>;
  }

  memoryStats(): { wasmBytes: number; inUse: number } {
    return { wasmBytes: this.memory.buffer.byteLength, inUse: this.arena.inUse - STAGING_BYTES };
  }

  dispose(): void {
    // Memory is garbage-collected with the instance; the workers must be ended.
    this.#pool?.dispose();
  }
}

/**
 * Chunks per thread in a parallel call: threads claim chunks until none are
 * left, so a thread that starts late (or runs on a busy core) leaves its share
 * to the others; more chunks balance better, each costs a claim and a call.
 */
const CHUNKS_PER_THREAD = 4;

/**
 * The pool job for `args`, whose values must be affine in (begin, end), as
 * pointer + begin·rowBytes, end − begin and constants are: probed at three
 * points and checked at a fourth. Null (run on one thread) when they are not,
 * or when there is no kernel index or too many arguments.
 */
function affineJob(fn: number | undefined, rows: number, chunks: number, grain: number, args: (begin: number, end: number) => number[]): Job | null {
  if (fn === undefined) return null;
  const chunkRows = Math.ceil(rows / chunks / grain) * grain;
  const base = args(0, 0);
  const atBegin = args(1, 0);
  const atEnd = args(0, 1);
  const n = base.length;
  if (n > MAX_ARGS) return null;
  const perBegin: number[] = [];
  const perEnd: number[] = [];
  for (let j = 0; j < n; j++) {
    const constant = atBegin[j] === base[j] && atEnd[j] === base[j]; // also for ±Infinity and NaN-free scalars
    perBegin.push(constant ? 0 : atBegin[j]! - base[j]!);
    perEnd.push(constant ? 0 : atEnd[j]! - base[j]!);
  }
  const check = args(chunkRows, rows);
  for (let j = 0; j < n; j++) {
    const predicted = perBegin[j] === 0 && perEnd[j] === 0 ? base[j]! : base[j]! + perBegin[j]! * chunkRows + perEnd[j]! * rows;
    if (!Object.is(predicted, check[j]) && !(Number.isNaN(predicted) && Number.isNaN(check[j]))) return null;
  }
  return { fn, rows, chunkRows, chunks: Math.ceil(rows / chunkRows), base, perBegin, perEnd };
}

/** How many threads a call of `rows` rows touching `work` elements is split across. */
export function splitCount(rows: number, work: number, threads: number, grain = ROW_GRAIN): number {
  return Math.max(1, Math.min(threads, Math.floor(work / PARALLEL_MIN_WORK), Math.ceil(rows / grain)));
}

interface HeapViews {
  buffer: ArrayBufferLike;
  u8: Uint8Array;
  f32: Float32Array;
  i32: Int32Array;
}

// Same-type TypedArray.set is a plain memcpy (NaN payloads survive); arena blocks are 16-byte aligned.
function copyIn(heap: HeapViews, a: Typed, ptr: number): void {
  if (a instanceof Float32Array) heap.f32.set(a, ptr >>> 2);
  else if (a instanceof Int32Array) heap.i32.set(a, ptr >>> 2);
  else heap.u8.set(bytesOf(a), ptr);
}

function copyOut(heap: HeapViews, a: Typed, ptr: number): void {
  if (a instanceof Float32Array) a.set(heap.f32.subarray(ptr >>> 2, (ptr >>> 2) + a.length));
  else if (a instanceof Int32Array) a.set(heap.i32.subarray(ptr >>> 2, (ptr >>> 2) + a.length));
  else bytesOf(a).set(heap.u8.subarray(ptr, ptr + a.byteLength));
}

function bytesOf(a: Typed): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}
