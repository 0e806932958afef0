// Scoring accumulators: per-block sums that `logitkit score` keeps, with their state in wasm memory
// and the JS backend's js-score.ts as the float64 reference of the same accumulation.
//
// bootstrapSums: the Poisson-bootstrap replicate sums (src/metrics/bootstrap.ts has the method).
// Row i of a shard gets, in replicate r, the weight w = Poisson16(16 bits of
// fmix32(rowHash(i) + (⌊r/2⌋ + 1)·0x632BE5AB)) (low half for even r, high half for odd r), the
// counter-based generator of src/bootstrap-weights.ts, so the weights depend only on (seed, shard
// key, row, replicate). Per replicate it adds Σ w, Σ w·correct, Σ w·NLL, and per confidence bin
// Σ w, Σ w·conf, Σ w·correct.
//
// Algorithm: replicates eight at a time, one per 16-bit lane — four i32 lanes of hashes give the
// eight 16-bit uniforms of replicates 8g .. 8g + 7 in replicate order (lane 2m = low half of pair m,
// 2m + 1 = high half), and the weight is the count of the inverse-CDF thresholds a lane reaches
// (i16x8.ge_u; thresholds 4..7, reached by 0.4% of draws, only when any lane reaches the 5th).
// A chunk of ≤ 4096 rows is sorted by confidence bin (stable counting sort), then for each group of
// eight replicates the rows are walked bin by bin: every accumulator of the group (Σ w and Σ w·correct
// in i16 lanes, exact up to 8·4096 < 2^16; the NLL and bin-confidence sums in f64x2) stays in a
// register and is added to the state once per (bin, group) and once per group. Products w·x are exact
// in float64 (w ≤ 8 and x a float32 or the float32-valued NLL), so the only difference from the JS
// reference is the order of the float64 additions (≈ 1e-16 relative); integer sums are identical.
// Rows with a NaN confidence or a non-finite NLL take a scalar path with the reference's rules
// (a zero weight adds nothing, so 0·∞ never appears).
// State layout (f64, Rp = replicates rounded up to 8): weight[Rp], correct[Rp], nll[Rp], then
// binWeight, binConf, binCorrect, each [bins][Rp] (bin-major: a bin's replicates are contiguous).
// Cost: 1.64 ns a (row, replicate) on Node 20 and 22, 1.44 on Node 24 (Intel Xeon, Sapphire Rapids;
// 200 replicates, 15 bins, 2048-row chunks: `node bench/micro/boot-ab.js OLD.wasm NEW.wasm`, CPU time,
// loaded machine). The constants come from BOOT_TABLE and the weights convert signed: 5% (Node 20/22)
// and 7% (Node 24) fewer than with splat constants and unsigned conversions. A branch on the hit costs
// the same as the masks on random hits.

// @ts-ignore: decorator
@inline const PAIR_STEP: u32 = 0x632BE5AB;
// @ts-ignore: decorator
@inline const CHUNK: i32 = 4096;

// round(P(Poisson(1) ≤ k) · 2^16), k = 0..7 (src/bootstrap-weights.ts computes them; the ABI test
// checks this kernel's weights against that generator's).
// @ts-ignore: decorator
@inline const T0: u16 = 24109;
// @ts-ignore: decorator
@inline const T1: u16 = 48219;
// @ts-ignore: decorator
@inline const T2: u16 = 60273;
// @ts-ignore: decorator
@inline const T3: u16 = 64292;
// @ts-ignore: decorator
@inline const T4: u16 = 65296;
// @ts-ignore: decorator
@inline const T5: u16 = 65497;
// @ts-ignore: decorator
@inline const T6: u16 = 65531;
// @ts-ignore: decorator
@inline const T7: u16 = 65535;

/** MurmurHash3's finaliser. */
// @ts-ignore: decorator
@inline
function fmix32(h: u32): u32 {
  h ^= h >>> 16;
  h *= 0x85EBCA6B;
  h ^= h >>> 13;
  h *= 0xC2B2AE35;
  h ^= h >>> 16;
  return h;
}

/**
 * The bootstrap's lane constants, loaded where they are used (as AUROC_TABLE below and exp.ts's
 * EXP_TABLE): V8 13.6 rematerialises a splat constant at each use inside a loop. Byte offsets: 0 and
 * 16 fmix32's multipliers, 32 + 16·k the threshold T_k in eight u16 lanes.
 */
const BOOT_TABLE: usize = memory.data<u32>([
  0x85EBCA6B, 0x85EBCA6B, 0x85EBCA6B, 0x85EBCA6B,
  0xC2B2AE35, 0xC2B2AE35, 0xC2B2AE35, 0xC2B2AE35,
  T0 * 0x10001, T0 * 0x10001, T0 * 0x10001, T0 * 0x10001,
  T1 * 0x10001, T1 * 0x10001, T1 * 0x10001, T1 * 0x10001,
  T2 * 0x10001, T2 * 0x10001, T2 * 0x10001, T2 * 0x10001,
  T3 * 0x10001, T3 * 0x10001, T3 * 0x10001, T3 * 0x10001,
  T4 * 0x10001, T4 * 0x10001, T4 * 0x10001, T4 * 0x10001,
  T5 * 0x10001, T5 * 0x10001, T5 * 0x10001, T5 * 0x10001,
  T6 * 0x10001, T6 * 0x10001, T6 * 0x10001, T6 * 0x10001,
  T7 * 0x10001, T7 * 0x10001, T7 * 0x10001, T7 * 0x10001,
], 16);

// @ts-ignore: decorator
@inline
function bc(at: usize): v128 {
  return v128.load(BOOT_TABLE + at);
}

// @ts-ignore: decorator
@inline
function fmix32x4(u: v128): v128 {
  u = v128.xor(u, i32x4.shr_u(u, 16));
  u = i32x4.mul(u, bc(0));
  u = v128.xor(u, i32x4.shr_u(u, 13));
  u = i32x4.mul(u, bc(16));
  return v128.xor(u, i32x4.shr_u(u, 16));
}

/** The hash of row i from seedKey = fmix32(fmix32(seed ^ 0x5BD1E995) ^ key). */
// @ts-ignore: decorator
@inline
function rowHash(seedKey: u32, i: u64): u32 {
  return fmix32(seedKey ^ (<u32>i * 0x9E3779B1) ^ fmix32(<u32>(i >>> 32) + 0x27D4EB2F));
}

// @ts-ignore: decorator
@inline
function poisson16(v: u32): i32 {
  return <i32>(v >= T0) + <i32>(v >= T1) + <i32>(v >= T2) + <i32>(v >= T3) + <i32>(v >= T4) + <i32>(v >= T5) + <i32>(v >= T6) + <i32>(v >= T7);
}

/** Weights of eight replicates from eight 16-bit uniforms (i16x8 lanes, unsigned). */
// @ts-ignore: decorator
@inline
function poissonLanes(v: v128): v128 {
  let w = i16x8.sub(i16x8.splat(0), i16x8.ge_u(v, bc(32)));
  w = i16x8.sub(w, i16x8.ge_u(v, bc(48)));
  w = i16x8.sub(w, i16x8.ge_u(v, bc(64)));
  w = i16x8.sub(w, i16x8.ge_u(v, bc(80)));
  let m4 = i16x8.ge_u(v, bc(96));
  if (v128.any_true(m4)) {
    w = i16x8.sub(w, m4);
    w = i16x8.sub(w, i16x8.ge_u(v, bc(112)));
    w = i16x8.sub(w, i16x8.ge_u(v, bc(128)));
    w = i16x8.sub(w, i16x8.ge_u(v, bc(144)));
  }
  return w;
}

/** Adds eight u16 lanes to the eight f64 at p. */
// @ts-ignore: decorator
@inline
function addU16Lanes(p: usize, v: v128): void {
  let lo = i32x4.extend_low_i16x8_u(v);
  let hi = i32x4.extend_high_i16x8_u(v);
  v128.store(p, f64x2.add(v128.load(p), f64x2.convert_low_i32x4_u(lo)));
  v128.store(p, f64x2.add(v128.load(p, 16), f64x2.convert_low_i32x4_u(v128.shuffle<i32>(lo, lo, 2, 3, 0, 1))), 16);
  v128.store(p, f64x2.add(v128.load(p, 32), f64x2.convert_low_i32x4_u(hi)), 32);
  v128.store(p, f64x2.add(v128.load(p, 48), f64x2.convert_low_i32x4_u(v128.shuffle<i32>(hi, hi, 2, 3, 0, 1))), 48);
}

// @ts-ignore: decorator
@inline
function addF64x8(p: usize, a: v128, b: v128, c: v128, d: v128): void {
  v128.store(p, f64x2.add(v128.load(p), a));
  v128.store(p, f64x2.add(v128.load(p, 16), b), 16);
  v128.store(p, f64x2.add(v128.load(p, 32), c), 32);
  v128.store(p, f64x2.add(v128.load(p, 48), d), 48);
}

