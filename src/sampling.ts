/**
 * The LLM sampling options beyond Hugging Face's warpers — constraints (token bitmask, logit
 * bias, allowed / suppressed tokens) and penalties (frequency, presence, the last-N window) —
 * validated and turned into what both backends consume: one effective bitmask per row and a
 * sparse list of replaced logits per row (README "Sampling and logits processing", rules 0–1).
 *
 * Everything sparse is computed here, once, in float32 steps, so the wasm kernel and the JS
 * reference start from the very same values; only the dense work (the mask, the filters, the
 * draw) runs in the backends.
 */
import type { Backend, FilterOptions, RowEdits } from './backends/backend.js';
import { describeValue as describe, fail } from './errors.js';
import { drawFromKept, weightOf } from './backends/js-sample.js';
import type { HistoryAdjust } from './decoding.js';

/** Every sample / filterLogits option key: the list lives with the other ops' in options.ts. */
export { SAMPLE_OPTION_KEYS } from './options.js';

/** `sample` with `logprobs: true`. */
export interface SampleResult {
  tokens: Int32Array;
  /** Log-probability of each row's token. */
  logprobs: Float32Array;
  /** The topLogprobs most likely tokens per row (rank order: descending, ties by lower id), rows × n. */
  topLogprobs: { ids: Int32Array; logprobs: Float32Array };
}

/** OpenAI `logprobs` / `top_logprobs`, and which distribution they describe. */
export interface LogprobOptions {
  logprobs?: boolean;
  /** 0..20 alternatives per row (OpenAI's limit); needs logprobs: true. */
  topLogprobs?: number;
  /** 'raw' (default, as vLLM): log-softmax of the logits as given; 'processed': of the distribution sample draws from. */
  logprobsOf?: 'raw' | 'processed';
}

export function checkLogprobs(o: LogprobOptions | undefined): { n: number; processed: boolean } | null {
  const on = o?.logprobs ?? false;
  if (typeof on !== 'boolean') fail('invalid_argument', `options.logprobs = ${describe(on)}, expected true or false`, 'options.logprobs');
  const n = o?.topLogprobs ?? 0;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 0 || n > 20)
    fail('invalid_argument', `options.topLogprobs = ${describe(n)}, expected an integer in [0, 20]`, 'options.topLogprobs');
  const of = o?.logprobsOf ?? 'raw';
  if (of !== 'raw' && of !== 'processed')
    fail('invalid_argument', `options.logprobsOf = ${describe(of)}, expected 'raw' or 'processed'`, 'options.logprobsOf');
  if (!on) {
    if (n > 0) fail('invalid_argument', 'options.topLogprobs needs options.logprobs: true', 'options.topLogprobs');
    return null;
  }
  return { n, processed: of === 'processed' };
}

/** FilterOptions that change nothing but NaN → −inf: the raw distribution as sampling reads it. */
export function neutralFilter(): FilterOptions {
  return {
    temperature: 1, topK: 0, topP: 1, minP: 0, repetitionPenalty: 1, penaltyTokens: null, minTokensToKeep: 1,
    topNSigma: 0, epsilon: 0, eta: 0, typicalP: 1, temperatureLast: false, xtc: null, xtcDraws: null,
    edits: null, mask: null, maskStride: 0, constrained: false,
  };
}

/**
 * log p of each row's token and its top-n alternatives, by partial selection: z = the (raw or
 * processed) logits with NaN → −inf from the backend's filterLogits, L = logsumexp(z), the top n by
 * the backend's topk selection, log p = fround(z − L). A row with +inf logits gives its +inf
 * tokens −ln(count) and the rest −inf; a row with no logit above −inf gives NaN.
 */
