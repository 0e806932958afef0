/**
 * The wasm runtime every op family uses: one instance, its memory and arena, the staging block,
 * copy-in/out for plain arrays, the zero-copy path for arrays that already live in wasm memory,
 * and the thread pool. Ops call exports by name with named arguments (`call`), as declared in
 * abi.ts; nothing here knows what a kernel computes.
 *
 * A call classifies its arrays first (already in wasm memory → use the bytes
 * where they are; elsewhere → copy into an arena block), only then allocates
 * (allocation may grow memory, which detaches every view, including the
 * caller's), runs the kernel, copies results out through fresh views, and
 * frees its blocks whatever happens.
 *
 * Row kernels (abi.ts declares how each array walks with the rows) split their rows two ways,
 * both on multiples of the kernel's grain so every row goes through exactly the code path it
 * takes in one whole call (the kernels handle short rows four at a time), which keeps results
 * bit-identical:
 * - across the thread pool (threads.ts) once a call is big enough to gain (PARALLEL_MIN_WORK);
 * - into cache-sized blocks when arrays must be copied (BLOCK_BYTES): a block is copied in, run
 *   and copied out while it is still in cache, instead of three passes over the whole arrays
 *   through main memory.
 */
import { instantiate, instantiateSync } from '@assemblyscript/loader';
import { ABI, KERNEL_NAMES, ROW_GRAIN, type CallArgs, type CallResult, type ExportDecl, type KernelName, type Io, type RawKernels, type RowKernelName, type Typed } from './abi.js';
import { Arena } from './arena.js';
import { overlapOnce } from './backend.js';
import { kernelImports } from './instantiate.js';
import { isNode, ThreadPool, type Job } from './threads.js';
import { MAX_ARGS } from './worker.js';
import { BUFFER_TAG, typedArrayCtor, type ArrayOf, type BufferType, type LkBuffer } from '../buffers.js';
import { fail } from '../errors.js';
import { DEFAULT_MEMORY_LIMIT } from '../limits.js';

export { ROW_GRAIN, rowGrain } from './abi.js';

/** One array taking part in a call. `io`: copy in before, copy out after, or both. */
export interface Arg {
  a: Typed;
  io: Io;
}

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
 * Chunks per thread in a parallel call: threads claim chunks until none are
 * left, so a thread that starts late (or runs on a busy core) leaves its share
 * to the others; more chunks balance better, each costs a claim and a call.
 */
const CHUNKS_PER_THREAD = 4;

/** How many threads a call of `rows` rows touching `work` elements is split across. */
export function splitCount(rows: number, work: number, threads: number, grain = ROW_GRAIN): number {
  return Math.max(1, Math.min(threads, Math.floor(work / PARALLEL_MIN_WORK), Math.ceil(rows / grain)));
}

/**
 * Bytes of copied row arrays (in and out together) per block; calls that copy less than two
 * blocks go whole. See #blockPlan() for the measurements.
 */
export const BLOCK_BYTES = 256 * 1024;

/**
 * Bytes of the staging block, kept for the copies and temporaries of calls that fit in it: taking
 * and returning arena blocks costs more than a 1×32 kernel. One copy block: every call that copies
 * less than a block (256×32 softmax: 64 KiB) runs on the fast path (#small), and a blocked call's
 * per-block stand-ins fit in it too.
 */
export const STAGING_BYTES = BLOCK_BYTES;

interface HeapViews {
  buffer: ArrayBufferLike;
  u8: Uint8Array;
  f32: Float32Array;
  i32: Int32Array;
}

/** A parameter's place in the positional argument list. */
interface Slot {
  name: string;
  kind: string;
  io: Io;
  perRow: ((a: Readonly<Record<string, unknown>>) => number) | undefined;
}
/** Row kernels: 1 at the row count's position (part [b, e) gets e − b rows), else 0. */
const PER_END = new Map<string, readonly number[]>(
  KERNEL_NAMES.map((n) => [n, Object.values((ABI[n] as ExportDecl).params).map((p) => (p.kind === 'rows' ? 1 : 0))]),
);
/** Each export's parameters in order, computed once. */
const SLOTS = new Map<string, Slot[]>(
  KERNEL_NAMES.map((n) => [
    n,
    Object.entries((ABI[n] as ExportDecl).params).map(([name, p]) => ({
      name,
      kind: p.kind,
      io: p.kind === 'ptr' ? p.io : 'in',
      perRow: p.kind === 'ptr' ? p.perRow : undefined,
    })),
  ]),
);

/**
 * An export's declaration and parameter slots: one lookup per call. `args`: the positional
 * arguments of a fast-path call (#small), reused from call to call (calls never nest; the staging
 * flag keeps a nested one off the fast path).
 */
