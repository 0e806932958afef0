// LLM sampling: constraints and penalties (sparse edits + a bitmask, prepared by src/sampling.ts)
// → temperature → top-nσ → top-k → top-p → min-p → typical-p → epsilon → eta → one token per row, and the
// same filtering written out as logits (−inf outside the kept set). XTC (a range of ranks) closes
// the filters; with the llama.cpp order the filters run on unscaled z and temperature shapes only
// the draw.
//
// The rules are those of src/backends/js-sample.ts (the reference, which sorts the whole
// vocabulary) and the README section "Sampling and logits processing"; this kernel must pick the same token for the same uniform,
// so it computes every quantity the reference compares with the same f64 operations in the
// same order: z = f32(f64(x) / T) (penalised tokens first), w = exp(z − m) from the shared
// f64 exp below, totals summed in index order, the top-p running sum in rank order.
//
// Algorithm per row (never a full sort of the vocabulary):
//  1. z pass (SIMD): temperature-scaled logits into scratch, NaN → −inf, then the sparse edits
//     (bias, penalties) and the token bitmask, max m; top-nσ's two summing passes and cut.
//  2. A candidate list L = {j : z_j ≥ zt, z_j > −inf} — always a prefix of the rank order (z
//     descending, ties by lower index; −inf never ranked) — collected in index order, then sorted
//     by a 64-bit rank key (radix sort when long):
//     - top-k on: zt = the k-th largest z (a k-element min-heap over z with a four-wide skip
//       test); L is then exactly the top-k set and the top-p total S is summed while collecting;
//     - top-p only: one SIMD pass sums S = Σ w (f64x2 exp, sequential adds) and bins the mass by
//       m − z (quarter-nat buckets); zt is the first bucket edge whose cumulative mass exceeds
//       p·S with a margin, so L's mass reaches p·S;
//     - min-p only: zt just below m + ln(minP);
//     - epsilon / eta / XTC only: one f64x2 exp pass gives S (and, for eta, the entropy), zt just
//       below m + ln(c·S) for the cutoff c.
//     - typical-p seeing the whole row (alone, or first in the llama.cpp order): one f64x2 exp pass
//       gives S and A, the mass is binned by the score s = |(z − m) − A/S| (eighth-nats), and L is
//       the band of tokens with s below the first bin edge whose mass reaches p·S — a prefix of the
//       score order (collectBand); otherwise typical works on the kept prefix of the sorted L.
//  3. The top-p / min-p / typical / epsilon / eta / XTC / minTokensToKeep decisions run on the sorted L exactly as the
//     reference runs them on the sorted vocabulary. If L turns out too short to decide
//     (possible only through rounding at the margin, or minTokensToKeep > |L|), L is widened
//     to the whole row and the decisions rerun, so the result never depends on the guess.
//     Typical's kept set is not a prefix: typicalCut merges the two monotone halves of the score
//     order (see there) and compacts the kept ranks, so the later stages again see a sorted prefix.
//  4. The kept prefix is re-collected in index order (rank key ≤ the last kept key; with typical,
//     the kept indices are sorted) and the uniform is inverted over it.
// Cost for a 128,256-wide row: one f64-divide pass (when T ≠ 1) and a heap pass for top-k; the
// top-p-only path adds one f64x2 exp pass and a sort of the candidates only. Measured (CPU time
// per call, N(0, 2.5²) logits, loaded 2-core EPYC): topK 50 + topP 0.9 + T 0.8 ≈ 0.2 ms; topP 0.9
// + T 0.8 alone ≈ 1.5 ms (4,497 tokens kept); no filter ≈ 0.8 ms (bench/sample.js compares);
// typical-p 0.9 + T 0.8 alone ≈ 2.6 ms CPU (5,727 kept; 11 ms before the band, which sorted the row).
// Accuracy: the f64 exp is within 1 ulp of Math.exp on [−700, 0] (2e6 random points); every
// decision is an exact copy of the reference's (test/spec-sample.test.ts: identical tokens and
// filtered logits on both backends).

// ---- the shared f64 exp (bit-identical to expNonPositive in src/backends/js-sample.ts) ----
// k = floor(d·log2 e + 1/2), r = d − k·LN2_HI − k·LN2_LO (k·LN2_HI exact for |k| ≤ 1011), degree-13 Taylor
// polynomial of e^r in Horner form, times 2^k built from its bits. d < −700 gives 0.

// @ts-ignore: decorator
@inline const LOG2E: f64 = 1.4426950408889634;
// @ts-ignore: decorator
@inline const LN2_HI: f64 = 6.93147180369123816490e-1; // 0x3FE62E42FEE00000
// @ts-ignore: decorator
@inline const LN2_LO: f64 = 1.90821492927058770002e-10; // 0x3DEA39EF35793C76
// @ts-ignore: decorator
@inline const C2: f64 = 0.5;
// @ts-ignore: decorator
@inline const C3: f64 = 0.16666666666666666;
// @ts-ignore: decorator
@inline const C4: f64 = 0.041666666666666664;
// @ts-ignore: decorator
@inline const C5: f64 = 0.008333333333333333;
// @ts-ignore: decorator
@inline const C6: f64 = 0.001388888888888889;
// @ts-ignore: decorator
@inline const C7: f64 = 0.0001984126984126984;
// @ts-ignore: decorator
@inline const C8: f64 = 0.0000248015873015873;
// @ts-ignore: decorator
@inline const C9: f64 = 0.0000027557319223985893;
// @ts-ignore: decorator
@inline const C10: f64 = 2.7557319223985894e-7;
// @ts-ignore: decorator
@inline const C11: f64 = 2.505210838544172e-8;
// @ts-ignore: decorator
@inline const C12: f64 = 2.08767569878681e-9;
// @ts-ignore: decorator
@inline const C13: f64 = 1.6059043836821616e-10;
// @ts-ignore: decorator
@inline const EXP_MIN: f64 = -700.0;

// @ts-ignore: decorator
@inline
function expNonPositive(d: f64): f64 {
  if (!(d >= EXP_MIN)) return 0.0;
  let k = Math.floor(d * LOG2E + 0.5);
  let r = d - k * LN2_HI - k * LN2_LO;
  let p = C13;
  p = p * r + C12;
  p = p * r + C11;
  p = p * r + C10;
  p = p * r + C9;
  p = p * r + C8;
  p = p * r + C7;
  p = p * r + C6;
  p = p * r + C5;
  p = p * r + C4;
  p = p * r + C3;
  p = p * r + C2;
  p = p * r + 1.0;
  p = p * r + 1.0;
  return p * reinterpret<f64>(<u64>(<i64>k + 1023) << 52);
}

/** Two lanes of expNonPositive, operation for operation (so lane results equal the scalar's). */
// @ts-ignore: decorator
@inline
function expNonPositiveX2(d: v128): v128 {
  let dc = f64x2.pmax(d, f64x2.splat(EXP_MIN));
  let k = f64x2.floor(f64x2.add(f64x2.mul(dc, f64x2.splat(LOG2E)), f64x2.splat(0.5)));
  let r = f64x2.sub(f64x2.sub(dc, f64x2.mul(k, f64x2.splat(LN2_HI))), f64x2.mul(k, f64x2.splat(LN2_LO)));
  let p = f64x2.splat(C13);
  p = f64x2.add(f64x2.mul(p, r), f64x2.splat(C12));
  p = f64x2.add(f64x2.mul(p, r), f64x2.splat(C11));
  p = f64x2.add(f64x2.mul(p, r), f64x2.splat(C10));
  p = f64x2.add(f64x2.mul(p, r), f64x2.splat(C9));
  p = f64x2.add(f64x2.mul(p, r), f64x2.splat(C8));
  p = f64x2.add(f64x2.mul(p, r), f64x2.splat(C7));
  p = f64x2.add(f64x2.mul(p, r), f64x2.splat(C6));
  p = f64x2.add(f64x2.mul(p, r), f64x2.splat(C5));
  p = f64x2.add(f64x2.mul(p, r), f64x2.splat(C4));
  p = f64x2.add(f64x2.mul(p, r), f64x2.splat(C3));
  p = f64x2.add(f64x2.mul(p, r), f64x2.splat(C2));
  p = f64x2.add(f64x2.mul(p, r), f64x2.splat(1.0));
  p = f64x2.add(f64x2.mul(p, r), f64x2.splat(1.0));
  let ki = i64x2.extend_low_i32x4_s(i32x4.trunc_sat_f64x2_s_zero(k));
  let scale = i64x2.shl(i64x2.add(ki, i64x2.splat(1023)), 52);
  return v128.andnot(f64x2.mul(p, scale), f64x2.lt(d, f64x2.splat(EXP_MIN)));
}

