/**
 * Batch-position invariance (issue 11.2): every row-wise op returns the same bits for a row
 * wherever it sits in a batch — alone, first, last, inside a whole or a partial group of four
 * short rows — on every wasm build (simd128; relaxed SIMD where it validates; the threads
 * build with 2 threads, on batches big enough to be split between them).
 *
 * Runs in every configuration of the test matrix (vitest.config.ts): js, wasm simd128, wasm
 * relaxed, threads 2 — the last also on batches big enough to be split between the threads.
 *
 * A row R is evaluated alone, then placed at every position of batches of 1..9 rows of other
 * random rows, for widths on both sides of the short-row cut-off (32 classes) and of the
 * vector width (1, 3, 4, 5, 15, 16, 17, 31, 32, 33, 1000). NaN results must be NaN in both
 * (the kernels write the canonical NaN, but a NaN's bits are the engine's; see threads.test.ts).
 */
import { beforeAll, expect, it } from 'vitest';
import { describeEachBackend, describeFor, engineFor } from './helpers/backends.js';
import type { Engine } from '../src/engine.js';
import { randomLogits } from './helpers/random.js';

type Rows = { data: ArrayLike<number>; perRow: number };
/** A row-wise op: the per-row results of rows × classes logits x (q: a second logits batch). */
type Op = (lk: Engine, x: Float32Array, rows: number, classes: number, q: Float32Array) => Rows;

const targetsOf = (rows: number, classes: number, x: Float32Array): Int32Array =>
  // A target that depends only on the row's own values, so it moves with the row.
  Int32Array.from({ length: rows }, (_, r) => Math.abs(Math.floor((x[r * classes]! * 1000) % classes)) % classes);

const OPS: Record<string, Op> = {
  softmax: (lk, x, _r, c) => ({ data: lk.softmax(x, c), perRow: c }),
  'softmax T=0.7': (lk, x, _r, c) => ({ data: lk.softmax(x, c, { temperature: 0.7 }), perRow: c }),
  logSoftmax: (lk, x, _r, c) => ({ data: lk.logSoftmax(x, c), perRow: c }),
  logsumexp: (lk, x, _r, c) => ({ data: lk.logsumexp(x, c), perRow: 1 }),
  'logsumexp T=1.7': (lk, x, _r, c) => ({ data: lk.logsumexp(x, c, { temperature: 1.7 }), perRow: 1 }),
  sigmoid: (lk, x, _r, c) => ({ data: lk.sigmoid(x), perRow: c }),
  logSigmoid: (lk, x, _r, c) => ({ data: lk.logSigmoid(x), perRow: c }),
  argmax: (lk, x, _r, c) => ({ data: lk.argmax(x, c), perRow: 1 }),
  topk: (lk, x, _r, c) => {
    const k = Math.min(3, c);
    const t = lk.topk(x, c, k);
    return { data: [...t.values].flatMap((v, i) => [v, t.indices[i]!]), perRow: 2 * k };
  },
  adjustLogits: (lk, x, _r, c) => ({
    data: lk.adjustLogits(x, c, { temperature: 1.3, scale: Float32Array.from({ length: c }, (_, j) => 0.5 + j / c), bias: Float32Array.from({ length: c }, (_, j) => j / 7) }),
    perRow: c,
  }),
  "crossEntropy 'none'": (lk, x, r, c) => ({ data: lk.crossEntropy(x, c, targetsOf(r, c, x), { reduction: 'none' }), perRow: 1 }),
  "crossEntropy 'none' smoothing + weight": (lk, x, r, c) => ({
    data: lk.crossEntropy(x, c, targetsOf(r, c, x), { reduction: 'none', labelSmoothing: 0.1, weight: Float32Array.from({ length: c }, (_, j) => 1 + (j % 3)) }),
    perRow: 1,
  }),
  "crossEntropyWithGrad 'sum' (grad)": (lk, x, r, c) => ({ data: lk.crossEntropyWithGrad(x, c, targetsOf(r, c, x), { reduction: 'sum' }).grad, perRow: c }),
  "crossEntropyWithGrad 'sum' smoothing (grad)": (lk, x, r, c) => ({
    data: lk.crossEntropyWithGrad(x, c, targetsOf(r, c, x), { reduction: 'sum', labelSmoothing: 0.1 }).grad,
    perRow: c,
  }),
  "crossEntropy soft targets 'none'": (lk, x, r, c, q) => ({ data: lk.crossEntropy(x, c, lk.softmax(q, c), { reduction: 'none' }), perRow: 1 }),
  "bceWithLogits 'none'": (lk, x, _r, c, q) => ({ data: lk.bceWithLogits(x, lk.sigmoid(q), { reduction: 'none' }), perRow: c }),
  "bceWithLogits 'none' posWeight": (lk, x, _r, c, q) => ({
    data: lk.bceWithLogits(x, lk.sigmoid(q), { reduction: 'none', classes: c, posWeight: Float32Array.from({ length: c }, (_, j) => 0.5 + j) }),
    perRow: c,
  }),
  entropy: (lk, x, _r, c) => ({ data: lk.entropy(x, c), perRow: 1 }),
  klDiv: (lk, x, _r, c, q) => ({ data: lk.klDiv(x, q, c), perRow: 1 }),
};

