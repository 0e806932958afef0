/**
 * The JS reference of the scoring accumulators (assembly/kernels/score.ts is the wasm kernel): the same
 * state layout and the same rules, written the obvious way, row by row in float64.
 */
import type { AurocCountsArgs, BootstrapArgs, ScoreRowsArgs } from './backend.js';
import { ROW_SCORE_FINE_BINS, rowScoreLayout } from '../accumulators.js';
import { replicateWeight, rowHash } from '../bootstrap-weights.js';
import { binOf } from '../options.js';
import { AUROC_BINS, AUROC_COUNT_SHIFT, AUROC_POSITION_BITS, AUROC_Q, fineOfBits } from '../auroc-bins.js';

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
 * Adds rows × classes float32 probabilities to the packed AUROC cells: at k · AUROC_BINS + b the rows
 * whose p_k falls in bin b (times 2^18) plus the sum of their positions. A cell that reaches a.limit
 * rows is appended to class k's log as (b, value) and restarts at 0. Rows whose first value is NaN are
 * skipped.
 */
export function aurocCounts(p: Float32Array, rows: number, classes: number, a: AurocCountsArgs): void {
  const { cells, log } = a;
  const bits = new Uint32Array(p.buffer, p.byteOffset, rows * classes);
  const full = a.limit * 2 ** AUROC_COUNT_SHIFT;
  const logLen = 2 + 2 * a.logCap;
  for (let r = 0; r < rows; r++) {
    const v = p[r * classes]!;
    if (v !== v) continue;
    for (let k = 0; k < classes; k++) {
      const f = fineOfBits(bits[r * classes + k]!);
      const c = k * AUROC_BINS + (f >>> AUROC_POSITION_BITS);
      const sum = cells[c]! + 2 ** AUROC_COUNT_SHIFT + (f & (AUROC_Q - 1));
      if (sum < full) cells[c] = sum;
      else {
        const l = k * logLen;
        const used = log[l]!;
        if (used >= a.logCap) throw new Error(`aurocCounts: class ${k}'s spill log is full (${rows} rows > logCap ${a.logCap})`);
        log[l + 2 + 2 * used] = f >>> AUROC_POSITION_BITS;
        log[l + 3 + 2 * used] = sum;
        log[l] = used + 1;
        cells[c] = 0;
      }
    }
  }
}

/**
 * Adds a block to the row-summary state (layout: rowScoreLayout) as src/metrics/summary.ts did row by
 * row: NLL, hit, top-k hit by rank in x (SEMANTICS §8 order), confidence bins (equal-width and fine),
 * Brier, entropy, per-class sums and the classwise bins of every p_k. Writes hit, NLL and confidence
 * per row. A NaN p_k in a row whose p_0 is a number (not a softmax) goes to bin 0, as in the kernel.
 */
export function scoreRows(a: ScoreRowsArgs, x: Float32Array, p: Float32Array, lp: Float32Array, labels: Int32Array, pred: Int32Array, state: Float64Array, hitOut: Uint8Array, nllOut: Float64Array, confOut: Float32Array): void {
  const { rows, classes: C, bins: M, k } = a;
  const L = rowScoreLayout(C, M);
  const F = ROW_SCORE_FINE_BINS;
  const bin = (v: number, m: number) => (v !== v ? 0 : binOf(v, m));
  let nll = 0;
  let correct = 0;
  let topk = 0;
  let brier = 0;
  let ent = 0;
  let relNan = 0;
  let cwNan = 0;
  for (let r = 0; r < rows; r++) {
    const o = r * C;
    const y = labels[r]!;
    const c = pred[r]!;
    const l = -lp[o + y]!;
    nll += l;
    nllOut[r] = l;
    const hit = c === y ? 1 : 0;
    hitOut[r] = hit;
    correct += hit;
    state[L.classCorrect + y] += hit;
    state[L.support + y] += 1;
    state[L.predicted + c] += 1;
    if (k === 1) topk += hit;
    else {
      // classes ranking above y: NaN above every number, ties to the lower index
      const xy = x[o + y]!;
      let above = 0;
      for (let j = 0; j < C; j++) {
        if (j === y) continue;
        const v = x[o + j]!;
        if (xy !== xy ? j < y && v !== v : j < y ? !(v < xy) : !(v <= xy)) above++;
      }
      if (above < k) topk++;
    }
    const conf = p[o + c]!;
    confOut[r] = conf;
    if (conf !== conf) relNan++;
    else {
      const b = binOf(conf, M);
      state[L.relCount + b] += 1;
      state[L.relConf + b] += conf;
      state[L.relCorrect + b] += hit;
      const f = binOf(conf, F);
      state[L.fineCount + f] += 1;
      state[L.fineConf + f] += conf;
      state[L.fineCorrect + f] += hit;
    }
    const classwise = p[o] === p[o]; // softmax rows are NaN all together
    if (!classwise) cwNan++;
    else state[L.cwPositives + y * M + bin(p[o + y]!, M)] += 1;
    let sq = 0;
    let h = 0;
    for (let j = 0; j < C; j++) {
      const pj = p[o + j]!;
      const lpj = lp[o + j]!;
      sq += pj * pj;
      if (lpj !== -Infinity) h -= pj * lpj; // 0·log 0 = 0
      state[L.probSum + j] += pj;
      state[L.logitSum + j] += x[o + j]!;
      if (classwise) {
        const i = j * M + bin(pj, M);
        state[L.cwCount + i] += 1;
        state[L.cwProb + i] += pj;
      }
    }
    brier += sq - 2 * p[o + y]! + 1;
    ent += h;
  }
  state[0] += rows;
  state[1] += relNan;
  state[2] += cwNan;
  state[3] += nll;
  state[4] += correct;
  state[5] += topk;
  state[6] += brier;
  state[7] += ent;
}
