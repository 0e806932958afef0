/**
 * Every failure the engine reports is a LogitkitError with a stable `code`
 * (SEMANTICS.md §0). Callers branch on `code`; the message is for people and
 * names the argument at fault and what was expected.
 */
export type ErrorCode =
  | 'target_out_of_range'
  | 'invalid_label_smoothing'
  | 'invalid_temperature'
  | 'invalid_k'
  | 'shape_mismatch'
  | 'invalid_reduction'
  | 'invalid_confidence'
  | 'non_finite_input'
  | 'invalid_bins'
  | 'invalid_argument'
  | 'no_token_allowed'
  | 'out_of_memory'
  | 'wasm_unavailable'
  | 'disposed';

/** Every failure of logitkit: a stable `code`, the `argument` at fault, and a message saying what was expected. */
export class LogitkitError extends Error {
  readonly code: ErrorCode;
  /** The argument at fault, when there is one (e.g. 'target', 'options.temperature'). */
  readonly argument?: string;

  constructor(code: ErrorCode, message: string, argument?: string) {
    super(`${code}: ${message}`);
    this.name = 'LogitkitError';
    this.code = code;
    if (argument !== undefined) this.argument = argument;
  }
}

export function fail(code: ErrorCode, message: string, argument?: string): never {
  throw new LogitkitError(code, message, argument);
}

/** How error messages show a value the caller passed: its type and size, never its contents. */
export function describeValue(v: unknown): string {
  if (v === null || v === undefined) return String(v);
  if (Array.isArray(v)) return `Array(${v.length})`;
  if (ArrayBuffer.isView(v)) return `${v.constructor.name}(${(v as unknown as ArrayLike<unknown>).length})`;
  if (typeof v === 'object') return (v as object).constructor?.name ?? 'object';
  return `${typeof v} ${String(v)}`;
}
