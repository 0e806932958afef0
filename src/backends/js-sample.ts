/**
 * Reference logits processing and sampling (the README section "Sampling and logits processing" has the rules in prose).
 *
 * One row goes through the constraints and penalties (sparse edits and a bitmask prepared by
 * src/sampling.ts), then Hugging Face transformers' warpers in their order:
 *   temperature → top-nσ → top-k → top-p → min-p → typical-p → epsilon → eta → XTC → draw
 * (llama.cpp order: typical-p right after top-k, temperature only at the draw).
 * Everything here is written the obvious way (the whole vocabulary is sorted)
 * because this file *is* the definition the wasm kernel (assembly/kernels/sample.ts)
 * must reproduce token for token. To make that possible the two share, exactly:
 *   - the processed logits z (float32 values: fround(x / T), penalty first),
 *   - the weights w_j = exp(z_j − m) from one f64 exp written the same way in both
 *     (expNonPositive below; only IEEE +,−,×, floor — no Math.exp, whose last bit
 *     differs between engines),
 *   - the order of every floating-point sum (index order for totals, rank order for
 *     the top-p running sum).
 * So every decision (which tokens survive, which token the uniform lands on) is the
 * same bit-for-bit on both backends.
 */
import type { FilterOptions } from './backend.js';

const fround = Math.fround;

// ---- the shared exp ------------------------------------------------------------------
// exp(d) for d ≤ 0 in f64: k = floor(d·log2(e) + 1/2), r = d − k·ln2 (Cody–Waite split: k·LN2_HI
// is exact for the |k| ≤ 1011 used here), e^r by the degree-13 Taylor polynomial in Horner form,
// times 2^k. d < −700 (and −inf) gives 0. Measured: within 1 ulp of Math.exp at 2,000,000 random
// points of [−700, 0] (mean 0.07 ulp; test/spec-sample.test.ts asserts ≤ 2). exp(0) = 1 exactly,
// which the top-p and min-p rules rely on (the top token weighs exactly 1).
const LOG2E = 1.4426950408889634;
const LN2_HI = 6.93147180369123816490e-1;
const LN2_LO = 1.90821492927058770002e-10;
const C2 = 0.5;
const C3 = 0.16666666666666666;
const C4 = 0.041666666666666664;
const C5 = 0.008333333333333333;
const C6 = 0.001388888888888889;
const C7 = 0.0001984126984126984;
const C8 = 0.0000248015873015873;
const C9 = 0.0000027557319223985893;
const C10 = 2.7557319223985894e-7;
const C11 = 2.505210838544172e-8;
const C12 = 2.08767569878681e-9;
const C13 = 1.6059043836821616e-10;

/** 2^-i for i in [0, 1011], built by exact halving. */
const POW2_NEG = (() => {
  const t = new Float64Array(1012);
  let v = 1;
  for (let i = 0; i < t.length; i++, v /= 2) t[i] = v;
  return t;
})();

/** exp(d) for d ≤ 0, bit-identical to the wasm kernel's expNonPositive. */
export function expNonPositive(d: number): number {
  if (!(d >= -700)) return 0;
  const k = Math.floor(d * LOG2E + 0.5);
  const r = d - k * LN2_HI - k * LN2_LO;
  let p = C13;
  p = p * r + C12;
  p = p * r + C11;
  p = p * r + C10;
  p = p * r + C9;
  p = p * r + C8;
  p = p * r + C7;
  p = p * r + C6;
  p = p * r + C5;
  p = p * r + C4;
  p = p * r + C3;
  p = p * r + C2;
  p = p * r + 1;
  p = p * r + 1;
  return p * POW2_NEG[-k]!;
}