/** Unnormalised probability exp(z − m); with m = +inf, 1 for +inf tokens and 0 otherwise. */
// @ts-ignore: decorator
@inline
function weightOf(z: f32, m: f32): f64 {
  if (m == Infinity) return z == Infinity ? 1.0 : 0.0;
  return expNonPositive(<f64>z - <f64>m);
}

// @ts-ignore: decorator
@inline const SQRT2: f64 = 1.4142135623730951;

/** ln(s) for 1 ≤ s < 2^1011, operation for operation the reference's logAtLeastOne (js-sample.ts). */
function logAtLeastOne(s: f64): f64 {
  let e: f64 = 0.0;
  let f = s;
  while (f >= 2.0) {
    f /= 2.0;
    e += 1.0;
  }
  if (f > SQRT2) {
    f /= 2.0;
    e += 1.0;
  }
  let a = (f - 1.0) / (f + 1.0);
  let a2 = a * a;
  let q: f64 = 1.0 / 21.0;
  q = q * a2 + 1.0 / 19.0;
  q = q * a2 + 1.0 / 17.0;
  q = q * a2 + 1.0 / 15.0;
  q = q * a2 + 1.0 / 13.0;
  q = q * a2 + 1.0 / 11.0;
  q = q * a2 + 1.0 / 9.0;
  q = q * a2 + 1.0 / 7.0;
  q = q * a2 + 1.0 / 5.0;
  q = q * a2 + 1.0 / 3.0;
  q = q * a2 + 1.0;
  return e * LN2_HI + (e * LN2_LO + 2.0 * a * q);
}

/**
 * llama.cpp's top-nσ on z in place (the reference's topNSigmaCut): mean and population σ of the
 * finite z as four partial sums by index mod 4 (two f64x2 accumulators; −inf lanes add +0),
 * combined (s0 + s1) + (s2 + s3); then z < m − n·σ becomes −inf.
 */
function topNSigmaCut(zp: usize, classes: i32, m: f32, n: f64): void {
  if (!(m < Infinity) || m == -Infinity) return;
  let negInf = f32x4.splat(-Infinity);
  let zero = f64x2.splat(0.0);
  let s01 = zero;
  let s23 = zero;
  let cnt = i32x4.splat(0);
  let j = 0;
  for (; j + 4 <= classes; j += 4) {
    let v = v128.load(zp + (<usize>j << 2));
    let finite = f32x4.ne(v, negInf);
    cnt = i32x4.sub(cnt, finite);
    v = v128.and(v, finite);
    s01 = f64x2.add(s01, f64x2.promote_low_f32x4(v));
    s23 = f64x2.add(s23, f64x2.promote_low_f32x4(v128.shuffle<f32>(v, v, 2, 3, 0, 1)));
  }
  let s0 = f64x2.extract_lane(s01, 0);
  let s1 = f64x2.extract_lane(s01, 1);
  let s2 = f64x2.extract_lane(s23, 0);
  let s3 = f64x2.extract_lane(s23, 1);
  let count = i32x4.extract_lane(cnt, 0) + i32x4.extract_lane(cnt, 1) + i32x4.extract_lane(cnt, 2) + i32x4.extract_lane(cnt, 3);
  for (; j < classes; j++) {
    let z = load<f32>(zp + (<usize>j << 2));
    if (z == -Infinity) continue;
    count++;
    let q = j & 3;
    if (q == 0) s0 += <f64>z;
    else if (q == 1) s1 += <f64>z;
    else if (q == 2) s2 += <f64>z;
    else s3 += <f64>z;
  }
  if (count < 2) return;
  let mu = (s0 + s1 + (s2 + s3)) / <f64>count;
  let muv = f64x2.splat(mu);
  let v01 = zero;
  let v23 = zero;
  j = 0;
  for (; j + 4 <= classes; j += 4) {
    let v = v128.load(zp + (<usize>j << 2));
    let finite = f32x4.ne(v, negInf);
    let lo = f64x2.sub(f64x2.promote_low_f32x4(v), muv);
    let hi = f64x2.sub(f64x2.promote_low_f32x4(v128.shuffle<f32>(v, v, 2, 3, 0, 1)), muv);
    let flo = i64x2.extend_low_i32x4_s(finite);
    let fhi = i64x2.extend_high_i32x4_s(finite);
    v01 = f64x2.add(v01, v128.and(f64x2.mul(lo, lo), flo));
    v23 = f64x2.add(v23, v128.and(f64x2.mul(hi, hi), fhi));
  }
  let q0 = f64x2.extract_lane(v01, 0);
  let q1 = f64x2.extract_lane(v01, 1);
  let q2 = f64x2.extract_lane(v23, 0);
  let q3 = f64x2.extract_lane(v23, 1);
  for (; j < classes; j++) {
    let z = load<f32>(zp + (<usize>j << 2));
    if (z == -Infinity) continue;
    let d = <f64>z - mu;
    let q = j & 3;
    if (q == 0) q0 += d * d;
    else if (q == 1) q1 += d * d;
    else if (q == 2) q2 += d * d;
    else q3 += d * d;
  }
  let sigma = Math.sqrt((q0 + q1 + (q2 + q3)) / <f64>count);
  let threshold = <f64>m - n * sigma;
  // For float32 z, z < threshold ⟺ z < t32 with t32 the smallest float32 ≥ threshold, so the
  // cut runs four lanes at a time in float32 and still decides exactly as the reference in f64.
  let t32 = <f32>threshold;
  if (<f64>t32 < threshold) t32 = reinterpret<f32>(t32 >= 0 ? reinterpret<u32>(t32) + 1 : t32 == 0 ? 1 : reinterpret<u32>(t32) - 1);
  let tv = f32x4.splat(t32);
  for (j = 0; j + 4 <= classes; j += 4) {
    let p = zp + (<usize>j << 2);
    let v = v128.load(p);
    v128.store(p, v128.bitselect(negInf, v, f32x4.lt(v, tv)));
  }
  for (; j < classes; j++) {
    let p = zp + (<usize>j << 2);
    if (<f64>load<f32>(p) < threshold) store<f32>(p, -Infinity);
  }
}

// ---- rank keys and sorting -------------------------------------------------------------

/**
 * 64-bit key whose ascending order is the rank order: high word = z mapped to an unsigned
 * order and inverted (descending z), low word = the index (ascending on ties). −0 ties +0.
 */
// @ts-ignore: decorator
@inline
function rankKey(z: f32, j: i32): u64 {
  let b = reinterpret<u32>(z);
  if (b == 0x80000000) b = 0;
  let ordered = b & 0x80000000 ? ~b : b | 0x80000000;
  return (<u64>(~ordered) << 32) | <u64><u32>j;
}

// @ts-ignore: decorator
@inline
function keyIndex(key: u64): i32 {
  return <i32><u32>key;
}

// @ts-ignore: decorator
@inline
function keyAt(p: usize, i: i32): u64 {
  return load<u64>(p + (<usize>i << 3));
}

// @ts-ignore: decorator
@inline
function setKey(p: usize, i: i32, v: u64): void {
  store<u64>(p + (<usize>i << 3), v);
}

