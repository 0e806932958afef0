// Average precision from the AUROC counts (src/metrics/average-precision.ts) against the exact
// step-wise definition (sklearn's average_precision_score, test/reference), computed here by sorting
// the same float32 scores: exact on tied grids, within its reported worst-case bound everywhere, and
// within the accuracy the file header states on continuous scores; merged and round-tripped through
// the merge statistics it equals the single run.
import { describe, expect, it } from 'vitest';
import { AurocCounts, addAurocStats, aurocStats } from '../src/metrics/auroc.js';
import { averagePrecisionReport, classAveragePrecision } from '../src/metrics/average-precision.js';
import { MultilabelAccumulator } from '../src/metrics/multilabel.js';
import { ScoreAccumulator } from '../src/metrics/summary.js';
import { init } from '../src/index.js';
import { exactAveragePrecision } from './reference/index.js';
import { normal, rng } from './helpers/random.js';

const engine = await init();

/** Softmax rows (float32) of N × C logits: scale · normal, the label's logit raised by up to `lift`. */
function softmaxRows(N: number, C: number, scale: number, lift: number, seed: number): { p: Float32Array; y: Int32Array } {
  const r = rng(seed);
  const p = new Float32Array(N * C);
  const y = new Int32Array(N);
  const z = new Float64Array(C);
  for (let i = 0; i < N; i++) {
    y[i] = Math.floor(r() * C);
    let m = -Infinity;
    for (let k = 0; k < C; k++) {
      z[k] = scale * normal(r) + (k === y[i] ? lift * r() : 0);
      m = Math.max(m, z[k]);
    }
    let s = 0;
    for (let k = 0; k < C; k++) s += Math.exp(z[k] - m);
    for (let k = 0; k < C; k++) p[i * C + k] = Math.exp(z[k] - m) / s;
  }
  return { p, y };
}

function counts(p: Float32Array, y: Int32Array, C: number): AurocCounts {
  const a = new AurocCounts(C);
  a.addBlock(engine, p, y);
  return a;
}

/** Worst |binned − exact| over the classes, checking each against the reported bound. */
function worstError(p: Float32Array, y: Int32Array, C: number): { worst: number; bound: number } {
  const rep = averagePrecisionReport(counts(p, y, C));
  let worst = 0;
  for (let k = 0; k < C; k++) {
    const s = Array.from(y, (_, i) => p[i * C + k]);
    const exact = exactAveragePrecision(s, Array.from(y, (v) => v === k));
    if (exact === null) {
      expect(rep.perClass[k]).toBeNull();
      continue;
    }
    const err = Math.abs(rep.perClass[k]! - exact);
    expect(err, `class ${k}`).toBeLessThanOrEqual(rep.errorBound + 1e-12);
    worst = Math.max(worst, err);
  }
  return { worst, bound: rep.errorBound };
}

