/**
 * Option objects: the keys each op knows, and the two rules every op applies to them
 * (README "Input limits"):
 *
 * - An unknown key is an error (`invalid_argument`) naming the key and, when one is close by edit
 *   distance, the valid key it was probably meant to be: a typo must not silently mean "default".
 * - `null` is an error everywhere; `undefined` (or leaving the key out) means "absent, use the
 *   default". The error carries the option's own code (e.g. `invalid_temperature`).
 *
 * Adding an option to an op is one line: its key in the op's list below.
 */
import { describeValue as describe, fail, type ErrorCode } from './errors.js';
import { MAX_BINS, MAX_CLASSES } from './limits.js';

export const ROW_OP_KEYS = ['dtype', 'temperature', 'out'] as const;
export const ELEMENTWISE_KEYS = ['out'] as const;
export const DTYPE_KEYS = ['dtype'] as const;
/** crossEntropy's `out` (reduction 'none': the rows' losses) and crossEntropyWithGrad's (the gradient). */
export const CROSS_ENTROPY_KEYS = ['dtype', 'reduction', 'ignoreIndex', 'weight', 'labelSmoothing', 'out'] as const;
export const CROSS_ENTROPY_GRAD_KEYS = CROSS_ENTROPY_KEYS;
export const BCE_KEYS = ['reduction', 'weight', 'posWeight', 'classes'] as const;
export const KL_DIV_KEYS = ['dtype', 'reduction'] as const;
export const PERPLEXITY_KEYS = ['ignoreIndex', 'dtype'] as const;
export const BINS_KEYS = ['bins'] as const;
/** ece() and reliability() on logits: the bins, and how to read half-precision logits. */
export const CALIBRATION_BINS_KEYS = ['dtype', 'bins'] as const;
export const FIT_TEMPERATURE_KEYS = ['dtype', 'min', 'max'] as const;
/**
 * sample() and filterLogits(). Sampling options added elsewhere go here (one entry each); the
 * transformers.js processor takes the same list minus PROCESSOR_EXCLUDED_KEYS.
 */
export const SAMPLE_OPTION_KEYS: readonly string[] = [
  'dtype',
  'temperature',
  'topK',
  'topP',
  'minP',
  'repetitionPenalty',
  'penaltyTokens',
  'minTokensToKeep',
  'seed',
  'random',
  'tokenBitmask',
  'logitBias',
  'allowedTokens',
  'suppressTokens',
  'frequencyPenalty',
  'presencePenalty',
  'penaltyLastN',
  'topNSigma',
  'epsilon',
  'eta',
  'typicalP',
  'xtc',
  'order',
  'logprobs',
  'topLogprobs',
  'logprobsOf',
  // ---- decoding rules (issue 25) ----
  'history',
  'dry',
  'noRepeatNgramSize',
  'badWords',
  'sequenceBias',
  'thinkingBudget',
  'dynamicTemperature',
  'softCap',
  'guidance',
  // ---- end decoding rules ----
]
/** Keys a logits processor takes from each call instead (ids, tensor dtype) or cannot use (it returns logits, not logprobs). */
export const PROCESSOR_EXCLUDED_KEYS = ['penaltyTokens', 'dtype', 'logprobs', 'topLogprobs', 'logprobsOf', 'history'] as const;
/** lk.sampler's options: the sample options plus what only a stateful sampler can do. */
export const SAMPLER_OPTION_KEYS: readonly string[] = [...SAMPLE_OPTION_KEYS.filter((k) => k !== 'history' && k !== 'logprobs' && k !== 'topLogprobs' && k !== 'logprobsOf'), 'vocab', 'prompt', 'state', 'mirostat', 'minTokens'];
export const INIT_KEYS = ['backend', 'threads', 'wasm', 'warmup', 'memoryLimit'] as const;
export const ADJUST_KEYS = ['dtype', 'temperature', 'scale', 'bias', 'matrix', 'out'] as const;
export const APPLY_CALIBRATION_KEYS = ['dtype', 'out'] as const;
export const FIT_CALIBRATION_KEYS = ['dtype', 'method', 'l2', 'maxIterations'] as const;
export const LABEL_SHIFT_KEYS = ['dtype', 'method', 'calibrate', 'maxIterations', 'tolerance'] as const;
export const TOKEN_BITMASK_KEYS = ['dtype', 'out'] as const;

