/**
 * Row blocks: the one shape in which metrics see data, whether it lives in memory or in .npy files.
 *
 * A BlockSource yields blocks of whole rows (float32 logits, optionally int32 labels). A file source
 * walks one or more (logits, labels) shards in order, reading a few MB at a time, so the peak memory
 * is a few blocks whatever the file size. Block arrays are reused between blocks: a consumer must
 * finish with a block before asking for the next one.
 *
 * This file has no Node imports: metrics (which reach browser bundles through the engine) use it.
 * The file-backed source lives in npy-source.ts.
 */

export interface RowBlock {
  /** rows × classes float32 logits, row-major. */
  readonly x: Float32Array;
  /** rows int32 labels (when the source has labels). */
  readonly labels: Int32Array | null;
  /** rows int32 group ids (when the source has groups). */
  readonly groups?: Int32Array | null;
  /**
   * With --input probs: the probabilities as read, before x became ln p. AUROC ranks these (a
   * softmax(ln p) recomputed in float32 turns exact ties into one-ulp near-ties).
   */
  readonly probs?: Float32Array | null;
  readonly rows: number;
  /** Index of this block's first row in the whole source. */
  readonly start: number;
  /**
   * Work the source still has to do on this block (a fingerprint hashes it), which a consumer may run
   * at any time before it asks for the next block — beside its own engine calls (Engine.overlap), say
   * — passing x as it holds it now (a fresh view where engine memory grew since). Work not run by then
   * runs when the next block is asked for; it runs once either way.
   */
  readonly work?: ((x: Float32Array) => void) | null;
}

export interface BlockSource {
  readonly rows: number;
  readonly classes: number;
  readonly hasLabels: boolean;
  /** A fresh pass over all rows; may be called again for another pass. */
  blocks(): Iterable<RowBlock>;
  /** Names a global row for error messages, e.g. "row 17 of labels.npy"; defaults to "row 17". */
  describeRow?(row: number, what: 'logits' | 'labels' | 'groups'): string;
  /** The bootstrap key of the shard holding a global row and the row's index in it (default: 0, row). */
  bootstrapKey?(row: number): { key: number; row: number };
}

/** Wraps in-memory arrays as a source of one block (or of blocks of `blockRows` rows). */
export function arraySource(x: Float32Array, classes: number, labels: Int32Array | null, blockRows = Infinity): BlockSource {
  const rows = classes > 0 ? x.length / classes : 0;
  return {
    rows,
    classes,
    hasLabels: labels !== null,
    *blocks() {
      const step = Math.max(1, Math.min(rows, blockRows));
      for (let start = 0; start < rows; start += step) {
        const n = Math.min(step, rows - start);
        yield {
          x: x.subarray(start * classes, (start + n) * classes),
          labels: labels ? labels.subarray(start, start + n) : null,
          rows: n,
          start,
        };
      }
    },
  };
}
