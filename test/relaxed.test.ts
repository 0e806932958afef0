/**
 * Which build init() chooses: the relaxed-SIMD build (f32x4.relaxed_madd in the exp polynomial)
 * where relaxed SIMD validates, the plain SIMD build elsewhere — Node 20 without
 * --experimental-wasm-relaxed-simd, which this process (the `unit` project, never flagged) is.
 * The relaxed build's results, and init() picking it where it runs, are checked in the matrix's
 * `wasm relaxed` project (spec-builds.test.ts and every spec suite).
 */
import { describe, expect, it } from 'vitest';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BUILD_FILES, buildOrder, featuresOf, makeInit, relaxedSimdSupported, type Platform } from '../src/init.js';

const buildDir = fileURLToPath(new URL('../build/', import.meta.url));

describe('relaxed SIMD: which build is chosen', () => {
  it('buildOrder: threads and relaxed SIMD first, the plain SIMD build always last', () => {
    expect(buildOrder(false, false)).toEqual(['simd']);
    expect(buildOrder(false, true)).toEqual(['relaxed', 'simd']);
    expect(buildOrder(true, false)).toEqual(['threads', 'simd']);
    expect(buildOrder(true, true)).toEqual(['threads-relaxed', 'threads', 'relaxed', 'simd']);
  });

  it('without a flag: Node 20 never reads the relaxed builds and runs plain SIMD; Node ≥ 22 picks the relaxed build', async () => {
    const major = Number(process.versions.node.split('.')[0]);
    const read: string[] = [];
    const platform: Platform = {
      defaultWasm: () => (read.push(BUILD_FILES.simd), readFile(join(buildDir, BUILD_FILES.simd))),
      fetchUrl: (url) => readFile(url),
      wasmFile: (file) => (read.push(file), readFile(join(buildDir, file))),
    };
    const init = makeInit(platform);
    const lk = await init();
    try {
      if (major < 22) {
        expect(relaxedSimdSupported()).toBe(false);
        expect(read).toEqual(['logitkit.wasm']);
        expect(featuresOf(lk)).toMatchObject({ simd: true, relaxedSimd: false, threads: 1 });
      } else {
        // Node ≥ 22 ships relaxed SIMD: the relaxed build is picked without a flag.
        expect(relaxedSimdSupported()).toBe(true);
        expect(featuresOf(lk).relaxedSimd).toBe(true);
      }
    } finally {
      lk.dispose();
    }
  });

  it('a relaxed build that fails to load falls back to the plain build (selection by bytes)', async () => {
    // Feed garbage for every non-default build: whatever this runtime supports, init() must land on plain SIMD.
    const platform: Platform = {
      defaultWasm: () => readFile(join(buildDir, BUILD_FILES.simd)),
      fetchUrl: (url) => readFile(url),
      wasmFile: () => new Uint8Array([0x3c, 0x68, 0x74, 0x6d, 0x6c]), // "<html"
    };
    const lk = await makeInit(platform)({ threads: 2 });
    try {
      expect(lk.backend).toBe('wasm');
      expect(featuresOf(lk)).toMatchObject({ simd: true, relaxedSimd: false, threads: 1 });
      expect(featuresOf(lk).threadsUnavailable).toMatch(/^no shared-memory build could be started \(.*not a wasm binary/);
      expect(lk.softmax(new Float32Array([0, 0, 0, 0]), 4)).toEqual(new Float32Array([0.25, 0.25, 0.25, 0.25]));
    } finally {
      lk.dispose();
    }
  });
});
