/**
 * The TypeScript ↔ wasm boundary, declared once: every export of every build (assembly/index.ts
 * re-exports the kernels), its parameters in order with their names and wasm types, and for the
 * row-wise kernels how each array walks with the rows. Nothing else in src/ names an export
 * or writes a pointer stride: the runtime (wasm-runtime.ts) builds both the single-thread call and
 * the thread-pool job from these declarations, and test/abi.test.ts checks them against the
 * function types in every .wasm (names, parameter count and types, result type).
 *
 * Parameter kinds:
 * - `ptr(io, perRow)`: a byte offset into wasm memory. At a call site its value is a typed array
 *   (copied in and/or out unless it already lives in wasm memory) or null (passes 0, for outputs
 *   and optional inputs the kernel does not touch). `perRow(args)` is how many bytes the pointer
 *   advances per row, for kernels whose rows split (threads, blocks); 0 for a vector every row
 *   reads whole (class weights, a matrix).
 * - `rows`: the row count of a row-wise kernel, the one argument that changes when rows split.
 * - `scratch`: a temporary block; its value at a call site is its size in bytes.
 * - `i32` / `f64`: a number; `flag`: a boolean passed as i32 0/1.
 */

/** A typed array that can be passed for a ptr parameter. */
export type Typed = Float32Array | Int32Array | Uint32Array | Uint16Array | Uint8Array | Float64Array;
export type Io = 'in' | 'out' | 'inout';

export interface PtrParam {
  readonly kind: 'ptr';
  readonly io: Io;
  /** Bytes per row (row kernels); undefined: not a row-wise array. */
  readonly perRow?: (args: Readonly<Record<string, unknown>>) => number;
}
export type Param =
  | PtrParam
  | { readonly kind: 'rows' }
  | { readonly kind: 'scratch' }
  | { readonly kind: 'i32' }
  | { readonly kind: 'f64' }
  | { readonly kind: 'flag' };

type WasmResult = 'void' | 'i32' | 'f64';

export interface ExportDecl {
  /** Where the export is defined (for readers; the ABI test checks the file exists). */
  readonly source: string;
  readonly params: Readonly<Record<string, Param>>;
  readonly result: WasmResult;
  /** Row kernels: elements touched per call, which decides a thread split (default rows × classes). */
  readonly work?: (args: Readonly<Record<string, unknown>>) => number;
  /**
   * Row kernels: rows per split unit. The kernels take short rows four at a time, so a split of
   * short rows must fall on a multiple of four for every row to take the code path (and give the
   * bits) it takes in one call; rowGrain() leaves room should that grow.
   */
  readonly grain?: (args: Readonly<Record<string, unknown>>) => number;
}

/**
 * Row blocks handed to threads (and copied blocks) are multiples of this many rows when rows are
 * short. The kernels take rows of ≤ 32 classes four at a time (assembly/lanes.ts), and a last
 * partial group repeats its first row, so a row's bits no longer depend on where a split falls
 * (test/batch-position.test.ts); the grain keeps splits on whole groups anyway, which costs nothing.
 * Rows of ≥ 64 classes go one by one.
 */
export const ROW_GRAIN = 16;
const LONG_ROW = 64;
export function rowGrain(classes: number): number {
  return classes >= LONG_ROW ? 1 : ROW_GRAIN;
}

import { AUROC_BINS } from '../auroc-bins.js';

const i32 = { kind: 'i32' } as const;
const f64 = { kind: 'f64' } as const;
const flag = { kind: 'flag' } as const;
const rows = { kind: 'rows' } as const;
const scratch = { kind: 'scratch' } as const;
type A = Readonly<Record<string, unknown>>;
const num = (a: A, key: string): number => a[key] as number;
function ptr(io: Io, perRow?: (a: A) => number): PtrParam {
  return perRow === undefined ? { kind: 'ptr', io } : { kind: 'ptr', io, perRow };
}
/** Pointer to rows × classes float32 values. */
const rowsF32 = (io: Io): PtrParam => ptr(io, (a) => 4 * num(a, 'classes'));
/** Pointer to one 4-byte value per row. */
const perRow4 = (io: Io): PtrParam => ptr(io, () => 4);
/** Pointer to one float64 per row. */
const perRow8 = (io: Io): PtrParam => ptr(io, () => 8);
/** A vector every row reads whole: does not advance. */
const whole = ptr('in', () => 0);
const byClasses = (a: A): number => rowGrain(num(a, 'classes'));
/** Elementwise kernels: one "row" per element; splits stay multiples of ROW_GRAIN, a whole number of vectors. */
const byVector = (): number => ROW_GRAIN;
const elements = (a: A): number => num(a, 'n');

