/**
 * One-vs-rest AUROC per class, streamed and mergeable.
 *
 * Exact AUROC of class k = (1 / (P·N)) Σ over (positive i, negative j) pairs of [s_i > s_j] + ½[s_i = s_j],
 * with s = p_k (softmax probability), positives the rows labelled k. It needs the order of all scores; a
 * stream keeps instead, per class, counts of positives and of negatives in AUROC_BINS bins of a monotone
 * transform of the float32 score, and the sums of their positions inside the bin (the next 4 mantissa
 * bits, 0 … 15). Pairs in different bins are ordered exactly; pairs sharing a bin are estimated from the
 * two kinds' mean positions (sameBin: exact when both densities are linear across the bin), where
 * counting them all ½ (the method before) is exact only when both kinds spread alike.
 *
 * Measured (test/auroc-many.test.ts and auroc-many-1000.test.ts, worst class against an exact sort):
 * 9.6e-6 at 100 classes, 3.0e-5 at 1000 classes × 20 positives a class (½-counting: 4.8e-5 and 1.07e-4); near-uniform models, whose
 * p_k crowd within a few per cent of 1/K into a handful of bins, are the hard case: 5.2e-5 (100 classes)
 * to 3.6e-4 (1000) when p_k spread over ±10%, up to 4.7e-3 when all lie within ±0.5% — there the
 * reported errorBound (a true worst case from the same sums) is above 1e-3 and says so.
 *
 * Where resolution is needed: positives crowd near p = 1 and negatives near p = 0, so the bins are
 * logarithmic at both ends. For p < ½ the bin is the float32 exponent and the top AUROC_MANTISSA_BITS
 * bits of the mantissa of p (relative width 2^-8), from p = 2^-41 (below: one bin, with p = 0); for
 * p ≥ ½ the same of 1 − p, which float32 holds exactly there (d = 2^24·(1 − p) is an integer), down to
 * the last float32 below 1; p = 1 has its own bin. So every float32 score in [2^-41, 1] is placed to
 * 0.4% relative width in p or 1 − p (positions to 1/16 of that), and equal scores always share a bin and
 * a position (ties stay ties).
 *
 * Counting: the histogram of all rows' p_k is the engine's (lk.aurocHistogram: a wasm kernel, one
 * packed u32 cell per class and bin in wasm memory, exact side counts for the few cells that fill),
 * read here one class at a time, its non-empty bins only (classBins: a kernel skips the empty cells),
 * while it holds every row, taken out into this object's cells only when shards are merged or a
 * histogram fills; the positives stay here, counted from each row's p_y as the row pass hands it out.
 *
 * Memory (the bins stay those above; only their storage is compact): per class the engine's 64 KiB
 * of packed cells (rows and position sum of every bin; src/accumulators.ts AurocHistogram), one class
 * expanded at a time for reading (128 KiB), and the positives' counts and position sums in pages of
 * 256 bins allocated when a positive first lands in one (4 KiB each; positives of a class crowd into
 * a few octaves). The negatives' figures are all − positives. So 1000 classes take 63.5 MiB of engine
 * memory plus the pages (measured 35–50 MB at 20–100 positives a class) whatever the number of rows.
 * Statistics read from score files (merge) stay as their varints (about 6 bytes a non-empty bin), their
 * positives in the pages, summed one class at a time when read; counts that must be added to in place
 * (shards of one score, tests) are a Uint32 pair per bin instead (128 KiB a class, promoted to float64
 * once more than (2^32 − 1)/15 rows are counted). Above AUROC_MAX_CLASSES
 * (1024) classes AUROC is not kept (a 128k vocabulary would need 17 GB).
 */

import { LogitkitError } from '../errors.js';
import { AUROC_BINS, AUROC_POSITION_BITS, AUROC_Q, AUROC_RESOLUTION, AUROC_U32_ROWS, fineOfBits } from '../auroc-bins.js';
import type { AurocHistogram } from '../accumulators.js';
import { overlapped, type OverlapEngine } from './overlap.js';

export { AUROC_BINS, AUROC_MANTISSA_BITS, AUROC_MAX_CLASSES, AUROC_POSITION_BITS, AUROC_RESOLUTION, aurocBin, aurocFine } from '../auroc-bins.js';
const Q = AUROC_Q;
/** Positives' pages: 256 bins each, allocated on first use. */
const PAGE = 256;
const PAGES = Math.ceil(AUROC_BINS / PAGE);
const U32_MAX = 0xffffffff;

/** What the AUROC counts need of the engine. */
export interface AurocEngine extends OverlapEngine {
  aurocHistogram(classes: number): AurocHistogram;
}