/** The code a `null` (or otherwise wrong) value of an option gets when it is not `invalid_argument`. */
const OPTION_CODES: Record<string, ErrorCode> = {
  temperature: 'invalid_temperature',
  min: 'invalid_temperature',
  max: 'invalid_temperature',
  topK: 'invalid_k',
  reduction: 'invalid_reduction',
  labelSmoothing: 'invalid_label_smoothing',
  bins: 'invalid_bins',
};

/**
 * Checks an options argument: undefined (no options) or a plain object whose own keys are all in
 * `allowed` and none of whose values is null. `name` is how the argument is called in messages.
 */
export function checkOptionKeys(options: unknown, allowed: readonly string[], name = 'options'): void {
  if (options === undefined) return;
  if (typeof options !== 'object' || options === null || Array.isArray(options) || ArrayBuffer.isView(options))
    fail('invalid_argument', `${name} = ${options === null ? 'null' : Array.isArray(options) ? 'an array' : typeof options}, expected an options object (or nothing)`, name);
  for (const key of Object.keys(options)) {
    if (!allowed.includes(key)) {
      const near = closest(key, allowed);
      fail(
        'invalid_argument',
        `${name}.${key} is not an option here${near !== null ? `; did you mean '${near}'?` : ''} (options: ${allowed.join(', ') || 'none'})`,
        `${name}.${key}`,
      );
    }
    if ((options as Record<string, unknown>)[key] === null)
      fail(OPTION_CODES[key] ?? 'invalid_argument', `${name}.${key} = null; leave the option out (or pass undefined) for its default`, `${name}.${key}`);
  }
}

/**
 * The valid key nearest to `key` by edit distance (case-insensitive), if it is close enough to be a
 * plausible typo: at most 1 edit for short keys, a third of the key's length for longer ones.
 */
export function closest(key: string, allowed: readonly string[]): string | null {
  const k = key.toLowerCase();
  let best: string | null = null;
  let bestD = Infinity;
  for (const a of allowed) {
    const d = editDistance(k, a.toLowerCase());
    if (d < bestD) {
      bestD = d;
      best = a;
    }
  }
  const limit = Math.max(1, Math.floor(Math.max(key.length, 3) / 3));
  return bestD <= limit ? best : null;
}

/** Damerau (optimal string alignment) distance: a swapped pair of letters is one typo, not two. */
export function editDistance(a: string, b: string): number {
  if (a.length > 64 || b.length > 64) return Math.abs(a.length - b.length) + 64; // keys are short; never quadratic on hostile input
  const rows = a.length + 1;
  const cols = b.length + 1;
  const d = new Array<number>(rows * cols);
  for (let i = 0; i < rows; i++) d[i * cols] = i;
  for (let j = 0; j < cols; j++) d[j] = j;
  for (let i = 1; i < rows; i++) {
    for (let j = 1; j < cols; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(d[(i - 1) * cols + j]! + 1, d[i * cols + j - 1]! + 1, d[(i - 1) * cols + j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) v = Math.min(v, d[(i - 2) * cols + j - 2]! + 1);
      d[i * cols + j] = v;
    }
  }
  return d[rows * cols - 1]!;
}

// --- normalisers -----------------------------------------------------------------------------------
// One check per kind of argument, used by the engine and by the metrics that take the same arguments
// directly (streaming sources, the CLI): the same mistake reads the same wherever it is made.

export type DType = 'float32' | 'float16' | 'bfloat16';

export function checkInteger(v: unknown, name: string, code: 'shape_mismatch' | 'invalid_k' | 'invalid_argument', what: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v)) fail(code, `${name} = ${describe(v)}, expected ${what}`, name);
  return v;
}

