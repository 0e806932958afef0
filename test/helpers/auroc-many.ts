// The AUROC-above-32-classes check shared by auroc-many.test.ts (100 classes, both backends) and
// auroc-many-1000.test.ts (1000 classes, wasm): split in two files so the slow 1000-class cases run
// beside the rest of the suite instead of after it.
import { expect } from 'vitest';
import { AurocCounts } from '../../src/metrics/auroc.js';
import type { Engine } from '../../src/index.js';
import { normal, rng } from './random.js';
import { cachedFixture } from './fixture-cache.js';

/** Exact one-vs-rest AUROC of every class: per class, sort both kinds' scores and count pairs (ties ½). */
export function exactPerClass(p: Float64Array, y: Int32Array, K: number): (number | null)[] {
  const N = y.length;
  const out: (number | null)[] = [];
  const count = new Float64Array(K);
  for (let r = 0; r < N; r++) if (y[r]! >= 0 && y[r]! < K) count[y[r]!]++;
  // Classes a tile at a time, each one's column copied out row by row: read with stride K, class after
  // class, every read missed the cache (~2 s of 3.5 s at 1000 classes × 20000 rows). The same values in
  // the same order, so the same sums.
  const TILE = 64;
  const cols = new Float64Array(Math.min(TILE, K) * N);
  for (let k0 = 0; k0 < K; k0 += TILE) {
    const w = Math.min(TILE, K - k0);
    for (let r = 0; r < N; r++) for (let j = 0; j < w; j++) cols[j * N + r] = p[r * K + k0 + j]!;
    for (let j = 0; j < w; j++) out.push(exactOfColumn(cols.subarray(j * N, (j + 1) * N), y, k0 + j, count[k0 + j]!));
  }
  return out;
}

/** One class's exact AUROC from its column of scores (P of them its positives). */
function exactOfColumn(col: Float64Array, y: Int32Array, k: number, P: number): number | null {
  const N = y.length;
  if (P === 0 || P === N) return null;
  const pos = new Float64Array(P);
  const neg = new Float64Array(N - P);
  let a = 0;
  let b = 0;
  for (let r = 0; r < N; r++) (y[r] === k ? (pos[a++] = col[r]!) : (neg[b++] = col[r]!));
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
  return pairs / (P * (N - P));
}

/**
 * A classifier's logits: noise of deviation `noise`, the true class raised by `signal`·u (u uniform),
 * K classes. A tiny noise and signal make a near-uniform model: every p_k within about 1% of 1/K, both
 * kinds of rows crowded into two or three bins, positives only slightly above the negatives.
 */
export function data(N: number, K: number, signal: number, seed: number, noise = 1) {
  const r = rng(seed);
  const y = Int32Array.from({ length: N }, () => Math.floor(r() * K));
  const x = new Float32Array(N * K);
  const p = new Float64Array(N * K);
  for (let i = 0; i < N; i++) {
    let m = -Infinity;
    for (let j = 0; j < K; j++) {
      x[i * K + j] = noise * normal(r) + (j === y[i] ? signal * r() : 0);
      m = Math.max(m, x[i * K + j]);
    }
    let s = 0;
    for (let j = 0; j < K; j++) s += (p[i * K + j] = Math.exp(x[i * K + j] - m));
    for (let j = 0; j < K; j++) p[i * K + j] /= s;
  }
  return { x, y, p };
}

// Error comes from pairs sharing a bin, and is noisiest with few positives and where both kinds crowd
// into few bins. The worst class of all K, measured with the within-bin estimate from positions (in
// brackets: counting every same-bin pair ½, the method before it):
//   100 classes, signal 2:                           9.6e-6 (4.8e-5)
//   1000 classes (20 positives a class), signal 6/8: 3.0e-5 / 2.6e-5 (1.07e-4 / 1.01e-4)
//   near-uniform, p_k within ~10% of 1/K (noise 0.05, signal 0.2): 100 classes 5.2e-5 (5.6e-4),
//     1000 classes 3.6e-4
//   near-uniform, p_k within ~2% of 1/K (noise 0.02, signal 0.05), 100 classes: 1.7e-4 (2.5e-3)
//   near-uniform, p_k within ~0.5% of 1/K, two or three bins (noise 0.005, signal 0.01):
//     100 classes 7.4e-4 (1.4e-2), 1000 classes 4.7e-3 — the README's limit; errorBound says so.

/**
 * data(N, K, signal, K, noise)'s logits and labels and their exact per-class AUROC, built once per run
 * (helpers/fixture-cache.ts): auroc-many.test.ts checks the same data on both backends, and .ci/run's
 * later Node versions read what the first built. At 1000 classes × 20000 rows the data and the sorts
 * cost ~4 s a case.
 */
function dataAndExact(N: number, K: number, signal: number, noise: number): { x: Float32Array; y: Int32Array; exact: (number | null)[] } {
  const sources = [new URL(import.meta.url), new URL('./random.ts', import.meta.url)];
  const f = cachedFixture('auroc-many', sources, [N, K, signal, noise], () => {
    const { x, y, p } = data(N, K, signal, K, noise);
    // null (a class with no positives or no negatives) as NaN, which no AUROC is
    return { x, y, exact: Float64Array.from(exactPerClass(p, y, K), (v) => v ?? NaN) };
  });
  return { x: f.x, y: f.y, exact: Array.from(f.exact, (v) => (Number.isNaN(v) ? null : v)) };
}

/**
 * K classes × N rows of data(…, signal, noise): every class within tol of the exact AUROC and within its
 * errorBound, merged exactly through encoded statistics in any split, within the README's memory.
 */
export function checkAurocMany(lk: () => Engine, K: number, N: number, signal: number, noise: number, tol: number): void {
  const { x, y, exact } = dataAndExact(N, K, signal, noise);
  const p32 = lk().softmax(x, K);
  const support = new Float64Array(K);
  for (const v of y) support[v]++;
  const whole = new AurocCounts(K);
  whole.addBlock(lk(), p32, y);
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
  // where the error can pass 1e-4 the reported bound must say so
  if (tol > 1e-4) expect(got.errorBound).toBeGreaterThan(tol);
  const macro = exact.filter((v): v is number => v !== null);
  expect(Math.abs(got.macro - macro.reduce((a, b) => a + b, 0) / macro.length)).toBeLessThan(tol / 10);

  // shards through their encoded statistics, one cut inside a tile of rows: merged = whole, bin for bin
  const cuts = K > 100 ? [0, 4097, N] : [0, 4097, 12345, N];
  const merged = cuts
    .slice(1)
    .map((end, i) => {
      const a = new AurocCounts(K);
      a.addBlock(lk(), p32.subarray(cuts[i] * K, end * K), y.subarray(cuts[i], end));
      const back = new AurocCounts(K);
      expect(back.addEncoded(JSON.parse(JSON.stringify(a.encode())))).toBe(true);
      return back;
    })
    .reduce((a, b) => (a.merge(b), a));
  const wholeEncoded = whole.encode();
  expect(merged.encode()).toBe(wholeEncoded);
  expect(merged.report(support)).toEqual(got);

  // the README's bounds: 128 KiB of all-rows counts and position sums per class plus 4 KiB per page
  // of positives
  expect(whole.bytes).toBeGreaterThanOrEqual(K * 16386 * 8);
  expect(whole.bytes).toBeLessThan(K * 16386 * 8 * 1.5);
  expect(wholeEncoded.length).toBeLessThan(K * 16386 * 3);
}
