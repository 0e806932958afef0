/**
 * The decoding rules that read the token history or reshape the whole row before the filters
 * (issue 25; docs/sampler.md has the rules in prose):
 *
 *   softCap → guidance → logitBias → penalties → DRY → sequenceBias → bans (noRepeatNgramSize,
 *   badWords, minTokens) → the forced thinking-budget token → masks → the order's stages
 *   (dynamicTemperature replaces 'temperature' where the order puts it) → the draw (Mirostat's, if on).
 *
 * The history rules never touch the dense row: each gives a sparse set of per-token additions and
 * bans, which src/sampling.ts's prepareRows folds into the edits both backends already apply, so
 * the wasm kernel and the JS reference start from the very same float32 values. Every history rule
 * is one pass over the history (DRY and the n-gram ban use one Z-function over the reversed window);
 * nothing sorts the vocabulary.
 */
import { describeValue as describe, fail } from './errors.js';

// ---------------------------------------------------------------- options

/** llama.cpp's DRY ("don't repeat yourself") penalty, with token-id sequence breakers. */
export interface DryOptions {
  multiplier: number;
  base?: number;
  allowedLength?: number;
  /** The window: the last N history tokens; −1 = all (default), 0 = off. */
  penaltyLastN?: number;
  sequenceBreakers?: Int32Array;
}

/** vLLM's ThinkingTokenBudgetLogitsProcessor: at most `budget` tokens between `start` and `end`. */
export interface ThinkingBudgetOptions {
  start: Int32Array;
  end: Int32Array;
  budget: number;
}

/** Hugging Face's classifier-free guidance. */
export interface GuidanceOptions {
  scale: number;
  /** One-step calls: the unconditional logits, rows × vocab. lk.sampler: one row, or a function of the history giving it. */
  unconditional: Float32Array | ((history: Int32Array) => Float32Array);
}

/** The options every call takes (the history is `history`, or `penaltyTokens`). */
export interface HistoryRuleOptions {
  /** The token history (prompt + generated): the same as penaltyTokens, which it fills in when that is absent. */
  history?: Int32Array | Int32Array[];
  dry?: DryOptions;
  /** Hugging Face NoRepeatNGramLogitsProcessor: no n-gram of this size occurs twice; 0 = off. */
  noRepeatNgramSize?: number;
  /** Hugging Face NoBadWordsLogitsProcessor: token sequences never generated. */
  badWords?: Int32Array[];
  /** Hugging Face SequenceBiasLogitsProcessor: [sequence, bias] pairs; the bias goes to the last token when the history ends with the rest. */
  sequenceBias?: Array<[Int32Array, number]>;
  thinkingBudget?: ThinkingBudgetOptions;
  /** llama.cpp temp_ext: T from max(0, T − range) to T + range by the normalised entropy^exponent. */
  dynamicTemperature?: { range: number; exponent?: number };
  /** Gemma 2's final-logit soft-capping, z → c·tanh(z / c), before everything else. */
  softCap?: number;
  guidance?: GuidanceOptions;
}

/** Options only lk.sampler takes: they need state across tokens. */
export interface StatefulRuleOptions {
  /** llama.cpp's Mirostat v1 / v2, the draw itself; μ lives in the sampler's state. */
  mirostat?: { version: 1 | 2; tau?: number; eta?: number; m?: number };
  /** vLLM min_tokens: the stop tokens are banned until `count` tokens have been produced by this sampler. */
  minTokens?: { count: number; stopTokens: Int32Array };
}

export interface ResolvedDry {
  multiplier: number;
  base: number;
  allowedLength: number;
  lastN: number;
  breakers: Set<number>;
}
export interface ResolvedRules {
  dry: ResolvedDry | null;
  ngram: number;
  badWords: Int32Array[] | null;
  sequenceBias: Array<[Int32Array, number]> | null;
  thinking: ThinkingBudgetOptions | null;
  dynamicTemperature: { range: number; exponent: number } | null;
  softCap: number;
  guidance: { scale: number; unconditional: Float32Array | ((history: Int32Array) => Float32Array) } | null;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v) && !ArrayBuffer.isView(v);

