// AUROC above 32 classes: the compact counts (a Uint32 histogram of all rows per class, positives in
// pages) at 100 classes against the exact rank-based AUROC computed by sorting in float64 (the check is
// test/helpers/auroc-many.ts, shared with auroc-many-1000.test.ts), merged exactly through JSON, with the
// memory and statistics size the README states.
import { describe, expect, it } from 'vitest';
import { AUROC_MAX_CLASSES } from '../src/metrics/auroc.js';
import { ScoreAccumulator } from '../src/metrics/summary.js';
import { checkAurocMany, data, exactPerClass } from './helpers/auroc-many.js';
import { describeEachBackend } from './helpers/backends.js';

describeEachBackend('AUROC above 32 classes', (lk) => {
  const cases: [K: number, N: number, signal: number, noise: number, tol: number][] = [
    [100, 20000, 2, 1, 1e-4],
    [100, 20000, 0.2, 0.05, 1e-4],
    [100, 20000, 0.05, 0.02, 1e-3],
    [100, 20000, 0.01, 0.005, 2e-3],
  ];
  for (const [K, N, signal, noise, tol] of cases) {
    it(`${K} classes × ${N} rows, signal ${signal}, noise ${noise}: every class within ${tol} of the exact AUROC (and its errorBound); merges exactly in any split`, () => {
      checkAurocMany(lk, K, N, signal, noise, tol);
    }, 300_000);
  }

  it('ScoreAccumulator keeps AUROC at 100 classes and merges it through its JSON statistics', () => {
    const K = 100;
    const N = 3000;
    const { x, y, p } = data(N, K, 3, 7);
    const exact = exactPerClass(p, y, K);
    const whole = new ScoreAccumulator(K, { topk: 1 });
    whole.addBlock(lk(), x, y);
    const got = whole.summary().auroc!;
    for (let k = 0; k < K; k++) {
      if (exact[k] === null) expect(got.perClass[k]).toBeNull();
      else expect(Math.abs(got.perClass[k]! - exact[k]!)).toBeLessThan(1e-3);
    }
    const a = new ScoreAccumulator(K, { topk: 1 });
    a.addBlock(lk(), x.subarray(0, 1234 * K), y.subarray(0, 1234));
    const b = new ScoreAccumulator(K, { topk: 1 });
    b.addBlock(lk(), x.subarray(1234 * K), y.subarray(1234));
    const merged = ScoreAccumulator.fromStats(JSON.parse(JSON.stringify(a.toStats()))).merge(ScoreAccumulator.fromStats(JSON.parse(JSON.stringify(b.toStats()))));
    expect(merged.summary().auroc).toEqual(got);
  });
});

describe('AUROC class limit', () => {
  it('is kept up to AUROC_MAX_CLASSES (1024) classes and left out above', () => {
    expect(AUROC_MAX_CLASSES).toBe(1024);
    expect(new ScoreAccumulator(AUROC_MAX_CLASSES).auroc).not.toBeNull();
    expect(new ScoreAccumulator(AUROC_MAX_CLASSES + 1).auroc).toBeNull();
  });
});
