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
 * infinite NLL reaches only the replicates that drew it. As the wasm kernel, rows go in chunks of
 * a.chunkRows whose sums are added to the state in chunk order.
 */
export function bootstrapSums(a: BootstrapArgs, hit: Uint8Array, nll: Float64Array, conf: Float32Array, state: Float64Array): number {
  const { rows, replicates: R, bins: M } = a;
  const Rp = (R + 7) & ~7;
  const binW = 3 * Rp;
  const binC = binW + M * Rp;
  const binK = binC + M * Rp;
  const part = new Float64Array(state.length);
  let nan = 0;
  for (let c0 = 0; c0 < rows; c0 += a.chunkRows) {
    part.fill(0);
    for (let i = c0; i < Math.min(rows, c0 + a.chunkRows); i++) {
      const h = rowHash(a.seedKey, a.first + i);
      const c = conf[i]!;
      const k = hit[i]!;
      const l = nll[i]!;
      const b = c !== c ? -1 : binOf(c, M);
      if (b < 0) nan++;
      for (let r = 0; r < R; r++) {
        const w = replicateWeight(h, r);
        if (w === 0) continue;
        part[r] += w;
        part[Rp + r] += w * k;
        part[2 * Rp + r] += w * l;
        if (b >= 0) {
          part[binW + b * Rp + r] += w;
          part[binC + b * Rp + r] += w * c;
          part[binK + b * Rp + r] += w * k;
        }
      }
    }
    for (let j = 0; j < state.length; j++) state[j] += part[j]!;
  }
  return nan;
}

/**
 * Adds rows × classes float32 probabilities to the packed AUROC cells: at k · AUROC_BINS + b the rows
 * whose p_k falls in bin b (times 2^18) plus the sum of their positions. A cell that reaches a.limit
 * rows is appended to class k's log as (b, value) and restarts at 0. Rows whose first value is NaN are
 * skipped. Class by class, from the row in its log's second word; a class whose log is full stops
 * before the row that would spill and leaves that row there (the caller drains and calls again).
 */
export function aurocCounts(p: Float32Array, rows: number, classes: number, a: AurocCountsArgs): void {
  const { cells, log } = a;
  const bits = new Uint32Array(p.buffer, p.byteOffset, rows * classes);
  const full = a.limit * 2 ** AUROC_COUNT_SHIFT;
  const logLen = 2 + 2 * a.logCap;
  for (let k = 0; k < classes; k++) {
    const l = k * logLen;
    let r = log[l + 1]!;
    for (; r < rows; r++) {
      const v = p[r * classes]!;
      if (v !== v) continue;
      const f = fineOfBits(bits[r * classes + k]!);
      const c = k * AUROC_BINS + (f >>> AUROC_POSITION_BITS);
      const sum = cells[c]! + 2 ** AUROC_COUNT_SHIFT + (f & (AUROC_Q - 1));
      if (sum < full) cells[c] = sum;
      else {
        const used = log[l]!;
        if (used >= a.logCap) break;
        log[l + 2 + 2 * used] = f >>> AUROC_POSITION_BITS;
        log[l + 3 + 2 * used] = sum;
        log[l] = used + 1;
        cells[c] = 0;
      }
    }
    log[l + 1] = r;
  }
}

/** A class's packed cells → its non-empty ones as (bin, rows, position sum) triples in out; returns how many. */
export function aurocClassBins(cells: Uint32Array, out: Uint32Array): number {
  let m = 0;
  for (let b = 0; b < cells.length; b++) {
    const v = cells[b]!;
    if (v === 0) continue;
    out[3 * m] = b;
    out[3 * m + 1] = v >>> AUROC_COUNT_SHIFT;
    out[3 * m + 2] = v & (2 ** AUROC_COUNT_SHIFT - 1);
    m++;
  }
  return m;
}

