// Poisson-bootstrap intervals: the weights' distribution, the intervals against a float64 recomputation
// from the same weights, exact merging across shards, reproducibility, and a coverage sanity check.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { encodeNpyData, writeNpyRaw } from '../src/io/npy.js';
import { bootstrapWeight, quantileSorted } from '../src/metrics/bootstrap.js';
import { binOf } from '../src/metrics/calibration.js';
import { ScoreAccumulator } from '../src/metrics/summary.js';
import { describeEachBackend } from './helpers/backends.js';
import { cliSandbox } from './helpers/cli.js';
import { normal, rng } from './helpers/random.js';

function data(n: number, C: number, seed: number) {
  const r = rng(seed);
  const y = Int32Array.from({ length: n }, () => Math.floor(r() * C));
  const x = new Float32Array(n * C);
  for (let i = 0; i < n; i++) for (let j = 0; j < C; j++) x[i * C + j] = 1.2 * normal(r) + (j === y[i] ? 1 : 0);
  return { x, y };
}

/** Intervals from the definition: per replicate the w-weighted figures in float64, then the 5% / 95% quantiles. */
function reference(x: Float32Array, C: number, y: Int32Array, R: number, seed: number, key: number, bins: number) {
  const n = y.length;
  const hit: number[] = [];
  const nll: number[] = [];
  const conf: number[] = [];
  for (let i = 0; i < n; i++) {
    let m = -Infinity;
    let best = 0;
    for (let j = 0; j < C; j++) {
      if (x[i * C + j] > m) [m, best] = [x[i * C + j], j];
    }
    let z = 0;
    for (let j = 0; j < C; j++) z += Math.exp(x[i * C + j] - m);
    hit.push(best === y[i] ? 1 : 0);
    nll.push(Math.log(z) - (x[i * C + y[i]] - m));
    conf.push(1 / z);
  }
  const acc: number[] = [];
  const nl: number[] = [];
  const ece: number[] = [];
  for (let r = 0; r < R; r++) {
    let sw = 0;
    let sc = 0;
    let sn = 0;
    const bc = new Float64Array(bins);
    const bk = new Float64Array(bins);
    for (let i = 0; i < n; i++) {
      const w = bootstrapWeight(seed, key, i, r);
      sw += w;
      sc += w * hit[i];
      sn += w * nll[i];
      const b = binOf(Math.fround(conf[i]), bins);
      bc[b] += w * conf[i];
      bk[b] += w * hit[i];
    }
    acc.push(sc / sw);
    nl.push(sn / sw);
    let g = 0;
    for (let b = 0; b < bins; b++) g += Math.abs(bk[b] - bc[b]);
    ece.push(g / sw);
  }
  const q = (v: number[]) => {
    v.sort((a, b) => a - b);
    return [quantileSorted(v, 0.05), quantileSorted(v, 0.95)];
  };
  return { accuracy: q(acc), nll: q(nl), ece: q(ece) };
}

describe('bootstrap weights', () => {
  it('are Poisson(1): mean 1, variance 1, P(0) = 1/e, P(1) = 1/e, P(2) = 1/(2e); deterministic', () => {
    const n = 200_000;
    let s = 0;
    let s2 = 0;
    const count = new Float64Array(16);
    for (let i = 0; i < n; i++) {
      const w = bootstrapWeight(3, 77, i, i % 200);
      s += w;
      s2 += w * w;
      count[w]++;
    }
    const sd = 1 / Math.sqrt(n); // standard error scale
    expect(Math.abs(s / n - 1)).toBeLessThan(5 * sd);
    expect(Math.abs(s2 / n - (s / n) ** 2 - 1)).toBeLessThan(10 * sd);
    expect(Math.abs(count[0] / n - Math.exp(-1))).toBeLessThan(5 * sd);
    expect(Math.abs(count[1] / n - Math.exp(-1))).toBeLessThan(5 * sd);
    expect(Math.abs(count[2] / n - Math.exp(-1) / 2)).toBeLessThan(5 * sd);
    expect(bootstrapWeight(3, 77, 12345, 7)).toBe(bootstrapWeight(3, 77, 12345, 7));
    // rows beyond 2^32 get their own weights (both halves of i are hashed)
    const far = Array.from({ length: 64 }, (_, r) => bootstrapWeight(0, 1, 2 ** 32 + 5, r));
    const near = Array.from({ length: 64 }, (_, r) => bootstrapWeight(0, 1, 5, r));
    expect(far).not.toEqual(near);
  });

  it('differ between seeds, keys and replicates (no lock-step)', () => {
    const row = (seed: number, key: number) => Array.from({ length: 100 }, (_, i) => bootstrapWeight(seed, key, i, 0));
    expect(row(0, 1)).not.toEqual(row(1, 1));
    expect(row(0, 1)).not.toEqual(row(0, 2));
    const rep = (r: number) => Array.from({ length: 100 }, (_, i) => bootstrapWeight(0, 1, i, r));
    expect(rep(0)).not.toEqual(rep(1));
  });
});

