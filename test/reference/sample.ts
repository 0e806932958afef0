/**
 * The float64 sampling reference for the spec suites (test/spec-sample*.test.ts): the README's
 * exact rules ("Sampling and logits processing") written the obvious way — Math.exp / Math.log,
 * a whole-vocabulary sort, sums in rank order — independently of the backends' shared exp and
 * summation orders, so a mistake both backends share would still show. One row at a time.
 */
import type { SampleOptions } from '../../src/index.js';

const fround = Math.fround;

export interface RefOptions {
  temperature?: number;
  topK?: number;
  topP?: number;
  minP?: number;
  minTokensToKeep?: number;
  repetitionPenalty?: number;
  penaltyTokens?: Int32Array;
  frequencyPenalty?: number;
  presencePenalty?: number;
  penaltyLastN?: number;
  /** One mask for the row (⌈C/32⌉ words). */
  tokenBitmask?: Int32Array;
  bias?: Map<number, number>;
  allowedTokens?: Int32Array;
  suppressTokens?: Int32Array;
  topNSigma?: number;
  epsilon?: number;
  eta?: number;
  /** XTC as it applies to this row (the row's draw already below its probability). */
  xtcThreshold?: number;
  /** Hugging Face typical-p mass (1 = off). */
  typicalP?: number;
  /** llama.cpp order: temperature last, typical-p right after top-k. */
  llama?: boolean;
}

export function allowedSet(C: number, o: RefOptions): boolean[] {
  const ok = new Array<boolean>(C).fill(true);
  if (o.tokenBitmask) for (let j = 0; j < C; j++) ok[j] = ((o.tokenBitmask[Math.floor(j / 32)]! >>> j % 32) & 1) === 1;
  if (o.allowedTokens) {
    const a = new Set(o.allowedTokens);
    for (let j = 0; j < C; j++) ok[j] = ok[j]! && a.has(j);
  }
  if (o.suppressTokens) for (const t of o.suppressTokens) ok[t] = false;
  return ok;
}

/** z of one row: bias, penalties (window), temperature, constraints; NaN → −inf. */
export function refZ(row: Float32Array, o: RefOptions): number[] {
  const C = row.length;
  const T = o.temperature ?? 1;
  const v = Array.from(row);
  if (o.bias) for (const [t, b] of o.bias) v[t] = fround(v[t]! + b);
  const list = Array.from(o.penaltyTokens ?? []);
  const n = o.penaltyLastN ?? -1;
  const window = n === -1 ? list : n === 0 ? [] : list.slice(Math.max(0, list.length - n));
  const counts = new Map<number, number>();
  for (const t of window) counts.set(t, (counts.get(t) ?? 0) + 1);
  const rep = o.repetitionPenalty ?? 1;
  const af = o.frequencyPenalty ?? 0;
  const ap = o.presencePenalty ?? 0;
  for (const [t, c] of counts) {
    if (rep !== 1) v[t] = v[t]! > 0 ? fround(v[t]! / rep) : fround(v[t]! * rep);
    if (af !== 0 || ap !== 0) v[t] = fround(v[t]! - (c * af + ap));
  }
  const ok = allowedSet(C, o);
  return v.map((a, j) => {
    const z = T === 0 || T === 1 || o.llama ? a : fround(a / T);
    return !ok[j] || Number.isNaN(z) ? -Infinity : z;
  });
}