/**
 * ln(s) for 1 ≤ s < 2^1011, bit-identical to the wasm kernel's logAtLeastOne (only IEEE +, −, ×, /):
 * s = 2^e · f with f in [√½, √2) by exact halvings, ln f = 2·atanh((f − 1)/(f + 1)) by its odd
 * series to s^21 (terms below 2^-60 for |s| ≤ 0.172), plus e·ln 2 in two parts. Measured within
 * 2 ulp of Math.log on [1, 2^21] (200,000 points, worst 1.91; test/spec-sample-llm.test.ts).
 */
export function logAtLeastOne(s: number): number {
  let e = 0;
  let f = s;
  while (f >= 2) (f /= 2), e++;
  if (f > SQRT2) (f /= 2), e++;
  const a = (f - 1) / (f + 1);
  const a2 = a * a;
  let q = 1 / 21;
  q = q * a2 + 1 / 19;
  q = q * a2 + 1 / 17;
  q = q * a2 + 1 / 15;
  q = q * a2 + 1 / 13;
  q = q * a2 + 1 / 11;
  q = q * a2 + 1 / 9;
  q = q * a2 + 1 / 7;
  q = q * a2 + 1 / 5;
  q = q * a2 + 1 / 3;
  q = q * a2 + 1;
  return e * LN2_HI + (e * LN2_LO + 2 * a * q);
}
const SQRT2 = 1.4142135623730951;

/**
 * llama.cpp's top-nσ, on z in place: over the finite z, mean μ and population σ (sums in four
 * partial sums by index mod 4, combined (s0 + s1) + (s2 + s3) — the order the kernel's SIMD uses),
 * then z_j < m − n·σ becomes −inf. m = ±inf or fewer than two finite tokens: no-op.
 */
export function topNSigmaCut(z: Float64Array, m: number, n: number): void {
  if (!(m < Infinity) || m === -Infinity) return;
  const s = [0, 0, 0, 0];
  let count = 0;
  for (let j = 0; j < z.length; j++)
    if (z[j]! !== -Infinity) {
      s[j & 3]! += z[j]!;
      count++;
    }
  if (count < 2) return;
  const mu = (s[0]! + s[1]! + (s[2]! + s[3]!)) / count;
  const v = [0, 0, 0, 0];
  for (let j = 0; j < z.length; j++)
    if (z[j]! !== -Infinity) {
      const d = z[j]! - mu;
      v[j & 3]! += d * d;
    }
  const sigma = Math.sqrt((v[0]! + v[1]! + (v[2]! + v[3]!)) / count);
  const threshold = m - n * sigma;
  for (let j = 0; j < z.length; j++) if (z[j]! < threshold) z[j] = -Infinity;
}

// ---- one row -------------------------------------------------------------------------

/**
 * Processed logits z of one row: x with the row's sparse edits (logit bias and penalties,
 * already computed in float32 by src/sampling.ts) in place of the listed tokens, then
 * temperature (fround(z / T); T = 0 (greedy) and T = 1 leave z as is), then −inf for every token
 * the row's mask disallows. NaN becomes −inf: a NaN logit is never kept or drawn.
 */
export function processedRow(x: Float32Array, r: number, classes: number, o: FilterOptions): Float64Array {
  const start = r * classes;
  const t = o.temperature;
  const scale = t !== 0 && t !== 1 && !o.temperatureLast;
  const z = new Float64Array(classes);
  for (let j = 0; j < classes; j++) {
    const v = x[start + j]!;
    z[j] = scale ? fround(v / t) : v;
  }
  const e = o.edits;
  if (e !== null)
    for (let i = e.offsets[r]!; i < e.offsets[r + 1]!; i++) {
      const v = e.values[i]!;
      z[e.ids[i]!] = scale ? fround(v / t) : v;
    }
  if (o.mask !== null) {
    const at = r * o.maskStride;
    for (let j = 0; j < classes; j++) if (((o.mask[at + (j >> 5)]! >>> (j & 31)) & 1) === 0) z[j] = -Infinity;
  }
  for (let j = 0; j < classes; j++) if (z[j] !== z[j]) z[j] = -Infinity;
  return z;
}

