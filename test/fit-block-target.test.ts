// The temperature fit's passes over a file read each block straight into an engine buffer
// (calibration.ts FitBlockTarget through NpyShardSource.into): the fit must be the one of the same
// blocks given as plain arrays, bit for bit, the engine must see the blocks in its own memory, and a
// memory growth between blocks (which detaches the views taken before it) must not lose a block's
// values for the checks made after the engine call (constant rows, the non-finite logit's place).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { init, type Engine } from '../src/index.js';
import { writeNpy } from '../src/io/npy.js';
import { NpyShardSource } from '../src/io/npy-source.js';
import { arraySource } from '../src/io/stream.js';
import { fitTemperatureSource, type MetricsEngine } from '../src/metrics/calibration.js';
import type { LkBuffer } from '../src/buffers.js';
import { classifierData } from './reference/index.js';

const C = 10;
const ROWS = 2000;
const BLOCK_BYTES = 16 << 10; // 409 rows a block: 5 blocks, the last one short
const BLOCK_ROWS = Math.floor(BLOCK_BYTES / (4 * C));

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'lk-fit-target-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function files(name: string, x: Float32Array, y: Int32Array): { logits: string; labels: string } {
  const logits = join(dir, `${name}-x.npy`);
  const labels = join(dir, `${name}-y.npy`);
  writeNpy(logits, x, [y.length, C]);
  writeNpy(labels, y, [y.length]);
  return { logits, labels };
}

/**
 * The engine as the fit sees it, counting the temperatureFitSums calls whose x lies in the engine's
 * memory; `grow` allocates (and keeps) that many bytes after each of the first 8 such calls, so that
 * memory grows after the engine call, before the fit looks at the block again.
 */
function spy(lk: Engine, grow = 0) {
  const probe = lk.alloc(1);
  const kept: LkBuffer<'float32'>[] = [];
  const stats = { calls: 0, inEngine: 0, detached: 0 };
  const engine = {
    alloc: (n: number) => lk.alloc(n),
    temperatureFitSums(x: Float32Array, classes: number, labels: Int32Array, options?: { temperature?: number }) {
      stats.calls++;
      const inEngine = x.buffer === probe.array.buffer;
      if (inEngine) stats.inEngine++;
      const s = lk.temperatureFitSums(x, classes, labels, options);
      if (grow > 0 && inEngine && kept.length < 8) {
        kept.push(lk.alloc(grow / 4));
        // the block's view, taken before the growth: detached (length 0) where memory is not shared
        if (x.length === 0) stats.detached++;
      }
      return s;
    },
  } as unknown as MetricsEngine;
  const done = () => {
    for (const b of [probe, ...kept]) b.free();
  };
  return { engine, stats, done };
}

describe.each(['wasm', 'js'] as const)('temperature fit passes read into engine memory (%s)', (backend) => {
  let lk: Engine;
  beforeAll(async () => {
    lk = await init({ backend, threads: 1 });
  });
  afterAll(() => lk.dispose());

  const open = (f: { logits: string; labels: string }) => new NpyShardSource([f], { blockBytes: BLOCK_BYTES });

  it('fits exactly what the same blocks as plain arrays give, reading every full pass in place', () => {
    const { x, y } = classifierData(ROWS, C, 5);
    const f = files('plain', x, y);
    const ref = fitTemperatureSource(lk, arraySource(x, C, y, BLOCK_ROWS), { min: 0.01, max: 100 });
    const src = open(f);
    try {
      const { engine, stats, done } = spy(lk);
      const got = fitTemperatureSource(engine, src, { min: 0.01, max: 100 });
      done();
      expect(got).toEqual(ref); // temperature, NLLs and passes, to the bit
      expect(ref.passes).toBeGreaterThanOrEqual(2);
      const blocks = Math.ceil(ROWS / BLOCK_ROWS);
      // the first block's warm start runs on an in-memory copy; every full pass is read in place
      if (backend === 'wasm') expect(stats.inEngine).toBe(ref.passes! * blocks);
      expect(stats.calls).toBeGreaterThan(ref.passes! * blocks);
      expect(src.into).toBeNull(); // the source reads into its own buffer again
    } finally {
      src.close();
    }
  });

  it('keeps a source whose reads are pointed elsewhere as it is', () => {
    const { x, y } = classifierData(ROWS, C, 6);
    const src = open(files('elsewhere', x, y));
    try {
      const mine = new Float32Array(BLOCK_ROWS * C);
      let asked = 0;
      const into = (n: number) => (asked++, mine.subarray(0, n));
      src.into = into;
      const got = fitTemperatureSource(lk, src, { nllBefore: false });
      expect(got.temperature).toBe(fitTemperatureSource(lk, arraySource(x, C, y, BLOCK_ROWS), { nllBefore: false }).temperature);
      expect(asked).toBeGreaterThan(0);
      expect(src.into).toBe(into);
    } finally {
      src.close();
    }
  });

  it('re-takes a block after memory grew: constant rows and non-finite logits are still seen', () => {
    // every row constant but one in the last block: not the all-constant answer T = 1
    const { x, y } = classifierData(ROWS, C, 7);
    const flat = Float32Array.from(x);
    for (let r = 0; r < ROWS - 1; r++) flat.fill(r % 3, r * C, (r + 1) * C);
    const ref = fitTemperatureSource(lk, arraySource(flat, C, y, BLOCK_ROWS));
    expect(ref.temperature).not.toBe(1);
    const src = open(files('flat', flat, y));
    const grown = spy(lk, 4 << 20);
    try {
      expect(fitTemperatureSource(grown.engine, src)).toEqual(ref);
      if (backend === 'wasm') expect(grown.stats.detached).toBeGreaterThan(0); // the case this test is about happened
    } finally {
      grown.done();
      src.close();
    }

    // a NaN in the third block, found after the engine call grew memory, is named by its row and file
    const bad = Float32Array.from(x);
    const row = 2 * BLOCK_ROWS + 17;
    bad[row * C + 3] = NaN;
    const f = files('nan', bad, y);
    const src2 = open(f);
    const grown2 = spy(lk, 4 << 20);
    try {
      expect(() => fitTemperatureSource(grown2.engine, src2)).toThrow(expect.objectContaining({ code: 'non_finite_input', message: expect.stringContaining(`row ${row} of ${f.logits}, column 3`) }));
      expect(src2.into).toBeNull();
    } finally {
      grown2.done();
      src2.close();
    }
    // the engine keeps working
    expect(lk.temperatureFitSums(x.subarray(0, 4 * C), C, y.subarray(0, 4)).rows).toBe(4);
  });
});
