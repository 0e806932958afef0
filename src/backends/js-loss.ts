/**
 * Reference implementations of the losses and distribution measures
 * (SEMANTICS.md §4–7, §9): cross-entropy with class and probability targets,
 * its gradient, BCE with logits, entropy and KL divergence.
 *
 * Everything is float64 and written as the spec writes it, including the IEEE
 * special values PyTorch users get: products are evaluated literally (so
 * 0·inf = NaN where the spec says so), ignored rows are masked rather than
 * multiplied, and with ε = 0 the smoothing term is never evaluated. The wasm
 * kernels are faster rearrangements of these formulas; tests tie the two
 * together through a third, independent float64 reference.
 */
import type { BceArgs, CrossEntropyTarget, Reduction } from './backend.js';
import { logSigmoid1, rowLogSoftmax, scaled, type RowWork } from './js-rows.js';
import { classRowLoss, gradScale, reduceClass, reduceRows, reduceTotal, sumOf } from './reduce.js';

/** log-softmax of row r as float64 (no temperature in the losses), in work slots 0–1 or 2–3. */
function rowLp(work: RowWork, x: Float32Array, r: number, classes: number, slot: 0 | 1 = 0): Float64Array {
  const w = work.for(classes);
  return rowLogSoftmax(scaled(x, r * classes, classes, 1, w[2 * slot]), w[2 * slot + 1]);
}

/** The weight of class c as a float64 (1 without weights). */
function classWeight(weight: Float32Array | null, c: number): number {
  return weight === null ? 1 : weight[c]!;
}

/**
 * Per-row parts of class-target cross-entropy (§4): nll_i and smooth_i (only
 * when ε > 0); reduce.ts turns them into the reductions, as for the wasm kernels' parts.
 */
function classParts(work: RowWork, x: Float32Array, rows: number, classes: number, t: Extract<CrossEntropyTarget, { kind: 'class' }>) {
  const nll = new Float64Array(rows);
  const smooth = new Float64Array(rows);
  for (let r = 0; r < rows; r++) {
    const target = t.target[r]!;
    if (target === t.ignoreIndex) continue; // masked: contributes exactly 0, whatever its logits
    const lp = rowLp(work, x, r, classes);
    const wt = classWeight(t.weight, target);
    nll[r] = -(lp[target]! * wt);
    if (t.labelSmoothing > 0) {
      let s = 0;
      for (let c = 0; c < classes; c++) s += lp[c]! * classWeight(t.weight, c);
      smooth[r] = -s;
    }
  }
  return { nll, smooth };
}

/** q' = q(1−ε) + ε/C when ε > 0, else q as given (§5: q is never renormalised). */
function smoothedTarget(q: number, eps: number, classes: number): number {
  return eps > 0 ? q * (1 - eps) + eps / classes : q;
}

/** Per-row soft-target cross-entropy (§5): −Σ_c lp_c · q'_c · w_c, evaluated literally. */
function softRowLoss(lp: Float64Array, q: Float32Array, start: number, weight: Float32Array | null, eps: number): number {
  const classes = lp.length;
  let s = 0;
  for (let c = 0; c < classes; c++) s += lp[c]! * smoothedTarget(q[start + c]!, eps, classes) * classWeight(weight, c);
  return -s;
}

export function crossEntropy(work: RowWork, x: Float32Array, rows: number, classes: number, t: CrossEntropyTarget, reduction: Reduction, out: Float32Array | null): number {
  const eps = t.labelSmoothing;
  if (t.kind === 'prob') {
    const loss = new Float64Array(rows);
    for (let r = 0; r < rows; r++) loss[r] = softRowLoss(rowLp(work, x, r, classes), t.target, r * classes, t.weight, eps);
    return reduceRows(loss, reduction, out);
  }
  const { nll, smooth } = classParts(work, x, rows, classes, t);
  if (reduction === 'none') {
    for (let r = 0; r < rows; r++) out![r] = classRowLoss(nll[r]!, smooth[r]!, eps, classes);
    return NaN;
  }
  return reduceClass(nll, smooth, t, classes, reduction);
}

/**
 * The gradient through the log-softmax backward (§6): G = ∂L/∂lp, then
 * grad_ij = G_ij − p_ij Σ_k G_ik. Written this way (not as the closed form) so
 * that ignored rows give 0 − p·0, which is NaN exactly when p is.
 */