interface Plan {
  decl: ExportDecl;
  slots: Slot[];
  args: number[];
}
const PLANS = new Map<string, Plan>(KERNEL_NAMES.map((n) => [n, { decl: ABI[n] as ExportDecl, slots: SLOTS.get(n)!, args: SLOTS.get(n)!.map(() => 0) }]));

const EMPTY_U8 = new Uint8Array(0);

/**
 * fn(...args) without the spread: a spread call goes through the engine's generic argument
 * adaptor, a fixed-arity call does not (every export takes 3 to 14 arguments).
 */
function invoke(fn: (...args: number[]) => unknown, a: number[]): unknown {
  switch (a.length) {
    case 3: return fn(a[0]!, a[1]!, a[2]!);
    case 4: return fn(a[0]!, a[1]!, a[2]!, a[3]!);
    case 5: return fn(a[0]!, a[1]!, a[2]!, a[3]!, a[4]!);
    case 6: return fn(a[0]!, a[1]!, a[2]!, a[3]!, a[4]!, a[5]!);
    case 7: return fn(a[0]!, a[1]!, a[2]!, a[3]!, a[4]!, a[5]!, a[6]!);
    case 8: return fn(a[0]!, a[1]!, a[2]!, a[3]!, a[4]!, a[5]!, a[6]!, a[7]!);
    case 9: return fn(a[0]!, a[1]!, a[2]!, a[3]!, a[4]!, a[5]!, a[6]!, a[7]!, a[8]!);
    case 10: return fn(a[0]!, a[1]!, a[2]!, a[3]!, a[4]!, a[5]!, a[6]!, a[7]!, a[8]!, a[9]!);
    case 11: return fn(a[0]!, a[1]!, a[2]!, a[3]!, a[4]!, a[5]!, a[6]!, a[7]!, a[8]!, a[9]!, a[10]!);
    case 12: return fn(a[0]!, a[1]!, a[2]!, a[3]!, a[4]!, a[5]!, a[6]!, a[7]!, a[8]!, a[9]!, a[10]!, a[11]!);
    case 13: return fn(a[0]!, a[1]!, a[2]!, a[3]!, a[4]!, a[5]!, a[6]!, a[7]!, a[8]!, a[9]!, a[10]!, a[11]!, a[12]!);
    case 14: return fn(a[0]!, a[1]!, a[2]!, a[3]!, a[4]!, a[5]!, a[6]!, a[7]!, a[8]!, a[9]!, a[10]!, a[11]!, a[12]!, a[13]!);
    default: return fn(...a);
  }
}

export interface RuntimeOptions {
  memoryLimit?: number;
  /** Threads for large row-wise calls; > 1 needs the shared-memory build. Default 1. */
  threads?: number;
  /**
   * Runs on the new runtime (one thread, no pool yet) while the pool's workers start, and is
   * awaited before createRuntime returns: the engine's warm-up, which used to run after the workers
   * were ready and add its ≈ 40 ms to init({ threads }) (Node 20, this repo's VM).
   */
  whileStarting?: (rt: WasmRuntime) => Promise<void> | void;
}

/**
 * Instantiates `module` through @assemblyscript/loader over a fresh memory (shared when threads
 * are asked for and the build imports a shared one) and starts the pool the build allows. The
 * imports come from kernelImports (instantiate.ts), as in every worker.
 */
export async function createRuntime(module: WebAssembly.Module, options: RuntimeOptions = {}): Promise<WasmRuntime> {
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
      // Node: the loader's synchronous path. Its async one asks `source instanceof Response` first,
      // and reading globalThis.Response makes Node load undici (≈ 20 ms of every command's start);
      // browsers keep the async path (a main thread may refuse synchronous instantiation).
      instance = isNode ? instantiateSync(module, kernelImports(module, memory)).instance : (await instantiate(module, kernelImports(module, memory))).instance;
      firstError = null;
      break;
    } catch (e) {
      firstError ??= e;
    }
  }
  if (firstError !== null) throw firstError;
  const exports = instance.exports as unknown as RawKernels;
  const bits = typeof exports.buildFeatures === 'function' ? (exports.buildFeatures() as number) : 0;
  const threads = options.threads ?? 1;
  const wantPool = threads > 1 && (bits & BUILD_THREADS) !== 0;
  // The workers are created (and sent the module) before whileStarting takes this thread: creating
  // them waits for a turn of the event loop, which a synchronous warm-up would otherwise hold back,
  // so they booted after it instead of beside it.
  const spawning = wantPool ? ThreadPool.spawn(threads - 1) : null;
  const starting = spawning ? spawning.then((workers) => ThreadPool.start(module, memory, workers, KERNEL_NAMES)) : null;
  // handled here so that a failure while whileStarting runs is not an unhandled rejection; the
  // await below still throws it
  starting?.catch(() => {});
  if (spawning && options.whileStarting) await spawning.catch(() => {});
  const rt = new WasmRuntime(exports, memory, limit, null, (bits & BUILD_RELAXED_SIMD) !== 0);
  if (options.whileStarting) {
    try {
      await options.whileStarting(rt);
    } catch (e) {
      starting?.then((pool) => pool.dispose(), () => {});
      throw e;
    }
  }
  if (starting) rt.attachPool(await starting);
  return rt;
}

