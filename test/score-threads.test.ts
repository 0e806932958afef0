// Issue 21 item 3: the row summary (scoreRowsChunk + scoreRowsFinish) and the bootstrap (bootstrapChunk
// + bootstrapFold) run on the worker pool in chunks fixed by the shape alone, each chunk into its own
// partial sums, added in chunk order. So: the sums are bit-identical with one and two threads (and the
// pool really took chunks), the same on the simd128 and relaxed builds, and the JS reference — chunked
// the same way — has identical counts and float sums within 1e-12. Edge rows (NaN, ±inf, all −inf),
// 1, 2, 7, 100, 1000 and 5000 classes, rows that are not a multiple of the chunk, empty blocks.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BOOTSTRAP_CHUNK_ROWS, BootstrapAccumulator, rowScoreChunkRows, RowScoreAccumulator, type BootstrapReplicateSums, type RowScoreSums } from '../src/accumulators.js';
import type { Backend } from '../src/backends/backend.js';
import { JsBackend } from '../src/backends/js.js';
import { CHUNKS_PER_CALL, createWasmBackend, type WasmBackend } from '../src/backends/wasm.js';
import { relaxedSimdSupported } from '../src/init.js';
import { encodeNpyData, writeNpyRaw } from '../src/io/npy.js';
import { cliSandbox } from './helpers/cli.js';
import { rng } from './helpers/random.js';

const module = (file: string) => new WebAssembly.Module(readFileSync(new URL(`../build/${file}`, import.meta.url)));
const live = () => {};

/** rows × C logits with special rows, labels, and the engine's softmax / logSoftmax / argmax of them. */
function block(b: Backend, rows: number, C: number, seed: number) {
  const r = rng(seed);
  const x = new Float32Array(rows * C);
  const labels = new Int32Array(rows);
  for (let i = 0; i < rows; i++) {
    labels[i] = Math.floor(r() * C);
    for (let j = 0; j < C; j++) x[i * C + j] = 2 * (r() - 0.5) * 3 + (j === labels[i] ? 2 : 0);
  }
  const row = (i: number, f: (j: number) => number) => {
    if (i < rows) for (let j = 0; j < C; j++) x[i * C + j] = f(j);
  };
  row(1, (j) => (j === C - 1 ? NaN : 0.5));
  row(2, (j) => (j === 0 ? Infinity : 1));
  row(3, () => -Infinity);
  row(4, (j) => (j % 2 === 0 ? -Infinity : 2));
  row(rows - 1, (j) => (j === labels[rows - 1] ? -Infinity : j)); // NLL = +inf in the last chunk
  const p = new Float32Array(x.length);
  const lp = new Float32Array(x.length);
  const pred = new Int32Array(rows);
  b.softmax(x, rows, C, 1, p);
  b.logSoftmax(x, rows, C, 1, lp);
  b.argmax(x, rows, C, pred);
  return { x, p, lp, labels, pred };
}

function rowSums(b: Backend, C: number, blocks: ReturnType<typeof block>[]): { sums: RowScoreSums; rows: { hit: Uint8Array; nll: Float64Array; conf: Float32Array }[] } {
  const acc = new RowScoreAccumulator(b, live, { classes: C, bins: 15, topk: 3 });
  const rows = blocks.map((blk) => acc.add(blk));
  return { sums: acc.take(), rows };
}

function bootSums(b: Backend, blocks: { hit: Uint8Array; nll: Float64Array; conf: Float32Array }[]): BootstrapReplicateSums {
  const acc = new BootstrapAccumulator(b, live, { replicates: 40, bins: 15, seed: 3 });
  let row = 0;
  for (const blk of blocks) {
    acc.add(blk, { key: 7, row });
    row += blk.hit.length;
  }
  return acc.sums();
}