export function crossEntropyWithGrad(work: RowWork, x: Float32Array, rows: number, classes: number, t: CrossEntropyTarget, reduction: 'sum' | 'mean', grad: Float32Array): number {
  const loss = crossEntropy(work, x, rows, classes, t, reduction, null);
  const eps = t.labelSmoothing;
  const sigma = gradScale(t, rows, reduction);
  if (rows === 0) return loss; // an empty input may declare any number of classes: size nothing by it
  const G = new Float64Array(classes);
  for (let r = 0; r < rows; r++) {
    const lp = rowLp(work, x, r, classes);
    G.fill(0);
    if (t.kind === 'prob') {
      for (let c = 0; c < classes; c++) G[c] = -sigma * smoothedTarget(t.target[r * classes + c]!, eps, classes) * classWeight(t.weight, c);
    } else if (t.target[r] !== t.ignoreIndex) {
      const target = t.target[r]!;
      if (eps > 0) for (let c = 0; c < classes; c++) G[c] = -sigma * ((eps / classes) * classWeight(t.weight, c));
      G[target] = -sigma * ((1 - eps) * classWeight(t.weight, target) + (eps > 0 ? (eps / classes) * classWeight(t.weight, target) : 0));
    }
    const gSum = sumOf(G);
    for (let c = 0; c < classes; c++) grad[r * classes + c] = G[c]! - Math.exp(lp[c]!) * gSum;
  }
  return loss;
}

/**
 * §7 for one element: (1 − t)·x − lw·log_sigmoid(x) with lw = 1 + (pos_weight − 1)·t.
 * Finite x uses the spec's equivalent stable form (1 − t)·x + lw·(log1p(e^−|x|) + max(−x, 0))
 * with the two multiples of x combined first, so (t = 0, x ≪ 0) gives log1p(e^x) instead of
 * x − x + tiny. Infinite x keeps the literal formula and its 0·inf quirks.
 */
function bce1(x: number, t: number, lw: number): number {
  if (!Number.isFinite(x)) return (1 - t) * x - lw * logSigmoid1(x);
  const softplusTail = Math.log1p(Math.exp(-Math.abs(x)));
  return (x < 0 ? (1 - t - lw) * x : (1 - t) * x) + lw * softplusTail;
}

/** §7 over every element, times the weight; 'mean' divides by the element count. */
export function bceWithLogits(x: Float32Array, target: Float32Array, a: BceArgs, reduction: Reduction, out: Float32Array | null): number {
  let total = 0;
  for (let i = 0; i < x.length; i++) {
    const xi = x[i]!;
    const ti = target[i]!;
    const lw = a.posWeight === null ? 1 : 1 + (a.posWeight[i % a.classes]! - 1) * ti;
    let l = bce1(xi, ti, lw);
    if (a.weight !== null) l = l * a.weight[i % a.weightPeriod]!;
    if (out !== null) out[i] = l;
    total += l;
  }
  return reduceTotal(total, x.length, reduction);
}

/** §9: H = −Σ p_j lp_j with 0·log 0 = 0 (terms whose lp_j = −inf are skipped). */
export function entropy(work: RowWork, x: Float32Array, rows: number, classes: number, out: Float32Array): void {
  for (let r = 0; r < rows; r++) {
    const lp = rowLp(work, x, r, classes);
    let h = 0;
    for (let j = 0; j < classes; j++) if (lp[j] !== -Infinity) h -= Math.exp(lp[j]!) * lp[j]!;
    out[r] = h;
  }
}

/** §9: KL(softmax(p) || softmax(q)) per row into out; returns the float64 sum over rows. */
export function klDiv(work: RowWork, p: Float32Array, q: Float32Array, rows: number, classes: number, out: Float32Array): number {
  let total = 0;
  for (let r = 0; r < rows; r++) {
    const lp = rowLp(work, p, r, classes, 0);
    const lq = rowLp(work, q, r, classes, 1);
    let kl = 0;
    for (let j = 0; j < classes; j++) {
      if (Number.isNaN(lp[j]!) || Number.isNaN(lq[j]!)) {
        kl = NaN; // a NaN anywhere makes the row NaN, even beside a skipped term
        break;
      }
      if (lp[j] === -Infinity) continue;
      kl += lq[j] === -Infinity ? Infinity : Math.exp(lp[j]!) * (lp[j]! - lq[j]!);
    }
    out[r] = kl;
    total += kl;
  }
  return total;
}
