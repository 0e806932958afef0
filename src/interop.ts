/**
 * Interop with model runtimes, by duck typing only (no runtime is imported).
 *
 * Tensors of onnxruntime (web/node) and transformers.js carry `.data`, `.dims`
 * and `.type`; every op already accepts them in place of a Float32Array (see
 * Engine). This file adds a transformers.js-compatible logits processor with two modes:
 *  - 'sample': the token is drawn inside logitkit — by one `lk.sampler` per batch row, its history
 *    kept equal to transformers.js' `input_ids` — and the logits are rewritten to one finite value
 *    (0 at the token, −inf elsewhere), so nothing transformers.js applies after its user processors
 *    (its sampler's top_k 50, temperature, softmax, greedy or multinomial pick) can change the
 *    choice — the README's recipe. Every sampler option works, the stateful ones (mirostat,
 *    minTokens, thinkingBudget) included;
 *  - 'filter' (default): `lk.filterLogits` with `history` = the input ids written back, for
 *    pipelines that sample themselves (mirostat, being the draw itself, needs 'sample').
 */
import type { DTypeOption, Engine, SampleOptions, SamplerCreateOptions } from './engine.js';
import type { Sampler } from './sampler.js';
import { describeValue as describe, fail } from './errors.js';
import { splitMix32 } from './engine.js';
import { halfToFloat } from './half.js';
import { checkMinTokens } from './decoding.js';
import { checkOptionKeys, PROCESSOR_EXCLUDED_KEYS, SAMPLE_OPTION_KEYS } from './options.js';

/** What createLogitsProcessor accepts: the sampling options minus what each call supplies, plus `mode` and lk.sampler's stateful rules. */
export const PROCESSOR_OPTION_KEYS: readonly string[] = [...SAMPLE_OPTION_KEYS.filter((k) => !(PROCESSOR_EXCLUDED_KEYS as readonly string[]).includes(k)), 'mode', 'mirostat', 'minTokens'];

/** The sampling options that make sense for a processor (the history comes from the input ids). */
export type LogitsProcessorOptions = Omit<SampleOptions, 'penaltyTokens' | 'dtype' | 'logprobs' | 'topLogprobs' | 'logprobsOf' | 'history' | 'guidance'> &
  Pick<SamplerCreateOptions, 'mirostat' | 'minTokens'> & {
    /** 'sample': draw the token here and leave one finite logit; 'filter' (default): write back filterLogits. */
    mode?: 'filter' | 'sample';
    /** Classifier-free guidance: `unconditional` is one row (vocab values, every batch row) or a function of a row's history (and its index) giving it. */
    guidance?: { scale: number; unconditional: Float32Array | ((history: Int32Array, row: number) => Float32Array) };
  };

/** Options whose validity depends on the vocabulary: checked on the first call, not at creation. */
const VOCAB_KEYS = ['tokenBitmask', 'logitBias', 'allowedTokens', 'suppressTokens', 'dry', 'badWords', 'sequenceBias', 'thinkingBudget', 'guidance', 'minTokens', 'mirostat'] as const;

/** A transformers.js logits tensor as the processor sees it: `[batch, vocab]` (or `[batch, 1, vocab]`). */
export interface LogitsTensorLike {
  data: Float32Array | Uint16Array | ArrayLike<number>;
  dims: readonly number[];
  type?: string;
}

/** Input ids as transformers.js passes them: one array of ids per batch row (bigint or number). */
export type InputIds = ArrayLike<ArrayLike<bigint | number>>;

/**
 * transformers.js calls processors as functions (its LogitsProcessor extends Callable)
 * and also exposes `_call`; this object is both.
 */
export interface LogitsProcessorFunction {
  <T extends LogitsTensorLike>(inputIds: InputIds, logits: T): T;
  _call<T extends LogitsTensorLike>(inputIds: InputIds, logits: T): T;
}

