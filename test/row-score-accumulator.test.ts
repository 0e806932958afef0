// lk.rowScoreAccumulator: the fused wasm kernel (assembly/kernels/score.ts scoreRows, both builds and
// the threaded engine) and the JS reference against a float64 computation from the definition, with
// top-k hits checked against lk.topk's indices; edge rows (NaN, ±inf, all −inf, ties, huge offsets,
// an infinite NLL), 1 class, widths that are not multiples of 4, wide rows, blocks split anywhere;
// and the argument errors.
import { describe, expect, it } from 'vitest';
import { init, ROW_SCORE_FINE_BINS, type Engine, type RowScoreSums } from '../src/index.js';
import { relaxedSimdSupported } from '../src/init.js';
import { binOf } from '../src/options.js';
import { engineOf, type Configuration } from './helpers/backends.js';
import { codeOf } from './helpers/checks.js';
import { rng } from './helpers/random.js';
import { block } from './helpers/score-rows.js';

/** The sums from the definition, in float64, row by row; top-k hits from the js engine's topk. */
function definition(ref: Engine, x: Float32Array, labels: Int32Array, C: number, M: number, k: number, p: Float32Array, lp: Float32Array, pred: Int32Array): RowScoreSums {
  const R = labels.length;
  const F = ROW_SCORE_FINE_BINS;
  const z = (n: number) => new Float64Array(n);
  const s: RowScoreSums = {
    classes: C, bins: M, k, rows: R, nanRows: 0, classwiseNanRows: 0, nllSum: 0, correct: 0, topkCorrect: 0, brierSum: 0, entropySum: 0,
    binCount: z(M), binConf: z(M), binCorrect: z(M), fineCount: z(F), fineConf: z(F), fineCorrect: z(F),
    support: z(C), classCorrect: z(C), predicted: z(C), probSum: z(C), logitSum: z(C), classwiseCount: z(C * M), classwiseProb: z(C * M), classwisePositives: z(C * M),
  };
  const top = ref.topk(x, C, k).indices;
  for (let r = 0; r < R; r++) {
    const o = r * C;
    const y = labels[r]!;
    const c = pred[r]!;
    const hit = c === y ? 1 : 0;
    s.nllSum -= lp[o + y]!;
    s.correct += hit;
    s.classCorrect[y] += hit;
    s.support[y] += 1;
    s.predicted[c] += 1;
    for (let j = 0; j < k; j++) if (top[r * k + j] === y) s.topkCorrect++;
    const conf = p[o + c]!;
    if (conf !== conf) s.nanRows++;
    else {
      s.binCount[binOf(conf, M)] += 1;
      s.binConf[binOf(conf, M)] += conf;
      s.binCorrect[binOf(conf, M)] += hit;
      s.fineCount[binOf(conf, F)] += 1;
      s.fineConf[binOf(conf, F)] += conf;
      s.fineCorrect[binOf(conf, F)] += hit;
    }
    if (p[o] !== p[o]) s.classwiseNanRows++;
    else s.classwisePositives[y * M + binOf(p[o + y]!, M)] += 1;
    let brier = 0;
    for (let j = 0; j < C; j++) {
      const pj = p[o + j]!;
      brier += (pj - (j === y ? 1 : 0)) ** 2;
      if (pj !== 0 || lp[o + j] !== -Infinity) s.entropySum -= pj * lp[o + j]!;
      s.probSum[j] += pj;
      s.logitSum[j] += x[o + j]!;
      if (p[o] === p[o]) {
        s.classwiseCount[j * M + binOf(pj, M)] += 1;
        s.classwiseProb[j * M + binOf(pj, M)] += pj;
      }
    }
    s.brierSum += brier;
  }
  return s;
}

const COUNTS = ['rows', 'nanRows', 'classwiseNanRows', 'correct', 'topkCorrect'] as const;
const COUNT_ARRAYS = ['binCount', 'binCorrect', 'fineCount', 'fineCorrect', 'support', 'classCorrect', 'predicted', 'classwiseCount', 'classwisePositives'] as const;
const SUMS = ['nllSum', 'brierSum', 'entropySum'] as const;
const SUM_ARRAYS = ['binConf', 'fineConf', 'probSum', 'logitSum', 'classwiseProb'] as const;

function close(a: number, b: number, tol: number): boolean {
  if (a !== a || b !== b) return a !== a && b !== b;
  if (a === b) return true;
  return Math.abs(a - b) <= tol * Math.max(Math.abs(a), Math.abs(b));
}

function expectSums(got: RowScoreSums, want: RowScoreSums, tol: number): void {
  for (const key of COUNTS) expect(got[key], key).toBe(want[key]);
  for (const key of COUNT_ARRAYS) {
    let bad = 0;
    for (let i = 0; i < want[key].length; i++) if (got[key][i] !== want[key][i]) bad++;
    expect(bad, `${key}: cells that differ`).toBe(0);
  }
  for (const key of SUMS) expect(close(got[key], want[key], tol), `${key}: ${got[key]} vs ${want[key]}`).toBe(true);
  for (const key of SUM_ARRAYS) {
    let bad = '';
    for (let i = 0; i < want[key].length; i++) if (!close(got[key][i]!, want[key][i]!, tol)) bad ||= `[${i}] ${got[key][i]} vs ${want[key][i]}`;
    expect(bad, key).toBe('');
  }
}

const CONFIGS: Configuration[] = ['js', 'wasm simd128', ...(relaxedSimdSupported() ? (['wasm relaxed'] as const) : []), 'threads 2'];