/** Largest z (z has no NaN); −inf for an all −inf row. */
function rowMax(z: Float64Array): number {
  let m = -Infinity;
  for (let j = 0; j < z.length; j++) if (z[j]! > m) m = z[j]!;
  return m;
}

/** First index of the largest z: the greedy token. */
function firstMaxIndex(z: Float64Array): number {
  let best = 0;
  for (let j = 1; j < z.length; j++) if (z[j]! > z[best]!) best = j;
  return best;
}

/**
 * Unnormalised probability of a token: exp(z − m). With an infinite max, every +inf
 * token weighs 1 and the rest 0 (the limit of softmax); with m = −inf all weigh 0.
 */
export function weightOf(z: number, m: number): number {
  if (m === Infinity) return z === Infinity ? 1 : 0;
  if (m === -Infinity) return 0;
  return expNonPositive(z - m);
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);
const INDEX_SPAN = 2 ** 21;
/** Rows with at least this many candidates are ordered by radix sort (below it, by the native sort). */
const RADIX_FROM = 512;

/** 0 for the largest z, increasing as z decreases (−0 and +0 the same): an order-preserving key. */
function descendingKey(v: number): number {
  f32[0] = v;
  let b = u32[0]!;
  if (b === 0x80000000) b = 0;
  const ordered = b & 0x80000000 ? ~b >>> 0 : (b | 0x80000000) >>> 0;
  return 0xffffffff - ordered;
}

/**
 * All indices in rank order: z descending, ties (−0 == +0 included) by lower index. Each token
 * becomes a 32-bit key that orders its (float32) z; with the index that is one exact integer,
 * key · 2^21 + j, so a native numeric sort of a Float64Array does the work (about 10× faster than
 * a comparator sort). V8 sorts a typed array through boxed numbers, ~35 ms for a 128k-wide row, so
 * wide rows take a stable LSD radix sort of the keys instead (four byte passes, indices carried:
 * equal keys stay in index order), ~2 ms. Rows of 2^21 classes or more use the comparator.
 */
function rankOrder(z: Float64Array): Int32Array {
  // −inf tokens are never candidates: they weigh nothing, and leaving them out keeps counts
  // (top-k's k, XTC's "tokens left") about tokens that can be drawn.
  // (an Int32Array: pushing 128k indices onto a number[] took 30-70 ms)
  const all = new Int32Array(z.length);
  let C = 0;
  for (let j = 0; j < z.length; j++) if (z[j] !== -Infinity) all[C++] = j;
  const live = all.subarray(0, C);
  if (z.length >= INDEX_SPAN) return Int32Array.from(Array.from(live).sort((a, b) => (z[a]! > z[b]! ? -1 : z[a]! < z[b]! ? 1 : a - b)));
  if (C >= RADIX_FROM) return radixRankOrder(z, live);
  const keys = new Float64Array(C);
  for (let i = 0; i < C; i++) keys[i] = descendingKey(z[live[i]!]!) * INDEX_SPAN + live[i]!;
  keys.sort();
  const order = new Int32Array(C);
  for (let i = 0; i < C; i++) order[i] = keys[i]! % INDEX_SPAN;
  return order;
}

/** rankOrder of the `live` indices (ascending) by a stable radix sort of their descending keys. */
function radixRankOrder(z: Float64Array, live: Int32Array): Int32Array {
  const C = live.length;
  let key = new Uint32Array(C);
  let order = new Int32Array(C);
  for (let i = 0; i < C; i++) {
    key[i] = descendingKey(z[live[i]!]!);
    order[i] = live[i]!;
  }
  let key2 = new Uint32Array(C);
  let order2 = new Int32Array(C);
  const count = new Int32Array(256);
  for (let shift = 0; shift < 32; shift += 8) {
    count.fill(0);
    for (let i = 0; i < C; i++) count[(key[i]! >>> shift) & 255]!++;
    if (count[(key[0]! >>> shift) & 255] === C) continue; // one digit for every key: already in order
    let at = 0;
    for (let d = 0; d < 256; d++) {
      const n = count[d]!;
      count[d] = at;
      at += n;
    }
    for (let i = 0; i < C; i++) {
      const d = (key[i]! >>> shift) & 255;
      const to = count[d]!++;
      key2[to] = key[i]!;
      order2[to] = order[i]!;
    }
    [key, key2] = [key2, key];
    [order, order2] = [order2, order];
  }
  return order;
}