/**
 * Pairs (positive above negative, ties ½) among pb positives and nb negatives sharing a bin, from the
 * sums of their positions (0 … Q − 1, each standing for the centre of its sub-bin): if both kinds'
 * densities are linear across the bin, P(neg < pos) = ½ + ū − v̄ exactly (ū, v̄ the mean positions as
 * fractions of the bin), so this is exact to first order in how the densities vary inside a bin, where
 * counting every pair ½ is exact only for equal densities. The estimate is clamped to what the sums
 * allow: pairs whose positions differ are ordered, so Σ(u − v) ≤ pairs ≤ pb·nb + Σ(u − v).
 * Returns the estimate and its worst-case error (never more than ½ pb·nb, the old bound).
 */
function sameBin(pb: number, pq: number, nb: number, nq: number): { pairs: number; bound: number } {
  // Σ over pairs of (u − v) in bins: nb·Σu − pb·Σv, positions (q + ½)/Q so the ½ cancels
  const diff = (nb * pq - pb * nq) / Q;
  const all = pb * nb;
  const lo = Math.max(0, diff);
  const hi = Math.min(all, all + diff);
  const pairs = Math.min(hi, Math.max(lo, 0.5 * all + diff));
  return { pairs, bound: Math.max(pairs - lo, hi - pairs) };
}

export interface AurocReport {
  /** Per class; null when the class has no positives or no negatives; NaN when a row's softmax was NaN. */
  perClass: (number | null)[];
  /** Unweighted mean over the classes with both positives and negatives (NaN if none). */
  macro: number;
  /** Mean weighted by support over the same classes. */
  weighted: number;
  /**
   * The largest, over classes, of a worst-case bound on |binned − exact AUROC|: pairs in one bin are the
   * only ones not ordered exactly, and per bin the estimate's distance to the farthest count the position
   * sums allow (at most ½ pos_b·neg_b), summed and divided by P·N. The real error is far smaller (measured
   * below 1e-4 on the hard cases of test/auroc.test.ts and test/auroc-many*.test.ts); it can approach the
   * bound only when scores of both kinds crowd, differently ordered, in bins of relative width 2^-8
   * (e.g. a near-uniform model whose p_k all lie within 1% of 1/K) — then this figure says so.
   */
  errorBound: number;
}

// Base64 by hand: metrics reach browser bundles, where Buffer does not exist.
const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

const B64_CODES = Uint8Array.from(B64, (c) => c.charCodeAt(0));

/** Bytes of bins encode() turns into base64 at a time (a multiple of 3). */
const ENCODE_PIECE = 3 << 18;

/**
 * Base64 of bytes[0, n) as ASCII bytes, into out (at least ⌈n / 3⌉ · 4 long; the part written is
 * returned): built as bytes and decoded to a string, where one is wanted, at once (UTF-8 decoding of
 * ASCII is the identity): appending 4-char pieces made a rope of millions of pieces at 100+ classes,
 * and String.fromCharCode over chunks with a charCodeAt per character took 0.5 s of a 3 s score at
 * 1000 classes (5× the table and TextDecoder here).
 */
function toBase64(bytes: Uint8Array, n: number, out: Uint8Array): Uint8Array {
  const T = B64_CODES;
  const full = n - (n % 3);
  let o = 0;
  for (let i = 0; i < full; i += 3) {
    const v = (bytes[i] << 16) | (bytes[i + 1] << 8) | bytes[i + 2];
    out[o] = T[v >>> 18];
    out[o + 1] = T[(v >>> 12) & 63];
    out[o + 2] = T[(v >>> 6) & 63];
    out[o + 3] = T[v & 63];
    o += 4;
  }
  if (full < n) {
    const v = (bytes[full] << 16) | (full + 1 < n ? bytes[full + 1] << 8 : 0);
    out[o] = T[v >>> 18];
    out[o + 1] = T[(v >>> 12) & 63];
    out[o + 2] = full + 1 < n ? T[(v >>> 6) & 63] : 61; // '='
    out[o + 3] = 61;
    o += 4;
  }
  return out.subarray(0, o);
}

/** Each base64 character's value, by its code. */
const B64_VALUES = new Uint8Array(128);
for (let i = 0; i < 64; i++) B64_VALUES[B64_CODES[i]] = i;

/** Decodes padded or unpadded base64 (the caller has checked the alphabet). */
function fromBase64(text: string): Uint8Array {
  const t = text.replace(/=+$/, '');
  const out = new Uint8Array(Math.floor((t.length * 3) / 4));
  let bits = 0;
  let acc = 0;
  let o = 0;
  for (let i = 0; i < t.length; i++) {
    acc = ((acc << 6) | B64_VALUES[t.charCodeAt(i)]) & 0xffffff;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[o++] = (acc >>> bits) & 255;
    }
  }
  return out.subarray(0, o);
}

