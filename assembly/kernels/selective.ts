// Selective prediction's risk–coverage figures (Engine.riskCoverageFrom; the float64 reference is
// src/backends/js-selective.ts, src/backends/wasm-selective.ts drives these exports): from one float32
// confidence and one 0/1 error per row, the curve with one point per distinct confidence in
// descending order (coverage = rows covered / n, risk = their errors / their count, generalized risk
// = their errors / n), AURC and AUGRC (Σ (coverage − previous) · risk, resp. generalized risk), the
// risk at the first point reaching each coverage level, and the points kept when the curve is
// thinned to one a 1/maxPoints of coverage. NaN ranks below every number (its rows are the last
// point), −0 and +0 are one value, and every f64 operation is the reference's, in its order, so the
// figures are the same bits.
//
// Algorithm: a 32-bit key that orders like the numbers (bits | 2^31 for +, ~bits for −, −0 as +0);
// its top 17 bits pick a bucket, its low 15 bits and the error bit make a 16-bit item. selectiveCount
// counts the rows of each bucket, selectivePlan turns the counts into bucket starts, selectiveScatter
// writes each row's item into its bucket (rows come in chunks: the caller copies a chunk at a time),
// selectiveSort sorts each bucket in place (two 8-bit LSD passes in cache, insertion sort for a few
// items) and counts the distinct confidences, and selectiveWalk goes down the buckets and their items
// a group of equal keys at a time (its rows and errors) writing the points, resumably (the state
// block carries the sums), so the caller bounds the output copied per call. Confidences of any sign
// and span take this one path; the pass over the buckets is the same for all.
//
// Memory: 2 bytes a row of items, 2 bytes a row of the largest bucket for the in-bucket sort (a
// bucket holds 2^15 consecutive float32 values: a binade has 2^8 buckets), and the bucket counts
// (COUNTS_BYTES, 514 KiB); nothing else grows with n: 6.5 MiB at score's 3M rows. The first version,
// an LSD sort of 32-bit items (the key less the least, shifted, and the error bit: no payload to move)
// in 3 passes of 9 bits, ran as fast warm (40 ms) but needed 8 bytes a row (16 where the keys span
// 2^31), and a first call paid 165 ms, mostly for touching 24 MiB of fresh pages (≈ 3 ms a MiB on this VM).
// Measured (bench/micro/selective.js, 3M rows of score's max p on the 3M × 100 bench file, 2.77M
// distinct, maxPoints 4096; 2-core AMD EPYC VM, Node 20): 36–40 ms warm, ≈ 12 ns a row — count 1.7,
// scatter 2.5, sort 2.8, walk 5 (three f64 divisions a point; pairing them in f64x2 measured slower) —
// and 60–70 ms on the first call in a process; the JS reference 200 ms warm, 350 ms first. In `score`
// on that file (the engine's memory already warm, none added): 43–60 ms, where the JS took ≈ 320 ms.

// State: f64 slots shared with src/backends/wasm-selective.ts (SelectiveState there).
// @ts-ignore: decorator
@inline const S_ROWS: usize = 0 << 3; // n, every row (set by the caller)
// @ts-ignore: decorator
@inline const S_ITEMS: usize = 1 << 3; // rows with a number (not NaN), from selectivePlan
// @ts-ignore: decorator
@inline const S_WRONG: usize = 2 << 3; // errors among all rows (selectiveCount adds)
// @ts-ignore: decorator
@inline const S_NEXT: usize = 3 << 3; // walk: index of the next item (from the top), −1 when done
// @ts-ignore: decorator
@inline const S_BUCKET: usize = 4 << 3; // walk: the bucket of the next item
// @ts-ignore: decorator
@inline const S_COVERED: usize = 5 << 3;
// @ts-ignore: decorator
@inline const S_ERRORS: usize = 6 << 3;
// @ts-ignore: decorator
@inline const S_AURC: usize = 7 << 3;
// @ts-ignore: decorator
@inline const S_AUGRC: usize = 8 << 3;
// @ts-ignore: decorator
@inline const S_PREV: usize = 9 << 3;
// @ts-ignore: decorator
@inline const S_LEVEL: usize = 10 << 3;
// @ts-ignore: decorator
@inline const S_KEPT: usize = 11 << 3; // coverage of the last point written (caller: −1)
// @ts-ignore: decorator
@inline const S_POINTS: usize = 12 << 3;
// @ts-ignore: decorator
@inline const S_NAN_POINT: usize = 13 << 3; // 1 while the NaN rows' point is still to come
// @ts-ignore: decorator
@inline const S_SORT_NEXT: usize = 14 << 3; // sort: the next bucket to sort
// @ts-ignore: decorator
@inline const S_DISTINCT: usize = 15 << 3; // sort: the unthinned curve's points so far

