/**
 * The Poisson-bootstrap weights (the generator, not the accumulation): w_ir, the Poisson(1) weight of
 * row i of the shard `key` in replicate r, is a pure function of (seed, key, i, r), so nothing is
 * stored per row and a shard's rows get the same weights alone or inside a larger run.
 *
 * u = fmix32(rowHash(i) + (⌊r/2⌋ + 1)·0x632BE5AB) with rowHash = fmix32(seedKey ^ lo(i)·0x9E3779B1 ^
 * fmix32(hi(i) + 0x27D4EB2F)) and seedKey = fmix32(fmix32(seed ^ 0x5BD1E995) ^ key) (MurmurHash3's
 * finaliser: a bijection with full avalanche); replicate r takes the low (r even) or high (r odd) 16
 * bits of u, mapped to Poisson(1) by inverse CDF on 16-bit thresholds (weights 0..8, each probability
 * within 2^-16 of Poisson(1)'s, far below the bootstrap's own noise).
 *
 * Shared by metrics/bootstrap.ts (which documents the method) and the JS backend's accumulator
 * (backends/js-score.ts); assembly/kernels/score.ts is the same generator in wasm SIMD.
 */

export function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** Poisson(1) inverse CDF on v in [0, 2^16): round(P(w ≤ k) · 2^16) for k = 0..7; v above the last gives 8. */
export const POISSON16_THRESHOLDS: readonly number[] = (() => {
  const t: number[] = [];
  let pk = Math.exp(-1);
  let cdf = 0;
  for (let k = 0; k < 8; k++) {
    cdf += pk;
    t.push(Math.min(2 ** 16, Math.round(cdf * 2 ** 16)));
    pk /= k + 1;
  }
  return t;
})();
const T16 = POISSON16_THRESHOLDS;

export function poisson16(v: number): number {
  let k = 0;
  while (k < T16.length && v >= T16[k]!) k++;
  return k;
}

/** The part of the row hash that depends only on the seed and the shard key. */
export function seedKeyOf(seed: number, key: number): number {
  return fmix32(fmix32(seed ^ 0x5bd1e995) ^ (key >>> 0));
}

/** The hash of row i (an integer below 2^53) from seedKeyOf(seed, key). */
export function rowHash(seedKey: number, i: number): number {
  const lo = i >>> 0;
  const hi = Math.floor(i / 2 ** 32) >>> 0;
  return fmix32(seedKey ^ Math.imul(lo, 0x9e3779b1) ^ fmix32(hi + 0x27d4eb2f));
}

/** The weight of replicate r for a row of hash h. */
export function replicateWeight(h: number, r: number): number {
  const u = fmix32((h + Math.imul((r >>> 1) + 1, 0x632be5ab)) >>> 0);
  return poisson16(r & 1 ? u >>> 16 : u & 0xffff);
}

/** w_ir: the Poisson(1) weight of row i of the shard `key` in replicate r. */
export function bootstrapWeight(seed: number, key: number, i: number, r: number): number {
  return replicateWeight(rowHash(seedKeyOf(seed, key), i), r);
}
