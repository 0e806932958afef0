/**
 * Fingerprints of scored inputs, so that `logitkit merge` can refuse a shard it has already counted.
 *
 * Version 2 (`lkfp2:` and 32 hex digits): a shard's fingerprint is the engine's 128-bit hash
 * (lk.hasher(), src/backends/js-hash.ts) of its shape and the digests of its float32 logits and int32
 * labels as read, one stream each (so the block size does not matter). The logits are hashed where the
 * scoring pass has just read them, in engine memory: no thread, no copy. The same data under another
 * name, or in another float dtype that rounds to the same float32 values, gets the same fingerprint,
 * since it would count the same rows twice. Version 1 (`sha256:`, SHA-256 of the same parts, before
 * 2026-12) is still recognised by merge (fingerprintVersion) and combined as before.
 */
import { createHash } from 'node:crypto';
import type { Engine } from '../engine.js';
import type { Hasher } from '../hasher.js';
import { hashWords } from '../backends/js-hash.js';
import type { NpyShardSource } from '../io/npy-source.js';
import type { BlockSource, RowBlock } from '../io/stream.js';

/** The prefix of version 2 fingerprints. */
export const FINGERPRINT_PREFIX = 'lkfp2:';
/** First words of the hashed parts, so a shard's and a set's words never read alike ("lkf2", "lks2"). */
const SHARD_TAG = 0x6c6b6632;
const SET_TAG = 0x6c6b7332;

/** Passes the blocks of a shard source through, hashing each shard on the first full pass. */
export class FingerprintingSource implements BlockSource {
  readonly rows: number;
  readonly classes: number;
  readonly hasLabels: boolean;
  private result: string[] | null = null;

  constructor(
    private readonly src: NpyShardSource,
    private readonly lk: Pick<Engine, 'hasher'>,
  ) {
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
    const prints: string[] = [];
    let x: Hasher | null = null;
    let y: Hasher | null = null;
    // the next shard's pair of streams; its fingerprint once its last block has gone by
    const open = () => {
      x = this.lk.hasher();
      y = this.lk.hasher();
    };
    const close = () => {
      const s = shards[prints.length]!;
      prints.push(shardFingerprint(s.logits.rows, s.logits.cols, s.labels !== null, x!.digest(), y!.digest()));
    };
    // Each shard's streams are digested, and the next one's made, right after its last block is hashed:
    // never between a block's read into engine memory and its hashing (an allocation there may grow
    // the memory, and the block's view would have no length left).
    let end = 0;
    const advance = (done: number) => {
      while (prints.length < shards.length && done >= end) {
        if (x) close();
        if (prints.length < shards.length) {
          open();
          end += shards[prints.length]!.logits.rows;
        }
      }
    };
    try {
      advance(0);
      for (const blk of this.src.blocks()) {
        // The block is hashed by its consumer (RowBlock.work: beside its engine calls, score's
        // accumulator), or here once the consumer asks for the next block.
        let hashed = false;
        const xs = x!;
        const ys = y!;
        const work = (now: Float32Array): void => {
          if (hashed) return;
          hashed = true;
          // a view of engine memory taken before it grew has no length left: never hash that as the data
          if (now.length !== blk.rows * this.classes) throw new Error(`internal error: a block of ${blk.rows} rows holds ${now.length} logits`);
          xs.update(now);
          if (blk.labels) ys.update(blk.labels);
        };
        yield { ...blk, work };
        work(blk.x);
        // blocks never straddle shards; empty shards are stepped over
        advance(blk.start + blk.rows);
      }
      if (prints.length < shards.length) throw new Error(`internal error: the pass ended in shard ${prints.length + 1} of ${shards.length}`);
      this.result = prints;
    } finally {
      // a pass stopped early: the engine memory of the streams not digested goes back
      (x as Hasher | null)?.free();
      (y as Hasher | null)?.free();
    }
  }

  /** One fingerprint per shard, in order; only after a complete pass. */
  fingerprints(): string[] {
    if (!this.result) throw new Error('internal error: fingerprints asked for before a complete pass over the shards');
    return this.result;
  }
}

/** The words of a digest's 32 hex digits (the order digestHex writes them in reverse: lo, hi, lo, hi). */
function digestWords(hex: string): number[] {
  const w = (i: number) => parseInt(hex.slice(8 * i, 8 * i + 8), 16);
  return [w(1), w(0), w(3), w(2)];
}

/** A version 2 fingerprint of a shard's parts: the hash of (tag, rows as two words, columns, kind, digest a, digest b). */
function partsFingerprint(tag: number, rows: number, cols: number, kind: number, a: string, b: string): string {
  const words = Uint32Array.from([tag, rows >>> 0, Math.floor(rows / 2 ** 32), cols, kind, ...digestWords(a), ...digestWords(b)]);
  return FINGERPRINT_PREFIX + hashWords(words);
}

/** A shard's version 2 fingerprint: the hash of (tag, rows, classes, labels or not, the logits' digest, the labels' digest). */
export function shardFingerprint(rows: number, cols: number, labels: boolean, logits: string, labelDigest: string): string {
  return partsFingerprint(SHARD_TAG, rows, cols, labels ? 1 : 0, logits, labelDigest);
}

/** First word of a multi-label shard's hashed parts ("lkm2"), then the input kind's code. */
const MULTILABEL_TAG = 0x6c6b6d32;
const INPUT_CODES = { logits: 0, probs: 1, logprobs: 2 } as const;

/**
 * A `score --multilabel` shard's version 2 fingerprint: the hash of (tag, rows, labels, the input kind,
 * the float32 scores' digest, the 0/1 targets' digest; the targets hashed as int32 whatever their
 * dtype, so bool, int and float files of the same targets agree).
 */
export function multilabelFingerprint(rows: number, cols: number, input: keyof typeof INPUT_CODES, scores: string, targets: string): string {
  return partsFingerprint(MULTILABEL_TAG, rows, cols, INPUT_CODES[input], scores, targets);
}

/** A fingerprint's version: 1 for `sha256:`, 2 for `lkfp2:`, else its text before the first colon (unknown). */
export function fingerprintVersion(fp: string): string {
  if (fp.startsWith('sha256:')) return '1';
  if (fp.startsWith(FINGERPRINT_PREFIX)) return '2';
  const colon = fp.indexOf(':');
  return colon < 0 ? fp : fp.slice(0, colon + 1);
}

function combine(parts: string[]): string {
  return `sha256:${createHash('sha256').update(parts.join('\n')).digest('hex')}`;
}

/**
 * The fingerprint of a set of shards (order-free, as merged figures are): a single shard's own; of
 * version 1 shards alone, SHA-256 as before; otherwise (version 2, or versions mixed) the version 2
 * hash of the sorted fingerprints' text.
 */
export function fingerprintOf(shards: readonly string[]): string {
  if (shards.length === 1) return shards[0];
  const sorted = [...shards].sort();
  if (sorted.every((f) => f.startsWith('sha256:'))) return combine(['logitkit shards', ...sorted]);
  const text = new TextEncoder().encode(sorted.join('\n'));
  const words = new Uint32Array(3 + Math.ceil(text.length / 4));
  words.set([SET_TAG, sorted.length, text.length]);
  new Uint8Array(words.buffer, 12).set(text);
  return FINGERPRINT_PREFIX + hashWords(words);
}
