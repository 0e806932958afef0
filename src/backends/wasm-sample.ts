/**
 * Sampling and logits filtering on the wasm backend: packs the per-row edits (logit bias and
 * penalties, prepared by src/sampling.ts) into one Int32Array (offsets, ids, float32 value bits)
 * and calls sampleRows (sampleRowsTypical with typical-p) of assembly/kernels/sample.ts, which follows the rules of js-sample.ts
 * exactly (same tokens for the same uniforms).
 */
import type { FilterOptions } from './backend.js';
import type { WasmRuntime } from './wasm-runtime.js';

/** offsets[rows + 1], then the ids, then the values' float32 bits; null when no row has an edit. */
function packEdits(o: FilterOptions, rows: number): Int32Array | null {
  const e = o.edits;
  if (e === null || e.ids.length === 0) return null;
  const n = e.ids.length;
  const packed = new Int32Array(rows + 1 + 2 * n);
  packed.set(e.offsets.subarray(0, rows + 1), 0);
  packed.set(e.ids, rows + 1);
  packed.set(new Int32Array(e.values.buffer, e.values.byteOffset, n), rows + 1 + n);
  return packed;
}

function run(
  rt: WasmRuntime,
  x: Float32Array,
  rows: number,
  classes: number,
  o: FilterOptions,
  uniforms: Float64Array | null,
  tokens: Int32Array | null,
  filtered: Float32Array | null,
): number {
  if (rows === 0) return -1;
  const args = {
    x, rows, classes,
    // topK and minTokensToKeep only matter up to classes; clamping keeps them in i32 range.
    temperature: o.temperature, topK: Math.min(o.topK, classes), topP: o.topP, minP: o.minP, minTokensToKeep: Math.min(o.minTokensToKeep, classes),
    topNSigma: o.topNSigma, epsilon: o.epsilon, eta: o.eta, temperatureLast: o.temperatureLast,
    xtcProbability: o.xtc?.probability ?? 0, xtcThreshold: o.xtc?.threshold ?? 1, xtc: o.xtc && o.xtcDraws ? o.xtcDraws : null,
    edits: packEdits(o, rows), mask: o.mask ?? null, maskStride: o.maskStride, constrained: o.constrained,
    uniforms, tokens, filtered, scratch: rt.call('sampleScratchBytes', { classes }),
  };
  // typical-p has its own export (sampleRows + one argument), so sampleRows keeps its signature.
  return o.typicalP < 1 ? rt.call('sampleRowsTypical', { ...args, typicalP: o.typicalP }) : rt.call('sampleRows', args);
}

export function filterLogits(rt: WasmRuntime, x: Float32Array, rows: number, classes: number, o: FilterOptions, out: Float32Array): number {
  return run(rt, x, rows, classes, o, null, null, out);
}

export function sample(rt: WasmRuntime, x: Float32Array, rows: number, classes: number, o: FilterOptions, u: Float64Array, out: Int32Array): number {
  return run(rt, x, rows, classes, o, u, out, null);
}