describe('average precision from the AUROC counts', () => {
  it('small hand cases: ordered scores, a tie of a positive and a negative, no negatives', () => {
    // positives 0.9 and 0.3, a negative at 0.6: AP = ½ (1 + 2/3)
    const p = new Float32Array([0.9, 0.1, 0.6, 0.4, 0.3, 0.7]);
    const y = new Int32Array([0, 1, 0]);
    const a = counts(p, y, 2);
    expect(classAveragePrecision(a, 0)!.ap).toBeCloseTo(5 / 6, 14);
    // class 1: positive row 1 has p_1 = 0.4, negatives 0.1 and 0.7: precision ½ at recall 1
    expect(classAveragePrecision(a, 1)!.ap).toBeCloseTo(1 / 2, 14);
    // a positive tied with a negative: both enter at once, precision ½ (sklearn), not 1 then ½
    const t = counts(new Float32Array([0.5, 0.5, 0.5, 0.5]), new Int32Array([0, 1]), 2);
    expect(classAveragePrecision(t, 0)!.ap).toBe(0.5);
    // every row positive for class 0: precision 1 throughout
    const all = counts(new Float32Array([0.2, 0.8, 0.7, 0.3]), new Int32Array([0, 0]), 2);
    expect(classAveragePrecision(all, 0)!.ap).toBe(1);
    expect(classAveragePrecision(all, 1)).toBeNull();
    const rep = averagePrecisionReport(all);
    expect(rep.perClass).toEqual([1, null]);
    expect(rep.macro).toBe(1);
  });

  it('a grid of probabilities (k/32, every score tied with many): exact', () => {
    const r = rng(32);
    const N = 4000;
    const C = 4;
    const p = new Float32Array(N * C);
    const y = new Int32Array(N);
    for (let i = 0; i < N; i++) {
      y[i] = Math.floor(r() * C);
      const units = new Array<number>(C).fill(0);
      for (let u = 0; u < 32; u++) units[r() < 0.35 ? y[i] : Math.floor(r() * C)]++;
      for (let k = 0; k < C; k++) p[i * C + k] = units[k] / 32;
    }
    expect(worstError(p, y, C).worst).toBeLessThan(1e-12);
  });

  it('continuous softmax scores: within the bound, and within 2e-4 (typical models) / 5e-4 (near-uniform)', () => {
    const cases: [number, number, number, number, number][] = [
      // N, C, logit scale, label lift, tolerance
      [3000, 5, 2, 2, 2e-4],
      [20000, 10, 3, 3, 2e-4],
      [20000, 100, 3, 3, 2e-4],
      [50000, 2, 2, 2, 2e-4],
      // p_k within ±5% of 1/K: many rows of both kinds share bins (the hard case, as for AUROC)
      [20000, 10, 0.05, 0.05, 5e-4],
    ];
    for (const [N, C, scale, lift, tol] of cases) {
      const { p, y } = softmaxRows(N, C, scale, lift, N + C);
      const { worst, bound } = worstError(p, y, C);
      expect(worst, `${N} × ${C}, scale ${scale}`).toBeLessThan(tol);
      expect(bound).toBeGreaterThan(0);
    }
  });

  it('near-uniform scores (p_k within ±0.5% of 1/K): the error stays within the reported bound, which says it is large', () => {
    const { p, y } = softmaxRows(5000, 10, 0.005, 0.005, 7);
    const { worst, bound } = worstError(p, y, 10);
    expect(worst).toBeLessThanOrEqual(bound);
    expect(bound).toBeGreaterThan(1e-2);
  });

  it('merged counts, counts read back from the merge statistics, and the JS backend\'s counts give the single run exactly', async () => {
    const { p, y } = softmaxRows(6000, 6, 2, 2, 11);
    const whole = averagePrecisionReport(counts(p, y, 6));
    const cut = 2345;
    const a = counts(p.subarray(0, cut * 6), y.subarray(0, cut), 6);
    a.merge(counts(p.subarray(cut * 6), y.subarray(cut), 6));
    expect(averagePrecisionReport(a)).toEqual(whole);
    const back = new AurocCounts(6);
    expect(addAurocStats(back, aurocStats(counts(p, y, 6)), 'stats')).toBe(true);
    expect(averagePrecisionReport(back)).toEqual(whole);
    // the JS backend's histogram counts the same bins: the same figures
    const js = await init({ backend: 'js' });
    const viaJs = new AurocCounts(6);
    viaJs.addBlock(js, p, y);
    expect(averagePrecisionReport(viaJs)).toEqual(whole);
    js.dispose();
  });

  it('a NaN row makes every figure NaN (as AUROC); a class without positives is null and left out of the macro', () => {
    const p = new Float32Array([0.9, 0.05, 0.05, 0.2, 0.7, 0.1, 0.6, 0.3, 0.1]);
    const y = new Int32Array([0, 1, 0]);
    const rep = averagePrecisionReport(counts(p, y, 3));
    expect(rep.perClass[2]).toBeNull();
    expect(rep.macro).toBeCloseTo((rep.perClass[0]! + rep.perClass[1]!) / 2, 15);
    const withNaN = new Float32Array([...p, NaN, NaN, NaN]);
    const bad = averagePrecisionReport(counts(withNaN, new Int32Array([0, 1, 0, 1]), 3));
    expect(bad.macro).toBeNaN();
    expect(bad.perClass[0]).toBeNaN();
    expect(bad.errorBound).toBeNaN();
  });
});

