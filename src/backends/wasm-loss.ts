/**
 * Glue between the Backend loss ops and assembly/kernels/loss.ts.
 *
 * For 'sum' and 'mean' the kernels write one float64 value (or two, for label
 * smoothing) per row, and the reductions over rows, the weighted mean's
 * denominator D and the smoothing mix happen here in float64, with the same
 * formulas as the JS reference (SEMANTICS.md §4–7, §9); for 'none' the
 * class-target kernel writes each row's float32 loss itself. Arrays go through WasmBackend.run, which
 * copies plain arrays in and out and leaves zero-copy buffers where they are.
 * Every row kernel is row-independent (the reductions are here), so large calls
 * go through WasmBackend.rowParallel and split across the thread pool if there is
 * one; BCE is one elementwise pass and stays on the calling thread.
 */
import type { BceArgs, CrossEntropyTarget, Reduction } from './backend.js';
import { rowGrain, type Arg, type WasmBackend } from './wasm.js';

type ClassTarget = Extract<CrossEntropyTarget, { kind: 'class' }>;

/** Σ_c w_c in float64 (C when unweighted): the W of the smoothing term. */
function weightSum(weight: Float32Array | null, classes: number): number {
  if (weight === null) return classes;
  let s = 0;
  for (let c = 0; c < classes; c++) s += weight[c]!;
  return s;
}

/** D = Σ_{i∈V} w_{t_i}: the weighted mean's denominator (|V| unweighted). */
function meanDenominator(t: ClassTarget): number {
  let D = 0;
  for (let i = 0; i < t.target.length; i++) {
    const c = t.target[i]!;
    if (c !== t.ignoreIndex) D += t.weight === null ? 1 : t.weight[c]!;
  }
  return D;
}

/**
 * ignoreIndex as the kernels' i32. One outside the int32 range matches no target (they are
 * int32), and the engine has checked every target is then a class in [0, C), so −1 stands
 * in for it; passing it through would wrap (2^32 + 3 would ignore class 3).
 */
function ignoreArg(t: ClassTarget): number {
  return t.ignoreIndex === (t.ignoreIndex | 0) ? t.ignoreIndex : -1;
}

function sumOf(a: Float64Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]!;
  return s;
}

/** An optional vector as a kernel argument: itself, or an empty stand-in the kernel never reads (its flag is 0). */
function weightArg(w: Float32Array | null): Float32Array {
  return w ?? EMPTY;
}
const EMPTY = new Float32Array(0);

/** 'sum' / 'mean' of class-target per-row parts (nll, smooth) as SEMANTICS §4 writes them. */
function reduceClass(nll: Float64Array, smooth: Float64Array, t: ClassTarget, classes: number, reduction: 'sum' | 'mean'): number {
  const eps = t.labelSmoothing;
  const nllSum = sumOf(nll);
  const D = reduction === 'mean' ? meanDenominator(t) : 1;
  if (eps === 0) return reduction === 'sum' ? nllSum : nllSum / D;
  const smoothSum = sumOf(smooth);
  if (reduction === 'sum') return (1 - eps) * nllSum + (eps / classes) * smoothSum;
  return (1 - eps) * (nllSum / D) + (eps / classes) * (smoothSum / D);
}

function reduceSoft(loss: Float64Array, reduction: Reduction, out: Float32Array | null): number {
  if (reduction === 'none') {
    out!.set(loss);
    return NaN;
  }
  const total = sumOf(loss);
  return reduction === 'sum' ? total : total / loss.length;
}

export function crossEntropy(w: WasmBackend, x: Float32Array, rows: number, classes: number, t: CrossEntropyTarget, r: Reduction, out: Float32Array | null): number {
  const weighted = t.weight !== null ? 1 : 0;
  const weight = weightArg(t.weight);
  if (t.kind === 'prob') {
    const loss = new Float64Array(rows);
    w.run(
      [{ a: x, io: 'in' }, { a: t.target, io: 'in' }, { a: weight, io: 'in' }, { a: loss, io: 'out' }],
      [],
      ([px, pq, pw, pl]) =>
        w.rowParallel('crossEntropySoft', rows, rows * classes, (b, e) => [
          px! + b * classes * 4, e - b, classes, pq! + b * classes * 4, weighted, pw!, t.labelSmoothing, pl! + b * 8,
        ], rowGrain(classes)),
    );
    return reduceSoft(loss, r, out);
  }
  const sumW = weightSum(t.weight, classes);
  if (r === 'none') {
    // The kernel writes each row's loss, (1−ε)·nll + (ε/C)·smooth, straight into out as float32.
    const lossOut = out!;
    w.run([{ a: x, io: 'in' }, { a: t.target, io: 'in' }, { a: weight, io: 'in' }, { a: lossOut, io: 'out' }], [], ([px, pt, pw, po]) =>
      w.rowParallel('crossEntropyClass', rows, rows * classes, (b, e) => [
        px! + b * classes * 4, e - b, classes, pt! + b * 4, ignoreArg(t), weighted, pw!, t.labelSmoothing, sumW, po! + b * 4, 0, 1,
      ], rowGrain(classes)),
    );
    return NaN;
  }
  const nll = new Float64Array(rows);
  const smooth = t.labelSmoothing > 0 ? new Float64Array(rows) : nll;
  const args: Arg[] = [{ a: x, io: 'in' }, { a: t.target, io: 'in' }, { a: weight, io: 'in' }, { a: nll, io: 'out' }, { a: smooth, io: 'out' }];
  w.run(args, [], ([px, pt, pw, pn, ps]) =>
    w.rowParallel('crossEntropyClass', rows, rows * classes, (b, e) => [
      px! + b * classes * 4, e - b, classes, pt! + b * 4, ignoreArg(t), weighted, pw!, t.labelSmoothing, sumW, pn! + b * 8, ps! + b * 8, 0,
    ], rowGrain(classes)),
  );
  return reduceClass(nll, smooth, t, classes, r);
}

