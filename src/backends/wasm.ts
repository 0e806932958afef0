/**
 * The wasm backend: instantiation, the memory arena, copy-in/out for plain
 * arrays and the zero-copy path for arrays that already live in wasm memory.
 *
 * A call classifies its arrays first (already in wasm memory → use the bytes
 * where they are; elsewhere → copy into an arena block), only then allocates
 * (allocation may grow memory, which detaches every view, including the
 * caller's), runs the kernel, copies results out through fresh views, and
 * frees its blocks whatever happens.
 */
import { instantiate } from '@assemblyscript/loader';
import type { Backend, BceArgs, CrossEntropyTarget, FilterOptions, Reduction } from './backend.js';
import { Arena } from './arena.js';
import { BUFFER_TAG, registerWidened, typedArrayCtor, type ArrayOf, type BufferType, type LkBuffer } from '../buffers.js';
import { fail } from '../errors.js';
import * as loss from './wasm-loss.js';
import * as gen from './wasm-sample.js';

type Kernel = (...args: number[]) => number | void;
export type KernelExports = Record<string, Kernel> & { heapBase(): number };

type Typed = Float32Array | Int32Array | Uint16Array | Uint8Array | Float64Array;

/** One array taking part in a call. `io`: copy in before, copy out after, or both. */
export interface Arg {
  a: Typed;
  io: 'in' | 'out' | 'inout';
}

export const DEFAULT_MEMORY_LIMIT = 2 ** 31; // 2 GiB
const MAX_PAGES = 65536;

export interface WasmBackendOptions {
  memoryLimit?: number;
}

export async function createWasmBackend(module: WebAssembly.Module, options: WasmBackendOptions = {}): Promise<WasmBackend> {
  const limit = Math.min(options.memoryLimit ?? DEFAULT_MEMORY_LIMIT, MAX_PAGES * 65536);
  const memory = new WebAssembly.Memory({ initial: 16, maximum: Math.floor(limit / 65536) });
  const { instance } = await instantiate(module, { env: { memory } });
  return new WasmBackend(instance.exports as unknown as KernelExports, memory, limit);
}

export class WasmBackend implements Backend {
  readonly name = 'wasm' as const;
  readonly k: KernelExports;
  readonly arena: Arena;
  readonly memory: WebAssembly.Memory;

  constructor(exports: KernelExports, memory: WebAssembly.Memory, limit: number) {
    this.k = exports;
    this.memory = memory;
    this.arena = new Arena(memory, exports.heapBase(), limit);
  }

  /**
   * Runs `kernel(ptrs)` with every array of `args` in wasm memory, plus
   * `scratch` zeroed-or-not temporary blocks (byte sizes) appended to ptrs.
   * The same array passed twice (in-place) gets one block.
   */
  run<R>(args: Arg[], scratch: number[], kernel: (ptrs: number[]) => R): R {
    const before = this.memory.buffer;
    // 1. Classify before any allocation: a zero-copy view's offset is only
    //    readable while its buffer is still attached.
    const ptrs = args.map(({ a }) => (a.buffer === before ? a.byteOffset : -1));
    const temps: number[] = [];
    try {
      // 2. Blocks for arrays outside wasm memory (one per distinct array), then scratch.
      for (let i = 0; i < args.length; i++) {
        if (ptrs[i] !== -1) continue;
        const first = args.findIndex((b) => b.a === args[i]!.a);
        if (first < i) ptrs[i] = ptrs[first]!;
        else temps.push((ptrs[i] = this.arena.alloc(args[i]!.a.byteLength)));
      }
      for (const bytes of scratch) temps.push(ptrs[ptrs.length] = this.arena.alloc(bytes));
      // 3. Copy in, run, copy out through views taken after any growth.
      const heap = new Uint8Array(this.memory.buffer);
      for (let i = 0; i < args.length; i++) {
        const { a, io } = args[i]!;
        if (io !== 'out' && a.buffer !== before) heap.set(bytesOf(a), ptrs[i]!);
      }
      const result = kernel(ptrs);
      const after = new Uint8Array(this.memory.buffer);
      for (let i = 0; i < args.length; i++) {
        const { a, io } = args[i]!;
        if (io !== 'in' && a.buffer !== before) bytesOf(a).set(after.subarray(ptrs[i]!, ptrs[i]! + a.byteLength));
      }
      return result;
    } finally {
      for (const p of temps) this.arena.free(p);
    }
  }

  logsumexp(x: Float32Array, rows: number, classes: number, temperature: number, out: Float32Array): void {
    this.run([{ a: x, io: 'in' }, { a: out, io: 'out' }], [], ([px, po]) => this.k.logsumexp!(px!, rows, classes, temperature, po!));
  }

  softmax(x: Float32Array, rows: number, classes: number, temperature: number, out: Float32Array): void {
    this.run([{ a: x, io: 'in' }, { a: out, io: 'out' }], [], ([px, po]) => this.k.softmax!(px!, rows, classes, temperature, po!));
  }

  logSoftmax(x: Float32Array, rows: number, classes: number, temperature: number, out: Float32Array): void {
    this.run([{ a: x, io: 'in' }, { a: out, io: 'out' }], [], ([px, po]) => this.k.logSoftmax!(px!, rows, classes, temperature, po!));
  }

  sigmoid(x: Float32Array, out: Float32Array): void {
    this.run([{ a: x, io: 'in' }, { a: out, io: 'out' }], [], ([px, po]) => this.k.sigmoid!(px!, x.length, po!));
  }

  logSigmoid(x: Float32Array, out: Float32Array): void {
    this.run([{ a: x, io: 'in' }, { a: out, io: 'out' }], [], ([px, po]) => this.k.logSigmoid!(px!, x.length, po!));
  }

  argmax(x: Float32Array, rows: number, classes: number, out: Int32Array): void {
    this.run([{ a: x, io: 'in' }, { a: out, io: 'out' }], [], ([px, po]) => this.k.argmax!(px!, rows, classes, po!));
  }

  topk(x: Float32Array, rows: number, classes: number, k: number, values: Float32Array, indices: Int32Array): void {
    this.run(
      [{ a: x, io: 'in' }, { a: values, io: 'out' }, { a: indices, io: 'out' }],
      [],
      ([px, pv, pi]) => this.k.topk!(px!, rows, classes, k, pv!, pi!),
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

  filterLogits(x: Float32Array, rows: number, classes: number, o: FilterOptions, out: Float32Array): void {
    gen.filterLogits(this, x, rows, classes, o, out);
  }

  sample(x: Float32Array, rows: number, classes: number, o: FilterOptions, uniforms: Float64Array, out: Int32Array): void {
    gen.sample(this, x, rows, classes, o, uniforms, out);
  }

  /**
   * Half-precision bits are copied in as they are (2 bytes each) and widened
   * inside wasm; the float32 result stays in wasm memory as a zero-copy input
   * for the op that follows, and is freed when that op ends.
   */
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
    let view: ArrayOf<T> | null = null;
    const memory = this.memory;
    const arena = this.arena;
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
        if (ptr !== null) arena.free(ptr);
        ptr = null;
        view = null;
      },
    } as LkBuffer<T>;
  }

  memoryStats(): { wasmBytes: number; inUse: number } {
    return { wasmBytes: this.memory.buffer.byteLength, inUse: this.arena.inUse };
  }

  dispose(): void {
    // Memory is garbage-collected with the instance; nothing else is held.
  }
}

function bytesOf(a: Typed): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}