/** n float64 at src added to those at dst (n even; both 16-byte aligned). */
// @ts-ignore: decorator
@inline
function addF64s(dst: usize, src: usize, n: usize): void {
  for (let i: usize = 0; i < n; i += 2) {
    let o = i << 3;
    v128.store(dst + o, f64x2.add(v128.load(dst + o), v128.load(src + o)));
  }
}

/** bin(c) = clamp(ceil(c·M) − 1, 0, M − 1), as src/options.ts binOf. */
// @ts-ignore: decorator
@inline
function binOf(c: f64, bins: i32): i32 {
  let k = <i32>Math.ceil(c * <f64>bins) - 1;
  return k < 0 ? 0 : k >= bins ? bins - 1 : k;
}

/** Bytes of bootstrapSums' scratch block for `bins` bins: two u64 per chunk row and the bin starts. */
export function bootstrapScratchBytes(bins: i32): i32 {
  return CHUNK * 16 + (bins + 1) * 4;
}

/**
 * Adds `rows` rows (row `first` + i of the shard whose seedKey is given) to the replicate sums at
 * statePtr (layout above). hit: u8 0/1 per row; nll: f64 per row; conf: f32 per row. Returns the
 * rows whose confidence is NaN (they are left out of the bins, as in the reference).
 */
export function bootstrapSums(
  hitPtr: usize, nllPtr: usize, confPtr: usize, rows: i32, seedKey: u32, first: f64, replicates: i32, bins: i32,
  statePtr: usize, scratchPtr: usize,
): i32 {
  let Rp = (replicates + 7) & ~7;
  let groups = Rp >> 3;
  let vec = <usize>Rp << 3; // bytes of one quantity's replicates
  let weightP = statePtr;
  let correctP = weightP + vec;
  let nllSumP = correctP + vec;
  let binWP = nllSumP + vec;
  let binConfP = binWP + <usize>bins * vec;
  let binCorrectP = binConfP + <usize>bins * vec;
  // Scratch: per chunk row (bin << 32 | hash), then per sorted slot (row << 32 | hash), then starts.
  let byRowP = scratchPtr;
  let sortedP = byRowP + (<usize>CHUNK << 3);
  let startP = sortedP + (<usize>CHUNK << 3);
  let firstRow = <u64>first;
  let nan = 0;
  for (let c0 = 0; c0 < rows; c0 += CHUNK) {
    let n = min(CHUNK, rows - c0);
    memory.fill(startP, 0, (<usize>bins + 1) << 2);
    // Pass 1: hash and bin of each row, bin sizes counted in start[b + 1]; the special rows go now.
    for (let i = 0; i < n; i++) {
      let row = c0 + i;
      let c = <f64>load<f32>(confPtr + (<usize>row << 2));
      let l = load<f64>(nllPtr + (<usize>row << 3));
      let h = rowHash(seedKey, firstRow + <u64>row);
      if (c != c) nan++;
      if (c != c || !isFinite(l)) {
        store<u64>(byRowP + (<usize>i << 3), (<u64>0xFFFFFFFF << 32) | <u64>h);
        addRowScalar(h, load<u8>(hitPtr + <usize>row), l, c, replicates, bins, Rp, statePtr);
        continue;
      }
      let b = binOf(c, bins);
      store<u64>(byRowP + (<usize>i << 3), (<u64><u32>b << 32) | <u64>h);
      let sp = startP + (<usize>(b + 1) << 2);
      store<i32>(sp, load<i32>(sp) + 1);
    }
    for (let b = 0; b < bins; b++) {
      let sp = startP + (<usize>(b + 1) << 2);
      store<i32>(sp, load<i32>(sp) + load<i32>(sp - 4));
    }
    // Stable counting sort into the slots; each start advances to the next bin's, then is restored.
    for (let i = 0; i < n; i++) {
      let v = load<u64>(byRowP + (<usize>i << 3));
      let b = <i32>(v >>> 32);
      if (b < 0) continue;
      let sp = startP + (<usize>b << 2);
      let k = load<i32>(sp);
      store<i32>(sp, k + 1);
      store<u64>(sortedP + (<usize>k << 3), (<u64><u32>i << 32) | (v & 0xFFFFFFFF));
    }
    for (let b = bins; b > 0; b--) store<i32>(startP + (<usize>b << 2), load<i32>(startP + (<usize>(b - 1) << 2)));
    store<i32>(startP, 0);
    // Pass 2: eight replicates at a time, rows bin by bin.
    for (let g = 0; g < groups; g++) {
      let j = g << 2;
      let adds = i32x4.mul(i32x4.add(i32x4.splat(j), i32x4(1, 2, 3, 4)), i32x4.splat(PAIR_STEP));
      let W = i16x8.splat(0);
      let K = i16x8.splat(0);
      let n0 = f64x2.splat(0), n1 = f64x2.splat(0), n2 = f64x2.splat(0), n3 = f64x2.splat(0);
      let off = <usize>g << 6;
      for (let b = 0; b < bins; b++) {
        let s = load<i32>(startP + (<usize>b << 2));
        let e = load<i32>(startP + (<usize>(b + 1) << 2));
        if (s == e) continue;
        let BW = i16x8.splat(0);
        let BK = i16x8.splat(0);
        let c0v = f64x2.splat(0), c1v = f64x2.splat(0), c2v = f64x2.splat(0), c3v = f64x2.splat(0);
        for (let k = s; k < e; k++) {
          let packed = load<u64>(sortedP + (<usize>k << 3));
          let row = <usize>c0 + <usize>(packed >>> 32);
          let w = poissonLanes(fmix32x4(i32x4.add(i32x4.splat(<u32>packed), adds)));
          W = i16x8.add(W, w);
          BW = i16x8.add(BW, w);
          // branch-free: a hit is a coin flip at the accuracies scored (measured: the same speed as
          // the branch on random hits; no data-dependent timing)
          let wk = v128.and(w, i16x8.splat(-<i16>load<u8>(hitPtr + row)));
          K = i16x8.add(K, wk);
          BK = i16x8.add(BK, wk);
          // weights are 0..8: the signed conversions (one instruction each on x64; the unsigned
          // ones take two or three) give the same values
          let lo = i32x4.extend_low_i16x8_s(w);
          let hi = i32x4.extend_high_i16x8_s(w);
          let w0 = f64x2.convert_low_i32x4_s(lo);
          let w1 = f64x2.convert_low_i32x4_s(v128.shuffle<i32>(lo, lo, 2, 3, 0, 1));
          let w2 = f64x2.convert_low_i32x4_s(hi);
          let w3 = f64x2.convert_low_i32x4_s(v128.shuffle<i32>(hi, hi, 2, 3, 0, 1));
          let l = v128.load64_splat(nllPtr + (row << 3));
          let c = f64x2.splat(<f64>load<f32>(confPtr + (row << 2)));
          n0 = f64x2.add(n0, f64x2.mul(w0, l));
          n1 = f64x2.add(n1, f64x2.mul(w1, l));
          n2 = f64x2.add(n2, f64x2.mul(w2, l));
          n3 = f64x2.add(n3, f64x2.mul(w3, l));
          c0v = f64x2.add(c0v, f64x2.mul(w0, c));
          c1v = f64x2.add(c1v, f64x2.mul(w1, c));
          c2v = f64x2.add(c2v, f64x2.mul(w2, c));
          c3v = f64x2.add(c3v, f64x2.mul(w3, c));
        }
        let bo = <usize>b * vec + off;
        addU16Lanes(binWP + bo, BW);
        addU16Lanes(binCorrectP + bo, BK);
        addF64x8(binConfP + bo, c0v, c1v, c2v, c3v);
      }
      addU16Lanes(weightP + off, W);
      addU16Lanes(correctP + off, K);
      addF64x8(nllSumP + off, n0, n1, n2, n3);
    }
  }
  return nan;
}

/** One row through the reference's rules, replicate by replicate. */
function addRowScalar(h: u32, hit: u8, l: f64, c: f64, replicates: i32, bins: i32, Rp: i32, statePtr: usize): void {
  let vec = <usize>Rp << 3;
  let b = c == c ? binOf(c, bins) : -1;
  let k = <f64>hit;
  for (let r = 0; r < replicates; r++) {
    let u = fmix32(h + <u32>((r >>> 1) + 1) * PAIR_STEP);
    let w = <f64>poisson16((r & 1) != 0 ? u >>> 16 : u & 0xFFFF);
    if (w == 0) continue;
    let o = <usize>r << 3;
    store<f64>(statePtr + o, load<f64>(statePtr + o) + w);
    store<f64>(statePtr + vec + o, load<f64>(statePtr + vec + o) + w * k);
    store<f64>(statePtr + 2 * vec + o, load<f64>(statePtr + 2 * vec + o) + w * l);
    if (b >= 0) {
      let bo = <usize>(3 + b) * vec + o;
      let step = <usize>bins * vec;
      store<f64>(statePtr + bo, load<f64>(statePtr + bo) + w);
      store<f64>(statePtr + step + bo, load<f64>(statePtr + step + bo) + w * c);
      store<f64>(statePtr + 2 * step + bo, load<f64>(statePtr + 2 * step + bo) + w * k);
    }
  }
}

