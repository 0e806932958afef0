/**
 * Every size a caller controls, bounded before anything is allocated (README "Input limits").
 * One place so that the engine, both backends, the metrics and the .npy reader refuse the same
 * things with the same codes.
 */

/**
 * Calibration bins. Three float64 sums per bin (24 MB at the bound) plus one result object per bin in
 * `reliability()`; far beyond any useful resolution (a bin narrower than 1e-6 holds no float32 steps of
 * confidence near 1), and small enough that no value of `bins` can exhaust the heap.
 */
export const MAX_BINS = 1_000_000;

/**
 * Classes per row: the kernels take `classes` as a wasm i32, and a row must be addressable in one
 * memory. Larger values are refused even for empty inputs, where nothing would be computed.
 */
export const MAX_CLASSES = 2 ** 31 - 1;

/** Default memory limit in bytes, the same for both backends (init({ memoryLimit }) changes it). */
export const DEFAULT_MEMORY_LIMIT = 2 ** 31;

/**
 * numpy's own default for `max_header_size`: headers longer than this are refused unless the
 * reader is told otherwise (`maxHeaderBytes`). A real header for any shape is far shorter.
 */
export const DEFAULT_MAX_HEADER_BYTES = 10_000;

/** Largest count of elements a shape may describe: beyond 2^53 products stop being exact. */
export const MAX_ELEMENTS = Number.MAX_SAFE_INTEGER;

/** Poisson-bootstrap replicates (intervals): above this memory and time grow past any use. */
export const MAX_REPLICATES = 10_000;
