/**
 * Overlapping the metrics' own JavaScript with the engine's threads (Engine.overlap): what a metric
 * keeps in plain arrays for a block (selective prediction's confidences, the AUROC positives, the
 * confusion counts) runs on the calling thread while the workers compute the block's next kernel.
 */

/** An engine that can overlap JavaScript with its threads (Engine.overlap); a minimal one cannot. */
export interface OverlapEngine {
  overlap?<T>(meanwhile: () => void, ops: () => T): T;
}

/** lk.overlap(meanwhile, ops) when there is something to overlap and the engine can; else ops, then meanwhile. */
export function overlapped<T>(lk: OverlapEngine, meanwhile: (() => void) | null, ops: () => T): T {
  if (meanwhile === null) return ops();
  if (lk.overlap) return lk.overlap(meanwhile, ops);
  const r = ops();
  meanwhile();
  return r;
}
