// score's selective prediction keeps every row's confidence up to SELECTIVE_EXACT_ROWS rows, then
// folds them into fine bins (2^14 per octave of 1 − c) so that memory stops growing with the file.
// The binned figures must bracket the exact ones within their errorBound, the merge statistics must
// not depend on the switch, and the bound must be far tighter than merge's 64 bins per octave.
import { describe, expect, it } from 'vitest';
import { init } from '../src/index.js';
import { RISK_COVERAGE_LEVELS, SELECTIVE_EXACT_ROWS, SelectiveAccumulator } from '../src/metrics/selective.js';
import { rng } from './helpers/random.js';

const engine = await init(); // makes the exact figures (lk.riskCoverageFrom)

function data(n: number, seed: number): { conf: Float32Array; wrong: Uint8Array } {
  const r = rng(seed);
  const conf = new Float32Array(n);
  const wrong = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const u = r();
    // continuous confidences, a tie-heavy grid, c = 1, tiny c and NaN rows
    conf[i] = i % 97 === 0 ? NaN : i % 31 === 0 ? 1 : i % 13 === 0 ? Math.round(u * 8) / 8 : i % 17 === 0 ? u * 1e-6 : 0.1 + 0.9 * u;
    wrong[i] = r() > (conf[i]! || 0) ? 1 : 0;
  }
  return { conf, wrong };
}

function fill(acc: SelectiveAccumulator, d: { conf: Float32Array; wrong: Uint8Array }, block: number): SelectiveAccumulator {
  for (let i = 0; i < d.conf.length; i += block) acc.add(d.conf.subarray(i, i + block), d.wrong.subarray(i, i + block));
  return acc;
}

describe('selective prediction past SELECTIVE_EXACT_ROWS', () => {
  it('keeps 4,194,304 rows exact by default', () => {
    expect(SELECTIVE_EXACT_ROWS).toBe(1 << 22);
    expect(new SelectiveAccumulator().exactRows).toBe(SELECTIVE_EXACT_ROWS);
    expect(() => new SelectiveAccumulator({ exactRows: -1 })).toThrow(RangeError);
    // the exact figures are the engine's (lk.riskCoverageFrom): without one, held rows have none
    const alone = new SelectiveAccumulator();
    alone.add(Float32Array.of(0.9, 0.6), Uint8Array.of(0, 1));
    expect(() => alone.summary()).toThrow(/need an engine/);
  });

  it('fine bins bracket the exact figures within errorBound, far tighter than merged bins', () => {
    const d = data(20_000, 5);
    const exact = fill(new SelectiveAccumulator({ engine }), d, 777).summary();
    const acc = fill(new SelectiveAccumulator({ exactRows: 3000 }), d, 777);
    expect(acc.exact).toBe(false);
    const fine = acc.summary();
    expect(exact.errorBound).toBeUndefined();
    expect(fine.binned).toBe('fine');
    const bound = fine.errorBound!;
    expect(bound).toBeGreaterThan(0);
    for (const k of ['aurc', 'eaurc', 'augrc'] as const) expect(Math.abs(fine[k] - exact[k])).toBeLessThanOrEqual(bound + 1e-15);
    for (const l of RISK_COVERAGE_LEVELS) expect(Math.abs(fine.riskAtCoverage[l] - exact.riskAtCoverage[l])).toBeLessThanOrEqual(bound + 1e-15);
    // merge's bins on the same rows: the fine bound is at least 20 times smaller
    const merged = new SelectiveAccumulator();
    merged.merge(fill(new SelectiveAccumulator({ engine }), d, 777));
    const coarse = merged.summary();
    expect(coarse.binned).toBe('merge');
    expect(bound * 20).toBeLessThan(coarse.errorBound!);
    // the statistics merge reads do not depend on where the switch happened
    expect(acc.toStats()).toEqual(fill(new SelectiveAccumulator({ engine }), d, 777).toStats());
    expect(acc.rows).toBe(20_000);
  });

  it('switches on the first row past the limit, and a merge of fine-binned runs is binned by merge bins', () => {
    const d = data(1000, 9);
    const at = fill(new SelectiveAccumulator({ engine, exactRows: 1000 }), d, 100);
    expect(at.exact).toBe(true);
    expect(at.summary().errorBound).toBeUndefined();
    const past = fill(new SelectiveAccumulator({ exactRows: 999 }), d, 100);
    expect(past.exact).toBe(false);
    expect(past.summary().binned).toBe('fine');
    const m = new SelectiveAccumulator();
    m.merge(past);
    m.merge(at);
    expect(m.rows).toBe(2000);
    expect(m.summary().binned).toBe('merge');
  });
});

describe('SelectiveAccumulator({ rows }): held arrays sized at once', () => {
  it('gives the same figures with the rows expected, fewer or more than come, and past exactRows', () => {
    const d = data(5000, 11);
    const want = fill(new SelectiveAccumulator({ engine }), d, 333).summary();
    for (const rows of [0, 1, 4000, 5000, 6000, 1 << 20]) expect(fill(new SelectiveAccumulator({ engine, rows }), d, 333).summary(), `rows ${rows}`).toEqual(want);
    const fine = fill(new SelectiveAccumulator({ engine, exactRows: 3000 }), d, 333).summary();
    expect(fill(new SelectiveAccumulator({ engine, exactRows: 3000, rows: 5000 }), d, 333).summary()).toEqual(fine);
    expect(() => new SelectiveAccumulator({ rows: -1 })).toThrow(RangeError);
    expect(() => new SelectiveAccumulator({ rows: 1.5 })).toThrow(RangeError);
  });
});

describe('SelectiveAccumulator.summary() is made once per state', () => {
  it('returns the same figures until the next add or merge, then new ones', () => {
    const a = new SelectiveAccumulator({ engine });
    a.add(Float32Array.of(0.9, 0.6, 0.3), Uint8Array.of(0, 1, 0));
    const s = a.summary();
    expect(a.summary()).toBe(s); // score's JSON, human line and report share one sort of every row
    a.add(Float32Array.of(0.95), Uint8Array.of(1));
    const t = a.summary();
    expect(t).not.toBe(s);
    expect(t.aurc).not.toBe(s.aurc);
    const b = new SelectiveAccumulator();
    b.add(Float32Array.of(0.1), Uint8Array.of(1));
    a.merge(b);
    expect(a.summary()).not.toBe(t);
    expect(a.summary().binned).toBe('merge');
  });
});