/** Ascending sort of unique u64 keys in [lo, hi]: quicksort (median of three), insertion sort below 17. */
function sortKeyRange(p: usize, lo: i32, hi: i32): void {
  while (hi - lo > 16) {
    let mid = lo + ((hi - lo) >> 1);
    let a = keyAt(p, lo);
    let b = keyAt(p, mid);
    let c = keyAt(p, hi);
    let pivot = a < b ? (b < c ? b : a < c ? c : a) : a < c ? a : b < c ? c : b;
    let i = lo - 1;
    let j = hi + 1;
    while (true) {
      do i++; while (keyAt(p, i) < pivot);
      do j--; while (keyAt(p, j) > pivot);
      if (i >= j) break;
      let t = keyAt(p, i);
      setKey(p, i, keyAt(p, j));
      setKey(p, j, t);
    }
    // Recurse into the smaller side, loop on the larger: stack depth ≤ log2(n).
    if (j - lo < hi - j) {
      sortKeyRange(p, lo, j);
      lo = j + 1;
    } else {
      sortKeyRange(p, j + 1, hi);
      hi = j;
    }
  }
  for (let i = lo + 1; i <= hi; i++) {
    let v = keyAt(p, i);
    let j = i - 1;
    while (j >= lo && keyAt(p, j) > v) {
      setKey(p, j + 1, keyAt(p, j));
      j--;
    }
    setKey(p, j + 1, v);
  }
}

// @ts-ignore: decorator
@inline const RADIX_BITS: u64 = 11;
// @ts-ignore: decorator
@inline const RADIX_SIZE: i32 = 2048;
// @ts-ignore: decorator
@inline const RADIX_MIN_KEYS: i32 = 512;

/** Where sortKeys may put its second key buffer (n keys) and its digit counts (set per call). */
let RADIX_TMP: usize = 0;
let RADIX_COUNTS: usize = 0;

/**
 * Ascending sort of n unique u64 keys. Long lists use an LSD radix sort (11-bit digits, stable
 * counting passes, a pass skipped when every key has the same digit there — the index's high
 * bits and, on flat rows, the value's high bits); short ones the quicksort.
 */
function sortKeys(p: usize, n: i32): void {
  if (n < RADIX_MIN_KEYS) {
    sortKeyRange(p, 0, n - 1);
    return;
  }
  let src = p;
  let dst = RADIX_TMP;
  for (let shift: u64 = 0; shift < 64; shift += RADIX_BITS) {
    memory.fill(RADIX_COUNTS, 0, <usize>RADIX_SIZE << 2);
    for (let i = 0; i < n; i++) {
      let c = RADIX_COUNTS + (<usize>((keyAt(src, i) >> shift) & <u64>(RADIX_SIZE - 1)) << 2);
      store<i32>(c, load<i32>(c) + 1);
    }
    if (load<i32>(RADIX_COUNTS + (<usize>((keyAt(src, 0) >> shift) & <u64>(RADIX_SIZE - 1)) << 2)) == n) continue;
    let sum = 0;
    for (let b = 0; b < RADIX_SIZE; b++) {
      let c = RADIX_COUNTS + (<usize>b << 2);
      let count = load<i32>(c);
      store<i32>(c, sum);
      sum += count;
    }
    for (let i = 0; i < n; i++) {
      let key = keyAt(src, i);
      let c = RADIX_COUNTS + (<usize>((key >> shift) & <u64>(RADIX_SIZE - 1)) << 2);
      let at = load<i32>(c);
      store<i32>(c, at + 1);
      setKey(dst, at, key);
    }
    let t = src;
    src = dst;
    dst = t;
  }
  if (src != p) memory.copy(p, src, <usize>n << 3);
}

// ---- per-row passes --------------------------------------------------------------------

/**
 * Writes z of one row to zp and returns its max: x with the row's edits (ids at idPtr, float32
 * values at valPtr: logit bias and penalties, computed by src/sampling.ts) in place of the listed
 * tokens, then temperature, then −inf for every token the mask (⌈classes/32⌉ words at maskPtr, 0 =
 * none) disallows; NaN → −inf. `scale` is false for T = 0 (greedy) and T = 1, where z is x itself.
 */
function processRow(xp: usize, zp: usize, classes: i32, t: f64, scale: bool, idPtr: usize, valPtr: usize, nEdit: i32, maskPtr: usize): f32 {
  let negInf = f32x4.splat(-Infinity);
  let mv = negInf;
  let j = 0;
  if (scale) {
    let tv = f64x2.splat(t);
    for (; j + 4 <= classes; j += 4) {
      let v = v128.load(xp + (<usize>j << 2));
      let lo = f32x4.demote_f64x2_zero(f64x2.div(f64x2.promote_low_f32x4(v), tv));
      let hi = f32x4.demote_f64x2_zero(f64x2.div(f64x2.promote_low_f32x4(v128.shuffle<f32>(v, v, 2, 3, 0, 1)), tv));
      let z = v128.shuffle<f32>(lo, hi, 0, 1, 4, 5);
      z = v128.bitselect(negInf, z, f32x4.ne(z, z));
      v128.store(zp + (<usize>j << 2), z);
      mv = f32x4.pmax(mv, z);
    }
  } else {
    for (; j + 4 <= classes; j += 4) {
      let z = v128.load(xp + (<usize>j << 2));
      z = v128.bitselect(negInf, z, f32x4.ne(z, z));
      v128.store(zp + (<usize>j << 2), z);
      mv = f32x4.pmax(mv, z);
    }
  }
  let m = f32x4.extract_lane(mv, 0);
  let m1 = f32x4.extract_lane(mv, 1);
  let m2 = f32x4.extract_lane(mv, 2);
  let m3 = f32x4.extract_lane(mv, 3);
  if (m < m1) m = m1;
  if (m < m2) m = m2;
  if (m < m3) m = m3;
  for (; j < classes; j++) {
    let v = load<f32>(xp + (<usize>j << 2));
    let z: f32 = scale ? <f32>(<f64>v / t) : v;
    if (z != z) z = -Infinity;
    store<f32>(zp + (<usize>j << 2), z);
    if (m < z) m = z;
  }
  if (nEdit == 0 && maskPtr == 0) return m;
  for (let i = 0; i < nEdit; i++) {
    let tok = load<i32>(idPtr + (<usize>i << 2));
    let pv = load<f32>(valPtr + (<usize>i << 2));
    let z: f32 = scale ? <f32>(<f64>pv / t) : pv;
    if (z != z) z = -Infinity;
    store<f32>(zp + (<usize>tok << 2), z);
  }
  if (maskPtr != 0) {
    // Grammar masks are mostly all-ones or all-zeros words: those take one test or one fill.
    let words = (classes + 31) >> 5;
    for (let w = 0; w < words; w++) {
      let bits = load<i32>(maskPtr + (<usize>w << 2));
      if (bits == -1) continue;
      let base = w << 5;
      let end = min(base + 32, classes);
      if (bits == 0 && end == base + 32) {
        let p = zp + (<usize>base << 2);
        for (let q = 0; q < 32; q += 4) v128.store(p + (<usize>q << 2), negInf);
        continue;
      }
      for (let q = base; q < end; q++) if (((bits >>> (q - base)) & 1) == 0) store<f32>(zp + (<usize>q << 2), -Infinity);
    }
  }
  // Edits and the mask may have lowered the maximum (or raised it: a bias).
  mv = negInf;
  j = 0;
  for (; j + 4 <= classes; j += 4) mv = f32x4.pmax(mv, v128.load(zp + (<usize>j << 2)));
  m = f32x4.extract_lane(mv, 0);
  m1 = f32x4.extract_lane(mv, 1);
  m2 = f32x4.extract_lane(mv, 2);
  m3 = f32x4.extract_lane(mv, 3);
  if (m < m1) m = m1;
  if (m < m2) m = m2;
  if (m < m3) m = m3;
  for (; j < classes; j++) {
    let z = load<f32>(zp + (<usize>j << 2));
    if (m < z) m = z;
  }
  return m;
}

/** First index whose z equals the max (the greedy token; 0 for an all −inf row). */
function firstIndexOf(zp: usize, classes: i32, m: f32): i32 {
  for (let j = 0; j < classes; j++) if (load<f32>(zp + (<usize>j << 2)) == m) return j;
  return 0;
}

/** Restore the min-heap property of f32 values below node i (heap of size n). */
function siftDownF32(hp: usize, i: i32, n: i32): void {
  let v = load<f32>(hp + (<usize>i << 2));
  while (true) {
    let child = 2 * i + 1;
    if (child >= n) break;
    let cv = load<f32>(hp + (<usize>child << 2));
    if (child + 1 < n) {
      let rv = load<f32>(hp + (<usize>(child + 1) << 2));
      if (rv < cv) {
        child++;
        cv = rv;
      }
    }
    if (!(cv < v)) break;
    store<f32>(hp + (<usize>i << 2), cv);
    i = child;
  }
  store<f32>(hp + (<usize>i << 2), v);
}

