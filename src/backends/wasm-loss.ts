/**
 * Glue between the Backend loss ops and assembly/kernels/loss.ts.
 *
 * For 'sum' and 'mean' the kernels write one float64 value (or two, for label
 * smoothing) per row, and the reductions over rows, the weighted mean's
 * denominator D and the smoothing mix happen in reduce.ts, shared with the JS
 * reference (SEMANTICS.md §4–7, §9); for 'none' the class-target kernel writes
 * each row's float32 loss itself. Every row kernel is row-independent (the
 * reductions are outside), so the runtime may split large calls across threads
 * and into blocks; BCE is one elementwise pass and stays on the calling thread.
 */
import type { BceArgs, CrossEntropyTarget, Reduction } from './backend.js';
import { CeClassOutput } from './abi.js';
import { firstBadTargetJs, gradScale, reduceClass, reduceRows, reduceTotal, sumOf, weightSum, type ClassTarget } from './reduce.js';
import type { WasmRuntime } from './wasm-runtime.js';
import type { LkBuffer } from '../buffers.js';
import { LogitkitError } from '../errors.js';

/**
 * ignoreIndex as the kernels' i32. One outside the int32 range matches no target (they are
 * int32), and the engine has checked every target is then a class in [0, C), so −1 stands
 * in for it; passing it through would wrap (2^32 + 3 would ignore class 3).
 */
function ignoreArg(t: ClassTarget): number {
  return t.ignoreIndex === (t.ignoreIndex | 0) ? t.ignoreIndex : -1;
}

/**
 * Targets below this many are checked in JavaScript: a kernel call (and the copy of a plain
 * array) costs more than the loop on a short array (about 0.5 µs against 1 ns a target).
 */
const CHECK_IN_WASM_FROM = 1024;

/** The first target neither a class in [0, classes) nor ignoreIndex, or −1 (Backend.firstBadTarget). */
export function firstBadTarget(rt: WasmRuntime, target: Int32Array, classes: number, ignoreIndex: number): number {
  if (target.length < CHECK_IN_WASM_FROM) return firstBadTargetJs(target, classes, ignoreIndex);
  // An ignoreIndex outside int32 matches no target; 0 stands in for it (a class: never a bad target).
  const ig = ignoreIndex === (ignoreIndex | 0) ? ignoreIndex : 0;
  return rt.call('firstBadTarget', { target, n: target.length, classes, ignoreIndex: ig });
}

/** An optional vector as a kernel argument: itself, or an empty stand-in the kernel never reads (its flag is off). */
function weightArg(w: Float32Array | null): Float32Array {
  return w ?? EMPTY;
}
const EMPTY = new Float32Array(0);

export function crossEntropy(rt: WasmRuntime, x: Float32Array, rows: number, classes: number, t: CrossEntropyTarget, r: Reduction, out: Float32Array | null): number {
  const weighted = t.weight !== null;
  const weight = weightArg(t.weight);
  if (t.kind === 'prob') {
    const loss = new Float64Array(rows);
    rt.call('crossEntropySoft', { x, rows, classes, q: t.target, weighted, weight, smoothing: t.labelSmoothing, loss });
    return reduceRows(loss, r, out);
  }
  const ignoreIndex = ignoreArg(t);
  const sumW = weightSum(t.weight, classes);
  const smoothing = t.labelSmoothing;
  if (r === 'none') {
    // The kernel writes each row's loss, (1−ε)·nll + (ε/C)·smooth, straight into out as float32.
    rt.call('crossEntropyClass', { x, rows, classes, target: t.target, ignoreIndex, weighted, weight, smoothing, sumW, nll: out!, smooth: null, lossOut: CeClassOutput.Loss });
    return NaN;
  }
  return withParts(rt, rows, smoothing > 0, [x, t.target, weight], (nll, smooth, [x, target, weight]) => {
    rt.call('crossEntropyClass', { x, rows, classes, target, ignoreIndex, weighted, weight, smoothing, sumW, nll, smooth, lossOut: CeClassOutput.Parts });
  }, (nll, smooth, [, target, w]) => reduceClass(nll, smooth, { ...t, target, weight: t.weight && w }, classes, r));
}

/** Rows from which the f64 parts live in wasm memory rather than in fresh Float64Arrays. */
const PARTS_IN_WASM_FROM = 4096;

