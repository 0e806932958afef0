// rowScoreAccumulator.add from the logits alone ({ x, labels, temperature }: assembly/kernels/score.ts
// scoreLogitsChunk, softmax, log-softmax and argmax made in the row summary's pass) against the same
// accumulator fed the engine's own lk.softmax, lk.logSoftmax and lk.argmax: every sum, every per-row
// output, pred and p bit for bit, on every backend and build (the threaded pool too), at T = 1, an f32
// temperature and one that is not a normal float32 (the f64 division), with the edge rows of a
// softmax (NaN, ±inf, all −inf, huge offsets), widths 1 … 1000 around the short-row limit, blocks that
// are not whole chunks, and an empty block; then the argument errors.
import { describe, expect, it } from 'vitest';
import { init, type RowScoreSums } from '../src/index.js';
import { rowScoreChunkRows } from '../src/accumulators.js';
import { ScoreAccumulator } from '../src/metrics/summary.js';
import { relaxedSimdSupported } from '../src/init.js';
import { engineOf, type Configuration } from './helpers/backends.js';
import { codeOf } from './helpers/checks.js';
import { block as scoreBlock } from './helpers/score-rows.js';

/** helpers/score-rows.ts's block, its last row's label at −inf too (NLL = +inf in the last chunk). */
function block(rows: number, C: number, seed: number): { x: Float32Array; labels: Int32Array } {
  const b = scoreBlock(rows, C, seed);
  if (rows > 0) for (let j = 0; j < C; j++) b.x[(rows - 1) * C + j] = j === b.labels[rows - 1] ? -Infinity : -1e4 + j;
  return b;
}

/**
 * A float array's values as bit patterns (−0 is not +0), NaN as one token: the sign of a NaN is not
 * part of any result (wasm leaves it open, and V8's code for the same op may differ).
 */
function hex(v: ArrayBufferView): string {
  if (!(v instanceof Float32Array || v instanceof Float64Array)) return Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('hex');
  const w = v instanceof Float32Array ? new Uint32Array(v.buffer, v.byteOffset, v.length) : new BigUint64Array(v.buffer, v.byteOffset, v.length);
  return Array.from(v, (a, i) => (a !== a ? 'NaN' : w[i]!.toString(16))).join(',');
}
/**
 * expect(hex(got)).toBe(hex(want)) without building the strings unless they differ: the same test
 * (one kind of array, one length, the same bits or both NaN; any other view byte for byte), but a
 * 300,000-element hex() costs ~40 ms and this file made ~1,500 of them, most of its 34 s.
 */
function expectSameBits(got: ArrayBufferView, want: ArrayBufferView): void {
  if (!sameBits(got, want)) expect(hex(got)).toBe(hex(want));
}
function sameBits(a: ArrayBufferView, b: ArrayBufferView): boolean {
  const float = (v: ArrayBufferView) => v instanceof Float32Array || v instanceof Float64Array;
  if (!float(a) && !float(b)) {
    if (a.byteLength !== b.byteLength) return false;
    return Buffer.compare(Buffer.from(a.buffer, a.byteOffset, a.byteLength), Buffer.from(b.buffer, b.byteOffset, b.byteLength)) === 0;
  }
  if (Object.getPrototypeOf(a) !== Object.getPrototypeOf(b)) return false;
  const x = a as Float32Array | Float64Array;
  const y = b as Float32Array | Float64Array;
  if (x.length !== y.length) return false;
  const wx = x instanceof Float32Array ? new Uint32Array(x.buffer, x.byteOffset, x.length) : new BigUint64Array(x.buffer, x.byteOffset, x.length);
  const wy = y instanceof Float32Array ? new Uint32Array(y.buffer, y.byteOffset, y.length) : new BigUint64Array(y.buffer, y.byteOffset, y.length);
  for (let i = 0; i < x.length; i++) {
    const nx = x[i] !== x[i];
    if (nx !== (y[i] !== y[i]) || (!nx && wx[i] !== wy[i])) return false;
  }
  return true;
}

/** Every array of the sums, and the scalars, by hex(). */
function bits(s: RowScoreSums): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(s)) out[k] = hex(ArrayBuffer.isView(v) ? v : new Float64Array([v as number]));
  return out;
}

const CONFIGS: Configuration[] = ['js', 'wasm simd128', ...(relaxedSimdSupported() ? (['wasm relaxed'] as const) : []), 'threads 2'];
// 1e-40 is not a normal float32: z = f32(f64(x) / T) in float64 (SEMANTICS §1), the other path
const TEMPERATURES = [1, 0.7, 1e-40];
const WIDTHS = [1, 2, 3, 7, 10, 32, 33, 100, 1000];