/**
 * A logits processor for transformers.js (`_call(inputIds, logits)` contract):
 * modifies `logits.data` in place (−inf outside the kept set, the processed logits
 * inside) and returns `logits`. float32 data is written directly; float16 / bfloat16
 * bits (a Uint16Array with `type` 'float16' / 'bfloat16') are rounded back to their
 * format. Options are checked once here, so a bad option throws at creation.
 *
 * The history of row r is `inputIds[r]` (prompt + generated). A processor follows one generation
 * at a time: a call whose ids do not extend the previous call's (a new `generate()`, another batch
 * size) starts a new one — minTokens counts from there, and in 'sample' mode the row samplers are
 * made anew with those ids as the prompt. The seed stream is one for the processor's life: step
 * t's rows take the next uniforms, so with batch 1 the tokens equal `lk.sampler({ vocab, prompt,
 * seed, ...options })` fed the same logits.
 */
export function createLogitsProcessor(lk: Engine, options: LogitsProcessorOptions = {}): LogitsProcessorFunction {
  // Unknown keys, null values, and keys each call supplies (the history comes from the input ids, the
  // dtype from each tensor) are errors here, not silently ignored.
  checkOptionKeys(options, PROCESSOR_OPTION_KEYS);
  if (typeof options !== 'object' || options === null) fail('invalid_argument', `options = ${String(options)}, expected an options object`, 'options');
  const { mode = 'filter', mirostat, minTokens, guidance, ...rest } = options;
  if (mode !== 'filter' && mode !== 'sample') fail('invalid_argument', `options.mode = ${String(mode)}, expected 'filter' or 'sample'`, 'options.mode');
  if (mirostat !== undefined && mode !== 'sample')
    fail('invalid_argument', "options.mirostat is the draw itself: it needs mode: 'sample' (filter mode returns logits for another sampler)", 'options.mirostat');
  const base: SampleOptions = { ...rest };
  // Validate now on a one-token row (the engine checks every option); vocabulary-sized ones wait for the first call.
  const probe: Record<string, unknown> = { ...base };
  for (const k of VOCAB_KEYS) delete probe[k];
  lk.filterLogits(new Float32Array(1), 1, probe as SampleOptions);
  if (guidance !== undefined && (typeof guidance !== 'object' || guidance === null || !(guidance.unconditional instanceof Float32Array || typeof guidance.unconditional === 'function')))
    fail('invalid_argument', `options.guidance = ${describe(guidance)}, expected { scale, unconditional: Float32Array | (history, row) => Float32Array }`, 'options.guidance');
  // One stream for the processor's life (not the seed again at every step).
  const random = base.random ?? (base.seed !== undefined ? splitMix32(base.seed) : undefined);
  delete base.seed;
  delete base.random;

  /** The generation being followed: its batch, each row's prompt length and last history length. */
  let follow: { rows: number; vocab: number; prompt: number[]; last: Int32Array[] } | null = null;
  let samplers: Sampler[] = [];

  const call = <T extends LogitsTensorLike>(inputIds: InputIds, logits: T): T => {
    if (typeof logits !== 'object' || logits === null || !('data' in logits) || !Array.isArray(logits.dims))
      fail('invalid_argument', 'logits must be a tensor with .data and .dims (transformers.js / onnxruntime)', 'logits');
    const dims = logits.dims;
    const vocab = dims[dims.length - 1];
    if (vocab === undefined) fail('shape_mismatch', 'logits.dims is empty, expected [batch, vocab]', 'logits.dims');
    const data = logits.data;
    if (!(ArrayBuffer.isView(data) || Array.isArray(data)))
      fail('invalid_argument', `logits.data is ${data === null ? 'null' : typeof data}, expected a Float32Array (or Uint16Array of half bits)`, 'logits.data');
    let size = 1;
    for (const d of dims) {
      if (typeof d !== 'number' || !Number.isSafeInteger(d) || d < 0) fail('shape_mismatch', `logits.dims = [${dims.map(String).join(', ')}], expected integers ≥ 0`, 'logits.dims');
      size *= d;
    }
    if (size !== data.length) fail('shape_mismatch', `logits.dims [${dims.join(', ')}] describe ${size} elements, but logits.data has ${data.length}`, 'logits.dims');
    const rows = data.length / vocab;
    const half = halfDType(data, logits.type);
    if (typeof inputIds !== 'object' || inputIds === null || typeof inputIds.length !== 'number')
      fail('invalid_argument', 'inputIds must be an array of token-id arrays (one per batch row)', 'inputIds');
    const lists: Int32Array[] = [];
    for (let r = 0; r < inputIds.length; r++) lists.push(tokenIds(inputIds[r], r, vocab));
    // No ids at all = an empty history for every row (nothing for the history rules to read).
    if (lists.length === 0) lists.push(new Int32Array(0));
    if (lists.length !== rows && !(lists.length === 1 && rows > 1))
      fail('shape_mismatch', `inputIds has ${lists.length} rows, expected one per logits row (${rows}), one for all, or none`, 'inputIds');
    const history = (r: number): Int32Array => lists[lists.length === 1 ? 0 : r]!;
    // A call that does not extend the last one's ids starts a new generation.
    const fresh = follow === null || follow.rows !== rows || follow.vocab !== vocab || follow.last.some((prev, r) => !extends_(history(r), prev));
    if (fresh) {
      follow = { rows, vocab, prompt: Array.from({ length: rows }, (_, r) => history(r).length), last: [] };
      samplers = [];
    }
    follow!.last = Array.from({ length: rows }, (_, r) => history(r));

    if (mode === 'sample') {
      const tokens = new Int32Array(rows);
      for (let r = 0; r < rows; r++) {
        const ids = history(r);
        let s = samplers[r];
        // Ids that do not extend this row's history (the same step again, another sequence) start it anew.
        if (s === undefined || !extends_(ids, s.history)) {
          const o: SamplerCreateOptions = { ...base, vocab, prompt: ids };
          if (random !== undefined) o.random = random;
          if (mirostat !== undefined) o.mirostat = mirostat;
          if (minTokens !== undefined) o.minTokens = minTokens;
          if (guidance !== undefined) {
            const u = guidance.unconditional;
            o.guidance = { scale: guidance.scale, unconditional: typeof u === 'function' ? (h: Int32Array) => u(h, r) : u };
          }
          s = samplers[r] = lk.sampler(o);
        } else {
          // Tokens transformers.js added beyond the sampler's own (forced by its processors) join the history.
          for (let i = s.history.length; i < ids.length; i++) s.accept(ids[i]!);
        }
        tokens[r] = s.sample(rowOf(data, r, vocab, half));
      }
      writeOneHot(data, vocab, tokens, half);
      return logits;
    }

    const o: SampleOptions & DTypeOption = { ...base, history: lists.length === 1 && rows !== 1 ? lists[0]! : lists };
    if (random !== undefined) o.random = random;
    if (half) o.dtype = half;
    if (guidance !== undefined) {
      const u = guidance.unconditional;
      const all = new Float32Array(rows * vocab);
      for (let r = 0; r < rows; r++) {
        const row = typeof u === 'function' ? u(history(r).slice(), r) : u;
        if (!(row instanceof Float32Array) || row.length !== vocab)
          fail('shape_mismatch', `options.guidance.unconditional gave ${describe(row)}, expected a Float32Array of vocab = ${vocab} values`, 'options.guidance.unconditional');
        all.set(row, r * vocab);
      }
      o.guidance = { scale: guidance.scale, unconditional: all };
    }
    if (minTokens !== undefined) {
      // vLLM min_tokens: the stop tokens are suppressed while this generation has produced fewer than count.
      const m = checkMinTokens(minTokens, vocab)!;
      const own = base.suppressTokens;
      const per: Int32Array[] = [];
      for (let r = 0; r < rows; r++) {
        const mine = own === undefined ? new Int32Array(0) : own instanceof Int32Array ? own : own[r]!;
        const produced = history(r).length - follow!.prompt[r]!;
        per.push(produced < m.count ? Int32Array.from([...mine, ...m.stopTokens]) : mine);
      }
      o.suppressTokens = per;
    }
    const input = half ? (data as Uint16Array) : (data as Float32Array);
    const out = lk.filterLogits(input, vocab, o);
    if (half !== null) lk.toHalfBits(out, half, { out: data as Uint16Array });
    else writeBack(data, out);
    return logits;
  };
  const processor = ((inputIds: InputIds, logits: LogitsTensorLike) => call(inputIds, logits)) as LogitsProcessorFunction;
  processor._call = call;
  return processor;
}