/**
 * The distinct indices of `list` (each below `classes`) in ascending order: marked, then read off in
 * one pass, O(classes) (V8's typed-array sort boxes its elements: ~30 ms for 128k).
 */
function inIndexOrder(list: Int32Array, classes: number): Int32Array {
  const mark = new Uint8Array(classes);
  for (let i = 0; i < list.length; i++) mark[list[i]!] = 1;
  const out = new Int32Array(list.length);
  let n = 0;
  for (let j = 0; j < classes; j++) if (mark[j] === 1) out[n++] = j;
  return out;
}

/**
 * The kept set of one row, in index order. The rank order is z descending, ties by
 * lower index; every stage but typical-p keeps a prefix of the rank order of what is kept so far:
 *  - top-k (k = min(max(topK, minTokensToKeep), C)): every token with z ≥ the k-th
 *    largest z (ties at the k-th value are all kept, as in HF);
 *  - top-p: S = Σ w over the kept set (index order); the running sum W in rank order
 *    stops at the first token where W ≥ topP·S; at least minTokensToKeep;
 *  - min-p: cut at the first token (rank order) with w < minP (w = p / p_max); at
 *    least minTokensToKeep;
 *  - typical-p (after min-p, or right after top-k in the llama.cpp order): any subset, see typicalCut.
 */
export function keptTokens(z: Float64Array, m: number, o: FilterOptions, r = 0): Int32Array {
  // The kept set so far, in rank order: the tokens above −inf.
  let list = rankOrder(z);
  const w = new Float64Array(z.length);
  for (let j = 0; j < z.length; j++) w[j] = weightOf(z[j]!, m);
  const keep = Math.min(o.minTokensToKeep, z.length);
  const typical = o.typicalP < 1;
  if (o.topK > 0) {
    const C = list.length;
    const k = Math.min(Math.max(o.topK, o.minTokensToKeep), C);
    const tau = z[list[k - 1]!]!;
    let K = k;
    while (K < C && z[list[K]!]! >= tau) K++;
    list = list.subarray(0, K);
  }
  if (typical && o.temperatureLast) list = typicalCut(z, m, w, list, keep, o.typicalP);
  if (o.topP < 1) {
    const K = list.length;
    const S = indexOrderSums(z, m, w, list, false).S;
    const target = o.topP * S;
    let K2 = K;
    let W = 0;
    for (let i = 0; i < K; i++) {
      W += w[list[i]!]!;
      if (W >= target) {
        K2 = i + 1;
        break;
      }
    }
    list = list.subarray(0, Math.min(Math.max(K2, keep), K));
  }
  if (o.minP > 0) {
    const K = list.length;
    let K3 = K;
    for (let i = 0; i < K; i++)
      if (w[list[i]!]! < o.minP) {
        K3 = i;
        break;
      }
    list = list.subarray(0, Math.min(Math.max(K3, keep), K));
  }
  if (typical && !o.temperatureLast) list = typicalCut(z, m, w, list, keep, o.typicalP);
  if (o.epsilon > 0) list = list.subarray(0, massCut(z, m, w, list, keep, o.epsilon, false));
  if (o.eta > 0) list = list.subarray(0, massCut(z, m, w, list, keep, o.eta, true));
  if (o.xtc !== null && o.xtcDraws !== null && o.xtcDraws[r]! < o.xtc.probability && o.xtc.threshold <= 0.5)
    list = list.subarray(xtcStart(w, list, keep, o.xtc.threshold));
  return inIndexOrder(list, z.length);
}

