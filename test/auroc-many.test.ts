// AUROC above 32 classes: the compact counts (a Uint32 histogram of all rows per class, positives in
// pages) at 100 and 1000 classes against the exact rank-based AUROC computed here by sorting in float64,
// merged exactly through JSON, with the memory and statistics size the README states.
import { describe, expect, it } from 'vitest';
import { AUROC_MAX_CLASSES, AurocCounts } from '../src/metrics/auroc.js';
import { ScoreAccumulator } from '../src/metrics/summary.js';
import { describeEachBackend } from './helpers/backends.js';
import { normal, rng } from './helpers/random.js';

/** Exact one-vs-rest AUROC of every class: per class, sort both kinds' scores and count pairs (ties ½). */
function exactPerClass(p: Float64Array, y: Int32Array, K: number): (number | null)[] {
  const N = y.length;
  const out: (number | null)[] = [];
  for (let k = 0; k < K; k++) {
    let P = 0;
    for (let r = 0; r < N; r++) if (y[r] === k) P++;
    if (P === 0 || P === N) {
      out.push(null);
      continue;
    }
    const pos = new Float64Array(P);
    const neg = new Float64Array(N - P);
    let a = 0;
    let b = 0;
    for (let r = 0; r < N; r++) (y[r] === k ? (pos[a++] = p[r * K + k]) : (neg[b++] = p[r * K + k]));
    pos.sort();
    neg.sort();
    let pairs = 0;
    let lo = 0; // negatives strictly below pos[i]
    let hi = 0; // negatives at most pos[i]
    for (let i = 0; i < P; i++) {
      while (lo < neg.length && neg[lo] < pos[i]) lo++;
      while (hi < neg.length && neg[hi] <= pos[i]) hi++;
      pairs += lo + 0.5 * (hi - lo);
    }
    out.push(pairs / (P * (N - P)));
  }
  return out;
}

/** A classifier's logits: noise, the true class raised by `signal`·u (u uniform), K classes. */
function data(N: number, K: number, signal: number, seed: number) {
  const r = rng(seed);
  const y = Int32Array.from({ length: N }, () => Math.floor(r() * K));
  const x = new Float32Array(N * K);
  const p = new Float64Array(N * K);
  for (let i = 0; i < N; i++) {
    let m = -Infinity;
    for (let j = 0; j < K; j++) {
      x[i * K + j] = normal(r) + (j === y[i] ? signal * r() : 0);
      m = Math.max(m, x[i * K + j]);
    }
    let s = 0;
    for (let j = 0; j < K; j++) s += (p[i * K + j] = Math.exp(x[i * K + j] - m));
    for (let j = 0; j < K; j++) p[i * K + j] /= s;
  }
  return { x, y, p };
}

describeEachBackend('AUROC above 32 classes', (lk, backend) => {
  // Error comes from pairs sharing a bin, and is noisiest with few positives: at 1000 classes × 20,000
  // rows (20 positives a class) the worst of the 1000 classes measured 1.07e-4 (signal 6) and 1.01e-4
  // (signal 8), the macro average within 1e-5; at 100 classes (200 positives) the worst was 4.7e-5.
  // The counting is the same JS on both backends (only the softmax differs): the slow 1000-class case
  // runs once.
  const cases = [[100, 20000, 2, 1e-4], ...(backend === 'wasm' ? [[1000, 20000, 6, 2e-4]] : [])] as const;
  for (const [K, N, signal, tol] of cases) {
    it(`${K} classes × ${N} rows, signal ${signal}: every class within ${tol} of the exact AUROC (and its errorBound); merges exactly in any split`, () => {
      const { x, y, p } = data(N, K, signal, K);
      const exact = exactPerClass(p, y, K);
      const p32 = lk().softmax(x, K);
      const support = new Float64Array(K);
      for (const v of y) support[v]++;
      const whole = new AurocCounts(K);
      whole.addBlock(p32, y);
      const got = whole.report(support);
      let worst = 0;
      let compared = 0;
      for (let k = 0; k < K; k++) {
        if (exact[k] === null) {
          expect(got.perClass[k]).toBeNull();
          continue;
        }
        const err = Math.abs(got.perClass[k]! - exact[k]!);
        worst = Math.max(worst, err);
        expect(err).toBeLessThanOrEqual(got.errorBound + 1e-12);
        compared++;
      }
      expect(compared).toBeGreaterThan(0.9 * K);
      expect(worst).toBeLessThan(tol);
      const macro = exact.filter((v): v is number => v !== null);
      expect(Math.abs(got.macro - macro.reduce((a, b) => a + b, 0) / macro.length)).toBeLessThan(1e-5);

      // shards through their encoded statistics, one cut inside a tile of rows: merged = whole, bin for bin
      const cuts = [0, 4097, 12345, N];
      const merged = cuts
        .slice(1)
        .map((end, i) => {
          const a = new AurocCounts(K);
          a.addBlock(p32.subarray(cuts[i] * K, end * K), y.subarray(cuts[i], end));
          const back = new AurocCounts(K);
          expect(back.addEncoded(JSON.parse(JSON.stringify(a.encode())))).toBe(true);
          return back;
        })
        .reduce((a, b) => (a.merge(b), a));
      expect(merged.encode()).toBe(whole.encode());
      expect(merged.report(support)).toEqual(got);

      // the README's bounds: 64 KiB of all-rows counts per class plus 2 KiB per page of positives
      expect(whole.bytes).toBeGreaterThanOrEqual(K * 16386 * 4);
      expect(whole.bytes).toBeLessThan(K * 16386 * 4 * 1.5);
      expect(whole.encode().length).toBeLessThan(K * 16386 * 2);
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