export class AurocCounts {
  readonly classes: number;
  /**
   * At 2i, i = k · AUROC_BINS + b: the rows (positives and negatives of class k) whose p_k falls in bin
   * b; at 2i + 1 the sum of their positions in the bin (0 … 15 each). Side by side, so counting a row
   * touches one cache line (two separate arrays made the counting 2× slower than without positions).
   */
  private cellsNow: Uint32Array | Float64Array | null = null;
  /** The engine's histogram of the rows added since the last flush (their counts are not in cellsNow yet). */
  private core: AurocHistogram | null = null;
  /** Bins over all classes: K · AUROC_BINS. */
  private readonly size: number;
  /**
   * Positives of class k in bins [page · 256, page · 256 + 256), at [k · PAGES + page]: bin b's count
   * at 2 · (b mod 256) and the sum of its positions beside it (one cache line a positive: a row's
   * pages are rarely in cache after the histogram's sweep); absent when none.
   */
  private readonly posPages: (Float64Array | undefined)[];
  /**
   * Statistics added by addEncoded and not expanded into `cells` yet: their varints (encode()'s bytes),
   * whose positives are in the pages already. merge keeps them so, and reads them one class at a time
   * (classRead), so that merging shards of 1000 classes needs no 131 MB of cells per shard.
   */
  private pending: Uint8Array[] = [];
  /** Per pending stream, where classRead stopped: the next entry's byte offset and the last index read. */
  private cursors: { at: number; i: number }[] = [];
  /** Rows counted into `cells` (an upper bound on any one count: decides the promotion to float64). */
  private counted = 0;
  nanRows = 0;

  constructor(classes: number) {
    this.classes = classes;
    this.size = classes * AUROC_BINS;
    this.posPages = new Array<Float64Array | undefined>(classes * PAGES);
  }

  /** The counts, with the engine's histogram and the pending statistics added in first (allocated on first use). */
  private get cells(): Uint32Array | Float64Array {
    this.flush();
    this.cellsNow ??= new Uint32Array(2 * this.size);
    if (this.pending.length > 0) this.expandPending();
    return this.cellsNow;
  }

  private set cells(c: Uint32Array | Float64Array) {
    this.cellsNow = c;
  }

  /** Class k's counts read from the engine histogram (classCells): the class, its cells (2 per bin). */
  private classK = -1;
  private classBuf: Uint32Array | null = null;

  /** Set by classRead: the array holding class k's cells, and the index of its bin 0 there. */
  private readArr: Uint32Array | Float64Array = new Uint32Array(0);
  private readAt = 0;

  /**
   * Points readArr / readAt at class k's counts (no tuple: the per-bin readers call this 1.6 × 10^6
   * times at 100 classes): while the engine histogram
   * holds them all, class k expanded out of it alone (131 KB, kept until the next change; expanding
   * every class would take 131 MB at 1000 classes), else these cells in place.
   */
  private classRead(k: number): void {
    if (this.core && this.cellsNow === null && this.pending.length === 0) {
      if (this.classK !== k) {
        this.classBuf = this.core.classCells(k, this.classBuf ?? undefined);
        this.classK = k;
      }
      this.readArr = this.classBuf!;
      this.readAt = 0;
      return;
    }
    if (!this.core && this.cellsNow === null && this.pending.length > 0) {
      if (this.classK !== k) {
        this.pendingClass(k);
        this.classK = k;
      }
      this.readArr = this.pendingBuf!;
      this.readAt = 0;
      return;
    }
    this.readArr = this.cells;
    this.readAt = 2 * k * AUROC_BINS;
  }

  /** Forgets the class read from the engine histogram (its counts changed). */
  private stale(): void {
    this.classK = -1;
  }
  /** The engine histogram's triples of one class (classBins' scratch). */
  private triples: Uint32Array | null = null;
  /** The same made from cells in place (merge, tests): float64, as those cells may be. */
  private denseTriples: Float64Array | null = null;
  /** classBins' result (valid until the next call). */
  private binsOut: Float64Array | null = null;

