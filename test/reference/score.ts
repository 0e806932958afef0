/**
 * Float64 references for the scoring metrics (SEMANTICS §10 and the definitions in
 * src/metrics/summary.ts), computed straight from the float32 inputs as stored. Independent of the
 * engine: plain loops, Math.exp/log in float64.
 */
import { normal, rng } from '../helpers/random.js';

export interface RefScore {
  rows: number;
  nll: number;
  accuracy: number;
  topk: number;
  ece: number;
  mce: number;
  brier: number;
  meanEntropy: number;
  binCount: number[];
  support: number[];
  classCorrect: number[];
  predicted: number[];
  meanProb: number[];
  meanLogit: number[];
}

/** First index of the maximum (rows here have no NaN). */
function argmaxRow(x: ArrayLike<number>, o: number, C: number): number {
  let b = 0;
  for (let j = 1; j < C; j++) if (x[o + j] > x[o + b]) b = j;
  return b;
}

export function refScore(x: ArrayLike<number>, C: number, y: ArrayLike<number>, o: { T?: number; bins?: number; k?: number } = {}): RefScore {
  const T = o.T ?? 1;
  const M = o.bins ?? 15;
  const k = Math.min(o.k ?? 5, C);
  const R = y.length;
  let nll = 0;
  let correct = 0;
  let topk = 0;
  let brier = 0;
  let ent = 0;
  const binCount = new Array(M).fill(0);
  const binConf = new Array(M).fill(0);
  const binCorrect = new Array(M).fill(0);
  const support = new Array(C).fill(0);
  const classCorrect = new Array(C).fill(0);
  const predicted = new Array(C).fill(0);
  const probSum = new Array(C).fill(0);
  const logitSum = new Array(C).fill(0);
  for (let r = 0; r < R; r++) {
    const off = r * C;
    const z = Array.from({ length: C }, (_, j) => x[off + j] / T);
    const m = Math.max(...z);
    let s = 0;
    for (const v of z) s += Math.exp(v - m);
    const ls = Math.log(s);
    const lp = z.map((v) => v - m - ls);
    const p = lp.map(Math.exp);
    const t = y[r];
    const pred = argmaxRow(x, off, C);
    nll -= lp[t];
    const hit = pred === t ? 1 : 0;
    correct += hit;
    // rank of the label: number of classes strictly above it, or equal with a lower index
    let rank = 0;
    for (let j = 0; j < C; j++) if (x[off + j] > x[off + t] || (x[off + j] === x[off + t] && j < t)) rank++;
    if (rank < k) topk++;
    const conf = p[pred];
    const b = Math.min(M - 1, Math.max(0, Math.ceil(conf * M) - 1));
    binCount[b]++;
    binConf[b] += conf;
    binCorrect[b] += hit;
    let sq = 0;
    let h = 0;
    for (let j = 0; j < C; j++) {
      sq += (p[j] - (j === t ? 1 : 0)) ** 2;
      if (p[j] > 0) h -= p[j] * lp[j];
      probSum[j] += p[j];
      logitSum[j] += x[off + j];
    }
    brier += sq;
    ent += h;
    support[t]++;
    classCorrect[t] += hit;
    predicted[pred]++;
  }
  let ece = 0;
  let mce = 0;
  for (let b = 0; b < M; b++) {
    if (!binCount[b]) continue;
    ece += Math.abs(binCorrect[b] - binConf[b]) / R;
    mce = Math.max(mce, Math.abs(binCorrect[b] / binCount[b] - binConf[b] / binCount[b]));
  }
  return {
    rows: R,
    nll: nll / R,
    accuracy: correct / R,
    topk: topk / R,
    ece,
    mce,
    brier: brier / R,
    meanEntropy: ent / R,
    binCount,
    support,
    classCorrect,
    predicted,
    meanProb: probSum.map((v) => v / R),
    meanLogit: logitSum.map((v) => v / R),
  };
}

/** Mean NLL of softmax(β x) in float64. */
export function refNll(x: ArrayLike<number>, C: number, y: ArrayLike<number>, beta: number): number {
  let total = 0;
  for (let r = 0; r < y.length; r++) {
    let m = -Infinity;
    for (let j = 0; j < C; j++) m = Math.max(m, beta * x[r * C + j]);
    let s = 0;
    for (let j = 0; j < C; j++) s += Math.exp(beta * x[r * C + j] - m);
    total += Math.log(s) + m - beta * x[r * C + y[r]];
  }
  return total / y.length;
}

/** T* = argmin NLL over [tMin, tMax] by golden-section search in log β (NLL is convex in β). */
export function refFitTemperature(x: ArrayLike<number>, C: number, y: ArrayLike<number>, tMin = 0.01, tMax = 100): { T: number; nll: number } {
  let a = Math.log(1 / tMax);
  let b = Math.log(1 / tMin);
  const g = (Math.sqrt(5) - 1) / 2;
  const f = (u: number) => refNll(x, C, y, Math.exp(u));
  let c = b - g * (b - a);
  let d = a + g * (b - a);
  let fc = f(c);
  let fd = f(d);
  for (let i = 0; i < 80; i++) {
    if (fc < fd) {
      b = d;
      d = c;
      fd = fc;
      c = b - g * (b - a);
      fc = f(c);
    } else {
      a = c;
      c = d;
      fc = fd;
      d = a + g * (b - a);
      fd = f(d);
    }
  }
  const u = (a + b) / 2;
  return { T: 1 / Math.exp(u), nll: f(u) };
}

/** SEMANTICS §10 acceptance: within T*(1 ± 1e-3), or an NLL within 1e-6·max(1, NLL*) of the optimum. */
export function temperatureAccepted(T: number, x: ArrayLike<number>, C: number, y: ArrayLike<number>, ref: { T: number; nll: number }): boolean {
  if (Math.abs(T - ref.T) <= 1e-3 * ref.T) return true;
  return refNll(x, C, y, 1 / T) - ref.nll <= 1e-6 * Math.max(1, ref.nll);
}

/**
 * A realistic classifier: the right class gets a margin most of the time, and the logits are scaled
 * up so the model is over-confident (fitted T > 1).
 */
export function classifierData(rows: number, C: number, seed: number, scale = 3): { x: Float32Array; y: Int32Array } {
  const r = rng(seed);
  const x = new Float32Array(rows * C);
  const y = new Int32Array(rows);
  for (let i = 0; i < rows; i++) {
    const t = Math.floor(r() * C);
    y[i] = t;
    const favoured = r() < 0.7 ? t : Math.floor(r() * C);
    for (let j = 0; j < C; j++) x[i * C + j] = scale * (normal(r) + (j === favoured ? 2.5 : 0));
  }
  return { x, y };
}