// Threads: a block's rows go in fixed chunks of chunkRows (≤ CHUNK) rows, each into its own slot
// of replicate sums (the state layout, then its NaN rows and a pad), on whichever thread claims it;
// bootstrapFold adds the slots to the state in chunk order. One thread runs the same chunks, so the
// sums are identical for every thread count.

/** float64 values of one chunk's slot: the state, its NaN rows, a pad to 16 bytes. */
// @ts-ignore: decorator
@inline
function bootSlotLength(replicates: i32, bins: i32): usize {
  return <usize>((replicates + 7) & ~7) * <usize>(3 + 3 * bins) + 2;
}

/**
 * Rows [begin, end) of a block (one chunk: begin a multiple of chunkRows, end − begin ≤ chunkRows ≤
 * 4096) into slot begin / chunkRows of `slots` (zeroed here first), with that slot's share of
 * `scratch` (bootstrapScratchBytes each). hit, nll, conf: the block's per-row arrays (row 0); `first`:
 * the shard index of the block's row 0.
 */
export function bootstrapChunk(
  hitPtr: usize, nllPtr: usize, confPtr: usize, begin: i32, end: i32, seedKey: u32, first: f64, replicates: i32, bins: i32,
  chunkRows: i32, slotsPtr: usize, scratchPtr: usize,
): void {
  let i = <usize>(begin / chunkRows);
  let len = bootSlotLength(replicates, bins);
  let slot = slotsPtr + i * (len << 3);
  memory.fill(slot, 0, len << 3);
  let b = <usize>begin;
  let nan = bootstrapSums(
    hitPtr + b, nllPtr + (b << 3), confPtr + (b << 2), end - begin, seedKey, first + <f64>begin, replicates, bins,
    slot, scratchPtr + i * <usize>((bootstrapScratchBytes(bins) + 15) & ~15),
  );
  store<f64>(slot + ((len - 2) << 3), <f64>nan);
}

/** Adds the slots of `chunks` chunks to the state in chunk order; returns their NaN rows. */
export function bootstrapFold(statePtr: usize, slotsPtr: usize, chunks: i32, replicates: i32, bins: i32): i32 {
  let len = bootSlotLength(replicates, bins);
  let nan = 0;
  for (let s = 0; s < chunks; s++) {
    let slot = slotsPtr + <usize>s * (len << 3);
    addF64s(statePtr, slot, len - 2);
    nan += <i32>load<f64>(slot + ((len - 2) << 3));
  }
  return nan;
}

// ---- AUROC histograms -----------------------------------------------------------------------------
//
// aurocCounts: per class k and AUROC bin b (src/auroc-bins.ts: the float32 exponent and the top 8
// mantissa bits of p for p < ½, of 1 − p above, then a 4-bit position inside the bin), the rows whose
// p_k falls in b and the sum of their positions, packed in ONE u32 cell: the count in the high 14
// bits, the position sum in the low 18 (a row adds (1 << 18) | position). A cell that reaches `limit`
// rows (≤ 16383, where the position sum is ≤ 15 · 16383 < 2^18, so nothing carries) is spilled: its
// value goes to the class's log (bin, value) and the cell restarts at 0; the engine drains the logs
// after every call into exact side counts (src/accumulators.ts AurocHistogram). A log holds logCap
// entries, far fewer than a block's rows: each class starts at the row its log's second word says
// (0 on the engine's first call of a block), stops before a row that could spill into a full log (a
// row spills at most once per class), and writes back where it stopped; the engine drains and calls
// again until every class has done all rows (rare at the default limit: a bin spills once a 16383
// rows). 64 KiB of cells per class instead of 128 KiB: 1000 classes in 62.5 MiB.
//
// Algorithm: column-wise, so a class's cells stay in cache while its rows are added. The engine
// passes the whole block (4 MiB: ~1000 rows at 1000 classes; it used to call with 2^17 floats, 131
// rows, sweeping all 62.5 MiB of cells every 131 rows, a cache miss an element). The rows go in tiles
// of A_TILE_ROWS; in a tile, four classes at a time walk all the tile's rows: one v128 load of a row's
// four p_k, their fine bins computed in SIMD (branch-free: the low half from the float's own exponent
// and mantissa bits, the high half from the bits of f32(d), d = 2^24·(1 − p) an exact integer, which
// is d's exponent and normalised mantissa without a count of leading zeros), then four scalar
// read-modify-writes into the four classes' cells. Only those four classes' cells are live (the lines
// their p_k reach: ~160 of 1024 a class on softmax rows of 1000 classes), so each line is fetched
// once per tile instead of once per row; the tile's lines of p (one 64-byte line a row) stay in L2
// for the next groups. Consecutive rows of one class that land in one bin chain through memory, but
// the four chains interleave, so the store-to-load latency overlaps. The SIMD constants come from a
// table (AUROC_TABLE), and the NaN test is outside the loop (runs between NaN rows, only when the
// block has one). Classes past the last multiple of four take the scalar bin. Rows whose first value
// is NaN (softmax rows are NaN all together) are skipped; the engine counts them. The `count` classes
// starting at p's column are this call's: the thread pool splits a call by classes (every class's
// cells and log belong to one thread), so the counts are the same for any number of threads; the
// order of a class's rows never changes a total (cells plus spills), only when a cell spills.
//
// Cost per element, one thread, simd128 build, softmax rows of the `npm run bench:score` files, the
// engine's call sizes (main's kernel: 2^17 / K rows a call; this one: a whole 4 MiB block):
//   1000 classes, 1000 rows: 20.3 instructions, 0.49 L1 and 0.23 L2 misses, 5.1 ns
//                            (main at 131 rows a call: 30.1, 0.96 and 0.95, 11.8 ns)
//   100 classes, 10,000 rows: 19.9 instructions, 0.46 L1 and 0.16 L2 misses, 2.3 ns
//                            (main at 1310 rows a call: 30.3, 0.65 and 0.46, 3.5 ns)
// Instructions and misses by cachegrind (48 KiB L1, a 1 MiB last level standing in for L2):
//   K=1000 R=1000 node bench/micro/auroc-cache.js /work/main/build/logitkit.wasm@131 build/logitkit.wasm
// times by interleaved CPU time on a loaded 2-core VM (medians; an idle machine will differ):
//   K=1000 R=1000 node bench/micro/auroc-ab.js /work/main/build/logitkit.wasm@131 build/logitkit.wasm
// (K=100 R=10000 and @1310 for 100 classes). Two thirds of the 5.1 ns is still memory: at 40 classes,
// whose cells all stay in cache, the same loop takes ~1.7 ns an element. Tried and dropped: groups of
// eight classes (no faster than four, more L1 misses).

// @ts-ignore: decorator
@inline const A_M: u32 = 256;
// @ts-ignore: decorator
@inline const A_Q: u32 = 16;
// @ts-ignore: decorator
@inline const A_T: u32 = 12;
// @ts-ignore: decorator
@inline const A_E_MIN: u32 = 86;
// @ts-ignore: decorator
@inline const A_LOWER: u32 = (126 - A_E_MIN) * A_M;
// @ts-ignore: decorator
@inline const A_BINS: u32 = 1 + A_LOWER + 24 * A_M + 1;
/** Bit where a packed cell's row count starts (below: the position sum). */
// @ts-ignore: decorator
@inline const A_COUNT_SHIFT: u32 = 18;
/** The fine index of p ≥ ½ is A_HIGH − (bits(f32(d)) >>> 11): (1 + LOWER)·16 + (23 − e)·4096 + 4095 − mant with bits(f32(d)) >>> 11 = (127 + e)·4096 + mant. */
// @ts-ignore: decorator
@inline const A_HIGH: u32 = (1 + A_LOWER) * A_Q + 150 * A_M * A_Q + (A_M * A_Q - 1);

/**
 * aurocCounts' four-lane constants, loaded where they are used (see ac): V8 rematerialises a splat
 * constant at each use inside a loop (three instructions; assembly/math/exp.ts), a load from a fixed
 * address is one. K_* are byte offsets.
 */
