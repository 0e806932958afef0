/**
 * One-vs-rest AUROC per class, streamed and mergeable.
 *
 * Exact AUROC of class k = (1 / (P·N)) Σ over (positive i, negative j) pairs of [s_i > s_j] + ½[s_i = s_j],
 * with s = p_k (softmax probability), positives the rows labelled k. It needs the order of all scores; a
 * stream keeps instead, per class, counts of positives and of negatives in AUROC_BINS bins of a monotone
 * transform of the float32 score, and counts pairs in one bin as ½ (a tie). Pairs in different bins are
 * ordered exactly, so the error is at most ½ · Σ_b pos_b·neg_b / (P·N), and much less when the two
 * classes' scores are spread alike inside a bin.
 *
 * Where resolution is needed: positives crowd near p = 1 and negatives near p = 0, so the bins are
 * logarithmic at both ends. For p < ½ the bin is the float32 exponent and the top AUROC_MANTISSA_BITS
 * bits of the mantissa of p (relative width 2^-8), from p = 2^-41 (below: one bin, with p = 0); for
 * p ≥ ½ the same of 1 − p, which float32 holds exactly there (d = 2^24·(1 − p) is an integer), down to
 * the last float32 below 1; p = 1 has its own bin. So every float32 score in [2^-41, 1] is placed to
 * 0.4% relative width in p or 1 − p, and equal scores always share a bin (ties stay ties).
 *
 * Memory (the bins stay those above; only their storage is compact): per class one Uint32 histogram of
 * all rows' p_k (64 KiB; promoted to float64 once more than 2^32 − 1 rows are counted), and the
 * positives' histogram in pages of 256 bins allocated when a positive first lands in one (2 KiB each;
 * positives of a class crowd into a few octaves). The negatives' counts are all − positives. So 1000
 * classes take 64 MB plus a few MB of pages whatever the number of rows, where two float64 histograms per
 * class took 262 MB. Above AUROC_MAX_CLASSES (1024) classes AUROC is not kept (a 128k vocabulary would
 * need 8 GB).
 */

export const AUROC_MANTISSA_BITS = 8;
const M = 1 << AUROC_MANTISSA_BITS;
/** Float32 exponent field of the smallest p with its own bins (2^(86 − 127) = 2^-41). */
const E_MIN = 86;
const LOWER = (126 - E_MIN) * M; // exponents E_MIN..125, p in [2^-41, ½)
const UPPER = 24 * M; // 1 − p = d·2^-24, d in [1, 2^23]: 24 binary orders of magnitude
/** Bins per class: [0] p < 2^-41, LOWER, UPPER, and p = 1. */
export const AUROC_BINS = 1 + LOWER + UPPER + 1;
export const AUROC_MAX_CLASSES = 1024;
/** Positives' pages: 256 bins each, allocated on first use. */
const PAGE = 256;
const PAGES = Math.ceil(AUROC_BINS / PAGE);
const U32_MAX = 0xffffffff;

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** The bin of a float32 score in [0, 1] (NaN never reaches here). */
export function aurocBin(p: number): number {
  f32[0] = p;
  return binOfBits(u32[0]);
}

function binOfBits(u: number): number {
  if (u < 0x3f000000) {
    // p < ½ (and +0): exponent and top mantissa bits
    const e = u >>> 23;
    if (e < E_MIN) return 0;
    return 1 + (e - E_MIN) * M + ((u >>> (23 - AUROC_MANTISSA_BITS)) & (M - 1));
  }
  if (u >= 0x3f800000) return AUROC_BINS - 1; // p = 1 (softmax never exceeds it)
  // p in [½, 1): p = (1 + f·2^-23)/2, so 1 − p = d·2^-24 with d = 2^23 − f in [1, 2^23]
  const d = 0x800000 - (u & 0x7fffff);
  const lz = Math.clz32(d);
  const e = 31 - lz; // 0..23
  const mant = e >= AUROC_MANTISSA_BITS ? (d >>> (e - AUROC_MANTISSA_BITS)) & (M - 1) : (d << (AUROC_MANTISSA_BITS - e)) & (M - 1);
  // larger d (further from 1) → lower bin
  return 1 + LOWER + (23 - e) * M + (M - 1 - mant);
}

export interface AurocReport {
  /** Per class; null when the class has no positives or no negatives; NaN when a row's softmax was NaN. */
  perClass: (number | null)[];
  /** Unweighted mean over the classes with both positives and negatives (NaN if none). */
  macro: number;
  /** Mean weighted by support over the same classes. */
  weighted: number;
  /**
   * The largest, over classes, of the worst-case bound ½ Σ_b pos_b·neg_b / (P·N) on |binned − exact
   * AUROC|: pairs in one bin are the only ones not ordered exactly, and it assumes every one of them
   * is misordered. The real error is far smaller when both kinds spread alike within a bin (measured
   * below 1e-4 on the hard cases of test/auroc.test.ts); it can reach the bound only when scores of
   * both kinds crowd, differently ordered, in bins of relative width 2^-8 (e.g. a near-uniform model
   * whose p_k all lie within 1% of 1/K) — then this figure says so.
   */
  errorBound: number;
}