/** ids starts with prev (the generation goes on). */
function extends_(ids: Int32Array, prev: Int32Array): boolean {
  if (ids.length < prev.length) return false;
  for (let i = 0; i < prev.length; i++) if (ids[i] !== prev[i]) return false;
  return true;
}

/** Row r of the logits as float32 (half bits widened). */
function rowOf(data: LogitsTensorLike['data'], r: number, vocab: number, half: 'float16' | 'bfloat16' | null): Float32Array {
  if (data instanceof Float32Array) return data.subarray(r * vocab, (r + 1) * vocab);
  const out = new Float32Array(vocab);
  const bits = new Uint32Array(1);
  const asFloat = new Float32Array(bits.buffer);
  for (let j = 0; j < vocab; j++) {
    const v = (data as ArrayLike<number>)[r * vocab + j]!;
    if (half === 'float16') out[j] = halfToFloat(v);
    else if (half === 'bfloat16') {
      bits[0] = v << 16;
      out[j] = asFloat[0]!;
    } else out[j] = v;
  }
  return out;
}

/**
 * One row of input ids as int32, with no coercion: a fractional id, a string or an id beyond the
 * vocabulary is an error, never truncated or wrapped (2**32 + 1 is not token 1).
 */
function tokenIds(row: unknown, r: number, vocab: number): Int32Array {
  if (typeof row !== 'object' || row === null || typeof (row as ArrayLike<unknown>).length !== 'number')
    fail('invalid_argument', `inputIds[${r}] is not an array of token ids`, 'inputIds');
  const ids = row as ArrayLike<unknown>;
  const out = new Int32Array(ids.length);
  for (let i = 0; i < ids.length; i++) {
    const id = ids[i];
    let v: number;
    if (typeof id === 'bigint') v = id >= 0n && id < BigInt(vocab) ? Number(id) : -1;
    else if (typeof id === 'number' && Number.isInteger(id)) v = id;
    else fail('invalid_argument', `inputIds[${r}][${i}] = ${typeof id === 'string' ? `'${id}'` : String(id)}, expected an integer token id`, 'inputIds');
    if (!(v >= 0 && v < vocab))
      fail('target_out_of_range', `inputIds[${r}][${i}] = ${String(id)}, expected a token id 0 ≤ id < ${vocab}`, 'inputIds');
    out[i] = v;
  }
  return out;
}

