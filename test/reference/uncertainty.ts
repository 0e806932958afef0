/**
 * Float64 references of issue 24's ops, written from the issue's definitions and independent of
 * the backends: p = softmax(z) rounded to float32 (the issue's "p computed by the engine (float32)"),
 * everything after it in float64; rank order p descending, ties to the lower class index.
 */
import { refLogSumExp, refMax, refSoftmax, zRow } from './core.js';

/** p of each row as float32 values (NaN rows: all NaN). */
export function refProbs(x: ArrayLike<number>, classes: number, T = 1): number[][] {
  const p = refSoftmax(x, classes, T).map(Math.fround);
  return Array.from({ length: p.length / classes }, (_, r) => p.slice(r * classes, (r + 1) * classes));
}

export function refRank(p: number[]): number[] {
  return p.map((_, j) => j).sort((a, b) => (p[a]! > p[b]! ? -1 : p[a]! < p[b]! ? 1 : a - b));
}

export type OodMethod = 'msp' | 'maxLogit' | 'energy' | 'entropy' | 'margin' | 'gen';

export function refOod(x: ArrayLike<number>, classes: number, method: OodMethod, o: { T?: number; gamma?: number; topM?: number } = {}): number[] {
  const T = o.T ?? 1;
  if (method === 'maxLogit') return Array.from({ length: x.length / classes }, (_, r) => -refMax(zRow(x, r * classes, classes)));
  if (method === 'energy') return refLogSumExp(x, classes, T).map((l) => -T * l);
  return refProbs(x, classes, T).map((p) => {
    if (p.some(Number.isNaN)) return NaN;
    const sorted = [...p].sort((a, b) => b - a);
    switch (method) {
      case 'msp':
        return -sorted[0]!;
      case 'margin':
        return -(sorted[0]! - (sorted[1] ?? 0));
      case 'entropy':
        return -p.reduce((s, v) => s + (v > 0 ? v * Math.log(v) : 0), 0);
      case 'gen': {
        const g = o.gamma ?? 0.1;
        const M = Math.min(o.topM ?? 100, classes);
        return sorted.slice(0, M).reduce((s, v) => s + v ** g * (1 - v) ** g, 0);
      }
    }
  });
}

export interface RefConformal {
  method: 'lac' | 'aps' | 'raps';
  T?: number;
  lambda?: number;
  kReg?: number;
}

/** Scores of every class of every row: score[r][j]; u[r] per row (1 when not randomized). */
export function refConformalScores(x: ArrayLike<number>, classes: number, c: RefConformal, u: ArrayLike<number> | null): number[][] {
  return refProbs(x, classes, c.T ?? 1).map((p, r) => {
    const s = new Array<number>(classes).fill(NaN);
    if (p.some(Number.isNaN)) return s;
    let rho = 0;
    refRank(p).forEach((j, k) => {
      const uu = u === null ? 1 : u[r]!;
      if (c.method === 'lac') s[j] = 1 - p[j]!;
      else s[j] = rho + uu * p[j]! + (c.method === 'raps' ? (c.lambda ?? 0.01) * Math.max(0, k + 1 - (c.kReg ?? 5)) : 0);
      rho += p[j]!;
    });
    return s;
  });
}

/** q̂: the k-th smallest, k = ⌈(n + 1)(1 − α)⌉ (integer arithmetic on α = a/100), +∞ when k > n. */
export function refQhat(scores: number[], alphaPercent: number): number {
  const n = scores.length;
  const k = Math.ceil(((n + 1) * (100 - alphaPercent)) / 100);
  return k > n ? Infinity : [...scores].sort((a, b) => a - b)[k - 1]!;
}
