/**
 * lk.sampler: one sequence's decoding state across tokens (docs/sampler.md). It keeps the history
 * (prompt + every sampled, forced or accepted token), the seed stream's position, Mirostat's μ,
 * the thinking-budget phase and the count of tokens it produced, and turns each step into a
 * one-step call of the engine (the same validation, edits and kernels as lk.sample), so both
 * backends give identical tokens for the same seed. Mirostat is the draw itself: it runs here, in
 * float64 on the backend's filtered row, after every other rule and filter.
 */
import { describeValue as describe, fail } from './errors.js';
import { checkMinTokens, checkMirostat, checkRules, thinkingAfter, thinkingFromHistory, thinkingForce, type DecodeStep, type HistoryRuleOptions, type StatefulRuleOptions, type ThinkingState } from './decoding.js';
import { drawFromKept, weightOf } from './backends/js-sample.js';
import { checkOptionKeys, SAMPLER_OPTION_KEYS } from './options.js';

/** The sampler's state as plain JSON: enough to continue exactly where it was. */
export interface SamplerState {
  /** The whole history (prompt included). */
  history: number[];
  /** Tokens produced by this sampler (sample and accept): minTokens counts these. */
  generated: number;
  /** Mirostat's μ (null without mirostat). */
  mu: number | null;
  /** The thinking-budget phase (null without thinkingBudget). */
  thinking: ThinkingState | null;
  /** The seed stream's position (null when options.random supplies the uniforms). */
  rng: number | null;
}

/**
 * What the constructor reads; engine.ts's SamplerCreateOptions (SampleOptions plus vocab, prompt,
 * state, mirostat, minTokens) is the typed form users see. Typed loosely here so that this file
 * needs nothing from engine.ts (which imports it).
 */
export interface SamplerConfig extends StatefulRuleOptions {
  vocab: number;
  prompt?: Int32Array;
  state?: SamplerState;
  seed?: number;
  random?: () => number;
  guidance?: { scale: number; unconditional: Float32Array | ((history: Int32Array) => Float32Array) };
}

/** One row of logits in any form lk.sample takes (an array of vocab values, a tensor of one row, …). */
export type SamplerLogits = ArrayLike<number> | object;

/** The options of one step as the engine's one-step path reads them. */
export type StepOptions = Record<string, unknown> & { vocab: number; history: Int32Array; random: () => number };

/** What the sampler needs from the engine (its private one-step paths). */
export interface SamplerHooks {
  sample(x: SamplerLogits, o: StepOptions, step: DecodeStep): number;
  /** The filtered row, written into `into` (vocab values, reused across steps). */
  filter(x: SamplerLogits, o: StepOptions, step: DecodeStep, into: Float32Array): Float32Array;
  topk(z: Float32Array, k: number): { values: Float32Array; ids: Int32Array };
}

/**
 * splitmix32 with its 32-bit state in view (engine.ts's splitMix32 is this generator), so that the
 * stream's position can be saved and restored. Two draws make one 53-bit uniform.
 */
export class SplitMix32 {
  s: number;
  constructor(seed: number) {
    this.s = (Math.trunc(seed) ^ Math.trunc(seed / 4294967296)) >>> 0;
  }
  next32(): number {
    this.s = (this.s + 0x9e3779b9) >>> 0;
    let z = this.s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  }
  next(): number {
    return ((this.next32() >>> 5) * 67108864 + (this.next32() >>> 6)) / 9007199254740992;
  }
}

/** The float32 bits of −inf, as an int32. */
const NEG_INF_BITS = -8388608;

const SAMPLER_ONLY = ['vocab', 'prompt', 'state', 'mirostat', 'minTokens', 'seed', 'random'] as const;

/**
 * One sequence's sampler, made by `lk.sampler(options)` (docs/sampler.md): `sample(logits)` draws a
 * token and appends it to the history, `accept(token)` appends one chosen elsewhere, `history` and
 * `state` (plain JSON) report where it is, `reset()` returns to just-constructed.
 */
export class Sampler {
  readonly vocab: number;
  readonly #hooks: SamplerHooks;
  readonly #prompt: Int32Array;
  readonly #base: Record<string, unknown> & { vocab: number };
  readonly #mirostat: ReturnType<typeof checkMirostat>;
  readonly #minTokens: ReturnType<typeof checkMinTokens>;
  readonly #thinkingRule: { start: Int32Array; end: Int32Array; budget: number } | null;
  readonly #seed: number | null;
  readonly #random: (() => number) | null;
  readonly #guidance: SamplerConfig['guidance'] | null;
  #history: Int32Array;
  #length = 0;
  #generated = 0;
  #mu: number | null = null;
  #thinking: ThinkingState | null = null;
  #rng: SplitMix32 | null = null;
  /** Scratch for Mirostat's kept ids (vocab entries, reused). */
  #ids = new Int32Array(0);
  #row = new Float32Array(0);
  #rowBits = new Int32Array(0);