const AUROC_TABLE: usize = memory.data<u32>([
  0x7FFFFF, 0x7FFFFF, 0x7FFFFF, 0x7FFFFF, //                                      0 mantissa mask
  0x800000, 0x800000, 0x800000, 0x800000, //                                     16 2^23
  A_HIGH, A_HIGH, A_HIGH, A_HIGH, //                                             32
  0x3F800000, 0x3F800000, 0x3F800000, 0x3F800000, //                             48 bits of 1
  (A_E_MIN * A_M - 1) * A_Q, (A_E_MIN * A_M - 1) * A_Q, (A_E_MIN * A_M - 1) * A_Q, (A_E_MIN * A_M - 1) * A_Q, // 64 low half's offset
  0x3F000000, 0x3F000000, 0x3F000000, 0x3F000000, //                             80 bits of ½
  A_E_MIN << 23, A_E_MIN << 23, A_E_MIN << 23, A_E_MIN << 23, //                 96 bits of 2^-41
  (A_BINS - 1) * A_Q, (A_BINS - 1) * A_Q, (A_BINS - 1) * A_Q, (A_BINS - 1) * A_Q, // 112 the top bin's fine index
  A_Q - 1, A_Q - 1, A_Q - 1, A_Q - 1, //                                        128 position mask
  1 << A_COUNT_SHIFT, 1 << A_COUNT_SHIFT, 1 << A_COUNT_SHIFT, 1 << A_COUNT_SHIFT, // 144 one row of a packed cell
  0, A_BINS * 4, A_BINS * 8, A_BINS * 12, //                                    160 byte offset of each lane's class in a group
  ~3, ~3, ~3, ~3, //                                                            176 (f >>> 2) & ~3 = 4·bin
], 16);

/** The four-lane constant at byte offset `at` of AUROC_TABLE. */
// @ts-ignore: decorator
@inline
function ac(at: usize): v128 {
  return v128.load(AUROC_TABLE + at);
}

/** bin · 16 + position of the float32 score with bits u (src/auroc-bins.ts fineOfBits). */
// @ts-ignore: decorator
@inline
function aurocFine(u: u32): u32 {
  if (u < 0x3F000000) {
    let e = u >>> 23;
    if (e < A_E_MIN) return 0;
    return A_Q + (e - A_E_MIN) * A_M * A_Q + ((u >>> (23 - A_T)) & (A_M * A_Q - 1));
  }
  if (u >= 0x3F800000) return (A_BINS - 1) * A_Q;
  let d = 0x800000 - (u & 0x7FFFFF);
  let e = <u32>31 - clz<u32>(d);
  let mant = e >= A_T ? (d >>> (e - A_T)) & (A_M * A_Q - 1) : (d << (A_T - e)) & (A_M * A_Q - 1);
  return (1 + A_LOWER) * A_Q + (23 - e) * A_M * A_Q + (A_M * A_Q - 1 - mant);
}

/**
 * aurocFine of four lanes. Its comparisons are unsigned (NaN, negative values and −0 go to the top
 * bin); here they are signed, one instruction each on x64 where an unsigned one takes three, and the
 * lanes with the sign bit set, which compare below everything and so come out 0, are sent to the top
 * bin at the end.
 */
// @ts-ignore: decorator
@inline
function aurocFine4(u: v128): v128 {
  let low = i32x4.sub(i32x4.shr_u(u, 23 - A_T), ac(64));
  let d = i32x4.sub(ac(16), v128.and(u, ac(0)));
  let high = i32x4.sub(ac(32), i32x4.shr_u(f32x4.convert_i32x4_s(d), 23 - A_T));
  let top = ac(112);
  let f = v128.bitselect(high, top, i32x4.lt_s(u, ac(48)));
  f = v128.bitselect(low, f, i32x4.lt_s(u, ac(80)));
  f = v128.andnot(f, i32x4.lt_s(u, ac(96)));
  return v128.or(f, v128.and(i32x4.shr_s(u, 31), top));
}

/**
 * Adds one row (add = (1 << 18) | position) to the packed cell at byte `rel` of the cells at base, for
 * lane j of a group of four classes (byte rel counts from the group's first class; its log is at
 * lp + j·logBytes); spills at `full`. A lone class is lane 0 of its own group.
 */
// @ts-ignore: decorator
@inline
function addCell(base: usize, rel: u32, add: u32, full: u32, lp: usize, logBytes: usize, j: u32): void {
  let c = base + <usize>rel;
  let v = load<u32>(c) + add;
  if (v >= full) {
    let l = lp + <usize>j * logBytes;
    let used = load<u32>(l);
    store<u32>(l, used + 1);
    let at = l + 8 + (<usize>used << 3);
    store<u32>(at, (rel - j * (A_BINS << 2)) >>> 2);
    store<u32>(at, v, 4);
    v = 0;
  }
  store<u32>(c, v);
}

/** Rows [d, e) of four classes from `at` (row d's values) into their cells at base: no NaN test. */
// @ts-ignore: decorator
@inline
function aurocRows4(at: usize, stride: usize, d: i32, e: i32, base: usize, lp: usize, logBytes: usize, full: u32): void {
  for (let r = d; r < e; r++) {
    let f = aurocFine4(v128.load(at));
    let rel = i32x4.add(v128.and(i32x4.shr_u(f, 2), ac(176)), ac(160));
    let a = v128.or(v128.and(f, ac(128)), ac(144));
    addCell(base, <u32>i32x4.extract_lane(rel, 0), <u32>i32x4.extract_lane(a, 0), full, lp, logBytes, 0);
    addCell(base, <u32>i32x4.extract_lane(rel, 1), <u32>i32x4.extract_lane(a, 1), full, lp, logBytes, 1);
    addCell(base, <u32>i32x4.extract_lane(rel, 2), <u32>i32x4.extract_lane(a, 2), full, lp, logBytes, 2);
    addCell(base, <u32>i32x4.extract_lane(rel, 3), <u32>i32x4.extract_lane(a, 3), full, lp, logBytes, 3);
    at += stride;
  }
}

/** Tile rows: a group of four reads one 64-byte line a row, so the tile's lines (128 KiB) stay in L2 for the groups after it. */
// @ts-ignore: decorator
@inline const A_TILE_ROWS: i32 = 2048;

/**
 * Adds n rows × `count` classes of float32 probabilities to the packed cells (p: the first class's
 * column, rows `classes` floats apart; first: the rows' first values, for the NaN test). cells: the
 * count classes' cells (A_BINS u32 each); log: their logs, 8 + 8·logCap bytes each (the used entries,
 * the rows of this call done, then (bin, value) pairs); a cell spills when it reaches limit rows
 * (1 … 16383). Each class starts at its done row and stops before a row that could overflow its log.
 */
export function aurocCounts(pPtr: usize, firstPtr: usize, n: i32, classes: i32, count: i32, cellsPtr: usize, logPtr: usize, logCap: i32, limit: i32): void {
  let stride = <usize>classes << 2;
  let nan = false;
  for (let r = 0; r < n; r++) {
    let v = load<f32>(firstPtr + <usize>r * stride);
    if (v != v) nan = true;
  }
  let full = <u32>limit << A_COUNT_SHIFT;
  let logBytes: usize = 8 + (<usize>logCap << 3);
  let cellBytes = <usize>A_BINS << 2;
  let groups = count & ~3;
  for (let r0 = 0; r0 < n; r0 += A_TILE_ROWS) {
    let r1 = min(n, r0 + A_TILE_ROWS);
    let k = 0;
    for (; k < groups; k += 4) {
      let lp = logPtr + <usize>k * logBytes;
      let d = load<i32>(lp, 4);
      if (load<i32>(lp + logBytes, 4) != d || load<i32>(lp + 2 * logBytes, 4) != d || load<i32>(lp + 3 * logBytes, 4) != d) {
        // the engine never starts a group's classes apart; counted anyway, one by one
        for (let j = 0; j < 4; j++) aurocClass(pPtr, firstPtr, stride, nan, r0, r1, cellsPtr + <usize>(k + j) * cellBytes, lp + <usize>j * logBytes, logCap, full, k + j);
        continue;
      }
      // a group whose logs filled in an earlier tile waits for the engine's next call; one past this
      // tile (a call re-entered) has counted it already
      if (d < r0 || d >= r1) continue;
      let base = cellsPtr + <usize>k * cellBytes;
      let pk = pPtr + (<usize>k << 2);
      while (d < r1) {
        // a row spills at most once per class: `room` rows cannot fill any of the four logs
        let used = max(max(load<i32>(lp), load<i32>(lp + logBytes)), max(load<i32>(lp + 2 * logBytes), load<i32>(lp + 3 * logBytes)));
        let room = logCap - used;
        if (room <= 0) break;
        let e = min(r1, d + room);
        if (!nan) aurocRows4(pk + <usize>d * stride, stride, d, e, base, lp, logBytes, full);
        else {
          // runs of numeric rows between the NaN ones, so the loop itself has no NaN test
          let q = d;
          while (q < e) {
            let q1 = q;
            while (q1 < e && load<f32>(firstPtr + <usize>q1 * stride) == load<f32>(firstPtr + <usize>q1 * stride)) q1++;
            aurocRows4(pk + <usize>q * stride, stride, q, q1, base, lp, logBytes, full);
            q = q1 + 1;
          }
        }
        d = e;
      }
      store<i32>(lp, d, 4);
      store<i32>(lp + logBytes, d, 4);
      store<i32>(lp + 2 * logBytes, d, 4);
      store<i32>(lp + 3 * logBytes, d, 4);
    }
    for (; k < count; k++) aurocClass(pPtr, firstPtr, stride, nan, r0, r1, cellsPtr + <usize>k * cellBytes, logPtr + <usize>k * logBytes, logCap, full, k);
  }
}