export class WasmRuntime {
  readonly memory: WebAssembly.Memory;
  readonly arena: Arena;
  readonly relaxedSimd: boolean;
  readonly #k: RawKernels;
  #pool: ThreadPool | null;
  #views: HeapViews | null = null;
  /** arena.growth when #views was taken: only the arena grows memory, so equal means current. */
  #viewsGrowth = -1;
  /**
   * A block kept for the temporaries of small calls: taking and returning arena
   * blocks costs more than a 1×32 kernel, so calls that fit here skip the arena.
   * Calls never nest, but the flag keeps a nested one (if ever) on the arena.
   */
  readonly #staging: number;
  #stagingBusy = false;
  /** The fast path's copied arrays, their staging offsets and directions, reused from call to call. */
  readonly #copied: Typed[] = [];
  readonly #copiedAt: number[] = [];
  readonly #copiedIo: Io[] = [];
  /** Calls that were split across threads (for tests and diagnostics). */
  parallelCalls = 0;
  /** Calls that ran in copied blocks (for tests and diagnostics). */
  blockedCalls = 0;
  /** Block size of copied row-kernel calls (BLOCK_BYTES); 0 copies whole arrays. Tests and measurements set it. */
  blockBytes = BLOCK_BYTES;
  /** Parts run on the pool (counts splits inside blocked calls too). */
  #splits = 0;
  /** overlap()'s JavaScript, until a pool job takes it (#meanwhile) or overlap() runs it itself. */
  #pending: (() => void) | null = null;
  /** Pool jobs that ran an overlap()'s JavaScript beside their chunks (for tests and diagnostics). */
  overlappedCalls = 0;
  /**
   * Live blocks handed out by alloc(), start → bytes: the only wasm memory a
   * call may write as a zero-copy output. Any other view of the memory (static
   * data, the arena's free space, temporaries) is refused, never written.
   */
  readonly #owned = new Map<number, number>();

  constructor(exports: RawKernels, memory: WebAssembly.Memory, limit: number, pool: ThreadPool | null = null, relaxedSimd = false) {
    this.#k = exports;
    this.memory = memory;
    this.arena = new Arena(memory, exports.heapBase() as number, limit);
    this.#staging = this.arena.alloc(STAGING_BYTES);
    this.#pool = pool;
    this.relaxedSimd = relaxedSimd;
  }