/** Output modes of crossEntropyClass (its `lossOut` parameter). */
export const CeClassOutput = {
  /** f64 nll and smooth parts per row, for the reductions 'sum' and 'mean'. */
  Parts: 0,
  /** The f32 loss of each row into nll (reduction 'none'); smooth unused. */
  Loss: 1,
} as const;

/** oodScores' `method` parameter (assembly/kernels/ood.ts). */
export const OodMethod = { msp: 0, maxLogit: 1, energy: 2, entropy: 3, margin: 4, gen: 5 } as const;
/** The conformal kernels' `method` parameter (assembly/kernels/conformal.ts). */
export const ConformalMethod = { lac: 0, aps: 1, raps: 2 } as const;

/** narrowToHalf's `bf16` parameter. */
export const HalfFormat = { Float16: false, Bfloat16: true } as const;

/** sampleRows' parameters, in order; sampleRowsTypical takes the same and typicalP after them. */
const SAMPLE_ROWS_PARAMS = {
  x: ptr('in'), rows: i32, classes: i32,
  temperature: f64, topK: i32, topP: f64, minP: f64, minTokensToKeep: i32,
  topNSigma: f64, epsilon: f64, eta: f64, temperatureLast: flag, xtcProbability: f64, xtcThreshold: f64, xtc: ptr('in'),
  edits: ptr('in'), mask: ptr('in'), maskStride: i32, constrained: flag,
  uniforms: ptr('in'), tokens: ptr('out'), filtered: ptr('out'), scratch,
} as const;

/**
 * Every export, by name. `satisfies` keeps each entry's literal type, so call sites get named,
 * typed arguments (CallArgs) and "go to definition" lands here, next to the assembly/ file.
 */
