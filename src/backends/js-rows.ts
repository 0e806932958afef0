/**
 * Row primitives of the pure-JS reference backend, straight from SEMANTICS.md with float64
 * accumulation: the row functions the JsBackend ops and the JS losses are built from. A leaf
 * module (it imports nothing of the backends), so js.ts and js-loss.ts both use it without a cycle.
 */
import type { AdjustArgs } from './backend.js';

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
export function ranksAbove(a: number, b: number): boolean {
  if (a !== a) return b === b;
  return a > b;
}

/**
 * Row-sized float64 work arrays reused across rows and calls (allocating per row made the
 * reference crawl on short rows, 1M×10). One per backend instance; slots are independent, for
 * the ops that hold two rows at once (KL: slots 0–1 and 2–3).
 */
export class RowWork {
  #slots: Float64Array[] = [];
  /** Four arrays of `classes` values (contents unspecified). */
  for(classes: number): Float64Array[] {
    if (this.#slots.length === 0 || this.#slots[0]!.length !== classes) this.#slots = Array.from({ length: 4 }, () => new Float64Array(classes));
    return this.#slots;
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