function tokenList(v: unknown, name: string, classes: number, nonEmpty: boolean): Int32Array {
  if (!(v instanceof Int32Array)) fail('invalid_argument', `${name} = ${describe(v)}, expected an Int32Array of token ids`, name);
  if (nonEmpty && v.length === 0) fail('invalid_argument', `${name} is empty, expected at least one token id`, name);
  for (let i = 0; i < v.length; i++)
    if (!(v[i]! >= 0 && v[i]! < classes)) fail('target_out_of_range', `${name} contains ${v[i]}, expected token ids 0 ≤ id < ${classes}`, name);
  return v;
}

function finiteNumber(v: unknown, name: string, what: string, ok: (x: number) => boolean): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || !ok(v)) fail('invalid_argument', `${name} = ${describe(v)}, expected ${what}`, name);
  return v;
}

function integer(v: unknown, name: string, what: string, ok: (x: number) => boolean): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || !ok(v)) fail('invalid_argument', `${name} = ${describe(v)}, expected ${what}`, name);
  return v;
}

function known(v: Record<string, unknown>, keys: readonly string[], name: string): void {
  for (const k of Object.keys(v))
    if (!keys.includes(k)) fail('invalid_argument', `${name} has an unknown key '${k}', expected only ${keys.join(', ')}`, `${name}.${k}`);
}