export function logprobsOf(b: Backend, x: Float32Array, rows: number, classes: number, o: FilterOptions, tokens: Int32Array, n: number, processed: boolean): SampleResult {
  const lse = new Float32Array(rows);
  let z = x;
  if (processed) {
    z = new Float32Array(rows * classes);
    b.filterLogits(x, rows, classes, o, z);
    b.logsumexp(z, rows, classes, 1, lse);
  } else {
    // Raw: x itself, unless a row's logsumexp is NaN — a NaN logit (read as −inf) or ±inf — then
    // the copy with NaN → −inf.
    b.logsumexp(x, rows, classes, 1, lse);
    if (lse.some((v) => Number.isNaN(v))) {
      z = new Float32Array(rows * classes);
      b.filterLogits(x, rows, classes, neutralFilter(), z);
      b.logsumexp(z, rows, classes, 1, lse);
    }
  }
  const k = Math.min(n, classes);
  const ids = new Int32Array(rows * k);
  const values = new Float32Array(rows * k);
  if (k > 0) b.topk(z, rows, classes, k, values, ids);
  const lp = (r: number, v: number): number => {
    const L = lse[r]!;
    if (Number.isFinite(L)) return Math.fround(v - L);
    if (L === -Infinity) return NaN;
    // L = +inf (or NaN, from inf − inf): the +inf tokens share the mass equally.
    let inf = 0;
    for (let j = 0; j < classes; j++) if (z[r * classes + j] === Infinity) inf++;
    if (inf === 0) return NaN;
    return v === Infinity ? Math.fround(-Math.log(inf)) : -Infinity;
  };
  const logprobs = new Float32Array(rows);
  for (let r = 0; r < rows; r++) {
    logprobs[r] = lp(r, z[r * classes + tokens[r]!]!);
    for (let i = 0; i < k; i++) values[r * k + i] = lp(r, values[r * k + i]!);
  }
  return { tokens, logprobs, topLogprobs: { ids, logprobs: values } };
}

/** A sparse additive bias per token id: a Map, a record keyed by id, or parallel arrays. */
export type LogitBias =
  | Map<number, number>
  | Record<string | number, number>
  | { ids: Int32Array | readonly number[]; values: Float32Array | Float64Array | readonly number[] };

/** The constraint and penalty options (part of SampleOptions). */
export interface ConstraintOptions {
  /** XGrammar / llguidance layout: ⌈vocab/32⌉ int32 words per row (or one row for all), bit j of word j>>5 = allowed. */
  tokenBitmask?: Int32Array;
  logitBias?: LogitBias;
  allowedTokens?: Int32Array | Int32Array[];
  suppressTokens?: Int32Array | Int32Array[];
  /** OpenAI / vLLM: z_t −= c_t·frequencyPenalty + [c_t > 0]·presencePenalty; each in [−2, 2]. */
  frequencyPenalty?: number;
  presencePenalty?: number;
  /** llama.cpp penalty_last_n: the penalties see only the last N penalty tokens; 0 = off, −1 = all (default). */
  penaltyLastN?: number;
}

function penaltyNumber(v: unknown, name: string): number {
  if (v === undefined) return 0;
  if (typeof v !== 'number' || !(v >= -2 && v <= 2))
    fail('invalid_argument', `options.${name} = ${describe(v)}, expected a number in [-2, 2] (0 = off)`, `options.${name}`);
  return v;
}

/** One token-id list per row from an Int32Array (every row) or an array of rows×Int32Array. */
export function perRowLists(v: unknown, name: string, rows: number, classes: number): Int32Array[] {
  let lists: Int32Array[];
  if (v instanceof Int32Array) lists = new Array<Int32Array>(rows).fill(v);
  else if (Array.isArray(v) && v.length === rows && v.every((p) => p instanceof Int32Array)) lists = v as Int32Array[];
  else fail('shape_mismatch', `options.${name} = ${describe(v)}, expected an Int32Array (all rows) or an array of ${rows} Int32Arrays (one per row)`, `options.${name}`);
  for (const list of lists)
    for (let i = 0; i < list.length; i++)
      if (!(list[i]! >= 0 && list[i]! < classes))
        fail('target_out_of_range', `options.${name} contains ${list[i]}, expected token ids 0 ≤ id < ${classes}`, `options.${name}`);
  return lists;
}

