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

/** The ring the scoring thread copies blocks into for the hashing thread: SLOTS slots of SLOT bytes. */
const SLOTS = 4;
const SLOT = 1 << 20;
/**
 * Int32 control words after the slots' states: DONE (1: digests written, −1: the thread failed), QUIT,
 * and WAITING (1 while the thread sleeps: waking it is a futex call the scoring thread makes only then).
 */
const DONE = SLOTS;
const QUIT = SLOTS + 1;
const WAITING = SLOTS + 2;
/** The hashing thread makes progress far faster than this; past it, something is wrong. */
const STALL_MS = 120_000;

// Slot i: state ctl[i] (0 free, 1 full), stream meta[2i] (−1: write the digests) and length meta[2i + 1].
const HASH_WORKER = `'use strict';
const { workerData } = require('node:worker_threads');
const { createHash } = require('node:crypto');
const { ring, control, metaBuf, outBuf, streams } = workerData;
const ctl = new Int32Array(control);
const meta = new Int32Array(metaBuf);
const out = new Uint8Array(outBuf);
const hashes = Array.from({ length: streams }, () => createHash('sha256'));
try {
  for (let j = 0; ; j = (j + 1) % ${SLOTS}) {
    while (Atomics.load(ctl, j) === 0) {
      if (Atomics.load(ctl, ${QUIT}) !== 0) process.exit(0);
      Atomics.store(ctl, ${WAITING}, 1);
      Atomics.wait(ctl, j, 0, 50);
      Atomics.store(ctl, ${WAITING}, 0);
    }
    const stream = meta[2 * j];
    if (stream < 0) {
      hashes.forEach((h, i) => out.set(Buffer.from(h.digest('hex'), 'latin1'), 64 * i));
      Atomics.store(ctl, ${DONE}, 1);
      Atomics.notify(ctl, ${DONE});
      break;
    }
    hashes[stream].update(new Uint8Array(ring, j * ${SLOT}, meta[2 * j + 1]));
    Atomics.store(ctl, j, 0);
    Atomics.notify(ctl, j);
  }
} catch (e) {
  Atomics.store(ctl, ${DONE}, -1);
  Atomics.notify(ctl, ${DONE});
  for (let j = 0; j < ${SLOTS}; j++) Atomics.notify(ctl, j);
}
`;

/**
 * SHA-256 on a worker thread. The scoring thread stays synchronous and allocates nothing per block:
 * it copies each block, a slot at a time, into a ring of shared memory (a fresh copy per block cost
 * more in page faults than the hash itself), sleeps in Atomics.wait only when the ring is full, and
 * waits for the digests, which the thread writes into shared memory. The thread needs no messages, so
 * it keeps working while the scoring thread never returns to its event loop.
 */
class HashThread implements Hasher {
  readonly #ring = new Uint8Array(new SharedArrayBuffer(SLOTS * SLOT));
  readonly #ctl = new Int32Array(new SharedArrayBuffer(4 * (SLOTS + 3)));
  readonly #meta = new Int32Array(new SharedArrayBuffer(8 * SLOTS));
  readonly #out: Uint8Array;
  readonly #worker: Worker;
  readonly #streams: number;
  #next = 0;

  constructor(streams: number) {
    this.#streams = streams;
    this.#out = new Uint8Array(new SharedArrayBuffer(64 * streams));
    this.#worker = new Worker(HASH_WORKER, {
      eval: true,
      workerData: { ring: this.#ring.buffer, control: this.#ctl.buffer, metaBuf: this.#meta.buffer, outBuf: this.#out.buffer, streams },
    });
    this.#worker.unref();
  }

  update(stream: number, data: Uint8Array): void {
    for (let at = 0; at < data.length; at += SLOT) {
      const n = Math.min(SLOT, data.length - at);
      const j = this.#claim();
      this.#ring.set(data.subarray(at, at + n), j * SLOT);
      this.#post(j, stream, n);
    }
  }

  digests(): string[] {
    this.#post(this.#claim(), -1, 0);
    this.#await(DONE, 0);
    return Array.from({ length: this.#streams }, (_, i) => Buffer.from(this.#out.subarray(64 * i, 64 * i + 64)).toString('latin1'));
  }

  close(): void {
    Atomics.store(this.#ctl, QUIT, 1);
    void this.#worker.terminate();
  }

  /** The next slot, once the thread has hashed what it held. */
  #claim(): number {
    const j = this.#next;
    this.#next = (j + 1) % SLOTS;
    this.#await(j, 1);
    return j;
  }

  #post(j: number, stream: number, length: number): void {
    this.#meta[2 * j] = stream;
    this.#meta[2 * j + 1] = length;
    Atomics.store(this.#ctl, j, 1);
    // the thread sets WAITING before it sleeps on slot j and its wait sees this store: no lost wake-up
    if (Atomics.load(this.#ctl, WAITING) !== 0) Atomics.notify(this.#ctl, j);
  }

  /** Sleeps while ctl[at] = busy; throws if the thread failed or stops making progress. */
  #await(at: number, busy: number): void {
    const t0 = Date.now();
    while (Atomics.load(this.#ctl, at) === busy) {
      if (Atomics.load(this.#ctl, DONE) === -1) throw new Error('internal error: the fingerprint thread failed');
      if (Date.now() - t0 > STALL_MS) throw new Error('internal error: the fingerprint thread stopped making progress');
      Atomics.wait(this.#ctl, at, busy, 50);
    }
    if (Atomics.load(this.#ctl, DONE) === -1) throw new Error('internal error: the fingerprint thread failed');
  }
}

function combine(parts: string[]): string {
  return `sha256:${createHash('sha256').update(parts.join('\n')).digest('hex')}`;
}

/** The fingerprint of a set of shards (order-free, as merged figures are): a single shard's own. */
export function fingerprintOf(shards: readonly string[]): string {
  return shards.length === 1 ? shards[0] : combine(['logitkit shards', ...[...shards].sort()]);
}
