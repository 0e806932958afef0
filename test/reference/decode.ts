/**
 * Float64 references for issue 25's decoding rules, written from the cited sources' definitions
 * the obvious way (quadratic scans, whole-vocabulary sorts, Math.exp / Math.log), independently of
 * src/decoding.ts and src/sampler.ts: llama.cpp's DRY, Mirostat v1 / v2 and temp_ext, Hugging
 * Face's NoRepeatNGram / NoBadWords / SequenceBias / classifier-free guidance, vLLM's min_tokens and
 * thinking budget, Gemma 2's soft cap — with the issue's "rules fixed where the sources leave a
 * choice".
 */

export interface RefDry {
  multiplier: number;
  base: number;
  allowedLength: number;
  lastN: number;
  breakers: number[];
}

/** DRY: token → the amount subtracted from its logit. */
export function refDry(history: ArrayLike<number>, d: RefDry): Map<number, number> {
  const h = Array.from(history);
  const w = d.lastN === -1 ? h : h.slice(Math.max(0, h.length - d.lastN));
  const n = w.length;
  const out = new Map<number, number>();
  if (d.multiplier === 0 || d.lastN === 0 || n <= d.allowedLength) return out;
  let lastBreaker = -1;
  for (let i = 0; i < n; i++) if (d.breakers.includes(w[i]!)) lastBreaker = i;
  const afterBreaker = n - 1 - lastBreaker;
  if (afterBreaker <= d.allowedLength) return out;
  const best = new Map<number, number>();
  for (let i = 0; i + 1 < n; i++) {
    // The longest suffix of w ending at i that also ends w.
    let len = 0;
    while (i - len >= 0 && w[i - len] === w[n - 1 - len]) len++;
    len = Math.min(len, afterBreaker);
    if (len < d.allowedLength) continue;
    const t = w[i + 1]!;
    if (d.breakers.includes(t)) continue;
    best.set(t, Math.max(best.get(t) ?? 0, len));
  }
  const maxExp = d.base > 1.000001 ? Math.floor(88.7228391 / Math.log(d.base)) : 0;
  for (const [t, len] of best) {
    const e = maxExp > 0 ? Math.min(len - d.allowedLength, maxExp) : len - d.allowedLength;
    out.set(t, d.multiplier * d.base ** e);
  }
  return out;
}

/** Hugging Face _get_ngrams / _get_generated_ngrams: the tokens that would repeat an n-gram. */
export function refNgramBans(history: ArrayLike<number>, n: number): Set<number> {
  const h = Array.from(history);
  const out = new Set<number>();
  if (n === 0 || h.length + 1 < n) return out;
  const key = (a: number[]): string => a.join(',');
  const seen = new Map<string, number[]>();
  for (let i = 0; i + n <= h.length; i++) {
    const k = key(h.slice(i, i + n - 1));
    seen.set(k, [...(seen.get(k) ?? []), h[i + n - 1]!]);
  }
  for (const t of seen.get(key(h.slice(h.length - (n - 1)))) ?? []) out.add(t);
  return out;
}

const endsWith = (h: number[], s: number[]): boolean => s.length <= h.length && s.every((t, i) => h[h.length - s.length + i] === t);

/** NoBadWordsLogitsProcessor: the banned tokens. */
export function refBadWords(history: ArrayLike<number>, words: ArrayLike<number>[]): Set<number> {
  const h = Array.from(history);
  const out = new Set<number>();
  for (const w of words) {
    const a = Array.from(w);
    if (endsWith(h, a.slice(0, -1))) out.add(a[a.length - 1]!);
  }
  return out;
}

/** SequenceBiasLogitsProcessor: token → the sum of the biases that apply. */
export function refSequenceBias(history: ArrayLike<number>, pairs: Array<[ArrayLike<number>, number]>): Map<number, number> {
  const h = Array.from(history);
  const out = new Map<number, number>();
  for (const [seq, b] of pairs) {
    const a = Array.from(seq);
    if (endsWith(h, a.slice(0, -1))) out.set(a[a.length - 1]!, (out.get(a[a.length - 1]!) ?? 0) + b);
  }
  return out;
}

/**
 * The thinking budget by the rules, replayed from scratch over the whole history: the
 * token forced after `history`, or −1.
 */