/** The bias as parallel arrays with unique ids in [0, classes) and finite values. */
function biasEntries(v: unknown, classes: number): { ids: number[]; values: number[] } {
  const ids: number[] = [];
  const values: number[] = [];
  const bad = (): never =>
    fail('invalid_argument', `options.logitBias = ${describe(v)}, expected a Map<id, bias>, a record { id: bias } or { ids, values }`, 'options.logitBias');
  if (v instanceof Map) {
    for (const [k, b] of v) ids.push(k as number), values.push(b as number);
  } else if (typeof v === 'object' && v !== null && !Array.isArray(v) && !ArrayBuffer.isView(v)) {
    const rec = v as Record<string, unknown>;
    if ('ids' in rec || 'values' in rec) {
      const a = rec.ids;
      const b = rec.values;
      const listLike = (q: unknown): q is ArrayLike<number> => Array.isArray(q) || (ArrayBuffer.isView(q) && !(q instanceof DataView));
      if (!listLike(a) || !listLike(b)) bad();
      const ia = a as ArrayLike<number>;
      const vb = b as ArrayLike<number>;
      if (ia.length !== vb.length)
        fail('shape_mismatch', `options.logitBias has ${ia.length} ids and ${vb.length} values, expected the same number`, 'options.logitBias');
      for (let i = 0; i < ia.length; i++) ids.push(ia[i]!), values.push(vb[i]!);
    } else {
      for (const k of Object.keys(rec)) {
        // Record keys are strings: only canonical integers name a token.
        const id = Number(k);
        if (String(id) !== k) fail('target_out_of_range', `options.logitBias has key '${k}', expected token ids 0 ≤ id < ${classes}`, 'options.logitBias');
        ids.push(id), values.push(rec[k] as number);
      }
    }
  } else bad();
  const seen = new Set<number>();
  for (let i = 0; i < ids.length; i++) {
    const id = ids[i]!;
    if (typeof id !== 'number' || !Number.isInteger(id) || id < 0 || id >= classes)
      fail('target_out_of_range', `options.logitBias has id ${describe(id)}, expected token ids 0 ≤ id < ${classes}`, 'options.logitBias');
    if (seen.has(id)) fail('invalid_argument', `options.logitBias lists token ${id} twice`, 'options.logitBias');
    seen.add(id);
    if (typeof values[i] !== 'number' || !Number.isFinite(values[i]))
      fail('invalid_argument', `options.logitBias[${id}] = ${describe(values[i])}, expected a finite number (use suppressTokens to forbid a token)`, 'options.logitBias');
  }
  return { ids, values };
}

/** The samplers beyond HF's top-k / top-p / min-p (part of SampleOptions). */
export interface SamplerOptions extends LogprobOptions {
  /** llama.cpp top-nσ: keep z ≥ max − n·σ over the finite z; 0 = off. */
  topNSigma?: number;
  /** Hugging Face EpsilonLogitsWarper: drop tokens with p < epsilon; in [0, 1), 0 = off. */
  epsilon?: number;
  /** Hugging Face EtaLogitsWarper: drop p < min(eta, √eta·exp(−H)); in [0, 1), 0 = off. */
  eta?: number;
  /** Hugging Face TypicalLogitsWarper (llama.cpp typical): keep the tokens whose −log p is closest to the entropy, up to this mass; in (0, 1], 1 = off. */
  typicalP?: number;
  /** llama.cpp XTC: with this probability per row, drop the tokens with p ≥ threshold except the least likely of them. */
  xtc?: { probability: number; threshold: number };
  /** 'hf' (default): temperature first; 'llama.cpp': temperature last. */
  order?: SampleOrder;
}

/**
 * The stage orders: Hugging Face's (temperature first, typical-p after min-p, as in
 * `_get_logits_processor`) and llama.cpp's (temperature last, typical right after top-k, as in its
 * default chain). The lists of the releases before typicalP (the same without 'typicalP') are
 * still accepted and mean the same order.
 */
export type SampleOrder = 'hf' | 'llama.cpp' | readonly string[];
export const SAMPLE_ORDERS = {
  hf: ['temperature', 'topNSigma', 'topK', 'topP', 'minP', 'typicalP', 'epsilon', 'eta', 'xtc'],
  'llama.cpp': ['topNSigma', 'topK', 'typicalP', 'topP', 'minP', 'epsilon', 'eta', 'xtc', 'temperature'],
} as const;