/** The k-th largest z of the row (counting repeated values), with a k-element min-heap at hp. */
function kthLargest(zp: usize, classes: i32, k: i32, hp: usize): f32 {
  memory.copy(hp, zp, <usize>k << 2);
  for (let i = (k >> 1) - 1; i >= 0; i--) siftDownF32(hp, i, k);
  let j = k;
  for (; j + 4 <= classes; j += 4) {
    let v = v128.load(zp + (<usize>j << 2));
    if (!v128.any_true(f32x4.gt(v, f32x4.splat(load<f32>(hp))))) continue;
    for (let q = 0; q < 4; q++) {
      let z = load<f32>(zp + (<usize>(j + q) << 2));
      if (z > load<f32>(hp)) {
        store<f32>(hp, z);
        siftDownF32(hp, 0, k);
      }
    }
  }
  for (; j < classes; j++) {
    let z = load<f32>(zp + (<usize>j << 2));
    if (z > load<f32>(hp)) {
      store<f32>(hp, z);
      siftDownF32(hp, 0, k);
    }
  }
  return load<f32>(hp);
}

/** Σ w of the tokens collected by the last collect() with wantMass (index order). */
let collectedMass: f64 = 0.0;
/** The last collect()'s threshold: every token left out has z < it. */
let collectedBelow: f32 = 0.0;

/**
 * True when every token the last collect() left out has w < limit: they all lie below its
 * threshold, so their weight is at most the threshold's (with a margin for the exp's last bit).
 */
function outsideBelow(m: f32, limit: f64): bool {
  return weightOf(collectedBelow, m) * (1.0 + 1e-9) < limit;
}

/** Rank keys of every j with z_j ≥ zt, in index order; returns their count. */
function collect(zp: usize, classes: i32, zt: f32, keys: usize, m: f32, wantMass: bool): i32 {
  // −inf tokens are never candidates (as in the reference's rankOrder).
  if (zt == -Infinity) zt = -f32.MAX_VALUE;
  collectedBelow = zt;
  return screenedScan(zp, classes, zt, keys, m, wantMass, false, 0, 0);
}

/**
 * The indices j (as keys, in index order) whose rank key is in [firstKey, lastKey], i.e. the ranks
 * from firstKey's token to lastKey's; every one has z ≥ zLast, which the four-wide test screens for.
 */
function collectKept(zp: usize, classes: i32, firstKey: u64, lastKey: u64, zLast: f32, keys: usize): i32 {
  if (zLast == -Infinity) zLast = -f32.MAX_VALUE;
  return screenedScan(zp, classes, zLast, keys, 0, false, true, firstKey, lastKey);
}

/**
 * The one scan behind collect and collectKept: every j with z_j ≥ lo (lo finite), four at a time
 * skipped when none of them reaches lo, visited in index order. Each visited token stores its rank
 * key (collect), or its index when its rank key is in [firstKey, lastKey] (byRank, collectKept);
 * collect's call leaves in collectedMass the sum of w = exp(z − m) over them in index order (0 without wantMass).
 */
function screenedScan(zp: usize, classes: i32, lo: f32, keys: usize, m: f32, wantMass: bool, byRank: bool, firstKey: u64, lastKey: u64): i32 {
  let n = 0;
  let s: f64 = 0.0;
  let tv = f32x4.splat(lo);
  let j = 0;
  for (; j + 4 <= classes; j += 4) {
    if (!v128.any_true(f32x4.ge(v128.load(zp + (<usize>j << 2)), tv))) continue;
    for (let q = j; q < j + 4; q++) {
      let z = load<f32>(zp + (<usize>q << 2));
      if (z >= lo) {
        n = visitScanned(keys, n, z, q, byRank, firstKey, lastKey);
        if (wantMass) s += weightOf(z, m);
      }
    }
  }
  for (; j < classes; j++) {
    let z = load<f32>(zp + (<usize>j << 2));
    if (z >= lo) {
      n = visitScanned(keys, n, z, j, byRank, firstKey, lastKey);
      if (wantMass) s += weightOf(z, m);
    }
  }
  if (!byRank) collectedMass = s;
  return n;
}

// @ts-ignore: decorator
@inline
function visitScanned(keys: usize, n: i32, z: f32, j: i32, byRank: bool, firstKey: u64, lastKey: u64): i32 {
  let key = rankKey(z, j);
  if (!byRank) setKey(keys, n++, key);
  else if (key <= lastKey && key >= firstKey) setKey(keys, n++, <u64><u32>j);
  return n;
}

// @ts-ignore: decorator
@inline const HIST_BUCKETS: i32 = 256;
// @ts-ignore: decorator
@inline const HIST_PER_NAT: f64 = 4.0;
/**
 * Mass per quarter-nat bucket of m − z (the last bucket takes everything below m − 63.75).
 * It lives in the call's scratch, not in static memory, so that instances sharing one memory
 * (the threaded build) never write the same bytes.
 */
let HIST: usize = 0;

// @ts-ignore: decorator
@inline
function bucketOf(d: f64): i32 {
  let e = -d * HIST_PER_NAT;
  return e < <f64>(HIST_BUCKETS - 1) ? <i32>e : HIST_BUCKETS - 1;
}

// @ts-ignore: decorator
@inline
function addToBucket(d: f64, w: f64): void {
  let p = HIST + (<usize>bucketOf(d) << 3);
  store<f64>(p, load<f64>(p) + w);
}

/** Σ w over the whole row in index order; stores every w at wFull; with `binned`, also fills HIST. */
function rowMass(zp: usize, classes: i32, m: f32, binned: bool, wFull: usize): f64 {
  if (binned) memory.fill(HIST, 0, HIST_BUCKETS * 8);
  // 1. Every w into wFull: independent lanes, four per iteration, so exps overlap in flight.
  let j = 0;
  if (m != Infinity) {
    let mv = f64x2.splat(<f64>m);
    for (; j + 4 <= classes; j += 4) {
      let v = v128.load(zp + (<usize>j << 2));
      let d0 = f64x2.sub(f64x2.promote_low_f32x4(v), mv);
      let d1 = f64x2.sub(f64x2.promote_low_f32x4(v128.shuffle<f32>(v, v, 2, 3, 0, 1)), mv);
      v128.store(wFull + (<usize>j << 3), expNonPositiveX2(d0));
      v128.store(wFull + (<usize>j << 3), expNonPositiveX2(d1), 16);
    }
  }
  for (; j < classes; j++) store<f64>(wFull + (<usize>j << 3), weightOf(load<f32>(zp + (<usize>j << 2)), m));
  // 2. The sum in index order (the reference's order), and the mass per bucket of m − z.
  let s: f64 = 0.0;
  if (!binned) {
    for (let i = 0; i < classes; i++) s += load<f64>(wFull + (<usize>i << 3));
    return s;
  }
  for (let i = 0; i < classes; i++) {
    let w = load<f64>(wFull + (<usize>i << 3));
    s += w;
    let z = load<f32>(zp + (<usize>i << 2));
    addToBucket(m == Infinity ? (z == Infinity ? 0.0 : -Infinity) : <f64>z - <f64>m, w);
  }
  return s;
}

/** A threshold below which the mass left out is < (1 − p)·S (from HIST; −inf if none found). */
function topPThreshold(m: f32, target: f64): f32 {
  let cum: f64 = 0.0;
  for (let b = 0; b < HIST_BUCKETS - 1; b++) {
    cum += load<f64>(HIST + (<usize>b << 3));
    if (cum >= target) {
      if (m == Infinity) return Infinity;
      let edge = <f64>m - <f64>(b + 1) / HIST_PER_NAT;
      return <f32>(edge - 1e-3 - Math.abs(<f64>m) * 1e-6);
    }
  }
  return -Infinity;
}