/** Validates the history and shaping options (not their per-row data: see checkGuidanceRows). */
export function checkRules(o: HistoryRuleOptions | undefined, classes: number): ResolvedRules {
  let dry: ResolvedDry | null = null;
  if (o?.dry !== undefined) {
    const d = o.dry as unknown;
    if (!isObject(d)) fail('invalid_argument', `options.dry = ${describe(d)}, expected { multiplier, base?, allowedLength?, penaltyLastN?, sequenceBreakers? }`, 'options.dry');
    known(d, ['multiplier', 'base', 'allowedLength', 'penaltyLastN', 'sequenceBreakers'], 'options.dry');
    const multiplier = finiteNumber(d.multiplier, 'options.dry.multiplier', 'a finite number ≥ 0 (0 = off)', (x) => x >= 0);
    const base = finiteNumber(d.base ?? 1.75, 'options.dry.base', 'a finite number ≥ 1', (x) => x >= 1);
    const allowedLength = integer(d.allowedLength ?? 2, 'options.dry.allowedLength', 'an integer ≥ 0', (x) => x >= 0);
    const lastN = integer(d.penaltyLastN ?? -1, 'options.dry.penaltyLastN', 'an integer ≥ -1 (0 = off, -1 = the whole history)', (x) => x >= -1);
    const breakers = new Set(d.sequenceBreakers === undefined ? [] : tokenList(d.sequenceBreakers, 'options.dry.sequenceBreakers', classes, false));
    if (multiplier > 0 && lastN !== 0) dry = { multiplier, base, allowedLength, lastN, breakers };
  }
  const ngram = integer(o?.noRepeatNgramSize ?? 0, 'options.noRepeatNgramSize', 'an integer ≥ 0 (0 = off)', (x) => x >= 0);
  let badWords: Int32Array[] | null = null;
  if (o?.badWords !== undefined) {
    if (!Array.isArray(o.badWords)) fail('invalid_argument', `options.badWords = ${describe(o.badWords)}, expected an array of Int32Array token sequences`, 'options.badWords');
    badWords = o.badWords.map((w, i) => tokenList(w, `options.badWords[${i}]`, classes, true));
  }
  let sequenceBias: Array<[Int32Array, number]> | null = null;
  if (o?.sequenceBias !== undefined) {
    const sb = o.sequenceBias as unknown;
    if (!Array.isArray(sb)) fail('invalid_argument', `options.sequenceBias = ${describe(sb)}, expected an array of [Int32Array, bias] pairs`, 'options.sequenceBias');
    sequenceBias = sb.map((p: unknown, i) => {
      if (!Array.isArray(p) || p.length !== 2) fail('invalid_argument', `options.sequenceBias[${i}] = ${describe(p)}, expected [Int32Array, bias]`, `options.sequenceBias[${i}]`);
      const seq = tokenList(p[0], `options.sequenceBias[${i}][0]`, classes, true);
      const bias = finiteNumber(p[1], `options.sequenceBias[${i}][1]`, 'a finite number (use badWords to forbid a sequence)', () => true);
      return [seq, bias] as [Int32Array, number];
    });
  }
  let thinking: ThinkingBudgetOptions | null = null;
  if (o?.thinkingBudget !== undefined) {
    const t = o.thinkingBudget as unknown;
    if (!isObject(t)) fail('invalid_argument', `options.thinkingBudget = ${describe(t)}, expected { start, end, budget }`, 'options.thinkingBudget');
    known(t, ['start', 'end', 'budget'], 'options.thinkingBudget');
    thinking = {
      start: tokenList(t.start, 'options.thinkingBudget.start', classes, true),
      end: tokenList(t.end, 'options.thinkingBudget.end', classes, true),
      budget: integer(t.budget, 'options.thinkingBudget.budget', 'an integer ≥ 0', (x) => x >= 0),
    };
  }
  let dynamicTemperature: ResolvedRules['dynamicTemperature'] = null;
  if (o?.dynamicTemperature !== undefined) {
    const d = o.dynamicTemperature as unknown;
    if (!isObject(d)) fail('invalid_argument', `options.dynamicTemperature = ${describe(d)}, expected { range, exponent? }`, 'options.dynamicTemperature');
    known(d, ['range', 'exponent'], 'options.dynamicTemperature');
    const range = finiteNumber(d.range, 'options.dynamicTemperature.range', 'a finite number ≥ 0 (0 = off)', (x) => x >= 0);
    const exponent = finiteNumber(d.exponent ?? 1, 'options.dynamicTemperature.exponent', 'a finite number > 0', (x) => x > 0);
    if (range > 0) dynamicTemperature = { range, exponent };
  }
  const softCap = o?.softCap === undefined ? 0 : finiteNumber(o.softCap, 'options.softCap', 'a finite number > 0', (x) => x > 0);
  let guidance: ResolvedRules['guidance'] = null;
  if (o?.guidance !== undefined) {
    const g = o.guidance as unknown;
    if (!isObject(g)) fail('invalid_argument', `options.guidance = ${describe(g)}, expected { scale, unconditional }`, 'options.guidance');
    known(g, ['scale', 'unconditional'], 'options.guidance');
    const scale = finiteNumber(g.scale, 'options.guidance.scale', 'a finite number', () => true);
    const u = g.unconditional;
    if (!(u instanceof Float32Array) && typeof u !== 'function')
      fail('invalid_argument', `options.guidance.unconditional = ${describe(u)}, expected a Float32Array (or, for lk.sampler, a function of the history)`, 'options.guidance.unconditional');
    guidance = { scale, unconditional: u as Float32Array | ((h: Int32Array) => Float32Array) };
  }
  return { dry, ngram, badWords, sequenceBias, thinking, dynamicTemperature, softCap, guidance };
}

export function checkMirostat(v: unknown): { version: 1 | 2; tau: number; eta: number; m: number } | null {
  if (v === undefined) return null;
  if (!isObject(v)) fail('invalid_argument', `options.mirostat = ${describe(v)}, expected { version: 1 | 2, tau?, eta?, m? }`, 'options.mirostat');
  known(v, ['version', 'tau', 'eta', 'm'], 'options.mirostat');
  if (v.version !== 1 && v.version !== 2) fail('invalid_argument', `options.mirostat.version = ${describe(v.version)}, expected 1 or 2`, 'options.mirostat.version');
  return {
    version: v.version,
    tau: finiteNumber(v.tau ?? 5, 'options.mirostat.tau', 'a finite number ≥ 0', (x) => x >= 0),
    eta: finiteNumber(v.eta ?? 0.1, 'options.mirostat.eta', 'a finite number ≥ 0', (x) => x >= 0),
    m: integer(v.m ?? 100, 'options.mirostat.m', 'an integer ≥ 1', (x) => x >= 1),
  };
}