/** topNSigma, epsilon, eta, typicalP, xtc and order, validated. */
export function checkSamplers(o: SamplerOptions | undefined): {
  topNSigma: number;
  epsilon: number;
  eta: number;
  typicalP: number;
  xtc: { probability: number; threshold: number } | null;
  temperatureLast: boolean;
} {
  const topNSigma = o?.topNSigma ?? 0;
  if (typeof topNSigma !== 'number' || !Number.isFinite(topNSigma) || topNSigma < 0)
    fail('invalid_argument', `options.topNSigma = ${describe(topNSigma)}, expected a finite number ≥ 0 (0 = off)`, 'options.topNSigma');
  const cutoff = (v: unknown, name: string): number => {
    if (v === undefined) return 0;
    if (typeof v !== 'number' || !(v >= 0 && v < 1))
      fail('invalid_argument', `options.${name} = ${describe(v)}, expected a number in [0, 1) (0 = off)`, `options.${name}`);
    return v;
  };
  const typicalP = o?.typicalP ?? 1;
  if (typeof typicalP !== 'number' || !(typicalP > 0 && typicalP <= 1))
    fail('invalid_argument', `options.typicalP = ${describe(typicalP)}, expected a number in (0, 1] (1 = off)`, 'options.typicalP');
  let xtc: { probability: number; threshold: number } | null = null;
  if (o?.xtc !== undefined) {
    const x = o.xtc as unknown;
    const bad = (): never =>
      fail('invalid_argument', `options.xtc = ${describe(x)}, expected { probability, threshold } with both in [0, 1]`, 'options.xtc');
    if (typeof x !== 'object' || x === null) bad();
    const { probability, threshold } = x as { probability: unknown; threshold: unknown };
    if (typeof probability !== 'number' || !(probability >= 0 && probability <= 1)) bad();
    if (typeof threshold !== 'number' || !(threshold >= 0 && threshold <= 1)) bad();
    if ((probability as number) > 0) xtc = { probability: probability as number, threshold: threshold as number };
  }
  const order = o?.order ?? 'hf';
  let temperatureLast = false;
  const equal = (a: readonly string[], b: readonly string[]): boolean => a.length === b.length && a.every((v, i) => v === b[i]);
  const same = (a: readonly string[], b: readonly string[]): boolean => equal(a, b) || equal(a, b.filter((v) => v !== 'typicalP'));
  if (order === 'llama.cpp' || (Array.isArray(order) && same(order, SAMPLE_ORDERS['llama.cpp']))) temperatureLast = true;
  else if (!(order === 'hf' || (Array.isArray(order) && same(order, SAMPLE_ORDERS.hf))))
    fail(
      'invalid_argument',
      `options.order = ${Array.isArray(order) ? JSON.stringify(order) : describe(order)}, expected 'hf', 'llama.cpp' or one of their stage lists (${JSON.stringify(SAMPLE_ORDERS.hf)} / ${JSON.stringify(SAMPLE_ORDERS['llama.cpp'])}); other orders are not supported yet`,
      'options.order',
    );
  return { topNSigma, epsilon: cutoff(o?.epsilon, 'epsilon'), eta: cutoff(o?.eta, 'eta'), typicalP, xtc, temperatureLast };
}

/** Validates the constraint and penalty options; throws before anything is computed. */
export function checkConstraints(o: ConstraintOptions | undefined, rows: number, classes: number): ResolvedConstraints {
  const words = Math.ceil(classes / 32);
  let bitmask: Int32Array | null = null;
  if (o?.tokenBitmask !== undefined) {
    const m = o.tokenBitmask;
    if (!(m instanceof Int32Array))
      fail('invalid_argument', `options.tokenBitmask = ${describe(m)}, expected an Int32Array of ⌈vocab/32⌉ = ${words} words per row`, 'options.tokenBitmask');
    if (m.length !== words && m.length !== rows * words)
      fail('shape_mismatch', `options.tokenBitmask has ${m.length} words, expected ⌈vocab/32⌉ = ${words} (all rows) or ${rows * words} (${rows} rows)`, 'options.tokenBitmask');
    bitmask = m;
  }
  const allowed = o?.allowedTokens !== undefined ? perRowLists(o.allowedTokens, 'allowedTokens', rows, classes) : null;
  const suppressed = o?.suppressTokens !== undefined ? perRowLists(o.suppressTokens, 'suppressTokens', rows, classes) : null;
  const bias = o?.logitBias !== undefined ? biasEntries(o.logitBias, classes) : null;
  const frequency = penaltyNumber(o?.frequencyPenalty, 'frequencyPenalty');
  const presence = penaltyNumber(o?.presencePenalty, 'presencePenalty');
  const lastN = o?.penaltyLastN ?? -1;
  if (typeof lastN !== 'number' || !Number.isInteger(lastN) || lastN < -1)
    fail('invalid_argument', `options.penaltyLastN = ${describe(lastN)}, expected an integer ≥ -1 (0 = off, -1 = all penalty tokens)`, 'options.penaltyLastN');
  return { bitmask, allowed, suppressed, bias, frequency, presence, lastN };
}

export interface ResolvedConstraints {
  bitmask: Int32Array | null;
  allowed: Int32Array[] | null;
  suppressed: Int32Array[] | null;
  bias: { ids: number[]; values: number[] } | null;
  frequency: number;
  presence: number;
  lastN: number;
}