// @ts-ignore: decorator
@inline const BUCKET_SHIFT: u32 = 15;
// @ts-ignore: decorator
@inline const BUCKETS: usize = 1 << 17;
/** Bytes of `counts` (src/backends/wasm-selective.ts COUNTS): a u32 per bucket, then the in-bucket sort's two 256-entry digit counts. */
// @ts-ignore: decorator
@inline const COUNTS_BYTES: usize = (BUCKETS + 512) << 2;
/** Buckets up to this many items are sorted by insertion. */
// @ts-ignore: decorator
@inline const INSERTION_ITEMS: usize = 24;

/** Order-preserving key of a float32's bits (not NaN): −0 and +0 → 2^31. */
// @ts-ignore: decorator
@inline
function keyOf(u: u32): u32 {
  return u == 0x80000000 ? 0x80000000 : u & 0x80000000 ? ~u : u | 0x80000000;
}

/** The float32 of a key, as f64 (2^31 → +0). */
// @ts-ignore: decorator
@inline
function valueOf(key: u32): f64 {
  return <f64>reinterpret<f32>(key & 0x80000000 ? key & 0x7fffffff : ~key);
}

/** Whether a float32's bits are not NaN, as 0/1. */
// @ts-ignore: decorator
@inline
function isNumber(u: u32): u32 {
  return <u32>((u & 0x7fffffff) <= 0x7f800000);
}

/**
 * Adds n rows to the bucket counts (`counts`, zeroed by the caller before the first chunk) and their
 * errors to the state; NaN rows are in no bucket.
 */
export function selectiveCount(conf: usize, wrong: usize, n: i32, state: usize, counts: usize): void {
  let wrongs: u32 = 0;
  for (let i = 0; i < n; i++) {
    let u = load<u32>(conf + (<usize>i << 2));
    wrongs += <u32>load<u8>(wrong + <usize>i);
    let at = counts + (<usize>(keyOf(u) >> BUCKET_SHIFT) << 2);
    store<u32>(at, load<u32>(at) + isNumber(u));
  }
  store<f64>(state + S_WRONG, load<f64>(state + S_WRONG) + <f64>wrongs);
}

/** The bucket counts → each bucket's start (exclusive prefix sums); returns the largest bucket's rows. */
export function selectivePlan(state: usize, counts: usize): i32 {
  let sum: u32 = 0;
  let most: u32 = 0;
  for (let b: usize = 0; b < BUCKETS; b++) {
    let c = load<u32>(counts + (b << 2));
    store<u32>(counts + (b << 2), sum);
    sum += c;
    most = max(most, c);
  }
  store<f64>(state + S_ITEMS, <f64>sum);
  return <i32>most;
}

/** Writes n rows' items into their buckets (after selectivePlan; each bucket's start moves on). */
export function selectiveScatter(conf: usize, wrong: usize, n: i32, counts: usize, items: usize): void {
  for (let i = 0; i < n; i++) {
    let u = load<u32>(conf + (<usize>i << 2));
    if (!isNumber(u)) continue;
    let key = keyOf(u);
    let at = counts + (<usize>(key >> BUCKET_SHIFT) << 2);
    let to = load<u32>(at);
    store<u32>(at, to + 1);
    store<u16>(items + (<usize>to << 1), <u16>((key << 1) | <u32>load<u8>(wrong + <usize>i)));
  }
}

/** One LSD pass of s u16 items from src to dst by the byte at `shift` (digit: its 256 counts, made starts). */
// @ts-ignore: decorator
@inline
function byteScatter(src: usize, dst: usize, s: usize, shift: u32, digit: usize): void {
  let sum: u32 = 0;
  for (let d: usize = 0; d < 256; d++) {
    let c = load<u32>(digit + (d << 2));
    store<u32>(digit + (d << 2), sum);
    sum += c;
  }
  for (let i: usize = 0; i < s; i++) {
    let item = load<u16>(src + (i << 1));
    let at = digit + (<usize>((<u32>item >> shift) & 255) << 2);
    let to = load<u32>(at);
    store<u32>(at, to + 1);
    store<u16>(dst + (<usize>to << 1), item);
  }
}