/** The first i < n whose weight wp[i] is below `limit`, or −1. */
// @ts-ignore: decorator
@inline
function firstBelow(wp: usize, n: i32, limit: f64): i32 {
  for (let i = 0; i < n; i++) {
    if (load<f64>(wp + (<usize>i << 3)) < limit) return i;
  }
  return -1;
}

/**
 * The kept prefix length K over the sorted candidates (weights in wp), by the reference's
 * rules; −1 when L is not the whole top-k set and too short to decide.
 */
function decide(wp: usize, n: i32, complete: bool, classes: i32, topP: f64, S: f64, minP: f64, keep: i32): i32 {
  // K is the current kept length; −1 means "the whole row", not yet known to fit in L.
  let K: i32 = complete ? n : -1;
  let bound: i32 = complete ? n : classes;
  if (topP < 1.0) {
    let target = topP * S;
    let W: f64 = 0.0;
    let found = -1;
    for (let i = 0; i < n; i++) {
      W += load<f64>(wp + (<usize>i << 3));
      if (W >= target) {
        found = i + 1;
        break;
      }
    }
    if (found < 0) {
      if (!complete) return -1;
      found = n;
    }
    K = min(max(found, keep), bound);
    if (K > n) return -1;
  }
  if (minP > 0.0) {
    let limit = K >= 0 ? K : n;
    let cut = firstBelow(wp, limit, minP);
    if (cut < 0) {
      if (K < 0) return -1;
      cut = K;
    }
    K = min(max(cut, keep), K >= 0 ? K : bound);
    if (K > n) return -1;
  }
  return K;
}

/**
 * Hugging Face's epsilon / eta warper (the reference's massCut) on the kept set: the first K ranks
 * of the sorted candidates, or with K = −2 the whole row (wFull then holds every w). S and
 * A = Σ w·(z − m) in index order over tokens with w > 0; c = ε, or min(ε, √ε·exp(−H)) with
 * H = ln S − A / S; cut at the first rank with w < c·S, at least `keep`. Returns the new K, or −1
 * when the candidates are too short to decide (the caller widens them).
 */
/** Σ w and Σ w·(z − m) of the last keptSums call. */
let SUM_S: f64 = 0.0;
let SUM_A: f64 = 0.0;

/**
 * S = Σ w and A = Σ w·(z − m) over the kept set (the first K ranks of the sorted candidates, or
 * with K = −2 the whole row, whose weights wFull holds) in index order, tokens with w > 0 only.
 */
function keptSums(zp: usize, keys: usize, idx: usize, wFull: usize, K: i32, classes: i32, m: f32, wantA: bool): void {
  let S: f64 = 0.0;
  let A: f64 = 0.0;
  if (K == -2) {
    for (let j = 0; j < classes; j++) {
      let w = load<f64>(wFull + (<usize>j << 3));
      if (w > 0.0) {
        S += w;
        if (wantA && m != Infinity) A += w * (<f64>load<f32>(zp + (<usize>j << 2)) - <f64>m);
      }
    }
  } else {
    for (let i = 0; i < K; i++) setKey(idx, i, <u64><u32>keyIndex(keyAt(keys, i)));
    sortKeys(idx, K);
    for (let i = 0; i < K; i++) {
      let j = keyIndex(keyAt(idx, i));
      let z = load<f32>(zp + (<usize>j << 2));
      let w = weightOf(z, m);
      if (w > 0.0) {
        S += w;
        if (wantA && m != Infinity) A += w * (<f64>z - <f64>m);
      }
    }
  }
  SUM_S = S;
  SUM_A = A;
}

function massCut(zp: usize, keys: usize, wp: usize, idx: usize, wFull: usize, n: i32, K: i32, classes: i32, m: f32, keep: i32, eps: f64, eta: bool): i32 {
  keptSums(zp, keys, idx, wFull, K, classes, m, eta);
  let S = SUM_S;
  let A = SUM_A;
  let bound = K == -2 ? classes : K;
  if (!(S > 0.0)) return K == -2 ? (n == classes ? n : -1) : K;
  let c = eps;
  if (eta) c = min(eps, Math.sqrt(eps) * expNonPositive(-(logAtLeastOne(S) - A / S)));
  let limit = c * S;
  let searchTo = K == -2 ? n : K;
  let cut = firstBelow(wp, searchTo, limit);
  if (cut < 0) {
    if (K == -2 && n < classes && !outsideBelow(m, limit)) return -1;
    cut = searchTo;
  }
  let R = min(max(cut, keep), bound);
  return R > n ? -1 : R;
}

/**
 * llama.cpp's XTC on the kept set (first K ranks, or −2 = the whole row), the reference's xtcStart:
 * the leading ranks with w ≥ threshold·S are the top choices; all but the last are dropped when
 * there are two or more and at least `keep` tokens remain. Returns the first rank kept, or −1
 * when the candidates end inside the top choices (the caller widens them).
 */
function xtcStart(zp: usize, keys: usize, wp: usize, idx: usize, wFull: usize, n: i32, K: i32, classes: i32, m: f32, keep: i32, threshold: f64): i32 {
  keptSums(zp, keys, idx, wFull, K, classes, m, false);
  let limit = threshold * SUM_S;
  let searchTo = K == -2 ? n : K;
  let lead = 0;
  while (lead < searchTo && load<f64>(wp + (<usize>lead << 3)) >= limit) lead++;
  if (lead == searchTo && K == -2 && n < classes && !outsideBelow(m, limit)) return -1;
  let last = lead - 1;
  let size = K;
  if (K == -2) {
    // The whole row: its candidates are the tokens above −inf.
    size = 0;
    for (let j = 0; j < classes; j++) if (load<f32>(zp + (<usize>j << 2)) != -Infinity) size++;
  }
  return last > 0 && size - last >= keep ? last : 0;
}

/**
 * Hugging Face's typical-p (the reference's typicalCut) on the kept set, the first n sorted
 * candidates (rank keys at keys, weights at wp). s_i = |(z − m) − A/S| (A/S from keptSums; with
 * m = +inf, 0 for +inf tokens and +inf otherwise) is written to sp. Along the rank order
 * t = (z − m) − A/S never increases (rounding is monotone), so s falls over the ranks with t ≥ 0
 * (the first P) and rises over the rest: the (s ascending, lower index first) order is a merge of
 * the ranks P−1, P−2, … and P, P+1, …, taken a group of equal s at a time (a group of several
 * tokens is put in index order by a sort of its ids). No sort by s of the whole set is needed.
 * The merge stops once the running sum reaches p·S and minTokensToKeep tokens are taken; the
 * kept ranks are compacted to the front of keys and wp in rank order. Returns their count. S and A
 * are those of the whole kept set; with `partial` the n candidates are only the tokens with
 * s ≤ some radius (a prefix of the score order, see collectBand), and −1 means they ran out first.
 */
