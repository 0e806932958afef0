/**
 * The pure-JS reference backend. Every op is written the obvious way, straight
 * from SEMANTICS.md, with float64 accumulation (JS numbers): it is the parity
 * reference the wasm kernels are tested against, and the fallback where wasm
 * SIMD does not validate. Cleverness belongs in the kernels, not here.
 */
import type { AdjustArgs, Backend, BceArgs, Features, CrossEntropyTarget, FilterOptions, Reduction } from './backend.js';
import { BUFFER_TAG, typedArrayCtor, type ArrayOf, type BufferType, type LkBuffer } from '../buffers.js';
import { fail } from '../errors.js';
import { float32ToBfloat16Bits, float32ToFloat16Bits, halfToFloat } from '../half.js';
import { DEFAULT_MEMORY_LIMIT } from '../limits.js';
import * as loss from './js-loss.js';
import * as gen from './js-sample.js';

const fround = Math.fround;

/** z = x / T as float32 arithmetic gives it (SEMANTICS §2: T = 1 means z = x exactly). */
export function scaled(x: Float32Array, start: number, classes: number, temperature: number, into?: Float64Array): Float64Array {
  const z = into ?? new Float64Array(classes);
  if (temperature === 1) for (let j = 0; j < classes; j++) z[j] = x[start + j]!;
  else for (let j = 0; j < classes; j++) z[j] = fround(x[start + j]! / temperature);
  return z;
}

/** NaN-propagating maximum (SEMANTICS §0). */
export function nanMax(z: ArrayLike<number>): number {
  let m = -Infinity;
  for (let j = 0; j < z.length; j++) {
    const v = z[j]!;
    if (v !== v) return NaN;
    if (v > m) m = v;
  }
  return m;
}

/** logsumexp of one row (SEMANTICS §1): shift by the max unless it is ±inf. */
export function rowLogSumExp(z: ArrayLike<number>): number {
  const m = nanMax(z);
  if (m !== m) return NaN;
  const shift = m === Infinity || m === -Infinity ? 0 : m;
  let s = 0;
  for (let j = 0; j < z.length; j++) s += Math.exp(z[j]! - shift);
  return Math.log(s) + shift;
}

/**
 * log-softmax of one row as (z - m) - log s, with no masking of an infinite max
 * (SEMANTICS §2): all -inf, any +inf or any NaN make the whole row NaN.
 */
export function rowLogSoftmax(z: Float64Array, into?: Float64Array): Float64Array {
  const m = nanMax(z);
  const lp = into ?? new Float64Array(z.length);
  let s = 0;
  for (let j = 0; j < z.length; j++) {
    lp[j] = z[j]! - m;
    s += Math.exp(lp[j]!);
  }
  const ls = Math.log(s);
  for (let j = 0; j < z.length; j++) lp[j] = lp[j]! - ls;
  return lp;
}

/** softmax of one row as exp(z - m) / s (same special values as log-softmax). */
export function rowSoftmax(z: Float64Array, into?: Float64Array): Float64Array {
  const m = nanMax(z);
  const p = into ?? new Float64Array(z.length);
  let s = 0;
  for (let j = 0; j < z.length; j++) {
    p[j] = Math.exp(z[j]! - m);
    s += p[j]!;
  }
  for (let j = 0; j < z.length; j++) p[j] = p[j]! / s;
  return p;
}

export function sigmoid1(x: number): number {
  if (x >= 0) return 1 / (1 + Math.exp(-x));
  const e = Math.exp(x);
  return e / (1 + e);
}

/** torch's CPU formula: min(x, 0) - log1p(exp(-|x|)); keeps full relative precision at both ends. */
export function logSigmoid1(x: number): number {
  return Math.min(x, 0) - Math.log1p(Math.exp(-Math.abs(x)));
}

/** "a ranks above b" for argmax/top-k: NaN above everything, then by value; -0 == +0. */
function ranksAbove(a: number, b: number): boolean {
  if (a !== a) return b === b;
  return a > b;
}