  /**
   * Class k's non-empty bins as (bin, positives, negatives, positives' position sum, negatives'
   * position sum), five values a bin, ascending: what AUROC, average precision and encode() read (they
   * used to walk all AUROC_BINS bins of every class each, re-expanding the engine's cells: ~1.2 s of a
   * 1000-class score). While the engine histogram holds the counts its kernel hands out the non-empty
   * cells (AurocHistogram.classBins); else the cells are scanned here. Each reader reads a class
   * again: keeping every class's bins for the next reader held 17 MiB more at 100 classes (bench
   * files: ~3300 bins a class) and saved ~0.1 s. The array is this object's scratch, valid until the
   * next call: do not change or keep it.
   */
  classBins(k: number): Float64Array {
    let t: Uint32Array | Float64Array;
    let n: number;
    if (this.core && this.cellsNow === null && this.pending.length === 0) {
      t = this.core.classBins(k, (this.triples ??= new Uint32Array(3 * AUROC_BINS)));
      n = t.length / 3;
    } else {
      this.classRead(k);
      const cells = this.readArr;
      const c0 = this.readAt;
      t = this.denseTriples ??= new Float64Array(3 * AUROC_BINS);
      n = 0;
      for (let b = 0; b < AUROC_BINS; b++) {
        const a = cells[c0 + 2 * b];
        if (a === 0) continue;
        t[3 * n] = b;
        t[3 * n + 1] = a;
        t[3 * n + 2] = cells[c0 + 2 * b + 1];
        n++;
      }
    }
    // one scratch: a fresh array per class and reader was 400 MB of allocations at 1000 classes
    const out = (this.binsOut ??= new Float64Array(5 * AUROC_BINS)).subarray(0, 5 * n);
    for (let j = 0; j < n; j++) {
      const b = t[3 * j];
      const pg = this.posPages[k * PAGES + (b >>> 8)];
      const p = pg ? pg[2 * (b & (PAGE - 1))] : 0;
      const pq = pg ? pg[2 * (b & (PAGE - 1)) + 1] : 0;
      out[5 * j] = b;
      out[5 * j + 1] = p;
      out[5 * j + 2] = t[3 * j + 1] - p;
      out[5 * j + 3] = pq;
      out[5 * j + 4] = t[3 * j + 2] - pq;
    }
    return out;
  }

  /** Class k's counts summed over the pending statistics (float64: shards' sums may pass 2^32). */
  private pendingBuf: Float64Array | null = null;

  /**
   * Sums class k of every pending stream into pendingBuf, going on from where the last class stopped
   * (the readers go through the classes in order; an earlier class starts the streams over).
   */
  private pendingClass(k: number): void {
    const buf = (this.pendingBuf ??= new Float64Array(2 * AUROC_BINS));
    buf.fill(0);
    const start = k * AUROC_BINS;
    const end = start + AUROC_BINS;
    for (let s = 0; s < this.pending.length; s++) {
      const bytes = this.pending[s];
      const c = this.cursors[s];
      if (c.i >= start) {
        c.at = 0;
        c.i = -1;
      }
      const r = new VarintReader(bytes, c.at);
      while (r.at < bytes.length) {
        const at = r.at;
        const i = c.i + r.next();
        if (i >= end) {
          r.at = at; // the next class's: left for its read
          break;
        }
        const all = r.next() + r.next();
        const q = r.next() + r.next();
        c.i = i;
        if (i < start) continue;
        buf[2 * (i - start)] += all;
        buf[2 * (i - start) + 1] += q;
      }
      c.at = r.at;
    }
  }

  /** Adds the pending statistics into `cells` (called by its getter, cellsNow allocated). */
  private expandPending(): void {
    const streams = this.pending;
    this.pending = [];
    this.cursors = [];
    this.stale();
    for (const bytes of streams) {
      const r = new VarintReader(bytes, 0);
      let i = -1;
      while (r.at < bytes.length) {
        i += r.next();
        const all = r.next() + r.next();
        const q = r.next() + r.next();
        let c = this.cellsNow!;
        if (c[2 * i] + all > U32_MAX || c[2 * i + 1] + q > U32_MAX) {
          this.promote();
          c = this.cellsNow!;
        }
        c[2 * i] += all;
        c[2 * i + 1] += q;
        this.counted = Math.max(this.counted, c[2 * i]);
      }
    }
  }

  /** Moves the engine histogram's counts into these. */
  private flush(): void {
    const core = this.core;
    if (!core) return;
    this.core = null;
    this.stale();
    const rows = core.rows;
    const got = core.take();
    if (this.cellsNow === null) {
      this.cellsNow = got;
      this.reserve(rows);
      return;
    }
    this.reserve(rows);
    const c = this.cellsNow;
    for (let i = 0; i < got.length; i++) c[i] += got[i];
  }

  /** Bytes held by the counts (for the README's memory figure and its test). */
  get bytes(): number {
    let pages = 0;
    for (const pg of this.posPages) if (pg) pages++;
    return this.cells.byteLength + pages * 2 * PAGE * 8;
  }