function typicalCut(zp: usize, keys: usize, wp: usize, idx: usize, sp: usize, n: i32, classes: i32, m: f32, keep: i32, p: f64, S: f64, A: f64, partial: bool): i32 {
  if (n == 0) return partial ? -1 : 0;
  if (!(S > 0.0)) return partial ? -1 : n;
  let mu = A / S;
  let P = n;
  for (let i = 0; i < n; i++) {
    let z = load<f32>(zp + (<usize>keyIndex(keyAt(keys, i)) << 2));
    let sv: f64;
    if (m == Infinity) {
      sv = z == Infinity ? 0.0 : Infinity;
      if (z != Infinity && P == n) P = i;
    } else {
      let t = (<f64>z - <f64>m) - mu;
      sv = Math.abs(t);
      if (t < 0.0 && P == n) P = i;
    }
    store<f64>(sp + (<usize>i << 3), sv);
  }
  let target = p * S;
  let W: f64 = 0.0;
  let count = 0;
  let reached = false;
  let lo = P - 1;
  let hi = P;
  while (lo >= 0 || hi < n) {
    if (reached && count >= keep) break;
    let g: f64 = lo >= 0 ? load<f64>(sp + (<usize>lo << 3)) : Infinity;
    if (hi < n) {
      let sh = load<f64>(sp + (<usize>hi << 3));
      if (lo < 0 || sh < g) g = sh;
    }
    let a = lo;
    while (a >= 0 && load<f64>(sp + (<usize>a << 3)) == g) a--;
    let b = hi;
    while (b < n && load<f64>(sp + (<usize>b << 3)) == g) b++;
    let size = (lo - a) + (b - hi);
    // A group that starts before the mass is reached is kept whole (ties at the cut are kept);
    // after it, only the minTokensToKeep extras, lowest index first.
    let whole = !reached;
    if (size == 1) {
      let pos = lo > a ? lo : hi;
      if (whole) {
        W += load<f64>(wp + (<usize>pos << 3));
        if (W >= target) reached = true;
      }
      store<f64>(sp + (<usize>pos << 3), -1.0);
      count++;
    } else {
      let q = 0;
      for (let i = lo; i > a; i--) setKey(idx, q++, (<u64><u32>keyIndex(keyAt(keys, i)) << 32) | <u64><u32>i);
      for (let i = hi; i < b; i++) setKey(idx, q++, (<u64><u32>keyIndex(keyAt(keys, i)) << 32) | <u64><u32>i);
      sortKeys(idx, size);
      for (let i = 0; i < size; i++) {
        if (!whole && count >= keep) break;
        let pos = <i32><u32>keyAt(idx, i);
        if (whole && !reached) {
          W += load<f64>(wp + (<usize>pos << 3));
          if (W >= target) reached = true;
        }
        store<f64>(sp + (<usize>pos << 3), -1.0);
        count++;
      }
    }
    lo = a;
    hi = b;
  }
  // A band of candidates that ran out first: the caller widens to the whole row.
  if (partial && !(reached && count >= keep)) return -1;
  let out = 0;
  for (let i = 0; i < n; i++) {
    if (load<f64>(sp + (<usize>i << 3)) != -1.0) continue;
    setKey(keys, out, keyAt(keys, i));
    store<f64>(wp + (<usize>out << 3), load<f64>(wp + (<usize>i << 3)));
    out++;
  }
  return out;
}

/** Σ w and Σ w·(z − m) of the whole row (wFull holds w), for typical's band. */
let BAND_S: f64 = 0.0;
let BAND_A: f64 = 0.0;

/**
 * Typical-p's candidates when it sees the whole row: S and A over the row, then the mass of
 * s = |(z − m) − A/S| binned by eighth-nats (HIST, counts at RADIX_COUNTS); the radius R is the first
 * bin edge whose mass reaches p·S (with a margin) and holds `keep` tokens. Collects the rank keys of
 * the tokens with s < R — a prefix of the score order, so typicalCut can decide on them alone —
 * and returns their count, or −1 when no bin edge qualifies (the caller takes the whole row).
 */
function collectBand(zp: usize, classes: i32, m: f32, keys: usize, wFull: usize, p: f64, keep: i32, idx: usize): i32 {
  rowMass(zp, classes, m, false, wFull);
  keptSums(zp, 0, idx, wFull, -2, classes, m, true);
  let S = SUM_S;
  let A = SUM_A;
  BAND_S = S;
  BAND_A = A;
  if (!(S > 0.0) || m == Infinity) return -1;
  let mu = A / S;
  memory.fill(HIST, 0, HIST_BUCKETS * 8);
  memory.fill(RADIX_COUNTS, 0, HIST_BUCKETS * 4);
  for (let j = 0; j < classes; j++) {
    let z = load<f32>(zp + (<usize>j << 2));
    if (z == -Infinity) continue;
    let e = Math.abs((<f64>z - <f64>m) - mu) * 8.0;
    let b = e < <f64>(HIST_BUCKETS - 1) ? <i32>e : HIST_BUCKETS - 1;
    let hp = HIST + (<usize>b << 3);
    store<f64>(hp, load<f64>(hp) + load<f64>(wFull + (<usize>j << 3)));
    let cp = RADIX_COUNTS + (<usize>b << 2);
    store<i32>(cp, load<i32>(cp) + 1);
  }
  let target = p * S * (1.0 + 1e-6);
  let cum: f64 = 0.0;
  let count = 0;
  let R: f64 = -1.0;
  for (let b = 0; b < HIST_BUCKETS - 1; b++) {
    cum += load<f64>(HIST + (<usize>b << 3));
    count += load<i32>(RADIX_COUNTS + (<usize>b << 2));
    if (cum >= target && count >= keep) {
      R = <f64>(b + 1) / 8.0;
      break;
    }
  }
  if (R < 0.0) return -1;
  // z in the band [m + mu − R, m + mu + R], screened four lanes at a time in float32 (widened), decided in f64.
  let lo32 = <f32>(<f64>m + mu - R - 1e-3 - Math.abs(<f64>m) * 1e-6);
  let hi32 = <f32>(<f64>m + mu + R + 1e-3 + Math.abs(<f64>m) * 1e-6);
  let lov = f32x4.splat(lo32);
  let hiv = f32x4.splat(hi32);
  let n = 0;
  let j = 0;
  for (; j + 4 <= classes; j += 4) {
    let v = v128.load(zp + (<usize>j << 2));
    if (!v128.any_true(v128.and(f32x4.ge(v, lov), f32x4.le(v, hiv)))) continue;
    for (let q = j; q < j + 4; q++) {
      let z = load<f32>(zp + (<usize>q << 2));
      if (z != -Infinity && Math.abs((<f64>z - <f64>m) - mu) < R) setKey(keys, n++, rankKey(z, q));
    }
  }
  for (; j < classes; j++) {
    let z = load<f32>(zp + (<usize>j << 2));
    if (z != -Infinity && Math.abs((<f64>z - <f64>m) - mu) < R) setKey(keys, n++, rankKey(z, j));
  }
  return n;
}

function fillNegInf(p: usize, n: i32): void {
  let v = f32x4.splat(-Infinity);
  let j = 0;
  for (; j + 4 <= n; j += 4) v128.store(p + (<usize>j << 2), v);
  for (; j < n; j++) store<f32>(p + (<usize>j << 2), -Infinity);
}

/** z = fround(z / T) over the row, as processRow's SIMD pass computes it. */
function scaleRow(zp: usize, classes: i32, t: f64): void {
  let tv = f64x2.splat(t);
  let j = 0;
  for (; j + 4 <= classes; j += 4) {
    let v = v128.load(zp + (<usize>j << 2));
    let lo = f32x4.demote_f64x2_zero(f64x2.div(f64x2.promote_low_f32x4(v), tv));
    let hi = f32x4.demote_f64x2_zero(f64x2.div(f64x2.promote_low_f32x4(v128.shuffle<f32>(v, v, 2, 3, 0, 1)), tv));
    v128.store(zp + (<usize>j << 2), v128.shuffle<f32>(lo, hi, 0, 1, 4, 5));
  }
  for (; j < classes; j++) store<f32>(zp + (<usize>j << 2), <f32>(<f64>load<f32>(zp + (<usize>j << 2)) / t));
}

/** typicalCut on the first n candidates: with S and A of those n, or of the whole row for a band. */
function typical(zp: usize, keys: usize, wp: usize, idx: usize, sp: usize, n: i32, classes: i32, m: f32, keep: i32, p: f64, band: bool): i32 {
  if (band) return typicalCut(zp, keys, wp, idx, sp, n, classes, m, keep, p, BAND_S, BAND_A, true);
  keptSums(zp, keys, idx, 0, n, classes, m, true);
  return typicalCut(zp, keys, wp, idx, sp, n, classes, m, keep, p, SUM_S, SUM_A, false);
}

/** Bytes of scratch sampleRows needs for rows of `classes` (z, keys, weights). */
export function sampleScratchBytes(classes: i32): i32 {
  return ((classes * 4 + 15) & ~15) + classes * 40 + RADIX_SIZE * 4 + HIST_BUCKETS * 8;
}

/**
 * One token per row into tokensPtr (i32) and/or the filtered logits into filteredPtr (f32
 * rows × classes); a zero pointer skips that output. editPtr: 0, or i32 offsets[rows + 1]
 * followed by the concatenated token ids, then as many f32 values. maskPtr: 0, or the bitmask,
 * maskStride words apart per row (0 = one mask for all). uniformsPtr: f64 per row (sampling only).
 * Returns −1, or with `constrained` the first row left with no token (its outputs are token 0 and
 * an all −inf row; the caller throws).
 */
