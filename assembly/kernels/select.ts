// argmax and top-k along each row of a row-major float32 [rows, classes] batch
// (SEMANTICS.md §8). Both use one total order, "a ranks above b":
//   (a is NaN and b is not) or a > b or ((a == b or both NaN) and index(a) < index(b)),
// so NaN beats +inf, the first NaN wins, and -0.0 ties +0.0 (lower index first).
//
// argmax: each of the four lanes keeps its best value and index; a lane takes a new
// element only if it ranks strictly above (its index is always larger, so ties keep the
// earlier one); the four lane winners are then merged with the full order. Short rows
// (classes < 8) put four rows in the four lanes instead.
//
// top-k: a selection, not a sort. The first k elements of the row are heapified in place in
// the output arrays as a min-heap (root = the lowest-ranked survivor); every later element
// that ranks above the root replaces it and sifts down. Later elements have larger indices,
// so "ranks above the root" is just a strictly larger order key, and a four-wide float
// compare skips the common case where none of four candidates qualifies. A heap sort then
// leaves the k survivors in descending rank order, and the values are copied back from the
// input as raw 32-bit patterns, so NaN payloads and -0.0 come out bit for bit.
// O(C + k log k · log(C/k)) for random rows.

// @ts-ignore: decorator
@inline const ARGMAX_ACROSS_ROWS_MAX_CLASSES: i32 = 8;

/** True when (va, ia) ranks above (vb, ib). */
// @ts-ignore: decorator
@inline
function ranksAbove(va: f32, ia: i32, vb: f32, ib: i32): bool {
  let aNaN = va != va;
  let bNaN = vb != vb;
  if (aNaN | bNaN) return aNaN && (!bNaN || ia < ib);
  if (va != vb) return va > vb;
  return ia < ib;
}

/** Index of the top-ranked element of one row (scalar; short rows and tails). */
function argmaxRowScalar(p: usize, classes: i32): i32 {
  let best = load<f32>(p);
  let bestIndex = 0;
  for (let j = 1; j < classes; j++) {
    let v = load<f32>(p + (<usize>j << 2));
    // j > bestIndex, so only a strictly higher rank moves the winner.
    if (v > best || (v != v && best == best)) {
      best = v;
      bestIndex = j;
    }
  }
  return bestIndex;
}

function argmaxRowSimd(p: usize, classes: i32): i32 {
  let bestV = v128.load(p);
  let bestI = i32x4(0, 1, 2, 3);
  let idx = bestI;
  let four = i32x4.splat(4);
  let j = 4;
  for (; j + 4 <= classes; j += 4) {
    idx = i32x4.add(idx, four);
    let v = v128.load(p + (<usize>j << 2));
    let take = v128.or(f32x4.gt(v, bestV), v128.and(f32x4.ne(v, v), f32x4.eq(bestV, bestV)));
    bestV = v128.bitselect(v, bestV, take);
    bestI = v128.bitselect(idx, bestI, take);
  }
  // Merge the four lane winners (lane indices are unrelated, so the full order decides).
  let best = f32x4.extract_lane(bestV, 0);
  let bestIndex = i32x4.extract_lane(bestI, 0);
  let v1 = f32x4.extract_lane(bestV, 1);
  let i1 = i32x4.extract_lane(bestI, 1);
  if (ranksAbove(v1, i1, best, bestIndex)) { best = v1; bestIndex = i1; }
  let v2 = f32x4.extract_lane(bestV, 2);
  let i2 = i32x4.extract_lane(bestI, 2);
  if (ranksAbove(v2, i2, best, bestIndex)) { best = v2; bestIndex = i2; }
  let v3 = f32x4.extract_lane(bestV, 3);
  let i3 = i32x4.extract_lane(bestI, 3);
  if (ranksAbove(v3, i3, best, bestIndex)) { best = v3; bestIndex = i3; }
  for (; j < classes; j++) {
    let v = load<f32>(p + (<usize>j << 2));
    if (v > best || (v != v && best == best)) {
      best = v;
      bestIndex = j;
    }
  }
  return bestIndex;
}

/** argmax of one row of `classes` ≥ 1 values: the per-row rule of `argmax` below. */
// @ts-ignore: decorator
@inline
export function argmaxRow(p: usize, classes: i32): i32 {
  return classes >= 4 ? argmaxRowSimd(p, classes) : argmaxRowScalar(p, classes);
}

