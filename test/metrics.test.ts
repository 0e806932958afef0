// Calibration (ECE, reliability, temperature fit) and the streaming/merging score summary, on both
// backends, against the float64 references of test/helpers/score-reference.ts.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { arraySource } from '../src/io/stream.js';
import { NpyShardSource } from '../src/io/npy-source.js';
import { binOf, ece, eceFromConfidences, fitTemperature, fitTemperatureSource, reliability } from '../src/metrics/calibration.js';
import { biasFlag, ScoreAccumulator } from '../src/metrics/summary.js';
import { describeEachBackend } from './helpers/backends.js';
import { classifierData, refFitTemperature, refNll, refScore, temperatureAccepted } from './reference/index.js';
import { codeOf } from './helpers/checks.js';

describe('eceFromConfidences', () => {
  it('computes Σ (n_b/n)|acc_b − conf_b| with exact right-closed edges', () => {
    // M = 10: 0.5 lies on an edge and belongs to (0.4, 0.5]; 0 goes to bin 0; 1 to bin 9.
    const conf = [0.5, 0.55, 0, 1, 0.95, 0.3];
    const correct = [1, 0, 0, 1, 1, 0];
    const { ece: e, binIndex } = eceFromConfidences(conf, correct, { bins: 10 });
    expect(Array.from(binIndex)).toEqual([4, 5, 0, 9, 9, 2]);
    // bins: 4:{0.5,1} 5:{0.55,0} 0:{0,0} 9:{1,1; .95,1} 2:{.3,0}
    const expected = (Math.abs(1 - 0.5) + Math.abs(0 - 0.55) + 0 + Math.abs(2 - 1.95) + Math.abs(0 - 0.3)) / 6;
    expect(e).toBeCloseTo(expected, 15);
    expect(binOf(1 / 15, 15)).toBe(0);
    expect(binOf(Math.fround(1 / 15), 15)).toBe(Math.fround(1 / 15) > 1 / 15 ? 1 : 0);
  });

  it('accepts booleans, gives NaN for a NaN confidence (bin -1) and for n = 0', () => {
    const r = eceFromConfidences([0.9, NaN], [true, false]);
    expect(r.ece).toBeNaN();
    expect(Array.from(r.binIndex)).toEqual([13, -1]);
    expect(eceFromConfidences([], []).ece).toBeNaN();
    expect(eceFromConfidences(new Float32Array([0.75]), new Uint8Array([1])).ece).toBeCloseTo(0.25, 7);
  });

  it('validates bins, confidences and lengths with stable codes', () => {
    for (const bins of [0, -1, 1.5, NaN, Infinity]) expect(codeOf(() => eceFromConfidences([0.5], [1], { bins }))).toBe('invalid_bins');
    expect(codeOf(() => eceFromConfidences([1.0000001], [1]))).toBe('invalid_confidence');
    expect(codeOf(() => eceFromConfidences([-0.01], [1]))).toBe('invalid_confidence');
    expect(codeOf(() => eceFromConfidences([0.5, 0.5], [1]))).toBe('shape_mismatch');
    expect(eceFromConfidences([0.5], [1], { bins: 1 }).ece).toBeCloseTo(0.5, 15);
  });
});

describe('biasFlag', () => {
  it('flags clear over- and under-prediction, not noise', () => {
    expect(biasFlag(1000, 1142)).toBe('over');
    expect(biasFlag(1000, 806)).toBe('under');
    expect(biasFlag(1000, 1050)).toBe(null); // within 3√1000 ≈ 95
    expect(biasFlag(10, 15)).toBe(null); // 5 < 3√10
    expect(biasFlag(0, 4)).toBe('over');
    expect(biasFlag(0, 0)).toBe(null);
  });
});