export function sampleRows(
  xPtr: usize, rows: i32, classes: i32,
  temperature: f64, topK: i32, topP: f64, minP: f64, minTokensToKeep: i32,
  topNSigma: f64, epsilon: f64, eta: f64, temperatureLast: bool, xtcProbability: f64, xtcThreshold: f64, xtcPtr: usize,
  editPtr: usize, maskPtr: usize, maskStride: i32, constrained: bool,
  uniformsPtr: usize, tokensPtr: usize, filteredPtr: usize, scratchPtr: usize,
): i32 {
  return sampleRowsWith(
    xPtr, rows, classes, temperature, topK, topP, minP, minTokensToKeep,
    topNSigma, epsilon, eta, temperatureLast, xtcProbability, xtcThreshold, xtcPtr,
    editPtr, maskPtr, maskStride, constrained, uniformsPtr, tokensPtr, filteredPtr, scratchPtr, 1.0,
  );
}

/**
 * sampleRows with Hugging Face's typical-p: `typicalP` in (0, 1) is the mass kept (1 = off, which
 * is sampleRows). A separate export so that sampleRows keeps its signature; same scratch size.
 */
export function sampleRowsTypical(
  xPtr: usize, rows: i32, classes: i32,
  temperature: f64, topK: i32, topP: f64, minP: f64, minTokensToKeep: i32,
  topNSigma: f64, epsilon: f64, eta: f64, temperatureLast: bool, xtcProbability: f64, xtcThreshold: f64, xtcPtr: usize,
  editPtr: usize, maskPtr: usize, maskStride: i32, constrained: bool,
  uniformsPtr: usize, tokensPtr: usize, filteredPtr: usize, scratchPtr: usize, typicalP: f64,
): i32 {
  return sampleRowsWith(
    xPtr, rows, classes, temperature, topK, topP, minP, minTokensToKeep,
    topNSigma, epsilon, eta, temperatureLast, xtcProbability, xtcThreshold, xtcPtr,
    editPtr, maskPtr, maskStride, constrained, uniformsPtr, tokensPtr, filteredPtr, scratchPtr, typicalP,
  );
}

function sampleRowsWith(
  xPtr: usize, rows: i32, classes: i32,
  temperature: f64, topK: i32, topP: f64, minP: f64, minTokensToKeep: i32,
  topNSigma: f64, epsilon: f64, eta: f64, temperatureLast: bool, xtcProbability: f64, xtcThreshold: f64, xtcPtr: usize,
  editPtr: usize, maskPtr: usize, maskStride: i32, constrained: bool,
  uniformsPtr: usize, tokensPtr: usize, filteredPtr: usize, scratchPtr: usize, typicalP: f64,
): i32 {
  let zp = scratchPtr;
  let keys = zp + ((<usize>classes * 4 + 15) & ~15);
  let wp = keys + (<usize>classes << 3);
  // w of every token, when a pass over the whole row computed them (top-p alone, no filter).
  let wFull = wp + (<usize>classes << 3);
  RADIX_TMP = wFull + (<usize>classes << 3);
  RADIX_COUNTS = RADIX_TMP + (<usize>classes << 3);
  HIST = RADIX_COUNTS + (<usize>RADIX_SIZE << 2);
  // Kept indices re-sorted into index order for the epsilon / eta sums.
  let idx = HIST + <usize>HIST_BUCKETS * 8;
  let scale = temperature != 0.0 && temperature != 1.0 && !temperatureLast;
  // llama.cpp order: the filters ran on unscaled z; the draw and the output scale it now.
  let lateScale = temperatureLast && temperature != 0.0 && temperature != 1.0;
  let keep = min(minTokensToKeep, classes);
  let k = min(max(topK, minTokensToKeep), classes);
  let topKOn = topK > 0 && k < classes;
  let topPOn = topP < 1.0;
  let minPOn = minP > 0.0;
  let epsOn = epsilon > 0.0;
  let etaOn = eta > 0.0;
  let typOn = typicalP < 1.0;
  // llama.cpp order: typical runs right after top-k, on a complete candidate list.
  let typFirst = typOn && temperatureLast;
  let bad = -1;
  let idBase = editPtr + (<usize>(rows + 1) << 2);
  let valBase = editPtr != 0 ? idBase + (<usize>load<i32>(editPtr + (<usize>rows << 2)) << 2) : 0;
  for (let r = 0; r < rows; r++) {
    let xp = xPtr + <usize>r * (<usize>classes << 2);
    let outRow = filteredPtr + <usize>r * (<usize>classes << 2);
    let start = 0;
    let nEdit = 0;
    if (editPtr != 0) {
      start = load<i32>(editPtr + (<usize>r << 2));
      nEdit = load<i32>(editPtr + (<usize>(r + 1) << 2)) - start;
    }
    let rowMask = maskPtr != 0 ? maskPtr + (<usize>(r * maskStride) << 2) : 0;
    let m = processRow(xp, zp, classes, temperature, scale, idBase + (<usize>start << 2), valBase + (<usize>start << 2), nEdit, rowMask);
    if (topNSigma > 0.0 && temperature != 0.0) topNSigmaCut(zp, classes, m, topNSigma);
    let xtcOn = xtcPtr != 0 && load<f64>(xtcPtr + (<usize>r << 3)) < xtcProbability && xtcThreshold <= 0.5;

    if (m == -Infinity && constrained) {
      if (bad < 0) bad = r;
      if (tokensPtr != 0) store<i32>(tokensPtr + (<usize>r << 2), 0);
      if (filteredPtr != 0) fillNegInf(outRow, classes);
      continue;
    }

    // Greedy, and rows with nothing to draw from (all −inf or NaN): the first maximum.
    if (temperature == 0.0 || m == -Infinity) {
      let g = firstIndexOf(zp, classes, m);
      if (tokensPtr != 0) store<i32>(tokensPtr + (<usize>r << 2), g);
      if (filteredPtr != 0) {
        fillNegInf(outRow, classes);
        store<f32>(outRow + (<usize>g << 2), load<f32>(zp + (<usize>g << 2)));
      }
      continue;
    }
    let u = tokensPtr != 0 ? load<f64>(uniformsPtr + (<usize>r << 3)) : 0.0;

    // No filter: every token is kept; draw over the whole row in index order.
    let sigmaOn = topNSigma > 0.0;
    if (!topKOn && !topPOn && !minPOn && !epsOn && !etaOn && !xtcOn && !sigmaOn && !typOn) {
      if (lateScale) scaleRow(zp, classes, temperature);
      let ms: f32 = lateScale ? <f32>(<f64>m / temperature) : m;
      if (filteredPtr != 0) memory.copy(outRow, zp, <usize>classes << 2);
      if (tokensPtr != 0) {
        let threshold = u * rowMass(zp, classes, ms, false, wFull);
        let cum: f64 = 0.0;
        let token = -1;
        let lastPositive = -1;
        for (let j = 0; j < classes; j++) {
          let w = load<f64>(wFull + (<usize>j << 3));
          cum += w;
          if (cum > threshold) {
            token = j;
            break;
          }
          if (w > 0) lastPositive = j;
        }
        if (token < 0) token = lastPositive >= 0 ? lastPositive : 0;
        store<i32>(tokensPtr + (<usize>r << 2), token);
      }
      continue;
    }

    // Candidates: a rank prefix that holds the kept set (or is widened until it does).
    let S: f64 = 0.0;
    let haveFull = false;
    let band = false;
    let n: i32 = 0;
    let complete: bool;
    if (topKOn) {
      let tau = kthLargest(zp, classes, k, keys);
      n = collect(zp, classes, tau, keys, m, topPOn);
      S = collectedMass;
      complete = true;
    } else {
      let zt: f32;
      if (typOn && (typFirst || (!topPOn && !minPOn))) {
        // Typical sees the whole row: its candidates are a band of z around m + A/S, or the
        // whole row when the band cannot be bounded.
        zt = -Infinity;
        band = true;
      } else if (topPOn) {
        S = rowMass(zp, classes, m, true, wFull);
        haveFull = true;
        zt = topPThreshold(m, topP * S * (1.0 + 1e-9));
      } else if (minPOn) {
        zt = m == Infinity ? Infinity : <f32>(<f64>m + Math.log(minP) - 1e-3 - Math.abs(<f64>m) * 1e-6);
      } else if (!epsOn && !etaOn && !xtcOn) {
        // Top-nσ alone: its cut already set everything below the threshold to −inf.
        zt = -Infinity;
      } else {
        // Epsilon / eta / XTC alone: every token they keep or inspect has p ≥ c, so w ≥ c·S.
        // c = ε for epsilon, the threshold for XTC's top choices; for eta alone the kept set so
        // far is the whole row, so its exact cutoff min(η, √η·e^−H) is known from one more pass.
        S = rowMass(zp, classes, m, false, wFull);
        haveFull = true;
        let c = epsOn ? epsilon : xtcThreshold;
        if (!epsOn && etaOn) {
          keptSums(zp, keys, idx, wFull, -2, classes, m, true);
          c = min(eta, Math.sqrt(eta) * expNonPositive(-(logAtLeastOne(SUM_S) - SUM_A / SUM_S)));
        }
        zt = m == Infinity ? Infinity : <f32>(<f64>m + Math.log(c * S) - 1e-3 - Math.abs(<f64>m) * 1e-6);
      }
      if (band) {
        n = collectBand(zp, classes, m, keys, wFull, typicalP, keep, idx);
        haveFull = true;
        if (n < 0) band = false;
      }
      if (!band) {
        n = collect(zp, classes, zt, keys, m, false);
        complete = zt == -Infinity || n == classes;
      } else complete = false;
    }
    let K: i32;
    let first = 0;
    while (true) {
      sortKeys(keys, n);
      for (let i = 0; i < n; i++) {
        let j = keyIndex(keyAt(keys, i));
        store<f64>(wp + (<usize>i << 3), haveFull ? load<f64>(wFull + (<usize>j << 3)) : weightOf(load<f32>(zp + (<usize>j << 2)), m));
      }
      let nn = n;
      if (typFirst) {
        // The list is the top-k set, the whole row, or typical's band of it.
        nn = typical(zp, keys, wp, idx, wFull, n, classes, m, keep, typicalP, band);
        haveFull = false; // wFull became typical's score array
        if (nn >= 0) {
          keptSums(zp, keys, idx, 0, nn, classes, m, false);
          S = SUM_S;
        }
      }
      if (nn < 0) K = -1;
      else {
        let whole = complete || typFirst || band;
        K = topPOn || minPOn ? decide(wp, nn, whole, classes, topP, S, minP, keep) : whole ? nn : -2;
        if (typOn && !typFirst && K >= 0) {
          K = typical(zp, keys, wp, idx, wFull, K, classes, m, keep, typicalP, band);
          nn = K;
          haveFull = false;
        } else if (typOn && !typFirst && K == -2) K = -1; // (not reached: typical rows have complete candidates)
      }
      if (K != -1 && epsOn) K = massCut(zp, keys, wp, idx, wFull, nn, K, classes, m, keep, epsilon, false);
      if (K != -1 && etaOn) K = massCut(zp, keys, wp, idx, wFull, nn, K, classes, m, keep, eta, true);
      first = 0;
      if (K != -1 && xtcOn) {
        first = xtcStart(zp, keys, wp, idx, wFull, nn, K, classes, m, keep, xtcThreshold);
        if (first < 0) K = -1;
      }
      if (K >= 0 || K == -2) break;
      n = collect(zp, classes, -Infinity, keys, m, false);
      complete = true;
      band = false;
    }

    // The kept tokens in index order: those whose rank key lies between the first kept rank's and
    // the last's (no second sort). K = −2: the kept ranks run to the end of the row.
    if (typOn) {
      // Typical's kept set is not a range of ranks: sort the kept indices themselves.
      for (let i = first; i < K; i++) setKey(keys, i - first, <u64><u32>keyIndex(keyAt(keys, i)));
      K -= first;
      sortKeys(keys, K);
    } else {
      let lastKey: u64 = K == -2 ? u64.MAX_VALUE : keyAt(keys, K - 1);
      let zLast: f32 = K == -2 ? -Infinity : load<f32>(zp + (<usize>keyIndex(lastKey) << 2));
      let firstKey: u64 = first > 0 ? keyAt(keys, first) : 0;
      K = collectKept(zp, classes, firstKey, lastKey, zLast, keys);
    }
    if (lateScale) {
      for (let i = 0; i < K; i++) {
        let p = zp + (<usize>keyIndex(keyAt(keys, i)) << 2);
        store<f32>(p, <f32>(<f64>load<f32>(p) / temperature));
      }
      m = <f32>(<f64>m / temperature);
      haveFull = false;
    }
    if (filteredPtr != 0) {
      fillNegInf(outRow, classes);
      for (let i = 0; i < K; i++) {
        let j = keyIndex(keyAt(keys, i));
        store<f32>(outRow + (<usize>j << 2), load<f32>(zp + (<usize>j << 2)));
      }
    }
    if (tokensPtr != 0) {
      let total: f64 = 0.0;
      for (let i = 0; i < K; i++) {
        let j = keyIndex(keyAt(keys, i));
        total += haveFull ? load<f64>(wFull + (<usize>j << 3)) : weightOf(load<f32>(zp + (<usize>j << 2)), m);
      }
      let threshold = u * total;
      let cum: f64 = 0.0;
      let token = -1;
      let lastPositive = -1;
      for (let i = 0; i < K; i++) {
        let j = keyIndex(keyAt(keys, i));
        let w = haveFull ? load<f64>(wFull + (<usize>j << 3)) : weightOf(load<f32>(zp + (<usize>j << 2)), m);
        cum += w;
        if (cum > threshold) {
          token = j;
          break;
        }
        if (w > 0) lastPositive = j;
      }
      if (token < 0) token = lastPositive >= 0 ? lastPositive : keyIndex(keyAt(keys, 0));
      store<i32>(tokensPtr + (<usize>r << 2), token);
    }
  }
  return bad;
}

