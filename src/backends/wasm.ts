/**
 * The wasm backend: the Backend ops on top of one WasmRuntime (wasm-runtime.ts), which owns the
 * instance, its memory, the copies and the thread pool. Each op names its kernel and arguments
 * as abi.ts declares them; the loss and sampling families live in wasm-loss.ts and
 * wasm-sample.ts, which import the runtime, not this file.
 */
import type { AdjustArgs, AurocCountsArgs, Backend, BootstrapArgs, ScoreRowsArgs, Features, BceArgs, ConformalArgs, CrossEntropyTarget, FilterOptions, OodArgs, Reduction } from './backend.js';
import { HalfFormat } from './abi.js';
import { createRuntime, type WasmRuntime } from './wasm-runtime.js';
import { registerWidened, type BufferType, type LkBuffer } from '../buffers.js';
import { bootstrapStateLength } from '../accumulators.js';
import * as loss from './wasm-loss.js';
import * as gen from './wasm-sample.js';
import * as uncertainty from './wasm-uncertainty.js';
import * as selective from './wasm-selective.js';
import { riskCoverageFrom as riskCoverageFromJs } from './js-selective.js';
import type { RiskCoverage } from '../risk-coverage.js';

export { DEFAULT_MEMORY_LIMIT } from '../limits.js';
export { PARALLEL_MIN_WORK, ROW_GRAIN, rowGrain, splitCount } from './wasm-runtime.js';

export interface WasmBackendOptions {
  memoryLimit?: number;
  /** Threads for large row-wise calls; > 1 needs the shared-memory build. Default 1. */
  threads?: number;
  /** Run the hot kernels briefly before returning (default true): see warmUp(). */
  warmup?: boolean;
}

export async function createWasmBackend(module: WebAssembly.Module, options: WasmBackendOptions = {}): Promise<WasmBackend> {
  const rt = await createRuntime(module, { ...options, ...(options.warmup ?? true ? { whileStarting: warmUp } : {}) });
  return new WasmBackend(rt);
}

/**
 * V8 runs a wasm function in its baseline compiler (Liftoff) until the function
 * has used up a tier-up budget, then optimises it in the background; the call
 * that is running keeps the baseline code. Without this, a user's first big call
 * ran 3× slower (softmax 4096×1000: 12.6 ms cold vs 3.8 ms, page faults aside).
 * About 640k elements through the hot row kernels (wide and short rows, a few ms)
 * spend the budget, and a short pause lets the optimised code land; measured:
 * the first 4096×1000 softmax then runs at steady-state speed. It runs while a pool's workers
 * start (createRuntime's whileStarting): the workers share the module's optimised code.
 */
async function warmUp(rt: WasmRuntime): Promise<void> {
  const n = 16000;
  const x = rt.alloc(n, 'float32');
  const out = rt.alloc(n, 'float32');
  try {
    const a = x.array;
    for (let i = 0; i < n; i++) a[i] = Math.sin(i) * 3;
    for (let rep = 0; rep < 40; rep++) {
      for (const classes of rep % 4 === 0 ? [1000, 10] : [1000]) {
        const args = { x: x.array, rows: n / classes, classes, temperature: 1, out: out.array };
        rt.call('softmax', args);
        rt.call('logSoftmax', args);
        rt.call('logsumexp', { ...args, out: out.array.subarray(0, n / classes) });
      }
    }
  } finally {
    x.free();
    out.free();
  }
  await new Promise((resolve) => setTimeout(resolve, 15));
}

/** temperatureFitSums: elements of x per kernel call (4 MiB, the CLI's block; its work rows take twice as many floats). */
const FIT_SLICE = 1 << 20;
/**
 * Most chunks of a scoring accumulator in one pool call: their slots (and the bootstrap's scratch)
 * are held at once. A 4 MiB block of logits has ≤ 8 row-summary chunks and ≤ 6 bootstrap chunks.
 */
export const CHUNKS_PER_CALL = 64;

export class WasmBackend implements Backend {
  readonly name = 'wasm' as const;
  readonly features: Features;
  readonly #rt: WasmRuntime;

