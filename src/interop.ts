/**
 * Interop with model runtimes, by duck typing only (no runtime is imported).
 *
 * Tensors of onnxruntime (web/node) and transformers.js carry `.data`, `.dims`
 * and `.type`; every op already accepts them in place of a Float32Array (see
 * Engine). This file adds a transformers.js-compatible logits processor: the
 * warpers of the README section "Sampling and logits processing" (repetition penalty from the ids generated so far,
 * temperature, top-k, top-p, min-p) computed by `lk.filterLogits`, so a
 * transformers.js user plugs logitkit in with one line:
 *
 *   model.generate({ ...inputs, do_sample: true, logits_processor: [createLogitsProcessor(lk, { topP: 0.9 })] })
 */
import { float32ToBfloat16Bits, float32ToFloat16Bits } from './half.js';
import type { DTypeOption, Engine, SampleOptions } from './engine.js';
import { fail } from './errors.js';
import { checkOptionKeys, PROCESSOR_EXCLUDED_KEYS, SAMPLE_OPTION_KEYS } from './options.js';

/** What createLogitsProcessor accepts: the sampling options minus what each call supplies. */
export const PROCESSOR_OPTION_KEYS: readonly string[] = SAMPLE_OPTION_KEYS.filter((k) => !(PROCESSOR_EXCLUDED_KEYS as readonly string[]).includes(k));

/** The sampling options that make sense for a processor (penalty tokens come from the input ids). */
export type LogitsProcessorOptions = Omit<SampleOptions, 'penaltyTokens' | 'seed' | 'random' | 'dtype'>;

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
  // Penalty tokens come from the input ids and the dtype from each tensor: passing them here is an error, not ignored.
  checkOptionKeys(options, PROCESSOR_OPTION_KEYS);
  const base: SampleOptions = { ...options };
  // Validate now (the engine checks every option on a one-token row).
  lk.filterLogits(new Float32Array(1), 1, base);
  const penalise = base.repetitionPenalty !== undefined && base.repetitionPenalty !== 1;

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
    const out = lk.filterLogits(half ? (data as Uint16Array) : (data as Float32Array), vocab, o);
    writeBack(data, out, half);
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

function writeBack(data: LogitsTensorLike['data'], out: Float32Array, half: 'float16' | 'bfloat16' | null): void {
  if (half === null) {
    if (data instanceof Float32Array) data.set(out);
    else {
      const d = data as unknown as { [i: number]: number };
      for (let i = 0; i < out.length; i++) d[i] = out[i]!;
    }
    return;
  }
  const bits = data as Uint16Array;
  const toBits = half === 'float16' ? float32ToFloat16Bits : float32ToBfloat16Bits;
  for (let i = 0; i < out.length; i++) bits[i] = toBits(out[i]!);
}
