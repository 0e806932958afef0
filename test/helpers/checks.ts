/** Small checks shared by the suites. */
import { LogitkitError } from '../../src/index.js';

/** The code of the LogitkitError `f` throws; undefined when it returns. Any other throw fails the test. */
export function codeOf(f: () => unknown): string | undefined {
  try {
    f();
  } catch (e) {
    if (e instanceof LogitkitError) return e.code;
    throw e;
  }
  return undefined;
}

/** The columns of row `start / classes` that are not −∞ (a filtered row's kept set). */
export function finiteIndices(a: Float32Array, start: number, classes: number): number[] {
  const out: number[] = [];
  for (let j = 0; j < classes; j++) if (a[start + j]! !== -Infinity) out.push(j);
  return out;
}
