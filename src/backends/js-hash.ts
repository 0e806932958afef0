/**
 * The fingerprint hash (Engine.hasher; wasm: assembly/kernels/hash.ts): its definition, the state
 * layout both backends share, and the JS reference, in exact integer arithmetic on 32-bit halves
 * (the final mix in BigInt, once a digest).
 *
 * A 128-bit non-cryptographic hash of a stream of 32-bit words (the float32 / int32 values' bits,
 * little-endian), after XXH3's long-input loop: 8 u64 lane accumulators take, per stripe of 16
 * words w (stripe t, n = t mod 16, keys k_i = w_i ⊕ S[2n + i]):
 *   lane l += k_q · k_{q+4}  (a 32 × 32 → 64-bit product; q = l for l < 4, l + 4 for l ≥ 4)
 *           + (w_r | w_{r+1} << 32)  (r = 12 − 4⌊l/2⌋ + 2(l mod 2): every word also enters
 *                                     unmultiplied, so a key equal to its word loses nothing)
 * and after every 16th stripe each lane is scrambled: a ^= a >> 47; a ^= S64[24 + l]; a *= 0x9E3779B1.
 * A last partial stripe is zero-padded and absorbed the same way at digest; the word count is folded
 * into the final mix, so padding is not ambiguous. The state carries the partial stripe (up to 15
 * words), so the digest does not depend on how the stream is split into updates.
 * Final mix (u64, mod 2^64): h1 = L·P1, h2 = ¬(L·P2) with L the word count; for each lane l,
 * h1 = rotl(h1 ⊕ fmix64(a_l + (l+1)·P5), 27)·P1 + P4 and h2 = rotl(h2 ⊕ fmix64(a_l ⊕ (l+1)·P4), 31)·P2 + P3;
 * then h1 += h2, h2 += h1, both through fmix64 (MurmurHash3's finaliser), h1 += h2, h2 += h1.
 * The digest is h1 then h2 as 32 lowercase hex digits.
 */

/** The state in u32 words (wasm: bytes = 4 × these): lanes (lo, hi) 0–15, pending words 16–31, their count 32, stripes absorbed (lo, hi) 34–35, keys S 36–99. */
export const HASH_STATE_WORDS = 100;
const PEND = 16;
const PENDN = 32;
const STRIPES = 34;
const SECRET = 36;
const SECRET_WORDS = 64;

/** The lanes' starting values: XXH3's (PRIME32_3, PRIME64_1, 2, 3, 4, PRIME32_2, PRIME64_5, PRIME32_1) as (lo, hi) words. */
const INIT = [
  0xc2b2ae3d, 0, 0x85ebca87, 0x9e3779b1, 0x27d4eb4f, 0xc2b2ae3d, 0x9e3779f9, 0x165667b1,
  0xc2b2ae63, 0x85ebca77, 0x85ebca77, 0, 0x165667c5, 0x27d4eb2f, 0x9e3779b1, 0,
];

/** The keys S: MurmurHash3's fmix32 of a Weyl sequence (fixed: changing them changes every fingerprint). */
const KEYS = Uint32Array.from({ length: SECRET_WORDS }, (_, i) => {
  let z = (Math.imul(i + 1, 0x9e3779b9) + 0x6c6b6670) >>> 0;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
});

/** A fresh state: starting lanes, nothing pending, the keys. */
export function initHashState(state: Uint32Array): void {
  state.fill(0);
  state.set(INIT, 0);
  state.set(KEYS, SECRET);
}

const TWO32 = 4294967296;

/** Stripes at w[at..at + 16·count) into the lanes (the loop of the definition above). */
function absorb(s: Uint32Array, w: Uint32Array, at: number, count: number): void {
  let t = s[STRIPES]! + s[STRIPES + 1]! * TWO32;
  for (let c = 0; c < count; c++, at += 16, t++) {
    const n = t % 16;
    const key = SECRET + 2 * n;
    for (let l = 0; l < 8; l++) {
      const q = l < 4 ? l : l + 4;
      const a = (w[at + q]! ^ s[key + q]!) >>> 0;
      const b = (w[at + q + 4]! ^ s[key + q + 4]!) >>> 0;
      // a · b exactly: 16-bit halves, so that no partial product passes 2^53
      const al = a & 0xffff;
      const ah = a >>> 16;
      const bl = b & 0xffff;
      const bh = b >>> 16;
      const m1 = ah * bl;
      const m2 = al * bh;
      const mid = ((al * bl) >>> 16) + (m1 & 0xffff) + (m2 & 0xffff);
      const pHi = ah * bh + (m1 >>> 16) + (m2 >>> 16) + (mid >>> 16);
      const pLo = Math.imul(a, b) >>> 0;
      const r = 12 - 4 * (l >> 1) + 2 * (l & 1);
      const lo = s[2 * l]! + pLo + w[at + r]!;
      s[2 * l] = lo;
      s[2 * l + 1] = s[2 * l + 1]! + pHi + w[at + r + 1]! + Math.floor(lo / TWO32);
    }
    if (n === 15) scramble(s);
  }
  s[STRIPES] = t;
  s[STRIPES + 1] = Math.floor(t / TWO32);
}