/** Every field: equal bits (exact = true) or counts equal and floats within 1e-12 relative. */
function compare(a: object, b: object, exact: boolean, what: string): void {
  for (const [k, v] of Object.entries(a)) {
    const w = (b as Record<string, unknown>)[k];
    const av = typeof v === 'number' ? [v] : Array.from(v as Float64Array);
    const bv = typeof w === 'number' ? [w] : Array.from(w as Float64Array);
    expect(bv.length, `${what}.${k} length`).toBe(av.length);
    for (let i = 0; i < av.length; i++) {
      const x = av[i]!;
      const y = bv[i]!;
      if (exact || Number.isInteger(x) || !Number.isFinite(x)) {
        if (!Object.is(x, y)) expect(y, `${what}.${k}[${i}]`).toBe(x);
      } else if (Math.abs(x - y) > 1e-12 * Math.max(Math.abs(x), Math.abs(y))) expect(y, `${what}.${k}[${i}]`).toBeCloseTo(x, 12);
    }
  }
}

describe('score accumulators on the pool: fixed chunks, partial sums in chunk order', () => {
  let one: WasmBackend;
  let two: WasmBackend;
  let simd: WasmBackend;
  let relaxed: WasmBackend | null = null;
  const js = new JsBackend();
  beforeAll(async () => {
    one = await createWasmBackend(module('logitkit-threads.wasm'), { threads: 1 });
    two = await createWasmBackend(module('logitkit-threads.wasm'), { threads: 2 });
    simd = await createWasmBackend(module('logitkit.wasm'));
    if (relaxedSimdSupported()) relaxed = await createWasmBackend(module('logitkit-relaxed.wasm'));
    expect(two.activeThreads).toBe(2);
  });
  afterAll(() => {
    for (const b of [one, two, simd, relaxed]) b?.dispose();
  });

  it('the fused row pass (logits only, as score calls it) splits on the pool and gives one thread\'s bits', () => {
    for (const C of [10, 100, 1000]) {
      const n = 3 * rowScoreChunkRows(C, 15) + 5;
      const { x, labels } = block(js, n, C, 77 + C);
      const run = (b: Backend) => {
        const acc = new RowScoreAccumulator(b, live, { classes: C, bins: 15, topk: 3 });
        const py = new Float32Array(n);
        const rows = acc.add({ x, labels, temperature: 1 }, { py });
        return { sums: acc.take(), rows: { hit: rows.hit, nll: rows.nll, conf: rows.conf, py } };
      };
      const before = two.runtime.parallelCalls;
      const b = run(two);
      expect(two.runtime.parallelCalls - before, `${C} classes: the fused call split`).toBeGreaterThanOrEqual(1);
      const a = run(one);
      compare(a.sums, b.sums, true, `fused ${C} classes`);
      compare(a.rows, b.rows, true, `fused rows ${C} classes`);
    }
  });

  // rows per block chosen around the chunk: one row short, several chunks and a ragged end, one chunk
  const shapes: [number, number[]][] = [
    [1, [rowScoreChunkRows(1, 15) + 37, 5]],
    [2, [3 * rowScoreChunkRows(2, 15) - 1, 0, 17]],
    [7, [2 * rowScoreChunkRows(7, 15) + 5]],
    [100, [3 * rowScoreChunkRows(100, 15) + 11, rowScoreChunkRows(100, 15)]],
    [1000, [2 * rowScoreChunkRows(1000, 15) + 3]],
    [5000, [37, 2]], // wide rows: one chunk a block, the per-class sums added to the state directly
  ];
  for (const [C, sizes] of shapes) {
    it(`${C} classes, blocks of ${sizes.join(', ')} rows: threads 1 = 2 = simd128 = relaxed bit for bit; js: counts equal, sums within 1e-12`, () => {
      const blocks = sizes.map((n, i) => block(js, n, C, 100 * C + i));
      const before = two.runtime.parallelCalls;
      const a = rowSums(one, C, blocks);
      const b = rowSums(two, C, blocks);
      // every block of ≥ 2 chunks and enough work went to the pool
      const splits = sizes.filter((n) => n > rowScoreChunkRows(C, 15) && n * C >= 65536).length;
      expect(two.runtime.parallelCalls - before, 'row-summary calls split').toBeGreaterThanOrEqual(splits);
      compare(a.sums, b.sums, true, 'threads 2');
      for (let i = 0; i < blocks.length; i++) compare(a.rows[i]!, b.rows[i]!, true, `rows of block ${i}`);
      compare(a.sums, rowSums(simd, C, blocks).sums, true, 'simd128');
      if (relaxed) compare(a.sums, rowSums(relaxed, C, blocks).sums, true, 'relaxed');
      const ref = rowSums(js, C, blocks);
      compare(ref.sums, a.sums, false, 'js vs wasm');
      for (let i = 0; i < blocks.length; i++) compare(ref.rows[i]!, a.rows[i]!, true, `js rows of block ${i}`);
      expect(a.sums.rows).toBe(sizes.reduce((s, n) => s + n, 0));

      // the bootstrap of the same rows (kept by the summary), in the same blocks
      const bootBefore = two.runtime.parallelCalls;
      const s1 = bootSums(one, a.rows);
      const s2 = bootSums(two, a.rows);
      // a block goes in calls of at most CHUNKS_PER_CALL chunks; each call of two or more chunks splits
      const batch = CHUNKS_PER_CALL * BOOTSTRAP_CHUNK_ROWS;
      const bootSplits = sizes.reduce((k, n) => k + Array.from({ length: Math.ceil(n / batch) }, (_, i) => Math.min(batch, n - i * batch)).filter((m) => m > BOOTSTRAP_CHUNK_ROWS).length, 0);
      expect(two.runtime.parallelCalls - bootBefore, 'bootstrap calls split').toBe(bootSplits);
      compare(s1, s2, true, 'bootstrap threads 2');
      compare(s1, bootSums(simd, a.rows), true, 'bootstrap simd128');
      if (relaxed) compare(s1, bootSums(relaxed, a.rows), true, 'bootstrap relaxed');
      compare(bootSums(js, a.rows), s1, false, 'bootstrap js vs wasm');
      expect(s1.nanRows).toBe(a.rows.reduce((n, r) => n + r.conf.filter((c) => c !== c).length, 0));
      expect(s1.nanRows).toBeGreaterThan(0);
    });
  }

  it('the pool really computes chunks (worker chunks grow over repeated split calls)', () => {
    const C = 100;
    const blk = block(js, 4 * rowScoreChunkRows(C, 15), C, 5);
    const before = two.runtime.workerChunks;
    for (let i = 0; i < 50 && two.runtime.workerChunks === before; i++) rowSums(two, C, [blk]);
    expect(two.runtime.workerChunks).toBeGreaterThan(before);
  });
});