/**
 * S = Σ w and A = Σ w·(z − m) over the listed tokens with w > 0, in index order (A's term is 0
 * when m = +inf): the mass of the kept set and, through H = ln S − A/S, its entropy.
 */
function indexOrderSums(z: Float64Array, m: number, w: Float64Array, list: Int32Array, wantA: boolean): { S: number; A: number } {
  const kept = inIndexOrder(list, z.length);
  let S = 0;
  let A = 0;
  for (let i = 0; i < kept.length; i++) {
    const j = kept[i]!;
    if (w[j]! > 0) {
      S += w[j]!;
      if (wantA && m !== Infinity) A += w[j]! * (z[j]! - m);
    }
  }
  return { S, A };
}

/**
 * Hugging Face's TypicalLogitsWarper on the kept set `list` (rank order). With S and A of the set,
 * −log p_j − H = A/S − (z_j − m), so the shifted score is s_j = |(z_j − m) − A/S| (float64; with
 * m = +inf: 0 for the +inf tokens, +inf for the rest) and no logarithm is needed. Tokens sorted by
 * s ascending, ties by lower index; the running sum W of w in that order stops at the first token
 * where W ≥ typicalP·S (none: the last); kept are every token whose s ≤ that token's s (so ties
 * with it are all kept, as in HF) and the first minTokensToKeep of the order. Returns the kept
 * tokens in rank order.
 */
export function typicalCut(z: Float64Array, m: number, w: Float64Array, list: Int32Array, keep: number, p: number): Int32Array {
  const n = list.length;
  const { S, A } = indexOrderSums(z, m, w, list, true);
  if (!(S > 0) || n === 0) return list;
  const mu = A / S;
  const s = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const j = list[i]!;
    s[i] = m === Infinity ? (z[j] === Infinity ? 0 : Infinity) : Math.abs(z[j]! - m - mu);
  }
  const byS = Array.from({ length: n }, (_, i) => i).sort((a, b) => (s[a]! < s[b]! ? -1 : s[a]! > s[b]! ? 1 : list[a]! - list[b]!));
  const target = p * S;
  let last = n - 1;
  let W = 0;
  for (let i = 0; i < n; i++) {
    W += w[list[byS[i]!]!]!;
    if (W >= target) {
      last = i;
      break;
    }
  }
  const sStar = s[byS[last]!]!;
  const kept = new Uint8Array(n);
  for (let i = 0; i < n; i++) if (s[byS[i]!]! <= sStar || i < keep) kept[byS[i]!] = 1;
  return list.filter((_, i) => kept[i] === 1);
}

/**
 * llama.cpp's XTC on the kept set `list` (rank order): with S = Σ w over it (index order, w > 0), the
 * leading ranks whose w ≥ threshold·S (p ≥ threshold) are "top choices"; all but the last of them
 * are dropped when there are at least two and at least minTokensToKeep tokens remain. Returns the
 * first rank kept.
 */
function xtcStart(w: Float64Array, list: Int32Array, keep: number, threshold: number): number {
  const K = list.length;
  const kept = inIndexOrder(list, w.length);
  let S = 0;
  for (let i = 0; i < K; i++) if (w[kept[i]!]! > 0) S += w[kept[i]!]!;
  const limit = threshold * S;
  let lead = 0;
  while (lead < K && w[list[lead]!]! >= limit) lead++;
  const last = lead - 1;
  return last > 0 && K - last >= keep ? last : 0;
}

/** z as the draw weighs it: with temperature last (llama.cpp order), fround(z / T) now. */
function drawZ(z: Float64Array, o: FilterOptions): Float64Array {
  const t = o.temperature;
  if (!o.temperatureLast || t === 1 || t === 0) return z;
  return z.map((v) => fround(v / t));
}

