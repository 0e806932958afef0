// lk.aurocHistogram: the wasm kernel (assembly/kernels/score.ts) and the JS reference against a direct
// count from aurocFine, over edge scores (0, subnormals, below 2^-41, ½, the last float32 below 1, 1),
// NaN rows, blocks of many tiles; the packed cells' spill path (small cellRows, and more than 16383
// rows in one bin); every build and two threads giving the same cells; and the argument errors.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { init, type Engine } from '../src/index.js';
import { AUROC_BINS, AUROC_CELL_ROWS, aurocFine } from '../src/auroc-bins.js';
import { AurocHistogram } from '../src/accumulators.js';
import { createWasmBackend, type WasmBackend } from '../src/backends/wasm.js';
import { JsBackend } from '../src/backends/js.js';
import type { Backend } from '../src/backends/backend.js';
import { relaxedSimdSupported } from '../src/init.js';
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
      const seen = h.view(); // an expanded copy: the same counts take() hands out
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

/** Class k's cells counted directly (2 per bin: rows, position sum). */
function directClass(p: Float32Array, K: number, k: number): Float64Array {
  const out = new Float64Array(2 * AUROC_BINS);
  for (let r = 0; r < p.length / K; r++) {
    if (p[r * K] !== p[r * K]) continue;
    const f = aurocFine(p[r * K + k]!);
    out[2 * (f >>> 4)]! += 1;
    out[2 * (f >>> 4) + 1]! += f & 15;
  }
  return out;
}

function mismatches(got: ArrayLike<number>, want: ArrayLike<number>): number {
  let diff = got.length === want.length ? 0 : 1;
  for (let i = 0; i < Math.min(got.length, want.length); i++) if (got[i] !== want[i]) diff++;
  return diff;
}

/**
 * Probabilities whose columns crowd into a few bins (many rows per cell), with p = 0, p = 1, p < 2^-41
 * and NaN rows; and values no softmax gives (−0, −1, 1.5, +inf, a NaN after a row's first value), which
 * every backend must still place as aurocFine does (the top bin).
 */
function crowded(rows: number, K: number, seed: number): Float32Array {
  const p = probs(rows, K, seed);
  const pick = [0, 1, 2 ** -50, 0.5, 0.25, Math.fround(1 - 2 ** -24), 0, 1, 0.5, -0, -1, 1.5, Infinity, NaN];
  for (let i = 0; i < p.length; i++) if (i % 3 !== 0) p[i] = pick[(i * 7 + (i >>> 5)) % pick.length]!;
  for (let r = 5; r < rows; r += 97) p.fill(NaN, r * K, (r + 1) * K);
  return p;
}

