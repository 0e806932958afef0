/**
 * The comparison rule and tolerance formulas of SEMANTICS.md §11, used by every
 * spec test to compare a backend's float32 output with a float64 reference.
 */
import { expect } from 'vitest';

export const U = 2 ** -24;
export const FLT_MIN = 1.1754943508222875e-38;

export interface Tol {
  rtol: number;
  atol: number;
}

/** Largest spread (max − min of finite entries) of a row of z = x/T, and the largest finite |z|. */
export function spreadOf(x: ArrayLike<number>, classes: number, temperature = 1): { S: number; zmax: number } {
  let S = 0;
  let zmax = 0;
  for (let r = 0; r * classes < x.length; r++) {
    let lo = Infinity;
    let hi = -Infinity;
    for (let j = 0; j < classes; j++) {
      const v = x[r * classes + j]!;
      const z = temperature === 1 ? v : Math.fround(v / temperature);
      if (!Number.isFinite(z)) continue;
      lo = Math.min(lo, z);
      hi = Math.max(hi, z);
      zmax = Math.max(zmax, Math.abs(z));
    }
    if (hi >= lo) S = Math.max(S, hi - lo);
  }
  return { S, zmax };
}

/** Log-domain outputs: logsumexp, log_softmax, CE, soft CE, entropy, KL, BCE. */
export function logTol(o: { C: number; S: number; N?: number; zmax?: number; T?: number }): Tol {
  const N = o.N ?? o.C;
  return {
    rtol: 2e-6 + 4 * U * Math.sqrt(N),
    atol: 1e-6 + 4 * U * o.S + 4 * U * Math.sqrt(o.C) + (o.T !== undefined && o.T !== 1 ? 4 * U * (o.zmax ?? 0) : 0),
  };
}

/** Probabilities: softmax (atol 1e-36) and sigmoid (atol FLT_MIN). */
export function probTol(o: { C: number; S: number; zmax?: number; T?: number; sigmoid?: boolean }): Tol {
  return {
    rtol: 2e-6 + 4 * U * Math.sqrt(o.C) + 2 * U * o.S + (o.T !== undefined && o.T !== 1 ? 4 * U * (o.zmax ?? 0) : 0),
    atol: o.sigmoid ? FLT_MIN : 1e-36,
  };
}

/** Gradients: g is the per-entry gradient scale of §11. */
export function gradTol(o: { C: number; S: number; g: number }): Tol {
  return { rtol: 1e-5, atol: (2e-6 + 4 * U * Math.sqrt(o.C) + 2 * U * o.S) * o.g };
}

/** Rule 1–3: round the reference to float32; specials must match exactly; else |got − exp| ≤ atol + rtol·|exp|. */
export function closeEnough(got: number, exp: number, tol: Tol): boolean {
  const r = Math.fround(exp);
  if (Number.isNaN(r)) return Number.isNaN(got);
  if (r === Infinity || r === -Infinity) return got === r;
  if (!Number.isFinite(got)) return false;
  return Math.abs(got - exp) <= tol.atol + tol.rtol * Math.abs(exp);
}

/** Asserts every element, reporting the first few offenders with their index. */
export function expectClose(got: ArrayLike<number> | number, exp: ArrayLike<number> | number, tol: Tol, label = ''): void {
  const g = typeof got === 'number' ? [got] : got;
  const e = typeof exp === 'number' ? [exp] : exp;
  expect(g.length, `${label} length`).toBe(e.length);
  const bad: string[] = [];
  let worst = 0;
  for (let i = 0; i < e.length; i++) {
    if (!closeEnough(g[i]!, e[i]!, tol)) {
      if (bad.length < 5) bad.push(`[${i}] got ${g[i]} expected ${e[i]}`);
      const r = Math.abs(g[i]! - e[i]!) / (tol.atol + tol.rtol * Math.abs(e[i]!));
      if (r > worst || Number.isNaN(r)) worst = r;
    }
  }
  expect(bad, `${label}: ${bad.length ? `off by up to ${worst.toPrecision(3)}× the bound (rtol ${tol.rtol}, atol ${tol.atol})` : ''}`).toEqual([]);
}

/** Exact equality for integer and "exact" outputs (−0 == +0, NaN == NaN). */
export function expectExact(got: ArrayLike<number>, exp: ArrayLike<number>, label = ''): void {
  expect(got.length, `${label} length`).toBe(exp.length);
  for (let i = 0; i < exp.length; i++) {
    const ok = Number.isNaN(exp[i]!) ? Number.isNaN(got[i]!) : got[i] === exp[i];
    if (!ok) expect(`${label}[${i}] = ${got[i]}`).toBe(`${label}[${i}] = ${exp[i]}`);
  }
}
