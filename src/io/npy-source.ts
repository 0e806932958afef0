/**
 * The file-backed BlockSource: one or more (logits, labels) .npy shards read in row blocks.
 * Kept apart from stream.ts so that node:fs never reaches a browser bundle.
 */
import { ExtractedMembers, containerOf, openArray, pickKey, prepareArray } from './arrays.js';
import { NpyError, NpyFile } from './npy.js';
import { shardKey } from './shard-key.js';
import type { BlockSource, RowBlock } from './stream.js';

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

/**
 * One (logits, labels) pair of files. Each may be an .npy, an .npz or a .safetensors file; the keys
 * pick the array inside a container (defaults: arrays.ts DEFAULT_KEYS). `labels` may name the same
 * container as `logits` (np.savez(logits=…, labels=…)).
 */
export interface Shard {
  logits: string;
  labels?: string;
  logitsKey?: string;
  labelsKey?: string;
  /** One integer group id per row (slices), from its own file or an array of a container. */
  groups?: string;
  groupsKey?: string;
}

/**
 * What the logits files hold. 'probs' are turned into logits as z = ln p (p = 0 → −∞), which
 * softmax maps back to p exactly when rows sum to 1; 'logprobs' are logits already (up to a
 * per-row constant).
 */
export type InputKind = 'logits' | 'probs' | 'logprobs';

/** How far a probability row's sum may be from 1 before it is counted in `offRows`. */
export const PROB_SUM_TOLERANCE = 1e-3;

/** The first block `--input auto` looks at: 4 MiB of values (rounded down to whole rows, at least one). */
export const DETECT_BYTES = 4 << 20;

/**
 * `--input auto`: what a block of rows holds. 'probs' when every value is in [0, 1] and every row
 * sums to 1 ± PROB_SUM_TOLERANCE; 'logprobs' when every value is ≤ 0 (−∞ allowed) and every row's
 * Σ exp is 1 ± PROB_SUM_TOLERANCE; else 'logits'. One column is always 'logits' (a binary model's
 * single value has no row sum to tell a probability by). Scoring probabilities as logits gave the
 * LeNet record NLL 1.976 instead of 1.370 and ECE 36% instead of 10.8%, silently.
 */