/**
 * The per-row f64 parts (nll, and smooth when `two`) of a class-target call: `run` has the kernel
 * write them, `reduce` reads them. From PARTS_IN_WASM_FROM rows they are one alloc() block that
 * the kernel writes in place and the reduction reads where it is: fresh Float64Arrays cost their
 * allocation, the first touch of their pages and a copy out, about as much as the loss on
 * 1,000,000 × 10 ('mean' ran at a quarter of softmax's speed; bench/limits.md, issue 23).
 */
function withParts<A extends ArrayBufferView[], R>(
  rt: WasmRuntime, rows: number, two: boolean, arrays: [...A],
  run: (nll: Float64Array, smooth: Float64Array, arrays: A) => void, reduce: (nll: Float64Array, smooth: Float64Array, arrays: A) => R,
): R {
  // The caller's arrays in wasm memory (zero-copy buffers) are detached when memory grows (the
  // block below, the call's copied blocks), so the call and the reduction get them re-taken.
  const kept = rt.keep(arrays);
  let block: LkBuffer | null = null;
  if (rows >= PARTS_IN_WASM_FROM) {
    try {
      block = rt.alloc(rows * (two ? 4 : 2), 'float32');
    } catch (e) {
      // Under a tight memoryLimit the parts go where they always went.
      if (!(e instanceof LogitkitError && e.code === 'out_of_memory')) throw e;
    }
  }
  if (block === null) {
    const nll = new Float64Array(rows);
    const smooth = two ? new Float64Array(rows) : nll;
    run(nll, smooth, kept() as A);
    return reduce(nll, smooth, kept() as A);
  }
  const parts = block;
  // Views made after each step: the call too may grow memory (copied blocks of the targets).
  const part = (k: number): Float64Array => {
    const a = parts.array;
    return new Float64Array(a.buffer, a.byteOffset + k * rows * 8, rows);
  };
  try {
    run(part(0), two ? part(1) : part(0), kept() as A);
    const nll = part(0);
    return reduce(nll, two ? part(1) : nll, kept() as A);
  } finally {
    parts.free();
  }
}

/** The loss and the gradient of the reduced loss, from one fused kernel call. */
export function crossEntropyWithGrad(rt: WasmRuntime, x: Float32Array, rows: number, classes: number, t: CrossEntropyTarget, r: 'sum' | 'mean', grad: Float32Array): number {
  const weighted = t.weight !== null;
  const weight = weightArg(t.weight);
  const sigma = gradScale(t, rows, r);
  if (t.kind === 'prob') {
    const loss = new Float64Array(rows);
    rt.call('crossEntropySoftGrad', { x, rows, classes, q: t.target, weighted, weight, smoothing: t.labelSmoothing, sigma, grad, loss });
    return reduceRows(loss, r, null);
  }
  return withParts(rt, rows, t.labelSmoothing > 0, [x, t.target, weight, grad], (nll, smooth, [x, target, weight, grad]) => {
    rt.call('crossEntropyClassGrad', {
      x, rows, classes, target, ignoreIndex: ignoreArg(t), weighted, weight,
      smoothing: t.labelSmoothing, sumW: weightSum(t.weight, classes), sigma, grad, nll, smooth,
    });
  }, (nll, smooth, [, target, w]) => reduceClass(nll, smooth, { ...t, target, weight: t.weight && w }, classes, r));
}

export function bceWithLogits(rt: WasmRuntime, x: Float32Array, target: Float32Array, a: BceArgs, r: Reduction, out: Float32Array | null): number {
  const n = x.length;
  const total = rt.call('bceWithLogits', {
    x, target, n, classes: a.classes,
    weighted: a.weight !== null, weight: weightArg(a.weight), weightPerElement: a.weightPeriod === n,
    posWeighted: a.posWeight !== null, posWeight: weightArg(a.posWeight),
    out, writeOut: out !== null,
  });
  return reduceTotal(total, n, r);
}

export function klDiv(rt: WasmRuntime, p: Float32Array, q: Float32Array, rows: number, classes: number, out: Float32Array): number {
  const kl = new Float64Array(rows);
  rt.call('klDiv', { p, q, rows, classes, out: kl });
  out.set(kl);
  return sumOf(kl);
}