/** Sorts the s items at p ascending (tmp: room for s items; digits: 2 × 256 u32). */
function sortBucket(p: usize, s: usize, tmp: usize, digits: usize): void {
  if (s <= INSERTION_ITEMS) {
    for (let i: usize = 1; i < s; i++) {
      let v = load<u16>(p + (i << 1));
      let j = i;
      while (j > 0 && load<u16>(p + ((j - 1) << 1)) > v) {
        store<u16>(p + (j << 1), load<u16>(p + ((j - 1) << 1)));
        j--;
      }
      store<u16>(p + (j << 1), v);
    }
    return;
  }
  let lo = digits;
  let hi = digits + 1024;
  memory.fill(digits, 0, 2048);
  for (let i: usize = 0; i < s; i++) {
    let item = <u32>load<u16>(p + (i << 1));
    let a = lo + ((item & 255) << 2);
    store<u32>(a, load<u32>(a) + 1);
    let b = hi + ((item >> 8) << 2);
    store<u32>(b, load<u32>(b) + 1);
  }
  // a byte shared by every item leaves the order as it is
  let first = <u32>load<u16>(p);
  let sameLo = load<u32>(lo + ((first & 255) << 2)) == <u32>s;
  let sameHi = load<u32>(hi + ((first >> 8) << 2)) == <u32>s;
  if (!sameLo && !sameHi) {
    byteScatter(p, tmp, s, 0, lo);
    byteScatter(tmp, p, s, 8, hi);
  } else if (!sameLo) {
    byteScatter(p, tmp, s, 0, lo);
    memory.copy(p, tmp, s << 1);
  } else if (!sameHi) {
    byteScatter(p, tmp, s, 8, hi);
    memory.copy(p, tmp, s << 1);
  }
}

/**
 * Sorts the buckets' items ascending (after the last selectiveScatter, `counts` holds each bucket's
 * end), from the bucket where the last call stopped until about `budget` items are sorted (one long
 * call would run in V8's baseline code throughout: see selectiveWalk), and counts the curve's points
 * when not thinned into the state: the distinct confidences, and one for the NaN rows if any. Returns
 * 1 when every bucket is sorted, and readies the walk then. tmp: room for the largest bucket's items.
 */
export function selectiveSort(state: usize, counts: usize, items: usize, tmp: usize, budget: i32): i32 {
  let digits = counts + (BUCKETS << 2);
  let points = <i32>load<f64>(state + S_DISTINCT);
  let b = <usize>load<f64>(state + S_SORT_NEXT);
  let begin = b > 0 ? load<u32>(counts + ((b - 1) << 2)) : 0;
  let stop = begin + <u32>budget;
  for (; b < BUCKETS && begin < stop; b++) {
    let end = load<u32>(counts + (b << 2));
    if (end == begin) continue;
    let p = items + (<usize>begin << 1);
    let s = <usize>(end - begin);
    if (s > 1) sortBucket(p, s, tmp, digits);
    let last = <u32>load<u16>(p) >> 1;
    points++;
    for (let i: usize = 1; i < s; i++) {
      let key = <u32>load<u16>(p + (i << 1)) >> 1;
      points += i32(key != last);
      last = key;
    }
    begin = end;
  }
  store<f64>(state + S_SORT_NEXT, <f64>b);
  if (b < BUCKETS && begin < load<u32>(counts + ((BUCKETS - 1) << 2))) {
    store<f64>(state + S_DISTINCT, <f64>points);
    return 0;
  }
  let m = <i32>load<f64>(state + S_ITEMS);
  let nan = <i32>load<f64>(state + S_ROWS) - m;
  store<f64>(state + S_DISTINCT, <f64>(points + (nan > 0 ? 1 : 0)));
  store<f64>(state + S_NEXT, <f64>(m - 1));
  store<f64>(state + S_BUCKET, <f64>(BUCKETS - 1));
  store<f64>(state + S_NAN_POINT, nan > 0 ? 1.0 : 0.0);
  return 1;
}