export function checkMinTokens(v: unknown, classes: number): { count: number; stopTokens: Int32Array } | null {
  if (v === undefined) return null;
  if (!isObject(v)) fail('invalid_argument', `options.minTokens = ${describe(v)}, expected { count, stopTokens }`, 'options.minTokens');
  known(v, ['count', 'stopTokens'], 'options.minTokens');
  return {
    count: integer(v.count, 'options.minTokens.count', 'an integer ≥ 0', (x) => x >= 0),
    stopTokens: tokenList(v.stopTokens, 'options.minTokens.stopTokens', classes, false),
  };
}

// ---------------------------------------------------------------- history rules

/** What lk.sampler adds to one step: its thinking phase, the minTokens bans, the unconditional row. */
export interface DecodeStep {
  thinking: ThinkingState | null;
  bans: Int32Array;
  unconditional: Float32Array | null;
}

/** What the history rules do to one row: additions (after the penalties), bans, and a forced token (−1: none). */
export interface HistoryAdjust {
  add: Map<number, number>;
  ban: Set<number>;
  force: number;
}

export function emptyAdjust(): HistoryAdjust {
  return { add: new Map(), ban: new Set(), force: -1 };
}

/**
 * For the window w = h[from..n−1]: out[i − from] = the length of the longest common suffix of
 * w[..i] and w (the whole window), for every i < n − 1 — the Z-function of the reversed window, so
 * linear in the window. Matches may overlap the final suffix.
 */
export function suffixMatches(h: Int32Array, from: number): Int32Array {
  const n = h.length - from;
  const z = new Int32Array(Math.max(n, 0));
  // r[k] = h[n − 1 − k + from]: the reversed window.
  const r = (k: number): number => h[from + n - 1 - k]!;
  let lt = 0;
  let rt = 0; // [lt, rt): the rightmost Z-box
  for (let k = 1; k < n; k++) {
    let len = 0;
    if (k < rt) len = Math.min(rt - k, z[k - lt]!);
    while (k + len < n && r(len) === r(k + len)) len++;
    z[k] = len;
    if (k + len > rt) (lt = k), (rt = k + len);
  }
  // z[k] belongs to the suffix ending at window index n − 1 − k.
  const out = new Int32Array(Math.max(n - 1, 0));
  for (let k = 1; k < n; k++) out[n - 1 - k] = z[k]!;
  return out;
}

/** True when h ends with seq[0..len). */
function endsWith(h: Int32Array, seq: Int32Array, len: number): boolean {
  if (len > h.length) return false;
  for (let i = 0; i < len; i++) if (h[h.length - len + i] !== seq[i]) return false;
  return true;
}

/**
 * llama.cpp's DRY on the history h: per token, the subtraction multiplier·base^(L − allowedLength)
 * for the largest match length L of any earlier occurrence it would extend (rules in docs/sampler.md).
 */
export function dryPenalties(h: Int32Array, d: ResolvedDry, out: Map<number, number>): void {
  const window = d.lastN < 0 ? h.length : Math.min(d.lastN, h.length);
  if (window <= d.allowedLength) return;
  const from = h.length - window;
  // Matches may not cross a breaker: L ≤ the tokens after the window's last breaker.
  let limit = window;
  for (let i = h.length - 1; i >= from; i--)
    if (d.breakers.has(h[i]!)) {
      limit = h.length - 1 - i;
      break;
    }
  if (limit <= d.allowedLength) return;
  const L = suffixMatches(h, from);
  const longest = new Map<number, number>();
  for (let i = 0; i < L.length; i++) {
    const len = Math.min(L[i]!, limit);
    if (len < d.allowedLength) continue;
    const t = h[from + i + 1]!;
    if ((longest.get(t) ?? -1) < len) longest.set(t, len);
  }
  // pow overflows float32 past this exponent; llama.cpp clamps there too.
  const maxExponent = d.base > 1.000001 ? Math.floor(88.7228391 / Math.log(d.base)) : 0;
  for (const [t, len] of longest) {
    if (d.breakers.has(t)) continue;
    let e = len - d.allowedLength;
    if (maxExponent > 0 && e > maxExponent) e = maxExponent;
    out.set(t, (out.get(t) ?? 0) - d.multiplier * Math.pow(d.base, e));
  }
}