const WIDTHS = [1, 3, 4, 5, 15, 16, 17, 31, 32, 33, 1000];

/** Logits with a few special values, so that NaN / ±inf rows are covered too. */
function logits(rows: number, classes: number, seed: number): Float32Array {
  const x = randomLogits(rows, classes, 3, seed);
  if (seed % 5 === 0) x[(seed * 7) % x.length] = -Infinity;
  if (seed % 11 === 0) x[(seed * 3) % x.length] = NaN;
  return x;
}

/** Row r of the results (only that row copied: the threads cases take 9 rows of 200,000-element results). */
function rowOf(res: Rows, r: number): number[] {
  const out: number[] = [];
  for (let i = r * res.perRow; i < Math.min((r + 1) * res.perRow, res.data.length); i++) out.push(res.data[i]!);
  return out;
}

/** Same bits (a NaN only has to be NaN). */
function expectSameRow(got: number[], want: number[], what: string): void {
  // expect only where it fails, as for the bits below: ~28,000 rows are compared per configuration
  if (got.length !== want.length) expect(got.length, what).toBe(want.length);
  const f = new Float32Array(2);
  const u = new Uint32Array(f.buffer);
  for (let i = 0; i < want.length; i++) {
    const a = got[i]!;
    const b = want[i]!;
    if (Number.isNaN(a) || Number.isNaN(b)) {
      expect(Number.isNaN(a) && Number.isNaN(b), `${what} [${i}]: ${a} vs ${b}`).toBe(true);
      continue;
    }
    f[0] = a;
    f[1] = b;
    if (u[0] !== u[1] || Object.is(a, -0) !== Object.is(b, -0)) expect(a, `${what} [${i}]`).toBe(b);
  }
}

function checkPositions(lk: () => Engine, name: string, op: Op, classes: number): void {
  for (let seed = 1; seed <= 3; seed++) {
    const row = logits(1, classes, 1000 * classes + seed);
    const rowQ = logits(1, classes, 2000 * classes + seed);
    const alone = rowOf(op(lk(), row, 1, classes, rowQ), 0);
    for (let rows = 1; rows <= 9; rows++) {
      for (let at = 0; at < rows; at++) {
        const x = logits(rows, classes, 31 * rows + at + seed);
        const q = logits(rows, classes, 57 * rows + at + seed);
        x.set(row, at * classes);
        q.set(rowQ, at * classes);
        expectSameRow(rowOf(op(lk(), x, rows, classes, q), at), alone, `${name}, ${classes} classes, row ${at} of ${rows}`);
      }
    }
  }
}

// Every configuration of the test matrix (js, wasm simd128, wasm relaxed, threads 2): the
// configuration's engine, checked against it by describeEachBackend.
describeEachBackend('batch position', (lk) => {
  for (const [name, op] of Object.entries(OPS)) {
    it(name, () => {
      for (const classes of WIDTHS) checkPositions(lk, name, op, classes);
    });
  }
});

describeFor('threads 2', 'batch position: wasm threads 2 (batches split between the threads)', () => {
  let lk: Engine;
  beforeAll(async () => {
    lk = await engineFor('wasm');
    expect(lk.features.threads).toBe(2);
  });
  // Big enough that every op's call is split (≥ 32k elements a thread); a few rows, spread
  // over the batch and both halves, are compared with the same row evaluated alone.
  for (const classes of [3, 16, 17, 33, 1000]) {
    it(`every op, ${classes} classes`, () => {
      const rows = Math.ceil(200_000 / classes) | 1;
      const x = logits(rows, classes, 77 + classes);
      const q = logits(rows, classes, 91 + classes);
      const picks = [0, 1, 2, 3, (rows >> 1) - 1, rows >> 1, (rows >> 1) + 1, rows - 2, rows - 1];
      for (const [name, op] of Object.entries(OPS)) {
        const batch = op(lk, x, rows, classes, q);
        for (const r of picks) {
          const row = x.slice(r * classes, (r + 1) * classes);
          const rowQ = q.slice(r * classes, (r + 1) * classes);
          expectSameRow(rowOf(batch, r), rowOf(op(lk, row, 1, classes, rowQ), 0), `${name}, ${classes} classes, row ${r} of ${rows}`);
        }
      }
    });
  }
});
