/**
 * The pure-JS reference backend. Every op is written the obvious way, straight
 * from SEMANTICS.md, with float64 accumulation (JS numbers): it is the parity
 * reference the wasm kernels are tested against, and the fallback where wasm
 * SIMD does not validate. Cleverness belongs in the kernels, not here. The row primitives
 * live in js-rows.ts, the losses in js-loss.ts, sampling in js-sample.ts.
 */
import { overlapOnce, type AdjustArgs, type AurocCountsArgs, type Backend, type BceArgs, type BootstrapArgs, type ScoreRowsArgs, type ConformalArgs, type Features, type CrossEntropyTarget, type FilterOptions, type OodArgs, type Reduction } from './backend.js';
import { BUFFER_TAG, typedArrayCtor, type ArrayOf, type BufferType, type LkBuffer } from '../buffers.js';
import { fail } from '../errors.js';
import { float32ToBfloat16Bits, float32ToFloat16Bits, halfToFloat } from '../half.js';
import { adjustRows, logSigmoid1, ranksAbove, RowWork, rowLogSoftmax, rowLogSumExp, rowSoftmax, scaled, sigmoid1 } from './js-rows.js';
import { DEFAULT_MEMORY_LIMIT } from '../limits.js';
import * as loss from './js-loss.js';
import { firstBadTargetJs } from './reduce.js';
import * as gen from './js-sample.js';
import * as score from './js-score.js';
import * as uncertainty from './js-uncertainty.js';
import * as fit from './js-fit.js';
import * as hash from './js-hash.js';
import { riskCoverageFrom } from './js-selective.js';
import type { RiskCoverage } from '../risk-coverage.js';

const EMPTY = new Float64Array(0);

export class JsBackend implements Backend {
  readonly name = 'js' as const;
  readonly features: Features = Object.freeze({ simd: false, relaxedSimd: false, threads: 1 });
  readonly memoryLimit: number;

  constructor(memoryLimit: number = DEFAULT_MEMORY_LIMIT) {
    // The wasm backend's cap (4 GiB of 32-bit memory), so both refuse the same alloc() sizes.
    this.memoryLimit = Math.min(memoryLimit, 2 ** 32);
  }

