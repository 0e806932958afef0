/**
 * Transforms of rows wider than a block (`logitkit softmax -o` on a file holding one 1 GiB row), in
 * passes over the row, one span of `span` values at a time, so memory is one span whatever the row
 * width (issue 22 item 10):
 *
 *   softmax / logSoftmax   pass 1 the max m (lk.argmax per span), pass 2 s = Σ exp(z − m) as
 *                          Σ_spans exp(lk.logsumexp(span − m)) in float64, pass 3 writes
 *                          lk.softmax(span − m) · exp(lse_span − log s) (log: + (lse_span − log s))
 *   logsumexp              passes 1 and 2: m + log s
 *   argmax / topk          one pass, the spans' winners combined (ties to the lower index, NaN the max)
 *   sigmoid                elementwise: one pass
 *
 * z − m is formed in float32 before the engine sees it (what the kernels do inside a row), so the
 * error follows the spread of the row, not its offset (SEMANTICS.md §2). The special rows are the
 * spec's: NaN, +inf or all −inf in a row give all NaN for softmax; logsumexp masks them (+inf, −inf).
 * Only the public Engine API computes; the JS loops here subtract m and scale by one factor.
 */
import type { Engine } from '../index.js';
import type { NpyFile, NpyWriter } from '../io/npy.js';

export class WideRows {
  readonly #lk: Engine;
  readonly #src: NpyFile;
  readonly #buf: Float32Array;
  readonly #span: number;
  /** Per span of the current row: its lse of z − m (float32, from the engine). */
  #lse: Float64Array;

  constructor(lk: Engine, src: NpyFile, buf: Float32Array, span: number) {
    this.#lk = lk;
    this.#src = src;
    this.#buf = buf;
    this.#span = span;
    this.#lse = new Float64Array(Math.ceil(src.cols / span));
  }

  /** Each span of row r: (start, values). The values are the shared buffer: use before the next span. */
  *#spans(r: number): Generator<[number, Float32Array]> {
    const C = this.#src.cols;
    for (let j = 0; j < C; j += this.#span) yield [j, this.#src.readSpan(r, j, Math.min(this.#span, C - j), this.#buf)];
  }

  /** The row's argmax over its spans: NaN counts as the maximum (first NaN wins), ties to the lowest index. */
  argmax(r: number): { index: number; value: number } {
    let index = -1;
    let value = NaN;
    for (const [j, x] of this.#spans(r)) {
      const i = this.#lk.argmax(x, x.length)[0]!;
      const v = x[i]!;
      if (index < 0 || (!Number.isNaN(value) && (Number.isNaN(v) || v > value))) [index, value] = [j + i, v];
    }
    return { index, value };
  }

  /** z − m in place, z = x / T in float32 as the kernels form it. */
  static #shift(x: Float32Array, m: number, T: number): void {
    for (let i = 0; i < x.length; i++) x[i] = Math.fround(T === 1 ? x[i]! : Math.fround(x[i]! / T)) - m;
  }

  /** Pass 2: log Σ exp(z − m) in float64 from the spans' lse, which it keeps for pass 3. */
  #logSum(r: number, m: number, T: number): number {
    let s = 0;
    let k = 0;
    for (const [, x] of this.#spans(r)) {
      WideRows.#shift(x, m, T);
      const l = this.#lk.logsumexp(x, x.length)[0]!;
      this.#lse[k++] = l;
      s += Math.exp(l);
    }
    return Math.log(s);
  }

  /** The max of z = x / T (float32), or a non-finite value that decides the whole row. */
  #max(r: number, T: number): number {
    const m = this.argmax(r).value;
    return T === 1 ? m : Math.fround(m / T);
  }

  logsumexp(r: number, T: number): number {
    const m = this.#max(r, T);
    if (!Number.isFinite(m)) return m; // NaN; +inf; all −inf gives −inf (logsumexp masks them)
    return Math.fround(m + this.#logSum(r, m, T));
  }

  softmax(r: number, T: number, log: boolean, out: NpyWriter): void {
    const m = this.#max(r, T);
    if (!Number.isFinite(m)) {
      // NaN, +inf or all −inf: the whole row is NaN (§2, no masking of an infinite max).
      for (const [, x] of this.#spans(r)) out.write(x.fill(NaN));
      return;
    }
    const logS = this.#logSum(r, m, T);
    let k = 0;
    for (const [, x] of this.#spans(r)) {
      const shift = this.#lse[k++]! - logS;
      if (shift === -Infinity) {
        // A span of −inf only: its softmax alone would be NaN; in the row it is 0 (−inf in log).
        out.write(x.fill(log ? -Infinity : 0));
        continue;
      }
      WideRows.#shift(x, m, T);
      if (log) {
        this.#lk.logSoftmax(x, x.length, { out: x });
        for (let i = 0; i < x.length; i++) x[i] = x[i]! + shift;
      } else {
        this.#lk.softmax(x, x.length, { out: x });
        const f = Math.exp(shift);
        for (let i = 0; i < x.length; i++) x[i] = x[i]! * f;
      }
      out.write(x);
    }
  }

  sigmoid(r: number, log: boolean, out: NpyWriter): void {
    for (const [, x] of this.#spans(r)) out.write(log ? this.#lk.logSigmoid(x, { out: x }) : this.#lk.sigmoid(x, { out: x }));
  }

  /**
   * The k largest over the spans: the candidates so far (lower indices) followed by the span's own
   * top k, ranked again by lk.topk, whose ties go to the lower position, so to the lower index.
   */
  topk(r: number, k: number): { values: Float32Array; indices: Int32Array } {
    let values: Float32Array = new Float32Array(0);
    let indices: Int32Array = new Int32Array(0);
    for (const [j, x] of this.#spans(r)) {
      const t = this.#lk.topk(x, x.length, Math.min(k, x.length));
      const pool = new Float32Array(values.length + t.values.length);
      pool.set(values);
      pool.set(t.values, values.length);
      const poolIndex = new Int32Array(pool.length);
      poolIndex.set(indices);
      for (let i = 0; i < t.indices.length; i++) poolIndex[values.length + i] = j + t.indices[i]!;
      const best = this.#lk.topk(pool, pool.length, Math.min(k, pool.length));
      values = best.values;
      indices = Int32Array.from(best.indices, (p) => poolIndex[p]!);
    }
    return { values, indices };
  }
}
