// lk.bootstrapAccumulator: the wasm kernel (assembly/kernels/score.ts) against the JS reference and both
// against the definition (bootstrapWeight per row and replicate), whatever the blocks, with the edge
// rows (NaN confidence, infinite NLL, confidence 0 and 1), chunks past 4096 rows, rows past 2^32,
// odd replicate counts; and the argument errors.
import { describe, expect, it } from 'vitest';
import { bootstrapWeight, init, type BootstrapReplicateSums, type Engine } from '../src/index.js';
import { binOf } from '../src/options.js';
import { describeEachBackend } from './helpers/backends.js';
import { codeOf } from './helpers/checks.js';
import { rng } from './helpers/random.js';

function rows(n: number, seed: number) {
  const r = rng(seed);
  const hit = Uint8Array.from({ length: n }, () => (r() < 0.7 ? 1 : 0));
  const nll = Float64Array.from({ length: n }, () => Math.fround(-Math.log(r() + 1e-9)));
  const conf = Float32Array.from({ length: n }, () => 0.2 + 0.8 * r());
  if (n > 20) {
    conf[3] = NaN;
    nll[5] = Infinity;
    conf[6] = 0;
    conf[7] = 1;
    hit[7] = 1;
  }
  return { hit, nll, conf };
}

/** The sums from the definition, replicate by replicate in float64. */
function definition(d: ReturnType<typeof rows>, R: number, M: number, seed: number, key: number, first: number): BootstrapReplicateSums {
  const s = { replicates: R, bins: M, seed, nanRows: 0, weight: new Float64Array(R), correct: new Float64Array(R), nll: new Float64Array(R), binWeight: new Float64Array(R * M), binConf: new Float64Array(R * M), binCorrect: new Float64Array(R * M) };
  for (let i = 0; i < d.hit.length; i++) {
    const c = d.conf[i]!;
    if (c !== c) s.nanRows++;
    for (let r = 0; r < R; r++) {
      const w = bootstrapWeight(seed, key, first + i, r);
      if (w === 0) continue;
      s.weight[r] += w;
      s.correct[r] += w * d.hit[i]!;
      s.nll[r] += w * d.nll[i]!;
      if (c === c) {
        const b = r * M + binOf(c, M);
        s.binWeight[b] += w;
        s.binConf[b] += w * c;
        s.binCorrect[b] += w * d.hit[i]!;
      }
    }
  }
  return s;
}

const INTEGER = ['weight', 'correct', 'binWeight', 'binCorrect'] as const;
const FLOAT = ['nll', 'binConf'] as const;

function expectSums(got: BootstrapReplicateSums, want: BootstrapReplicateSums): void {
  expect(got.nanRows).toBe(want.nanRows);
  for (const k of INTEGER) expect(Array.from(got[k]), k).toEqual(Array.from(want[k]));
  for (const k of FLOAT) {
    expect(got[k].length).toBe(want[k].length);
    for (let i = 0; i < want[k].length; i++) {
      const a = got[k][i]!;
      const b = want[k][i]!;
      if (a !== b) expect(Math.abs(a - b), `${k}[${i}]: ${a} vs ${b}`).toBeLessThanOrEqual(1e-12 * Math.max(Math.abs(a), Math.abs(b)));
    }
  }
}

describeEachBackend('lk.bootstrapAccumulator', (lk) => {
  for (const [n, R, M] of [[1, 1, 1], [37, 3, 1], [300, 49, 15], [9001, 200, 10]] as const) {
    it(`equals the definition: ${n} rows, ${R} replicates, ${M} bins, in uneven blocks`, () => {
      const d = rows(n, n + R);
      const key = 12345;
      const first = 2 ** 32 - 17; // the row index crosses 2^32 inside the data
      const acc = lk().bootstrapAccumulator({ replicates: R, bins: M, seed: 7 });
      const cuts = [0, Math.floor(n / 3), Math.floor(n / 3) + 1, n];
      for (let j = 0; j + 1 < cuts.length; j++) {
        const [lo, hi] = [cuts[j]!, cuts[j + 1]!];
        acc.add({ hit: d.hit.subarray(lo, hi), nll: d.nll.subarray(lo, hi), conf: d.conf.subarray(lo, hi) }, { key, row: first + lo });
      }
      const want = definition(d, R, M, 7, key, first);
      expectSums(acc.sums(), want);
      if (n > 20) expect(want.nll.some((v) => v === Infinity)).toBe(true); // the infinite NLL reached some replicates
    });
  }

  it('refuses bad options and rows with coded errors, and keeps working', () => {
    expect(codeOf(() => lk().bootstrapAccumulator({ replicates: 0 }))).toBe('invalid_argument');
    expect(codeOf(() => lk().bootstrapAccumulator({ replicates: 10_001 }))).toBe('invalid_argument');
    expect(codeOf(() => lk().bootstrapAccumulator({ replicates: 5, bins: 0 }))).toBe('invalid_bins');
    expect(codeOf(() => lk().bootstrapAccumulator({ replicates: 5, seed: -1 }))).toBe('invalid_argument');
    const acc = lk().bootstrapAccumulator({ replicates: 5 });
    const d = rows(4, 1);
    expect(codeOf(() => acc.add({ ...d, nll: new Float64Array(3) }, { row: 0 }))).toBe('shape_mismatch');
    expect(codeOf(() => acc.add({ ...d, hit: Uint8Array.of(0, 1, 2, 0) }, { row: 0 }))).toBe('invalid_argument');
    expect(codeOf(() => acc.add({ ...d, conf: new Float64Array(4) as unknown as Float32Array }, { row: 0 }))).toBe('invalid_argument');
    expect(codeOf(() => acc.add(d, { row: -1 }))).toBe('invalid_argument');
    expect(codeOf(() => acc.add(d, { key: 2 ** 32, row: 0 }))).toBe('invalid_argument');
    acc.add(d, { row: 0 });
    expectSums(acc.sums(), definition(d, 5, 15, 0, 0, 0));
  });
});

describe('lk.bootstrapAccumulator, wasm against js', () => {
  it('gives identical integer sums and float sums within 1e-12 on 20,000 rows × 200 replicates', async () => {
    const engines: Engine[] = [await init({ backend: 'js' }), await init({ backend: 'wasm' })];
    const d = rows(20_000, 3);
    const [a, b] = engines.map((e) => {
      const acc = e.bootstrapAccumulator({ replicates: 200, bins: 15, seed: 1 });
      acc.add(d, { key: 9, row: 0 });
      return acc.sums();
    });
    expectSums(b!, a!);
    for (const e of engines) e.dispose();
  });
});