/**
 * Hugging Face's epsilon (eta = false) and eta (eta = true) warpers on the kept set `list` (rank order):
 * S = Σ w and A = Σ w·(z − m) over it in index order (tokens with w > 0; A's term is 0 when m = +inf),
 * H = ln S − A / S (its entropy), the cutoff c = ε, or min(ε, √ε·exp(−H)) for eta; cut at the
 * first rank with w < c·S (p < c), keeping at least minTokensToKeep.
 */
function massCut(z: Float64Array, m: number, w: Float64Array, list: Int32Array, keep: number, eps: number, eta: boolean): number {
  const K = list.length;
  const { S, A } = indexOrderSums(z, m, w, list, eta);
  if (!(S > 0)) return K;
  let c = eps;
  if (eta) {
    const H = logAtLeastOne(S) - A / S;
    c = Math.min(eps, Math.sqrt(eps) * expNonPositive(-H));
  }
  const limit = c * S;
  let cut = K;
  for (let i = 0; i < K; i++)
    if (w[list[i]!]! < limit) {
      cut = i;
      break;
    }
  return Math.min(Math.max(cut, keep), K);
}

/**
 * Inverse CDF over the kept tokens in index order: T = Σ w (index order), the token is
 * the first whose running sum exceeds u·T. If none does (T = 0, or u·T rounded up to T),
 * the last kept token with w > 0, else the first kept token.
 */
export function drawFromKept(z: ArrayLike<number>, m: number, kept: Int32Array, u: number): number {
  let total = 0;
  for (let i = 0; i < kept.length; i++) total += weightOf(z[kept[i]!]!, m);
  const threshold = u * total;
  let cum = 0;
  let lastPositive = -1;
  for (let i = 0; i < kept.length; i++) {
    const w = weightOf(z[kept[i]!]!, m);
    cum += w;
    if (cum > threshold) return kept[i]!;
    if (w > 0) lastPositive = kept[i]!;
  }
  return lastPositive >= 0 ? lastPositive : kept[0]!;
}

export function filterLogits(x: Float32Array, rows: number, classes: number, o: FilterOptions, out: Float32Array): number {
  let bad = -1;
  for (let r = 0; r < rows; r++) {
    const z = processedRow(x, r, classes, o);
    const row = out.subarray(r * classes, (r + 1) * classes);
    row.fill(-Infinity);
    const m = rowMax(z);
    if (o.topNSigma > 0 && o.temperature !== 0) topNSigmaCut(z, m, o.topNSigma);
    if (m === -Infinity && o.constrained) {
      if (bad < 0) bad = r;
      continue;
    }
    // Greedy, and rows with nothing above −inf: the first maximum (token 0 for an all −inf row).
    if (o.temperature === 0 || m === -Infinity) {
      const g = firstMaxIndex(z);
      row[g] = z[g]!;
      continue;
    }
    const kept = keptTokens(z, m, o, r);
    const zs = drawZ(z, o);
    for (let i = 0; i < kept.length; i++) row[kept[i]!] = zs[kept[i]!]!;
  }
  return bad;
}

export function sample(x: Float32Array, rows: number, classes: number, o: FilterOptions, u: Float64Array, out: Int32Array): number {
  let bad = -1;
  for (let r = 0; r < rows; r++) {
    const z = processedRow(x, r, classes, o);
    const m = rowMax(z);
    if (o.topNSigma > 0 && o.temperature !== 0) topNSigmaCut(z, m, o.topNSigma);
    if (m === -Infinity && o.constrained) {
      if (bad < 0) bad = r;
      out[r] = 0;
      continue;
    }
    // Greedy, and rows with nothing above −inf: the first maximum (token 0 for an all −inf row).
    if (o.temperature === 0 || m === -Infinity) {
      out[r] = firstMaxIndex(z);
      continue;
    }
    const kept = keptTokens(z, m, o, r);
    const zs = drawZ(z, o);
    out[r] = drawFromKept(zs, zs === z ? m : fround(m / o.temperature), kept, u[r]!);
  }
  return bad;
}