export function checkClasses(classes: unknown, name = 'classes'): number {
  const c = checkInteger(classes, name, 'shape_mismatch', 'an integer ≥ 1');
  if (c < 1 || c > MAX_CLASSES) fail('shape_mismatch', `${name} = ${c}, expected an integer from 1 to ${MAX_CLASSES}`, name);
  return c;
}

/** A temperature (or a bound on one): absent means 1. */
export function checkTemperature(t: unknown, name = 'options.temperature'): number {
  if (t === undefined) return 1;
  if (typeof t !== 'number' || !Number.isFinite(t) || t <= 0)
    fail('invalid_temperature', `${name} = ${describe(t)}, expected a finite number > 0`, name);
  return t;
}

/** fitTemperature's search interval [options.min, options.max], default [0.01, 100]. */
export function checkTemperatureRange(o: { min?: unknown; max?: unknown } | undefined): { min: number; max: number } {
  const min = o?.min === undefined ? 0.01 : checkTemperature(o.min, 'options.min');
  const max = o?.max === undefined ? 100 : checkTemperature(o.max, 'options.max');
  if (min > max) fail('invalid_temperature', `options.min = ${min} > options.max = ${max}, expected min ≤ max`, 'options.min');
  return { min, max };
}

export function checkReduction<R extends string>(r: unknown, allowed: readonly R[], fallback: R, name = 'options.reduction'): R {
  if (r === undefined) return fallback;
  if (typeof r !== 'string' || !(allowed as readonly string[]).includes(r))
    fail('invalid_reduction', `${name} = ${describe(r)}, expected one of ${allowed.map((a) => `'${a}'`).join(', ')}`, name);
  return r as R;
}

/** Equal-width calibration bins: absent means 15. */
export function checkBins(bins: unknown, name = 'options.bins'): number {
  if (bins === undefined) return 15;
  if (typeof bins !== 'number' || !Number.isInteger(bins) || bins < 1 || bins > MAX_BINS)
    fail('invalid_bins', `${name} = ${describe(bins)}, expected an integer from 1 to ${MAX_BINS}`, name);
  return bins;
}

/** bin(c) = clamp(ceil(c·M) − 1, 0, M − 1): bins are (k/M, (k+1)/M], c = 0 goes to bin 0. */
export function binOf(c: number, bins: number): number {
  const k = Math.ceil(c * bins) - 1;
  return k < 0 ? 0 : k >= bins ? bins - 1 : k;
}

/** How logits are read: absent means float32 (a Uint16Array then needs it said). */
export function checkDType(d: unknown, name = 'options.dtype'): DType | undefined {
  if (d === undefined) return undefined;
  if (d !== 'float32' && d !== 'float16' && d !== 'bfloat16') fail('invalid_argument', `${name} = ${describe(d)}, expected 'float32', 'float16' or 'bfloat16'`, name);
  return d;
}

/** Class labels, one per row: an Int32Array of integers in [0, classes). */
export function checkLabels(labels: unknown, rows: number, classes: number, name = 'labels'): Int32Array {
  if (!(labels instanceof Int32Array)) fail('invalid_argument', `${name} = ${describe(labels)}, expected an Int32Array of class indices (one per row)`, name);
  if (labels.length !== rows) fail('shape_mismatch', `${name} has ${labels.length} class indices, expected ${rows} (one per row)`, name);
  for (let i = 0; i < rows; i++) {
    const y = labels[i]!;
    if (!(y >= 0 && y < classes)) fail('target_out_of_range', `${name}[${i}] = ${y}, expected 0 ≤ label < ${classes}`, name);
  }
  return labels;
}