export const ABI = {
  /** assembly/index.ts: first byte the arena may hand out (static data lies below). */
  heapBase: { source: 'assembly/index.ts', params: {}, result: 'i32' },
  /** assembly/features.ts: bit 0 relaxed SIMD, bit 1 threads. */
  buildFeatures: { source: 'assembly/features.ts', params: {}, result: 'i32' },
  /** assembly/math/exp.ts: out[i] = exp(x[i]) (the kernels' exp, for its own tests). */
  expArray: { source: 'assembly/math/exp.ts', params: { x: ptr('in'), n: i32, out: ptr('out') }, result: 'void' },

  /** assembly/kernels/softmax.ts */
  softmax: {
    source: 'assembly/kernels/softmax.ts',
    params: { x: rowsF32('in'), rows, classes: i32, temperature: f64, out: rowsF32('out') },
    result: 'void',
    grain: byClasses,
  },
  /** assembly/kernels/softmax.ts */
  logSoftmax: {
    source: 'assembly/kernels/softmax.ts',
    params: { x: rowsF32('in'), rows, classes: i32, temperature: f64, out: rowsF32('out') },
    result: 'void',
    grain: byClasses,
  },
  /** assembly/kernels/softmax.ts */
  logsumexp: {
    source: 'assembly/kernels/softmax.ts',
    params: { x: rowsF32('in'), rows, classes: i32, temperature: f64, out: perRow4('out') },
    result: 'void',
    grain: byClasses,
  },
  /** assembly/kernels/sigmoid.ts (elementwise: each element is a row) */
  sigmoid: {
    source: 'assembly/kernels/sigmoid.ts',
    params: { x: perRow4('in'), n: rows, out: perRow4('out') },
    result: 'void',
    work: elements,
    grain: byVector,
  },
  /** assembly/kernels/sigmoid.ts (elementwise) */
  logSigmoid: {
    source: 'assembly/kernels/sigmoid.ts',
    params: { x: perRow4('in'), n: rows, out: perRow4('out') },
    result: 'void',
    work: elements,
    grain: byVector,
  },
  /** assembly/kernels/select.ts */
  argmax: {
    source: 'assembly/kernels/select.ts',
    params: { x: rowsF32('in'), rows, classes: i32, out: perRow4('out') },
    result: 'void',
    grain: byClasses,
  },
  /** assembly/kernels/select.ts */
  topk: {
    source: 'assembly/kernels/select.ts',
    params: {
      x: rowsF32('in'), rows, classes: i32, k: i32,
      values: ptr('out', (a) => 4 * num(a, 'k')), indices: ptr('out', (a) => 4 * num(a, 'k')),
    },
    result: 'void',
    grain: byClasses,
  },
  /** assembly/kernels/sample.ts: bytes of sampleRows' scratch block for rows of `classes`. */
  sampleScratchBytes: { source: 'assembly/kernels/sample.ts', params: { classes: i32 }, result: 'i32' },
  /** assembly/kernels/sample.ts (rows share one scratch block: not split) */
  sampleRows: {
    source: 'assembly/kernels/sample.ts',
    params: SAMPLE_ROWS_PARAMS,
    result: 'i32',
  },
  /** assembly/kernels/sample.ts: sampleRows with typical-p (its kept set is not a prefix of the rank order). */
  sampleRowsTypical: {
    source: 'assembly/kernels/sample.ts',
    params: { ...SAMPLE_ROWS_PARAMS, typicalP: f64 },
    result: 'i32',
  },
  /** assembly/kernels/sample.ts */
  narrowToHalf: { source: 'assembly/kernels/sample.ts', params: { src: ptr('in'), n: i32, dst: ptr('out'), bf16: flag }, result: 'void' },
  /** assembly/kernels/convert.ts */
  widenFloat16: { source: 'assembly/kernels/convert.ts', params: { src: ptr('in'), n: i32, dst: ptr('out') }, result: 'void' },
  /** assembly/kernels/convert.ts */
  widenBfloat16: { source: 'assembly/kernels/convert.ts', params: { src: ptr('in'), n: i32, dst: ptr('out') }, result: 'void' },

  /** assembly/kernels/crossentropy.ts: per-row parts of class-target cross-entropy (see CeClassOutput). */
  crossEntropyClass: {
    source: 'assembly/kernels/crossentropy.ts',
    params: {
      x: rowsF32('in'), rows, classes: i32, target: perRow4('in'), ignoreIndex: i32, weighted: flag, weight: whole,
      smoothing: f64, sumW: f64,
      nll: ptr('out', (a) => (a.lossOut === CeClassOutput.Loss ? 4 : 8)), smooth: perRow8('out'), lossOut: i32,
    },
    result: 'void',
    grain: byClasses,
  },
  /** assembly/kernels/crossentropy.ts: the first class target neither in [0, classes) nor ignoreIndex, or −1. */
  firstBadTarget: {
    source: 'assembly/kernels/crossentropy.ts',
    params: { target: ptr('in'), n: i32, classes: i32, ignoreIndex: i32 },
    result: 'i32',
  },
  /** assembly/kernels/crossentropy.ts: the class-target loss parts and the gradient of the reduced loss. */
  crossEntropyClassGrad: {
    source: 'assembly/kernels/crossentropy.ts',
    params: {
      x: rowsF32('in'), rows, classes: i32, target: perRow4('in'), ignoreIndex: i32, weighted: flag, weight: whole,
      smoothing: f64, sumW: f64, sigma: f64, grad: rowsF32('out'), nll: perRow8('out'), smooth: perRow8('out'),
    },
    result: 'void',
    grain: byClasses,
  },
  /** assembly/kernels/crossentropy.ts: f64 loss per row for probability targets. */
  crossEntropySoft: {
    source: 'assembly/kernels/crossentropy.ts',
    params: { x: rowsF32('in'), rows, classes: i32, q: rowsF32('in'), weighted: flag, weight: whole, smoothing: f64, loss: perRow8('out') },
    result: 'void',
    grain: byClasses,
  },
  /** assembly/kernels/crossentropy.ts */
  crossEntropySoftGrad: {
    source: 'assembly/kernels/crossentropy.ts',
    params: {
      x: rowsF32('in'), rows, classes: i32, q: rowsF32('in'), weighted: flag, weight: whole, smoothing: f64,
      sigma: f64, grad: rowsF32('out'), loss: perRow8('out'),
    },
    result: 'void',
    grain: byClasses,
  },
  /** assembly/kernels/sigmoid.ts: returns the f64 sum (one elementwise pass; not split). */
  bceWithLogits: {
    source: 'assembly/kernels/sigmoid.ts',
    params: {
      x: ptr('in'), target: ptr('in'), n: i32, classes: i32, weighted: flag, weight: ptr('in'), weightPerElement: flag,
      posWeighted: flag, posWeight: ptr('in'), out: ptr('out'), writeOut: flag,
    },
    result: 'f64',
  },
  /** assembly/kernels/entropy.ts */
  entropy: {
    source: 'assembly/kernels/entropy.ts',
    params: { x: rowsF32('in'), rows, classes: i32, out: perRow4('out') },
    result: 'void',
    grain: byClasses,
  },
  /** assembly/kernels/entropy.ts: f64 KL per row. */
  klDiv: {
    source: 'assembly/kernels/entropy.ts',
    params: { p: rowsF32('in'), q: rowsF32('in'), rows, classes: i32, out: perRow8('out') },
    result: 'void',
    work: (a) => 2 * num(a, 'rows') * num(a, 'classes'),
    grain: byClasses,
  },
  /** assembly/kernels/adjust.ts: z' = W (x / t) + b with a diagonal (scale), a matrix or neither. */
  adjustLogits: {
    source: 'assembly/kernels/adjust.ts',
    params: { x: rowsF32('in'), rows, classes: i32, temperature: f64, scale: whole, bias: whole, matrix: whole, out: rowsF32('out') },
    result: 'void',
    work: (a) => num(a, 'rows') * num(a, 'classes') * (a.matrix === null ? 1 : num(a, 'classes')),
    grain: byClasses,
  },
  /** assembly/kernels/score.ts: bytes of bootstrapSums' scratch block. */
  bootstrapScratchBytes: { source: 'assembly/kernels/score.ts', params: { bins: i32 }, result: 'i32' },
  /** assembly/kernels/score.ts: a block's rows into the Poisson-bootstrap replicate sums (state in and out; not split). */
  bootstrapSums: {
    source: 'assembly/kernels/score.ts',
    params: {
      hit: ptr('in'), nll: ptr('in'), conf: ptr('in'), rows: i32, seedKey: i32, first: f64, replicates: i32, bins: i32,
      state: ptr('inout'), scratch,
    },
    result: 'i32',
  },
  /**
   * assembly/kernels/score.ts: a block's probabilities into the packed AUROC cells and spill logs (in
   * wasm memory). Splits by CLASSES, not rows: its `count` (the split dimension) is the classes of a
   * part, p advances one column per class, cells and logs one class's worth, so each class is counted
   * by one thread (integer counts: the same for any split).
   */
  aurocCounts: {
    source: 'assembly/kernels/score.ts',
    params: {
      p: ptr('in', () => 4), first: whole, n: i32, classes: i32, count: rows,
      cells: ptr('inout', () => 4 * AUROC_BINS), log: ptr('inout', (a) => 8 + 8 * num(a, 'logCap')), logCap: i32, limit: i32,
    },
    result: 'void',
    work: (a) => num(a, 'n') * num(a, 'count'),
    grain: () => 4,
  },
  /**
   * assembly/kernels/score.ts: one class's non-empty packed AUROC cells (n of them at `cells`) as
   * (bin, rows, position sum) u32 triples into `out` (room for 3·n), ascending; returns the triples.
   */
  aurocClassBins: {
    source: 'assembly/kernels/score.ts',
    params: { cells: ptr('in'), n: i32, out: ptr('out') },
    result: 'i32',
  },
  /**
   * assembly/kernels/score.ts: rows [begin, end) of a block — one fixed chunk of chunkRows — into that
   * chunk's slot of partial sums (`slots`: a scratch of chunks × slot bytes); WasmRuntime.chunked runs
   * the chunks on any thread, then scoreRowsFinish. `state`: a block of one chunk only (else null).
   */
  scoreRowsChunk: {
    source: 'assembly/kernels/score.ts',
    params: {
      x: ptr('in'), p: ptr('in'), lp: ptr('in'), labels: ptr('in'), pred: ptr('in'), begin: i32, end: i32, classes: i32, bins: i32, k: i32,
      chunkRows: i32, slots: scratch, state: ptr('inout'), hit: ptr('out'), nll: ptr('out'), conf: ptr('out'),
    },
    result: 'void',
  },
  /**
   * assembly/kernels/score.ts: scoreRowsChunk from the logits alone (softmax, log-softmax and argmax of
   * the chunk made in the same pass, batch by batch in L1); p: the softmax out, or null (scratch); py:
   * each row's p_y (the bits written to p), or null.
   */
  scoreLogitsChunk: {
    source: 'assembly/kernels/score.ts',
    params: {
      x: ptr('in'), p: ptr('out'), labels: ptr('in'), pred: ptr('out'), begin: i32, end: i32, classes: i32, temperature: f64, bins: i32, k: i32,
      chunkRows: i32, slots: scratch, state: ptr('inout'), hit: ptr('out'), nll: ptr('out'), conf: ptr('out'), py: ptr('out'),
    },
    result: 'void',
  },
  /** assembly/kernels/score.ts: bytes of one chunk's region of scoreRowsChunk's (fused: scoreLogitsChunk's) scratch (its slot, one i32 per row). */
  scoreRowsRegionBytes: { source: 'assembly/kernels/score.ts', params: { classes: i32, bins: i32, chunkRows: i32, direct: flag, fused: flag }, result: 'i32' },
  /** assembly/kernels/score.ts: the chunks' slots into the row-summary state in chunk order, then the per-row counts and bins. */
  scoreRowsFinish: {
    source: 'assembly/kernels/score.ts',
    params: {
      labels: ptr('in'), pred: ptr('in'), hit: ptr('in'), conf: ptr('in'), rows: i32, classes: i32, bins: i32, chunkRows: i32, chunks: i32,
      direct: flag, fused: flag, slots: scratch, state: ptr('inout'),
    },
    result: 'void',
  },
  /** assembly/kernels/score.ts: rows [begin, end) of a block (one chunk) into that chunk's slot of replicate sums. */
  bootstrapChunk: {
    source: 'assembly/kernels/score.ts',
    params: {
      hit: ptr('in'), nll: ptr('in'), conf: ptr('in'), begin: i32, end: i32, seedKey: i32, first: f64, replicates: i32, bins: i32,
      chunkRows: i32, slots: scratch, scratch,
    },
    result: 'void',
  },
  /** assembly/kernels/score.ts: the chunks' slots into the replicate sums in chunk order; returns their NaN rows. */
  bootstrapFold: {
    source: 'assembly/kernels/score.ts',
    params: { state: ptr('inout'), slots: scratch, chunks: i32, replicates: i32, bins: i32 },
    result: 'i32',
  },

  // ---- issue 24 (uncertainty): OOD scores and conformal prediction. Rows share one scratch
  // block (the row's probabilities and rank order), so these calls are not split.
  /** assembly/kernels/ood.ts: bytes of oodScores' scratch for rows of `classes`. */
  oodScratchBytes: { source: 'assembly/kernels/ood.ts', params: { classes: i32 }, result: 'i32' },
  /** assembly/kernels/ood.ts: one float32 OOD score per row (method: OodMethod). */
  oodScores: {
    source: 'assembly/kernels/ood.ts',
    params: { x: ptr('in'), rows: i32, classes: i32, temperature: f64, method: i32, gamma: f64, topM: i32, scratch, out: ptr('out') },
    result: 'void',
  },
  /** assembly/kernels/conformal.ts: bytes of the conformal kernels' scratch for rows of `classes`. */
  conformalScratchBytes: { source: 'assembly/kernels/conformal.ts', params: { classes: i32 }, result: 'i32' },
  /** assembly/kernels/conformal.ts: the f64 nonconformity score of each row's label (method: ConformalMethod). */
  conformalLabelScores: {
    source: 'assembly/kernels/conformal.ts',
    params: {
      x: ptr('in'), rows: i32, classes: i32, temperature: f64, method: i32, uniforms: ptr('in'), lambda: f64, kReg: i32,
      labels: ptr('in'), scratch, out: ptr('out'),
    },
    result: 'void',
  },
  /** assembly/kernels/conformal.ts: packed prediction-set members and sizes; returns the member count. */
  conformalSets: {
    source: 'assembly/kernels/conformal.ts',
    params: {
      x: ptr('in'), rows: i32, classes: i32, temperature: f64, method: i32, uniforms: ptr('in'), lambda: f64, kReg: i32,
      qhat: ptr('in'), qhatPerClass: flag, scratch, members: ptr('out'), sizes: ptr('out'),
    },
    result: 'i32',
  },

  // ---- issue 21 item 5: the temperature fit's per-row terms (Engine.temperatureFitSums adds them).
  /** assembly/kernels/fit.ts: per row (−lp[y], dNLL/dβ, d²NLL/dβ²) at `temperature`; work: 2·classes floats a row. */
  temperatureFitRows: {
    source: 'assembly/kernels/fit.ts',
    params: {
      x: rowsF32('in'), labels: perRow4('in'), rows, classes: i32, temperature: f64,
      work: ptr('out', (a) => 8 * num(a, 'classes')), out: ptr('out', () => 24),
    },
    result: 'void',
    grain: byClasses,
  },

  // ---- the fingerprint hash (Engine.hasher; state layout: src/backends/js-hash.ts). One stream, in order: not split.
  /** assembly/kernels/hash.ts: n 32-bit words at x into the hash state. */
  hashUpdate: { source: 'assembly/kernels/hash.ts', params: { state: ptr('inout'), x: ptr('in'), n: i32 }, result: 'void' },
  /** assembly/kernels/hash.ts: the 128-bit digest (4 u32) into out; the state is spent. */
  hashDigest: { source: 'assembly/kernels/hash.ts', params: { state: ptr('inout'), out: ptr('out') }, result: 'void' },

  // ---- selective prediction (Engine.riskCoverageFrom; driven by src/backends/wasm-selective.ts, whose
  // state block layout is the kernel's). Buckets filled and walked in order: not split.
  /** assembly/kernels/selective.ts: n rows into the bucket counts (and their errors into the state). */
  selectiveCount: {
    source: 'assembly/kernels/selective.ts',
    params: { conf: ptr('in'), wrong: ptr('in'), n: i32, state: ptr('inout'), counts: ptr('inout') },
    result: 'void',
  },
  /** assembly/kernels/selective.ts: bucket counts → starts; returns the largest bucket's rows. */
  selectivePlan: { source: 'assembly/kernels/selective.ts', params: { state: ptr('inout'), counts: ptr('inout') }, result: 'i32' },
  /** assembly/kernels/selective.ts: n rows' 16-bit items into their buckets. */
  selectiveScatter: {
    source: 'assembly/kernels/selective.ts',
    params: { conf: ptr('in'), wrong: ptr('in'), n: i32, counts: ptr('inout'), items: ptr('inout') },
    result: 'void',
  },
  /** assembly/kernels/selective.ts: buckets sorted in place, about `budget` items a call (tmp: room for the largest); returns 1 when all are. */
  selectiveSort: {
    source: 'assembly/kernels/selective.ts',
    params: { state: ptr('inout'), counts: ptr('inout'), items: ptr('inout'), tmp: ptr('inout'), budget: i32 },
    result: 'i32',
  },
  /** assembly/kernels/selective.ts: up to `room` more points of the walk (resumable); returns those written. */
  selectiveWalk: {
    source: 'assembly/kernels/selective.ts',
    params: {
      state: ptr('inout'), counts: ptr('in'), items: ptr('in'), levels: ptr('in'), levelCount: i32, step: f64,
      coverage: ptr('out'), risk: ptr('out'), generalized: ptr('out'), confidence: ptr('out'), room: i32, riskAt: ptr('inout'), budget: i32,
    },
    result: 'i32',
  },
} as const satisfies Record<string, ExportDecl>;

export type KernelName = keyof typeof ABI;
/** Exports whose rows split (across threads and into blocks). */
export type RowKernelName = { [N in KernelName]: (typeof ABI)[N] extends { grain: unknown } ? N : never }[KernelName];

type ValueOf<P> = P extends { kind: 'ptr' } ? Typed | null : P extends { kind: 'flag' } ? boolean : number;
/** A call's arguments by parameter name. */
export type CallArgs<N extends KernelName> = { readonly [K in keyof (typeof ABI)[N]['params']]: ValueOf<(typeof ABI)[N]['params'][K]> };
export type CallResult<N extends KernelName> = (typeof ABI)[N]['result'] extends 'void' ? void : number;

/** Exports that are not kernels (the memory, the start function): present in every build. */
export const NON_KERNEL_EXPORTS = ['memory', '_initialize'] as const;

/** The raw export functions of an instance, as the runtime calls them (positional numbers). */
export type RawKernels = Record<KernelName, (...args: number[]) => number | undefined>;

/** Export names in declaration order: the index a worker calls a kernel by. */
export const KERNEL_NAMES = Object.keys(ABI) as KernelName[];
