// The wasm ABI. Every export takes byte offsets into the imported memory, counts
// and scalars — nothing else. Kernels never validate and never allocate: the
// TypeScript engine has checked every argument before a call reaches here, and
// the TypeScript arena owns every byte at or above heapBase().
export * from './kernels/softmax';
export * from './kernels/sigmoid';
// select.ts also exports row helpers that score.ts inlines (argmaxRow, argmaxRowOfMax): not kernels
export { argmax, topk } from './kernels/select';
export * from './kernels/sample';
export * from './kernels/convert';
export * from './kernels/crossentropy';
export * from './kernels/entropy';
export * from './kernels/adjust';
export * from './kernels/score';
export { expArray } from './math/exp';
export { buildFeatures } from './features';

/** First byte the TypeScript arena may hand out (static data lies below it). */
export function heapBase(): usize {
  return (__heap_base + 15) & ~15;
}
// ---- issue 24 (uncertainty): OOD scores and conformal prediction ----
export * from './kernels/ood';
export * from './kernels/conformal';
// ---- issue 21 item 5: the temperature fit's per-pass sums
export * from './kernels/fit';
// ---- the fingerprint hash (Engine.hasher)
export * from './kernels/hash';
// ---- issue 21: selective prediction's risk–coverage figures (Engine.riskCoverageFrom)
export * from './kernels/selective';
