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