describeEachBackend('lk.aurocHistogram, packed cells', (lk) => {
  it('spills a cell exactly: cellRows 1, 2 and 7 give the counts of the default on crowded columns', () => {
    const K = 5;
    const p = crowded(4000, K, 11);
    let nanRows = 0;
    for (let r = 0; r < 4000; r++) if (p[r * K] !== p[r * K]) nanRows++;
    expect(nanRows).toBeGreaterThan(40);
    const hs = [undefined, 1, 2, 7].map((cellRows) => {
      const h = lk().aurocHistogram(K, cellRows === undefined ? undefined : { cellRows });
      expect(h.add(p.subarray(0, 1300 * K)) + h.add(p.subarray(1300 * K))).toBe(nanRows);
      return h;
    });
    for (let k = 0; k < K; k++) {
      const want = directClass(p, K, k);
      for (const h of hs) expect(mismatches(h.classCells(k), want)).toBe(0);
    }
    const all = hs[0]!.take();
    for (const h of hs.slice(1)) expect(mismatches(h.take(), all)).toBe(0);
  });

  it('holds more than 16383 rows in one bin (the default cell spills) and p = 0, 1 and below 2^-41 in their bins', () => {
    const K = 3;
    const rows = 2 * AUROC_CELL_ROWS + 500;
    const p = new Float32Array(rows * K);
    for (let r = 0; r < rows; r++) {
      p[r * K] = 0.5; // one bin, every row
      p[r * K + 1] = r % 2 ? 1 : 0;
      p[r * K + 2] = r % 3 ? 2 ** -45 : 2 ** -41;
    }
    const h = lk().aurocHistogram(K);
    h.add(p);
    const c0 = h.classCells(0);
    const half = aurocFine(0.5);
    expect(c0[2 * (half >>> 4)]).toBe(rows);
    expect(c0[2 * (half >>> 4) + 1]).toBe(rows * (half & 15));
    for (let k = 0; k < K; k++) expect(mismatches(h.classCells(k), directClass(p, K, k))).toBe(0);
    const c1 = h.classCells(1);
    expect(c1[0]).toBe(Math.ceil(rows / 2)); // p = 0: bin 0
    expect(c1[2 * (AUROC_BINS - 1)]).toBe(Math.floor(rows / 2)); // p = 1: the last bin
    const c2 = h.classCells(2);
    expect(c2[0]).toBe(rows - Math.ceil(rows / 3)); // below 2^-41: bin 0 with p = 0
    expect(c2[2]).toBe(Math.ceil(rows / 3)); // 2^-41: the first bin of its own
  });

  it('reads one class with classCells, for 1 and 1000 classes, and refuses bad arguments', () => {
    for (const K of [1, 1000]) {
      const p = crowded(K === 1 ? 5000 : 60, K, K);
      const h = lk().aurocHistogram(K, { cellRows: 3 });
      h.add(p);
      const out = new Uint32Array(2 * AUROC_BINS);
      for (const k of K === 1 ? [0] : [0, 1, 2, 3, 4, 998, 999]) {
        expect(h.classCells(k, out)).toBe(out);
        expect(mismatches(out, directClass(p, K, k))).toBe(0);
      }
      // the whole footprint: packed cells, logs, side counts
      if (K === 1000) expect(h.bytes).toBeLessThanOrEqual(64 * 2 ** 20);
      expect(codeOf(() => h.classCells(K))).toBe('invalid_argument');
      expect(codeOf(() => h.classCells(0, new Uint32Array(3)))).toBe('invalid_argument');
      h.take();
    }
    for (const cellRows of [0, AUROC_CELL_ROWS + 1, 1.5, NaN, '3'])
      expect(codeOf(() => lk().aurocHistogram(2, { cellRows: cellRows as number }))).toBe('invalid_argument');
    expect(lk().aurocHistogram(2, {}).add(Float32Array.of(0.5, 0.5))).toBe(0); // and the engine keeps working
  });
});