/**
 * The effective mask (tokenBitmask ∧ allowedTokens ∧ ¬suppressTokens) and the sparse edits of
 * every row, from the float32 logits x. Edited value of token t, in this order, each step
 * rounded to float32: + bias_t; then, if t is in the penalty window, the CTRL repetition penalty
 * (v > 0 → v / r, else v · r) and v − (c_t·α_f + α_p) with c_t its count in the window; then
 * the history rules' additions (DRY, sequence bias), bans (−inf) and forced token (0, the only
 * token its row's mask allows) from src/decoding.ts.
 */
export function prepareRows(
  x: Float32Array,
  rows: number,
  classes: number,
  c: ResolvedConstraints,
  repetitionPenalty: number,
  penaltyTokens: Int32Array[] | null,
  adjust: HistoryAdjust[] | null = null,
): Pick<FilterOptions, 'edits' | 'mask' | 'maskStride' | 'constrained'> {
  const words = Math.ceil(classes / 32);
  let mask: Int32Array | null = null;
  let maskStride = 0;
  // A forced token (thinking budget) is the row's only allowed token: that needs a mask per row.
  const forcing = adjust !== null && adjust.some((a) => a.force >= 0);
  if (c.allowed !== null || c.suppressed !== null || forcing) {
    const perRow = forcing || (c.bitmask !== null && c.bitmask.length !== words) || (c.allowed !== null && !sharedList(c.allowed)) || (c.suppressed !== null && !sharedList(c.suppressed));
    const mrows = perRow ? rows : 1;
    mask = new Int32Array(mrows * words);
    for (let r = 0; r < mrows; r++) {
      const row = mask.subarray(r * words, (r + 1) * words);
      if (c.bitmask !== null) row.set(c.bitmask.length === words ? c.bitmask : c.bitmask.subarray(r * words, (r + 1) * words));
      else row.fill(-1);
      if (c.allowed !== null) {
        const only = new Int32Array(words);
        for (const t of c.allowed[r]!) only[t >> 5]! |= 1 << (t & 31);
        for (let i = 0; i < words; i++) row[i]! &= only[i]!;
      }
      if (c.suppressed !== null) for (const t of c.suppressed[r]!) row[t >> 5]! &= ~(1 << (t & 31));
      const f = adjust?.[r]?.force ?? -1;
      if (f >= 0) {
        row.fill(0);
        row[f >> 5] = 1 << (f & 31);
      }
    }
    maskStride = perRow ? words : 0;
  } else if (c.bitmask !== null) {
    mask = c.bitmask;
    maskStride = c.bitmask.length === words ? 0 : words;
  }

  const penalise = penaltyTokens !== null && c.lastN !== 0 && (repetitionPenalty !== 1 || c.frequency !== 0 || c.presence !== 0);
  let edits: RowEdits | null = null;
  const adjusted = adjust !== null && adjust.some((a) => a.add.size > 0 || a.ban.size > 0 || a.force >= 0);
  if (c.bias !== null || penalise || adjusted) {
    const offsets = new Int32Array(rows + 1);
    const ids: number[] = [];
    const values: number[] = [];
    const biasOf = new Map<number, number>();
    if (c.bias !== null) for (let i = 0; i < c.bias.ids.length; i++) biasOf.set(c.bias.ids[i]!, c.bias.values[i]!);
    for (let r = 0; r < rows; r++) {
      offsets[r] = ids.length;
      const counts = new Map<number, number>();
      if (penalise) {
        const list = penaltyTokens[r]!;
        const from = c.lastN < 0 ? 0 : Math.max(0, list.length - c.lastN);
        for (let i = from; i < list.length; i++) counts.set(list[i]!, (counts.get(list[i]!) ?? 0) + 1);
      }
      const a = adjust?.[r];
      const touched = new Set<number>([...biasOf.keys(), ...counts.keys()]);
      if (a !== undefined) {
        for (const t of a.add.keys()) touched.add(t);
        for (const t of a.ban) touched.add(t);
        if (a.force >= 0) touched.add(a.force);
      }
      for (const t of touched) {
        let v = x[r * classes + t]!;
        const b = biasOf.get(t);
        if (b !== undefined) v = Math.fround(v + b);
        const n = counts.get(t);
        if (n !== undefined) {
          if (repetitionPenalty !== 1) v = v > 0 ? Math.fround(v / repetitionPenalty) : Math.fround(v * repetitionPenalty);
          if (c.frequency !== 0 || c.presence !== 0) v = Math.fround(v - (n * c.frequency + c.presence));
        }
        if (a !== undefined) {
          // The history rules come after the penalties (llama.cpp: penalties, then DRY); a ban
          // is −inf; the forced token gets 0 so that it is drawn whatever its logit was.
          const d = a.add.get(t);
          if (d !== undefined) v = Math.fround(v + d);
          if (a.ban.has(t)) v = -Infinity;
          if (t === a.force) v = 0;
        }
        ids.push(t), values.push(v);
      }
    }
    offsets[rows] = ids.length;
    edits = { offsets, ids: Int32Array.from(ids), values: Float32Array.from(values) };
  }
  // Bans are constraints too: a row they leave empty is an error, never a silent token 0.
  const banned = adjust !== null && adjust.some((a) => a.ban.size > 0);
  const constrained = c.bitmask !== null || c.allowed !== null || c.suppressed !== null || banned || forcing;
  return { edits, mask, maskStride, constrained };
}