/** Kept set (ascending) and the filtered distribution, from the README's HF rules on z. */
export function refKept(row: Float32Array, o: RefOptions): { kept: number[]; probs: Map<number, number>; z: number[] } {
  const z = refZ(row, o);
  const C = z.length;
  const n = o.topNSigma ?? 0;
  const zmax = Math.max(...z);
  if (n > 0 && o.temperature !== 0 && Number.isFinite(zmax)) {
    // llama.cpp top-nσ: population σ over the finite logits.
    const fin = z.filter((a) => a !== -Infinity);
    if (fin.length >= 2) {
      const mu = fin.reduce((s, a) => s + a, 0) / fin.length;
      const sigma = Math.sqrt(fin.reduce((s, a) => s + (a - mu) ** 2, 0) / fin.length);
      for (let j = 0; j < C; j++) if (z[j]! < zmax - n * sigma) z[j] = -Infinity;
    }
  }
  const keep = Math.min(o.minTokensToKeep ?? 1, C);
  let order = z.map((_, j) => j).sort((a, b) => (z[b]! !== z[a]! ? (z[b]! > z[a]! ? 1 : -1) : a - b));
  const rank0 = order[0]!;
  const m = z[rank0]!;
  const w = z.map((a) => (m === Infinity ? (a === Infinity ? 1 : 0) : Math.exp(a - m)));
  let K = C;
  if ((o.topK ?? 0) > 0) {
    const k = Math.min(Math.max(o.topK!, keep), C);
    const tau = z[order[k - 1]!]!;
    K = order.filter((j) => z[j]! >= tau).length;
  }
  const typicalP = o.typicalP ?? 1;
  // Typical keeps any subset: the kept set becomes the new rank list, K its length.
  const typical = (): void => {
    order = refTypical(z, m, w, order.slice(0, K), keep, typicalP);
    K = order.length;
  };
  if (typicalP < 1 && o.llama) typical();
  const topP = o.topP ?? 1;
  if (topP < 1) {
    const S = order.slice(0, K).reduce((s, j) => s + w[j]!, 0);
    let W = 0;
    let K2 = K;
    for (let i = 0; i < K; i++) {
      W += w[order[i]!]!;
      if (W >= topP * S) {
        K2 = i + 1;
        break;
      }
    }
    K = Math.min(Math.max(K2, keep), K);
  }
  const minP = o.minP ?? 0;
  if (minP > 0) {
    let K3 = K;
    for (let i = 0; i < K; i++)
      if (w[order[i]!]! < minP) {
        K3 = i;
        break;
      }
    K = Math.min(Math.max(K3, keep), K);
  }
  if (typicalP < 1 && !o.llama) typical();
  // Hugging Face epsilon / eta: probabilities of the distribution left so far.
  for (const [cut, isEta] of [[o.epsilon ?? 0, false], [o.eta ?? 0, true]] as const) {
    if (!(cut > 0)) continue;
    const S = order.slice(0, K).reduce((s, j) => s + w[j]!, 0);
    const p = (j: number): number => w[j]! / S;
    const H = -order.slice(0, K).reduce((s, j) => (p(j) > 0 ? s + p(j) * Math.log(p(j)) : s), 0);
    const c = isEta ? Math.min(cut, Math.sqrt(cut) * Math.exp(-H)) : cut;
    let K4 = K;
    for (let i = 0; i < K; i++)
      if (p(order[i]!) < c) {
        K4 = i;
        break;
      }
    K = Math.min(Math.max(K4, keep), K);
  }
  // llama.cpp XTC: the leading tokens with p ≥ threshold, all but the last, when ≥ 2 and enough remain.
  let first = 0;
  if (o.xtcThreshold !== undefined && o.xtcThreshold <= 0.5) {
    const S = order.slice(0, K).reduce((s, j) => s + w[j]!, 0);
    let lead = 0;
    while (lead < K && w[order[lead]!]! / S >= o.xtcThreshold) lead++;
    if (lead - 1 > 0 && K - (lead - 1) >= keep) first = lead - 1;
  }
  if (o.temperature === 0) (order = [rank0]), (K = 1), (first = 0); // greedy: the argmax, whatever the filters
  // −inf tokens may sit inside a kept prefix (e.g. minTokensToKeep) but weigh nothing and stay −inf.
  const kept = order.slice(first, K).filter((j) => z[j] !== -Infinity).sort((a, b) => a - b);
  const T = o.temperature ?? 1;
  const zs = o.llama && T !== 0 && T !== 1 ? z.map((a) => fround(a / T)) : z;
  const ms = Math.max(...zs);
  const ws = zs.map((a) => (ms === Infinity ? (a === Infinity ? 1 : 0) : Math.exp(a - ms)));
  const total = kept.reduce((s, j) => s + ws[j]!, 0);
  return { kept, probs: new Map(kept.map((j) => [j, ws[j]! / total])), z: zs };
}

/** The library options equivalent to a RefOptions. */
export function libOptions(o: RefOptions): SampleOptions {
  const { bias, xtcThreshold, llama, ...rest } = o;
  const lib: SampleOptions = bias ? { ...rest, logitBias: bias } : rest;
  // probability 1: XTC applies to every row (every draw is < 1).
  if (xtcThreshold !== undefined) lib.xtc = { probability: 1, threshold: xtcThreshold };
  if (llama) lib.order = 'llama.cpp';
  return lib;
}

/**
 * Hugging Face's TypicalLogitsWarper on the kept list (rank order): log p by log-softmax over the
 * list, H = −Σ p log p, shifted score |−log p − H|; sort by it ascending (ties by lower id),
 * cumulative p in that order, the first index where it reaches `mass` (none: the last); keep every
 * token whose score ≤ that token's, and the first `keep` of the order. Returns the kept list in
 * rank order.
 */
export function refTypical(z: number[], m: number, w: number[], list: number[], keep: number, mass: number): number[] {
  const S = list.reduce((s, j) => s + w[j]!, 0);
  const infinite = list.filter((j) => z[j] === Infinity).length;
  const logp = (j: number): number =>
    m === Infinity ? (z[j] === Infinity ? -Math.log(infinite) : -Infinity) : z[j]! - m - Math.log(S);
  const H = -list.reduce((s, j) => (w[j]! > 0 ? s + Math.exp(logp(j)) * logp(j) : s), 0);
  const score = new Map(list.map((j) => [j, Math.abs(-logp(j) - H)]));
  const sorted = [...list].sort((a, b) => (score.get(a)! < score.get(b)! ? -1 : score.get(a)! > score.get(b)! ? 1 : a - b));
  let last = sorted.length - 1;
  let cum = 0;
  for (let i = 0; i < sorted.length; i++) {
    cum += w[sorted[i]!]! / S;
    if (cum >= mass) {
      last = i;
      break;
    }
  }
  const sStar = score.get(sorted[last]!)!;
  const kept = new Set(sorted.filter((j, i) => score.get(j)! <= sStar || i < keep));
  return list.filter((j) => kept.has(j));
}