/** Rows [done, r1) of class k (the scalar bin), as far as its log has room; updates its done row. */
// @ts-ignore: decorator
@inline
function aurocClass(pPtr: usize, firstPtr: usize, stride: usize, nan: bool, r0: i32, r1: i32, base: usize, lp: usize, logCap: i32, full: u32, k: i32): void {
  let d = load<i32>(lp, 4);
  if (d < r0 || d >= r1) return;
  while (d < r1) {
    let room = logCap - load<i32>(lp);
    if (room <= 0) break;
    let e = min(r1, d + room);
    let at = pPtr + (<usize>k << 2) + <usize>d * stride;
    let first = firstPtr + <usize>d * stride;
    for (let r = d; r < e; r++) {
      if (!nan || load<f32>(first) == load<f32>(first)) {
        let f = aurocFine(load<u32>(at));
        addCell(base, (f >>> 4) << 2, (1 << A_COUNT_SHIFT) | (f & (A_Q - 1)), full, lp, 0, 0);
      }
      at += stride;
      first += stride;
    }
    d = e;
  }
  store<i32>(lp, d, 4);
}

// aurocClassBins: one class's non-empty cells, compactly, for the reports at the end of a run (AUROC,
// average precision and the encoded statistics each walk a class's bins; walking all 16,386, each
// cell unpacked in JS, was ~1.2 s of a 1000-class score).
// Algorithm: sixteen cells at a time tested zero with one v128.or of four loads and any_true (a
// class's empty cells come in long runs: below 2^-41, between the octaves a class's p_k reaches),
// then four at a time, then the cells one by one; each non-zero cell becomes (bin, rows, position
// sum) — three u32, the cell unpacked — in bin order. Spilled side counts live in the engine's
// JavaScript (AurocHistogram) and are folded in there.
// Cost (one thread, the 200k × 1000 bench file, ~3300 non-empty cells a class, profile of a whole
// score on a loaded machine): 0.059 s for 3000 calls (three readers × 1000 classes), ≈ 20 µs a
// class, 1.2 ns a cell. Main's profile of the same run: #expand 0.29 s (≈ 100 µs a class and reader)
// and the readers' walks over every bin 0.9 s, where the readers now take ~0.3 s over the triples.
/**
 * Class cells [0, n) at cellsPtr (packed: rows << 18 | position sum) → (bin, rows, position sum)
 * triples at outPtr (room for 3·n u32), ascending; returns the triples written.
 */
export function aurocClassBins(cellsPtr: usize, n: i32, outPtr: usize): i32 {
  let m: usize = 0;
  let b = 0;
  for (; b + 16 <= n; b += 16) {
    let at = cellsPtr + (<usize>b << 2);
    let any = v128.or(v128.or(v128.load(at), v128.load(at, 16)), v128.or(v128.load(at, 32), v128.load(at, 48)));
    if (!v128.any_true(any)) continue;
    for (let j = 0; j < 16; j += 4) {
      if (!v128.any_true(v128.load(at + (<usize>j << 2)))) continue;
      for (let i = j; i < j + 4; i++) m = putBin(outPtr, m, b + i, load<u32>(at + (<usize>i << 2)));
    }
  }
  for (; b < n; b++) m = putBin(outPtr, m, b, load<u32>(cellsPtr + (<usize>b << 2)));
  return <i32>m;
}

/** Writes cell value v of bin b as the m-th triple when it is not empty; the triples written after. */
// @ts-ignore: decorator
@inline
function putBin(outPtr: usize, m: usize, b: i32, v: u32): usize {
  if (v == 0) return m;
  let o = outPtr + m * 12;
  store<u32>(o, <u32>b);
  store<u32>(o, v >>> A_COUNT_SHIFT, 4);
  store<u32>(o, v & ((1 << A_COUNT_SHIFT) - 1), 8);
  return m + 1;
}

// ---- Row summaries ----------------------------------------------------------------------------------
//
// scoreRowsChunk + scoreRowsFinish: every per-row and per-element sum of `logitkit score`'s summary
// (src/metrics/summary.ts reads them) for a block, given the engine's own p = softmax(x/T),
// lp = logSoftmax(x/T) and pred = argmax(x). Per row: NLL = −lp_y, hit = [pred = y], top-k hit (the
// rank of y in x by SEMANTICS §8's order: NaN above +inf, ties to the lower index — y is in the top k
// iff fewer than k classes rank above it, counted with one f32x4 compare per 4 classes), confidence
// p_pred into 15-style equal-width bins and 2^14 fine bins, Brier Σp² − 2p_y + 1, entropy −Σ p lp
// (0·log 0 = 0), per class support / hits / predictions / Σ p / Σ x, and the classwise bins of every
// p_k (bin indices four at a time in f64x2, exact like binOf; the adds themselves are a scatter).
// Per-row hit, NLL and confidence are written out for the bootstrap, groups and selective prediction.
// scoreLogitsChunk is the same from the logits alone: it makes p, lp and pred of each batch of a chunk
// in L1 with the bits of the softmax, logSoftmax and argmax kernels (no whole-block passes for them;
// long rows at T = 1 take pred from the softmax's own row max).
//
// Threads without thread-dependent results: the block is cut into fixed chunks of chunkRows rows
// (the engine picks chunkRows from classes and bins only). scoreRowsChunk does the O(classes) work of
// one chunk — the per-row sums and every per-class sum — into that chunk's own slot of partial sums,
// on whichever thread claims it; scoreRowsFinish then adds the slots to the state in chunk order and
// does the O(1)-per-row scatters (bins, support, predictions) row by row on one thread. One thread
// runs the same chunks, so the sums are identical for every thread count.
// Every product is exact in float64 (float32 operands), so the only difference from the JS reference
// (backends/js-score.ts, which chunks the same way) is the order of Σp² and Σ p·lp inside a row (two
// f64x2 lanes) and of the classwise bin-0 Σ p: ≈ 1e-16 relative; every count is identical.
// State (f64): rows, relNaN, classwiseNaN, Σnll, correct, topk, Σbrier, Σentropy; reliability
// count/conf/correct [bins]; fine count/conf/correct [2^14]; support, classCorrect, predicted, Σp, Σx
// [classes]; classwise count/Σp/positives [classes · bins].
// Slot of a chunk (f64): Σnll, topk, Σbrier, Σentropy; Σp, Σx [classes]; classwise count/Σp
// [classes · bins]; then bin 0's rows and Σ p per class (counted in lanes, folded into the classwise
// cells at the chunk's end).

import { softmax, logSoftmax } from './softmax';
import { rowMax, expSumRow, mapRow, divideByTemperature } from './rows';
import { argmax, argmaxRow, argmaxRowOfMax } from './select';
import { SHORT_ROW_MAX_CLASSES } from '../lanes';

// @ts-ignore: decorator
@inline const FINE: i32 = 1 << 14;

// @ts-ignore: decorator
@inline
function addTo(p: usize, v: f64): void {
  store<f64>(p, load<f64>(p) + v);
}

/** Classes of the row at xr that rank above class y (SEMANTICS §8 top-k order). */
// @ts-ignore: decorator
@inline
function rankAbove(xr: usize, classes: i32, y: i32): i32 {
  let xy = load<f32>(xr + (<usize>y << 2));
  let n = 0;
  if (xy != xy) {
    // only an earlier NaN ranks above a NaN
    for (let j = 0; j < y; j++) {
      let v = load<f32>(xr + (<usize>j << 2));
      if (v != v) n++;
    }
    return n;
  }
  // j < y ranks above iff !(x_j < x_y) (ties and NaN); j > y iff !(x_j <= x_y); j = y never.
  let yv = f32x4.splat(xy);
  let ys = i32x4.splat(y);
  let cnt = i32x4.splat(0);
  let j = 0;
  for (; j + 4 <= classes; j += 4) {
    let v = v128.load(xr + (<usize>j << 2));
    let below = i32x4.lt_s(i32x4.add(i32x4.splat(j), i32x4(0, 1, 2, 3)), ys);
    let notAbove = v128.bitselect(f32x4.lt(v, yv), f32x4.le(v, yv), below);
    cnt = i32x4.add(cnt, v128.not(notAbove)); // −1 per lane above
  }
  n = -(i32x4.extract_lane(cnt, 0) + i32x4.extract_lane(cnt, 1) + i32x4.extract_lane(cnt, 2) + i32x4.extract_lane(cnt, 3));
  for (; j < classes; j++) {
    let v = load<f32>(xr + (<usize>j << 2));
    if (j < y ? !(v < xy) : j > y && !(v <= xy)) n++;
  }
  return n;
}