/**
 * argmax of a row whose maximum m the caller already has and which it knows holds no NaN (m then
 * finite or ±inf, and the first maximum is the top-ranked element: -0 == +0, so a signed-zero tie goes
 * to the lower index as in argmaxRowSimd). The first index where x == m, sixteen values a step with an
 * early exit: it reads the row only up to its maximum (half of it on average) with one compare a
 * vector, where argmaxRowSimd reads all of it with eight operations a vector. A row with a NaN must go
 * to argmaxRow instead (NaN outranks every m).
 */
export function argmaxRowOfMax(p: usize, classes: i32, m: f32): i32 {
  let mv = f32x4.splat(m);
  let j = 0;
  for (; j + 16 <= classes; j += 16) {
    let q = p + (<usize>j << 2);
    let e = v128.or(
      v128.or(f32x4.eq(v128.load(q), mv), f32x4.eq(v128.load(q, 16), mv)),
      v128.or(f32x4.eq(v128.load(q, 32), mv), f32x4.eq(v128.load(q, 48), mv)),
    );
    if (v128.any_true(e)) break;
  }
  // Within the block that matched (whole, so j + 4 ≤ classes), or the row's last whole vectors.
  for (; j + 4 <= classes; j += 4) {
    let bits = i32x4.bitmask(f32x4.eq(v128.load(p + (<usize>j << 2)), mv));
    if (bits != 0) return j + <i32>ctz(bits);
  }
  for (; j < classes; j++) {
    if (load<f32>(p + (<usize>j << 2)) == m) return j;
  }
  return 0; // not reached when m is the row's maximum
}

/** out[r] = index of the maximum of row r (first NaN, else first maximum). */
export function argmax(xPtr: usize, rows: i32, classes: i32, outPtr: usize): void {
  let stride = <usize>classes << 2;
  let r = 0;
  if (classes < ARGMAX_ACROSS_ROWS_MAX_CLASSES) {
    // Four rows in the four lanes: lane k walks row r + k.
    for (; r + 4 <= rows; r += 4) {
      let p = xPtr + <usize>r * stride;
      let bestV = v128.load32_zero(p);
      bestV = v128.load32_lane(p + stride, bestV, 1);
      bestV = v128.load32_lane(p + 2 * stride, bestV, 2);
      bestV = v128.load32_lane(p + 3 * stride, bestV, 3);
      let bestI = i32x4.splat(0);
      for (let j = 1; j < classes; j++) {
        let q = p + (<usize>j << 2);
        let v = v128.load32_zero(q);
        v = v128.load32_lane(q + stride, v, 1);
        v = v128.load32_lane(q + 2 * stride, v, 2);
        v = v128.load32_lane(q + 3 * stride, v, 3);
        let take = v128.or(f32x4.gt(v, bestV), v128.and(f32x4.ne(v, v), f32x4.eq(bestV, bestV)));
        bestV = v128.bitselect(v, bestV, take);
        bestI = v128.bitselect(i32x4.splat(j), bestI, take);
      }
      v128.store(outPtr + (<usize>r << 2), bestI);
    }
  }
  for (; r < rows; r++) {
    let p = xPtr + <usize>r * stride;
    store<i32>(outPtr + (<usize>r << 2), argmaxRow(p, classes));
  }
}

// ---- top-k ----------------------------------------------------------------------------
// While selecting, the values slots hold an order key instead of the value: a u32 that
// sorts like the rank order (NaN → 0xFFFFFFFF above +inf, -0 → +0, negative floats
// bit-flipped), so a heap comparison is two integer compares. At the end each slot gets
// the input's own 32 bits back from x[index], so values stay bit-exact copies.

/** Unsigned order key of a float32 bit pattern (see above). */
// @ts-ignore: decorator
@inline
function orderKey(bits: u32): u32 {
  if ((bits & 0x7FFFFFFF) > 0x7F800000) return 0xFFFFFFFF;
  if (bits == 0x80000000) return 0x80000000; // -0 ranks as +0
  return (bits & 0x80000000) != 0 ? ~bits : bits | 0x80000000;
}

