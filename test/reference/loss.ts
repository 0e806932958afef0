/**
 * The float64 reference for the loss specs (test/spec-loss*.test.ts), written
 * from SEMANTICS.md §4–7 and §9 alone — not from either backend — so both
 * backends are judged against the spec. Inputs are plain number arrays so the
 * finite-difference checks can perturb logits in float64.
 */
import { refLogSigmoid, refMax } from './core.js';

export interface ClassOpts {
  ignoreIndex?: number;
  weight?: ArrayLike<number>;
  labelSmoothing?: number;
}

/** NaN-propagating max (§0): the core reference's, under the name the loss specs use. */
export const maxOf = refMax;

/** §2: lp_j = (z_j − m) − log Σ exp(z − m), no masking of an infinite max. */
export function logSoftmaxRow(z: ArrayLike<number>): number[] {
  const m = maxOf(z);
  const d = Array.from(z, (v) => v - m);
  const s = d.reduce((a, v) => a + Math.exp(v), 0);
  return d.map((v) => v - Math.log(s));
}

export function rowsOf(x: ArrayLike<number>, classes: number): number[][] {
  const out: number[][] = [];
  for (let r = 0; r * classes < x.length; r++) out.push(Array.from({ length: classes }, (_, j) => x[r * classes + j]!));
  return out;
}

/** §4: cross-entropy with class targets, all three reductions at once. */
export function crossEntropyClassRef(x: ArrayLike<number>, classes: number, target: ArrayLike<number>, o: ClassOpts = {}) {
  const ignore = o.ignoreIndex ?? -100;
  const eps = o.labelSmoothing ?? 0;
  const w = (c: number): number => (o.weight ? o.weight[c]! : 1);
  const rows = rowsOf(x, classes);
  const nll: number[] = [];
  const smooth: number[] = [];
  let D = 0;
  rows.forEach((z, i) => {
    const t = target[i]!;
    if (t === ignore) {
      nll.push(0);
      smooth.push(0);
      return;
    }
    const lp = logSoftmaxRow(z);
    nll.push(-(lp[t]! * w(t)));
    D += w(t);
    let sm = 0;
    if (eps > 0) for (let c = 0; c < classes; c++) sm += w(c) * lp[c]!;
    smooth.push(-sm);
  });
  const sum = (a: number[]): number => a.reduce((s, v) => s + v, 0);
  const none = nll.map((n, i) => (eps > 0 ? (1 - eps) * n + (eps / classes) * smooth[i]! : n));
  const total = eps > 0 ? (1 - eps) * sum(nll) + (eps / classes) * sum(smooth) : sum(nll);
  const mean = eps > 0 ? (1 - eps) * (sum(nll) / D) + (eps / classes) * (sum(smooth) / D) : sum(nll) / D;
  return { none, sum: total, mean, D };
}

/** §5: cross-entropy with probability targets. */
export function crossEntropySoftRef(x: ArrayLike<number>, classes: number, q: ArrayLike<number>, o: { weight?: ArrayLike<number>; labelSmoothing?: number } = {}) {
  const eps = o.labelSmoothing ?? 0;
  const none = rowsOf(x, classes).map((z, i) => {
    const lp = logSoftmaxRow(z);
    let s = 0;
    for (let c = 0; c < classes; c++) {
      const qq = eps > 0 ? q[i * classes + c]! * (1 - eps) + eps / classes : q[i * classes + c]!;
      s += lp[c]! * qq * (o.weight ? o.weight[c]! : 1);
    }
    return -s;
  });
  const total = none.reduce((a, v) => a + v, 0);
  return { none, sum: total, mean: total / none.length };
}

/** §6 closed forms: grad_ij = σ[(1−ε) w_t (p_ij − δ) + (ε/C)(W p_ij − w_j)]; ignored rows 0 − p·0. */
export function crossEntropyGradRef(x: ArrayLike<number>, classes: number, target: ArrayLike<number>, reduction: 'sum' | 'mean', o: ClassOpts = {}): number[] {
  const ignore = o.ignoreIndex ?? -100;
  const eps = o.labelSmoothing ?? 0;
  const w = (c: number): number => (o.weight ? o.weight[c]! : 1);
  let W = 0;
  for (let c = 0; c < classes; c++) W += w(c);
  const { D } = crossEntropyClassRef(x, classes, target, o);
  const sigma = reduction === 'mean' ? 1 / D : 1;
  const grad: number[] = [];
  rowsOf(x, classes).forEach((z, i) => {
    const p = logSoftmaxRow(z).map(Math.exp);
    const t = target[i]!;
    for (let j = 0; j < classes; j++) {
      if (t === ignore) grad.push(Number.isNaN(p[j]!) ? NaN : 0);
      else {
        let g = (1 - eps) * w(t) * (p[j]! - (j === t ? 1 : 0));
        if (eps > 0) g += (eps / classes) * (W * p[j]! - w(j));
        grad.push(sigma * g);
      }
    }
  });
  return grad;
}

