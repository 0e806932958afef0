/**
 * The file-backed BlockSource: one or more (logits, labels) .npy shards read in row blocks.
 * Kept apart from stream.ts so that node:fs never reaches a browser bundle.
 */
import { NpyError, NpyFile } from './npy.js';

/** A block's float32 buffer; a row too large for this process is an error naming the file, not a RangeError. */
export function blockBuffer(elements: number, file: string): Float32Array<ArrayBuffer> {
  try {
    return new Float32Array(elements);
  } catch {
    throw new NpyError(file, `a block of ${elements} float32 values (${(elements * 4 / 2 ** 20).toFixed(0)} MiB) does not fit in memory; rows this long cannot be processed here`);
  }
}

/**
 * An engine error (e.g. out_of_memory for one huge row) raised while processing a file, as an error
 * that names the file: the CLI prints one line, and it must say which input it is about.
 */
export function namingFile(e: unknown, file: string, inputs: readonly (string | undefined)[] = [file]): unknown {
  if (e instanceof NpyError || !(e instanceof Error) || typeof (e as { code?: unknown }).code !== 'string') return e;
  if (inputs.some((f) => f !== undefined && e.message.includes(f))) return e;
  return new NpyError(file, e.message);
}
import type { BlockSource, RowBlock } from './stream.js';

export interface Shard {
  logits: string;
  labels?: string;
}

/** Progress callback: rows done in this pass, total rows, pass number (0-based). */
export type ProgressFn = (done: number, total: number, pass: number) => void;

/**
 * One or more .npy shards read in row blocks. Opening validates everything that can be checked
 * without reading the data: dtypes, ranks, equal class counts across shards, label rows == logit rows.
 */
export class NpyShardSource implements BlockSource {
  readonly rows: number;
  readonly classes: number;
  readonly hasLabels: boolean;
  readonly shards: readonly { logits: NpyFile; labels: NpyFile | null }[];
  private readonly blockBytes: number;
  onProgress: ProgressFn | null = null;
  private pass = 0;
  /** The logits file of the block being processed (errors raised on that block name it). */
  current: string | null = null;

  constructor(shards: readonly Shard[], opts: { blockBytes?: number } = {}) {
    this.blockBytes = opts.blockBytes ?? 4 << 20;
    const opened: { logits: NpyFile; labels: NpyFile | null }[] = [];
    try {
      for (const s of shards) {
        const logits = NpyFile.open(s.logits, 'logits');
        opened.push({ logits, labels: null });
        if (s.labels !== undefined) {
          const labels = NpyFile.open(s.labels, 'labels');
          opened[opened.length - 1].labels = labels;
          if (labels.rows !== logits.rows) {
            throw new NpyError(s.labels, `has ${labels.rows} labels but ${s.logits} has ${logits.rows} rows`);
          }
        }
        if (logits.cols !== opened[0].logits.cols) {
          throw new NpyError(s.logits, `has ${logits.cols} classes but ${opened[0].logits.path} has ${opened[0].logits.cols}`);
        }
        if (logits.cols < 1) throw new NpyError(s.logits, 'has 0 classes');
      }
    } catch (e) {
      for (const o of opened) {
        o.logits.close();
        o.labels?.close();
      }
      throw e;
    }
    this.shards = opened;
    this.classes = opened.length ? opened[0].logits.cols : 0;
    this.rows = opened.reduce((a, o) => a + o.logits.rows, 0);
    if (opened.length > 0 && this.rows === 0) {
      this.close();
      const what = opened.length === 1 ? 'has 0 rows' : `and the other ${opened.length - 1} shard(s) have 0 rows`;
      throw new NpyError(opened[0].logits.path, `${what} (shape (${opened[0].logits.header.shape.join(', ')})): there is nothing to compute`);
    }
    this.hasLabels = opened.length > 0 && opened.every((o) => o.labels !== null);
  }

  *blocks(): Iterable<RowBlock> {
    const pass = this.pass++;
    const C = this.classes;
    const blockRows = Math.max(1, Math.floor(this.blockBytes / (4 * Math.max(1, C))));
    const xBuf = blockBuffer(blockRows * C, this.shards[0]?.logits.path ?? '?');
    const yBuf = new Int32Array(blockRows);
    let global = 0;
    for (const s of this.shards) {
      this.current = s.logits.path;
      for (let r = 0; r < s.logits.rows; r += blockRows) {
        const n = Math.min(blockRows, s.logits.rows - r);
        const x = s.logits.readFloat32(r, n, xBuf);
        const labels = s.labels ? s.labels.readInt32(r, n, yBuf) : null;
        yield { x, labels, rows: n, start: global };
        global += n;
        this.onProgress?.(global, this.rows, pass);
      }
    }
  }

  /** The shard (file names) a global row index belongs to, for error messages. */
  locate(row: number): { logits: string; labels: string | null; row: number } {
    let r = row;
    for (const s of this.shards) {
      if (r < s.logits.rows) return { logits: s.logits.path, labels: s.labels?.path ?? null, row: r };
      r -= s.logits.rows;
    }
    return { logits: '?', labels: null, row };
  }

  describeRow(row: number, what: 'logits' | 'labels'): string {
    const at = this.locate(row);
    const file = what === 'labels' && at.labels ? at.labels : at.logits;
    return `row ${at.row} of ${file}`;
  }

  close(): void {
    for (const s of this.shards) {
      s.logits.close();
      s.labels?.close();
    }
  }
}