describe('average precision in the score summaries', () => {
  it('ScoreAccumulator: per class and macro from its AUROC counts; a binary model gives AP of p(y = 1)', () => {
    const { p, y } = softmaxRows(3000, 4, 2, 2, 5);
    const x = p.map((v) => Math.log(v));
    const acc = new ScoreAccumulator(4, { intervals: 0 });
    acc.addBlock(engine, x, y);
    const s = acc.summary();
    expect(s.averagePrecision).toEqual(averagePrecisionReport(acc.auroc!));
    const r = rng(9);
    const z = new Float32Array(2000).map(() => 2 * normal(r));
    const yb = new Int32Array(2000).map((_, i) => (r() < 1 / (1 + Math.exp(-z[i])) ? 1 : 0));
    const bin = new ScoreAccumulator(2, { binary: true, intervals: 0 });
    bin.addBlock(engine, z, yb);
    const b = bin.summary();
    const pz = Array.from(z, (v) => Math.fround(1 / (1 + Math.exp(-v))));
    const exact = exactAveragePrecision(pz, Array.from(yb, (v) => v === 1))!;
    expect(b.binary!.averagePrecision).toBe(b.averagePrecision!.perClass[1]);
    expect(Math.abs(b.binary!.averagePrecision! - exact)).toBeLessThan(1e-4);
  });

  it('multi-label: per label, macro over labels with positives, micro over all cells pooled', () => {
    const r = rng(21);
    const N = 3000;
    const L = 4;
    const z = new Float32Array(N * L);
    const t = new Uint8Array(N * L);
    for (let i = 0; i < N * L; i++) {
      t[i] = r() < 0.1 + 0.2 * (i % L) ? 1 : 0;
      z[i] = normal(r) + 1.5 * (t[i] - 0.5);
    }
    for (let i = 0; i < N; i++) t[i * L + 3] = 0; // label 3 without positives
    const acc = new MultilabelAccumulator(L);
    acc.addBlock(engine, z, t);
    const rep = acc.report();
    const p = Array.from(z, (v) => Math.fround(1 / (1 + Math.exp(-v))));
    const ap: number[] = [];
    for (let k = 0; k < 3; k++) {
      const exact = exactAveragePrecision(
        p.filter((_, i) => i % L === k),
        Array.from(t).filter((_, i) => i % L === k),
      )!;
      ap.push(rep.perLabel[k].averagePrecision!);
      expect(Math.abs(rep.perLabel[k].averagePrecision! - exact), `label ${k}`).toBeLessThan(2e-4);
    }
    expect(rep.perLabel[3].averagePrecision).toBeNull();
    expect(rep.macro.averagePrecision).toBeCloseTo((ap[0] + ap[1] + ap[2]) / 3, 14);
    const micro = exactAveragePrecision(p, t)!;
    expect(Math.abs(rep.micro.averagePrecision! - micro)).toBeLessThan(2e-4);
    expect(rep.averagePrecisionErrorBound).toBeGreaterThan(0);
  });
});

describe('the decision threshold of a binary ScoreAccumulator', () => {
  it('decides accuracy, the confusion and the groups; leaves AUROC, AP and the calibration; merges only at one threshold', () => {
    const r = rng(44);
    const N = 1500;
    const z = new Float32Array(N).map(() => 1.5 * normal(r));
    const y = new Int32Array(N).map((_, i) => (r() < 1 / (1 + Math.exp(-z[i])) ? 1 : 0));
    const g = new Int32Array(N).map((_, i) => i % 3);
    const make = (threshold?: number) => {
      const acc = new ScoreAccumulator(2, { binary: true, groups: true, intervals: 0, ...(threshold !== undefined ? { threshold } : {}) });
      acc.addBlock(engine, z, y, g);
      return acc;
    };
    const half = make().summary();
    const acc = make(0.7);
    const s = acc.summary();
    // p > 0.7 ⇔ z > ln(0.7 / 0.3), counted here in float64
    const cut = Math.log(0.7 / 0.3);
    let right = 0;
    const byGroup = [0, 0, 0];
    const rows = [0, 0, 0];
    for (let i = 0; i < N; i++) {
      const hit = (z[i] > cut ? 1 : 0) === y[i] ? 1 : 0;
      right += hit;
      byGroup[g[i]] += hit;
      rows[g[i]]++;
    }
    expect(s.accuracy).toBe(right / N);
    expect(s.binary!.threshold).toBe(0.7);
    for (let k = 0; k < 3; k++) expect(s.slices!.groups[String(k)].accuracy).toBe(byGroup[k] / rows[k]);
    expect(s.confusion!.matrix()[1][1] + s.confusion!.matrix()[0][1]).toBe(Array.from(z).filter((v) => v > cut).length);
    expect(s.binary!.auroc).toBe(half.binary!.auroc);
    expect(s.binary!.averagePrecision).toBe(half.binary!.averagePrecision);
    expect(s.topLabel!.ece).toBe(half.topLabel!.ece);
    expect(s.slices!.groups['0'].ece).toBe(half.slices!.groups['0'].ece);
    expect(s.ece).toBe(half.ece);
    // statistics carry it; a merge at another threshold is refused
    const back = ScoreAccumulator.fromStats(JSON.parse(JSON.stringify(acc.toStats())), 'a.json');
    expect(back.threshold).toBe(0.7);
    expect(() => back.merge(make())).toThrow(/cannot merge: threshold differ \(0\.7 vs 0\.5\)/);
    // a NaN logit is class 1 whatever the threshold, as argmax([0, NaN]) is at ½
    for (const t of [0.5, 0.9]) {
      const nan = new ScoreAccumulator(2, { binary: true, intervals: 0, threshold: t });
      nan.addBlock(engine, new Float32Array([NaN, -5]), new Int32Array([0, 0]));
      expect(nan.summary().perClass.map((c) => c.predicted)).toEqual([1, 1]);
    }
    expect(() => new ScoreAccumulator(3, { threshold: 0.3 })).toThrow(/a threshold applies to binary models/);
    expect(() => new ScoreAccumulator(2, { binary: true, threshold: 1 })).toThrow(/threshold = 1, expected a number in \(0, 1\)/);
    expect(() => new MultilabelAccumulator(3, { threshold: 0 })).toThrow(/threshold = 0, expected a number in \(0, 1\)/);
  });
});