/** §6 soft targets: grad_ij = σ[p_ij Σ_c q'_ic w_c − q'_ij w_j], σ = 1/R or 1. */
export function crossEntropySoftGradRef(x: ArrayLike<number>, classes: number, q: ArrayLike<number>, reduction: 'sum' | 'mean', o: { weight?: ArrayLike<number>; labelSmoothing?: number } = {}): number[] {
  const eps = o.labelSmoothing ?? 0;
  const rows = rowsOf(x, classes);
  const sigma = reduction === 'mean' ? 1 / rows.length : 1;
  const grad: number[] = [];
  rows.forEach((z, i) => {
    const p = logSoftmaxRow(z).map(Math.exp);
    const qw = Array.from({ length: classes }, (_, c) => {
      const qq = eps > 0 ? q[i * classes + c]! * (1 - eps) + eps / classes : q[i * classes + c]!;
      return qq * (o.weight ? o.weight[c]! : 1);
    });
    const Q = qw.reduce((a, v) => a + v, 0);
    for (let j = 0; j < classes; j++) grad.push(sigma * (p[j]! * Q - qw[j]!));
  });
  return grad;
}

export const softplus = (v: number): number => Math.max(v, 0) + Math.log1p(Math.exp(-Math.abs(v)));

/**
 * §7 BCE with logits. Finite x: the stable form t·pw·softplus(−x) + (1−t)·softplus(x)
 * (SEMANTICS writes t·lw there, but only pos_weight itself makes it equal to
 * (1 − t)x + lw·softplus(−x) with lw = 1 + (pw − 1)t; spec-loss.test.ts checks that).
 * Infinite x: the literal (1 − t)·x − lw·log_sigmoid(x), whose 0·inf gives the quirks.
 */
export function bceRef(x: ArrayLike<number>, t: ArrayLike<number>, o: { weight?: ArrayLike<number>; posWeight?: ArrayLike<number>; classes?: number } = {}) {
  const C = o.classes ?? x.length;
  const none: number[] = [];
  for (let i = 0; i < x.length; i++) {
    const xi = x[i]!;
    const ti = t[i]!;
    const lw = o.posWeight ? 1 + (o.posWeight[i % C]! - 1) * ti : 1;
    const pw = o.posWeight ? o.posWeight[i % C]! : 1;
    let l: number;
    if (Number.isFinite(xi)) l = ti * pw * softplus(-xi) + (1 - ti) * softplus(xi);
    else {
      l = (1 - ti) * xi - lw * refLogSigmoid([xi])[0]!;
    }
    if (o.weight) l *= o.weight.length === x.length ? o.weight[i]! : o.weight[i % C]!;
    none.push(l);
  }
  const total = none.reduce((a, v) => a + v, 0);
  return { none, sum: total, mean: total / x.length };
}

/** §9 entropy: −Σ p lp with 0·log 0 = 0. */
export function entropyRef(x: ArrayLike<number>, classes: number): number[] {
  return rowsOf(x, classes).map((z) => {
    const lp = logSoftmaxRow(z);
    return -lp.reduce((a, v) => (v === -Infinity ? a : a + Math.exp(v) * v), 0);
  });
}

/** §9 KL(softmax(p) || softmax(q)) per row, with the log-domain −inf rules. */
export function klRef(p: ArrayLike<number>, q: ArrayLike<number>, classes: number): number[] {
  const qs = rowsOf(q, classes);
  return rowsOf(p, classes).map((zp, i) => {
    const lp = logSoftmaxRow(zp);
    const lq = logSoftmaxRow(qs[i]!);
    if (lp.some(Number.isNaN) || lq.some(Number.isNaN)) return NaN;
    let kl = 0;
    for (let j = 0; j < classes; j++) {
      if (lp[j] === -Infinity) continue;
      kl += lq[j] === -Infinity ? Infinity : Math.exp(lp[j]!) * (lp[j]! - lq[j]!);
    }
    return kl;
  });
}
