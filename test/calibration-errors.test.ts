// Adaptive, classwise, RMS and debiased-L2 calibration errors: each against a float64 reference
// written here from its definition (the adaptive one with a real sort), on both backends, merged
// across shards, and on the bundled samples against numpy.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { binOf, ReliabilityBins } from '../src/metrics/calibration.js';
import { binnedErrors, FineConfidenceBins } from '../src/metrics/calibration-errors.js';
import { ScoreAccumulator } from '../src/metrics/summary.js';
import { describeEachBackend } from './helpers/backends.js';
import { rng } from './helpers/random.js';

/** numpy.array_split groups of the confidences sorted ascending (ties by row), Σ |Σ correct − Σ conf| / n. */
function adaptiveEceExact(conf: number[], correct: number[], groups: number): number {
  const n = conf.length;
  const order = conf.map((_, i) => i).sort((a, b) => conf[a] - conf[b] || a - b);
  const small = Math.floor(n / groups);
  let total = 0;
  let at = 0;
  for (let g = 0; g < groups; g++) {
    const size = g < n % groups ? small + 1 : small;
    let c = 0;
    let k = 0;
    for (const i of order.slice(at, at + size)) {
      c += conf[i];
      k += correct[i];
    }
    total += Math.abs(k - c);
    at += size;
  }
  return total / n;
}

/** The four figures straight from per-row probabilities (float64) and labels. */
function refErrors(p: Float64Array, C: number, y: ArrayLike<number>, M: number) {
  const n = y.length;
  const conf: number[] = [];
  const ok: number[] = [];
  for (let r = 0; r < n; r++) {
    let best = 0;
    for (let j = 1; j < C; j++) if (p[r * C + j] > p[r * C + best]) best = j;
    conf.push(p[r * C + best]);
    ok.push(best === y[r] ? 1 : 0);
  }
  let rms = 0;
  let deb = 0;
  for (let b = 0; b < M; b++) {
    const rows = conf.map((c, i) => (binOf(c, M) === b ? i : -1)).filter((i) => i >= 0);
    if (!rows.length) continue;
    const acc = rows.reduce((a, i) => a + ok[i], 0) / rows.length;
    const cf = rows.reduce((a, i) => a + conf[i], 0) / rows.length;
    rms += (rows.length / n) * (acc - cf) ** 2;
    if (rows.length >= 2) deb += (rows.length / n) * ((acc - cf) ** 2 - (acc * (1 - acc)) / (rows.length - 1));
  }
  let classwise = 0;
  for (let k = 0; k < C; k++) {
    for (let b = 0; b < M; b++) {
      let pos = 0;
      let sum = 0;
      for (let r = 0; r < n; r++) {
        if (binOf(p[r * C + k], M) !== b) continue;
        sum += p[r * C + k];
        pos += y[r] === k ? 1 : 0;
      }
      classwise += Math.abs(pos - sum) / n;
    }
  }
  return { adaptiveEce: adaptiveEceExact(conf, ok, M), classwiseEce: classwise / C, rmsce: Math.sqrt(rms), debiasedL2: Math.sqrt(Math.max(0, deb)) };
}

/** Confidences with a calibration curve that crosses the diagonal, so group signs differ. */
function mixedConfidences(n: number, seed: number): { conf: number[]; ok: number[] } {
  const rand = rng(seed);
  const conf: number[] = [];
  const ok: number[] = [];
  for (let i = 0; i < n; i++) {
    const c = Math.fround(0.1 + 0.9 * rand() ** 0.5);
    conf.push(c);
    ok.push(rand() < 0.2 + 0.6 * c ? 1 : 0); // under-confident below c = 0.5, over-confident above
  }
  return { conf, ok };
}