// ---- narrowing filtered logits back to half precision ------------------------------------
// Round to nearest even, bit for bit the TypeScript float32ToFloat16Bits / float32ToBfloat16Bits
// (src/half.ts): overflow → ±inf, gradual underflow, NaN kept quiet. Used by the transformers.js
// processor to write float16 / bfloat16 tensors in place without a per-element JS conversion.

function f32ToF16Bits(x: f32): u32 {
  let b = reinterpret<u32>(x);
  let sign = (b >> 16) & 0x8000;
  let exp = <i32>((b >> 23) & 0xff);
  let mant = b & 0x7fffff;
  if (exp == 0xff) return sign | 0x7c00 | (mant != 0 ? 0x200 | (mant >> 13) : 0);
  let e = exp - 127 + 15;
  if (e >= 31) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    let m = mant | 0x800000;
    let shift = <u32>(14 - e);
    let half = m >> shift;
    let rest = m & ((<u32>1 << shift) - 1);
    let mid = <u32>1 << (shift - 1);
    return sign | (half + (rest > mid || (rest == mid && (half & 1) != 0) ? 1 : 0));
  }
  let half = (<u32>e << 10) | (mant >> 13);
  let rest = mant & 0x1fff;
  return sign | (half + (rest > 0x1000 || (rest == 0x1000 && (half & 1) != 0) ? 1 : 0));
}

/** dst[i] = float16 (or, with bf16, bfloat16) bits of the float32 src[i], for i < n. */
export function narrowToHalf(srcPtr: usize, n: i32, dstPtr: usize, bf16: bool): void {
  if (bf16) {
    for (let i = 0; i < n; i++) {
      let b = load<u32>(srcPtr + (<usize>i << 2));
      let h = (b & 0x7fffffff) > 0x7f800000 ? (b >> 16) | 0x40 : (b + 0x7fff + ((b >> 16) & 1)) >> 16;
      store<u16>(dstPtr + (<usize>i << 1), <u16>h);
    }
    return;
  }
  for (let i = 0; i < n; i++) store<u16>(dstPtr + (<usize>i << 1), <u16>f32ToF16Bits(load<f32>(srcPtr + (<usize>i << 2))));
}
