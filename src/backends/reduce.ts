/**
 * The loss reductions (SEMANTICS.md §4–7, §9), once for both backends: each backend computes
 * per-row parts (the wasm kernels as f64 rows, the JS reference in float64 numbers) and these
 * functions turn them into 'none' / 'sum' / 'mean' with the same float64 formulas and the same
 * order of operations, so a difference between the backends can only come from the rows.
 *
 * A reduced loss is a float32 result like the per-row ones (SEMANTICS.md §2 "Overflow", §11: the
 * expected value is the float64 one rounded to float32): the float64 sum or mean is rounded once, at
 * the end, so a value beyond FLT_MAX is +inf in 'sum' and 'mean' as it is in 'none' (a mean of
 * 6.0e38 used to come back as that float64 number while 'none' gave +inf).
 */
import type { CrossEntropyTarget, Reduction } from './backend.js';

export type ClassTarget = Extract<CrossEntropyTarget, { kind: 'class' }>;

/**
 * The first i whose class target t is neither in [0, classes) nor ignoreIndex, or −1 (both
 * backends' firstBadTarget; the wasm one runs it on short arrays, where a kernel call costs more).
 */
export function firstBadTargetJs(target: Int32Array, classes: number, ignoreIndex: number): number {
  const n = target.length;
  for (let i = 0; i < n; i++) {
    const t = target[i]!;
    if (t !== ignoreIndex && (t < 0 || t >= classes)) return i;
  }
  return -1;
}

/** Sum in index order (float64). */
export function sumOf(a: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]!;
  return s;
}

/** Σ_c w_c in float64 (C when unweighted): the W of the smoothing term. */
export function weightSum(weight: Float32Array | null, classes: number): number {
  if (weight === null) return classes;
  let s = 0;
  for (let c = 0; c < classes; c++) s += weight[c]!;
  return s;
}

/** D = Σ_{i∈V} w_{t_i}: the weighted mean's denominator (|V| unweighted). */
export function meanDenominator(t: ClassTarget): number {
  let D = 0;
  for (let i = 0; i < t.target.length; i++) {
    const c = t.target[i]!;
    if (c !== t.ignoreIndex) D += t.weight === null ? 1 : t.weight[c]!;
  }
  return D;
}

/**
 * 'sum' / 'mean' of class-target per-row parts nll_i and smooth_i (§4):
 * (1−ε)·Σnll + (ε/C)·Σsmooth, each divided by D for the mean; with ε = 0 smooth is never read.
 */
export function reduceClass(nll: ArrayLike<number>, smooth: ArrayLike<number>, t: ClassTarget, classes: number, reduction: 'sum' | 'mean'): number {
  const eps = t.labelSmoothing;
  const nllSum = sumOf(nll);
  const D = reduction === 'mean' ? meanDenominator(t) : 1;
  if (eps === 0) return Math.fround(reduction === 'sum' ? nllSum : nllSum / D);
  const smoothSum = sumOf(smooth);
  if (reduction === 'sum') return Math.fround((1 - eps) * nllSum + (eps / classes) * smoothSum);
  return Math.fround((1 - eps) * (nllSum / D) + (eps / classes) * (smoothSum / D));
}

/** The loss of one class-target row for reduction 'none': (1−ε)·nll + (ε/C)·smooth, or nll when ε = 0. */
export function classRowLoss(nll: number, smooth: number, eps: number, classes: number): number {
  return eps > 0 ? (1 - eps) * nll + (eps / classes) * smooth : nll;
}

/** Per-row losses (probability targets, KL): 'none' writes them to out (float32), else their sum or mean over rows. */
export function reduceRows(loss: Float64Array, reduction: Reduction, out: Float32Array | null): number {
  if (reduction === 'none') {
    out!.set(loss);
    return NaN;
  }
  const total = sumOf(loss);
  return Math.fround(reduction === 'sum' ? total : total / loss.length);
}

/** Elementwise losses (BCE) already summed: the mean divides by the element count; 'none' returns NaN. */
export function reduceTotal(total: number, count: number, reduction: Reduction): number {
  if (reduction === 'none') return NaN;
  return Math.fround(reduction === 'sum' ? total : total / count);
}

/** σ, the scale of the reduced loss's gradient: 1 for 'sum'; 1/rows (probability targets) or 1/D for 'mean'. */
export function gradScale(t: CrossEntropyTarget, rows: number, reduction: 'sum' | 'mean'): number {
  if (reduction === 'sum') return 1;
  return t.kind === 'prob' ? 1 / rows : 1 / meanDenominator(t);
}