/**
 * Adds a block to the row-summary state (layout: rowScoreLayout) as src/metrics/summary.ts did row by
 * row: NLL, hit, top-k hit by rank in x (SEMANTICS §8 order), confidence bins (equal-width and fine),
 * Brier, entropy, per-class sums and the classwise bins of every p_k. Writes hit, NLL and confidence
 * per row. A NaN p_k in a row whose p_0 is a number (not a softmax) goes to bin 0, as in the kernel.
 * As the wasm kernels: the row sums, Σ p, Σ x and the classwise count and Σ p go per chunk of
 * a.chunkRows rows into partial sums added to the state in chunk order; the other counts and bins
 * row by row.
 */
export function scoreRows(a: ScoreRowsArgs, x: Float32Array, p: Float32Array, lp: Float32Array, labels: Int32Array, pred: Int32Array, state: Float64Array, hitOut: Uint8Array, nllOut: Float64Array, confOut: Float32Array): void {
  const { rows, classes: C, bins: M, k } = a;
  const L = rowScoreLayout(C, M);
  const F = ROW_SCORE_FINE_BINS;
  const bin = (v: number, m: number) => (v !== v ? 0 : binOf(v, m));
  // a chunk's Σ p, Σ x (at 0 and C) and classwise count and Σ p (at 2C and 2C + CM): the state's order;
  // a block of one chunk adds to the state directly
  const direct = rows <= a.chunkRows;
  const part = direct ? state.subarray(L.probSum, L.cwPositives) : new Float64Array(2 * C + 2 * C * M);
  for (let c0 = 0; c0 < rows; c0 += a.chunkRows) {
    if (!direct) part.fill(0);
    let nll = 0;
    let topk = 0;
    let brier = 0;
    let ent = 0;
    for (let r = c0; r < Math.min(rows, c0 + a.chunkRows); r++) {
      const o = r * C;
      const y = labels[r]!;
      const c = pred[r]!;
      const l = -lp[o + y]!;
      nll += l;
      nllOut[r] = l;
      const hit = c === y ? 1 : 0;
      hitOut[r] = hit;
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
      confOut[r] = p[o + c]!;
      const classwise = p[o] === p[o]; // softmax rows are NaN all together
      let sq = 0;
      let h = 0;
      for (let j = 0; j < C; j++) {
        const pj = p[o + j]!;
        const lpj = lp[o + j]!;
        sq += pj * pj;
        if (lpj !== -Infinity) h -= pj * lpj; // 0·log 0 = 0
        part[j] += pj;
        part[C + j] += x[o + j]!;
        if (classwise) {
          const i = j * M + bin(pj, M);
          part[2 * C + i] += 1;
          part[2 * C + C * M + i] += pj;
        }
      }
      brier += sq - 2 * p[o + y]! + 1;
      ent += h;
    }
    state[3] += nll;
    state[5] += topk;
    state[6] += brier;
    state[7] += ent;
    if (!direct) for (let j = 0; j < part.length; j++) state[L.probSum + j] += part[j]!;
  }
  let correct = 0;
  let relNan = 0;
  let cwNan = 0;
  for (let r = 0; r < rows; r++) {
    const y = labels[r]!;
    const c = pred[r]!;
    const hit = hitOut[r]!;
    correct += hit;
    state[L.classCorrect + y] += hit;
    state[L.support + y] += 1;
    state[L.predicted + c] += 1;
    const conf = confOut[r]!;
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
    const o = r * C;
    if (p[o] !== p[o]) cwNan++;
    else state[L.cwPositives + y * M + bin(p[o + y]!, M)] += 1;
  }
  state[0] += rows;
  state[1] += relNan;
  state[2] += cwNan;
  state[4] += correct;
}

/** Each row's p_y into py, bit for bit (as the kernel stores the f32 it loaded: a NaN keeps its payload). */
export function labelledBits(p: Float32Array, rows: number, classes: number, labels: Int32Array, py: Float32Array): void {
  const from = new Uint32Array(p.buffer, p.byteOffset, rows * classes);
  const to = new Uint32Array(py.buffer, py.byteOffset, rows);
  for (let r = 0; r < rows; r++) to[r] = from[r * classes + labels[r]!]!;
}