/** The loss and the gradient of the reduced loss, from one fused kernel call. */
export function crossEntropyWithGrad(w: WasmBackend, x: Float32Array, rows: number, classes: number, t: CrossEntropyTarget, r: 'sum' | 'mean', grad: Float32Array): number {
  const weighted = t.weight !== null ? 1 : 0;
  const weight = weightArg(t.weight);
  if (t.kind === 'prob') {
    const loss = new Float64Array(rows);
    const sigma = r === 'mean' ? 1 / rows : 1;
    w.run(
      [{ a: x, io: 'in' }, { a: t.target, io: 'in' }, { a: weight, io: 'in' }, { a: grad, io: 'out' }, { a: loss, io: 'out' }],
      [],
      ([px, pq, pw, pg, pl]) =>
        w.rowParallel('crossEntropySoftGrad', rows, rows * classes, (b, e) => [
          px! + b * classes * 4, e - b, classes, pq! + b * classes * 4, weighted, pw!, t.labelSmoothing, sigma, pg! + b * classes * 4, pl! + b * 8,
        ], rowGrain(classes)),
    );
    return reduceSoft(loss, r, null);
  }
  const nll = new Float64Array(rows);
  const smooth = t.labelSmoothing > 0 ? new Float64Array(rows) : nll;
  const sigma = r === 'mean' ? 1 / meanDenominator(t) : 1;
  const sumW = weightSum(t.weight, classes);
  w.run(
    [{ a: x, io: 'in' }, { a: t.target, io: 'in' }, { a: weight, io: 'in' }, { a: grad, io: 'out' }, { a: nll, io: 'out' }, { a: smooth, io: 'out' }],
    [],
    ([px, pt, pw, pg, pn, ps]) =>
      w.rowParallel('crossEntropyClassGrad', rows, rows * classes, (b, e) => [
        px! + b * classes * 4, e - b, classes, pt! + b * 4, ignoreArg(t), weighted, pw!, t.labelSmoothing, sumW, sigma,
        pg! + b * classes * 4, pn! + b * 8, ps! + b * 8,
      ], rowGrain(classes)),
  );
  return reduceClass(nll, smooth, t, classes, r);
}

export function bceWithLogits(w: WasmBackend, x: Float32Array, target: Float32Array, a: BceArgs, r: Reduction, out: Float32Array | null): number {
  const n = x.length;
  const weight = weightArg(a.weight);
  const posWeight = weightArg(a.posWeight);
  const args: Arg[] = [{ a: x, io: 'in' }, { a: target, io: 'in' }, { a: weight, io: 'in' }, { a: posWeight, io: 'in' }];
  if (out !== null) args.push({ a: out, io: 'out' });
  const total = w.run(args, [], ([px, pt, pw, ppw, po]) =>
    w.k.bceWithLogits!(
      px!, pt!, n, a.classes,
      a.weight !== null ? 1 : 0, pw!, a.weightPeriod === n ? 1 : 0,
      a.posWeight !== null ? 1 : 0, ppw!,
      po ?? 0, out !== null ? 1 : 0,
    ) as number,
  );
  if (r === 'none') return NaN;
  return r === 'sum' ? total : total / n;
}

export function entropy(w: WasmBackend, x: Float32Array, rows: number, classes: number, out: Float32Array): void {
  w.run([{ a: x, io: 'in' }, { a: out, io: 'out' }], [], ([px, po]) =>
    w.rowParallel('entropy', rows, rows * classes, (b, e) => [px! + b * classes * 4, e - b, classes, po! + b * 4], rowGrain(classes)),
  );
}

export function klDiv(w: WasmBackend, p: Float32Array, q: Float32Array, rows: number, classes: number, out: Float32Array): number {
  const kl = new Float64Array(rows);
  w.run([{ a: p, io: 'in' }, { a: q, io: 'in' }, { a: kl, io: 'out' }], [], ([pp, pq, pk]) =>
    w.rowParallel('klDiv', rows, 2 * rows * classes, (b, e) => [pp! + b * classes * 4, pq! + b * classes * 4, e - b, classes, pk! + b * 8], rowGrain(classes)),
  );
  out.set(kl);
  return sumOf(kl);
}
