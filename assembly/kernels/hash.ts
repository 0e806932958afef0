// The fingerprint hash (Engine.hasher): a 128-bit non-cryptographic hash of a stream of 32-bit
// words, defined (with the state layout and the JS reference) in src/backends/js-hash.ts. Its
// purpose is `logitkit merge` telling a shard it has already counted from a new one, so it must
// cost next to nothing beside the scoring pass over the same block.
//
// Algorithm: XXH3's long-input loop on 16-word stripes with 8 u64 lanes held in four i64x2
// accumulators: k = w ⊕ S (the stripe's keys, S shifted by 2 words per stripe), then
// i64x2.extmul_{low,high}_i32x4_u of the first and second key vector (lanes 0–3) and of the third and
// fourth (lanes 4–7), plus the stripe's words reversed by vector (v3, v2, v1, v0) read as i64x2; every
// 16th stripe a scramble (a ^= a >> 47, ^= S, *= 0x9E3779B1). A partial stripe waits in the state
// (hashUpdate copies it there), so a digest does not depend on how the stream was split.
// Measured cost per element (32-bit word), Xeon Sapphire Rapids, Node 24, loaded 2-core VM
// (bench/hash-throughput.js): ≈ 0.27 ns in cache (15 GB/s at best, 6–11 typical under load), 1.1 ns
// from memory (3.75 GB/s over 256 MB; SHA-256 of node:crypto 0.75 GB/s in the same run); in
// `score` on the 1.2 GB file 0.35 s of profile self time (bench/limits.md, issue 21).

// State offsets in bytes (src/backends/js-hash.ts HASH_STATE_WORDS: 4 × the word offsets there).
// @ts-ignore: decorator
@inline const PEND: usize = 64;
// @ts-ignore: decorator
@inline const PENDN: usize = 128;
// @ts-ignore: decorator
@inline const STRIPES: usize = 136;
// @ts-ignore: decorator
@inline const SECRET: usize = 144;

/** `count` stripes from p into the lanes, the stripe counter and the scrambles with them. */
function absorb(state: usize, p: usize, count: usize): void {
  let t = load<u64>(state + STRIPES);
  let a0 = v128.load(state);
  let a1 = v128.load(state, 16);
  let a2 = v128.load(state, 32);
  let a3 = v128.load(state, 48);
  let end = p + (count << 6);
  while (p < end) {
    let s = state + SECRET + (<usize>(t & 15) << 3);
    let v0 = v128.load(p);
    let v1 = v128.load(p, 16);
    let v2 = v128.load(p, 32);
    let v3 = v128.load(p, 48);
    let k0 = v128.xor(v0, v128.load(s));
    let k1 = v128.xor(v1, v128.load(s, 16));
    let k2 = v128.xor(v2, v128.load(s, 32));
    let k3 = v128.xor(v3, v128.load(s, 48));
    a0 = i64x2.add(a0, i64x2.add(i64x2.extmul_low_i32x4_u(k0, k1), v3));
    a1 = i64x2.add(a1, i64x2.add(i64x2.extmul_high_i32x4_u(k0, k1), v2));
    a2 = i64x2.add(a2, i64x2.add(i64x2.extmul_low_i32x4_u(k2, k3), v1));
    a3 = i64x2.add(a3, i64x2.add(i64x2.extmul_high_i32x4_u(k2, k3), v0));
    if ((t & 15) == 15) {
      let q = state + SECRET + 192;
      let m = i64x2.splat(0x9e3779b1);
      a0 = i64x2.mul(v128.xor(v128.xor(a0, i64x2.shr_u(a0, 47)), v128.load(q)), m);
      a1 = i64x2.mul(v128.xor(v128.xor(a1, i64x2.shr_u(a1, 47)), v128.load(q, 16)), m);
      a2 = i64x2.mul(v128.xor(v128.xor(a2, i64x2.shr_u(a2, 47)), v128.load(q, 32)), m);
      a3 = i64x2.mul(v128.xor(v128.xor(a3, i64x2.shr_u(a3, 47)), v128.load(q, 48)), m);
    }
    p += 64;
    t++;
  }
  v128.store(state, a0);
  v128.store(state, a1, 16);
  v128.store(state, a2, 32);
  v128.store(state, a3, 48);
  store<u64>(state + STRIPES, t);
}

/** Adds n words at x to the state (its pending words first; what is left of a stripe waits there). */
export function hashUpdate(state: usize, x: usize, n: i32): void {
  let pend = <usize>load<u32>(state + PENDN);
  let left = <usize>n;
  if (pend > 0) {
    let take = min<usize>(16 - pend, left);
    memory.copy(state + PEND + (pend << 2), x, take << 2);
    pend += take;
    x += take << 2;
    left -= take;
    if (pend < 16) {
      store<u32>(state + PENDN, <u32>pend);
      return;
    }
    absorb(state, state + PEND, 1);
  }
  let full = left >> 4;
  absorb(state, x, full);
  x += full << 6;
  left &= 15;
  memory.copy(state + PEND, x, left << 2);
  store<u32>(state + PENDN, <u32>left);
}

// @ts-ignore: decorator
@inline
function fmix64(x: u64): u64 {
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccd;
  x ^= x >> 33;
  x *= 0xc4ceb9fe1a85ec53;
  return x ^ (x >> 33);
}

/** The digest (h1, h2 as 4 u32: lo, hi, lo, hi) into out; the state is spent. */
export function hashDigest(state: usize, out: usize): void {
  const P1: u64 = 0x9e3779b185ebca87;
  const P2: u64 = 0xc2b2ae3d27d4eb4f;
  const P3: u64 = 0x165667b19e3779f9;
  const P4: u64 = 0x85ebca77c2b2ae63;
  const P5: u64 = 0x27d4eb2f165667c5;
  let pend = <usize>load<u32>(state + PENDN);
  let words = (load<u64>(state + STRIPES) << 4) + <u64>pend;
  if (pend > 0) {
    memory.fill(state + PEND + (pend << 2), 0, (16 - pend) << 2);
    absorb(state, state + PEND, 1);
    store<u32>(state + PENDN, 0);
  }
  let h1 = words * P1;
  let h2 = ~(words * P2);
  for (let l = 0; l < 8; l++) {
    let a = load<u64>(state + (<usize>l << 3));
    let i = <u64>(l + 1);
    h1 = rotl<u64>(h1 ^ fmix64(a + i * P5), 27) * P1 + P4;
    h2 = rotl<u64>(h2 ^ fmix64(a ^ (i * P4)), 31) * P2 + P3;
  }
  h1 += h2;
  h2 += h1;
  h1 = fmix64(h1);
  h2 = fmix64(h2);
  h1 += h2;
  h2 += h1;
  store<u64>(out, h1);
  store<u64>(out, h2, 8);
}
