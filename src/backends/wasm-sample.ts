/**
 * Sampling and logits filtering on the wasm backend: packs the per-row penalty
 * lists into one Int32Array (offsets, then tokens) and calls sampleRows of
 * assembly/kernels/sample.ts, which follows the rules of js-sample.ts exactly
 * (same tokens for the same uniforms).
 */
import type { FilterOptions } from './backend.js';
import type { Arg, WasmBackend } from './wasm.js';

/** offsets[rows + 1] then the concatenated token lists, or null when no penalty applies. */
function packPenalty(o: FilterOptions, rows: number): Int32Array | null {
  if (o.penaltyTokens === null || o.repetitionPenalty === 1) return null;
  const lists = o.penaltyTokens;
  let total = 0;
  for (let r = 0; r < rows; r++) total += lists[r]!.length;
  if (total === 0) return null;
  const packed = new Int32Array(rows + 1 + total);
  let at = rows + 1;
  for (let r = 0; r < rows; r++) {
    packed[r] = at - (rows + 1);
    packed.set(lists[r]!, at);
    at += lists[r]!.length;
  }
  packed[rows] = total;
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
): void {
  if (rows === 0) return;
  const penalty = packPenalty(o, rows);
  const args: Arg[] = [{ a: x, io: 'in' }];
  const at = { penalty: -1, uniforms: -1, tokens: -1, filtered: -1 };
  if (penalty) (at.penalty = args.length), args.push({ a: penalty, io: 'in' });
  if (uniforms) (at.uniforms = args.length), args.push({ a: uniforms, io: 'in' });
  if (tokens) (at.tokens = args.length), args.push({ a: tokens, io: 'out' });
  if (filtered) (at.filtered = args.length), args.push({ a: filtered, io: 'out' });
  const scratch = w.k.sampleScratchBytes!(classes) as number;
  w.run(args, [scratch], (ptrs) => {
    const p = (i: number): number => (i < 0 ? 0 : ptrs[i]!);
    w.k.sampleRows!(
      ptrs[0]!, rows, classes,
      // topK and minTokensToKeep only matter up to classes; clamping keeps them in i32 range.
      o.temperature, Math.min(o.topK, classes), o.topP, o.minP, o.repetitionPenalty, p(at.penalty), Math.min(o.minTokensToKeep, classes),
      p(at.uniforms), p(at.tokens), p(at.filtered), ptrs[args.length]!,
    );
  });
}

export function filterLogits(w: WasmBackend, x: Float32Array, rows: number, classes: number, o: FilterOptions, out: Float32Array): void {
  run(w, x, rows, classes, o, null, null, out);
}

export function sample(w: WasmBackend, x: Float32Array, rows: number, classes: number, o: FilterOptions, u: Float64Array, out: Int32Array): void {
  run(w, x, rows, classes, o, u, out, null);
}