  /** Positives at flat index i = k · AUROC_BINS + b. */
  pos(i: number): number {
    return this.posAt(i, 0);
  }

  /** Negatives at flat index i (all − positives). */
  neg(i: number): number {
    const k = Math.floor(i / AUROC_BINS);
    this.classRead(k); // one class at a time: expanding all would take 131 MB at 1000 classes
    return this.readArr[this.readAt + 2 * (i - k * AUROC_BINS)] - this.pos(i);
  }

  /** Sums of positions at flat index i: of the positives, and of the negatives. */
  positions(i: number): { pos: number; neg: number } {
    const k = Math.floor(i / AUROC_BINS);
    this.classRead(k);
    const p = this.posAt(i, 1);
    return { pos: p, neg: this.readArr[this.readAt + 2 * (i - k * AUROC_BINS) + 1] - p };
  }

  /** Positives (which = 0) or their position sum (1) at flat index i. */
  private posAt(i: number, which: number): number {
    const k = Math.floor(i / AUROC_BINS);
    const b = i - k * AUROC_BINS;
    const pg = this.posPages[k * PAGES + (b >>> 8)];
    return pg ? pg[2 * (b & (PAGE - 1)) + which] : 0;
  }

  /**
   * Adds p positives and n negatives at flat index i = k · AUROC_BINS + b, their positions summing to
   * pq and nq (merge statistics, tests).
   */
  addCount(i: number, p: number, n: number, pq = 0, nq = 0): void {
    this.stale();
    if (this.cells[2 * i] + p + n > U32_MAX || this.cells[2 * i + 1] + pq + nq > U32_MAX) this.promote();
    this.cells[2 * i] += p + n;
    this.cells[2 * i + 1] += pq + nq;
    // a bin's count bounds the rows behind it: `counted` stays an upper bound for later additions
    this.counted = Math.max(this.counted, this.cells[2 * i]);
    if (p !== 0) this.addPos(Math.floor(i / AUROC_BINS), i % AUROC_BINS, p, pq);
  }

  /** Dense copies of the positives' and negatives' counts (for inspection and tests; K · AUROC_BINS each). */
  dense(): { pos: Float64Array; neg: Float64Array; posQ: Float64Array; negQ: Float64Array } {
    const n = this.size;
    const [pos, neg, posQ, negQ] = [new Float64Array(n), new Float64Array(n), new Float64Array(n), new Float64Array(n)];
    const cells = this.cells;
    for (let i = 0; i < n; i++) {
      if (cells[2 * i] === 0) continue;
      pos[i] = this.pos(i);
      neg[i] = cells[2 * i] - pos[i];
      posQ[i] = this.posAt(i, 1);
      negQ[i] = cells[2 * i + 1] - posQ[i];
    }
    return { pos, neg, posQ, negQ };
  }

  private addPos(k: number, b: number, v: number, q: number): void {
    const at = k * PAGES + (b >>> 8);
    let pg = this.posPages[at];
    if (!pg) pg = this.posPages[at] = new Float64Array(2 * PAGE);
    const at2 = 2 * (b & (PAGE - 1));
    pg[at2] += v;
    pg[at2 + 1] += q;
  }

  private promote(): void {
    if (this.cells instanceof Uint32Array) this.cells = Float64Array.from(this.cells);
  }

  /**
   * Before counting `more` rows: a Uint32 count or position sum (up to 15 per row) could overflow
   * past (2^32 − 1) / 15 rows, so go float64.
   */
  private reserve(more: number): void {
    this.counted += more;
    if (this.counted * (Q - 1) > U32_MAX) this.promote();
  }

  /**
   * Makes the engine histogram ready for `rows` more rows (a full one is flushed, a new one allocated):
   * it may grow engine memory, so a caller holding p in engine memory calls this first and takes its
   * view of p afterwards.
   */
  prepare(lk: AurocEngine, rows: number): void {
    if (this.core && this.core.rows + rows > AUROC_U32_ROWS) this.flush();
    this.core ??= lk.aurocHistogram(this.classes);
  }