  constructor(rt: WasmRuntime) {
    this.#rt = rt;
    this.features = { simd: true, relaxedSimd: rt.relaxedSimd, threads: rt.poolSize };
  }

  /** The runtime under this backend (diagnostics and tests: parallelCalls, workerChunks, memory). */
  get runtime(): WasmRuntime {
    return this.#rt;
  }

  get memoryLimit(): number {
    return this.#rt.arena.limit;
  }

  /** Threads available to the next large call: the pool's size, or 1 (no pool, disposed, or a worker died). */
  get activeThreads(): number {
    return this.#rt.activeThreads;
  }

  logsumexp(x: Float32Array, rows: number, classes: number, temperature: number, out: Float32Array): void {
    this.#rt.call('logsumexp', { x, rows, classes, temperature, out });
  }

  softmax(x: Float32Array, rows: number, classes: number, temperature: number, out: Float32Array): void {
    this.#rt.call('softmax', { x, rows, classes, temperature, out });
  }

  logSoftmax(x: Float32Array, rows: number, classes: number, temperature: number, out: Float32Array): void {
    this.#rt.call('logSoftmax', { x, rows, classes, temperature, out });
  }

  sigmoid(x: Float32Array, out: Float32Array): void {
    this.#rt.call('sigmoid', { x, n: x.length, out });
  }

  logSigmoid(x: Float32Array, out: Float32Array): void {
    this.#rt.call('logSigmoid', { x, n: x.length, out });
  }

  argmax(x: Float32Array, rows: number, classes: number, out: Int32Array): void {
    this.#rt.call('argmax', { x, rows, classes, out });
  }

  topk(x: Float32Array, rows: number, classes: number, k: number, values: Float32Array, indices: Int32Array): void {
    this.#rt.call('topk', { x, rows, classes, k, values, indices });
  }