function sharedList(lists: Int32Array[]): boolean {
  return lists.every((l) => l === lists[0]);
}

/** `verifyDraft`'s answer: how many draft tokens were accepted, and the token that follows them. */
export interface VerifyDraftResult {
  accepted: number;
  token: number;
}

/**
 * The speculative-decoding rejection rule (Leviathan et al. 2023; Chen et al. 2023) on filtered
 * rows: ft = the target's k + 1 rows, fd = the draft's k rows (−inf outside each kept set), draft
 * = the k draft tokens, next = the uniform stream. Probabilities are w / S with w = exp(z − m) (the
 * shared exp) and S summed in index order, all in float64 here, so both backends agree exactly.
 * Row i: accept x = draft[i] when u·q(x) < p(x) (probability min(1, p/q)); otherwise the token is
 * drawn from max(0, p − q) normalised (from p if that is all zero) and the walk stops. If every
 * draft token is accepted, the token is drawn from the target's last row exactly as `sample` draws.
 */
export function verifyDraftRows(ft: Float32Array, fd: Float32Array, classes: number, draft: Int32Array, next: () => number): VerifyDraftResult {
  /** The kept tokens of a filtered row (index order) and their probabilities. */
  const dist = (f: Float32Array, r: number): { ids: number[]; p: Map<number, number> } => {
    const base = r * classes;
    const ids: number[] = [];
    let m = -Infinity;
    for (let j = 0; j < classes; j++) {
      const v = f[base + j]!;
      if (v !== -Infinity) {
        ids.push(j);
        if (v > m) m = v;
      }
    }
    const w = ids.map((j) => weightOf(f[base + j]!, m));
    let S = 0;
    for (const v of w) S += v;
    return { ids, p: new Map(ids.map((j, i) => [j, w[i]! / S])) };
  };
  /** First id whose running sum exceeds u·total (index order); else the last positive one. */
  const inverseCdf = (ids: number[], w: (j: number) => number, u: number): number => {
    let total = 0;
    for (const j of ids) total += w(j);
    const threshold = u * total;
    let cum = 0;
    let lastPositive = -1;
    for (const j of ids) {
      cum += w(j);
      if (cum > threshold) return j;
      if (w(j) > 0) lastPositive = j;
    }
    return lastPositive >= 0 ? lastPositive : ids[0]!;
  };
  for (let i = 0; i < draft.length; i++) {
    const P = dist(ft, i);
    const Q = dist(fd, i);
    const x = draft[i]!;
    if (next() * (Q.p.get(x) ?? 0) < (P.p.get(x) ?? 0)) continue;
    // max(0, p − q) is zero outside p's support: walk p's kept ids only.
    const residual = (j: number): number => Math.max(0, P.p.get(j)! - (Q.p.get(j) ?? 0));
    let R = 0;
    for (const j of P.ids) R += residual(j);
    const v = next();
    return { accepted: i, token: inverseCdf(P.ids, R > 0 ? residual : (j) => P.p.get(j)!, v) };
  }
  // Every draft token accepted: the bonus token, as sample would draw it from the last target row.
  const k = draft.length;
  const row = ft.subarray(k * classes, (k + 1) * classes);
  const kept: number[] = [];
  let m = -Infinity;
  for (let j = 0; j < classes; j++)
    if (row[j] !== -Infinity) {
      kept.push(j);
      if (row[j]! > m) m = row[j]!;
    }
  const z = new Float64Array(classes);
  for (const j of kept) z[j] = row[j]!;
  return { accepted: k, token: drawFromKept(z, m, Int32Array.from(kept), next()) };
}