export function refThinkingForce(history: ArrayLike<number>, promptLength: number, start: number[], end: number[], budget: number): number {
  const h = Array.from(history);
  // At construction: thinking if the prompt's last start comes after its last end.
  const lastAt = (a: number[], s: number[], upTo: number): number => {
    for (let e = upTo; e >= s.length - 1; e--) if (endsWith(a.slice(0, e + 1), s)) return e;
    return -1;
  };
  const p = h.slice(0, promptLength);
  const s0 = lastAt(p, start, p.length - 1);
  let thinking = s0 >= 0 && s0 > lastAt(p, end, p.length - 1);
  let used = thinking ? p.length - 1 - s0 : 0; // free tokens used (prompt tokens after the start count)
  let forced = Math.max(0, used - budget);
  used = Math.min(used, budget);
  for (let i = promptLength; i < h.length; i++) {
    const upTo = h.slice(0, i + 1);
    if (!thinking) {
      if (endsWith(upTo, start)) (thinking = true), (used = 0), (forced = 0);
    } else if (used < budget) {
      if (endsWith(upTo, end)) thinking = false;
      else used++;
    } else if (++forced >= end.length) thinking = false;
  }
  return thinking && used >= budget ? end[forced]! : -1;
}

/** log-softmax of a row (NaN → −inf), float64. */
export function refGuidanceLogSoftmax(x: ArrayLike<number>): number[] {
  const v = Array.from(x, (a) => (Number.isNaN(a) ? -Infinity : a));
  const m = Math.max(...v);
  const L = m + Math.log(v.reduce((s, a) => s + Math.exp(a - m), 0));
  return v.map((a) => a - L);
}

/** llama.cpp temp_ext: the temperature for this row. */
export function refDynamicTemperature(z: ArrayLike<number>, t: number, range: number, exponent: number): number {
  const v = Array.from(z).filter((a) => a > -Infinity);
  const lo = Math.max(0, t - range);
  if (v.length <= 1) return lo;
  const m = Math.max(...v);
  const S = v.reduce((s, a) => s + Math.exp(a - m), 0);
  const H = -v.reduce((s, a) => {
    const p = Math.exp(a - m) / S;
    return s + p * Math.log(p);
  }, 0);
  return lo + (t + range - lo) * Math.pow(Math.min(1, H / Math.log(v.length)), exponent);
}

/** Inverse CDF in index order over the listed ids with probabilities p. */
function draw(ids: number[], p: (j: number) => number, u: number): number {
  const sorted = ids.slice().sort((a, b) => a - b);
  const total = sorted.reduce((s, j) => s + p(j), 0);
  let cum = 0;
  for (const j of sorted) {
    cum += p(j);
    if (cum > u * total) return j;
  }
  return sorted[sorted.length - 1]!;
}

/**
 * One Mirostat step (llama.cpp) on z = the filtered, temperature-scaled row (−inf outside the kept
 * set): returns the token and the new μ.
 */
export function refMirostat(z: ArrayLike<number>, version: 1 | 2, mu: number, tau: number, eta: number, m: number, vocab: number, u: number): { token: number; mu: number } {
  const v = Array.from(z);
  const ids = v.map((_, j) => j).filter((j) => v[j]! > -Infinity);
  const max = Math.max(...ids.map((j) => v[j]!));
  const S = ids.reduce((s, j) => s + Math.exp(v[j]! - max), 0);
  const p = (j: number): number => Math.exp(v[j]! - max) / S;
  const ranked = ids.slice().sort((a, b) => v[b]! - v[a]! || a - b);
  let kept: number[];
  if (version === 2) {
    kept = ranked.filter((j) => -Math.log2(p(j)) <= mu);
    if (kept.length === 0) kept = [ranked[0]!];
  } else {
    let tb = 0;
    let tt = 0;
    for (let i = 0; i < Math.min(m, ranked.length) - 1; i++) {
      const t = Math.log((i + 2) / (i + 1));
      const b = Math.log(p(ranked[i]!) / p(ranked[i + 1]!));
      tb += t * b;
      tt += t * t;
    }
    const s = tb / tt;
    const e = s - 1;
    const k = Math.pow((e * 2 ** mu) / (1 - vocab ** -e), 1 / s);
    // int(k) in llama.cpp; NaN (a flat top) keeps one, +inf all.
    const K = k >= ranked.length ? ranked.length : k >= 1 ? Math.floor(k) : 1;
    kept = ranked.slice(0, K);
  }
  const Sk = kept.reduce((s, j) => s + p(j), 0);
  const token = draw(kept, p, u);
  const surprise = -Math.log2(p(token) / Sk);
  return { token, mu: mu - eta * (surprise - tau) };
}