  /** Gives the runtime its pool once the workers are ready (createRuntime, after whileStarting). */
  attachPool(pool: ThreadPool): void {
    if (this.#pool !== null) throw new Error('the runtime has a pool already');
    this.#pool = pool;
  }

  /** First byte of the arena (static data lies below). */
  get heapBase(): number {
    return this.#k.heapBase() as number;
  }

  /** Threads the pool has (1 without one). */
  get poolSize(): number {
    return this.#pool?.size ?? 1;
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
   * Runs `ops` (calls of this runtime) and `meanwhile` (JavaScript) overlapped: the first pool job
   * inside `ops` runs `meanwhile` on this thread while the workers start on its chunks (pool.run),
   * so work that would keep this thread busy alone shares the time the threads compute. Without a
   * job (one thread, calls too small to split) `meanwhile` runs after `ops`. It runs exactly once,
   * also when `ops` throws; `ops` always finishes, and an error of `ops` goes before one of
   * `meanwhile`. Inside `meanwhile`, calls run on this thread (the pool is busy).
   */
  overlap<T>(meanwhile: () => void, ops: () => T): T {
    // An overlap inside another's ops (before its job took its JavaScript) runs its own after its ops.
    if (this.#pending !== null) return overlapOnce(meanwhile, () => ops());
    return overlapOnce(meanwhile, (once) => {
      this.#pending = once;
      try {
        return ops();
      } finally {
        this.#pending = null;
      }
    });
  }

  /** overlap()'s pending JavaScript for a pool job about to start (null when there is none); taken once. */
  #meanwhile(): (() => void) | null {
    const f = this.#pending;
    if (f !== null) {
      this.#pending = null;
      this.overlappedCalls++;
    }
    return f;
  }

  /**
   * Calls export `name` with named arguments (abi.ts): typed arrays for pointer parameters go
   * through run() (copied unless they live in wasm memory; null passes 0), `scratch` parameters
   * get a temporary block of that many bytes. Row kernels split across the pool when big enough,
   * and into cache-sized blocks when they copy a lot.
   */
  call<N extends KernelName>(name: N, args: CallArgs<N>): CallResult<N> {
    const a = args as unknown as Readonly<Record<string, unknown>>;
    const plan = PLANS.get(name)!;
    const slots = plan.slots;
    if (plan.decl.grain !== undefined) return this.#rowCall(name as RowKernelName, plan, a) as CallResult<N>;
    const arrays: Arg[] = [];
    const scratch: number[] = [];
    for (const s of slots) {
      if (s.kind === 'ptr' && a[s.name] !== null) arrays.push({ a: a[s.name] as Typed, io: s.io });
      else if (s.kind === 'scratch') scratch.push(a[s.name] as number);
    }
    const fn = this.#k[name];
    return this.run(arrays, scratch, (ptrs) => {
      let at = 0;
      let sc = arrays.length;
      const values = slots.map((s) => {
        if (s.kind === 'ptr') return a[s.name] === null ? 0 : ptrs[at++]!;
        if (s.kind === 'scratch') return ptrs[sc++]!;
        return scalar(a[s.name]);
      });
      return fn(...values);
    }) as CallResult<N>;
  }

  /**
   * A row kernel: arguments for rows [begin, end) are base + perBegin·begin + perEnd·end
   * (pointers advance by their declared bytes per row, the row count is end − begin), which is
   * both the single-thread call and the thread-pool job.
   */
  #rowCall(name: RowKernelName, plan: Plan, a: Readonly<Record<string, unknown>>): number | undefined {
    const slots = plan.slots;
    const decl = plan.decl;
    if (!this.#stagingBusy && this.#small(name, plan, a)) return undefined;
    // One pass over the parameters (this is every row-wise call's overhead, 1×32 softmax included).
    const n = slots.length;
    const base = new Array<number>(n);
    const perBegin = new Array<number>(n);
    const which = new Array<number>(n);
    const arrays: Arg[] = [];
    let rows = 0;
    for (let j = 0; j < n; j++) {
      const s = slots[j]!;
      which[j] = -1;
      base[j] = 0;
      perBegin[j] = 0;
      if (s.kind === 'ptr') {
        const v = a[s.name] as Typed | null;
        if (v === null) continue;
        let i = 0;
        while (i < arrays.length && arrays[i]!.a !== v) i++;
        if (i === arrays.length) arrays.push({ a: v, io: s.io });
        else if (arrays[i]!.io !== s.io) arrays[i]!.io = 'inout';
        which[j] = i;
        perBegin[j] = s.perRow!(a);
      } else if (s.kind === 'rows') {
        rows = a[s.name] as number;
        perBegin[j] = -1;
      } else base[j] = scalar(a[s.name]);
    }
    const stride = perBegin;
    const perEnd = PER_END.get(name)! as number[];
    const work = decl.work ? decl.work(a) : rows * (a.classes as number);
    const grain = decl.grain!(a);
    const blocks = this.#blockPlan(arrays, which, stride, rows, work, grain);
    const splits = this.#splits;
    try {
      if (blocks !== null) {
        this.blockedCalls++;
        this.#runBlocked(name, arrays, which, stride, base, perBegin, perEnd, rows, work, grain, blocks);
      } else {
        this.run(arrays, [], (ptrs) => {
          for (let j = 0; j < slots.length; j++) if (which[j]! >= 0) base[j] = ptrs[which[j]!]!;
          this.#rows(name, base, perBegin, perEnd, rows, work, grain);
        });
      }
    } finally {
      if (this.#splits !== splits) this.parallelCalls++;
    }
    return undefined;
  }

  /**
   * The per-call cost of small calls is most of their time (a 1×32 softmax's kernel takes about
   * a microsecond), so a call whose copies fit the staging block (one copy block, STAGING_BYTES)
   * and that would not split across threads goes straight: arguments in one pass into arrays
   * reused from call to call, copies through the staging block, one kernel call without spread,
   * no block plan, no temporaries, no closure. The same classification as run(): zero-copy arrays
   * stay where they are (outputs only inside alloc() blocks), the same array twice gets one copy.
   * False: not small, nothing done.
   */
  #small(name: RowKernelName, plan: Plan, a: Readonly<Record<string, unknown>>): boolean {
    const slots = plan.slots;
    const n = slots.length;
    const args = plan.args;
    const copied = this.#copied;
    const copiedAt = this.#copiedAt;
    const copiedIo = this.#copiedIo;
    let heap = this.#heap();
    const before = heap.buffer;
    const staging = this.#staging;
    // A call that would go by blocks (copies ≥ two blocks, #blockPlan) is never small.
    const limit = staging + (this.blockBytes > 0 ? Math.min(STAGING_BYTES, 2 * this.blockBytes - 1) : STAGING_BYTES);
    let next = staging;
    let nc = 0;
    for (let j = 0; j < n; j++) {
      const s = slots[j]!;
      const v = a[s.name];
      if (s.kind !== 'ptr') {
        args[j] = typeof v === 'boolean' ? (v ? 1 : 0) : (v as number);
        continue;
      }
      if (v === null) {
        args[j] = 0;
        continue;
      }
      const t = v as Typed;
      if (t.buffer === before) {
        if (s.io !== 'in' && !this.#owns(t.byteOffset, t.byteLength)) {
          this.#forgetCopied(nc);
          return this.#refuse(t);
        }
        args[j] = t.byteOffset;
        continue;
      }
      let k = 0;
      while (k < nc && copied[k] !== t) k++;
      if (k === nc) {
        const bytes = align16(t.byteLength);
        if (next + bytes > limit) return this.#forgetCopied(nc);
        copied[k] = t;
        copiedAt[k] = next;
        copiedIo[k] = s.io;
        next += bytes;
        nc++;
      } else if (copiedIo[k] !== s.io) copiedIo[k] = 'inout';
      args[j] = copiedAt[k]!;
    }
    if (this.#pool !== null) {
      // The threads build: small only if the call would not split anyway.
      const decl = plan.decl;
      let rows = 0;
      for (let j = 0; j < n; j++) if (slots[j]!.kind === 'rows') rows = args[j]!;
      const work = decl.work ? decl.work(a) : rows * (a.classes as number);
      if (this.#pool.usable && splitCount(rows, work, this.#pool.size, decl.grain!(a)) > 1) return this.#forgetCopied(nc);
    }
    this.#stagingBusy = true;
    try {
      for (let k = 0; k < nc; k++) if (copiedIo[k] !== 'out') copyIn(heap, copied[k]!, copiedAt[k]!);
      invoke(this.#k[name], args);
      heap = this.#heap();
      for (let k = 0; k < nc; k++) if (copiedIo[k] !== 'in') copyOut(heap, copied[k]!, copiedAt[k]!);
    } finally {
      this.#stagingBusy = false;
      this.#forgetCopied(nc);
    }
    return true;
  }

  /** Drops the fast path's references to the caller's first n arrays (none is held past a call); false. */
  #forgetCopied(n: number): false {
    for (let i = 0; i < n; i++) this.#copied[i] = EMPTY_U8;
    return false;
  }

  #refuse(a: Typed): never {
    fail(
      'invalid_argument',
      `an output array is a view of this engine's wasm memory (bytes ${a.byteOffset}–${a.byteOffset + a.byteLength}) that alloc() did not hand out; ` +
        'pass a buffer from lk.alloc() (or its .array) or an ordinary Float32Array',
      'options.out',
    );
  }

  /**
   * Chunk kernel `name` (its `begin` and `end` parameters name rows of a block, one chunk a call) over
   * rows [0, rows) in fixed chunks of `chunkRows`, then export `finish` once, both with named
   * arguments as call() takes them; arrays passed to both (by identity) and scratch parameters of the
   * same name share one block. The chunks run on the pool (any thread claims any chunk) when there
   * are two or more and `work` (elements) is worth a split, else one after another here: the
   * chunking never depends on the thread count, so a kernel that keeps per-chunk partial sums and a
   * `finish` that adds them in chunk order give the same bits with any number of threads.
   */
  chunked<N extends KernelName, F extends KernelName>(name: N, args: CallArgs<N>, rows: number, chunkRows: number, work: number, finish: F, finishArgs: CallArgs<F>): CallResult<F> {
    const calls = [
      { slots: SLOTS.get(name)!, a: args as unknown as Readonly<Record<string, unknown>> },
      { slots: SLOTS.get(finish)!, a: finishArgs as unknown as Readonly<Record<string, unknown>> },
    ];
    const arrays: Arg[] = [];
    const scratchNames: string[] = [];
    const scratch: number[] = [];
    for (const { slots, a } of calls)
      for (const s of slots) {
        const v = a[s.name];
        if (s.kind === 'scratch') {
          const i = scratchNames.indexOf(s.name);
          if (i < 0) {
            scratchNames.push(s.name);
            scratch.push(v as number);
          } else scratch[i] = Math.max(scratch[i]!, v as number);
        } else if (s.kind === 'ptr' && v !== null) {
          const i = arrays.findIndex((x) => x.a === v);
          if (i < 0) arrays.push({ a: v as Typed, io: s.io });
          else if (arrays[i]!.io !== s.io) arrays[i]!.io = 'inout';
        }
      }
    const positional = (slots: Slot[], a: Readonly<Record<string, unknown>>, ptrs: number[]): number[] =>
      slots.map((s) => {
        const v = a[s.name];
        if (s.kind === 'scratch') return ptrs[arrays.length + scratchNames.indexOf(s.name)]!;
        if (s.kind === 'ptr') return v === null ? 0 : ptrs[arrays.findIndex((x) => x.a === v)]!;
        return scalar(v);
      });
    const chunks = Math.ceil(rows / chunkRows);
    return this.run(arrays, scratch, (ptrs) => {
      const fn = this.#k[name];
      const base = positional(calls[0]!.slots, calls[0]!.a, ptrs);
      const slots = calls[0]!.slots;
      const perBegin = slots.map((s) => (s.name === 'begin' ? 1 : 0));
      const perEnd = slots.map((s) => (s.name === 'end' ? 1 : 0));
      const bi = perBegin.indexOf(1);
      const ei = perEnd.indexOf(1);
      base[bi] = 0;
      base[ei] = 0;
      const pool = this.#pool;
      if (pool !== null && pool.usable && chunks > 1 && pool.size > 1 && work >= 2 * PARALLEL_MIN_WORK && base.length <= MAX_ARGS) {
        const job: Job = { fn: KERNEL_NAMES.indexOf(name), rows, chunkRows, chunks, base, perBegin, perEnd };
        this.#splits++;
        this.parallelCalls++;
        const local = base.slice();
        pool.run(
          job,
          (b, e) => {
            local[bi] = b;
            local[ei] = e;
            invoke(fn, local);
          },
          this.#meanwhile(),
        );
      } else {
        for (let b = 0; b < rows; b += chunkRows) {
          base[bi] = b;
          base[ei] = Math.min(rows, b + chunkRows);
          invoke(fn, base);
        }
      }
      return invoke(this.#k[finish], positional(calls[1]!.slots, calls[1]!.a, ptrs));
    }) as CallResult<F>;
  }

  /**
   * Row kernel `name` over rows [0, rows) with raw positional arguments: pointer j at
   * args[j] + perRow[j]·row, the row count replaced per part. No copies, no checks: for tests
   * and diagnostics of the split itself (a chunk that traps, say). Returns whether it split.
   */
  rowsRaw(name: RowKernelName, args: number[], perRow: number[], rows: number, grain = ROW_GRAIN): boolean {
    const slots = SLOTS.get(name)!;
    const perBegin = slots.map((s, j) => (s.kind === 'rows' ? -1 : perRow[j]!));
    const perEnd = slots.map((s) => (s.kind === 'rows' ? 1 : 0));
    const base = args.map((v, j) => (slots[j]!.kind === 'rows' ? 0 : v));
    const splits = this.#splits;
    try {
      this.#rows(name, base, perBegin, perEnd, rows, rows * (args[slots.findIndex((s) => s.name === 'classes')] ?? 1), grain);
    } finally {
      if (this.#splits !== splits) this.parallelCalls++;
    }
    return this.#splits !== splits;
  }

  /**
   * Runs rows [0, rows) of `name`: part [b, e) gets base + perBegin·b + perEnd·e, on the pool when
   * the call is big enough.
   */
  #rows(name: RowKernelName, base: number[], perBegin: number[], perEnd: number[], rows: number, work: number, grain: number): void {
    const fn = this.#k[name];
    const pool = this.#pool;
    if (pool === null) {
      // The common case, kept lean: rows [0, rows) in one call.
      for (let j = 0; j < base.length; j++) if (perEnd[j] !== 0) base[j] = base[j]! + perEnd[j]! * rows;
      fn(...base);
      return;
    }
    const parts = pool.usable ? splitCount(rows, work, pool.size, grain) : 1;
    const args = (b: number, e: number): number[] => {
      const v = base.slice();
      for (let j = 0; j < v.length; j++) if (perBegin[j] !== 0 || perEnd[j] !== 0) v[j] = v[j]! + perBegin[j]! * b + perEnd[j]! * e;
      return v;
    };
    if (parts <= 1 || base.length > MAX_ARGS) {
      fn(...args(0, rows));
      return;
    }
    const chunks = Math.min(Math.ceil(rows / grain), parts * CHUNKS_PER_THREAD);
    const chunkRows = Math.ceil(rows / chunks / grain) * grain;
    const job: Job = { fn: KERNEL_NAMES.indexOf(name), rows, chunkRows, chunks: Math.ceil(rows / chunkRows), base, perBegin, perEnd };
    this.#splits++;
    pool!.run(job, (b, e) => fn(...args(b, e)), this.#meanwhile());
  }

  /**
   * Rows per block when this call should run in copied blocks, else null. Blocks pay when the
   * copied arrays are big: the whole-array path streams every copied byte through main memory
   * three times (copy, kernel, copy). Measured (see the README's performance notes and
   * bench/run.js, plain arrays): softmax 4096×1000 …
   */
  #blockPlan(arrays: Arg[], which: number[], stride: number[], rows: number, work: number, grain: number): number | null {
    const blockBytes = this.blockBytes;
    if (blockBytes <= 0) return null;
    // Small calls leave here, before any `.buffer` (a getter that costs more than a 1×32 kernel).
    let bytes = 0;
    for (let i = 0; i < arrays.length; i++) bytes += arrays[i]!.a.byteLength;
    if (bytes < 2 * blockBytes) return null;
    const before = this.#heap().buffer;
    let copiedPerRow = 0;
    for (let i = 0; i < arrays.length; i++) {
      const x = arrays[i]!.a;
      if (x.buffer === before) continue;
      const j = which.indexOf(i);
      // A whole vector (weights) is copied once, not per block.
      let s = 0;
      for (let k = j; k < which.length; k++) if (which[k] === i) s = Math.max(s, stride[k]!);
      if (s === 0) continue;
      // Two different arrays over the same buffer may overlap: blocks would copy one's rows out
      // before the other's are copied in. The whole-array path keeps that case as it was.
      for (let o = 0; o < arrays.length; o++)
        if (o !== i && arrays[o]!.a.buffer === x.buffer && (arrays[o]!.io !== 'in' || arrays[i]!.io !== 'in')) return null;
      copiedPerRow += s;
    }
    if (copiedPerRow === 0 || copiedPerRow * rows < 2 * blockBytes) return null;
    let perBlock = Math.max(1, Math.floor(blockBytes / copiedPerRow / grain)) * grain;
    // A call the pool would split still splits, block by block: each block gets enough rows and
    // work for every thread to take a part (PARALLEL_MIN_WORK each, whole grains).
    const pool = this.#pool;
    const parts = pool !== null && pool.usable ? splitCount(rows, work, pool.size, grain) : 1;
    if (parts > 1) {
      const workPerRow = work / rows;
      perBlock = Math.max(perBlock * parts, Math.ceil((parts * PARALLEL_MIN_WORK) / workPerRow / grain) * grain, parts * grain);
    }
    return perBlock >= rows ? null : perBlock;
  }

  #runBlocked(
    name: RowKernelName,
    arrays: Arg[],
    which: number[],
    stride: number[],
    base: number[],
    perBegin: number[],
    perEnd: number[],
    rows: number,
    work: number,
    grain: number,
    blockRows: number,
  ): void {
    // Per distinct array: its stride (bytes per row; 0 for whole vectors) and whether it goes by blocks.
    const rowBytes = arrays.map((_, i) => {
      let s = 0;
      for (let j = 0; j < which.length; j++) if (which[j] === i) s = Math.max(s, stride[j]!);
      return s;
    });
    const before = this.#heap().buffer;
    const byBlock = arrays.map((x, i) => x.a.buffer !== before && rowBytes[i]! > 0);
    // Blocked arrays get a block-sized stand-in; run() places everything else (zero-copy arrays
    // where they are, whole vectors copied once) and frees the stand-ins with its temporaries.
    const stand = arrays.map((x, i) => (byBlock[i] ? { a: new Uint8Array(0), io: 'in' as Io } : x));
    const scratch = arrays.flatMap((_, i) => (byBlock[i] ? [rowBytes[i]! * blockRows] : []));
    const blockWork = (n: number): number => (work / rows) * n;
    this.run(stand, scratch, (ptrs) => {
      let sc = arrays.length;
      const where = arrays.map((_, i) => (byBlock[i] ? ptrs[sc++]! : ptrs[i]!));
      const args = base.slice();
      for (let begin = 0; begin < rows; begin += blockRows) {
        const end = Math.min(rows, begin + blockRows);
        let heap = this.#heap();
        for (let i = 0; i < arrays.length; i++) {
          if (!byBlock[i] || arrays[i]!.io === 'out') continue;
          copyRowsIn(heap, arrays[i]!.a, where[i]!, begin * rowBytes[i]!, (end - begin) * rowBytes[i]!);
        }
        for (let j = 0; j < which.length; j++) {
          const i = which[j]!;
          if (i < 0) continue;
          // Block stand-ins start at the block's first row; other arrays advance to it.
          args[j] = byBlock[i] ? where[i]! : where[i]! + stride[j]! * begin;
        }
        this.#rows(name, args.slice(), perBegin, perEnd, end - begin, blockWork(end - begin), grain);
        heap = this.#heap();
        for (let i = 0; i < arrays.length; i++) {
          if (!byBlock[i] || arrays[i]!.io === 'in') continue;
          copyRowsOut(heap, arrays[i]!.a, where[i]!, begin * rowBytes[i]!, (end - begin) * rowBytes[i]!);
        }
      }
    });
  }

  /**
   * Runs `kernel(ptrs)` with every array of `args` in wasm memory, plus
   * `scratch` zeroed-or-not temporary blocks (byte sizes) appended to ptrs.
   * The same array passed twice (in-place) gets one block.
   */
  run<R>(args: Arg[], scratch: number[], kernel: (ptrs: number[]) => R): R {
    const before = this.#heap().buffer;
    const n = args.length;
    // 1. Classify before any allocation: a zero-copy view's offset is only
    //    readable while its buffer is still attached.
    const ptrs: number[] = [];
    for (let i = 0; i < n; i++) {
      const { a, io } = args[i]!;
      ptrs.push(a.buffer === before ? a.byteOffset : -1);
      if (io !== 'in' && a.buffer === before && !this.#owns(a.byteOffset, a.byteLength)) this.#refuse(a);
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

  /**
   * Views of the whole memory and the buffer they view, re-made only after the arena grew memory:
   * reading memory.buffer is itself a call into the engine, so calls compare arena.growth instead.
   */
  #heap(): HeapViews {
    let v = this.#views;
    if (v === null || this.#viewsGrowth !== this.arena.growth) {
      this.#viewsGrowth = this.arena.growth;
      const buffer = this.memory.buffer;
      v = this.#views = { buffer, u8: new Uint8Array(buffer), f32: new Float32Array(buffer), i32: new Int32Array(buffer) };
    }
    return v;
  }

  /**
   * The arrays of an op that makes several calls or allocations, re-taken on demand: an array in
   * wasm memory (a zero-copy buffer, an accumulator's state) is detached when memory grows, so it
   * is viewed again from the current buffer at the byte offset recorded now. Only the arena grows
   * memory, so while arena.growth is unchanged the arrays are returned as they are, with no read of
   * memory.buffer (a call into the engine: small calls pay for every one).
   */
  keep(arrays: readonly ArrayBufferView[]): () => readonly ArrayBufferView[] {
    const growth = this.arena.growth;
    const buffer = this.#heap().buffer;
    const at = arrays.map((a) => ({ a, wasm: a.buffer === buffer, offset: a.byteOffset, length: (a as Float32Array).length }));
    return () => {
      if (this.arena.growth === growth) return arrays;
      const now = this.#heap().buffer;
      return at.map(({ a, wasm, offset, length }) => {
        if (!wasm || a.buffer === now) return a;
        const View = a.constructor as new (b: ArrayBufferLike, o: number, n: number) => ArrayBufferView;
        return new View(now, offset, length);
      });
    };
  }

  alloc<T extends BufferType>(length: number, type: T, zeroed = false): LkBuffer<T> {
    const Ctor = typedArrayCtor(type);
    const bytes = length * Ctor.BYTES_PER_ELEMENT;
    let ptr: number | null = zeroed ? this.arena.allocZeroed(bytes) : this.arena.alloc(bytes);
    this.#owned.set(ptr, bytes);
    let view: ArrayOf<T> | null = null;
    const memory = this.memory;
    const arena = this.arena;
    const owned = this.#owned;
    let viewGrowth = -1;
    return {
      [BUFFER_TAG]: true,
      type,
      length,
      get array(): ArrayOf<T> {
        if (ptr === null) fail('invalid_argument', 'this buffer was freed', 'buffer');
        // Only the arena grows memory (which detaches views): no memory.buffer read per access.
        if (view === null || viewGrowth !== arena.growth) {
          viewGrowth = arena.growth;
          view = new Ctor(memory.buffer, ptr, length) as ArrayOf<T>;
        }
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

function scalar(v: unknown): number {
  return typeof v === 'boolean' ? (v ? 1 : 0) : (v as number);
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

/** Bytes [from, from + bytes) of `a` to `ptr`. */
function copyRowsIn(heap: HeapViews, a: Typed, ptr: number, from: number, bytes: number): void {
  if (a instanceof Float32Array) heap.f32.set(a.subarray(from >>> 2, (from + bytes) >>> 2), ptr >>> 2);
  else if (a instanceof Int32Array) heap.i32.set(a.subarray(from >>> 2, (from + bytes) >>> 2), ptr >>> 2);
  else heap.u8.set(new Uint8Array(a.buffer, a.byteOffset + from, bytes), ptr);
}

function copyRowsOut(heap: HeapViews, a: Typed, ptr: number, from: number, bytes: number): void {
  if (a instanceof Float32Array) a.set(heap.f32.subarray(ptr >>> 2, (ptr + bytes) >>> 2), from >>> 2);
  else if (a instanceof Int32Array) a.set(heap.i32.subarray(ptr >>> 2, (ptr + bytes) >>> 2), from >>> 2);
  else new Uint8Array(a.buffer, a.byteOffset + from, bytes).set(heap.u8.subarray(ptr, ptr + bytes));
}

function bytesOf(a: Typed): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}