describeEachBackend('calibration from logits', (lk) => {
  const C = 10;
  const { x, y } = classifierData(3000, C, 11);

  it('ece and reliability match the float64 reference (atol 1e-5)', () => {
    for (const bins of [15, 10, 1, 40]) {
      const ref = refScore(x, C, y, { bins });
      const rel = reliability(lk(), x, C, y, { bins });
      expect(Math.abs(rel.ece - ref.ece)).toBeLessThanOrEqual(1e-5);
      expect(Math.abs(rel.mce - ref.mce)).toBeLessThanOrEqual(1e-5);
      expect(rel.bins.map((b) => b.count)).toEqual(ref.binCount);
      expect(rel.bins[0].lower).toBe(0);
      expect(rel.bins[bins - 1].upper).toBe(1);
      expect(Math.abs(ece(lk(), x, C, y, { bins }) - ref.ece)).toBeLessThanOrEqual(1e-5);
    }
  });

  it('the engine methods give the same answers as the free functions', () => {
    const e = lk() as unknown as { ece?: Function; reliability?: Function; fitTemperature?: Function };
    if (typeof e.ece !== 'function') return; // attached by the engine; tested once it is
    expect(lk().ece(x, C, y)).toBe(ece(lk(), x, C, y));
    expect(lk().reliability(x, C, y, { bins: 7 })).toEqual(reliability(lk(), x, C, y, { bins: 7 }));
  });

  it('validates labels, shapes and bins', () => {
    expect(codeOf(() => ece(lk(), x, C, y.subarray(1)))).toBe('shape_mismatch');
    expect(codeOf(() => ece(lk(), x.subarray(1), C, y))).toBe('shape_mismatch');
    const bad = y.slice();
    bad[17] = C;
    expect(codeOf(() => ece(lk(), x, C, bad))).toBe('target_out_of_range');
    bad[17] = -1;
    expect(codeOf(() => reliability(lk(), x, C, bad))).toBe('target_out_of_range');
    expect(codeOf(() => ece(lk(), x, C, y, { bins: 0 }))).toBe('invalid_bins');
  });

  it('fitTemperature finds T* of the float64 reference (over-confident data: T > 1)', () => {
    const ref = refFitTemperature(x, C, y);
    const fit = fitTemperature(lk(), x, C, y);
    expect(ref.T).toBeGreaterThan(1.5);
    expect(temperatureAccepted(fit.temperature, x, C, y, ref)).toBe(true);
    expect(Math.abs(fit.temperature - ref.T) / ref.T).toBeLessThan(1e-5);
    expect(Math.abs(fit.nll - ref.nll)).toBeLessThan(1e-5 * Math.max(1, ref.nll));
    expect(Math.abs(fit.nllBefore - refNll(x, C, y, 1))).toBeLessThan(1e-5 * refNll(x, C, y, 1));
    expect(fit.nll).toBeLessThan(fit.nllBefore);
  });

  it('under-confident data gives T < 1; a custom range clamps the answer', () => {
    const u = classifierData(1000, 5, 5, 0.3);
    const ref = refFitTemperature(u.x, 5, u.y);
    const fit = fitTemperature(lk(), u.x, 5, u.y);
    expect(ref.T).toBeLessThan(1);
    expect(temperatureAccepted(fit.temperature, u.x, 5, u.y, ref)).toBe(true);
    const clamped = fitTemperature(lk(), u.x, 5, u.y, { min: 0.9, max: 5 });
    expect(clamped.temperature).toBeCloseTo(0.9, 12);
  });

  it('separable data → T = min; anti-correlated data → T = max; constant rows → T = 1', () => {
    const sx = Float32Array.from([3, 0, 0, 0, 2, 0, 0, 0, 5, 1, 0, 0]);
    const sy = Int32Array.from([0, 1, 2, 0]);
    const sep = fitTemperature(lk(), sx, 3, sy);
    expect(temperatureAccepted(sep.temperature, sx, 3, sy, refFitTemperature(sx, 3, sy))).toBe(true);
    // NLL is flat (≈ 0) as T → 0: any T in that flat region is accepted, here T stops below 0.1.
    expect(sep.temperature).toBeLessThan(0.1);
    const anti = fitTemperature(lk(), sx, 3, Int32Array.from([1, 2, 0, 2]));
    expect(anti.temperature).toBe(100);
    const flat = fitTemperature(lk(), new Float32Array(12).fill(0.5), 3, sy);
    expect(flat).toEqual({ temperature: 1, nll: expect.closeTo(Math.log(3), 6), nllBefore: expect.closeTo(Math.log(3), 6) });
  });

  it('fitTemperature rejects non-finite logits, bad labels and a bad range', () => {
    const bad = x.slice();
    bad[123] = Infinity;
    expect(codeOf(() => fitTemperature(lk(), bad, C, y))).toBe('non_finite_input');
    bad[123] = NaN;
    expect(codeOf(() => fitTemperature(lk(), bad, C, y))).toBe('non_finite_input');
    const by = y.slice();
    by[5] = -100;
    expect(codeOf(() => fitTemperature(lk(), x, C, by))).toBe('target_out_of_range');
    expect(codeOf(() => fitTemperature(lk(), x, C, y, { min: 0 }))).toBe('invalid_temperature');
    expect(codeOf(() => fitTemperature(lk(), x, C, y, { min: 2, max: 1 }))).toBe('invalid_temperature');
    expect(codeOf(() => fitTemperature(lk(), x, C, y, { max: NaN }))).toBe('invalid_temperature');
  });

  it('the streamed fit over small blocks equals the in-memory fit', () => {
    const a = fitTemperatureSource(lk(), arraySource(x, C, y));
    expect(a.passes).toBe(1); // one block: read once, the Newton steps run on the in-memory copy
    const b = fitTemperatureSource(lk(), arraySource(x, C, y, 97));
    expect(Math.abs(a.temperature - b.temperature) / a.temperature).toBeLessThan(1e-6);
    expect(b.passes).toBeLessThanOrEqual(12);
    // Warm-started from the first block, the full data needs only a few passes (+1 for nllBefore).
    const c = fitTemperatureSource(lk(), arraySource(x, C, y, 1000));
    expect(Math.abs(c.temperature - a.temperature) / a.temperature).toBeLessThan(1e-6);
    expect(c.passes).toBeLessThanOrEqual(5);
    expect(Math.abs(c.nllBefore - a.nllBefore)).toBeLessThan(1e-9);
    const d = fitTemperatureSource(lk(), arraySource(x, C, y, 1000), { nllBefore: false });
    expect(d.nllBefore).toBeNaN();
    expect(d.passes).toBe(c.passes! - 1);
  });
});