  /**
   * Adds rows of float32 probabilities p (rows × classes) with labels y: every row's p_k into class k's
   * histogram (the engine's, lk.aurocHistogram), and the labelled class's into its positives here.
   * py, when given, holds each row's p_y with p's bits (the row pass's out.py): read in row order, where
   * reading p_y out of the block after the histogram's sweep was a cache miss per row (0.5 s of a
   * 3M-row score), and the positives are then counted while the engine's threads fill the histogram
   * (lk.overlap), followed by `meanwhile` (the caller's own work: it may reuse labels and py, which are
   * not read after it). Without py, `meanwhile` runs after the positives, which need the histogram's
   * NaN count first. A row whose p_0 is NaN is skipped either way (a softmax row is NaN everywhere or
   * nowhere, so with py: p_y NaN).
   */
  addBlock(lk: AurocEngine, p: Float32Array, labels: Int32Array, py?: Float32Array, meanwhile: (() => void) | null = null): void {
    const K = this.classes;
    const R = labels.length;
    if (R === 0) {
      meanwhile?.();
      return;
    }
    if (py !== undefined && py.length !== R) throw new LogitkitError('shape_mismatch', `py holds ${py.length} values, expected one per row (${R})`, 'py');
    this.prepare(lk, R);
    this.stale();
    if (py) {
      const bits = new Uint32Array(py.buffer, py.byteOffset, R);
      const positives = (): void => {
        for (let r = 0; r < R; r++) {
          if (py[r] !== py[r]) continue;
          const f = fineOfBits(bits[r]);
          this.addPos(labels[r], f >>> AUROC_POSITION_BITS, 1, f & (Q - 1));
        }
        meanwhile?.();
      };
      this.nanRows += overlapped(lk, positives, () => this.core!.add(p.subarray(0, R * K)));
      return;
    }
    const nan = this.core!.add(p.subarray(0, R * K));
    this.nanRows += nan;
    const bits = new Uint32Array(p.buffer, p.byteOffset, R * K);
    for (let r = 0; r < R; r++) {
      if (nan !== 0 && p[r * K] !== p[r * K]) continue;
      const y = labels[r];
      const f = fineOfBits(bits[r * K + y]);
      this.addPos(y, f >>> AUROC_POSITION_BITS, 1, f & (Q - 1));
    }
    meanwhile?.();
  }

  /**
   * Adds rows of float32 scores s (rows × columns) where any number of columns per row can be
   * positive (multi-label: t[r · K + k] ≠ 0). A row with a NaN score is left out of every column and
   * counted in nanRows (it makes the figures NaN, as for softmax rows).
   */
  addMultiBlock(s: Float32Array, t: Uint8Array, rows: number): void {
    const K = this.classes;
    const bits = new Uint32Array(s.buffer, s.byteOffset, rows * K);
    const bad = new Uint8Array(rows);
    let nan = 0;
    for (let r = 0; r < rows; r++) {
      for (let k = 0; k < K; k++) {
        if (s[r * K + k] !== s[r * K + k]) {
          bad[r] = 1;
          nan++;
          break;
        }
      }
    }
    this.nanRows += nan;
    this.reserve(rows);
    this.stale();
    const cells = this.cells;
    const TILE = Math.max(1, Math.floor(16384 / K));
    for (let r0 = 0; r0 < rows; r0 += TILE) {
      const r1 = Math.min(rows, r0 + TILE);
      for (let k = 0; k < K; k++) {
        const o = k * AUROC_BINS;
        for (let r = r0; r < r1; r++) {
          if (bad[r]) continue;
          const f = fineOfBits(bits[r * K + k]);
          const b = f >>> AUROC_POSITION_BITS;
          const q = f & (Q - 1);
          cells[2 * (o + b)] += 1;
          cells[2 * (o + b) + 1] += q;
          if (t[r * K + k] !== 0) this.addPos(k, b, 1, q);
        }
      }
    }
  }

  merge(o: AurocCounts): void {
    if (o.classes !== this.classes) throw new Error(`AurocCounts.merge: ${o.classes} classes, expected ${this.classes}`);
    if (!this.core && this.cellsNow === null && !o.core && o.cellsNow === null) {
      // statistics only (merge of score files): their varints are kept, not expanded into cells
      this.pending.push(...o.pending);
      this.cursors.push(...o.pending.map(() => ({ at: 0, i: -1 })));
      this.counted += o.counted;
      this.stale();
      this.mergePages(o);
      return;
    }
    void this.cells; // this one's engine counts in first, so that `counted` covers them
    this.reserve(o.counted + (o.core?.rows ?? 0));
    const to = this.cells;
    this.stale();
    for (let k = 0; k < this.classes; k++) {
      o.classRead(k);
      const from = o.readArr;
      const f = o.readAt;
      const t = 2 * k * AUROC_BINS;
      for (let i = 0; i < 2 * AUROC_BINS; i++) to[t + i] += from[f + i];
    }
    this.mergePages(o);
  }

