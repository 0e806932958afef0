/**
 * The AUROC bins of a float32 score (metrics/auroc.ts describes the method and its accuracy): shared by
 * metrics/auroc.ts, which turns counts into AUROC, and the JS backend's histogram accumulator
 * (backends/js-score.ts); assembly/kernels/score.ts computes the same bins in wasm.
 */
export const AUROC_MANTISSA_BITS = 8;
/** Mantissa bits below the bin's: the position of a score inside its bin, 0 … 15. */
export const AUROC_POSITION_BITS = 4;
/**
 * The resolution that bins and positions were counted at, as `stats.auroc.resolution` records it:
 * statistics of another resolution cannot be added (their bins do not line up).
 */
export const AUROC_RESOLUTION = `f32-m${AUROC_MANTISSA_BITS}-q${AUROC_POSITION_BITS}`;
const M = 1 << AUROC_MANTISSA_BITS;
/** Positions per bin. */
export const AUROC_Q = 1 << AUROC_POSITION_BITS;
const Q = AUROC_Q;
const T = AUROC_MANTISSA_BITS + AUROC_POSITION_BITS;
/** Float32 exponent field of the smallest p with its own bins (2^(86 − 127) = 2^-41). */
const E_MIN = 86;
const LOWER = (126 - E_MIN) * M; // exponents E_MIN..125, p in [2^-41, ½)
const UPPER = 24 * M; // 1 − p = d·2^-24, d in [1, 2^23]: 24 binary orders of magnitude
/** Bins per class: [0] p < 2^-41, LOWER, UPPER, and p = 1. */
export const AUROC_BINS = 1 + LOWER + UPPER + 1;
/** Rows a Uint32 histogram (count and position sums, ≤ Q − 1 per row) can take without overflow. */
export const AUROC_U32_ROWS = Math.floor(0xffffffff / (AUROC_Q - 1));
export const AUROC_MAX_CLASSES = 1024;
/**
 * The engine's histogram packs a bin's rows and position sum into one u32: rows from this bit up (14
 * bits), the position sum below (18 bits). A cell spills once it holds AUROC_CELL_ROWS rows, when its
 * position sum is at most 15 · 16383 = 245745 < 2^18: nothing ever carries from the sum into the count.
 */
export const AUROC_COUNT_SHIFT = 18;
export const AUROC_CELL_ROWS = (1 << (32 - AUROC_COUNT_SHIFT)) - 1;

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** The bin of a float32 score in [0, 1] (NaN never reaches here). */
export function aurocBin(p: number): number {
  f32[0] = p;
  return fineOfBits(u32[0]) >>> AUROC_POSITION_BITS;
}

/** bin · Q + position of a float32 score in [0, 1]: monotone in p, equal for equal scores. */
export function aurocFine(p: number): number {
  f32[0] = p;
  return fineOfBits(u32[0]);
}

/** bin · Q + position of the float32 score whose bits are u. */
export function fineOfBits(u: number): number {
  if (u < 0x3f000000) {
    // p < ½ (and +0): exponent and top mantissa bits; below 2^-41 one bin, position 0
    const e = u >>> 23;
    if (e < E_MIN) return 0;
    return Q + (e - E_MIN) * M * Q + ((u >>> (23 - T)) & (M * Q - 1));
  }
  if (u >= 0x3f800000) return (AUROC_BINS - 1) * Q; // p = 1 (softmax never exceeds it)
  // p in [½, 1): p = (1 + f·2^-23)/2, so 1 − p = d·2^-24 with d = 2^23 − f in [1, 2^23]
  const d = 0x800000 - (u & 0x7fffff);
  const e = 31 - Math.clz32(d); // 0..23
  const mant = e >= T ? (d >>> (e - T)) & (M * Q - 1) : (d << (T - e)) & (M * Q - 1);
  // larger d (further from 1) → lower bin and lower position
  return (1 + LOWER) * Q + (23 - e) * M * Q + (M * Q - 1 - mant);
}