describeEachBackend('score summary', (lk) => {
  const C = 12;
  const { x, y } = classifierData(2500, C, 21);

  function check(acc: ScoreAccumulator, ref: ReturnType<typeof refScore>) {
    const s = acc.summary();
    const close = (got: number, exp: number, tol: number, what: string) => expect(Math.abs(got - exp), what).toBeLessThanOrEqual(tol);
    expect(s.rows).toBe(ref.rows);
    close(s.nll, ref.nll, 1e-6 * Math.max(1, ref.nll), 'nll');
    expect(s.accuracy).toBe(ref.accuracy);
    expect(s.topk.accuracy).toBe(ref.topk);
    close(s.perplexity, Math.exp(ref.nll), 1e-5 * Math.exp(ref.nll), 'perplexity');
    close(s.ece, ref.ece, 1e-5, 'ece');
    close(s.mce, ref.mce, 1e-5, 'mce');
    close(s.brier, ref.brier, 1e-6, 'brier');
    close(s.meanEntropy, ref.meanEntropy, 1e-6, 'entropy');
    expect(s.reliability.bins.map((b) => b.count)).toEqual(ref.binCount);
    s.perClass.forEach((c, j) => {
      expect(c.support).toBe(ref.support[j]);
      expect(c.predicted).toBe(ref.predicted[j]);
      expect(c.accuracy).toBe(ref.support[j] ? ref.classCorrect[j] / ref.support[j] : null);
      close(c.meanProb, ref.meanProb[j], 1e-6, `meanProb[${j}]`);
      close(c.meanLogit, ref.meanLogit[j], 1e-6 * Math.max(1, Math.abs(ref.meanLogit[j])), `meanLogit[${j}]`);
    });
  }

  for (const o of [{ T: 1, bins: 15, k: 5 }, { T: 2.5, bins: 10, k: 3 }, { T: 0.7, bins: 20, k: 1 }, { T: 1, bins: 15, k: 50 }]) {
    it(`every figure matches the float64 reference (T=${o.T}, bins=${o.bins}, k=${o.k})`, () => {
      const acc = new ScoreAccumulator(C, { bins: o.bins, topk: o.k, temperature: o.T }).addSource(lk(), arraySource(x, C, y, 300));
      expect(acc.k).toBe(Math.min(o.k, C));
      check(acc, refScore(x, C, y, o));
    });
  }

  it('shards merged (directly and through JSON stats) equal one run over all rows', () => {
    const opts = { bins: 15, topk: 5, temperature: 1.7, altTemperature: 1 };
    const whole = new ScoreAccumulator(C, opts).addSource(lk(), arraySource(x, C, y));
    const cuts = [0, 1, 700, 2000, 2500];
    const parts = cuts.slice(1).map((end, i) => {
      const start = cuts[i];
      return new ScoreAccumulator(C, opts).addSource(lk(), arraySource(x.subarray(start * C, end * C), C, y.subarray(start, end), 128));
    });
    const merged = ScoreAccumulator.fromStats(JSON.parse(JSON.stringify(parts[0].toStats())));
    for (const p of parts.slice(1)) merged.merge(ScoreAccumulator.fromStats(JSON.parse(JSON.stringify(p.toStats()))));
    const a = whole.summary();
    const b = merged.summary();
    // Sums merge exactly; what differs is float64 addition order and, on wasm, the last bit of a
    // 1-row call (the 1-row shard) vs the same row inside a batch: ~1e-11 relative.
    const rel = (u: number, v: number) => Math.abs(u - v) / Math.max(1e-300, Math.abs(v));
    for (const key of ['nll', 'accuracy', 'perplexity', 'ece', 'mce', 'brier', 'meanEntropy'] as const) expect(rel(b[key], a[key]), key).toBeLessThan(1e-8);
    expect(b.topk).toEqual(a.topk);
    expect(rel(b.alt!.nll, a.alt!.nll)).toBeLessThan(1e-8);
    expect(rel(b.alt!.ece, a.alt!.ece)).toBeLessThan(1e-8);
    expect(b.reliability.bins.map((x) => x.count)).toEqual(a.reliability.bins.map((x) => x.count));
    b.perClass.forEach((c, j) => {
      expect(c.support).toBe(a.perClass[j].support);
      expect(c.predicted).toBe(a.perClass[j].predicted);
      expect(rel(c.meanProb, a.perClass[j].meanProb)).toBeLessThan(1e-8);
    });
    check(merged, refScore(x, C, y, { T: 1.7 }));
  });

  it('merge refuses different settings; stats survive non-finite sums', () => {
    const a = new ScoreAccumulator(C, { temperature: 1 });
    expect(codeOf(() => a.merge(new ScoreAccumulator(C, { temperature: 2 })))).toBe('shape_mismatch');
    expect(codeOf(() => a.merge(new ScoreAccumulator(C, { bins: 10 })))).toBe('shape_mismatch');
    expect(codeOf(() => a.merge(new ScoreAccumulator(C + 1)))).toBe('shape_mismatch');
    expect(codeOf(() => ScoreAccumulator.fromStats({ format: 'nope' }))).toBe('invalid_argument');
    // A label whose logit is -inf: NLL = +inf must survive the JSON round trip.
    const xi = Float32Array.from([0, -Infinity, 1, 0]);
    const acc = new ScoreAccumulator(2, { topk: 1 }).addSource(lk(), arraySource(xi, 2, Int32Array.from([1, 0])));
    expect(acc.summary().nll).toBe(Infinity);
    expect(ScoreAccumulator.fromStats(JSON.parse(JSON.stringify(acc.toStats()))).summary().nll).toBe(Infinity);
  });

  it('validates options', () => {
    expect(codeOf(() => new ScoreAccumulator(C, { topk: 0 }))).toBe('invalid_k');
    expect(codeOf(() => new ScoreAccumulator(C, { temperature: 0 }))).toBe('invalid_temperature');
    expect(codeOf(() => new ScoreAccumulator(C, { bins: 2.5 }))).toBe('invalid_bins');
    expect(codeOf(() => new ScoreAccumulator(0))).toBe('shape_mismatch');
    const bad = y.slice(0, 10);
    bad[3] = 99;
    expect(codeOf(() => new ScoreAccumulator(C).addSource(lk(), arraySource(x.subarray(0, 10 * C), C, bad)))).toBe('target_out_of_range');
  });
});

describeEachBackend('bundled sample (WideResNet on CIFAR-10)', (lk) => {
  it('reproduces the published figures: accuracy 91.09%, ECE ≈ 5.37%, T* ≈ 2.0525', () => {
    const src = new NpyShardSource([{ logits: 'data/sample/logits.npy', labels: 'data/sample/labels.npy' }]);
    try {
      const s = new ScoreAccumulator(10).addSource(lk(), src).summary();
      expect(s.rows).toBe(10000);
      expect(s.accuracy).toBe(0.9109);
      // float64 figure from the shipped probabilities: 0.0537162954 (numpy, exact edges)
      expect(Math.abs(s.ece - 0.0537162954)).toBeLessThan(1e-5);
      const fit = fitTemperatureSource(lk(), src);
      expect(Math.abs(fit.temperature - 2.0525488) / 2.0525488).toBeLessThan(1e-4);
    } finally {
      src.close();
    }
    expect(readFileSync('data/sample/README.md', 'utf8')).toMatch(/Apache License 2\.0/);
  });
});