  /** Adds o's positives' pages and NaN rows into these. */
  private mergePages(o: AurocCounts): void {
    for (let j = 0; j < o.posPages.length; j++) {
      const src = o.posPages[j];
      if (!src) continue;
      let dst = this.posPages[j];
      if (!dst) dst = this.posPages[j] = new Float64Array(2 * PAGE);
      for (let i = 0; i < 2 * PAGE; i++) dst[i] += src[i];
    }
    this.nanRows += o.nanRows;
  }

  /** AUROC of class k from its bins, and the bound on its error; null without positives or negatives. */
  classAuroc(k: number): { auroc: number; errorBound: number } | null {
    // one pass over the non-empty bins, no callback per bin (one made the report of 1000 classes
    // 3–10× slower); multi-label's micro average pools its labels into a one-class AurocCounts and
    // comes here too
    const t = this.classBins(k);
    let below = 0;
    let pairs = 0;
    let err = 0;
    let P = 0;
    for (let j = 0; j < t.length; j += 5) {
      const pb = t[j + 1];
      if (pb !== 0) {
        const s = sameBin(pb, t[j + 3], t[j + 2], t[j + 4]);
        pairs += pb * below + s.pairs;
        err += s.bound;
        P += pb;
      }
      below += t[j + 2];
    }
    if (P === 0 || below === 0) return null;
    return { auroc: pairs / (P * below), errorBound: err / (P * below) };
  }

  report(support: ArrayLike<number>): AurocReport {
    const perClass: (number | null)[] = [];
    let sum = 0;
    let wsum = 0;
    let w = 0;
    let n = 0;
    let errorBound = 0;
    for (let k = 0; k < this.classes; k++) {
      const c = this.classAuroc(k);
      const a = c === null ? null : this.nanRows > 0 ? NaN : c.auroc;
      perClass.push(a);
      if (a === null) continue;
      errorBound = Math.max(errorBound, c!.errorBound);
      sum += a;
      n++;
      wsum += support[k] * a;
      w += support[k];
    }
    if (this.nanRows > 0) return { perClass, macro: NaN, weighted: NaN, errorBound: NaN };
    return { perClass, macro: n ? sum / n : NaN, weighted: n ? wsum / w : NaN, errorBound };
  }

  /**
   * The non-empty bins, compactly (they can number 10^5): base64 of unsigned LEB128 varints, five per
   * bin: the gap from the previous non-empty index (class · AUROC_BINS + bin; the first from −1), the
   * positives, the negatives, and the sums of the positives' and of the negatives' positions.
   */
  encode(): string {
    const pieces: string[] = [];
    const ascii = new TextDecoder();
    for (const b of this.encodePieces()) pieces.push(ascii.decode(b));
    return pieces.join('');
  }

  /**
   * encode()'s text as ASCII bytes in pieces of at most 1 MiB, made as they are asked for, in one
   * array reused for every piece (valid until the next is asked for: copy what is kept). The score
   * JSON copies them to stdout: at 1000 classes the text is ~26 MB, which as one string, its pieces
   * and the output's copies made the peak of score's memory. The pieces are encoded from
   * ENCODE_PIECE bytes of varints, a multiple of 3, so their base64 concatenates to the whole's.
   */
  *encodePieces(): Generator<Uint8Array, void, undefined> {
    const bytes = new Uint8Array(ENCODE_PIECE + 64);
    const text = new Uint8Array((ENCODE_PIECE / 3) * 4 + 4);
    let n = 0;
    const put = (v: number) => {
      // integer ops below 2^31 (the values are float64: % and floor on them cost a libm call a byte)
      if (v < 0x80000000) {
        while (v >= 128) {
          bytes[n++] = (v & 127) | 128;
          v >>>= 7;
        }
        bytes[n++] = v;
        return;
      }
      while (v >= 128) {
        bytes[n++] = (v % 128) | 128;
        v = Math.floor(v / 128);
      }
      bytes[n++] = v;
    };
    let last = -1;
    for (let k = 0; k < this.classes; k++) {
      const t = this.classBins(k);
      for (let j = 0; j < t.length; j += 5) {
        const i = k * AUROC_BINS + t[j];
        put(i - last);
        put(t[j + 1]);
        put(t[j + 2]);
        put(t[j + 3]);
        put(t[j + 4]);
        last = i;
        if (n >= ENCODE_PIECE) {
          yield toBase64(bytes, ENCODE_PIECE, text);
          bytes.copyWithin(0, ENCODE_PIECE, n);
          n -= ENCODE_PIECE;
        }
      }
    }
    if (n > 0) yield toBase64(bytes, n, text);
  }