/** float64 values of one chunk's partial sums (layout above). */
// @ts-ignore: decorator
@inline
function rowSlotLength(classes: i32, bins: i32): usize {
  return 4 + 4 * <usize>classes + 2 * <usize>classes * <usize>bins;
}

/** f64 values of one chunk's slot: 4 + 2·classes for a block of one chunk (`direct`), else rowSlotLength. */
function slotLength(classes: i32, bins: i32, direct: bool): usize {
  if (direct) return 4 + 2 * <usize>classes;
  return rowSlotLength(classes, bins);
}

/**
 * Bytes of one chunk's region of scoreRowsChunk's scratch: its slot (4 + 2·classes f64 for a block of
 * one chunk, `direct`), then one i32 per row for scoreRowsFinish (the row's classwise-positives cell,
 * −1 for a NaN softmax row, so the finishing pass does not go back to p), rounded to 16 bytes; with
 * `fused` (scoreLogitsChunk), then room for a batch of lp and of p (fusedBatchRows rows each) and
 * two f32 a row of the batch (m, log s).
 */
export function scoreRowsRegionBytes(classes: i32, bins: i32, chunkRows: i32, direct: bool, fused: bool): i32 {
  let slot = slotLength(classes, bins, direct);
  let bytes = ((slot << 3) + (<usize>chunkRows << 2) + 15) & ~15;
  if (fused) bytes += 2 * <usize>fusedBatchRows(classes) * (<usize>classes << 2) + (<usize>fusedBatchRows(classes) << 3);
  return <i32>bytes;
}

/** Byte offset of Σp in the state (Σx, the classwise count and Σp follow it, as in a slot). */
// @ts-ignore: decorator
@inline
function stateProbSum(classes: i32, bins: i32): usize {
  return (8 + 3 * <usize>bins + 3 * <usize>FINE + 3 * <usize>classes) << 3;
}

/**
 * Rows of one batch of scoreLogitsChunk: ≈ 2048 values (8 KiB of x, of p and of lp), so the
 * softmax, log-softmax and argmax passes over a batch and the row sums after them read it from L1.
 */
// @ts-ignore: decorator
@inline
function fusedBatchRows(classes: i32): i32 {
  return classes >= 2048 ? 1 : 2048 / classes;
}

/**
 * Rows [r0, r1) of a chunk into its slot (Σnll, topk, Σbrier, Σentropy at slot .. slot + 24, added to
 * in row order, so a chunk taken in several spans sums the same bits) and per-class sums; the
 * per-row hit, nll, conf and classwise cell. Pointers are the block's (row 0); see scoreRowsChunk.
 * `shifted` (a constant): lpPtr holds z = x / T, and shiftPtr each row's m and f32(log s) (two f32),
 * so lp = (z − m) − log s is made in registers, log_softmax's own two f32 subtractions.
 */
// @ts-ignore: decorator
@inline
function scoreRowSpan(
  r0: i32, r1: i32, xPtr: usize, pPtr: usize, lpPtr: usize, labelsPtr: usize, predPtr: usize, classes: i32, bins: i32, k: i32,
  slot: usize, cells: usize, probSum: usize, cw0Count: usize, hitPtr: usize, nllPtr: usize, confPtr: usize, shifted: bool, shiftPtr: usize,
  pyPtr: usize,
): void {
  let C = <usize>classes;
  let M = <usize>bins;
  let logitSum = probSum + (C << 3);
  let cwCount = logitSum + (C << 3);
  let cwProb = cwCount + ((C * M) << 3);
  let cw0Prob = cw0Count + (C << 3);
  let nll = load<f64>(slot), topk = load<f64>(slot, 8), brier = load<f64>(slot, 16), ent = load<f64>(slot, 24);
  let stride = C << 2;
  let fM = <f64>bins;
  let fMv = f64x2.splat(fM);
  let mLast = i32x4.splat(bins - 1);
  let zero4 = i32x4.splat(0);
  let negInf = f64x2.splat(-Infinity);
  for (let r = r0; r < r1; r++) {
    let o = <usize>r * stride;
    let xr = xPtr + o;
    let pr = pPtr + o;
    let lr = lpPtr + o;
    let y = load<i32>(labelsPtr + (<usize>r << 2));
    let c = load<i32>(predPtr + (<usize>r << 2));
    let m: f32 = 0, ls: f32 = 0;
    if (shifted) {
      m = load<f32>(shiftPtr + (<usize>r << 3));
      ls = load<f32>(shiftPtr + (<usize>r << 3), 4);
    }
    let mv = f32x4.splat(m), lsv = f32x4.splat(ls);
    let l = -<f64>(shifted ? (load<f32>(lr + (<usize>y << 2)) - m) - ls : load<f32>(lr + (<usize>y << 2)));
    nll += l;
    store<f64>(nllPtr + (<usize>r << 3), l);
    store<u8>(hitPtr + <usize>r, <u8>(c == y));
    topk += k == 1 ? <f64>(c == y) : rankAbove(xr, classes, y) < k ? 1 : 0;
    store<f32>(confPtr + (<usize>r << 2), load<f32>(pr + (<usize>c << 2)));
    let classwise = load<f32>(pr) == load<f32>(pr); // softmax rows are NaN all together
    let pyf = load<f32>(pr + (<usize>y << 2));
    // p_y's bits for the AUROC positives: read here from L1, where reading them from the block after
    // the histogram's sweep was a cache miss per row
    if (pyPtr != 0) store<f32>(pyPtr + (<usize>r << 2), pyf);
    let py = <f64>pyf;
    store<i32>(cells + (<usize>r << 2), classwise ? y * bins + (py != py ? 0 : binOf(py, bins)) : -1);
    let sq0 = f64x2.splat(0), sq1 = f64x2.splat(0), h0 = f64x2.splat(0), h1 = f64x2.splat(0);
    let j = 0;
    for (; j + 4 <= classes; j += 4) {
      let jo = <usize>j << 2;
      let pv = v128.load(pr + jo);
      let lv = shifted ? f32x4.sub(f32x4.sub(v128.load(lr + jo), mv), lsv) : v128.load(lr + jo);
      let xv = v128.load(xr + jo);
      let p0 = f64x2.promote_low_f32x4(pv);
      let p1 = f64x2.promote_low_f32x4(v128.shuffle<i32>(pv, pv, 2, 3, 0, 1));
      let l0 = f64x2.promote_low_f32x4(lv);
      let l1 = f64x2.promote_low_f32x4(v128.shuffle<i32>(lv, lv, 2, 3, 0, 1));
      sq0 = f64x2.add(sq0, f64x2.mul(p0, p0));
      sq1 = f64x2.add(sq1, f64x2.mul(p1, p1));
      // 0·log 0 = 0: a term whose lp is −inf adds nothing (and not the NaN of 0 · −inf)
      h0 = f64x2.sub(h0, v128.andnot(f64x2.mul(p0, l0), f64x2.eq(l0, negInf)));
      h1 = f64x2.sub(h1, v128.andnot(f64x2.mul(p1, l1), f64x2.eq(l1, negInf)));
      let ps = probSum + (<usize>j << 3);
      v128.store(ps, f64x2.add(v128.load(ps), p0));
      v128.store(ps, f64x2.add(v128.load(ps, 16), p1), 16);
      let ls = logitSum + (<usize>j << 3);
      v128.store(ls, f64x2.add(v128.load(ls), f64x2.promote_low_f32x4(xv)));
      v128.store(ls, f64x2.add(v128.load(ls, 16), f64x2.promote_low_f32x4(v128.shuffle<i32>(xv, xv, 2, 3, 0, 1))), 16);
      if (classwise) {
        let b0 = i32x4.trunc_sat_f64x2_s_zero(f64x2.ceil(f64x2.mul(p0, fMv)));
        let b1 = i32x4.trunc_sat_f64x2_s_zero(f64x2.ceil(f64x2.mul(p1, fMv)));
        let b = i32x4.sub(v128.shuffle<i32>(b0, b1, 0, 1, 4, 5), i32x4.splat(1));
        b = i32x4.min_s(i32x4.max_s(b, zero4), mLast);
        let zero = i32x4.eq(b, zero4); // −1 in the lanes of bin 0
        let zc = cw0Count + (<usize>j << 3);
        v128.store(zc, f64x2.sub(v128.load(zc), f64x2.convert_low_i32x4_s(zero)));
        v128.store(zc, f64x2.sub(v128.load(zc, 16), f64x2.convert_low_i32x4_s(v128.shuffle<i32>(zero, zero, 2, 3, 0, 1))), 16);
        let zp = cw0Prob + (<usize>j << 3);
        v128.store(zp, f64x2.add(v128.load(zp), v128.and(p0, i64x2.extend_low_i32x4_s(zero))));
        v128.store(zp, f64x2.add(v128.load(zp, 16), v128.and(p1, i64x2.extend_high_i32x4_s(zero))), 16);
        if (!i32x4.all_true(zero)) {
          let base = <usize>j * M;
          let b0 = <usize>i32x4.extract_lane(b, 0);
          let b1 = <usize>i32x4.extract_lane(b, 1);
          let b2 = <usize>i32x4.extract_lane(b, 2);
          let b3 = <usize>i32x4.extract_lane(b, 3);
          if (b0 != 0) {
            addTo(cwCount + ((base + b0) << 3), 1);
            addTo(cwProb + ((base + b0) << 3), f64x2.extract_lane(p0, 0));
          }
          if (b1 != 0) {
            addTo(cwCount + ((base + M + b1) << 3), 1);
            addTo(cwProb + ((base + M + b1) << 3), f64x2.extract_lane(p0, 1));
          }
          if (b2 != 0) {
            addTo(cwCount + ((base + 2 * M + b2) << 3), 1);
            addTo(cwProb + ((base + 2 * M + b2) << 3), f64x2.extract_lane(p1, 0));
          }
          if (b3 != 0) {
            addTo(cwCount + ((base + 3 * M + b3) << 3), 1);
            addTo(cwProb + ((base + 3 * M + b3) << 3), f64x2.extract_lane(p1, 1));
          }
        }
      }
    }
    let sq = f64x2.extract_lane(sq0, 0) + f64x2.extract_lane(sq0, 1) + f64x2.extract_lane(sq1, 0) + f64x2.extract_lane(sq1, 1);
    let h = f64x2.extract_lane(h0, 0) + f64x2.extract_lane(h0, 1) + f64x2.extract_lane(h1, 0) + f64x2.extract_lane(h1, 1);
    for (; j < classes; j++) {
      let jo = <usize>j << 2;
      let pj = <f64>load<f32>(pr + jo);
      let lj = <f64>(shifted ? (load<f32>(lr + jo) - m) - ls : load<f32>(lr + jo));
      sq += pj * pj;
      if (lj != -Infinity) h -= pj * lj;
      addTo(probSum + (<usize>j << 3), pj);
      addTo(logitSum + (<usize>j << 3), <f64>load<f32>(xr + jo));
      if (classwise) {
        let cell = (<usize>j * M + <usize>(pj != pj ? 0 : binOf(pj, bins))) << 3;
        addTo(cwCount + cell, 1);
        addTo(cwProb + cell, pj);
      }
    }
    brier += sq - 2 * py + 1;
    ent += h;
  }
  store<f64>(slot, nll);
  store<f64>(slot + 8, topk);
  store<f64>(slot + 16, brier);
  store<f64>(slot + 24, ent);
}

