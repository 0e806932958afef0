// score's `selective` and `--conformal`, and merge's binned selective with its errorBound: against
// lk.riskCoverage / conformalMetrics on the same rows, on real files.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { conformalMetrics, conformalModelFromJSON, init } from '../src/index.js';
import { writeNpy } from '../src/io/npy.js';
import { riskCoverageFrom } from '../src/backends/js-selective.js';
import { SelectiveAccumulator } from '../src/metrics/selective.js';
import { cliSandbox } from './helpers/cli.js';
import { randomLogits, randomTargets, rng } from './helpers/random.js';

const { dir, exec } = cliSandbox('score-unc');
const C = 5;
const R = 900;
const x = randomLogits(R, C, 2, 61);
const y = randomTargets(R, C, 62);
for (let i = 0; i < R; i++) if (i % 3 !== 0) {
  let best = 0;
  for (let j = 1; j < C; j++) if (x[i * C + j]! > x[i * C + best]!) best = j;
  y[i] = best;
}
writeNpy(join(dir, 'all.npy'), x, [R, C]);
writeNpy(join(dir, 'all-labels.npy'), y, [R]);
writeNpy(join(dir, 'a.npy'), x.subarray(0, 500 * C), [500, C]);
writeNpy(join(dir, 'a-labels.npy'), y.subarray(0, 500), [500]);
writeNpy(join(dir, 'b.npy'), x.subarray(500 * C), [400, C]);
writeNpy(join(dir, 'b-labels.npy'), y.subarray(500), [400]);
writeNpy(join(dir, 'cal.npy'), randomLogits(300, C, 2, 63), [300, C]);
writeNpy(join(dir, 'cal-labels.npy'), randomTargets(300, C, 64), [300]);

describe('score: selective and --conformal', () => {
  it('selective is exact (lk.riskCoverage at the scoring temperature); conformal is conformalMetrics of lk.predictSets', async () => {
    expect((await exec('conformal', 'cal.npy', '--labels', 'cal-labels.npy', '-o', 'model.json')).code).toBe(0);
    const r = await exec('score', 'all.npy', '--labels', 'all-labels.npy', '--temperature', '1.3', '--conformal', 'model.json', '--json', '--intervals', '0');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    const lk = await init({ backend: 'js' });
    const rc = lk.riskCoverage(x, C, y, { temperature: 1.3 });
    expect(out.selective.aurc).toBe(rc.aurc);
    expect(out.selective.eaurc).toBe(rc.eaurc);
    expect(out.selective.augrc).toBe(rc.augrc);
    expect(out.selective.riskAtCoverage).toEqual(rc.riskAtCoverage);
    expect(out.selective.errorBound).toBeUndefined();
    const model = conformalModelFromJSON(readFileSync(join(dir, 'model.json'), 'utf8'));
    const m = conformalMetrics(lk.predictSets(x, C, model), y, { alpha: model.alpha, classes: C });
    expect(out.conformal).toMatchObject({ model: 'model.json', method: 'aps', alpha: 0.1, coverage: m.coverage, meanSize: m.meanSize, emptyRate: m.emptyRate, sizeStratified: m.sizeStratified, covGap: m.covGap });
  });

  it('merge: conformal counts add exactly; selective comes from bins, within its errorBound of the exact run', async () => {
    const whole = JSON.parse((await exec('score', 'all.npy', '--labels', 'all-labels.npy', '--conformal', 'model.json', '--json')).stdout);
    const a = await exec('score', 'a.npy', '--labels', 'a-labels.npy', '--conformal', 'model.json', '--json');
    const b = await exec('score', 'b.npy', '--labels', 'b-labels.npy', '--conformal', 'model.json', '--json');
    // Shard b's rows are rows 500.. of the whole, but its u is keyed by its own row index: the merged
    // conformal figures are the sums of the shards' (a valid randomization, not the whole run's).
    writeFileSync(join(dir, 'a.json'), a.stdout);
    writeFileSync(join(dir, 'b.json'), b.stdout);
    const r = await exec('merge', 'a.json', 'b.json', '--json', '--report', 'merged.md');
    expect(r.code).toBe(0);
    const merged = JSON.parse(r.stdout);
    const sA = JSON.parse(a.stdout).conformal.stats;
    const sB = JSON.parse(b.stdout).conformal.stats;
    expect(merged.conformal.stats.hits).toBe(sA.hits + sB.hits);
    expect(merged.conformal.coverage).toBe((sA.hits + sB.hits) / R);
    const bound = merged.selective.errorBound;
    expect(bound).toBeGreaterThan(0);
    expect(bound).toBeLessThan(0.05);
    for (const k of ['aurc', 'eaurc', 'augrc'] as const) expect(Math.abs(merged.selective[k] - whole.selective[k])).toBeLessThanOrEqual(bound);
    for (const [k, v] of Object.entries(whole.selective.riskAtCoverage)) expect(Math.abs(merged.selective.riskAtCoverage[k] - (v as number))).toBeLessThanOrEqual(bound);
    expect(readFileSync(join(dir, 'merged.md'), 'utf8')).toContain('## Selective prediction');
  });

  it('the HTML report has the risk-coverage curve and the set-size histogram with coverage per size', async () => {
    const r = await exec('score', 'all.npy', '--labels', 'all-labels.npy', '--conformal', 'model.json', '--report', 'score.html');
    expect(r.code).toBe(0);
    expect(r.stderr).toContain('selective: AURC');
    expect(r.stderr).toContain('conformal (aps');
    const html = readFileSync(join(dir, 'score.html'), 'utf8');
    expect(html).toContain('<h2>Selective prediction</h2>');
    expect(html).toContain('aria-label="risk-coverage curve"');
    expect(html).toContain('<h2>Conformal prediction sets</h2>');
    expect(html).toContain('aria-label="prediction set sizes"');
  });

  it('--conformal refusals: a model for other classes (exit 1), with --multilabel (exit 2)', async () => {
    writeNpy(join(dir, 'wide.npy'), randomLogits(10, 7, 1, 1), [10, 7]);
    writeNpy(join(dir, 'wide-labels.npy'), randomTargets(10, 7, 1), [10]);
    const r = await exec('score', 'wide.npy', '--labels', 'wide-labels.npy', '--conformal', 'model.json');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('5 classes');
    expect((await exec('score', 'wide.npy', '--labels', 'wide-labels.npy', '--multilabel', '--conformal', 'model.json')).code).toBe(2);
  });
});