/**
 * Sift (kx, ix) down from hole i in a min-heap of size n (root = lowest rank). The element
 * rides in registers and children move up into the hole; the lower-ranked child is picked
 * with selects, so the only data-dependent branch is the loop exit.
 */
function siftDown(keys: usize, idxs: usize, i: i32, n: i32, kx: u32, ix: i32): void {
  while (true) {
    let left = 2 * i + 1;
    if (left >= n) break;
    let ol = <usize>left << 2;
    let kc = load<u32>(keys + ol);
    let ic = load<i32>(idxs + ol);
    let child = left;
    if (left + 1 < n) {
      let kr = load<u32>(keys + ol, 4);
      let ir = load<i32>(idxs + ol, 4);
      let rightLower = kr < kc || (kr == kc && ir > ic);
      child = select(left + 1, left, rightLower);
      kc = select(kr, kc, rightLower);
      ic = select(ir, ic, rightLower);
    }
    // Stop when the child does not rank below the element.
    if (!(kc < kx || (kc == kx && ic > ix))) break;
    let oi = <usize>i << 2;
    store<u32>(keys + oi, kc);
    store<i32>(idxs + oi, ic);
    i = child;
  }
  let oi = <usize>i << 2;
  store<u32>(keys + oi, kx);
  store<i32>(idxs + oi, ix);
}

function topkRow(p: usize, classes: i32, k: i32, keys: usize, idxs: usize): void {
  for (let j = 0; j < k; j++) {
    let o = <usize>j << 2;
    store<u32>(keys + o, orderKey(load<u32>(p + o)));
    store<i32>(idxs + o, j);
  }
  for (let i = (k >> 1) - 1; i >= 0; i--) {
    let o = <usize>i << 2;
    siftDown(keys, idxs, i, k, load<u32>(keys + o), load<i32>(idxs + o));
  }
  // Every later element has a larger index than all survivors, so it enters iff its key is
  // strictly above the root's. Four candidates are skipped at once when none is NaN and
  // none is above the root's value (float compare; -0 == +0 as for the keys).
  let rootKey = load<u32>(keys);
  let rootValue = load<f32>(p + (<usize>load<i32>(idxs) << 2));
  let j = k;
  for (; j + 4 <= classes; j += 4) {
    let q = p + (<usize>j << 2);
    let v = v128.load(q);
    if (!v128.any_true(v128.or(f32x4.gt(v, f32x4.splat(rootValue)), f32x4.ne(v, v)))) continue;
    for (let lane = 0; lane < 4; lane++) {
      let key = orderKey(load<u32>(q + (<usize>lane << 2)));
      if (key > rootKey) {
        siftDown(keys, idxs, 0, k, key, j + lane);
        rootKey = load<u32>(keys);
        rootValue = load<f32>(p + (<usize>load<i32>(idxs) << 2));
      }
    }
  }
  for (; j < classes; j++) {
    let key = orderKey(load<u32>(p + (<usize>j << 2)));
    if (key > rootKey) {
      siftDown(keys, idxs, 0, k, key, j);
      rootKey = load<u32>(keys);
    }
  }
  // Heap sort: the root (lowest rank) goes to the end, the last element sifts down from the
  // root, repeatedly → descending order.
  for (let n = k - 1; n > 0; n--) {
    let o = <usize>n << 2;
    let kl = load<u32>(keys + o);
    let il = load<i32>(idxs + o);
    store<u32>(keys + o, load<u32>(keys));
    store<i32>(idxs + o, load<i32>(idxs));
    siftDown(keys, idxs, 0, n, kl, il);
  }
  // Keys back to the input's own bits.
  for (let i = 0; i < k; i++) {
    let o = <usize>i << 2;
    store<u32>(keys + o, load<u32>(p + (<usize>load<i32>(idxs + o) << 2)));
  }
}

/** Top k of each row: values[r*k ..] descending by rank, indices[r*k ..] their classes. */
export function topk(xPtr: usize, rows: i32, classes: i32, k: i32, valuesPtr: usize, indicesPtr: usize): void {
  if (k <= 0) return;
  let stride = <usize>classes << 2;
  let outStride = <usize>k << 2;
  for (let r = 0; r < rows; r++) {
    topkRow(xPtr + <usize>r * stride, classes, k, valuesPtr + <usize>r * outStride, indicesPtr + <usize>r * outStride);
  }
}
