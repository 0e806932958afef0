/**
 * The bootstrap key of a shard (metrics/bootstrap.ts): computed when the shard is opened, before any
 * row is read, because each row's replicate weights depend on it. It hashes cheap content of each of
 * the shard's files — path-independent, so a renamed or copied shard keeps its weights: the array's
 * shape and dtype, the file's size, and its first and last 64 KiB. Two shards that differ only in
 * their middle bytes get the same key (their weights then coincide row for row, which is harmless);
 * the cli's `fingerprint` of the data is computed while streaming, too late to key the weights.
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';

const EDGE = 64 * 1024;

/** FNV-1a over bytes, 32-bit, continuing from h. */
function fnv(h: number, bytes: Uint8Array): number {
  for (let i = 0; i < bytes.length; i++) h = Math.imul(h ^ bytes[i], 0x01000193);
  return h >>> 0;
}

export function shardKey(files: readonly { path: string; shape: readonly number[]; descr: string }[]): number {
  let h = 0x811c9dc5;
  const text = new TextEncoder();
  for (const f of files) {
    h = fnv(h, text.encode(`${f.descr}|${f.shape.join(',')}|`));
    const fd = openSync(f.path, 'r');
    try {
      const size = fstatSync(fd).size;
      h = fnv(h, text.encode(`${size}|`));
      const head = Buffer.alloc(Math.min(EDGE, size));
      readSync(fd, head, 0, head.length, 0);
      h = fnv(h, head);
      const tail = Buffer.alloc(Math.min(EDGE, size));
      readSync(fd, tail, 0, tail.length, size - tail.length);
      h = fnv(h, tail);
    } finally {
      closeSync(fd);
    }
  }
  return h >>> 0;
}
