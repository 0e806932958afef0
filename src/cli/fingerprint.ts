/**
 * Fingerprints of scored inputs, so that `logitkit merge` can refuse a shard it has already counted.
 *
 * A shard's fingerprint is the SHA-256 of what was scored: its shape, the float32 logits and the int32
 * labels as read (one hash per array, so the block size does not matter). It is computed on the
 * scoring pass, which reads every row anyway; the same data under another name, or in another float
 * dtype that rounds to the same float32 values, gets the same fingerprint, since it would count the
 * same rows twice.
 */
import { createHash } from 'node:crypto';
import { Worker } from 'node:worker_threads';
import type { NpyShardSource } from '../io/npy-source.js';
import type { BlockSource, RowBlock } from '../io/stream.js';

const bytes = (a: Float32Array | Int32Array) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

/** Passes the blocks of a shard source through, hashing each shard on the first full pass. */
export class FingerprintingSource implements BlockSource {
  readonly rows: number;
  readonly classes: number;
  readonly hasLabels: boolean;
  private result: string[] | null = null;

  /**
   * `thread`: hash on a worker thread (default: when the logits pass 64 MB). SHA-256 of a 1.2 GB file
   * is 0.7 s of one core; on the scoring thread it adds to every run, on its own thread it fills a core
   * that waits while the scoring thread runs its JavaScript.
   */
  constructor(
    private readonly src: NpyShardSource,
    private readonly thread = src.rows * src.classes * 4 >= THREAD_BYTES,
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
    // two streams per shard: 2i the logits, 2i + 1 the labels
    const hasher = this.thread ? new HashThread(2 * shards.length) : new LocalHashes(2 * shards.length);
    try {
      let shard = 0;
      let end = shards.length ? shards[0].logits.rows : 0;
      for (const blk of this.src.blocks()) {
        // Blocks never straddle shards; empty shards are stepped over.
        while (blk.start >= end) end += shards[++shard].logits.rows;
        hasher.update(2 * shard, bytes(blk.x));
        if (blk.labels) hasher.update(2 * shard + 1, bytes(blk.labels));
        yield blk;
      }
      const hex = hasher.digests();
      this.result = shards.map((s, i) =>
        combine([`logitkit fingerprint 1: ${s.logits.rows} x ${s.logits.cols} float32 logits, ${s.labels ? 'int32 labels' : 'no labels'}`, hex[2 * i]!, hex[2 * i + 1]!]),
      );
    } finally {
      hasher.close();
    }
  }

  /** One fingerprint per shard, in order; only after a complete pass. */
  fingerprints(): string[] {
    if (!this.result) throw new Error('internal error: fingerprints asked for before a complete pass over the shards');
    return this.result;
  }
}

/** Inputs from this size on are hashed on a worker thread. */
const THREAD_BYTES = 64 << 20;

interface Hasher {
  update(stream: number, data: Uint8Array): void;
  /** Hex SHA-256 of each stream; once. */
  digests(): string[];
  close(): void;
}

class LocalHashes implements Hasher {
  readonly #h;
  constructor(streams: number) {
    this.#h = Array.from({ length: streams }, () => createHash('sha256'));
  }
  update(stream: number, data: Uint8Array): void {
    this.#h[stream]!.update(data);
  }
  digests(): string[] {
    return this.#h.map((h) => h.digest('hex'));
  }
  close(): void {}
}

/** Control words shared with the hashing thread. */
const BYTES_IN_FLIGHT = 0;
const DONE = 1; // 1: digests written; −1: the thread failed
/** Copies waiting for the hashing thread stop the reader above this (a few blocks). */
const MAX_IN_FLIGHT = 16 << 20;
/** The hashing thread makes progress far faster than this; past it, something is wrong. */
const STALL_MS = 120_000;

const HASH_WORKER = `'use strict';
const { parentPort, workerData } = require('node:worker_threads');
const { createHash } = require('node:crypto');
const ctl = new Int32Array(workerData.ctl);
const out = new Uint8Array(workerData.out);
const hashes = Array.from({ length: workerData.streams }, () => createHash('sha256'));
parentPort.on('message', (m) => {
  try {
    if (m.digest) {
      hashes.forEach((h, i) => out.set(Buffer.from(h.digest('hex'), 'latin1'), 64 * i));
      Atomics.store(ctl, ${DONE}, 1);
    } else {
      hashes[m.stream].update(new Uint8Array(m.buf));
      Atomics.sub(ctl, ${BYTES_IN_FLIGHT}, m.buf.byteLength);
    }
  } catch (e) {
    Atomics.store(ctl, ${DONE}, -1);
  }
  Atomics.notify(ctl, ${BYTES_IN_FLIGHT});
  Atomics.notify(ctl, ${DONE});
});
`;

/**
 * SHA-256 on a worker thread. The scoring thread stays synchronous: it posts a copy of each block
 * (the source reuses its buffers), sleeps in Atomics.wait only while more than MAX_IN_FLIGHT bytes
 * wait, and waits for the digests, which the thread writes into shared memory.
 */
class HashThread implements Hasher {
  readonly #ctl = new Int32Array(new SharedArrayBuffer(8));
  readonly #out: Uint8Array;
  readonly #worker: Worker;
  readonly #streams: number;

  constructor(streams: number) {
    this.#streams = streams;
    this.#out = new Uint8Array(new SharedArrayBuffer(64 * streams));
    this.#worker = new Worker(HASH_WORKER, { eval: true, workerData: { ctl: this.#ctl.buffer, out: this.#out.buffer, streams } });
    this.#worker.unref();
    // a failure to start shows as DONE = −1 to the waits below (they cannot see this event while they block)
    this.#worker.on('error', () => {
      Atomics.store(this.#ctl, DONE, -1);
    });
  }

  update(stream: number, data: Uint8Array): void {
    this.#await(BYTES_IN_FLIGHT, (v) => v <= MAX_IN_FLIGHT - data.byteLength || v === 0);
    const copy = data.slice();
    Atomics.add(this.#ctl, BYTES_IN_FLIGHT, copy.byteLength);
    this.#worker.postMessage({ stream, buf: copy.buffer }, [copy.buffer]);
  }

  digests(): string[] {
    this.#worker.postMessage({ digest: true });
    this.#await(DONE, (v) => v === 1);
    return Array.from({ length: this.#streams }, (_, i) => Buffer.from(this.#out.subarray(64 * i, 64 * i + 64)).toString('latin1'));
  }

  close(): void {
    void this.#worker.terminate();
  }

  /** Sleeps until ctl[at] satisfies ok; throws if the thread failed or stops making progress. */
  #await(at: number, ok: (v: number) => boolean): void {
    let since = Date.now();
    let seen = Atomics.load(this.#ctl, at);
    while (!ok(seen)) {
      if (Atomics.load(this.#ctl, DONE) === -1) throw new Error('internal error: the fingerprint thread failed');
      Atomics.wait(this.#ctl, at, seen, 50);
      const now = Atomics.load(this.#ctl, at);
      if (now !== seen) since = Date.now();
      else if (Date.now() - since > STALL_MS) throw new Error('internal error: the fingerprint thread stopped making progress');
      seen = now;
    }
  }
}

function combine(parts: string[]): string {
  return `sha256:${createHash('sha256').update(parts.join('\n')).digest('hex')}`;
}

/** The fingerprint of a set of shards (order-free, as merged figures are): a single shard's own. */
export function fingerprintOf(shards: readonly string[]): string {
  return shards.length === 1 ? shards[0] : combine(['logitkit shards', ...[...shards].sort()]);
}