describe('SelectiveAccumulator', () => {
  it('binned figures bracket the exact ones within errorBound, with ties, NaN confidences and all-wrong bins', async () => {
    const r = rng(9);
    for (let trial = 0; trial < 30; trial++) {
      const n = 1 + Math.floor(r() * 400);
      const conf = Float32Array.from({ length: n }, () => (r() < 0.05 ? NaN : r() < 0.3 ? Math.round(r() * 10) / 10 : r()));
      const wrong = Uint8Array.from({ length: n }, () => (r() < 0.3 ? 1 : 0));
      const exact = riskCoverageFrom(conf, wrong);
      const acc = new SelectiveAccumulator();
      acc.add(conf.subarray(0, n >> 1), wrong.subarray(0, n >> 1));
      const other = new SelectiveAccumulator();
      other.add(conf.subarray(n >> 1), wrong.subarray(n >> 1));
      const whole = new SelectiveAccumulator({ engine: await init() }); // the wasm kernel, against the JS reference
      whole.add(conf, wrong);
      expect(whole.summary().aurc).toBe(exact.aurc); // one run: exact
      acc.merge(SelectiveAccumulator.fromStats(JSON.parse(JSON.stringify(other.toStats()))));
      const b = acc.summary();
      const eps = 1e-12;
      for (const k of ['aurc', 'eaurc', 'augrc'] as const) expect(Math.abs(b[k] - exact[k])).toBeLessThanOrEqual(b.errorBound! + eps);
      for (const [k, v] of Object.entries(exact.riskAtCoverage)) expect(Math.abs(b.riskAtCoverage[k as '1'] - v)).toBeLessThanOrEqual(b.errorBound! + eps);
    }
  });
});

describe('riskCoverageFrom', () => {
  it('NaN confidences are one last point; −0 and +0 are one value; a 300,000-row curve sorts natively', () => {
    const rc = riskCoverageFrom([0.5, NaN, -0, 0, 0.9, NaN], [0, 1, 1, 0, 0, 0]);
    expect(Array.from(rc.coverage)).toEqual([1 / 6, 2 / 6, 4 / 6, 1]);
    expect(Array.from(rc.risk)).toEqual([0, 0, 1 / 4, 2 / 6]);
    expect(Number.isNaN(rc.confidence[3]!)).toBe(true);
    const n = 300_000;
    const r = rng(4);
    const conf = Float32Array.from({ length: n }, () => r());
    const wrong = Uint8Array.from(conf, (c) => (r() > c ? 1 : 0));
    const t0 = performance.now();
    const big = riskCoverageFrom(conf, wrong);
    expect(big.coverage.length).toBeGreaterThan(0.9 * n);
    expect(big.riskAtCoverage['1']).toBeCloseTo(wrong.reduce((a, b) => a + b, 0) / n, 12);
    expect(performance.now() - t0).toBeLessThan(20_000);
  });
});