/** Hugging Face's no-repeat n-gram ban: every token that would complete an n-gram already in h. */
export function ngramBans(h: Int32Array, n: number, ban: Set<number>): void {
  if (n === 0 || h.length + 1 < n) return;
  if (n === 1) {
    for (const t of h) ban.add(t);
    return;
  }
  const L = suffixMatches(h, 0);
  for (let i = 0; i < L.length; i++) if (L[i]! >= n - 1) ban.add(h[i + 1]!);
}

/** Thinking-budget phase: thinking or not, free tokens used, end tokens forced so far. */
export interface ThinkingState {
  thinking: boolean;
  count: number;
  forced: number;
}

/** Last index at which seq ends in h, or −1. */
function lastEnd(h: Int32Array, seq: Int32Array): number {
  outer: for (let e = h.length - 1; e >= seq.length - 1; e--) {
    for (let i = 0; i < seq.length; i++) if (h[e - seq.length + 1 + i] !== seq[i]) continue outer;
    return e;
  }
  return -1;
}

/** The phase a history implies: thinking when its last start comes after its last end; the tokens after that start count, the ones past the budget as forced. */
export function thinkingFromHistory(h: Int32Array, t: ThinkingBudgetOptions): ThinkingState {
  const s = lastEnd(h, t.start);
  if (s < 0 || lastEnd(h, t.end) >= s) return { thinking: false, count: 0, forced: 0 };
  const after = h.length - 1 - s;
  const forced = Math.max(0, after - t.budget);
  if (forced >= t.end.length) return { thinking: false, count: 0, forced: 0 };
  return { thinking: true, count: Math.min(after, t.budget), forced };
}

/** The phase after token `token` was appended to h (h already holds it). */
export function thinkingAfter(s: ThinkingState, h: Int32Array, t: ThinkingBudgetOptions): ThinkingState {
  if (!s.thinking) return endsWith(h, t.start, t.start.length) ? { thinking: true, count: 0, forced: 0 } : s;
  if (s.count < t.budget) {
    // A free token; a natural end stops the phase.
    if (endsWith(h, t.end, t.end.length)) return { thinking: false, count: 0, forced: 0 };
    return { thinking: true, count: s.count + 1, forced: 0 };
  }
  // Forcing: each appended token takes the next forced slot, whatever it was.
  const forced = s.forced + 1;
  return forced >= t.end.length ? { thinking: false, count: 0, forced: 0 } : { thinking: true, count: s.count, forced };
}

/** The token the phase forces next, or −1. */
export function thinkingForce(s: ThinkingState, t: ThinkingBudgetOptions): number {
  return s.thinking && s.count >= t.budget ? t.end[s.forced]! : -1;
}

/**
 * The sparse adjustments of one row from its history: DRY and sequence bias as additions, n-gram
 * and bad-word bans, the thinking budget's forced token (from `thinking`, or derived from h).
 */