  /** Row work arrays, one set per instance, shared by the row ops and the losses. */
  readonly #work = new RowWork();
  #rowBuffers(classes: number, rows: number): [Float64Array, Float64Array] {
    // An empty input may declare any number of classes: nothing to size the buffers for.
    if (rows === 0) return [EMPTY, EMPTY];
    const w = this.#work.for(classes);
    return [w[0]!, w[1]!];
  }

  logsumexp(x: Float32Array, rows: number, classes: number, temperature: number, out: Float32Array): void {
    const [z] = this.#rowBuffers(classes, rows);
    for (let r = 0; r < rows; r++) out[r] = rowLogSumExp(scaled(x, r * classes, classes, temperature, z));
  }

  softmax(x: Float32Array, rows: number, classes: number, temperature: number, out: Float32Array): void {
    const [z, w] = this.#rowBuffers(classes, rows);
    for (let r = 0; r < rows; r++) out.set(rowSoftmax(scaled(x, r * classes, classes, temperature, z), w), r * classes);
  }

  logSoftmax(x: Float32Array, rows: number, classes: number, temperature: number, out: Float32Array): void {
    const [z, w] = this.#rowBuffers(classes, rows);
    for (let r = 0; r < rows; r++) out.set(rowLogSoftmax(scaled(x, r * classes, classes, temperature, z), w), r * classes);
  }

  sigmoid(x: Float32Array, out: Float32Array): void {
    for (let i = 0; i < x.length; i++) out[i] = sigmoid1(x[i]!);
  }

  logSigmoid(x: Float32Array, out: Float32Array): void {
    for (let i = 0; i < x.length; i++) out[i] = logSigmoid1(x[i]!);
  }

  aurocCounts(p: Float32Array, rows: number, classes: number, a: AurocCountsArgs): void {
    score.aurocCounts(p, rows, classes, a);
  }

  aurocClassBins(cells: Uint32Array, out: Uint32Array): number {
    return score.aurocClassBins(cells, out);
  }

  bootstrapSums(a: BootstrapArgs, hit: Uint8Array, nll: Float64Array, conf: Float32Array, state: Float64Array): number {
    return score.bootstrapSums(a, hit, nll, conf, state);
  }

  scoreRows(a: ScoreRowsArgs, x: Float32Array, p: Float32Array, lp: Float32Array, labels: Int32Array, pred: Int32Array, state: Float64Array, hit: Uint8Array, nll: Float64Array, conf: Float32Array): void {
    score.scoreRows(a, x, p, lp, labels, pred, state, hit, nll, conf);
  }

  scoreLogits(a: ScoreRowsArgs, temperature: number, x: Float32Array, p: Float32Array | null, labels: Int32Array, pred: Int32Array, state: Float64Array, hit: Uint8Array, nll: Float64Array, conf: Float32Array, py: Float32Array | null): void {
    // the reference is the unfused composition: this backend's own softmax, logSoftmax and argmax
    const { rows, classes } = a;
    const probs = p ?? new Float32Array(x.length);
    const lp = new Float32Array(x.length);
    this.softmax(x, rows, classes, temperature, probs);
    this.logSoftmax(x, rows, classes, temperature, lp);
    this.argmax(x, rows, classes, pred);
    score.scoreRows(a, x, probs, lp, labels, pred, state, hit, nll, conf);
    if (py) score.labelledBits(probs, rows, classes, labels, py);
  }

  argmax(x: Float32Array, rows: number, classes: number, out: Int32Array): void {
    for (let r = 0; r < rows; r++) {
      const o = r * classes;
      let best = 0;
      for (let j = 1; j < classes; j++) if (ranksAbove(x[o + j]!, x[o + best]!)) best = j;
      out[r] = best;
    }
  }

  /** Reference top-k: a stable sort of the indices by rank (lower index first on ties). */
  topk(x: Float32Array, rows: number, classes: number, k: number, values: Float32Array, indices: Int32Array): void {
    const idx: number[] = [];
    for (let r = 0; r < rows; r++) {
      const o = r * classes;
      idx.length = 0;
      for (let j = 0; j < classes; j++) idx.push(j);
      idx.sort((a, b) => {
        const va = x[o + a]!;
        const vb = x[o + b]!;
        if (ranksAbove(va, vb)) return -1;
        if (ranksAbove(vb, va)) return 1;
        return a - b;
      });
      for (let i = 0; i < k; i++) {
        indices[r * k + i] = idx[i]!;
        values[r * k + i] = x[o + idx[i]!]!;
      }
    }
  }

  firstBadTarget(target: Int32Array, classes: number, ignoreIndex: number): number {
    return firstBadTargetJs(target, classes, ignoreIndex);
  }

  crossEntropy(x: Float32Array, rows: number, classes: number, t: CrossEntropyTarget, reduction: Reduction, out: Float32Array | null): number {
    return loss.crossEntropy(this.#work, x, rows, classes, t, reduction, out);
  }

  crossEntropyWithGrad(x: Float32Array, rows: number, classes: number, t: CrossEntropyTarget, reduction: 'sum' | 'mean', grad: Float32Array): number {
    return loss.crossEntropyWithGrad(this.#work, x, rows, classes, t, reduction, grad);
  }

  bceWithLogits(x: Float32Array, target: Float32Array, a: BceArgs, reduction: Reduction, out: Float32Array | null): number {
    return loss.bceWithLogits(x, target, a, reduction, out);
  }

  // ---- issue 24 (uncertainty): js-uncertainty.ts
  oodScore(x: Float32Array, rows: number, classes: number, a: OodArgs, out: Float32Array): void {
    uncertainty.oodScore(x, rows, classes, a, out);
  }

  conformalLabelScores(x: Float32Array, rows: number, classes: number, a: ConformalArgs, labels: Int32Array, out: Float64Array): void {
    uncertainty.conformalLabelScores(x, rows, classes, a, labels, out);
  }

  conformalSets(x: Float32Array, rows: number, classes: number, a: ConformalArgs, qhat: Float64Array, perClass: boolean, members: Int32Array, sizes: Int32Array): number {
    return uncertainty.conformalSets(x, rows, classes, a, qhat, perClass, members, sizes);
  }

  // ---- selective prediction: js-selective.ts, the reference (float32 confidences by its radix sort, float64 by the native one)
  riskCoverageFrom(confidence: Float32Array | Float64Array, wrong: Uint8Array, maxPoints: number): RiskCoverage {
    return riskCoverageFrom(confidence, wrong, maxPoints > 0 ? { maxPoints } : undefined);
  }

  // ---- issue 21 item 5: js-fit.ts
  temperatureFitSums(x: Float32Array, rows: number, classes: number, labels: Int32Array, temperature: number, out: Float64Array): void {
    const [z, w] = this.#rowBuffers(classes, rows);
    fit.temperatureFitSums(x, rows, classes, labels, temperature, z, w, out);
  }
  // ---- end issue 24

  entropy(x: Float32Array, rows: number, classes: number, out: Float32Array): void {
    loss.entropy(this.#work, x, rows, classes, out);
  }

  klDiv(p: Float32Array, q: Float32Array, rows: number, classes: number, out: Float32Array): number {
    return loss.klDiv(this.#work, p, q, rows, classes, out);
  }

  adjustLogits(x: Float32Array, rows: number, classes: number, a: AdjustArgs, out: Float32Array): void {
    adjustRows(x, rows, classes, a, out);
  }

  filterLogits(x: Float32Array, rows: number, classes: number, o: FilterOptions, out: Float32Array): number {
    return gen.filterLogits(x, rows, classes, o, out);
  }

  sample(x: Float32Array, rows: number, classes: number, o: FilterOptions, uniforms: Float64Array, out: Int32Array): number {
    return gen.sample(x, rows, classes, o, uniforms, out);
  }

  narrowHalf(x: Float32Array, dtype: 'float16' | 'bfloat16', out: Uint16Array): void {
    const f = dtype === 'float16' ? float32ToFloat16Bits : float32ToBfloat16Bits;
    for (let i = 0; i < x.length; i++) out[i] = f(x[i]!);
  }

  widenHalf(bits: Uint16Array, dtype: 'float16' | 'bfloat16'): Float32Array {
    const out = new Float32Array(bits.length);
    if (dtype === 'bfloat16') {
      // bfloat16 is the top half of a float32: shift the bits into place.
      const u = new Uint32Array(out.buffer);
      for (let i = 0; i < bits.length; i++) u[i] = bits[i]! << 16;
    } else {
      for (let i = 0; i < bits.length; i++) out[i] = halfToFloat(bits[i]!);
    }
    return out;
  }

  /** A new typed array: zeros, whether asked for (`zeroed`) or not. */
  alloc<T extends BufferType>(length: number, type: T, _zeroed = false): LkBuffer<T> {
    let array: ArrayOf<T> | null = new (typedArrayCtor(type))(length) as ArrayOf<T>;
    return {
      [BUFFER_TAG]: true,
      type,
      length,
      get array(): ArrayOf<T> {
        if (array === null) fail('invalid_argument', 'this buffer was freed', 'buffer');
        return array;
      },
      get freed() {
        return array === null;
      },
      free() {
        array = null;
      },
    } as LkBuffer<T>;
  }

  /** No threads: `meanwhile` after `ops`. */
  overlap<T>(meanwhile: () => void, ops: () => T): T {
    return overlapOnce(meanwhile, () => ops());
  }

  // ---- the fingerprint hash (Engine.hasher): js-hash.ts
  hashUpdate(state: Uint32Array, x: Uint32Array): void {
    hash.hashUpdateJs(state, x);
  }

  hashDigest(state: Uint32Array, out: Uint32Array): void {
    hash.hashDigestJs(state, out);
  }
  // ---- end fingerprint hash

  memoryStats(): { wasmBytes: number; inUse: number } {
    return { wasmBytes: 0, inUse: 0 };
  }

  dispose(): void {
    // Nothing is held; the engine itself refuses calls after dispose().
  }
}