describe('lk.aurocHistogram: every build and two threads count the same cells', () => {
  const buildDir = new URL('../build/', import.meta.url);
  const mod = (f: string) => new WebAssembly.Module(readFileSync(new URL(f, buildDir)));
  const backends: [string, Backend][] = [];
  let two: WasmBackend;
  beforeAll(async () => {
    backends.push(['js', new JsBackend()]);
    backends.push(['simd128', await createWasmBackend(mod('logitkit.wasm'), { warmup: false })]);
    if (relaxedSimdSupported()) backends.push(['relaxed', await createWasmBackend(mod('logitkit-relaxed.wasm'), { warmup: false })]);
    two = await createWasmBackend(mod(relaxedSimdSupported() ? 'logitkit-threads-relaxed.wasm' : 'logitkit-threads.wasm'), { threads: 2, warmup: false });
    expect(two.features.threads).toBe(2);
    backends.push(['threads 2', two]);
  });
  afterAll(() => {
    for (const [, b] of backends) b.dispose();
  });

  it('a call starts each class at the rows done in its log, stops where the log could overflow, and says where', () => {
    // the engine never hands a group of four classes different starts; the kernel still counts each
    // class from its own (classes 0-3 here, then the tail classes 4 and 5)
    const K = 6;
    const rows = 40;
    const logCap = 3;
    const p = crowded(rows, K, 5);
    const starts = [0, 7, 7, 39, 12, 40];
    for (const [name, b] of backends) {
      const cells = new Uint32Array(K * AUROC_BINS);
      const log = new Uint32Array(K * (2 + 2 * logCap));
      for (let k = 0; k < K; k++) log[k * (2 + 2 * logCap) + 1] = starts[k]!;
      b.aurocCounts(p, rows, K, { cells, log, logCap, limit: AUROC_CELL_ROWS });
      for (let k = 0; k < K; k++) {
        expect(log[k * (2 + 2 * logCap) + 1], `${name} class ${k}`).toBe(rows);
        expect(log[k * (2 + 2 * logCap)], `${name} class ${k}`).toBe(0);
        const want = directClass(p.subarray(starts[k]! * K), K, k);
        const got = new Uint32Array(2 * AUROC_BINS);
        for (let bin = 0; bin < AUROC_BINS; bin++) {
          got[2 * bin] = cells[k * AUROC_BINS + bin]! >>> 18;
          got[2 * bin + 1] = cells[k * AUROC_BINS + bin]! & ((1 << 18) - 1);
        }
        expect(mismatches(got, want), `${name} class ${k}`).toBe(0);
      }
      // limit 1: every counted row spills, so a class stops with its log full, at most logCap rows on
      const full = new Uint32Array(K * (2 + 2 * logCap));
      for (let k = 0; k < K; k++) full[k * (2 + 2 * logCap) + 1] = starts[k]!;
      b.aurocCounts(p, rows, K, { cells: new Uint32Array(K * AUROC_BINS), log: full, logCap, limit: 1 });
      for (let k = 0; k < K; k++) {
        const done = full[k * (2 + 2 * logCap) + 1]!;
        const used = full[k * (2 + 2 * logCap)]!;
        let counted = 0;
        for (let r = starts[k]!; r < done; r++) if (p[r * K] === p[r * K]) counted++;
        expect(used, `${name} class ${k}`).toBe(counted);
        expect(used, `${name} class ${k}`).toBeLessThanOrEqual(logCap);
        expect(done === rows || used === logCap, `${name} class ${k}`).toBe(true);
      }
    }
  });

  // [5000, 100, 1]: every row spills, a log (1310 entries) fills every 1310 rows, in the kernel's second
  // and third tile of 2048 rows: calls resume mid-tile. [300, 1003, 1]: logs of 130, and classes past
  // the last group of four.
  for (const [rows, K, cellRows] of [[3000, 1, 4], [2000, 7, undefined], [1500, 100, 5], [1400, 100, undefined], [150, 1000, 2], [5000, 100, 1], [300, 1003, 1]] as const) {
    it(`${rows} rows × ${K} classes${cellRows ? `, cellRows ${cellRows}` : ''}`, () => {
      const p = crowded(rows, K, rows + K);
      const before = two.runtime.parallelCalls;
      const hs = backends.map(([name, b]) => {
        const h = new AurocHistogram(b, () => {}, K, cellRows === undefined ? {} : { cellRows });
        h.add(p.subarray(0, 40 * K));
        h.add(p.subarray(40 * K));
        return [name, h] as const;
      });
      if (rows * K >= 1 << 17) expect(two.runtime.parallelCalls).toBeGreaterThan(before); // split by classes
      // class by class (every class; 131 MB at once for 1000 classes is what classCells avoids)
      const [want, got] = [new Uint32Array(2 * AUROC_BINS), new Uint32Array(2 * AUROC_BINS)];
      const differ = new Map<string, number>();
      for (let k = 0; k < K; k++) {
        hs[0]![1].classCells(k, want);
        if (k === 0 || k === K - 1) expect(mismatches(want, directClass(p, K, k))).toBe(0);
        for (const [name, h] of hs.slice(1)) differ.set(name, (differ.get(name) ?? 0) + mismatches(h.classCells(k, got), want));
      }
      expect(Object.fromEntries(differ)).toEqual(Object.fromEntries(hs.slice(1).map(([name]) => [name, 0])));
      for (const [, h] of hs) h.take();
    });
  }
});