describe('logitkit score: the JSON is byte-for-byte the same with --threads 1, 2 and auto', () => {
  const { dir, run } = cliSandbox('score-threads');
  const N = 9001; // 2 and a bit row-summary chunks at 40 classes, 5 bootstrap chunks
  const C = 40;
  beforeAll(() => {
    const r = rng(21);
    const x = new Float32Array(N * C);
    const y = new Int32Array(N);
    for (let i = 0; i < N; i++) {
      y[i] = Math.floor(r() * C);
      for (let j = 0; j < C; j++) x[i * C + j] = 4 * (r() - 0.5) + (j === y[i] ? 1.5 : 0);
    }
    x[3 * C + 7] = NaN;
    x[5 * C] = Infinity;
    for (let j = 0; j < C; j++) x[8 * C + j] = -Infinity;
    writeNpyRaw(join(dir, 'x.npy'), '<f4', [N, C], new Uint8Array(x.buffer));
    writeNpyRaw(join(dir, 'y.npy'), '<i4', [N], encodeNpyData('<i4', Array.from(y)));
    expect(rowScoreChunkRows(C, 15)).toBeLessThan(N / 2);
  });
  it('default figures with 50 replicates, and at a temperature (the alternative-temperature pass too)', () => {
    for (const extra of [[], ['--temperature', '1.7']]) {
      const out = ['1', '2', 'auto'].map((t) => {
        const res = run('score', 'x.npy', '--labels', 'y.npy', '--json', '--intervals', '50', '--threads', t, ...extra, '--debug');
        expect(res.status, res.stderr).toBe(0);
        return res;
      });
      expect(out[1]!.stderr).toMatch(/2 threads/);
      expect(out[1]!.stdout).toBe(out[0]!.stdout);
      expect(out[2]!.stdout).toBe(out[0]!.stdout);
      expect(JSON.parse(out[0]!.stdout).nanRows).toBe(3);
    }
  });
});