export function detectInput(x: Float32Array, classes: number): InputKind {
  if (classes < 2 || x.length === 0) return 'logits';
  let probs = true;
  let logprobs = true;
  for (let i = 0; i < x.length && (probs || logprobs); i += classes) {
    let sum = 0;
    let expSum = 0;
    for (let j = i; j < i + classes; j++) {
      const v = x[j]!;
      if (!(v >= 0 && v <= 1)) probs = false;
      if (!(v <= 0)) logprobs = false;
      sum += v;
      expSum += Math.exp(v);
    }
    if (!(Math.abs(sum - 1) <= PROB_SUM_TOLERANCE)) probs = false;
    if (!(Math.abs(expSum - 1) <= PROB_SUM_TOLERANCE)) logprobs = false;
  }
  return probs ? 'probs' : logprobs ? 'logprobs' : 'logits';
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
  readonly shards: readonly { logits: NpyFile; labels: NpyFile | null; groups: NpyFile | null }[];
  readonly hasGroups: boolean;
  /** Per shard, its bootstrap key (shard-key.ts), computed here at open time. */
  readonly shardKeys: readonly number[];
  private readonly blockBytes: number;
  onProgress: ProgressFn | null = null;
  /**
   * Where to read each block's float32 values (asked per block, with its value count): e.g. a buffer
   * in the engine's memory, so the block is not copied there afterwards. Null: a buffer of the source's.
   */
  into: ((elements: number) => Float32Array) | null = null;
  private pass = 0;
  /** The logits file of the block being processed (errors raised on that block name it). */
  current: string | null = null;

  private readonly extracted: ExtractedMembers;
  private input: InputKind;
  /** With input 'probs': rows of the last pass whose sum is off 1 by more than PROB_SUM_TOLERANCE. */
  offRows = 0;

  /**
   * Opens every shard, inflating deflated .npz members (np.savez_compressed) into temporary files
   * first; close() removes them. The constructor alone serves everything else.
   */
  static async open(shards: readonly Shard[], opts: { blockBytes?: number; input?: InputKind } = {}): Promise<NpyShardSource> {
    const extracted = new ExtractedMembers();
    try {
      for (const s of resolveKeys(shards)) {
        if (s.logitsKey !== undefined) await prepareArray(s.logits, s.logitsKey, extracted);
        if (s.labels !== undefined && s.labelsKey !== undefined) await prepareArray(s.labels, s.labelsKey, extracted);
        if (s.groups !== undefined && s.groupsKey !== undefined) await prepareArray(s.groups, s.groupsKey, extracted);
      }
      return new NpyShardSource(shards, { ...opts, extracted });
    } catch (e) {
      extracted.dispose();
      throw e;
    }
  }

  constructor(shards: readonly Shard[], opts: { blockBytes?: number; extracted?: ExtractedMembers; input?: InputKind } = {}) {
    this.blockBytes = opts.blockBytes ?? 4 << 20;
    this.input = opts.input ?? 'logits';
    this.extracted = opts.extracted ?? new ExtractedMembers();
    const opened: { logits: NpyFile; labels: NpyFile | null; groups: NpyFile | null }[] = [];
    const keys: number[] = [];
    try {
      for (const s of resolveKeys(shards)) {
        const logits = openArray(s.logits, 'logits', s.logitsKey, this.extracted);
        opened.push({ logits, labels: null, groups: null });
        if (s.labels !== undefined) {
          const labels = openArray(s.labels, 'labels', s.labelsKey, this.extracted);
          opened[opened.length - 1].labels = labels;
          if (labels.rows !== logits.rows) {
            throw new NpyError(labels.path, `has ${labels.rows} labels but ${logits.path} has ${logits.rows} rows`);
          }
        }
        if (s.groups !== undefined) {
          const groups = openArray(s.groups, 'labels', s.groupsKey, this.extracted);
          opened[opened.length - 1].groups = groups;
          if (groups.rows !== logits.rows) throw new NpyError(groups.path, `has ${groups.rows} group ids but ${logits.path} has ${logits.rows} rows`);
        }
        if (logits.cols !== opened[0].logits.cols) {
          throw new NpyError(logits.path, `has ${logits.cols} classes but ${opened[0].logits.path} has ${opened[0].logits.cols}`);
        }
        if (logits.cols < 1) throw new NpyError(logits.path, 'has 0 classes');
        const o = opened[opened.length - 1];
        keys.push(
          shardKey([
            { path: s.logits, shape: logits.header.shape, descr: `${s.logitsKey ?? ''}:${logits.header.descr}` },
            ...(o.labels && s.labels !== undefined ? [{ path: s.labels, shape: o.labels.header.shape, descr: `${s.labelsKey ?? ''}:${o.labels.header.descr}` }] : []),
          ]),
        );
      }
    } catch (e) {
      for (const o of opened) {
        o.logits.close();
        o.labels?.close();
        o.groups?.close();
      }
      if (!opts.extracted) this.extracted.dispose();
      throw e;
    }
    this.shards = opened;
    this.shardKeys = keys;
    this.classes = opened.length ? opened[0].logits.cols : 0;
    this.rows = opened.reduce((a, o) => a + o.logits.rows, 0);
    if (opened.length > 0 && this.rows === 0) {
      this.close();
      const what = opened.length === 1 ? 'has 0 rows' : `and the other ${opened.length - 1} shard(s) have 0 rows`;
      throw new NpyError(opened[0].logits.path, `${what} (shape (${opened[0].logits.header.shape.join(', ')})): there is nothing to compute`);
    }
    this.hasLabels = opened.length > 0 && opened.every((o) => o.labels !== null);
    this.hasGroups = opened.length > 0 && opened.every((o) => o.groups !== null);
  }

  *blocks(): Iterable<RowBlock> {
    const pass = this.pass++;
    const C = this.classes;
    const blockRows = Math.max(1, Math.floor(this.blockBytes / (4 * Math.max(1, C))));
    let xBuf: Float32Array | null = null;
    const yBuf = new Int32Array(blockRows);
    const gBuf = this.hasGroups ? new Int32Array(blockRows) : null;
    const pBuf = this.input === 'probs' ? new Float32Array(blockRows * C) : null;
    let global = 0;
    this.offRows = 0;
    for (const s of this.shards) {
      this.current = s.logits.path;
      for (let r = 0; r < s.logits.rows; r += blockRows) {
        const n = Math.min(blockRows, s.logits.rows - r);
        const x = s.logits.readFloat32(r, n, this.into?.(n * C) ?? (xBuf ??= blockBuffer(blockRows * C, s.logits.path)));
        if (C === 1 && this.input !== 'logits') binaryToLogits(x, this.input === 'logprobs', s.logits.path, r);
        const probs = pBuf && C > 1 ? pBuf.subarray(0, x.length) : null;
        if (probs) {
          probs.set(x);
          this.offRows += probsToLogits(x, C, s.logits.path, r);
        }
        const labels = s.labels ? s.labels.readInt32(r, n, yBuf) : null;
        const groups = s.groups && gBuf ? s.groups.readInt32(r, n, gBuf) : null;
        yield { x, labels, groups, rows: n, start: global, probs };
        global += n;
        this.onProgress?.(global, this.rows, pass);
      }
    }
  }

  /**
   * `--input auto`: reads the first block of the first shard (detectInput), scores every block as
   * what it found from then on, and returns it. The block is DETECT_BYTES whatever this source reads
   * at a time (score reads 8 MiB), so every command and --block-mb decide alike.
   */
  detectInput(): InputKind {
    const first = this.shards[0]!.logits;
    const n = Math.min(first.rows, Math.max(1, Math.floor(DETECT_BYTES / (4 * Math.max(1, this.classes)))));
    this.input = detectInput(first.readFloat32(0, n), this.classes);
    return this.input;
  }

  /** The bootstrap key of the shard holding global row `row`, and the row's index in that shard. */
  bootstrapKey(row: number): { key: number; row: number } {
    let r = row;
    for (let i = 0; i < this.shards.length; i++) {
      if (r < this.shards[i].logits.rows) return { key: this.shardKeys[i], row: r };
      r -= this.shards[i].logits.rows;
    }
    return { key: 0, row };
  }

  /** The shard (file names) a global row index belongs to, for error messages. */
  locate(row: number): { logits: string; labels: string | null; groups: string | null; row: number } {
    let r = row;
    for (const s of this.shards) {
      if (r < s.logits.rows) return { logits: s.logits.path, labels: s.labels?.path ?? null, groups: s.groups?.path ?? null, row: r };
      r -= s.logits.rows;
    }
    return { logits: '?', labels: null, groups: null, row };
  }

  describeRow(row: number, what: 'logits' | 'labels' | 'groups'): string {
    const at = this.locate(row);
    const file = what === 'labels' && at.labels ? at.labels : what === 'groups' && at.groups ? at.groups : at.logits;
    return `row ${at.row} of ${file}`;
  }

  close(): void {
    for (const s of this.shards) {
      s.logits.close();
      s.labels?.close();
      s.groups?.close();
    }
    this.extracted.dispose();
  }
}