describeEachBackend('intervals in the score summary', (lk) => {
  it('match the float64 recomputation from the same weights (accuracy, NLL, ECE)', () => {
    const C = 5;
    const { x, y } = data(1501, C, 5);
    const acc = new ScoreAccumulator(C, { intervals: 49, seed: 9 }); // odd: the last pair of replicates is half used
    acc.addBlock(lk(), x.subarray(0, 700 * C), y.subarray(0, 700), null, undefined, { key: 42, row: 0 });
    acc.addBlock(lk(), x.subarray(700 * C), y.subarray(700), null, undefined, { key: 42, row: 700 });
    const iv = acc.summary().intervals!;
    const ref = reference(x, C, y, 49, 9, 42, 15);
    for (const k of ['accuracy', 'nll', 'ece'] as const) {
      expect(iv[k][0]).toBeCloseTo(ref[k][0], 6);
      expect(iv[k][1]).toBeCloseTo(ref[k][1], 6);
      expect(iv[k][0]).toBeLessThan(iv[k][1]);
    }
    const s = acc.summary();
    expect(iv.accuracy[0]).toBeLessThan(s.accuracy);
    expect(iv.accuracy[1]).toBeGreaterThan(s.accuracy);
    expect(iv.replicates).toBe(49);
  });

  it('merge exactly through JSON: two shards (own keys) equal one accumulator over both', () => {
    const C = 3;
    const { x, y } = data(900, C, 6);
    const whole = new ScoreAccumulator(C, { intervals: 30 });
    whole.addBlock(lk(), x.subarray(0, 400 * C), y.subarray(0, 400), null, undefined, { key: 1, row: 0 });
    whole.addBlock(lk(), x.subarray(400 * C), y.subarray(400), null, undefined, { key: 2, row: 0 });
    const a = new ScoreAccumulator(C, { intervals: 30 });
    a.addBlock(lk(), x.subarray(0, 400 * C), y.subarray(0, 400), null, undefined, { key: 1, row: 0 });
    const b = new ScoreAccumulator(C, { intervals: 30 });
    b.addBlock(lk(), x.subarray(400 * C, 650 * C), y.subarray(400, 650), null, undefined, { key: 2, row: 0 });
    b.addBlock(lk(), x.subarray(650 * C), y.subarray(650), null, undefined, { key: 2, row: 250 });
    const rt = (s: ScoreAccumulator) => ScoreAccumulator.fromStats(JSON.parse(JSON.stringify(s.toStats())));
    const m = rt(a).merge(rt(b));
    expect(Array.from(m.boot!.weight)).toEqual(Array.from(whole.boot!.weight));
    expect(Array.from(m.boot!.correct)).toEqual(Array.from(whole.boot!.correct));
    expect(Array.from(m.boot!.binWeight)).toEqual(Array.from(whole.boot!.binWeight));
    expect(m.summary().intervals!.accuracy).toEqual(whole.summary().intervals!.accuracy);
    for (const k of ['nll', 'ece'] as const) {
      expect(m.summary().intervals![k][0]).toBeCloseTo(whole.summary().intervals![k][0], 12);
      expect(m.summary().intervals![k][1]).toBeCloseTo(whole.summary().intervals![k][1], 12);
    }
    expect(() => m.merge(new ScoreAccumulator(C, { intervals: 31 }))).toThrow(/intervals differ/);
    expect(() => new ScoreAccumulator(C, { intervals: 30 }).merge(new ScoreAccumulator(C, { intervals: 30, seed: 1 }))).toThrow(/same --intervals and --seed/);
    expect(() => new ScoreAccumulator(C, { intervals: -1 })).toThrow(expect.objectContaining({ code: 'invalid_argument' }));
  });

  it('cover the true accuracy in roughly 90% of datasets (coverage sanity)', () => {
    // 120 datasets of 300 rows whose rows are right with probability 0.7: the 90% interval should
    // hold 0.7 in about 108 of them (binomial sd ≈ 3.3).
    let covered = 0;
    const trials = 120;
    for (let t = 0; t < trials; t++) {
      const r = rng(1000 + t);
      const n = 300;
      const y = new Int32Array(n);
      const x = new Float32Array(2 * n);
      for (let i = 0; i < n; i++) {
        const right = r() < 0.7;
        x[2 * i + (right ? 0 : 1)] = 1 + r();
      }
      const acc = new ScoreAccumulator(2, { intervals: 200, seed: t });
      acc.addBlock(lk(), x, y);
      const [lo, hi] = acc.summary().intervals!.accuracy;
      if (lo <= 0.7 && 0.7 <= hi) covered++;
    }
    expect(covered / trials).toBeGreaterThan(0.8);
    expect(covered / trials).toBeLessThan(0.97);
  });

  it('a NaN row makes the NLL and ECE intervals NaN, not accuracy', () => {
    const acc = new ScoreAccumulator(2, { intervals: 20 });
    acc.addBlock(lk(), Float32Array.of(NaN, 0, 1, 0, 0, 1, 2, 0), Int32Array.of(0, 0, 1, 0));
    const iv = acc.summary().intervals!;
    expect(iv.ece[0]).toBeNaN();
    expect(iv.nll[0]).toBeNaN();
    expect(Number.isFinite(iv.accuracy[0])).toBe(true);
  });
});