function scramble(s: Uint32Array): void {
  for (let l = 0; l < 8; l++) {
    const hi = (s[2 * l + 1]! ^ s[SECRET + 49 + 2 * l]!) >>> 0;
    const lo = (s[2 * l]! ^ (s[2 * l + 1]! >>> 15) ^ s[SECRET + 48 + 2 * l]!) >>> 0;
    // (hi, lo) × 0x9E3779B1 mod 2^64
    const p = 0x9e3779b1;
    const loL = lo & 0xffff;
    const loH = lo >>> 16;
    const full = loH * p; // < 2^48: exact
    const low = loL * p; // < 2^48
    const sum = low + (full % 65536) * 65536; // < 2^49
    s[2 * l] = sum;
    s[2 * l + 1] = Math.imul(hi, p) + Math.floor(full / 65536) + Math.floor(sum / TWO32);
  }
}

/** Adds the words x to the state; any split of a stream into calls gives the same state at digest. */
export function hashUpdateJs(s: Uint32Array, x: Uint32Array): void {
  let pend = s[PENDN]!;
  let at = 0;
  const n = x.length;
  if (pend > 0) {
    const take = Math.min(16 - pend, n);
    s.set(x.subarray(0, take), PEND + pend);
    pend += take;
    at = take;
    if (pend < 16) {
      s[PENDN] = pend;
      return;
    }
    absorb(s, s, PEND, 1);
    pend = 0;
  }
  const full = (n - at) >>> 4;
  absorb(s, x, at, full);
  at += 16 * full;
  s.set(x.subarray(at), PEND);
  s[PENDN] = n - at;
}

const M64 = (1n << 64n) - 1n;
const P1 = 0x9e3779b185ebca87n;
const P2 = 0xc2b2ae3d27d4eb4fn;
const P3 = 0x165667b19e3779f9n;
const P4 = 0x85ebca77c2b2ae63n;
const P5 = 0x27d4eb2f165667c5n;
const fmix64 = (x: bigint): bigint => {
  x ^= x >> 33n;
  x = (x * 0xff51afd7ed558ccdn) & M64;
  x ^= x >> 33n;
  x = (x * 0xc4ceb9fe1a85ec53n) & M64;
  return x ^ (x >> 33n);
};
const rotl = (x: bigint, r: bigint): bigint => ((x << r) | (x >> (64n - r))) & M64;

/** The digest into out (h1 lo, h1 hi, h2 lo, h2 hi); the state is spent (its pending words absorbed). */
export function hashDigestJs(s: Uint32Array, out: Uint32Array): void {
  const pend = s[PENDN]!;
  const words = BigInt(s[STRIPES]! + s[STRIPES + 1]! * TWO32) * 16n + BigInt(pend);
  if (pend > 0) {
    s.fill(0, PEND + pend, PEND + 16);
    absorb(s, s, PEND, 1);
    s[PENDN] = 0;
  }
  let h1 = (words * P1) & M64;
  let h2 = ~(words * P2) & M64;
  for (let l = 0; l < 8; l++) {
    const a = (BigInt(s[2 * l + 1]!) << 32n) | BigInt(s[2 * l]!);
    const i = BigInt(l + 1);
    h1 = (rotl(h1 ^ fmix64((a + i * P5) & M64), 27n) * P1 + P4) & M64;
    h2 = (rotl(h2 ^ fmix64(a ^ ((i * P4) & M64)), 31n) * P2 + P3) & M64;
  }
  h1 = (h1 + h2) & M64;
  h2 = (h2 + h1) & M64;
  h1 = fmix64(h1);
  h2 = fmix64(h2);
  h1 = (h1 + h2) & M64;
  h2 = (h2 + h1) & M64;
  out[0] = Number(h1 & 0xffffffffn);
  out[1] = Number(h1 >> 32n);
  out[2] = Number(h2 & 0xffffffffn);
  out[3] = Number(h2 >> 32n);
}

/** The 32 hex digits of a digest (h1 then h2, each most significant digit first). */
export function digestHex(d: Uint32Array): string {
  const h = (v: number) => v.toString(16).padStart(8, '0');
  return h(d[1]!) + h(d[0]!) + h(d[3]!) + h(d[2]!);
}

/** The hash of a few words, without an engine (the fingerprints' combining step). */
export function hashWords(words: Uint32Array): string {
  const s = new Uint32Array(HASH_STATE_WORDS);
  initHashState(s);
  hashUpdateJs(s, words);
  const d = new Uint32Array(4);
  hashDigestJs(s, d);
  return digestHex(d);
}
