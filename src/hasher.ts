/**
 * Engine.hasher(): a streaming 128-bit hash of float32 / int32 data, computed where the engine
 * computes (wasm SIMD: assembly/kernels/hash.ts; definition and JS reference: backends/js-hash.ts).
 * Not cryptographic: it tells data apart, it does not resist someone forging a collision.
 */
import type { Backend } from './backends/backend.js';
import { digestHex, HASH_STATE_WORDS, initHashState } from './backends/js-hash.js';
import { isLkBuffer, type BufferType, type LkBuffer } from './buffers.js';
import { describeValue as describe, fail } from './errors.js';

/** What update() takes: the 32-bit words of these arrays are hashed, as stored (a float's bits, −0 ≠ 0, NaN payloads kept). */
export type HashInput = Float32Array | Int32Array | Uint32Array | LkBuffer<'float32'> | LkBuffer<'int32'>;

/**
 * Words per backend call: an array outside engine memory is copied in for the call, so a slice keeps
 * that copy small; an array in engine memory costs one call a slice (≈ 1 µs for 4 MB).
 */
const SLICE_WORDS = 1 << 20;

/**
 * A streaming hash from `lk.hasher()`: `update(x)` as often as needed, then `digest()` (32 hex digits).
 * The digest depends only on the words in order, not on the split into updates; both backends agree.
 */
export class Hasher {
  readonly #b: Backend;
  readonly #live: () => void;
  #state: LkBuffer<'int32'> | null;
  #digest: string | null = null;
  #words = 0;

  /** @internal Use lk.hasher(). */
  constructor(backend: Backend, live: () => void) {
    this.#b = backend;
    this.#live = live;
    this.#state = backend.alloc(HASH_STATE_WORDS, 'int32');
    initHashState(this.#u32());
  }

  /** 32-bit words hashed so far. */
  get words(): number {
    return this.#words;
  }

  /**
   * Adds the words of x to the stream. The digest depends only on the concatenation of all
   * updates, not on where the stream was split into them. Returns this hasher.
   */
  update(x: HashInput): this {
    this.#live();
    if (!this.#state) fail('invalid_argument', this.#digest !== null ? 'this hasher was digested; make a new one (lk.hasher())' : 'this hasher was freed', 'hasher');
    let a: Float32Array | Int32Array | Uint32Array;
    if (isLkBuffer(x)) {
      const t = (x as LkBuffer<BufferType>).type;
      if (t !== 'float32' && t !== 'int32') fail('invalid_argument', `x is a ${t} buffer, expected a float32 or int32 one`, 'x');
      a = x.array;
    } else if (x instanceof Float32Array || x instanceof Int32Array || x instanceof Uint32Array) a = x;
    else fail('invalid_argument', `x = ${describe(x)}, expected a Float32Array, Int32Array, Uint32Array or a float32 / int32 buffer from lk.alloc`, 'x');
    const n = a.length;
    for (let at = 0; at < n; at += SLICE_WORDS) {
      const m = Math.min(SLICE_WORDS, n - at);
      // fresh views each call: a copy into wasm memory may have grown it
      this.#b.hashUpdate(this.#u32(), new Uint32Array(a.buffer, a.byteOffset + 4 * at, m));
    }
    this.#words += n;
    return this;
  }

  /** The digest as 32 hex digits. The first call ends the stream and frees the state; later calls return the same. */
  digest(): string {
    if (this.#digest !== null) return this.#digest;
    this.#live();
    if (!this.#state) fail('invalid_argument', 'this hasher was freed', 'hasher');
    const out = new Uint32Array(4);
    try {
      this.#b.hashDigest(this.#u32(), out);
    } finally {
      this.free();
    }
    return (this.#digest = digestHex(out));
  }

  /** Releases the state (engine memory) without a digest; update() and digest() refuse afterwards. */
  free(): void {
    const s = this.#state;
    this.#state = null;
    if (s && !s.freed) s.free();
  }

  #u32(): Uint32Array {
    const s = this.#state!.array;
    return new Uint32Array(s.buffer, s.byteOffset, s.length);
  }
}
