// Multi-label scoring (metrics/multilabel.ts) against a float64 reference written here: per-label BCE
// (stable log-sigmoid), F1 / precision / recall at z >= 0, micro and macro averages as scikit-learn
// defines them (zero_division=0), subset accuracy, Hamming loss, and AUROC against the exact rank AUROC.
import { describe, expect, it } from 'vitest';
import { LogitkitError, multilabelMetrics, MultilabelAccumulator } from '../src/index.js';
import { checkTargets } from '../src/metrics/multilabel.js';
import { describeEachBackend } from './helpers/backends.js';
import { exactAuroc } from './helpers/auroc.js';
import { normal, rng } from './helpers/random.js';

/** float64 reference of every figure. */
function reference(z: Float32Array, t: Uint8Array, C: number) {
  const N = z.length / C;
  const per = Array.from({ length: C }, (_, k) => {
    let bce = 0;
    let tp = 0;
    let fp = 0;
    let fn = 0;
    let support = 0;
    const s: number[] = [];
    const pos: boolean[] = [];
    for (let r = 0; r < N; r++) {
      const x = z[r * C + k];
      const y = t[r * C + k];
      bce += Math.max(x, 0) - x * y + Math.log1p(Math.exp(-Math.abs(x)));
      const pred = x >= 0;
      if (y) support++;
      if (y && pred) tp++;
      if (!y && pred) fp++;
      if (y && !pred) fn++;
      s.push(1 / (1 + Math.exp(-x)));
      pos.push(y === 1);
    }
    const d = (a: number, b: number) => (b === 0 ? 0 : a / b);
    return { bce: bce / N, tp, fp, fn, support, precision: d(tp, tp + fp), recall: d(tp, tp + fn), f1: d(2 * tp, 2 * tp + fp + fn), auroc: exactAuroc(s, pos) };
  });
  const sum = (f: (p: (typeof per)[number]) => number) => per.reduce((a, p) => a + f(p), 0);
  const [TP, FP, FN] = [sum((p) => p.tp), sum((p) => p.fp), sum((p) => p.fn)];
  let subset = 0;
  for (let r = 0; r < N; r++) {
    let ok = true;
    for (let k = 0; k < C; k++) if ((z[r * C + k] >= 0 ? 1 : 0) !== t[r * C + k]) ok = false;
    if (ok) subset++;
  }
  const aur = per.filter((p) => p.auroc !== null);
  // micro AUROC: every (row, label) cell pooled
  const all: number[] = [];
  const allPos: boolean[] = [];
  for (let i = 0; i < z.length; i++) {
    all.push(1 / (1 + Math.exp(-z[i])));
    allPos.push(t[i] === 1);
  }
  return {
    per,
    micro: { precision: TP / (TP + FP), recall: TP / (TP + FN), f1: (2 * TP) / (2 * TP + FP + FN), auroc: exactAuroc(all, allPos) },
    macro: { precision: sum((p) => p.precision) / C, recall: sum((p) => p.recall) / C, f1: sum((p) => p.f1) / C, bce: sum((p) => p.bce) / C, auroc: aur.reduce((a, p) => a + p.auroc!, 0) / aur.length },
    subset: subset / N,
    hamming: (FP + FN) / (N * C),
  };
}

/** Correlated labels: a latent per row, each label's logit is signal·(latent + noise) + bias. */
function data(N: number, C: number, seed: number) {
  const r = rng(seed);
  const z = new Float32Array(N * C);
  const t = new Uint8Array(N * C);
  for (let i = 0; i < N; i++) {
    const latent = normal(r);
    for (let k = 0; k < C; k++) {
      const truth = latent + normal(r) + (k % 3) - 1 > 0.5 ? 1 : 0;
      t[i * C + k] = truth;
      z[i * C + k] = 1.5 * (truth ? 1 : -1) * r() + normal(r) - 0.2 * k;
    }
  }
  return { z, t };
}