function halfDType(data: unknown, type: string | undefined): 'float16' | 'bfloat16' | null {
  const F16 = (globalThis as { Float16Array?: abstract new (...a: never[]) => unknown }).Float16Array;
  if (F16 !== undefined && data instanceof F16) return null; // reads and writes as numbers
  if (data instanceof Uint16Array) {
    if (type === 'bfloat16') return 'bfloat16';
    if (type === 'float16') return 'float16';
    fail('invalid_argument', `logits.data is a Uint16Array but logits.type = ${String(type)}; expected 'float16' or 'bfloat16'`, 'logits.type');
  }
  return null;
}

/**
 * −inf everywhere and 0 at each row's token, in the tensor's own format: a native fill of the
 * −inf bit pattern (0xfc00 float16, 0xff80 bfloat16), never a per-element conversion.
 */
function writeOneHot(data: LogitsTensorLike['data'], vocab: number, tokens: Int32Array, half: 'float16' | 'bfloat16' | null): void {
  if (half !== null) {
    const bits = data as Uint16Array;
    bits.fill(half === 'float16' ? 0xfc00 : 0xff80);
    for (let r = 0; r < tokens.length; r++) bits[r * vocab + tokens[r]!] = 0;
    return;
  }
  const d = data as unknown as { fill?: (v: number) => void; [i: number]: number; length: number };
  if (typeof d.fill === 'function') d.fill(-Infinity);
  else for (let i = 0; i < d.length; i++) d[i] = -Infinity;
  for (let r = 0; r < tokens.length; r++) d[r * vocab + tokens[r]!] = 0;
}

function writeBack(data: LogitsTensorLike['data'], out: Float32Array): void {
  if (data instanceof Float32Array) data.set(out);
  else {
    const d = data as unknown as { [i: number]: number };
    for (let i = 0; i < out.length; i++) d[i] = out[i]!;
  }
}