  /** @internal Use lk.sampler(options). */
  constructor(options: SamplerConfig, hooks: SamplerHooks) {
    checkOptionKeys(options, SAMPLER_OPTION_KEYS, 'options');
    const vocab = options?.vocab;
    if (typeof vocab !== 'number' || !Number.isSafeInteger(vocab) || vocab < 1) fail('invalid_argument', `options.vocab = ${describe(vocab)}, expected an integer ≥ 1`, 'options.vocab');
    this.vocab = vocab;
    this.#hooks = hooks;
    const prompt = options.prompt ?? new Int32Array(0);
    if (!(prompt instanceof Int32Array)) fail('invalid_argument', `options.prompt = ${describe(prompt)}, expected an Int32Array of token ids`, 'options.prompt');
    checkIds(prompt, vocab, 'options.prompt');
    this.#prompt = prompt.slice();
    const rules = checkRules(options as HistoryRuleOptions, vocab);
    this.#thinkingRule = rules.thinking;
    this.#mirostat = checkMirostat(options.mirostat);
    this.#minTokens = checkMinTokens(options.minTokens, vocab);
    if (options.seed !== undefined && (typeof options.seed !== 'number' || !Number.isFinite(options.seed)))
      fail('invalid_argument', `options.seed = ${describe(options.seed)}, expected a finite number`, 'options.seed');
    if (options.random !== undefined && typeof options.random !== 'function')
      fail('invalid_argument', `options.random = ${describe(options.random)}, expected a function returning numbers in [0, 1)`, 'options.random');
    if (options.random !== undefined && options.seed !== undefined) fail('invalid_argument', 'pass either options.seed or options.random, not both', 'options.random');
    this.#random = options.random ?? null;
    // No seed: one is drawn now, so that `state` still restores the stream exactly.
    this.#seed = this.#random !== null ? null : (options.seed ?? Math.floor(Math.random() * 4294967296));
    this.#guidance = options.guidance ?? null;
    if (this.#guidance !== null && this.#guidance.unconditional instanceof Float32Array && this.#guidance.unconditional.length !== vocab)
      fail('shape_mismatch', `options.guidance.unconditional has ${this.#guidance.unconditional.length} values, expected vocab = ${vocab}`, 'options.guidance.unconditional');
    const base: Record<string, unknown> = { ...options };
    for (const k of SAMPLER_ONLY) delete base[k];
    this.#base = { ...base, vocab };
    this.#history = new Int32Array(Math.max(16, prompt.length * 2));
    this.reset();
    if (options.state !== undefined) this.#restore(options.state);
  }

  /** The history so far: prompt + every sampled, forced or accepted token (a copy). */
  get history(): Int32Array {
    return this.#history.slice(0, this.#length);
  }

  /** Plain JSON; `lk.sampler({ ...options, state })` continues with identical tokens. */
  get state(): SamplerState {
    return {
      history: Array.from(this.#history.subarray(0, this.#length)),
      generated: this.#generated,
      mu: this.#mu,
      thinking: this.#thinking === null ? null : { ...this.#thinking },
      rng: this.#rng === null ? null : this.#rng.s,
    };
  }

  /** Back to just-constructed: history = prompt, μ = 2τ, counters cleared, the seed stream restarted. */
  reset(): void {
    this.#length = 0;
    this.#push(this.#prompt);
    this.#generated = 0;
    this.#mu = this.#mirostat === null ? null : 2 * this.#mirostat.tau;
    this.#thinking = this.#thinkingRule === null ? null : thinkingFromHistory(this.#prompt, this.#thinkingRule);
    this.#rng = this.#seed === null ? null : new SplitMix32(this.#seed);
  }

  /** A token chosen elsewhere (forced, or drawn by another sampler) joins the history. */
  accept(token: number): void {
    if (typeof token !== 'number' || !Number.isInteger(token)) fail('invalid_argument', `token = ${describe(token)}, expected an integer token id`, 'token');
    if (!(token >= 0 && token < this.vocab)) fail('target_out_of_range', `token = ${token}, expected a token id 0 ≤ id < ${this.vocab}`, 'token');
    this.#append(token);
  }

  /** One token from one row of logits (vocab values); it joins the history. */
  sample(logits: SamplerLogits): number {
    // The thinking budget, once spent, forces the end sequence whatever the logits say.
    const forced = this.#thinking === null ? -1 : thinkingForce(this.#thinking, this.#thinkingRule!);
    if (forced >= 0) {
      this.#append(forced);
      return forced;
    }
    const history = this.#history.subarray(0, this.#length);
    let unconditional: Float32Array | null = null;
    const guidance = this.#guidance;
    if (guidance !== null && guidance !== undefined) {
      const u = guidance.unconditional;
      unconditional = typeof u === 'function' ? u(history.slice()) : u;
      if (!(unconditional instanceof Float32Array) || unconditional.length !== this.vocab)
        fail('shape_mismatch', `options.guidance.unconditional gave ${describe(unconditional)}, expected a Float32Array of vocab = ${this.vocab} values`, 'options.guidance.unconditional');
    }
    const bans = this.#minTokens !== null && this.#generated < this.#minTokens.count ? this.#minTokens.stopTokens : new Int32Array(0);
    const step: DecodeStep = { thinking: this.#thinking, bans, unconditional };
    const o = { ...this.#base, history, random: this.#next };
    const token = this.#mirostat === null ? this.#hooks.sample(logits, o, step) : this.#mirostatDraw(this.#hooks.filter(logits, o, step, this.#filtered()));
    this.#append(token);
    return token;
  }

  /** The row Mirostat reads the filtered logits from, allocated once. */
  #filtered(): Float32Array {
    if (this.#row.length !== this.vocab) {
      this.#row = new Float32Array(this.vocab);
      this.#rowBits = new Int32Array(this.#row.buffer);
    }
    return this.#row;
  }

  readonly #next = (): number => {
    if (this.#rng !== null) return this.#rng.next();
    const v = this.#random!();
    if (typeof v !== 'number' || !(v >= 0 && v < 1)) fail('invalid_argument', `options.random() returned ${describe(v)}, expected a number in [0, 1)`, 'options.random');
    return v;
  };

  /**
   * llama.cpp's Mirostat on the filtered row f (−inf outside the kept set; softmax(f) is
   * softmax(z / T) over it), in float64 JS so that both backends draw the same token: one scan
   * collects the kept ids and the max m; w = exp(f − m) by the draw's shared exp, S = Σ w in index
   * order — work over the kept tokens only, so after min-p or top-k it is small.
   * v2: keep w ≥ S·2^−μ (−log₂ p ≤ μ), at least the first top token; v1: s_hat from the top m
   * ranks, k from s_hat, μ and N = vocab, keep the top max(⌊k⌋, 1) ranks. Draw from the kept set
   * renormalised (inverse CDF in index order), then μ ← μ − η·(−log₂ p_token − τ), p over that set.
   */
  #mirostatDraw(f: Float32Array): number {
    const ms = this.#mirostat!;
    const ids = this.#ids.length >= f.length ? this.#ids : (this.#ids = new Int32Array(f.length));
    const n = finiteIds(f === this.#row ? this.#rowBits : new Int32Array(f.buffer, f.byteOffset, f.length), ids);
    let m = -Infinity;
    let top = 0;
    for (let i = 0; i < n; i++) {
      const v = f[ids[i]!]!;
      if (v > m) (m = v), (top = ids[i]!);
    }
    const z = f;
    let S = 0;
    for (let i = 0; i < n; i++) S += weightOf(z[ids[i]!]!, m);
    let kept: Int32Array;
    if (ms.version === 2) {
      const limit = S * Math.pow(2, -this.#mu!);
      let k = 0;
      const out = new Int32Array(n);
      for (let i = 0; i < n; i++) if (weightOf(z[ids[i]!]!, m) >= limit) out[k++] = ids[i]!;
      kept = k === 0 ? Int32Array.of(top) : out.subarray(0, k);
    } else {
      // The top min(m, count) ranks, z descending, ties by lower index.
      const r = Math.min(ms.m, n);
      const ranked = rankTop(f, ids.subarray(0, n), r, this.#hooks);
      let sumTB = 0;
      let sumTT = 0;
      for (let i = 0; i < r - 1; i++) {
        const t = Math.log((i + 2) / (i + 1));
        const b = f[ranked[i]!]! - f[ranked[i + 1]!]!; // ln(p_i / p_{i+1})
        sumTB += t * b;
        sumTT += t * t;
      }
      const sHat = sumTB / sumTT;
      const eps = sHat - 1;
      const k = Math.pow((eps * Math.pow(2, this.#mu!)) / (1 - Math.pow(this.vocab, -eps)), 1 / sHat);
      // int(k) in llama.cpp, at least 1: NaN (a flat top) keeps one, +inf everything.
      const K = k >= n ? n : k >= 1 ? Math.floor(k) : 1;
      kept = K === n ? ids.slice(0, n) : Int32Array.from(rankTop(f, ids.subarray(0, n), K, this.#hooks)).sort();
    }
    let Sk = 0;
    for (let i = 0; i < kept.length; i++) Sk += weightOf(z[kept[i]!]!, m);
    const token = drawFromKept(z, m, kept, this.#next());
    const surprise = Math.log2(Sk) - Math.log2(weightOf(z[token]!, m));
    this.#mu = this.#mu! - ms.eta * (surprise - ms.tau);
    return token;
  }

  #append(token: number): void {
    this.#push(Int32Array.of(token));
    this.#generated++;
    if (this.#thinking !== null) this.#thinking = thinkingAfter(this.#thinking, this.#history.subarray(0, this.#length), this.#thinkingRule!);
  }

  #push(tokens: Int32Array): void {
    if (this.#length + tokens.length > this.#history.length) {
      const grown = new Int32Array(Math.max(2 * this.#history.length, this.#length + tokens.length));
      grown.set(this.#history.subarray(0, this.#length));
      this.#history = grown;
    }
    this.#history.set(tokens, this.#length);
    this.#length += tokens.length;
  }

  #restore(s: unknown): void {
    const bad = (what: string): never => fail('invalid_argument', `options.state ${what}, expected a sampler's state (sampler.state)`, 'options.state');
    if (typeof s !== 'object' || s === null) bad(`= ${describe(s)}`);
    const st = s as Record<string, unknown>;
    if (!Array.isArray(st.history) || !st.history.every((t) => Number.isInteger(t))) bad('has no integer history');
    const history = Int32Array.from(st.history as number[]);
    checkIds(history, this.vocab, 'options.state.history');
    if (!Number.isInteger(st.generated) || (st.generated as number) < 0 || (st.generated as number) > history.length) bad(`.generated = ${describe(st.generated)}`);
    if (this.#mirostat !== null ? typeof st.mu !== 'number' || !Number.isFinite(st.mu) : st.mu !== null) bad(`.mu = ${describe(st.mu)} (mirostat is ${this.#mirostat === null ? 'off' : 'on'})`);
    if (this.#seed !== null ? !Number.isInteger(st.rng) || (st.rng as number) < 0 || (st.rng as number) > 0xffffffff : st.rng !== null) bad(`.rng = ${describe(st.rng)}`);
    let thinking: ThinkingState | null = null;
    if (this.#thinkingRule !== null) {
      const t = st.thinking as ThinkingState | null;
      if (typeof t !== 'object' || t === null || typeof t.thinking !== 'boolean' || !Number.isInteger(t.count) || !Number.isInteger(t.forced)) bad(`.thinking = ${describe(t)}`);
      thinking = { thinking: t!.thinking, count: t!.count, forced: t!.forced };
    } else if (st.thinking !== null) bad(`.thinking = ${describe(st.thinking)} (thinkingBudget is off)`);
    this.#length = 0;
    this.#push(history);
    this.#generated = st.generated as number;
    this.#mu = this.#mirostat === null ? null : (st.mu as number);
    this.#thinking = thinking;
    if (this.#rng !== null) this.#rng.s = (st.rng as number) >>> 0;
  }
}

/**
 * The indices of the entries that are not −inf, into ids; returns their count. It reads the float32
 * bits (int32 compares are cheaper than float loads in V8) four at a time: the AND of four −inf
 * patterns is −inf's pattern, and of anything else not (a filtered row holds no NaN), so runs of
 * −inf — nearly all of a filtered row — cost one test per four entries.
 */
function finiteIds(bits: Int32Array, ids: Int32Array): number {
  let n = 0;
  let j = 0;
  const end4 = bits.length & ~3;
  for (; j < end4; j += 4) {
    if ((bits[j]! & bits[j + 1]! & bits[j + 2]! & bits[j + 3]!) === NEG_INF_BITS) continue;
    for (let q = j; q < j + 4; q++) if (bits[q] !== NEG_INF_BITS) ids[n++] = q;
  }
  for (; j < bits.length; j++) if (bits[j] !== NEG_INF_BITS) ids[n++] = j;
  return n;
}

function checkIds(ids: Int32Array, vocab: number, name: string): void {
  for (let i = 0; i < ids.length; i++) if (!(ids[i]! >= 0 && ids[i]! < vocab)) fail('target_out_of_range', `${name} contains ${ids[i]}, expected token ids 0 ≤ id < ${vocab}`, name);
}

/** The n highest-ranked of the candidate ids (f descending, ties by lower index): a sort when few, the backend's partial selection (the topk kernel) when many. */
function rankTop(f: Float32Array, ids: Int32Array, n: number, hooks: SamplerHooks): Int32Array {
  if (ids.length <= 4 * n + 64) return Int32Array.from(ids).sort((a, b) => f[b]! - f[a]! || a - b).subarray(0, n);
  return hooks.topk(f, n).ids;
}

export type { ThinkingState };