// Base64 by hand: metrics reach browser bundles, where Buffer does not exist.
const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

/**
 * Base64 of bytes[0, n), built in a byte buffer and turned into a string in chunks: appending 4-char
 * pieces to a string made a rope of millions of pieces at 100+ classes (tens of MiB of peak memory).
 */
function toBase64(bytes: Uint8Array, n: number): string {
  const out = new Uint8Array(Math.ceil(n / 3) * 4);
  let o = 0;
  for (let i = 0; i < n; i += 3) {
    const v = (bytes[i] << 16) | ((i + 1 < n ? bytes[i + 1] : 0) << 8) | (i + 2 < n ? bytes[i + 2] : 0);
    out[o++] = B64.charCodeAt(v >>> 18);
    out[o++] = B64.charCodeAt((v >>> 12) & 63);
    out[o++] = i + 1 < n ? B64.charCodeAt((v >>> 6) & 63) : 61; // '='
    out[o++] = i + 2 < n ? B64.charCodeAt(v & 63) : 61;
  }
  let text = '';
  for (let i = 0; i < out.length; i += 8192) text += String.fromCharCode(...out.subarray(i, i + 8192));
  return text;
}

/** Decodes padded or unpadded base64 (the caller has checked the alphabet). */
function fromBase64(text: string): Uint8Array {
  const t = text.replace(/=+$/, '');
  const out = new Uint8Array(Math.floor((t.length * 3) / 4));
  let bits = 0;
  let acc = 0;
  let o = 0;
  for (let i = 0; i < t.length; i++) {
    acc = (acc << 6) | B64.indexOf(t[i]);
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
  /** [k · AUROC_BINS + b]: rows (positives and negatives of class k) whose p_k falls in bin b. */
  private all: Uint32Array | Float64Array;
  /** Positives of class k in bins [page · 256, page · 256 + 256), at [k · PAGES + page]; absent when none. */
  private readonly posPages: (Float64Array | undefined)[];
  /** Rows counted into `all` (an upper bound on any one count: decides the promotion to float64). */
  private counted = 0;
  nanRows = 0;

  constructor(classes: number) {
    this.classes = classes;
    this.all = new Uint32Array(classes * AUROC_BINS);
    this.posPages = new Array<Float64Array | undefined>(classes * PAGES);
  }

  /** Bytes held by the counts (for the README's memory figure and its test). */
  get bytes(): number {
    let pages = 0;
    for (const pg of this.posPages) if (pg) pages++;
    return this.all.byteLength + pages * PAGE * 8;
  }

  /** Positives at flat index i = k · AUROC_BINS + b. */
  pos(i: number): number {
    const k = Math.floor(i / AUROC_BINS);
    const b = i - k * AUROC_BINS;
    const pg = this.posPages[k * PAGES + (b >>> 8)];
    return pg ? pg[b & (PAGE - 1)] : 0;
  }

  /** Negatives at flat index i (all − positives). */
  neg(i: number): number {
    return this.all[i] - this.pos(i);
  }

  /** Adds p positives and n negatives at flat index i = k · AUROC_BINS + b (merge statistics, tests). */
  addCount(i: number, p: number, n: number): void {
    if (this.all[i] + p + n > U32_MAX && this.all instanceof Uint32Array) this.all = Float64Array.from(this.all);
    this.all[i] += p + n;
    // a bin's count bounds the rows behind it: `counted` stays an upper bound for later additions
    this.counted = Math.max(this.counted, this.all[i]);
    if (p !== 0) this.addPos(Math.floor(i / AUROC_BINS), i % AUROC_BINS, p);
  }

  /** Dense copies of the positives' and negatives' counts (for inspection and tests; K · AUROC_BINS each). */
  dense(): { pos: Float64Array; neg: Float64Array } {
    const pos = new Float64Array(this.all.length);
    const neg = new Float64Array(this.all.length);
    for (let i = 0; i < this.all.length; i++) {
      if (this.all[i] === 0) continue;
      pos[i] = this.pos(i);
      neg[i] = this.all[i] - pos[i];
    }
    return { pos, neg };
  }

  private addPos(k: number, b: number, v: number): void {
    const at = k * PAGES + (b >>> 8);
    let pg = this.posPages[at];
    if (!pg) pg = this.posPages[at] = new Float64Array(PAGE);
    pg[b & (PAGE - 1)] += v;
  }

  /** Before counting `more` rows: a Uint32 count could overflow past 2^32 − 1 rows, so go float64. */
  private reserve(more: number): void {
    this.counted += more;
    if (this.counted > U32_MAX && this.all instanceof Uint32Array) this.all = Float64Array.from(this.all);
  }

  /** Adds rows of float32 probabilities p (rows × classes) with labels y. */
  addBlock(p: Float32Array, labels: Int32Array): void {
    const K = this.classes;
    const R = labels.length;
    const bits = new Uint32Array(p.buffer, p.byteOffset, R * K);
    let nan = 0;
    for (let r = 0; r < R; r++) if (p[r * K] !== p[r * K]) nan++; // softmax rows are NaN all together
    this.nanRows += nan;
    this.reserve(R);
    // In tiles of rows, class by class: the reads stay in a tile that fits the cache and the writes in
    // one class's bins, where row by row they scatter over all classes' bins (measured 2× slower at K = 100).
    const all = this.all;
    const TILE = Math.max(1, Math.floor(16384 / K));
    for (let r0 = 0; r0 < R; r0 += TILE) {
      const r1 = Math.min(R, r0 + TILE);
      for (let k = 0; k < K; k++) {
        const o = k * AUROC_BINS;
        for (let r = r0; r < r1; r++) {
          if (nan !== 0 && p[r * K] !== p[r * K]) continue;
          all[o + binOfBits(bits[r * K + k])] += 1;
        }
      }
    }
    for (let r = 0; r < R; r++) {
      if (nan !== 0 && p[r * K] !== p[r * K]) continue;
      const y = labels[r];
      this.addPos(y, binOfBits(bits[r * K + y]), 1);
    }
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
    const all = this.all;
    const TILE = Math.max(1, Math.floor(16384 / K));
    for (let r0 = 0; r0 < rows; r0 += TILE) {
      const r1 = Math.min(rows, r0 + TILE);
      for (let k = 0; k < K; k++) {
        const o = k * AUROC_BINS;
        for (let r = r0; r < r1; r++) {
          if (bad[r]) continue;
          const b = binOfBits(bits[r * K + k]);
          all[o + b] += 1;
          if (t[r * K + k] !== 0) this.addPos(k, b, 1);
        }
      }
    }
  }

  merge(o: AurocCounts): void {
    if (o.classes !== this.classes) throw new Error(`AurocCounts.merge: ${o.classes} classes, expected ${this.classes}`);
    this.reserve(o.counted);
    for (let i = 0; i < this.all.length; i++) this.all[i] += o.all[i];
    for (let j = 0; j < o.posPages.length; j++) {
      const src = o.posPages[j];
      if (!src) continue;
      let dst = this.posPages[j];
      if (!dst) dst = this.posPages[j] = new Float64Array(PAGE);
      for (let i = 0; i < PAGE; i++) dst[i] += src[i];
    }
    this.nanRows += o.nanRows;
  }

  /** AUROC of class k from its bins, and the bound on its error; null without positives or negatives. */
  classAuroc(k: number): { auroc: number; errorBound: number } | null {
    const o = k * AUROC_BINS;
    let below = 0; // negatives in lower bins
    let pairs = 0;
    let tied = 0;
    let P = 0;
    const all = this.all;
    for (let b = 0; b < AUROC_BINS; b++) {
      const a = all[o + b];
      if (a === 0) continue;
      const pg = this.posPages[k * PAGES + (b >>> 8)];
      const pb = pg ? pg[b & (PAGE - 1)] : 0;
      const nb = a - pb;
      if (pb !== 0) {
        pairs += pb * (below + 0.5 * nb);
        tied += pb * nb;
        P += pb;
      }
      below += nb;
    }
    if (P === 0 || below === 0) return null;
    return { auroc: pairs / (P * below), errorBound: (0.5 * tied) / (P * below) };
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
   * The non-empty bins, compactly (they can number 10^5): base64 of unsigned LEB128 varints, three per
   * bin: the gap from the previous non-empty index (class · AUROC_BINS + bin; the first from −1), the
   * positives and the negatives.
   */
  encode(): string {
    let bytes = new Uint8Array(1 << 16);
    let n = 0;
    const put = (v: number) => {
      if (n + 8 > bytes.length) {
        const grown = new Uint8Array(bytes.length * 2);
        grown.set(bytes);
        bytes = grown;
      }
      while (v >= 128) {
        bytes[n++] = (v % 128) | 128;
        v = Math.floor(v / 128);
      }
      bytes[n++] = v;
    };
    let last = -1;
    for (let i = 0; i < this.all.length; i++) {
      if (this.all[i] === 0) continue;
      const p = this.pos(i);
      put(i - last);
      put(p);
      put(this.all[i] - p);
      last = i;
    }
    return toBase64(bytes, n);
  }

  /** Adds the bins of encode()'s string; false when it is malformed (a caller names the file). */
  addEncoded(text: unknown): boolean {
    if (typeof text !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(text)) return false;
    const bytes = fromBase64(text);
    let at = 0;
    const get = (): number => {
      let v = 0;
      let scale = 1;
      for (;;) {
        if (at >= bytes.length || scale > 2 ** 49) return -1;
        const b = bytes[at++];
        v += (b & 127) * scale;
        if (b < 128) return v;
        scale *= 128;
      }
    };
    let i = -1;
    while (at < bytes.length) {
      const gap = get();
      const p = get();
      const n = get();
      if (gap < 1 || p < 0 || n < 0) return false;
      i += gap;
      if (i >= this.all.length) return false;
      this.addCount(i, p, n);
    }
    return true;
  }
}
