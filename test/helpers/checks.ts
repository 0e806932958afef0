/** Small checks shared by the suites. */
import { LogitkitError } from '../../src/index.js';
import { expect } from 'vitest';

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

/** χ² critical values at p = 0.001 by degrees of freedom. */
export const CHI2_CRITICAL_001: Record<number, number> = { 1: 10.83, 2: 13.82, 3: 16.27, 4: 18.47, 5: 20.52, 6: 22.46, 7: 24.32, 8: 26.12, 9: 27.88, 10: 29.59, 11: 31.26, 12: 32.91, 13: 34.53, 14: 36.12, 15: 37.7 };

/**
 * Sampled tokens against a reference kept set and its probabilities: no token outside the set, more
 * than `minDf` degrees of freedom, and Pearson's χ² below the p = 0.001 critical value.
 */
export function expectDrawsMatch(tokens: ArrayLike<number>, kept: readonly number[], probs: ReadonlyMap<number, number>, what: string, minDf: number): void {
  const counts = new Map<number, number>(kept.map((j) => [j, 0]));
  let outside = 0;
  for (let i = 0; i < tokens.length; i++) {
    const c = counts.get(tokens[i]!);
    if (c === undefined) outside++;
    else counts.set(tokens[i]!, c + 1);
  }
  expect(outside).toBe(0);
  let chi2 = 0;
  for (const j of kept) {
    const e = probs.get(j)! * tokens.length;
    chi2 += (counts.get(j)! - e) ** 2 / e;
  }
  const df = kept.length - 1;
  expect(df).toBeGreaterThan(minDf);
  expect(chi2, `${what}: chi2 ${chi2.toFixed(2)} with ${df} df`).toBeLessThan(CHI2_CRITICAL_001[df]!);
}
