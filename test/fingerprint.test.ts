// The fingerprint of a scored input (src/cli/fingerprint.ts, version 2: lk.hasher() in the engine)
// is the documented construction over the arrays themselves, the same on both backends and for any
// block size, over several shards, empty ones among them; a pass stopped early gives no fingerprints
// and leaves no engine memory behind. Sets of fingerprints combine order-free; version 1 sets as before.
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { init, type Engine } from '../src/index.js';
import { hashWords } from '../src/backends/js-hash.js';
import { FingerprintingSource, fingerprintOf, fingerprintVersion } from '../src/cli/fingerprint.js';
import { NpyShardSource } from '../src/io/npy-source.js';
import { writeNpy } from '../src/io/npy.js';
import { cliSandbox } from './helpers/cli.js';
import { rng } from './helpers/random.js';

const { dir } = cliSandbox('fingerprint');
const r = rng(11);
const C = 7;
const shards = [0, 1200, 0, 531, 0].map((rows, i) => {
  const x = new Float32Array(rows * C).map(() => r() * 10 - 5);
  const y = new Int32Array(rows).map(() => Math.floor(r() * C));
  const logits = join(dir, `x${i}.npy`);
  const labels = join(dir, `y${i}.npy`);
  writeNpy(logits, x, [rows, C]);
  writeNpy(labels, y, [rows]);
  return { logits, labels, x, y };
});

/** `work`: the consumer runs each block's work itself (once, or twice); else the source does, on the next block. */
async function fingerprints(lk: Engine, blockBytes: number, work: 0 | 1 | 2 = 0): Promise<{ prints: string[]; rows: number }> {
  const src = await NpyShardSource.open(shards.map(({ logits, labels }) => ({ logits, labels })), { blockBytes });
  try {
    const f = new FingerprintingSource(src, lk);
    let rows = 0;
    for (const b of f.blocks()) {
      rows += b.labels!.length;
      for (let i = 0; i < work; i++) b.work!(b.x);
    }
    return { prints: f.fingerprints(), rows };
  } finally {
    src.close();
  }
}

/** The words of a hex digest as the construction takes them: each 64-bit half low word first. */
const digestWords = (hex: string) => [8, 0, 24, 16].map((at) => parseInt(hex.slice(at, at + 8), 16));

describe('shard fingerprints (version 2)', () => {
  it('are the documented construction, the same on both backends and for any block size', async () => {
    const wasm = await init({ backend: 'wasm' });
    const js = await init({ backend: 'js' });
    try {
      const ref = await fingerprints(wasm, 4 << 20);
      expect(ref.rows).toBe(1731);
      for (const [lk, blockBytes] of [[wasm, 4 * C * 17], [js, 4 << 20], [js, 4 * C * 100]] as const) {
        expect(await fingerprints(lk, blockBytes)).toEqual(ref);
      }
      // RowBlock.work run by the consumer (score's accumulator, beside its engine calls): once, however often called
      for (const [lk, work] of [[wasm, 1], [js, 2]] as const) expect(await fingerprints(lk, 4 * C * 17, work)).toEqual(ref);
      // independent of both: the hash of (tag, rows, classes, labels, digests) over the arrays themselves
      const expected = shards.map(({ x, y }) => {
        const words = (a: Float32Array | Int32Array) => new Uint32Array(a.buffer, a.byteOffset, a.length);
        const parts = [0x6c6b6632, y.length, 0, C, 1, ...digestWords(hashWords(words(x))), ...digestWords(hashWords(words(y)))];
        return `lkfp2:${hashWords(Uint32Array.from(parts))}`;
      });
      expect(ref.prints).toEqual(expected);
      expect(ref.prints[0]).toBe(ref.prints[2]); // two empty shards: the same (empty) data
      expect(new Set(ref.prints).size).toBe(3);
    } finally {
      wasm.dispose();
      js.dispose();
    }
  });

  it("a block's work given a view that lost its data (engine memory grew under it) is an error, not a wrong fingerprint", async () => {
    const lk = await init({ backend: 'js' });
    const src = await NpyShardSource.open([{ logits: shards[1]!.logits, labels: shards[1]!.labels }], { blockBytes: 4 * C * 100 });
    try {
      const f = new FingerprintingSource(src, lk);
      for (const b of f.blocks()) {
        expect(() => b.work!(new Float32Array(0))).toThrow(/internal error: a block of 100 rows holds 0 logits/);
        break;
      }
    } finally {
      src.close();
      lk.dispose();
    }
  });

  it('a pass stopped early gives no fingerprints and frees its streams', async () => {
    const lk = await init({ backend: 'wasm' });
    const src = await NpyShardSource.open(shards.map(({ logits, labels }) => ({ logits, labels })), { blockBytes: 4 * C * 100 });
    try {
      const before = lk.memoryStats().inUse;
      const f = new FingerprintingSource(src, lk);
      for (const _ of f.blocks()) break;
      expect(() => f.fingerprints()).toThrow(/before a complete pass/);
      expect(lk.memoryStats().inUse).toBe(before);
      // and a complete pass afterwards still gives them
      for (const _ of f.blocks());
      expect(f.fingerprints()).toHaveLength(5);
      expect(lk.memoryStats().inUse).toBe(before);
    } finally {
      src.close();
      lk.dispose();
    }
  });
});

describe('fingerprints of sets', () => {
  const a = `lkfp2:${'1'.repeat(32)}`;
  const b = `lkfp2:${'2'.repeat(32)}`;
  const old1 = `sha256:${'a'.repeat(64)}`;
  const old2 = `sha256:${'b'.repeat(64)}`;
  it('are order-free; one shard is its own; version 1 sets combine as before', () => {
    expect(fingerprintOf([a])).toBe(a);
    expect(fingerprintOf([a, b])).toMatch(/^lkfp2:[0-9a-f]{32}$/);
    expect(fingerprintOf([b, a])).toBe(fingerprintOf([a, b]));
    expect(fingerprintOf([a, b, a])).not.toBe(fingerprintOf([a, b]));
    expect(fingerprintOf([old2, old1])).toBe(`sha256:${createHash('sha256').update(['logitkit shards', old1, old2].join('\n')).digest('hex')}`);
    expect(fingerprintOf([old1, a])).toMatch(/^lkfp2:/);
  });
  it('have versions', () => {
    expect([a, old1, 'lkfp3:00', 'odd'].map(fingerprintVersion)).toEqual(['2', '1', 'lkfp3:', 'odd']);
  });
});
