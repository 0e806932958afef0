// Which instruction sets this binary was compiled with, so the TypeScript side can
// report what runs (lk.features) and pick the matching memory (shared or not) for
// a module the caller passed in. Compile-time constants: no code runs to find out.

// @ts-ignore: decorator
@inline export const BUILD_RELAXED_SIMD: i32 = 1;
// @ts-ignore: decorator
@inline export const BUILD_THREADS: i32 = 2;

/** Bit set of BUILD_RELAXED_SIMD | BUILD_THREADS for this binary. */
export function buildFeatures(): i32 {
  return (ASC_FEATURE_RELAXED_SIMD ? BUILD_RELAXED_SIMD : 0) | (ASC_FEATURE_THREADS ? BUILD_THREADS : 0);
}