describe('rowScoreAccumulator.add({ x, labels, temperature })', () => {
  for (const config of CONFIGS)
    for (const C of WIDTHS)
      it(`[${config}] ${C} classes: the sums, hit, nll, conf, pred and p of lk.softmax / logSoftmax / argmax bit for bit, T = ${TEMPERATURES.join(', ')}`, async () => {
        const lk = await engineOf(config);
        const chunk = rowScoreChunkRows(C, 15);
        // two chunks and a part (C = 1, 2: fewer rows, still more than one chunk on the wide side)
        const sizes = [Math.min(2 * chunk + 37, Math.max(300, Math.ceil(300_000 / C))), 0, 13];
        for (const T of TEMPERATURES) {
          const a = lk.rowScoreAccumulator({ classes: C, topk: 3 });
          const b = lk.rowScoreAccumulator({ classes: C, topk: 3 });
          const c = lk.rowScoreAccumulator({ classes: C, topk: 3 });
          for (const [i, rows] of sizes.entries()) {
            const { x, labels } = block(rows, C, 1000 * C + i + (T === 1 ? 0 : T < 1e-30 ? 7 : 3));
            const p = lk.softmax(x, C, { temperature: T });
            const lp = lk.logSoftmax(x, C, { temperature: T });
            const pred = lk.argmax(x, C);
            const ra = a.add({ x, p, lp, labels, pred });
            const pOut = new Float32Array(x.length).fill(-7);
            const rb = b.add({ x, labels, temperature: T }, { p: pOut });
            const rc = c.add({ x, labels, temperature: T }); // p not kept (wasm: batch scratch)
            for (const r of [rb, rc]) {
              expectSameBits(r.hit, ra.hit);
              expectSameBits(r.nll, ra.nll);
              expectSameBits(r.conf, ra.conf);
              expectSameBits(r.pred, pred);
            }
            expectSameBits(pOut, p);
          }
          const sa = bits(a.take());
          expect(bits(b.take())).toEqual(sa);
          expect(bits(c.take())).toEqual(sa);
        }
      });

  it('refuses bad arguments with coded errors, and keeps working', async () => {
    const lk = await init({ backend: 'wasm' });
    const acc = lk.rowScoreAccumulator({ classes: 3 });
    const x = new Float32Array([1, 2, 3, 0, 0, 0]);
    const labels = new Int32Array([2, 0]);
    expect(codeOf(() => acc.add({ x, labels, temperature: 0 }))).toBe('invalid_temperature');
    expect(codeOf(() => acc.add({ x, labels, temperature: NaN }))).toBe('invalid_temperature');
    expect(codeOf(() => acc.add({ x, labels }, { pred: new Int32Array(3) }))).toBe('invalid_argument');
    expect(codeOf(() => acc.add({ x, labels }, { p: new Float32Array(5) }))).toBe('invalid_argument');
    expect(codeOf(() => acc.add({ x, labels: new Int32Array([3, 0]) }))).toBe('target_out_of_range');
    // a block with some of p, lp, pred is the explicit form: all three are needed
    expect(codeOf(() => acc.add({ x, labels, p: lk.softmax(x, 3) } as never))).toBe('invalid_argument');
    const { pred } = acc.add({ x, labels });
    expect(Array.from(pred)).toEqual([2, 0]);
    const s = acc.take();
    expect(s.rows).toBe(2);
    expect(s.correct).toBe(2);
  });
});

describe('ScoreAccumulator.blockTarget (score reads each block into engine memory)', () => {
  for (const config of ['wasm simd128', 'threads 2', 'js'] as const)
    it(`[${config}] blocks read into the target give the summary of the same blocks passed as plain arrays, also when the memory grew in between`, async () => {
      const lk = await engineOf(config);
      const C = 100;
      const blocks = [block(2000, C, 11), block(2000, C, 12), block(777, C, 13)];
      const plain = new ScoreAccumulator(C, { intervals: 20 });
      for (const [i, b] of blocks.entries()) plain.addBlock(lk, b.x, b.labels, null, undefined, { key: 0, row: 2000 * i });
      const target = new ScoreAccumulator(C, { intervals: 20 });
      const hogs = [];
      for (const [i, b] of blocks.entries()) {
        const x = target.blockTarget(lk, b.x.length);
        expect(x.length).toBe(b.x.length);
        x.set(b.x);
        // an engine allocation between the read and the add (conformal sets do one): wasm memory grows,
        // which leaves an unshared build's old views with no length
        if (i === 1) hogs.push(lk.alloc(16 << 20));
        target.addBlock(lk, x, b.labels, null, undefined, { key: 0, row: 2000 * i });
      }
      for (const h of hogs) h.free();
      expect(JSON.stringify(target.summary())).toBe(JSON.stringify(plain.summary()));
    });
});