describe('adaptive ECE from fine bins', () => {
  it('stays within 1e-4 of the exact sort-based value (the contract is 1e-3)', () => {
    let worst = 0;
    for (const [n, B, seed] of [[10_000, 15, 1], [10_007, 15, 2], [999, 10, 3], [50_000, 20, 4], [7, 15, 5], [15, 15, 6], [1, 15, 7]]) {
      const { conf, ok } = mixedConfidences(n, seed);
      const fine = new FineConfidenceBins();
      conf.forEach((c, i) => fine.add(c, ok[i]));
      const exact = adaptiveEceExact(conf, ok, B);
      worst = Math.max(worst, Math.abs(fine.adaptiveEce(B) - exact));
    }
    expect(worst).toBeLessThan(1e-4);
  });

  it('differs from ECE when the calibration curve crosses the diagonal (so the test can tell them apart)', () => {
    const { conf, ok } = mixedConfidences(10_000, 1);
    const fine = new FineConfidenceBins();
    const rel = new ReliabilityBins(15);
    conf.forEach((c, i) => {
      fine.add(c, ok[i]);
      rel.add(c, ok[i]);
    });
    expect(Math.abs(fine.adaptiveEce(15) - rel.result().ece)).toBeGreaterThan(5e-4); // 10× the streaming error bound above
  });

  it('NaN with a NaN confidence or no rows', () => {
    const fine = new FineConfidenceBins();
    expect(fine.adaptiveEce(15)).toBeNaN();
    fine.add(0.5, 1);
    fine.add(NaN, 0);
    expect(fine.adaptiveEce(15)).toBeNaN();
  });
});

describe('rmsce and debiasedL2', () => {
  it('a bin of one row adds to RMSCE but not to the debiased estimate; the estimate is clamped at 0', () => {
    const r = new ReliabilityBins(2);
    r.add(0.9, 0); // bin 1, one row
    r.add(0.2, 1); // bin 0, two rows: acc 1/2, conf 0.25
    r.add(0.3, 0);
    const { rmsce, debiasedL2 } = binnedErrors(r);
    expect(rmsce).toBeCloseTo(Math.sqrt((1 / 3) * 0.81 + (2 / 3) * 0.0625), 15);
    expect(debiasedL2).toBe(0); // (2/3)(0.0625 − 0.25) < 0 → 0
  });
});

describeEachBackend('ScoreAccumulator: calibration errors', (lk) => {
  const C = 6;
  const R = 1200;
  const rand = rng(17);
  const x = Float32Array.from({ length: R * C }, () => (rand() - 0.5) * 5);
  const y = Int32Array.from({ length: R }, (_, r) => (rand() < 0.5 ? Math.floor(rand() * C) : 0));

  it('match the float64 reference and merge exactly across shards', () => {
    const whole = new ScoreAccumulator(C);
    whole.addBlock(lk(), x, y);
    const p = Float64Array.from(lk().softmax(x, C));
    const want = refErrors(p, C, y, 15);
    const got = whole.summary().calibration;
    for (const key of ['classwiseEce', 'rmsce', 'debiasedL2'] as const) expect(Math.abs(got[key] - want[key]), key).toBeLessThan(1e-9);
    expect(Math.abs(got.adaptiveEce - want.adaptiveEce)).toBeLessThan(1e-3);
    expect(got.ece).toBe(whole.summary().ece);

    let merged: ScoreAccumulator | null = null;
    for (const [a, b] of [[0, 500], [500, 501], [501, R]]) {
      const part = new ScoreAccumulator(C);
      part.addBlock(lk(), x.subarray(a * C, b * C), y.subarray(a, b));
      const back = ScoreAccumulator.fromStats(JSON.parse(JSON.stringify(part.toStats())));
      merged = merged ? merged.merge(back) : back;
    }
    const m = merged!.summary().calibration;
    for (const key of Object.keys(got) as (keyof typeof got)[]) expect(Math.abs(m[key] - got[key]), key).toBeLessThan(1e-12);
  });
});

describe('logitkit score on the bundled samples', () => {
  const root = join(import.meta.dirname, '..');
  // numpy, float64 softmax of the float32 logits; np.array_split over a stable argsort for adaptive ECE.
  for (const [name, want] of [
    ['', { adaptiveEce: 0.05371629960966926, classwiseEce: 0.012427465571947403, rmsce: 0.0749014602338069, debiasedL2: 0.07328626084685468 }],
    ['lenet-', { adaptiveEce: 0.10788788182459551, classwiseEce: 0.024060109033105348, rmsce: 0.11318448799201347, debiasedL2: 0.11209114878996537 }],
  ] as const) {
    it(`${name || 'wideresnet-'}logits.npy: the four figures agree with numpy`, () => {
      const r = spawnSync(process.execPath, [join(root, 'bin', 'logitkit.js'), 'score', `data/sample/${name}logits.npy`, '--labels', `data/sample/${name}labels.npy`, '--json'], {
        cwd: root,
        encoding: 'utf8',
      });
      expect(r.status, r.stderr).toBe(0);
      const cal = JSON.parse(r.stdout).calibration;
      for (const [k, v] of Object.entries(want)) expect(Math.abs(cal[k] - v), k).toBeLessThan(1e-6);
    });
  }
});
