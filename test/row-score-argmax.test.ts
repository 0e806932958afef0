// pred of rowScoreAccumulator.add({ x, labels }) — for long rows at T = 1 taken from the row pass's own
// max (assembly/kernels/score.ts scoreLogitsChunk, select.ts argmaxRowOfMax) — against lk.argmax and a
// plain reference of SEMANTICS §8 (first NaN, else the first maximum; −0 ties +0; all −inf → 0), on
// rows built to catch a wrong index: NaN first / middle / last / after the maximum, all NaN, NaN with
// −inf, ties inside a vector and across the 16-value steps, −0 / +0 ties both ways, +inf, all −inf,
// the maximum in the row's tail, subnormals, float32's largest values, and random rows with and without
// many ties, at widths on both sides of the short-row limit and of every vector step.
import { describe, expect, it } from 'vitest';
import { relaxedSimdSupported } from '../src/init.js';
import { engineOf, type Configuration } from './helpers/backends.js';
import { rng } from './helpers/random.js';

/** SEMANTICS §8's argmax of one row, written out. */
function reference(x: Float32Array, at: number, C: number): number {
  for (let j = 0; j < C; j++) if (Number.isNaN(x[at + j])) return j;
  let best = 0;
  for (let j = 1; j < C; j++) if (x[at + j]! > x[at + best]!) best = j;
  return best;
}

const F32_MAX = 3.4028234663852886e38;
/** Edge rows as functions of (j, C); each is written at every width. */
const EDGE: Array<[string, (j: number, C: number) => number]> = [
  ['NaN first', (j) => (j === 0 ? NaN : j)],
  ['NaN middle', (j, C) => (j === C >> 1 ? NaN : j)],
  ['NaN last', (j, C) => (j === C - 1 ? NaN : j)],
  ['NaN after the maximum', (j, C) => (j === 0 ? 100 : j === C - 1 ? NaN : 0)],
  ['two NaN', (j, C) => (j === C >> 1 || j === C - 1 ? NaN : 1)],
  ['all NaN', () => NaN],
  ['NaN and −inf', (j, C) => (j === C - 1 ? NaN : -Infinity)],
  ['NaN and +inf', (j, C) => (j === 0 ? Infinity : j === C - 1 ? NaN : 0)],
  ['tie middle and last', (j, C) => (j === C >> 1 || j === C - 1 ? 5 : 0)],
  ['tie across steps', (j, C) => (j === 17 % C || j === 3 % C || j === 50 % C ? 5 : -j)],
  ['tie in one vector', (j, C) => (j === 2 % C || j === 1 % C ? 5 : 0)],
  ['−0 before +0', (j, C) => (j === C >> 1 ? -0 : j === C - 1 ? 0 : -1 - j)],
  ['+0 before −0', (j, C) => (j === C >> 1 ? 0 : j === C - 1 ? -0 : -1 - j)],
  ['zeros of both signs', (j) => (j % 2 === 0 ? -0 : 0)],
  ['all −inf', () => -Infinity],
  ['+inf middle and last', (j, C) => (j === C >> 1 || j === C - 1 ? Infinity : 1)],
  ['+inf last', (j, C) => (j === C - 1 ? Infinity : 1)],
  ['−inf but the last', (j, C) => (j === C - 1 ? -3 : -Infinity)],
  ['increasing (maximum in the tail)', (j) => j],
  ['decreasing', (j) => -j],
  ['subnormal maximum', (j, C) => (j === C >> 1 ? 1e-45 : -1)],
  ['float32 max, tied', (j, C) => (j === 1 % C || j === C - 1 ? F32_MAX : -F32_MAX)],
  ['huge offset', (j) => 1e30 + j],
];

function block(C: number, seed: number): Float32Array {
  const r = rng(seed);
  const random = 400;
  const rows = EDGE.length + 2 * random;
  const x = new Float32Array(rows * C);
  EDGE.forEach(([, f], i) => {
    for (let j = 0; j < C; j++) x[i * C + j] = f(j, C);
  });
  for (let i = EDGE.length; i < rows; i++) {
    // half the random rows drawn from four values: ties at the maximum, anywhere in the row
    const few = i - EDGE.length >= random;
    for (let j = 0; j < C; j++) x[i * C + j] = few ? Math.floor(r() * 4) : 6 * (r() - 0.5);
  }
  return x;
}

const CONFIGS: Configuration[] = ['js', 'wasm simd128', ...(relaxedSimdSupported() ? (['wasm relaxed'] as const) : []), 'threads 2'];
const WIDTHS = [1, 2, 3, 4, 5, 16, 32, 33, 35, 47, 48, 63, 64, 65, 100, 129, 1000];

describe('rowScoreAccumulator.add({ x, labels }): pred', () => {
  for (const config of CONFIGS)
    it(`[${config}] is argmax's index on every edge row, widths ${WIDTHS.join(', ')}, T = 1 and 0.7`, async () => {
      const lk = await engineOf(config);
      for (const C of WIDTHS) {
        const x = block(C, 77 + C);
        const rows = x.length / C;
        const labels = new Int32Array(rows).map((_, i) => i % C);
        const want = Int32Array.from({ length: rows }, (_, i) => reference(x, i * C, C));
        expect(Array.from(lk.argmax(x, C))).toEqual(Array.from(want));
        for (const T of [1, 0.7]) {
          const { pred } = lk.rowScoreAccumulator({ classes: C }).add({ x, labels, temperature: T });
          for (let i = 0; i < EDGE.length; i++) expect([C, T, EDGE[i]![0], pred[i]]).toEqual([C, T, EDGE[i]![0], want[i]]);
          expect(Array.from(pred)).toEqual(Array.from(want));
        }
      }
    });
});