describeEachBackend('multilabelMetrics', (lk) => {
  it.each([
    [4000, 7],
    [1001, 1],
    [3, 5],
  ])('%i rows × %i labels: every figure matches the float64 reference', (N, C) => {
    const { z, t } = data(N, C, N + C);
    const got = multilabelMetrics(lk(), z, t, C);
    const ref = reference(z, t, C);
    expect(got.rows).toBe(N);
    expect(got.labels).toBe(C);
    got.perLabel.forEach((e, k) => {
      const p = ref.per[k];
      expect(e.bce).toBeCloseTo(p.bce, 5);
      expect(Math.abs(e.bce - p.bce)).toBeLessThan(2e-6 * Math.max(1, p.bce));
      expect(e.precision).toBe(p.precision);
      expect(e.recall).toBe(p.recall);
      expect(e.f1).toBe(p.f1);
      expect(e.support).toBe(p.support);
      if (p.auroc === null) expect(e.auroc).toBeNull();
      else expect(Math.abs(e.auroc! - p.auroc)).toBeLessThan(1e-4);
    });
    expect(got.micro.precision).toBe(ref.micro.precision);
    expect(got.micro.recall).toBe(ref.micro.recall);
    expect(got.micro.f1).toBe(ref.micro.f1);
    expect(Math.abs(got.micro.auroc! - ref.micro.auroc!)).toBeLessThan(1e-4);
    expect(got.macro.precision).toBeCloseTo(ref.macro.precision, 12);
    expect(got.macro.recall).toBeCloseTo(ref.macro.recall, 12);
    expect(got.macro.f1).toBeCloseTo(ref.macro.f1, 12);
    expect(Math.abs(got.macro.bce - ref.macro.bce)).toBeLessThan(2e-6);
    if (Number.isNaN(ref.macro.auroc)) expect(got.macro.auroc).toBeNull();
    else expect(Math.abs(got.macro.auroc! - ref.macro.auroc)).toBeLessThan(1e-4);
    expect(got.subsetAccuracy).toBe(ref.subset);
    expect(got.hammingLoss).toBeCloseTo(ref.hamming, 14);
  });

  it('z = 0 is predicted positive (p = σ(0) = 0.5 ≥ 0.5); −0 too; the smallest negative is not', () => {
    const z = Float32Array.of(0, -0, -1e-30, 5);
    const t = Uint8Array.of(1, 1, 1, 0);
    const r = multilabelMetrics(lk(), z, t, 1);
    const e = r.perLabel[0];
    expect([e.predicted, e.support]).toEqual([3, 3]);
    expect(e.precision).toBeCloseTo(2 / 3, 15); // TP 2 (0, −0), FP 1 (5)
    expect(e.recall).toBeCloseTo(2 / 3, 15); // FN 1 (−1e-30)
  });

  it('a label with no positives gives recall 0 and F1 0 and AUROC null; one never predicted precision 0; both listed', () => {
    const z = Float32Array.of(-3, 2, -2, 1, -4, -1);
    const t = Uint8Array.of(0, 1, 0, 1, 0, 0); // label 0: no positives; label 1: positives
    const r = multilabelMetrics(lk(), z, t, 2);
    expect(r.perLabel[0]).toMatchObject({ recall: 0, f1: 0, precision: 0, support: 0, predicted: 0, auroc: null });
    expect(r.zeroDivision).toEqual({ precision: [0], recall: [0] });
    expect(r.macro.f1).toBe(r.perLabel[1].f1 / 2); // macro over all labels, the empty one counting 0
    expect(r.macro.auroc).toBe(r.perLabel[1].auroc); // AUROC averaged over labels that have both kinds
    expect(r.perLabel[1].auroc).toBe(1);
  });

  it('a NaN logit makes BCE and AUROC NaN, counts it, and the engine goes on', () => {
    const z = Float32Array.of(1, NaN, -1, 2, 0.5, -2);
    const t = Uint8Array.of(1, 0, 0, 1, 1, 0);
    const r = multilabelMetrics(lk(), z, t, 2);
    expect(r.nanRows).toBe(1);
    expect(r.perLabel[1].bce).toBeNaN();
    expect(r.perLabel[0].auroc).toBeNaN();
    expect(r.macro.auroc).toBeNaN();
    expect(lk().sigmoid(Float32Array.of(0))[0]).toBe(0.5);
  });

  it('merges exactly through JSON statistics in any split', () => {
    const C = 6;
    const N = 3001;
    const { z, t } = data(N, C, 99);
    const whole = new MultilabelAccumulator(C);
    whole.addBlock(lk(), z, t);
    const cuts = [0, 1, 1000, 2047, N];
    const parts = cuts.slice(1).map((end, i) => {
      const a = new MultilabelAccumulator(C);
      a.addBlock(lk(), z.subarray(cuts[i] * C, end * C), t.subarray(cuts[i] * C, end * C));
      return MultilabelAccumulator.fromStats(JSON.parse(JSON.stringify(a.toStats())));
    });
    const merged = parts.reduce((a, b) => a.merge(b));
    const [m, w] = [merged.report(), whole.report()];
    // counts and AUROC bins are integers: equal; BCE sums differ only by float64 addition order
    expect({ ...m, perLabel: m.perLabel.map((e) => ({ ...e, bce: 0 })), macro: { ...m.macro, bce: 0 } }).toEqual({
      ...w,
      perLabel: w.perLabel.map((e) => ({ ...e, bce: 0 })),
      macro: { ...w.macro, bce: 0 },
    });
    m.perLabel.forEach((e, k) => expect(e.bce).toBeCloseTo(w.perLabel[k].bce, 13));
    const [a, b] = [merged.auroc!.dense(), whole.auroc!.dense()];
    expect(Buffer.compare(Buffer.from(a.pos.buffer), Buffer.from(b.pos.buffer))).toBe(0);
    expect(Buffer.compare(Buffer.from(a.neg.buffer), Buffer.from(b.neg.buffer))).toBe(0);
  });
});