describe('logitkit score --intervals', () => {
  const { dir, exec } = cliSandbox('intervals');
  const json = async (...args: string[]) => {
    const r = await exec(...args, '--json');
    expect(r.code, r.stderr).toBe(0);
    return JSON.parse(r.stdout);
  };
  const C = 4;
  const { x, y } = data(2000, C, 8);
  for (const [name, a, b] of [['a', 0, 800], ['b', 800, 2000]] as const) {
    writeNpyRaw(join(dir, `${name}.npy`), '<f4', [b - a, C], new Uint8Array(x.slice(a * C, b * C).buffer));
    writeNpyRaw(join(dir, `${name}-y.npy`), '<i4', [b - a], encodeNpyData('<i4', y.slice(a, b)));
  }

  it('are reproducible, change with --seed, and merge to the two-shard run exactly', async () => {
    const both = await json('score', 'a.npy', 'b.npy', '--labels', 'a-y.npy', '--labels', 'b-y.npy');
    expect(both.intervals.replicates).toBe(200);
    for (const k of ['accuracy', 'nll', 'ece']) expect(both.intervals[k]).toHaveLength(2);
    expect((await json('score', 'a.npy', 'b.npy', '--labels', 'a-y.npy', '--labels', 'b-y.npy')).intervals).toEqual(both.intervals);
    expect((await json('score', 'a.npy', 'b.npy', '--labels', 'a-y.npy', '--labels', 'b-y.npy', '--seed', '1')).intervals.accuracy).not.toEqual(both.intervals.accuracy);
    writeFileSync(join(dir, 'a.json'), JSON.stringify(await json('score', 'a.npy', '--labels', 'a-y.npy')));
    writeFileSync(join(dir, 'b.json'), JSON.stringify(await json('score', 'b.npy', '--labels', 'b-y.npy')));
    const m = await json('merge', 'a.json', 'b.json');
    expect(m.intervals.accuracy).toEqual(both.intervals.accuracy);
    for (const k of ['nll', 'ece']) {
      expect(m.intervals[k][0]).toBeCloseTo(both.intervals[k][0], 12);
      expect(m.intervals[k][1]).toBeCloseTo(both.intervals[k][1], 12);
    }
    const text = await exec('score', 'a.npy', '--labels', 'a-y.npy', '--intervals', '50', '--report', 'r.md');
    expect(readFileSync(join(dir, 'r.md'), 'utf8')).toMatch(/90% intervals \(Poisson bootstrap, 50 replicates\): accuracy \d+\.\d+% – \d+\.\d+%/);
    expect(text.stderr).toMatch(/90% intervals \(Poisson bootstrap, 50 replicates\): accuracy \[\d+\.\d+%, \d+\.\d+%\]/);
  });

  it('--intervals 0 turns them off; bad values are usage errors', async () => {
    expect((await json('score', 'a.npy', '--labels', 'a-y.npy', '--intervals', '0')).intervals).toBeUndefined();
    expect((await exec('score', 'a.npy', '--labels', 'a-y.npy', '--intervals', 'x')).stderr).toMatch(/--intervals x: expected an integer >= 0/);
    expect((await exec('score', 'a.npy', '--labels', 'a-y.npy', '--intervals', '20000')).stderr).toMatch(/at most 10000 replicates/);
    expect((await exec('score', 'a.npy', '--labels', 'a-y.npy', '--seed', '1.5')).stderr).toMatch(/--seed 1\.5: expected an integer >= 0/);
  });
});