/**
 * Probabilities → logits in place (z = ln p; p = 0 gives −∞). A value outside [0, 1] or NaN is an
 * error naming its row; returns how many rows' sums are off 1 by more than PROB_SUM_TOLERANCE.
 */
function probsToLogits(x: Float32Array, classes: number, file: string, firstRow: number): number {
  let off = 0;
  for (let i = 0, r = 0; i < x.length; r++) {
    let sum = 0;
    for (const end = i + classes; i < end; i++) {
      const p = x[i];
      if (!(p >= 0 && p <= 1)) throw new NpyError(file, `row ${firstRow + r}: probability ${p} at class ${i - (end - classes)} is not in [0, 1] (--input probs)`);
      sum += p;
      x[i] = Math.log(p);
    }
    if (Math.abs(sum - 1) > PROB_SUM_TOLERANCE) off++;
  }
  return off;
}

/**
 * One column of p(y = 1) (or ln p) → the binary logit z = ln p − ln(1 − p) in place, so a binary
 * model given as probabilities is scored exactly like its logits (p = 1 → +∞, p = 0 → −∞). A value
 * outside [0, 1] (or a log-probability > 0), or NaN, is an error naming its row.
 */
function binaryToLogits(x: Float32Array, log: boolean, file: string, firstRow: number): void {
  for (let r = 0; r < x.length; r++) {
    const v = x[r]!;
    if (log ? !(v <= 0) : !(v >= 0 && v <= 1)) {
      throw new NpyError(file, `row ${firstRow + r}: ${log ? `log-probability ${v} is not <= 0 (--input logprobs)` : `probability ${v} is not in [0, 1] (--input probs)`}`);
    }
    // ln(1 − p) from ln p without cancellation: log1p(−p), or log(−expm1(ln p)).
    x[r] = log ? v - Math.log(-Math.expm1(v)) : Math.log(v) - Math.log1p(-v);
  }
}

/** Fills in the default keys of container files, so that labels from the logits' own file pair with them. */
function resolveKeys(shards: readonly Shard[]): Shard[] {
  return shards.map((s) => {
    const logitsKey = containerOf(s.logits) === 'npy' ? s.logitsKey : pickKey(s.logits, 'logits', s.logitsKey);
    if (s.labels === undefined) return { ...s, logitsKey };
    const sameFile = s.labels === s.logits && s.labelsKey === undefined;
    const labelsKey = containerOf(s.labels) === 'npy' ? s.labelsKey : pickKey(s.labels, 'labels', s.labelsKey, sameFile ? logitsKey : undefined);
    const groupsKey = s.groups === undefined || containerOf(s.groups) === 'npy' ? s.groupsKey : pickKey(s.groups, 'groups', s.groupsKey);
    return { ...s, logitsKey, labelsKey, groupsKey };
  });
}
