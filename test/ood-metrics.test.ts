// oodMetrics against scikit-learn (test/fixtures/ood-sklearn.json, written by make-ood.py) and
// against a pair-counting reference; its refusals.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { LogitkitError, oodMetrics } from '../src/index.js';
import { rng } from './helpers/random.js';

interface Case { name: string; id: number[]; ood: number[]; auroc: number; auprOut: number; auprIn: number; fpr95: number }
const cases: Case[] = JSON.parse(readFileSync(new URL('./fixtures/ood-sklearn.json', import.meta.url), 'utf8'));

/** O(n·m) definitions: every pair, and the threshold by sorting. */
function reference(id: number[], ood: number[]) {
  let pairs = 0;
  for (const o of ood) for (const i of id) pairs += o > i ? 1 : o === i ? 0.5 : 0;
  const sorted = [...id].sort((a, b) => a - b);
  const t = sorted[Math.ceil((95 * id.length) / 100) - 1]!;
  return { auroc: pairs / (id.length * ood.length), fpr95: ood.filter((o) => o <= t).length / ood.length };
}

describe('oodMetrics', () => {
  it('has cases', () => expect(cases.length).toBeGreaterThanOrEqual(7));
  for (const c of cases) {
    it(`matches scikit-learn: ${c.name}`, () => {
      const m = oodMetrics(Float64Array.from(c.id), c.ood);
      expect(m.auroc).toBeCloseTo(c.auroc, 12);
      expect(m.auprOut).toBeCloseTo(c.auprOut, 12);
      expect(m.auprIn).toBeCloseTo(c.auprIn, 12);
      expect(m.fpr95).toBe(c.fpr95);
    });
  }

  it('auroc and fpr95 are exact against the pair-counting definition (ties count ½)', () => {
    const r = rng(5);
    for (let trial = 0; trial < 20; trial++) {
      const n = 1 + Math.floor(r() * 60);
      const m = 1 + Math.floor(r() * 60);
      const id = Array.from({ length: n }, () => Math.round(r() * 8));
      const ood = Array.from({ length: m }, () => Math.round(r() * 8 + 2));
      const got = oodMetrics(Float32Array.from(id), Float32Array.from(ood));
      const want = reference(id, ood);
      expect(got.auroc).toBe(want.auroc);
      expect(got.fpr95).toBe(want.fpr95);
    }
  });

  it('k = ⌈0.95·n⌉ without floating-point drift: n = 20 takes the 19th smallest, n = 100 the 95th', () => {
    const id20 = Array.from({ length: 20 }, (_, i) => i + 1); // 19th smallest = 19
    expect(oodMetrics(id20, [19, 19.5]).fpr95).toBe(0.5);
    const id100 = Array.from({ length: 100 }, (_, i) => i + 1); // 95th smallest = 95
    expect(oodMetrics(id100, [95, 95.5, 96]).fpr95).toBeCloseTo(1 / 3, 15);
  });

  it('±inf scores are ordinary values; NaN and empty inputs are refused', () => {
    expect(oodMetrics([-Infinity, 0], [Infinity, 0]).auroc).toBe(0.875);
    const codeOf = (f: () => unknown) => {
      try {
        f();
      } catch (e) {
        return e instanceof LogitkitError ? `${e.code} ${e.argument}` : String(e);
      }
      return 'no error';
    };
    expect(codeOf(() => oodMetrics([0, NaN], [1]))).toBe('non_finite_input idScores');
    expect(codeOf(() => oodMetrics([0], []))).toBe('shape_mismatch oodScores');
    expect(codeOf(() => oodMetrics(new Int32Array(2) as unknown as number[], [1]))).toBe('invalid_argument idScores');
  });
});
