// lk.aurocHistogram: the wasm kernel (assembly/kernels/score.ts) and the JS reference against a direct
// count from aurocFine, over edge scores (0, subnormals, below 2^-41, ½, the last float32 below 1, 1),
// NaN rows, blocks of many tiles; and the argument errors.
import { describe, expect, it } from 'vitest';
import { init, type Engine } from '../src/index.js';
import { AUROC_BINS, aurocFine } from '../src/auroc-bins.js';
import { describeEachBackend } from './helpers/backends.js';
import { codeOf } from './helpers/checks.js';
import { rng } from './helpers/random.js';

const EDGES = [0, 1e-45, 2 ** -41, 2 ** -42, 1e-20, 0.25, 0.5, Math.fround(1 - 2 ** -24), 1 - 2 ** -23, 0.999, 1, 0.1];

function probs(rows: number, K: number, seed: number): Float32Array {
  const r = rng(seed);
  const p = new Float32Array(rows * K);
  for (let i = 0; i < p.length; i++) p[i] = r() < 0.1 ? EDGES[Math.floor(r() * EDGES.length)]! : r() ** 4;
  if (rows > 5) p.fill(NaN, 3 * K, 4 * K); // a NaN row
  return p;
}

function direct(p: Float32Array, K: number): { cells: Float64Array; nan: number } {
  const cells = new Float64Array(2 * K * AUROC_BINS);
  let nan = 0;
  for (let r = 0; r < p.length / K; r++) {
    if (p[r * K] !== p[r * K]) {
      nan++;
      continue;
    }
    for (let k = 0; k < K; k++) {
      const f = aurocFine(p[r * K + k]!);
      cells[2 * (k * AUROC_BINS + (f >>> 4))]! += 1;
      cells[2 * (k * AUROC_BINS + (f >>> 4)) + 1]! += f & 15;
    }
  }
  return { cells, nan };
}

describeEachBackend('lk.aurocHistogram', (lk) => {
  for (const [rows, K] of [[1, 1], [7, 3], [3000, 10], [100, 1000]] as const) {
    it(`counts ${rows} rows × ${K} classes as the bins say, in two blocks`, () => {
      const p = probs(rows, K, rows + K);
      const h = lk().aurocHistogram(K);
      const cut = Math.floor(rows / 2) * K;
      const nan = h.add(p.subarray(0, cut)) + h.add(p.subarray(cut));
      expect(h.rows).toBe(rows);
      const want = direct(p, K);
      expect(nan).toBe(want.nan);
      const seen = h.view().slice(); // in place, the same cells take() hands out
      const got = h.take();
      let moved = 0;
      for (let i = 0; i < got.length; i++) if (seen[i] !== got[i]) moved++;
      expect(moved).toBe(0);
      expect(got.length).toBe(want.cells.length);
      let diff = 0;
      for (let i = 0; i < got.length; i++) if (got[i] !== want.cells[i]) diff++;
      expect(diff).toBe(0);
    });
  }

  it('refuses bad arguments with coded errors, and keeps working', () => {
    expect(codeOf(() => lk().aurocHistogram(0))).toBe('invalid_argument');
    expect(codeOf(() => lk().aurocHistogram(1025))).toBe('invalid_argument');
    const h = lk().aurocHistogram(3);
    expect(codeOf(() => h.add(new Float32Array(4)))).toBe('shape_mismatch');
    expect(codeOf(() => h.add(new Float64Array(3) as unknown as Float32Array))).toBe('invalid_argument');
    expect(h.add(Float32Array.of(0.2, 0.3, 0.5))).toBe(0);
    expect(h.take().reduce((a, b) => a + b, 0)).toBeGreaterThan(0);
    expect(codeOf(() => h.add(Float32Array.of(0.2, 0.3, 0.5)))).toBe('invalid_argument');
    expect(codeOf(() => h.take())).toBe('invalid_argument');
    expect(codeOf(() => h.view())).toBe('invalid_argument');
  });
});

describe('lk.aurocHistogram, wasm against js', () => {
  it('gives identical cells on 5000 rows × 100 classes', async () => {
    const engines: Engine[] = [await init({ backend: 'js' }), await init({ backend: 'wasm' })];
    const p = probs(5000, 100, 4);
    const [a, b] = engines.map((e) => {
      const h = e.aurocHistogram(100);
      h.add(p);
      return h.take();
    });
    expect(Buffer.from(b!.buffer).equals(Buffer.from(a!.buffer))).toBe(true);
    for (const e of engines) e.dispose();
  });
});