describe('lk.rowScoreAccumulator', () => {
  const cases: [rows: number, C: number, k: number, M: number][] = [
    [1, 1, 5, 15], [9, 2, 1, 15], [20, 3, 2, 10], [33, 4, 5, 15], [40, 5, 3, 7], [50, 7, 5, 15], [300, 100, 5, 15], [12, 1031, 5, 15],
  ];
  for (const config of CONFIGS) {
    for (const [rows, C, k, M] of cases) {
      it(`[${config}] ${rows} rows × ${C} classes, top-${k}, ${M} bins: the definition's counts exactly and sums within 1e-12, in two blocks`, async () => {
        const lk = await engineOf(config);
        const ref = await engineOf('js');
        const { x, labels } = block(rows, C, rows * 31 + C);
        const T = C === 7 ? 1.7 : 1;
        const p = lk.softmax(x, C, { temperature: T });
        const lp = lk.logSoftmax(x, C, { temperature: T });
        const pred = lk.argmax(x, C);
        const acc = lk.rowScoreAccumulator({ classes: C, bins: M, topk: k });
        const cut = Math.floor(rows / 2);
        const part = (a: number, b: number) => acc.add({ x: x.subarray(a * C, b * C), p: p.subarray(a * C, b * C), lp: lp.subarray(a * C, b * C), labels: labels.subarray(a, b), pred: pred.subarray(a, b) });
        const one = part(0, cut);
        const two = part(cut, rows);
        // per row: hit, NLL, confidence
        for (let r = 0; r < rows; r++) {
          const h = r < cut ? one.hit[r] : two.hit[r - cut];
          const l = r < cut ? one.nll[r] : two.nll[r - cut];
          const c = r < cut ? one.conf[r] : two.conf[r - cut];
          expect(h).toBe(pred[r] === labels[r] ? 1 : 0);
          expect(Object.is(l, -lp[r * C + labels[r]!]!) || (l !== l && lp[r * C + labels[r]!] !== lp[r * C + labels[r]!])).toBe(true);
          expect(Object.is(c, p[r * C + pred[r]!]!) || (c !== c && p[r * C + pred[r]!] !== p[r * C + pred[r]!])).toBe(true);
        }
        const got = acc.take();
        expectSums(got, definition(ref, x, labels, C, M, Math.min(k, C), p, lp, pred), 1e-12);
        expect(got.k).toBe(Math.min(k, C));
        // the edge rows did what they should: rows 1-3 NaN, so NaN sums
        if (rows > 3) {
          expect(got.nanRows).toBe(rows > 8 ? 4 : 3);
          expect(Number.isNaN(got.brierSum)).toBe(true);
        }
      });
    }
  }

  it('wasm and js agree on the same 3000 rows × 100 classes of plain logits (counts identical, sums within 1e-12)', async () => {
    const engines = [await engineOf('js'), await engineOf('wasm simd128')];
    const r = rng(7);
    const C = 100;
    const x = Float32Array.from({ length: 3000 * C }, () => 4 * r());
    const labels = Int32Array.from({ length: 3000 }, () => Math.floor(r() * C));
    // the same inputs to both (each backend's own softmax may differ in the last bit, moving fine bins)
    const js = engines[0]!;
    const rowsIn = { x, p: js.softmax(x, C), lp: js.logSoftmax(x, C), labels, pred: js.argmax(x, C) };
    const [a, b] = engines.map((lk) => {
      const acc = lk.rowScoreAccumulator({ classes: C });
      acc.add(rowsIn);
      return acc.take();
    });
    expectSums(b!, a!, 1e-12);
    expect(a!.topkCorrect).toBeGreaterThan(a!.correct); // top-5 counts more than top-1 here
  });

  it('refuses bad arguments with coded errors, and keeps working', async () => {
    const lk = await init({ backend: 'wasm' });
    const code = codeOf;
    expect(code(() => lk.rowScoreAccumulator({ classes: 0 }))).toBe('invalid_argument');
    expect(code(() => lk.rowScoreAccumulator({ classes: 3, topk: 0 }))).toBe('invalid_k');
    expect(code(() => lk.rowScoreAccumulator({ classes: 3, bins: 0 }))).toBe('invalid_bins');
    expect(code(() => lk.rowScoreAccumulator(null as never))).toBe('invalid_argument');
    const acc = lk.rowScoreAccumulator({ classes: 3, topk: 2 });
    const x = Float32Array.of(1, 2, 3, 3, 2, 1);
    const good = { x, p: lk.softmax(x, 3), lp: lk.logSoftmax(x, 3), labels: Int32Array.of(2, 1), pred: lk.argmax(x, 3) };
    expect(code(() => acc.add({ ...good, x: new Float32Array(5) }))).toBe('shape_mismatch');
    expect(code(() => acc.add({ ...good, p: new Float32Array(3) }))).toBe('shape_mismatch');
    expect(code(() => acc.add({ ...good, lp: [1, 2] as never }))).toBe('invalid_argument');
    expect(code(() => acc.add({ ...good, labels: Int32Array.of(2, 3) }))).toBe('target_out_of_range');
    expect(code(() => acc.add({ ...good, pred: Int32Array.of(-1, 0) }))).toBe('target_out_of_range');
    expect(code(() => acc.add({ ...good, labels: Int32Array.of(2) }))).toBe('shape_mismatch');
    expect(code(() => acc.add(good, { hit: new Uint8Array(1) }))).toBe('invalid_argument');
    const rows = acc.add(good, { conf: new Float32Array(2) });
    expect(Array.from(rows.hit)).toEqual([1, 0]);
    const s = acc.take();
    expect([s.rows, s.correct, s.topkCorrect]).toEqual([2, 1, 2]);
    expect(code(() => acc.add(good))).toBe('invalid_argument');
    expect(code(() => acc.take())).toBe('invalid_argument');
    expect(lk.rowScoreAccumulator({ classes: 3 }).add(good).hit.length).toBe(2);
  });
});
