/**
 * Sampling and logits filtering on the wasm backend: packs the per-row edits (logit bias and
 * penalties, prepared by src/sampling.ts) into one Int32Array (offsets, ids, float32 value bits)
 * and calls sampleRows (sampleRowsTypical with typical-p) of assembly/kernels/sample.ts, which follows the rules of js-sample.ts
 * exactly (same tokens for the same uniforms).
 */
import type { FilterOptions } from './backend.js';
import type { Arg, WasmBackend } from './wasm.js';

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
  w: WasmBackend,
  x: Float32Array,
  rows: number,
  classes: number,
  o: FilterOptions,
  uniforms: Float64Array | null,
  tokens: Int32Array | null,
  filtered: Float32Array | null,
): number {
  if (rows === 0) return -1;
  const edits = packEdits(o, rows);
  const args: Arg[] = [{ a: x, io: 'in' }];
  const at = { edits: -1, mask: -1, xtc: -1, uniforms: -1, tokens: -1, filtered: -1 };
  if (edits) (at.edits = args.length), args.push({ a: edits, io: 'in' });
  if (o.mask) (at.mask = args.length), args.push({ a: o.mask, io: 'in' });
  if (o.xtc && o.xtcDraws) (at.xtc = args.length), args.push({ a: o.xtcDraws, io: 'in' });
  if (uniforms) (at.uniforms = args.length), args.push({ a: uniforms, io: 'in' });
  if (tokens) (at.tokens = args.length), args.push({ a: tokens, io: 'out' });
  if (filtered) (at.filtered = args.length), args.push({ a: filtered, io: 'out' });
  const scratch = w.k.sampleScratchBytes!(classes) as number;
  let bad = -1;
  w.run(args, [scratch], (ptrs) => {
    const p = (i: number): number => (i < 0 ? 0 : ptrs[i]!);
    const common = [
      ptrs[0]!, rows, classes,
      // topK and minTokensToKeep only matter up to classes; clamping keeps them in i32 range.
      o.temperature, Math.min(o.topK, classes), o.topP, o.minP, Math.min(o.minTokensToKeep, classes),
      o.topNSigma, o.epsilon, o.eta, o.temperatureLast ? 1 : 0, o.xtc?.probability ?? 0, o.xtc?.threshold ?? 1, p(at.xtc),
      p(at.edits), p(at.mask), o.maskStride, o.constrained ? 1 : 0,
      p(at.uniforms), p(at.tokens), p(at.filtered), ptrs[args.length]!,
    ];
    // typical-p has its own export (sampleRows + one argument), so sampleRows keeps its signature.
    bad = (o.typicalP < 1 ? w.k.sampleRowsTypical!(...common, o.typicalP) : w.k.sampleRows!(...common)) as number;
  });
  return bad;
}

export function filterLogits(w: WasmBackend, x: Float32Array, rows: number, classes: number, o: FilterOptions, out: Float32Array): number {
  return run(w, x, rows, classes, o, null, null, out);
}

export function sample(w: WasmBackend, x: Float32Array, rows: number, classes: number, o: FilterOptions, u: Float64Array, out: Int32Array): number {
  return run(w, x, rows, classes, o, u, out, null);
}
