/**
 * Interop with model runtimes, by duck typing only (no runtime is imported).
 *
 * Tensors of onnxruntime (web/node) and transformers.js carry `.data`, `.dims`
 * and `.type`; every op already accepts them in place of a Float32Array (see
 * Engine). This file adds a transformers.js-compatible logits processor with two modes:
 *  - 'sample': the token is drawn inside logitkit (`lk.sample`, seeded) and the logits are
 *    rewritten to one finite value (0 at the token, −inf elsewhere), so nothing transformers.js
 *    applies after its user processors (its sampler's top_k 50, temperature, softmax, greedy or
 *    multinomial pick) can change the choice — the README's recipe;
 *  - 'filter' (default): `lk.filterLogits` written back, for pipelines that sample themselves.
 */
import type { DTypeOption, Engine, SampleOptions } from './engine.js';
import { fail } from './errors.js';
import { splitMix32 } from './engine.js';
import { checkOptionKeys, PROCESSOR_EXCLUDED_KEYS, SAMPLE_OPTION_KEYS } from './options.js';

/** What createLogitsProcessor accepts: the sampling options minus what each call supplies, plus `mode`. */
export const PROCESSOR_OPTION_KEYS: readonly string[] = [...SAMPLE_OPTION_KEYS.filter((k) => !(PROCESSOR_EXCLUDED_KEYS as readonly string[]).includes(k)), 'mode'];

/** The sampling options that make sense for a processor (penalty tokens come from the input ids). */
export type LogitsProcessorOptions = Omit<SampleOptions, 'penaltyTokens' | 'dtype' | 'logprobs' | 'topLogprobs' | 'logprobsOf' | 'history'> & {
  /** 'sample': draw the token here and leave one finite logit; 'filter' (default): write back filterLogits. */
  mode?: 'filter' | 'sample';
};

/** Options whose validity depends on the vocabulary: checked on the first call, not at creation. */
const VOCAB_KEYS = ['tokenBitmask', 'logitBias', 'allowedTokens', 'suppressTokens'] as const;

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
 */
export function createLogitsProcessor(lk: Engine, options: LogitsProcessorOptions = {}): LogitsProcessorFunction {
  // Unknown keys, null values, and keys each call supplies (penalty tokens come from the input ids, the
  // dtype from each tensor) are errors here, not silently ignored.
  checkOptionKeys(options, PROCESSOR_OPTION_KEYS);
  if (typeof options !== 'object' || options === null) fail('invalid_argument', `options = ${String(options)}, expected an options object`, 'options');
  const { mode = 'filter', ...rest } = options;
  if (mode !== 'filter' && mode !== 'sample') fail('invalid_argument', `options.mode = ${String(mode)}, expected 'filter' or 'sample'`, 'options.mode');
  const base: SampleOptions = { ...rest };
  // Validate now on a one-token row (the engine checks every option); vocabulary-sized ones wait for the first call.
  const probe: Record<string, unknown> = { ...base };
  for (const k of VOCAB_KEYS) delete probe[k];
  lk.filterLogits(new Float32Array(1), 1, probe as SampleOptions);
  const penalise =
    (base.repetitionPenalty !== undefined && base.repetitionPenalty !== 1) ||
    (base.frequencyPenalty !== undefined && base.frequencyPenalty !== 0) ||
    (base.presencePenalty !== undefined && base.presencePenalty !== 0);
  // One stream for the whole generation (not the seed again at every step): step t's rows take
  // the next uniforms, so the tokens equal lk.sample over all steps' rows with the same seed.
  if (base.seed !== undefined) {
    base.random = splitMix32(base.seed);
    delete base.seed;
  }

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
    const o: SampleOptions & DTypeOption = { ...base };
    const half = halfDType(data, logits.type);
    if (half) o.dtype = half;
    if (penalise) {
      if (typeof inputIds !== 'object' || inputIds === null || typeof inputIds.length !== 'number')
        fail('invalid_argument', 'inputIds must be an array of token-id arrays (one per batch row)', 'inputIds');
      const lists: Int32Array[] = [];
      for (let r = 0; r < inputIds.length; r++) lists.push(tokenIds(inputIds[r], r, vocab));
      // One list for a batch of one repeated rows is the common decoder case; otherwise one per row.
      o.penaltyTokens = lists.length === 1 && rows !== 1 ? lists[0]! : lists;
    }
    const input = half ? (data as Uint16Array) : (data as Float32Array);
    if (mode === 'sample') {
      const tokens = lk.sample(input, vocab, o);
      writeOneHot(data, vocab, tokens, half);
      return logits;
    }
    const out = lk.filterLogits(input, vocab, o);
    if (half !== null) lk.toHalfBits(out, half, { out: data as Uint16Array });
    else writeBack(data, out);
    return logits;
  };
  const processor = ((inputIds: InputIds, logits: LogitsTensorLike) => call(inputIds, logits)) as LogitsProcessorFunction;
  processor._call = call;
  return processor;
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