  firstBadTarget(target: Int32Array, classes: number, ignoreIndex: number): number {
    return loss.firstBadTarget(this.#rt, target, classes, ignoreIndex);
  }

  crossEntropy(x: Float32Array, rows: number, classes: number, t: CrossEntropyTarget, reduction: Reduction, out: Float32Array | null): number {
    return loss.crossEntropy(this.#rt, x, rows, classes, t, reduction, out);
  }

  crossEntropyWithGrad(x: Float32Array, rows: number, classes: number, t: CrossEntropyTarget, reduction: 'sum' | 'mean', grad: Float32Array): number {
    return loss.crossEntropyWithGrad(this.#rt, x, rows, classes, t, reduction, grad);
  }

  bceWithLogits(x: Float32Array, target: Float32Array, a: BceArgs, reduction: Reduction, out: Float32Array | null): number {
    return loss.bceWithLogits(this.#rt, x, target, a, reduction, out);
  }

  // ---- issue 24 (uncertainty): wasm-uncertainty.ts
  oodScore(x: Float32Array, rows: number, classes: number, a: OodArgs, out: Float32Array): void {
    uncertainty.oodScore(this.#rt, x, rows, classes, a, out);
  }

  conformalLabelScores(x: Float32Array, rows: number, classes: number, a: ConformalArgs, labels: Int32Array, out: Float64Array): void {
    uncertainty.conformalLabelScores(this.#rt, x, rows, classes, a, labels, out);
  }

  conformalSets(x: Float32Array, rows: number, classes: number, a: ConformalArgs, qhat: Float64Array, perClass: boolean, members: Int32Array, sizes: Int32Array): number {
    return uncertainty.conformalSets(this.#rt, x, rows, classes, a, qhat, perClass, members, sizes);
  }

  // ---- selective prediction: assembly/kernels/selective.ts (wasm-selective.ts) for float32 confidences.
  // There is no float64 kernel: Float64Array confidences take the JS reference, as on the JS backend,
  // so both backends rank them as the same float64 numbers.
  riskCoverageFrom(confidence: Float32Array | Float64Array, wrong: Uint8Array, maxPoints: number): RiskCoverage {
    if (confidence instanceof Float64Array) return riskCoverageFromJs(confidence, wrong, maxPoints > 0 ? { maxPoints } : undefined);
    return selective.riskCoverageFrom(this.#rt, confidence, wrong, maxPoints);
  }

  // ---- issue 21 item 5: assembly/kernels/fit.ts, per-row terms added here in row order (so a
  // call split across threads gives the bits of one). The work rows and the terms are wasm memory
  // taken for the call and returned after it: nothing is copied out.
  temperatureFitSums(x: Float32Array, rows: number, classes: number, labels: Int32Array, temperature: number, out: Float64Array): void {
    let nll = 0;
    let g = 0;
    let h = 0;
    // Slices of ≤ FIT_SLICE elements keep the work rows (2 floats an element) small whatever x is.
    const step = Math.max(1, Math.floor(FIT_SLICE / classes));
    const first = Math.min(step, rows); // the largest slice
    // x and labels may be wasm memory (zero-copy buffers), which the allocations below can detach
    const kept = this.#keep([x, labels]);
    const work = rows === 0 ? null : this.#rt.alloc(2 * first * classes, 'float32');
    let perRow: LkBuffer<'float32'> | null = null;
    try {
      perRow = rows === 0 ? null : this.#rt.alloc(6 * first, 'float32'); // 3 float64 a row
      for (let r0 = 0; r0 < rows; r0 += step) {
        const n = Math.min(step, rows - r0);
        [x, labels] = kept() as [Float32Array, Int32Array];
        const terms = () => {
          const f = perRow!.array; // a fresh view: the call may have grown the memory
          return new Float64Array(f.buffer, f.byteOffset, 3 * n);
        };
        this.#rt.call('temperatureFitRows', {
          x: x.subarray(r0 * classes, (r0 + n) * classes), labels: labels.subarray(r0, r0 + n), rows: n, classes, temperature,
          work: work!.array.subarray(0, 2 * n * classes), out: terms(),
        });
        const t = terms();
        for (let i = 0; i < 3 * n; i += 3) {
          nll += t[i]!;
          g += t[i + 1]!;
          h += t[i + 2]!;
        }
      }
    } finally {
      perRow?.free();
      work?.free();
    }
    out[0] = nll;
    out[1] = g;
    out[2] = h;
  }
  // ---- end issue 24

  entropy(x: Float32Array, rows: number, classes: number, out: Float32Array): void {
    this.#rt.call('entropy', { x, rows, classes, out });
  }

  klDiv(p: Float32Array, q: Float32Array, rows: number, classes: number, out: Float32Array): number {
    return loss.klDiv(this.#rt, p, q, rows, classes, out);
  }

  adjustLogits(x: Float32Array, rows: number, classes: number, a: AdjustArgs, out: Float32Array): void {
    // Parameters that already live in wasm memory are used in place, like any other array.
    this.#rt.call('adjustLogits', { x, rows, classes, temperature: a.temperature, scale: a.scale, bias: a.bias, matrix: a.matrix, out });
  }

  aurocCounts(p: Float32Array, rows: number, classes: number, a: AurocCountsArgs): void {
    // `first` is p again, not advanced with the classes: the rows' first values, for the NaN test
    this.#rt.call('aurocCounts', { p, first: p, n: rows, classes, count: classes, cells: a.cells, log: a.log, logCap: a.logCap, limit: a.limit });
  }

  aurocClassBins(cells: Uint32Array, out: Uint32Array): number {
    return this.#rt.call('aurocClassBins', { cells, n: cells.length, out });
  }

  bootstrapSums(a: BootstrapArgs, hit: Uint8Array, nll: Float64Array, conf: Float32Array, state: Float64Array): number {
    const rt = this.#rt;
    const scratch = (rt.call('bootstrapScratchBytes', { bins: a.bins }) + 15) & ~15;
    const slotBytes = 8 * (bootstrapStateLength(a.replicates, a.bins) + 2);
    let nan = 0;
    // At most CHUNKS_PER_CALL chunks' slots and scratch at once (≈ 9 MB at 200 replicates): a huge add
    // goes in batches, whose slots are added in the same chunk order, so the sums are the same bits.
    const batch = CHUNKS_PER_CALL * a.chunkRows;
    const kept = this.#keep([hit, nll, conf, state]);
    for (let b0 = 0; b0 < a.rows; b0 += batch) {
      const b1 = Math.min(a.rows, b0 + batch);
      const chunks = Math.ceil((b1 - b0) / a.chunkRows);
      [hit, nll, conf, state] = kept() as [Uint8Array, Float64Array, Float32Array, Float64Array];
      nan += rt.chunked(
        'bootstrapChunk',
        {
          hit: hit.subarray(b0, b1), nll: nll.subarray(b0, b1), conf: conf.subarray(b0, b1), begin: 0, end: 0, seedKey: a.seedKey | 0,
          first: a.first + b0, replicates: a.replicates, bins: a.bins, chunkRows: a.chunkRows, slots: chunks * slotBytes, scratch: chunks * scratch,
        },
        b1 - b0, a.chunkRows, (b1 - b0) * a.replicates,
        'bootstrapFold', { state, slots: chunks * slotBytes, chunks, replicates: a.replicates, bins: a.bins },
      );
    }
    return nan;
  }

  scoreRows(a: ScoreRowsArgs, x: Float32Array, p: Float32Array, lp: Float32Array, labels: Int32Array, pred: Int32Array, state: Float64Array, hit: Uint8Array, nll: Float64Array, conf: Float32Array): void {
    const { rows, classes, bins, chunkRows } = a;
    // One chunk (wide rows): its per-class sums go straight to the state (assembly/kernels/score.ts).
    const direct = rows <= chunkRows;
    const region = this.#rt.call('scoreRowsRegionBytes', { classes, bins, chunkRows, direct, fused: false });
    // Batches of at most CHUNKS_PER_CALL chunks bound the slots' memory; the same chunk order.
    const batch = CHUNKS_PER_CALL * chunkRows;
    const kept = this.#keep([x, p, lp, labels, pred, state, hit, nll, conf]);
    for (let b0 = 0; b0 < rows; b0 += batch) {
      const b1 = Math.min(rows, b0 + batch);
      [x, p, lp, labels, pred, state, hit, nll, conf] = kept() as [Float32Array, Float32Array, Float32Array, Int32Array, Int32Array, Float64Array, Uint8Array, Float64Array, Float32Array];
      const n = b1 - b0;
      const chunks = Math.ceil(n / chunkRows);
      const [xs, ps, lps] = [x, p, lp].map((v) => (b0 === 0 && b1 === rows ? v : v.subarray(b0 * classes, b1 * classes)));
      const [ys, cs] = [labels, pred].map((v) => v.subarray(b0, b1));
      const [hs, ns, fs] = [hit.subarray(b0, b1), nll.subarray(b0, b1), conf.subarray(b0, b1)];
      this.#rt.chunked(
        'scoreRowsChunk', { x: xs!, p: ps!, lp: lps!, labels: ys!, pred: cs!, begin: 0, end: 0, classes, bins, k: a.k, chunkRows, slots: chunks * region, state: direct ? state : null, hit: hs, nll: ns, conf: fs },
        n, chunkRows, n * classes,
        'scoreRowsFinish', { labels: ys!, pred: cs!, hit: hs, conf: fs, rows: n, classes, bins, chunkRows, chunks, direct, fused: false, slots: chunks * region, state },
      );
    }
  }

  scoreLogits(a: ScoreRowsArgs, temperature: number, x: Float32Array, p: Float32Array | null, labels: Int32Array, pred: Int32Array, state: Float64Array, hit: Uint8Array, nll: Float64Array, conf: Float32Array, py: Float32Array | null): void {
    const { rows, classes, bins, chunkRows } = a;
    const direct = rows <= chunkRows;
    const region = this.#rt.call('scoreRowsRegionBytes', { classes, bins, chunkRows, direct, fused: true });
    const batch = CHUNKS_PER_CALL * chunkRows;
    const kept = this.#keep([x, labels, pred, state, hit, nll, conf, ...(p ? [p] : []), ...(py ? [py] : [])]);
    for (let b0 = 0; b0 < rows; b0 += batch) {
      const b1 = Math.min(rows, b0 + batch);
      const views = [...kept()];
      if (py) py = views.pop() as Float32Array;
      if (p) p = views.pop() as Float32Array;
      [x, labels, pred, state, hit, nll, conf] = views as [Float32Array, Int32Array, Int32Array, Float64Array, Uint8Array, Float64Array, Float32Array];
      const n = b1 - b0;
      const chunks = Math.ceil(n / chunkRows);
      const whole = b0 === 0 && b1 === rows;
      const xs = whole ? x : x.subarray(b0 * classes, b1 * classes);
      const ps = p === null ? null : whole ? p : p.subarray(b0 * classes, b1 * classes);
      const [ys, cs] = [labels, pred].map((v) => v.subarray(b0, b1));
      const [hs, ns, fs] = [hit.subarray(b0, b1), nll.subarray(b0, b1), conf.subarray(b0, b1)];
      const pys = py === null ? null : py.subarray(b0, b1);
      this.#rt.chunked(
        'scoreLogitsChunk',
        { x: xs, p: ps, labels: ys!, pred: cs!, begin: 0, end: 0, classes, temperature, bins, k: a.k, chunkRows, slots: chunks * region, state: direct ? state : null, hit: hs, nll: ns, conf: fs, py: pys },
        n, chunkRows, n * classes,
        'scoreRowsFinish', { labels: ys!, pred: cs!, hit: hs, conf: fs, rows: n, classes, bins, chunkRows, chunks, direct, fused: true, slots: chunks * region, state },
      );
    }
  }

  /**
   * The arrays of an op that makes several calls, re-taken before each: an array in wasm memory (a
   * zero-copy buffer, an accumulator's state) is detached when a call grows the memory for its scratch,
   * so it is viewed again from the current buffer at the byte offset recorded before the first call.
   */
  #keep(arrays: readonly ArrayBufferView[]): () => readonly ArrayBufferView[] {
    return this.#rt.keep(arrays);
  }

  filterLogits(x: Float32Array, rows: number, classes: number, o: FilterOptions, out: Float32Array): number {
    return gen.filterLogits(this.#rt, x, rows, classes, o, out);
  }

  sample(x: Float32Array, rows: number, classes: number, o: FilterOptions, uniforms: Float64Array, out: Int32Array): number {
    return gen.sample(this.#rt, x, rows, classes, o, uniforms, out);
  }

  /**
   * Half-precision bits are copied in as they are (2 bytes each) and widened
   * inside wasm; the float32 result stays in wasm memory as a zero-copy input
   * for the op that follows, and is freed when that op ends.
   */
  narrowHalf(x: Float32Array, dtype: 'float16' | 'bfloat16', out: Uint16Array): void {
    this.#rt.call('narrowToHalf', { src: x, n: x.length, dst: out, bf16: dtype === 'bfloat16' ? HalfFormat.Bfloat16 : HalfFormat.Float16 });
  }

  widenHalf(bits: Uint16Array, dtype: 'float16' | 'bfloat16'): Float32Array {
    const buf = this.#rt.alloc(bits.length, 'float32');
    try {
      // buf.array is a zero-copy output: the runtime reads its offset after copying the bits in.
      this.#rt.call(dtype === 'float16' ? 'widenFloat16' : 'widenBfloat16', { src: bits, n: bits.length, dst: buf.array });
    } catch (e) {
      buf.free();
      throw e;
    }
    const view = buf.array;
    registerWidened(view, () => buf.free());
    return view;
  }

  overlap<T>(meanwhile: () => void, ops: () => T): T {
    return this.#rt.overlap(meanwhile, ops);
  }

  // ---- the fingerprint hash (Engine.hasher): assembly/kernels/hash.ts
  hashUpdate(state: Uint32Array, x: Uint32Array): void {
    this.#rt.call('hashUpdate', { state, x, n: x.length });
  }

  hashDigest(state: Uint32Array, out: Uint32Array): void {
    this.#rt.call('hashDigest', { state, out });
  }
  // ---- end fingerprint hash

  alloc<T extends BufferType>(length: number, type: T, zeroed = false): LkBuffer<T> {
    return this.#rt.alloc(length, type, zeroed);
  }

  memoryStats(): { wasmBytes: number; inUse: number } {
    return this.#rt.memoryStats();
  }

  dispose(): void {
    this.#rt.dispose();
  }
}
