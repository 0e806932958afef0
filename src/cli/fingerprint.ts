/**
 * Fingerprints of scored inputs, so that `logitkit merge` can refuse a shard it has already counted.
 *
 * A shard's fingerprint is the SHA-256 of what was scored: its shape, the float32 logits and the int32
 * labels as read (one hash per array, so the block size does not matter). It is computed on the
 * scoring pass, which reads every row anyway; the same data under another name, or in another float
 * dtype that rounds to the same float32 values, gets the same fingerprint, since it would count the
 * same rows twice.
 */
import { createHash, type Hash } from 'node:crypto';
import type { NpyShardSource } from '../io/npy-source.js';
import type { BlockSource, RowBlock } from '../io/stream.js';

const bytes = (a: Float32Array | Int32Array) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

/** Passes the blocks of a shard source through, hashing each shard on the first full pass. */
export class FingerprintingSource implements BlockSource {
  readonly rows: number;
  readonly classes: number;
  readonly hasLabels: boolean;
  private result: string[] | null = null;

  constructor(private readonly src: NpyShardSource) {
    this.rows = src.rows;
    this.classes = src.classes;
    this.hasLabels = src.hasLabels;
  }

  describeRow(row: number, what: 'logits' | 'labels' | 'groups'): string {
    return this.src.describeRow(row, what);
  }

  /** The bootstrap weights are keyed by the shard underneath, not by this wrapper. */
  bootstrapKey(row: number): { key: number; row: number } {
    return this.src.bootstrapKey(row);
  }

  *blocks(): Iterable<RowBlock> {
    if (this.result) {
      yield* this.src.blocks();
      return;
    }
    const shards = this.src.shards;
    const hashes: { x: Hash; y: Hash }[] = shards.map(() => ({ x: createHash('sha256'), y: createHash('sha256') }));
    let shard = 0;
    let end = shards.length ? shards[0].logits.rows : 0;
    for (const blk of this.src.blocks()) {
      // Blocks never straddle shards; empty shards are stepped over.
      while (blk.start >= end) end += shards[++shard].logits.rows;
      hashes[shard].x.update(bytes(blk.x));
      if (blk.labels) hashes[shard].y.update(bytes(blk.labels));
      yield blk;
    }
    this.result = shards.map((s, i) =>
      combine([`logitkit fingerprint 1: ${s.logits.rows} x ${s.logits.cols} float32 logits, ${s.labels ? 'int32 labels' : 'no labels'}`, hashes[i].x.digest('hex'), hashes[i].y.digest('hex')]),
    );
  }

  /** One fingerprint per shard, in order; only after a complete pass. */
  fingerprints(): string[] {
    if (!this.result) throw new Error('internal error: fingerprints asked for before a complete pass over the shards');
    return this.result;
  }
}

function combine(parts: string[]): string {
  return `sha256:${createHash('sha256').update(parts.join('\n')).digest('hex')}`;
}

/** The fingerprint of a set of shards (order-free, as merged figures are): a single shard's own. */
export function fingerprintOf(shards: readonly string[]): string {
  return shards.length === 1 ? shards[0] : combine(['logitkit shards', ...[...shards].sort()]);
}
