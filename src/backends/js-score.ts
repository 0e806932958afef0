/**
 * The JS reference of the scoring accumulators (assembly/kernels/score.ts is the wasm kernel): the same
 * state layout and the same rules, written the obvious way, row by row in float64.
 */
import type { BootstrapArgs } from './backend.js';
import { replicateWeight, rowHash } from '../bootstrap-weights.js';
import { binOf } from '../options.js';
import { AUROC_BINS, AUROC_POSITION_BITS, AUROC_Q, fineOfBits } from '../auroc-bins.js';

/**
 * Adds a block's rows to the replicate sums in `state` (layout: bootstrapStateLength); returns the
 * rows whose confidence is NaN (left out of the bins). A zero weight adds nothing, so a row's
 * infinite NLL reaches only the replicates that drew it.
 */
export function bootstrapSums(a: BootstrapArgs, hit: Uint8Array, nll: Float64Array, conf: Float32Array, state: Float64Array): number {
  const { rows, replicates: R, bins: M } = a;
  const Rp = (R + 7) & ~7;
  const binW = 3 * Rp;
  const binC = binW + M * Rp;
  const binK = binC + M * Rp;
  let nan = 0;
  for (let i = 0; i < rows; i++) {
    const h = rowHash(a.seedKey, a.first + i);
    const c = conf[i]!;
    const k = hit[i]!;
    const l = nll[i]!;
    const b = c !== c ? -1 : binOf(c, M);
    if (b < 0) nan++;
    for (let r = 0; r < R; r++) {
      const w = replicateWeight(h, r);
      if (w === 0) continue;
      state[r] += w;
      state[Rp + r] += w * k;
      state[2 * Rp + r] += w * l;
      if (b >= 0) {
        state[binW + b * Rp + r] += w;
        state[binC + b * Rp + r] += w * c;
        state[binK + b * Rp + r] += w * k;
      }
    }
  }
  return nan;
}

/**
 * Adds rows × classes float32 probabilities to the AUROC cells: at 2·(k · AUROC_BINS + b) the rows
 * whose p_k falls in bin b, at the next index the sum of their positions. Rows whose first value is NaN
 * are skipped; returns how many.
 */
export function aurocCounts(p: Float32Array, rows: number, classes: number, cells: Uint32Array): number {
  const bits = new Uint32Array(p.buffer, p.byteOffset, rows * classes);
  let nan = 0;
  for (let r = 0; r < rows; r++) {
    const v = p[r * classes]!;
    if (v !== v) {
      nan++;
      continue;
    }
    for (let k = 0; k < classes; k++) {
      const f = fineOfBits(bits[r * classes + k]!);
      const c = 2 * (k * AUROC_BINS + (f >>> AUROC_POSITION_BITS));
      cells[c]! += 1;
      cells[c + 1]! += f & (AUROC_Q - 1);
    }
  }
  return nan;
}
