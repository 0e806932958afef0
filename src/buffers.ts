/**
 * Zero-copy buffers: arrays that live where the backend computes (wasm linear
 * memory for the wasm backend, the JS heap for the JS backend). A caller fills
 * `buf.array`, passes `buf` (or `buf.array`) to an op, and nothing is copied.
 *
 * Wasm memory can grow during any call, which detaches every existing view of
 * it. `array` therefore re-creates its view whenever the memory's buffer has
 * changed: read `buf.array` again after each call instead of keeping the view.
 */
export type BufferType = 'float32' | 'int32' | 'uint16';

export type ArrayOf<T extends BufferType> = T extends 'float32'
  ? Float32Array
  : T extends 'int32'
    ? Int32Array
    : Uint16Array;

/** A zero-copy buffer in the engine's wasm memory, from `lk.alloc`: fill `.array`, pass it to an op, `free()` it. */
export interface LkBuffer<T extends BufferType = 'float32'> {
  readonly type: T;
  /** Number of elements. */
  readonly length: number;
  /** A view of the buffer's current storage (re-created after memory growth). */
  readonly array: ArrayOf<T>;
  /** Returns the storage to the backend. Using the buffer afterwards throws. */
  free(): void;
  readonly freed: boolean;
}

export function isLkBuffer(v: unknown): v is LkBuffer<BufferType> {
  return typeof v === 'object' && v !== null && (v as { [BUFFER_TAG]?: true })[BUFFER_TAG] === true;
}

/** Brand so that an engine can tell its buffers from look-alike objects. */
export const BUFFER_TAG: unique symbol = Symbol.for('logitkit.buffer');

export function typedArrayCtor(type: BufferType): Float32ArrayConstructor | Int32ArrayConstructor | Uint16ArrayConstructor {
  return type === 'float32' ? Float32Array : type === 'int32' ? Int32Array : Uint16Array;
}

/**
 * Half-precision inputs widened by a backend may own backend memory (wasm);
 * the engine releases it when the op that used them ends.
 */
const widened = new WeakMap<Float32Array, () => void>();
export function registerWidened(view: Float32Array, release: () => void): void {
  widened.set(view, release);
}
export function releaseWidened(view: Float32Array): void {
  const release = widened.get(view);
  if (release) {
    widened.delete(view);
    release();
  }
}