/**
 * Walks the sorted items from the largest confidence down, writing up to `room` points into
 * coverage, risk, generalized and confidence (f64 each) and the risk at each of the levelCount
 * ascending coverage `levels` into riskAt as the walk reaches it; returns the points written. The
 * walk goes on where the last call stopped (the state), until S_NEXT is −1 and no NaN point is due.
 * step > 0 thins: a point is written only at a coverage ≥ the last written one's + step (and the
 * last point always). room 0 walks to the end writing nothing. A call stops after about `budget`
 * items: score calls the walk once, and a long first call runs entirely in V8's baseline code, which
 * a few calls leave for the optimized one.
 */
export function selectiveWalk(
  state: usize, counts: usize, items: usize, levels: usize, levelCount: i32, step: f64,
  coverage: usize, risk: usize, generalized: usize, confidence: usize, room: i32, riskAt: usize, budget: i32,
): i32 {
  let n = load<f64>(state + S_ROWS);
  let wrongCount = load<f64>(state + S_WRONG);
  let i = <i32>load<f64>(state + S_NEXT);
  let b = <usize>load<f64>(state + S_BUCKET);
  let covered = <u32>load<f64>(state + S_COVERED);
  let errors = <u32>load<f64>(state + S_ERRORS);
  let aurc = load<f64>(state + S_AURC);
  let augrc = load<f64>(state + S_AUGRC);
  let prev = load<f64>(state + S_PREV);
  let level = <i32>load<f64>(state + S_LEVEL);
  let kept = load<f64>(state + S_KEPT);
  let points = <i32>load<f64>(state + S_POINTS);
  let nanPoint = load<f64>(state + S_NAN_POINT) != 0;
  let written = 0;
  let nextLevel = level < levelCount ? load<f64>(levels + (<usize>level << 3)) : Infinity;
  let stop = i - budget; // items of this call: the rest in the next
  while (i >= 0 || nanPoint) {
    if ((written == room && room > 0) || i <= stop) break; // the caller takes these points and calls again
    let key: u32 = 0; // the NaN point's
    let cov: f64;
    let r: f64;
    let g: f64;
    if (i >= 0) {
      // the bucket of item i: its begin (the end of the bucket below) ≤ i
      let begin = b > 0 ? <i32>load<u32>(counts + ((b - 1) << 2)) : 0;
      while (begin > i) {
        b--;
        begin = b > 0 ? <i32>load<u32>(counts + ((b - 1) << 2)) : 0;
      }
      let item = <u32>load<u16>(items + (<usize>i << 1));
      let top = item >> 1;
      key = (<u32>b << BUCKET_SHIFT) | top;
      for (;;) {
        errors += item & 1;
        covered++;
        if (--i < begin) break;
        item = <u32>load<u16>(items + (<usize>i << 1));
        if (item >> 1 != top) break;
      }
      cov = <f64>covered / n;
      r = <f64>errors / <f64>covered;
      g = <f64>errors / n;
    } else {
      nanPoint = false;
      covered = <u32>n;
      errors = <u32>wrongCount;
      cov = n / n;
      r = wrongCount / n;
      g = wrongCount / n;
    }
    aurc += (cov - prev) * r;
    augrc += (cov - prev) * g;
    prev = cov;
    while (cov >= nextLevel) {
      store<f64>(riskAt + (<usize>level << 3), r);
      level++;
      nextLevel = level < levelCount ? load<f64>(levels + (<usize>level << 3)) : Infinity;
    }
    if (step > 0 && cov < kept + step && (i >= 0 || nanPoint)) continue;
    kept = cov;
    if (written < room) {
      let o = <usize>written << 3;
      store<f64>(coverage + o, cov);
      store<f64>(risk + o, r);
      store<f64>(generalized + o, g);
      store<f64>(confidence + o, key == 0 ? NaN : valueOf(key));
      written++;
    }
    points++;
  }
  store<f64>(state + S_NEXT, <f64>i);
  store<f64>(state + S_BUCKET, <f64>b);
  store<f64>(state + S_COVERED, <f64>covered);
  store<f64>(state + S_ERRORS, <f64>errors);
  store<f64>(state + S_AURC, aurc);
  store<f64>(state + S_AUGRC, augrc);
  store<f64>(state + S_PREV, prev);
  store<f64>(state + S_LEVEL, <f64>level);
  store<f64>(state + S_KEPT, kept);
  store<f64>(state + S_POINTS, <f64>points);
  store<f64>(state + S_NAN_POINT, nanPoint ? 1.0 : 0.0);
  return written;
}