  /**
   * Adds the bins of encode()'s string; false, adding nothing, when it is malformed (a caller names
   * the file). The positives go into the pages; the rest stays as the varints, read a class at a time
   * (classRead) until something needs all the cells.
   */
  addEncoded(bins: unknown): boolean {
    const text = bins instanceof AurocBinsText ? bins.toJSON() : bins;
    if (typeof text !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(text)) return false;
    const bytes = fromBase64(text);
    const r = new VarintReader(bytes, 0);
    let i = -1;
    let most = 0;
    while (r.at < bytes.length) {
      const gap = r.next();
      const p = r.next();
      const n = r.next();
      const pq = r.next();
      const nq = r.next();
      // a position is at most Q − 1, so larger sums cannot come from score
      if (gap < 1 || p < 0 || n < 0 || pq < 0 || nq < 0 || pq > p * (Q - 1) || nq > n * (Q - 1)) return false;
      i += gap;
      if (i >= this.size) return false;
      most = Math.max(most, p + n);
    }
    r.at = 0;
    i = -1;
    while (r.at < bytes.length) {
      i += r.next();
      const p = r.next();
      r.next();
      const pq = r.next();
      r.next();
      if (p !== 0) this.addPos(Math.floor(i / AUROC_BINS), i % AUROC_BINS, p, pq);
    }
    this.pending.push(bytes);
    this.cursors.push({ at: 0, i: -1 });
    // a bin's count bounds the rows behind it: `counted` stays an upper bound (merge's promotion)
    this.counted += most;
    this.stale();
    return true;
  }
}

/** Reads encode()'s LEB128 varints from `at` on; next() gives −1 past the end or for a value above 2^56. */
class VarintReader {
  constructor(
    readonly bytes: Uint8Array,
    public at: number,
  ) {}

  next(): number {
    let v = 0;
    let scale = 1;
    for (;;) {
      if (this.at >= this.bytes.length || scale > 2 ** 49) return -1;
      const b = this.bytes[this.at++];
      v += (b & 127) * scale;
      if (b < 128) return v;
      scale *= 128;
    }
  }
}

/**
 * `stats.auroc.bins` as toStats() gives it: the counts' encode() text, made when it is written rather
 * than held (at 1000 classes it is ~26 MB). JSON.stringify writes the string (toJSON); the score JSON
 * (src/cli/output.ts writeJson) streams it with jsonAsciiPieces, piece by piece into the output. It
 * reads the counts when written: an accumulator changed in between writes its new counts.
 */
export class AurocBinsText {
  constructor(private readonly counts: AurocCounts) {}

  toJSON(): string {
    return this.counts.encode();
  }

  toString(): string {
    return this.counts.encode();
  }

  /**
   * The string's contents as ASCII bytes in pieces, without the quotes (base64 needs no JSON escapes);
   * one array reused for every piece, valid until the next is asked for.
   */
  jsonAsciiPieces(): Iterable<Uint8Array> {
    return this.counts.encodePieces();
  }
}

/** `stats.auroc` as score and merge write it. */
export interface AurocStats {
  /** AUROC_RESOLUTION of the bins (absent in statistics from before positions were kept). */
  resolution?: string;
  /** encode()'s base64 in a parsed file; an AurocBinsText, made when written, from aurocStats. */
  bins: string | AurocBinsText;
  nanRows: number;
}

export function aurocStats(a: AurocCounts): AurocStats {
  return { resolution: AUROC_RESOLUTION, bins: new AurocBinsText(a), nanRows: a.nanRows };
}

/**
 * Adds `stats.auroc` of a score or merge JSON into `a`. False, adding nothing, for statistics without
 * a resolution (written before positions were kept: their bins hold no positions, so adding them would
 * not be exact; the caller leaves AUROC out). Throws for another resolution (bins that do
 * not line up: shape_mismatch, the code of every merge of differing settings) and `invalid_argument` for
 * malformed bins, naming the file.
 */
export function addAurocStats(a: AurocCounts, st: AurocStats, name: string): boolean {
  if (st.resolution === undefined) return false;
  if (st.resolution !== AUROC_RESOLUTION) {
    throw new LogitkitError(
      'shape_mismatch',
      `${name}: stats.auroc.resolution is ${JSON.stringify(st.resolution)} but this logitkit counts AUROC at "${AUROC_RESOLUTION}"; score the shards with one version`,
      'stats.auroc.resolution',
    );
  }
  if (!a.addEncoded(st.bins)) throw new LogitkitError('invalid_argument', `${name}: stats.auroc.bins is malformed (expected the base64 bins of logitkit score)`, name);
  a.nanRows = typeof st.nanRows === 'number' ? st.nanRows : 0;
  return true;
}
