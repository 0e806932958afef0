// The fingerprint of a scored input (src/cli/fingerprint.ts) is the same whether SHA-256 runs on the
// scoring thread or on its own worker thread (the default from 64 MB), over several shards, small
// blocks and a shard without rows; a pass stopped early leaves no thread behind.
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FingerprintingSource } from '../src/cli/fingerprint.js';
import { NpyShardSource } from '../src/io/npy-source.js';
import { writeNpy } from '../src/io/npy.js';
import { cliSandbox } from './helpers/cli.js';
import { rng } from './helpers/random.js';

const { dir } = cliSandbox('fingerprint-thread');
const r = rng(11);
const C = 7;
const shards = [1200, 0, 531].map((rows, i) => {
  const x = new Float32Array(rows * C).map(() => r() * 10 - 5);
  const y = new Int32Array(rows).map(() => Math.floor(r() * C));
  const logits = join(dir, `x${i}.npy`);
  const labels = join(dir, `y${i}.npy`);
  writeNpy(logits, x, [rows, C]);
  writeNpy(labels, y, [rows]);
  return { logits, labels, x, y };
});

async function fingerprints(thread: boolean, blockBytes: number): Promise<{ prints: string[]; rows: number }> {
  const src = await NpyShardSource.open(shards.map(({ logits, labels }) => ({ logits, labels })), { blockBytes });
  try {
    const f = new FingerprintingSource(src, thread);
    let rows = 0;
    for (const b of f.blocks()) rows += b.labels!.length;
    return { prints: f.fingerprints(), rows };
  } finally {
    src.close();
  }
}

describe('fingerprints on a worker thread', () => {
  it('equal the ones hashed in place, whatever the block size, and are the SHA-256 of the data', async () => {
    const local = await fingerprints(false, 4 << 20);
    expect(local.rows).toBe(1731);
    for (const blockBytes of [4 << 20, 4 * C * 17]) {
      const threaded = await fingerprints(true, blockBytes);
      expect(threaded).toEqual(local);
    }
    // independent of both: the documented construction over the arrays themselves
    const sha = (a: Float32Array | Int32Array) => createHash('sha256').update(new Uint8Array(a.buffer, a.byteOffset, a.byteLength)).digest('hex');
    const expected = shards.map(({ x, y }) => {
      const head = `logitkit fingerprint 1: ${y.length} x ${C} float32 logits, int32 labels`;
      return `sha256:${createHash('sha256').update([head, sha(x), sha(y)].join('\n')).digest('hex')}`;
    });
    expect(local.prints).toEqual(expected);
  });

  it('a pass stopped early ends its thread and gives no fingerprints', async () => {
    const src = await NpyShardSource.open(shards.map(({ logits, labels }) => ({ logits, labels })), { blockBytes: 4 * C * 100 });
    try {
      const f = new FingerprintingSource(src, true);
      for (const _ of f.blocks()) break;
      expect(() => f.fingerprints()).toThrow(/before a complete pass/);
    } finally {
      src.close();
    }
  });
});