/**
 * The per-element part of rows [begin, end) of a block, one fixed chunk (begin a multiple of
 * chunkRows, end − begin ≤ chunkRows): its partial sums go to slot begin / chunkRows of `slots`
 * (zeroed here first), so chunks may run on any thread in any order. A block of one chunk (rows ≤
 * chunkRows: wide rows) passes its state: the per-class sums then add to it directly and the slot
 * holds only the row sums and the bin-0 lanes, so a wide row's C · bins cells are not zeroed and
 * folded once per block; 0 otherwise. x, p, lp: the block's rows ×
 * classes f32 (base pointers, row 0); labels and pred: i32 per row (in [0, classes), checked by the
 * engine); k: the top-k of the accuracy (1 … classes). Writes hit (u8), nll (f64) and conf (f32) of
 * its rows.
 */
export function scoreRowsChunk(
  xPtr: usize, pPtr: usize, lpPtr: usize, labelsPtr: usize, predPtr: usize, begin: i32, end: i32, classes: i32, bins: i32, k: i32,
  chunkRows: i32, slotsPtr: usize, statePtr: usize, hitPtr: usize, nllPtr: usize, confPtr: usize,
): void {
  scoreChunk(xPtr, pPtr, lpPtr, labelsPtr, predPtr, begin, end, classes, 1.0, bins, k, chunkRows, slotsPtr, statePtr, hitPtr, nllPtr, confPtr, 0, false);
}

/**
 * scoreRowsChunk from the logits alone: per batch of fusedBatchRows rows (in L1), p = softmax(x/T)
 * (into `p`, or the chunk's scratch when pPtr is 0), lp = logSoftmax(x/T) and pred = argmax(x)
 * (written out) with the bits of the three whole-block ops — short rows by the softmax and
 * logSoftmax kernels themselves on the batch (a row's bits do not depend on where it sits in a
 * batch: kernels/rows.ts; lp in the chunk's scratch), long rows by their row reducer's steps with one
 * exp pass for both and lp made in the row sums' registers, and at T = 1 pred from the same pass (the
 * first index of the row max, read up to it; argmax's own scan only for a row whose Σ exp is NaN) —
 * then the row sums of the batch. `slots`: chunks × scoreRowsRegionBytes(…, fused = true). Saves the
 * block's three passes through memory (and lp's whole-block buffer), and runs them on the pool with
 * the chunk. Measured (bench/score-fused-ab.js, 4 MiB blocks, one thread, loaded machine, medians of
 * 15 interleaved rounds): the block step takes 1.40x less CPU than the three ops and scoreRowsChunk at
 * 100 classes (1.24x at T = 0.7, where argmax still reads x), 1.59x at 1000; pred from the row max
 * alone made it 1.13-1.15x (100 classes) and 1.12-1.27x (1000) cheaper than argmax's separate scan
 * (two runs, `--base` a checkout without it); a whole `score --threads 1` of 3M x 100 rows, 0.98-1.13x
 * in three runs of bench/score-ab.js (≈ 0.3 s of 8 s CPU: below this machine's noise).
 */
export function scoreLogitsChunk(
  xPtr: usize, pPtr: usize, labelsPtr: usize, predPtr: usize, begin: i32, end: i32, classes: i32, temperature: f64, bins: i32, k: i32,
  chunkRows: i32, slotsPtr: usize, statePtr: usize, hitPtr: usize, nllPtr: usize, confPtr: usize, pyPtr: usize,
): void {
  scoreChunk(xPtr, pPtr, 0, labelsPtr, predPtr, begin, end, classes, temperature, bins, k, chunkRows, slotsPtr, statePtr, hitPtr, nllPtr, confPtr, pyPtr, true);
}

