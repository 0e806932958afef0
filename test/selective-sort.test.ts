// sortFloat32 (the radix sort under riskCoverageFrom for score's float32 confidences) against the
// native numeric sort, with NaN, ±0, ±inf, subnormals and negatives; and riskCoverageFrom on a
// Float32Array against the same confidences as plain numbers (the native-sort path).
import { describe, expect, it } from 'vitest';
import { riskCoverageFrom, sortFloat32 } from '../src/backends/js-selective.js';
import { riskCoverageSvg } from '../src/cli/report-uncertainty.js';
import { rng } from './helpers/random.js';

const SPECIAL = [NaN, -0, 0, Infinity, -Infinity, 1e-45, -1e-45, 1, -1, 3.4e38, -3.4e38, 0.5];

function values(n: number, seed: number): Float32Array {
  const r = rng(seed);
  return Float32Array.from({ length: n }, () => (r() < 0.2 ? SPECIAL[Math.floor(r() * SPECIAL.length)]! : r() < 0.5 ? r() : (r() - 0.5) * 10 ** Math.floor(r() * 20 - 10)));
}

describe('sortFloat32', () => {
  for (const n of [0, 1, 2, 7, 1000, 100_000]) {
    it(`sorts ${n} float32 values as Float64Array.prototype.sort does (−0 as +0)`, () => {
      const v = values(n, n + 1);
      const want = Float64Array.from(v).sort();
      const got = sortFloat32(v);
      expect(got.length).toBe(n);
      let bad = -1;
      for (let i = 0; i < n && bad < 0; i++) {
        const a = got[i]!;
        const b = want[i]!;
        if (!(a === b || (a !== a && b !== b))) bad = i;
      }
      expect(bad).toBe(-1);
      expect(Array.from(got).some((x) => Object.is(x, -0))).toBe(false);
    });
  }

  it('riskCoverageFrom gives the same figures from a Float32Array as from its numbers', () => {
    const r = rng(5);
    const n = 20_000;
    const conf = Float32Array.from({ length: n }, () => (r() < 0.01 ? NaN : Math.floor(r() * 500) / 500));
    const wrong = Uint8Array.from({ length: n }, () => (r() < 0.3 ? 1 : 0));
    const a = riskCoverageFrom(conf, wrong);
    const b = riskCoverageFrom(Array.from(conf), wrong);
    expect([a.aurc, a.eaurc, a.augrc]).toEqual([b.aurc, b.eaurc, b.augrc]);
    expect(a.riskAtCoverage).toEqual(b.riskAtCoverage);
    expect(Array.from(a.coverage)).toEqual(Array.from(b.coverage));
    expect(a.coverage.length).toBeGreaterThan(400); // ties are one point each: 501 values and NaN
  });

  it('maxPoints thins the curve only: the figures are those of every point, the last point is kept', () => {
    const r = rng(9);
    const n = 200_000;
    const conf = Float32Array.from({ length: n }, () => (r() < 0.001 ? NaN : r()));
    const wrong = Uint8Array.from({ length: n }, () => (r() < 0.4 ? 1 : 0));
    const full = riskCoverageFrom(conf, wrong);
    const thin = riskCoverageFrom(conf, wrong, { maxPoints: 100 });
    expect([thin.aurc, thin.eaurc, thin.augrc]).toEqual([full.aurc, full.eaurc, full.augrc]);
    expect(thin.riskAtCoverage).toEqual(full.riskAtCoverage);
    expect(full.coverage.length).toBeGreaterThan(100_000);
    expect(thin.coverage.length).toBeLessThanOrEqual(102);
    expect(thin.coverage.length).toBeGreaterThanOrEqual(100);
    expect(thin.coverage[thin.coverage.length - 1]).toBe(1);
    expect(Number.isNaN(thin.confidence[thin.confidence.length - 1]!)).toBe(true); // the NaN rows' point
    for (let i = 1; i < thin.coverage.length; i++) expect(thin.coverage[i]!).toBeGreaterThan(thin.coverage[i - 1]!);
  });

  it("the report's risk-coverage picture takes a curve of 300k points (spreading it overflowed the stack)", () => {
    const m = 300_000;
    const coverage = Float64Array.from({ length: m }, (_, i) => (i + 1) / m);
    const risk = Float64Array.from({ length: m }, (_, i) => 0.5 * (i / m));
    const svg = riskCoverageSvg(coverage, risk);
    expect(svg).toContain('<path d="M');
  });
});