describe('multilabel input checks', () => {
  it('targets other than 0/1 are a target_out_of_range error naming row and label', () => {
    expect(() => checkTargets(Float32Array.of(0, 1, 1, 0.5), 2)).toThrow(/got 0\.5 at row 1, label 1/);
    expect(() => checkTargets(Int32Array.of(0, 2), 2)).toThrow(LogitkitError);
    expect(() => checkTargets([0, NaN], 1)).toThrow(/got NaN at row 1, label 0/);
    try {
      checkTargets(Int32Array.of(-1), 1);
    } catch (e) {
      expect((e as LogitkitError).code).toBe('target_out_of_range');
    }
    expect(Array.from(checkTargets([0, 1, 1, 0], 2))).toEqual([0, 1, 1, 0]);
  });

  it('rejects shapes and malformed statistics by name', async () => {
    const { init } = await import('../src/index.js');
    const lk = await init({ backend: 'js' });
    expect(() => multilabelMetrics(lk, Float32Array.of(1, 2, 3), [0, 1, 0], 2)).toThrow(/rows × 2/);
    expect(() => multilabelMetrics(lk, Float32Array.of(1, 2), [0, 1, 0], 2)).toThrow(/targets have 3 values/);
    expect(() => multilabelMetrics(lk, Float32Array.of(1, 2), [0, 1], 2, { names: ['a'] })).toThrow(/1 names for 2 labels/);
    const st = new MultilabelAccumulator(2).toStats();
    expect(() => MultilabelAccumulator.fromStats({ ...st, tp: [1] }, 'a.json')).toThrow(/a\.json: stats\.tp must be an array of 2/);
    expect(() => MultilabelAccumulator.fromStats({ ...st, fp: [0.5, 1] }, 'a.json')).toThrow(/integer counts/);
    expect(() => MultilabelAccumulator.fromStats({ ...st, format: 'x' }, 'a.json')).toThrow(/not logitkit multi-label statistics/);
    expect(() => MultilabelAccumulator.fromStats({ ...st, auroc: { ...st.auroc!, bins: '!!', nanRows: 0 } }, 'a.json')).toThrow(/auroc\.bins is malformed/);
    lk.dispose();
  });
});
