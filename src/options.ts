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
import { fail, type ErrorCode } from './errors.js';

export const ROW_OP_KEYS = ['dtype', 'temperature', 'out'] as const;
export const ELEMENTWISE_KEYS = ['out'] as const;
export const DTYPE_KEYS = ['dtype'] as const;
export const CROSS_ENTROPY_KEYS = ['dtype', 'reduction', 'ignoreIndex', 'weight', 'labelSmoothing'] as const;
export const CROSS_ENTROPY_GRAD_KEYS = [...CROSS_ENTROPY_KEYS, 'out'] as const;
export const BCE_KEYS = ['reduction', 'weight', 'posWeight', 'classes'] as const;
export const KL_DIV_KEYS = ['reduction'] as const;
export const PERPLEXITY_KEYS = ['ignoreIndex', 'dtype'] as const;
export const BINS_KEYS = ['bins'] as const;
export const FIT_TEMPERATURE_KEYS = ['min', 'max'] as const;
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
]
/** Keys a logits processor takes from each call instead (ids, tensor dtype) or cannot use (it returns logits, not logprobs). */
export const PROCESSOR_EXCLUDED_KEYS = ['penaltyTokens', 'dtype', 'logprobs', 'topLogprobs', 'logprobsOf'] as const;
export const INIT_KEYS = ['backend', 'threads', 'wasm', 'warmup', 'memoryLimit'] as const;
export const ADJUST_KEYS = ['dtype', 'temperature', 'scale', 'bias', 'matrix', 'out'] as const;
export const APPLY_CALIBRATION_KEYS = ['dtype', 'out'] as const;
export const FIT_CALIBRATION_KEYS = ['method', 'l2', 'maxIterations'] as const;
export const LABEL_SHIFT_KEYS = ['method', 'calibrate', 'maxIterations', 'tolerance'] as const;

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