/** scoreRowsChunk (p, lp and pred given) or, `fused`, scoreLogitsChunk (made here from x). */
// @ts-ignore: decorator
@inline
function scoreChunk(
  xPtr: usize, pPtr: usize, lpPtr: usize, labelsPtr: usize, predPtr: usize, begin: i32, end: i32, classes: i32, temperature: f64, bins: i32, k: i32,
  chunkRows: i32, slotsPtr: usize, statePtr: usize, hitPtr: usize, nllPtr: usize, confPtr: usize, pyPtr: usize, fused: bool,
): void {
  let direct = statePtr != 0;
  let slot = chunkSlot(classes, bins, chunkRows, begin, slotsPtr, direct, fused);
  let cells = slot + (slotLength(classes, bins, direct) << 3) - (<usize>begin << 2); // indexed by the block's row
  let probSum = chunkProbSum(classes, bins, slot, statePtr);
  let cw0Count = chunkBin0(classes, bins, slot, statePtr);
  if (!fused) {
    scoreRowSpan(begin, end, xPtr, pPtr, lpPtr, labelsPtr, predPtr, classes, bins, k, slot, cells, probSum, cw0Count, hitPtr, nllPtr, confPtr, false, 0, pyPtr);
    foldBin0(classes, bins, probSum, cw0Count);
    return;
  }
  let stride = <usize>classes << 2;
  let batch = fusedBatchRows(classes);
  let lpBuf = slot + <usize>scoreRowsRegionBytes(classes, bins, chunkRows, direct, false);
  let pBuf = lpBuf + <usize>batch * stride;
  let shiftBuf = pBuf + <usize>batch * stride;
  for (let r0 = begin; r0 < end; r0 += batch) {
    let n = min(batch, end - r0);
    let at = <usize>r0 * stride;
    // p and lp of the batch, based so that row r of the block is at base + r · stride
    let pBase = pPtr != 0 ? pPtr : pBuf - at;
    let lpBase = lpBuf - at;
    if (classes > SHORT_ROW_MAX_CLASSES) {
      // Long rows as softmax.ts takes them, both ops from one max and one exp pass: e = exp(z − m) into
      // p, scaled by 1/s (softmax's last pass), and m and f32(log s) kept per row for lp = (z − m) − log s
      // in the row sums' registers (log_softmax's two f32 subtractions): their bits, with one exp per
      // value instead of two and lp never stored. z = x / T goes to lp's buffer first (x itself at T = 1).
      let zBase = xPtr + at;
      if (temperature != 1.0) {
        divideByTemperature(xPtr + at, <usize>n * <usize>classes, temperature, lpBuf);
        zBase = lpBuf;
      }
      // At T = 1, z is x and pred comes from this pass: the row max m is argmax's maximum unless the
      // row has a NaN, and then Σ exp(z − m) is NaN (the exp keeps NaN; so does ±inf − ±inf when m is
      // ±inf), so a NaN sum sends the row to argmax's own scan and any other row takes the first index
      // of m, read from L1 only up to it (select.ts argmaxRowOfMax). At T ≠ 1, z's ties and order
      // need not be x's, so argmax reads x.
      let folded = temperature == 1.0;
      for (let i = 0; i < n; i++) {
        let zr = zBase + <usize>i * stride;
        let pr = pBase + at + <usize>i * stride;
        let m = rowMax(zr, classes, false, 1.0);
        let sum = expSumRow(zr, pr, classes, m, true, false, 1.0);
        mapRow(pr, classes, <f32>(1.0 / sum), false);
        store<f32>(shiftBuf + (<usize>i << 3), m);
        store<f32>(shiftBuf + (<usize>i << 3), <f32>Math.log(sum), 4);
        if (folded) {
          store<i32>(predPtr + (<usize>(r0 + i) << 2), sum == sum ? argmaxRowOfMax(zr, classes, m) : argmaxRow(zr, classes));
        }
      }
      if (!folded) argmax(xPtr + at, n, classes, predPtr + (<usize>r0 << 2));
      scoreRowSpan(r0, r0 + n, xPtr, pBase, zBase - at, labelsPtr, predPtr, classes, bins, k, slot, cells, probSum, cw0Count, hitPtr, nllPtr, confPtr, true, shiftBuf - (<usize>r0 << 3), pyPtr);
    } else {
      softmax(xPtr + at, n, classes, temperature, pBase + at);
      logSoftmax(xPtr + at, n, classes, temperature, lpBuf);
      argmax(xPtr + at, n, classes, predPtr + (<usize>r0 << 2));
      scoreRowSpan(r0, r0 + n, xPtr, pBase, lpBase, labelsPtr, predPtr, classes, bins, k, slot, cells, probSum, cw0Count, hitPtr, nllPtr, confPtr, false, 0, pyPtr);
    }
  }
  foldBin0(classes, bins, probSum, cw0Count);
}

/** The chunk's slot (zeroed) in its region of the scratch. */
// @ts-ignore: decorator
@inline
function chunkSlot(classes: i32, bins: i32, chunkRows: i32, begin: i32, slotsPtr: usize, direct: bool, fused: bool): usize {
  let slot = slotsPtr + <usize>(begin / chunkRows) * <usize>scoreRowsRegionBytes(classes, bins, chunkRows, direct, fused);
  memory.fill(slot, 0, slotLength(classes, bins, direct) << 3);
  return slot;
}

/** Where a chunk adds its Σp (Σx, the classwise count and Σp follow): the state's for a direct block. */
// @ts-ignore: decorator
@inline
function chunkProbSum(classes: i32, bins: i32, slot: usize, statePtr: usize): usize {
  return statePtr != 0 ? statePtr + stateProbSum(classes, bins) : slot + 32;
}

/**
 * Per class, the chunk's rows whose p_k falls in bin 0 (most p_k of a wide softmax), then their Σ p:
 * counted in f64x2 lanes beside Σ p, not scattered, and folded into the bin-0 cells by foldBin0.
 */
// @ts-ignore: decorator
@inline
function chunkBin0(classes: i32, bins: i32, slot: usize, statePtr: usize): usize {
  if (statePtr != 0) return slot + 32;
  let C = <usize>classes;
  return slot + 32 + ((2 * C + 2 * C * <usize>bins) << 3);
}

// @ts-ignore: decorator
@inline
function foldBin0(classes: i32, bins: i32, probSum: usize, cw0Count: usize): void {
  let C = <usize>classes;
  let M = <usize>bins;
  let cwCount = probSum + ((2 * C) << 3);
  let cwProb = cwCount + ((C * M) << 3);
  let cw0Prob = cw0Count + (C << 3);
  for (let k: usize = 0; k < C; k++) {
    addTo(cwCount + ((k * M) << 3), load<f64>(cw0Count + (k << 3)));
    addTo(cwProb + ((k * M) << 3), load<f64>(cw0Prob + (k << 3)));
  }
}

/**
 * Ends a block of `rows` rows after scoreRowsChunk (or scoreLogitsChunk: `fused`) ran on each of its `chunks` chunks: adds the
 * chunks' partial sums to the state in chunk order (so the sums do not depend on which thread ran
 * which chunk), then the per-row counts and bins from the rows' labels, pred, hit, conf and the classwise cells
 * the chunks left in their regions:
 * support, hits and predictions per class, the equal-width and fine confidence bins and the
 * classwise positives, row by row as the reference does — O(rows), on one thread.
 */
export function scoreRowsFinish(
  labelsPtr: usize, predPtr: usize, hitPtr: usize, confPtr: usize, rows: i32, classes: i32, bins: i32, chunkRows: i32, chunks: i32,
  direct: bool, fused: bool, slotsPtr: usize, statePtr: usize,
): void {
  let C = <usize>classes;
  let M = <usize>bins;
  let relCount = statePtr + 64;
  let relConf = relCount + (M << 3);
  let relCorrect = relConf + (M << 3);
  let fineCount = relCorrect + (M << 3);
  let fineConf = fineCount + (<usize>FINE << 3);
  let fineCorrect = fineConf + (<usize>FINE << 3);
  let support = fineCorrect + (<usize>FINE << 3);
  let classCorrect = support + (C << 3);
  let predicted = classCorrect + (C << 3);
  let probSum = predicted + (C << 3);
  let cwCount = probSum + ((2 * C) << 3);
  let cwPos = cwCount + ((2 * C * M) << 3);
  let slotBytes = slotLength(classes, bins, direct) << 3;
  let regionBytes = <usize>scoreRowsRegionBytes(classes, bins, chunkRows, direct, fused);
  for (let s = 0; s < chunks; s++) {
    let slot = slotsPtr + <usize>s * regionBytes;
    addTo(statePtr + 24, load<f64>(slot));
    addTo(statePtr + 40, load<f64>(slot, 8));
    addTo(statePtr + 48, load<f64>(slot, 16));
    addTo(statePtr + 56, load<f64>(slot, 24));
    if (direct) continue; // the chunk added its per-class sums to the state itself
    addF64s(probSum, slot + 32, 2 * C); // Σ p, Σ x
    addF64s(cwCount, slot + 32 + ((2 * C) << 3), 2 * C * M); // classwise count, Σ p
  }
  let correct = 0.0, relNan = 0.0, cwNan = 0.0;
  for (let r = 0; r < rows; r++) {
    let y = <usize>load<i32>(labelsPtr + (<usize>r << 2));
    let c = <usize>load<i32>(predPtr + (<usize>r << 2));
    let hit = <f64>load<u8>(hitPtr + <usize>r);
    correct += hit;
    addTo(classCorrect + (y << 3), hit);
    addTo(support + (y << 3), 1);
    addTo(predicted + (c << 3), 1);
    let conf = <f64>load<f32>(confPtr + (<usize>r << 2));
    if (conf != conf) relNan += 1;
    else {
      let b = <usize>binOf(conf, bins) << 3;
      addTo(relCount + b, 1);
      addTo(relConf + b, conf);
      addTo(relCorrect + b, hit);
      let f = <usize>binOf(conf, FINE) << 3;
      addTo(fineCount + f, 1);
      addTo(fineConf + f, conf);
      addTo(fineCorrect + f, hit);
    }
    let chunk = <usize>(r / chunkRows);
    let cell = load<i32>(slotsPtr + chunk * regionBytes + slotBytes + (<usize>(r - <i32>chunk * chunkRows) << 2));
    if (cell < 0) cwNan += 1;
    else addTo(cwPos + (<usize>cell << 3), 1);
  }
  addTo(statePtr, <f64>rows);
  addTo(statePtr + 8, relNan);
  addTo(statePtr + 16, cwNan);
  addTo(statePtr + 32, correct);
}