export class JsBackend implements Backend {
  readonly name = 'js' as const;
  readonly features: Features = Object.freeze({ simd: false, relaxedSimd: false, threads: 1 });
  readonly memoryLimit: number;

  constructor(memoryLimit: number = DEFAULT_MEMORY_LIMIT) {
    // The wasm backend's cap (4 GiB of 32-bit memory), so both refuse the same alloc() sizes.
    this.memoryLimit = Math.min(memoryLimit, 2 ** 32);
  }

  // Two row-sized float64 work arrays reused across rows and calls: the same
  // row functions as everywhere, minus two allocations per row.
  #z = new Float64Array(0);
  #w = new Float64Array(0);
  #rowBuffers(classes: number, rows: number): [Float64Array, Float64Array] {
    // An empty input may declare any number of classes: nothing to size the buffers for.
    if (rows === 0) return [this.#z, this.#w];
    if (this.#z.length !== classes) {
      this.#z = new Float64Array(classes);
      this.#w = new Float64Array(classes);
    }
    return [this.#z, this.#w];
  }

  logsumexp(x: Float32Array, rows: number, classes: number, temperature: number, out: Float32Array): void {
    const [z] = this.#rowBuffers(classes, rows);
    for (let r = 0; r < rows; r++) out[r] = rowLogSumExp(scaled(x, r * classes, classes, temperature, z));
  }

  softmax(x: Float32Array, rows: number, classes: number, temperature: number, out: Float32Array): void {
    const [z, w] = this.#rowBuffers(classes, rows);
    for (let r = 0; r < rows; r++) out.set(rowSoftmax(scaled(x, r * classes, classes, temperature, z), w), r * classes);
  }

  logSoftmax(x: Float32Array, rows: number, classes: number, temperature: number, out: Float32Array): void {
    const [z, w] = this.#rowBuffers(classes, rows);
    for (let r = 0; r < rows; r++) out.set(rowLogSoftmax(scaled(x, r * classes, classes, temperature, z), w), r * classes);
  }

  sigmoid(x: Float32Array, out: Float32Array): void {
    for (let i = 0; i < x.length; i++) out[i] = sigmoid1(x[i]!);
  }

  logSigmoid(x: Float32Array, out: Float32Array): void {
    for (let i = 0; i < x.length; i++) out[i] = logSigmoid1(x[i]!);
  }

  argmax(x: Float32Array, rows: number, classes: number, out: Int32Array): void {
    for (let r = 0; r < rows; r++) {
      const o = r * classes;
      let best = 0;
      for (let j = 1; j < classes; j++) if (ranksAbove(x[o + j]!, x[o + best]!)) best = j;
      out[r] = best;
    }
  }

  /** Reference top-k: a stable sort of the indices by rank (lower index first on ties). */
  topk(x: Float32Array, rows: number, classes: number, k: number, values: Float32Array, indices: Int32Array): void {
    const idx: number[] = [];
    for (let r = 0; r < rows; r++) {
      const o = r * classes;
      idx.length = 0;
      for (let j = 0; j < classes; j++) idx.push(j);
      idx.sort((a, b) => {
        const va = x[o + a]!;
        const vb = x[o + b]!;
        if (ranksAbove(va, vb)) return -1;
        if (ranksAbove(vb, va)) return 1;
        return a - b;
      });
      for (let i = 0; i < k; i++) {
        indices[r * k + i] = idx[i]!;
        values[r * k + i] = x[o + idx[i]!]!;
      }
    }
  }

  crossEntropy(x: Float32Array, rows: number, classes: number, t: CrossEntropyTarget, reduction: Reduction, out: Float32Array | null): number {
    return loss.crossEntropy(x, rows, classes, t, reduction, out);
  }

  crossEntropyWithGrad(x: Float32Array, rows: number, classes: number, t: CrossEntropyTarget, reduction: 'sum' | 'mean', grad: Float32Array): number {
    return loss.crossEntropyWithGrad(x, rows, classes, t, reduction, grad);
  }

  bceWithLogits(x: Float32Array, target: Float32Array, a: BceArgs, reduction: Reduction, out: Float32Array | null): number {
    return loss.bceWithLogits(x, target, a, reduction, out);
  }

  entropy(x: Float32Array, rows: number, classes: number, out: Float32Array): void {
    loss.entropy(x, rows, classes, out);
  }

  klDiv(p: Float32Array, q: Float32Array, rows: number, classes: number, out: Float32Array): number {
    return loss.klDiv(p, q, rows, classes, out);
  }

  adjustLogits(x: Float32Array, rows: number, classes: number, a: AdjustArgs, out: Float32Array): void {
    adjustRows(x, rows, classes, a, out);
  }

  filterLogits(x: Float32Array, rows: number, classes: number, o: FilterOptions, out: Float32Array): number {
    return gen.filterLogits(x, rows, classes, o, out);
  }

  sample(x: Float32Array, rows: number, classes: number, o: FilterOptions, uniforms: Float64Array, out: Int32Array): number {
    return gen.sample(x, rows, classes, o, uniforms, out);
  }

  narrowHalf(x: Float32Array, dtype: 'float16' | 'bfloat16', out: Uint16Array): void {
    const f = dtype === 'float16' ? float32ToFloat16Bits : float32ToBfloat16Bits;
    for (let i = 0; i < x.length; i++) out[i] = f(x[i]!);
  }

  widenHalf(bits: Uint16Array, dtype: 'float16' | 'bfloat16'): Float32Array {
    const out = new Float32Array(bits.length);
    if (dtype === 'bfloat16') {
      // bfloat16 is the top half of a float32: shift the bits into place.
      const u = new Uint32Array(out.buffer);
      for (let i = 0; i < bits.length; i++) u[i] = bits[i]! << 16;
    } else {
      for (let i = 0; i < bits.length; i++) out[i] = halfToFloat(bits[i]!);
    }
    return out;
  }

  alloc<T extends BufferType>(length: number, type: T): LkBuffer<T> {
    let array: ArrayOf<T> | null = new (typedArrayCtor(type))(length) as ArrayOf<T>;
    return {
      [BUFFER_TAG]: true,
      type,
      length,
      get array(): ArrayOf<T> {
        if (array === null) fail('invalid_argument', 'this buffer was freed', 'buffer');
        return array;
      },
      get freed() {
        return array === null;
      },
      free() {
        array = null;
      },
    } as LkBuffer<T>;
  }

  memoryStats(): { wasmBytes: number; inUse: number } {
    return { wasmBytes: 0, inUse: 0 };
  }

  dispose(): void {
    // Nothing is held; the engine itself refuses calls after dispose().
  }
}

/**
 * The float64 reference of adjustLogits: each output is computed in float64 and rounded once.
 * (x / T) · w + b in that order for the diagonal; for the matrix the row's products are summed
 * in index order and divided by T once (the wasm kernel's association, so the only difference
 * left is the order of a float64 sum). A row is staged first, so out may be x even with a matrix.
 */
export function adjustRows(x: Float32Array, rows: number, classes: number, a: AdjustArgs, out: Float32Array): void {
  const { temperature: t, scale, bias, matrix } = a;
  const divide = t !== 1;
  const row = new Float64Array(classes);
  for (let r = 0; r < rows; r++) {
    const o = r * classes;
    if (matrix === null) {
      for (let j = 0; j < classes; j++) {
        let z = x[o + j]!;
        if (divide) z = z / t;
        if (scale !== null) z = z * scale[j]!;
        if (bias !== null) z = z + bias[j]!;
        out[o + j] = z;
      }
      continue;
    }
    for (let j = 0; j < classes; j++) row[j] = x[o + j]!;
    for (let i = 0; i < classes; i++) {
      let s = 0;
      const w = i * classes;
      for (let j = 0; j < classes; j++) s += matrix[w + j]! * row[j]!;
      if (divide) s = s / t;
      if (bias !== null) s += bias[i]!;
      out[o + i] = s;
    }
  }
}