export function historyAdjust(h: Int32Array, rules: ResolvedRules, thinking: ThinkingState | null): HistoryAdjust {
  const a = emptyAdjust();
  if (rules.dry !== null) dryPenalties(h, rules.dry, a.add);
  if (rules.sequenceBias !== null)
    for (const [seq, bias] of rules.sequenceBias)
      if (endsWith(h, seq, seq.length - 1)) {
        const t = seq[seq.length - 1]!;
        a.add.set(t, (a.add.get(t) ?? 0) + bias);
      }
  if (rules.ngram > 0) ngramBans(h, rules.ngram, a.ban);
  if (rules.badWords !== null) for (const w of rules.badWords) if (endsWith(h, w, w.length - 1)) a.ban.add(w[w.length - 1]!);
  if (rules.thinking !== null) a.force = thinkingForce(thinking ?? thinkingFromHistory(h, rules.thinking), rules.thinking);
  return a;
}

// ---------------------------------------------------------------- dense shaping (before the backend)

/**
 * softCap and guidance on rows × classes logits, in float64 with one float32 rounding at the end:
 * s(v) = c·tanh(v / c) (s = identity without softCap); with guidance,
 * g = lsm(s(u)) + scale·(lsm(s(x)) − lsm(s(u))), lsm the row's log-softmax over its finite
 * values (NaN → −inf first). Returns x itself when neither is on.
 */
export function shapeRows(x: Float32Array, rows: number, classes: number, rules: ResolvedRules, unconditional: Float32Array | null): Float32Array {
  const cap = rules.softCap;
  if (cap === 0 && rules.guidance === null) return x;
  const out = new Float32Array(rows * classes);
  const s = (v: number): number => (v !== v ? -Infinity : cap > 0 ? cap * Math.tanh(v / cap) : v);
  const lsm = (src: Float32Array, base: number, into: Float64Array): void => {
    let m = -Infinity;
    for (let j = 0; j < classes; j++) {
      const v = s(src[base + j]!);
      into[j] = v;
      if (v > m) m = v;
    }
    if (m === -Infinity) return;
    if (m === Infinity) {
      for (let j = 0; j < classes; j++) into[j] = into[j] === Infinity ? 0 : -Infinity;
      return;
    }
    let sum = 0;
    for (let j = 0; j < classes; j++) sum += Math.exp(into[j]! - m);
    const L = m + Math.log(sum);
    for (let j = 0; j < classes; j++) into[j] = into[j]! - L;
  };
  const zc = new Float64Array(classes);
  const zu = new Float64Array(classes);
  for (let r = 0; r < rows; r++) {
    const base = r * classes;
    if (rules.guidance === null) {
      for (let j = 0; j < classes; j++) out[base + j] = s(x[base + j]!);
      continue;
    }
    const g = rules.guidance.scale;
    lsm(x, base, zc);
    lsm(unconditional!, base, zu);
    for (let j = 0; j < classes; j++) {
      const u = zu[j]!;
      const c = zc[j]!;
      // −inf on either side stays −inf (no inf − inf).
      out[base + j] = c === -Infinity || u === -Infinity ? -Infinity : u + g * (c - u);
    }
  }
  return out;
}

/**
 * llama.cpp temp_ext: H = the entropy of softmax(z) over the tokens above −inf (z after the
 * constraints and penalties, unscaled), Ĥ = H / ln(count); T' = lo + (hi − lo)·Ĥ^exponent with
 * lo = max(0, T − range), hi = T + range. One token or none: T' = lo... ( Ĥ taken as 0).
 */
export function dynamicTemperatureOf(z: Float64Array, t: number, d: { range: number; exponent: number }): number {
  const lo = Math.max(0, t - d.range);
  const hi = t + d.range;
  let m = -Infinity;
  let count = 0;
  for (let j = 0; j < z.length; j++)
    if (z[j]! > -Infinity) {
      count++;
      if (z[j]! > m) m = z[j]!;
    }
  if (count <= 1 || m === Infinity) return lo;
  let S = 0;
  let A = 0;
  for (let j = 0; j < z.length; j++)
    if (z[j]! > -Infinity) {
      const w = Math.exp(z[j]! - m);
      S += w;
      A += w * (z[j]! - m);
    }
  const H = Math.log(S) - A / S;
  const normalised = Math.min(1, Math.max(0, H / Math.log(count)));
  return lo + (hi - lo) * Math.pow(normalised, d.exponent);
}
