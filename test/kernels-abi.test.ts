// Kernel-level safety net for the wasm ABI of the softmax, sigmoid and select families.
// Instantiates one build directly (no engine), copies inputs above heapBase(), and checks
// every export against a float64 reference written from SEMANTICS.md, with the §11
// tolerances divided by HEADROOM (the kernels are meant to stay ~4x inside them).
//
// Part of the test matrix (vitest.config.ts): each wasm project runs this file on its own
// build — `wasm simd128` the plain SIMD build, `wasm relaxed` the relaxed-SIMD build (that
// project runs flagged on Node 20, so its exp sweep runs in-process everywhere), `threads 2`
// the shared-memory build init() picks — and the `js` project checks the float64 reference.
import { describe, it, expect, beforeAll } from 'vitest';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import type { RawKernels } from '../src/backends/abi.js';
import { kernelImports } from '../src/backends/instantiate.js';
import { relaxedSimdSupported } from '../src/init.js';
import { describeOnce, runConfigurations, type Configuration } from './helpers/backends.js';

const HEADROOM = 4;
const U = 2 ** -24;
const FLT_MIN = 2 ** -126;

let k: RawKernels;
let memory: WebAssembly.Memory;
let top = 0;

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

/** The build each wasm configuration of the matrix runs (threads 2: init()'s shared-memory choice). */
function buildOf(config: Configuration): string | null {
  switch (config) {
    case 'wasm simd128':
      return 'logitkit.wasm';
    case 'wasm relaxed':
      return 'logitkit-relaxed.wasm';
    case 'threads 2':
      return relaxedSimdSupported() ? 'logitkit-threads-relaxed.wasm' : 'logitkit-threads.wasm';
    case 'js':
    case 'wasm':
      return null;
  }
}

/** This run's builds; LK_KERNELS_WASM (an absolute path) runs the suite on another build instead (mutation checks). */
const BUILDS = process.env.LK_KERNELS_WASM
  ? [process.env.LK_KERNELS_WASM]
  : runConfigurations().map(buildOf).filter((b): b is string => b !== null);

async function load(file: string): Promise<void> {
  const module = new WebAssembly.Module(readFileSync(file.startsWith('/') ? file : join(root, 'build', file)));
  // the threads builds import a shared memory
  const shared = /threads/.test(file);
  memory = new WebAssembly.Memory({ initial: 256, maximum: 65536, shared } as WebAssembly.MemoryDescriptor);
  const instance = await WebAssembly.instantiate(module, kernelImports(module, memory));
  k = instance.exports as unknown as RawKernels;
}

// ---- memory: a bump allocator above heapBase, reset by each test -------------------------

function reset(): void { top = k.heapBase() as number; }
/** Reserve bytes (16-aligned, plus `skew` bytes to test unaligned views). */
function alloc(bytes: number, skew = 0): number {
  const p = ((top + 15) & ~15) + skew;
  top = p + bytes;
  if (top > memory.buffer.byteLength) memory.grow(Math.ceil((top - memory.buffer.byteLength) / 65536));
  return p;
}
function putF32(data: Float32Array, skew = 0): number {
  const p = alloc(data.length * 4, skew);
  new Float32Array(memory.buffer, p, data.length).set(data);
  return p;
}
const f32At = (p: number, n: number) => new Float32Array(memory.buffer, p, n).slice();
const i32At = (p: number, n: number) => new Int32Array(memory.buffer, p, n).slice();
const u32At = (p: number, n: number) => new Uint32Array(memory.buffer, p, n).slice();

// ---- data -------------------------------------------------------------------------------

function rng(seed: number) {
  let a = seed >>> 0;
  const uniform = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const normal = () => Math.sqrt(-2 * Math.log(1 - uniform())) * Math.cos(2 * Math.PI * uniform());
  return { uniform, normal };
}

function randomRows(rows: number, classes: number, seed: number, scale = 4, offset = 0): Float32Array {
  const r = rng(seed);
  const x = new Float32Array(rows * classes);
  for (let i = 0; i < x.length; i++) x[i] = offset + scale * r.normal();
  return x;
}

/** Rows for one width C covering the SEMANTICS §1/§2 edge tables, at the start, middle and end. */
function edgeRows(C: number): Float32Array[] {
  const r = rng(C * 7919);
  const base = () => Float32Array.from({ length: C }, () => 3 * r.normal());
  const at = [0, C >> 1, C - 1];
  const rows: Float32Array[] = [base()];
  rows.push(new Float32Array(C).fill(-Infinity));
  rows.push(new Float32Array(C).fill(3e38));
  rows.push(new Float32Array(C).fill(-3e38));
  for (const p of at) {
    let x = base(); x[p] = Infinity; rows.push(x);
    x = base(); x[p] = NaN; rows.push(x);
    x = base(); x[p] = -Infinity; rows.push(x);
    x = base(); x[p] = 3e38; rows.push(x);
    x = base(); x[p] = -3e38; rows.push(x);
    x = new Float32Array(C).fill(-Infinity); x[p] = NaN; rows.push(x);
    x = new Float32Array(C).fill(-Infinity); x[p] = 2.5; rows.push(x);
    x = base(); x[p] = Infinity; x[C - 1 - p] = NaN; rows.push(x);
    x = base(); x[p] = Infinity; x[C - 1 - p] = -Infinity; rows.push(x);
    x = new Float32Array(C).fill(Infinity); rows.push(x);
  }
  if (C >= 2) rows.push(Float32Array.from({ length: C }, (_, j) => (j % 2 ? -3e38 : 3e38)));
  return rows;
}

const concat = (rows: Float32Array[]) => {
  const C = rows[0].length;
  const x = new Float32Array(rows.length * C);
  rows.forEach((row, i) => x.set(row, i * C));
  return x;
};

// ---- float64 reference (SEMANTICS.md) -----------------------------------------------------

const zOf = (x: ArrayLike<number>, T: number) => Array.from(x, (v) => (T === 1 ? v : Math.fround(v / T)));
function maxNaN(z: number[]): number {
  let m = -Infinity;
  for (const v of z) { if (Number.isNaN(v)) return NaN; if (v > m) m = v; }
  return m;
}
function refLse(row: ArrayLike<number>, T = 1): number {
  const z = zOf(row, T);
  const m = maxNaN(z);
  const mm = m === Infinity || m === -Infinity ? 0 : m;
  let s = 0;
  for (const v of z) s += Math.exp(v - mm);
  return Math.log(s) + mm;
}
function refSoftmax(row: ArrayLike<number>, T = 1, log = false): number[] {
  const z = zOf(row, T);
  const m = maxNaN(z);
  let s = 0;
  for (const v of z) s += Math.exp(v - m);
  return z.map((v) => (log ? v - m - Math.log(s) : Math.exp(v - m) / s));
}
const refSigmoid = (x: number) => (x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x)));
const refLogSigmoid = (x: number) => Math.min(x, 0) - Math.log1p(Math.exp(-Math.abs(x)));

/** Row statistics for §11: spread S of finite z, max finite |z|. */
function rowStats(row: ArrayLike<number>, T = 1) {
  let lo = Infinity, hi = -Infinity, zmax = 0;
  for (const v of zOf(row, T)) {
    if (!Number.isFinite(v)) continue;
    lo = Math.min(lo, v); hi = Math.max(hi, v); zmax = Math.max(zmax, Math.abs(v));
  }
  return lo > hi ? { S: 0, zmax: 0 } : { S: hi - lo, zmax };
}
function tolLog(C: number, S: number, zmax: number, T: number) {
  return { rtol: 2e-6 + 4 * U * Math.sqrt(C), atol: 1e-6 + 4 * U * S + 4 * U * Math.sqrt(C) + (T !== 1 ? 4 * U * zmax : 0) };
}
function tolProb(C: number, S: number, zmax: number, T: number, atol = 1e-36) {
  return { rtol: 2e-6 + 4 * U * Math.sqrt(C) + 2 * U * S + (T !== 1 ? 4 * U * zmax : 0), atol };
}

/**
 * §11 comparison; returns a description of the failure or '' (tolerance / headroom).
 * With T != 1 the kernel divides by f32(T) (as DESIGN asks) while the reference divides by
 * T in float64; rounding T to f32 spends part of the 4u|z|max term, so those checks get
 * headroom 3 instead of 4.
 */
function compare(got: number, exp: number, tol: { rtol: number; atol: number }, headroom = HEADROOM): string {
  const e32 = Math.fround(exp);
  if (Number.isNaN(e32) || !Number.isFinite(e32)) {
    return Object.is(got, e32) || (Number.isNaN(got) && Number.isNaN(e32)) ? '' : `got ${got}, want ${e32}`;
  }
  const bound = (tol.atol + tol.rtol * Math.abs(exp)) / headroom;
  return Math.abs(got - exp) <= bound ? '' : `got ${got}, want ${exp} (|err| ${Math.abs(got - exp)} > ${bound})`;
}

// ---- runners --------------------------------------------------------------------------

type RowOp = 'softmax' | 'logSoftmax';
function runRows(op: RowOp | 'logsumexp', x: Float32Array, C: number, T: number, opts: { inPlace?: boolean; skew?: number } = {}) {
  reset();
  const rows = x.length / C;
  const xp = putF32(x, opts.skew ?? 0);
  const n = op === 'logsumexp' ? rows : rows * C;
  const out = opts.inPlace ? xp : alloc(n * 4);
  k[op](xp, rows, C, T, out);
  return f32At(out, n);
}

function checkRows(op: RowOp | 'logsumexp', x: Float32Array, C: number, T: number, opts: { inPlace?: boolean; skew?: number } = {}) {
  const got = runRows(op, x, C, T, opts);
  const rows = x.length / C;
  const failures: string[] = [];
  for (let r = 0; r < rows && failures.length < 5; r++) {
    const row = x.subarray(r * C, (r + 1) * C);
    const { S, zmax } = rowStats(row, T);
    if (op === 'logsumexp') {
      const f = compare(got[r], refLse(row, T), tolLog(C, S, zmax, T), T === 1 ? HEADROOM : 3);
      if (f) failures.push(`row ${r}: ${f}`);
    } else {
      const exp = refSoftmax(row, T, op === 'logSoftmax');
      const tol = op === 'logSoftmax' ? tolLog(C, S, zmax, T) : tolProb(C, S, zmax, T);
      for (let j = 0; j < C; j++) {
        const f = compare(got[r * C + j], exp[j], tol, T === 1 ? HEADROOM : 3);
        if (f) { failures.push(`row ${r} [${j}]: ${f}`); break; }
      }
    }
  }
  expect(failures, `${op} C=${C} T=${T} ${JSON.stringify(opts)}`).toEqual([]);
}

const WIDTHS = [1, 2, 3, 4, 5, 7, 8, 15, 16, 17, 23, 24, 25, 31, 33, 1000];
const LONG = [32000, 128256];


// ---- sigmoid / logSigmoid / exp --------------------------------------------------------

function elementwise(op: 'sigmoid' | 'logSigmoid' | 'expArray', x: Float32Array, opts: { inPlace?: boolean; skew?: number } = {}) {
  reset();
  const xp = putF32(x, opts.skew ?? 0);
  const out = opts.inPlace ? xp : alloc(x.length * 4);
  k[op](xp, x.length, out);
  return f32At(out, x.length);
}

const specials = Float32Array.from([0, -0, 1, -1, Infinity, -Infinity, NaN, 3e38, -3e38, 1e-45, -1e-45, FLT_MIN,
  88.7, -88.7, 87.3, -87.3, 87.4, -87.4, 103, -103, 104, -104, 110, -110, 20, -20, 16.6, -16.6, 1e-8, -1e-8]);

function sweep(lo: number, hi: number, n: number): Float32Array {
  const x = new Float32Array(n);
  for (let i = 0; i < n; i++) x[i] = lo + ((hi - lo) * i) / (n - 1);
  return x;
}



// ---- argmax / topk ---------------------------------------------------------------------

/** a ranks above b (SEMANTICS §8). */
function ranksAbove(va: number, ia: number, vb: number, ib: number): boolean {
  const an = Number.isNaN(va), bn = Number.isNaN(vb);
  if (an || bn) return an && (!bn || ia < ib);
  if (va !== vb) return va > vb;
  return ia < ib;
}
function refArgmax(row: ArrayLike<number>): number {
  let b = 0;
  for (let j = 1; j < row.length; j++) if (ranksAbove(row[j], j, row[b], b)) b = j;
  return b;
}
function refTopk(row: Float32Array, kk: number): number[] {
  const idx = Array.from(row, (_, j) => j);
  idx.sort((a, b) => (ranksAbove(row[a], a, row[b], b) ? -1 : ranksAbove(row[b], b, row[a], a) ? 1 : 0));
  return idx.slice(0, kk);
}

/** Rows full of ties, NaNs, ±0, ±inf. */
function tieRows(C: number, count: number, seed: number): Float32Array[] {
  const r = rng(seed);
  const pool = [0, -0, 1, -1, 2, Infinity, -Infinity, NaN, 0.5, 3e38];
  const rows: Float32Array[] = [];
  for (let i = 0; i < count; i++) {
    const mode = i % 4;
    rows.push(Float32Array.from({ length: C }, () =>
      mode === 0 ? pool[Math.floor(r.uniform() * pool.length)]
        : mode === 1 ? Math.floor(r.uniform() * 3)
          : mode === 2 ? (r.uniform() < 0.5 ? -0 : 0)
            : r.normal()));
  }
  rows.push(new Float32Array(C).fill(-Infinity));
  rows.push(new Float32Array(C).fill(NaN));
  const late = new Float32Array(C).fill(1); late[C - 1] = NaN; rows.push(late);
  const neg = new Float32Array(C).fill(0); neg[0] = -0; rows.push(neg);
  return rows;
}

for (const build of BUILDS) {
  describe(build, () => {
    beforeAll(() => load(build));

    describe('logsumexp / softmax / logSoftmax', () => {
      for (const op of ['logsumexp', 'softmax', 'logSoftmax'] as const) {
        it(`${op}: SEMANTICS edge rows, batched (four-rows-per-lane path) and one row at a time`, () => {
          for (const C of WIDTHS) {
            const rows = edgeRows(C);
            checkRows(op, concat(rows), C, 1);
            for (const row of rows) checkRows(op, row, C, 1);
          }
        });
        it(`${op}: random rows, lengths 1..128256, rows not a multiple of 4`, () => {
          for (const C of [...WIDTHS, ...LONG]) {
            const rows = C >= 1000 ? 2 : 7;
            checkRows(op, randomRows(rows, C, C + 1), C, 1);
          }
        });
        it(`${op}: temperature (f32 path, f64 path for T outside f32 normals, T = 1 exact)`, () => {
          for (const C of [1, 3, 7, 17, 1000]) {
            const x = randomRows(9, C, 100 + C);
            for (const T of [0.5, 2, 0.7, 3.3, 1e-3, 1e-39, 1e39, 1e-300]) checkRows(op, x, C, T);
            checkRows(op, concat(edgeRows(C)), C, 0.7);
            checkRows(op, concat(edgeRows(C)), C, 1e-39);
          }
        });
        it(`${op}: unaligned (4-byte) input pointer`, () => {
          for (const C of [3, 17, 1000]) checkRows(op, randomRows(5, C, 7 * C), C, 1, { skew: 4 });
        });
      }

      it('softmax and logSoftmax in place (out == x), all paths', () => {
        for (const op of ['softmax', 'logSoftmax'] as const) {
          for (const C of [1, 3, 5, 17, 1000, 32000]) {
            checkRows(op, randomRows(6, C, 3 * C), C, 1, { inPlace: true });
            checkRows(op, randomRows(6, C, 3 * C), C, 0.7, { inPlace: true });
            checkRows(op, concat(edgeRows(C)), C, 1, { inPlace: true, skew: 4 });
          }
        }
      });

      it('a row gives the same bits whatever batch it is in (thread splits, partial row groups)', () => {
        for (const op of ['logsumexp', 'softmax', 'logSoftmax'] as const) {
          for (const C of [1, 3, 10, 23, 24, 100]) {
            const x = randomRows(11, C, 5 * C);
            x[2 * C] = NaN; x[7 * C + 1] = Infinity;
            const whole = runRows(op, x, C, 1);
            const per = op === 'logsumexp' ? 1 : C;
            for (const [from, to] of [[0, 1], [0, 2], [3, 6], [5, 11], [10, 11], [1, 10]]) {
              const part = runRows(op, x.slice(from * C, to * C), C, 1);
              const bits = (a: Float32Array) => Array.from(new Uint32Array(a.buffer, a.byteOffset, a.length), (u, i) => (Number.isNaN(a[i]) ? 'NaN' : u)); // any NaN equals any NaN: its sign is the engine's
              expect(bits(part), `${op} C=${C} rows ${from}..${to}`).toEqual(bits(whole.slice(from * per, to * per)));
            }
          }
        }
      });

      it('short rows, every C % 4 of the transposed four-row groups: same bits in any batch, in place, tolerances', () => {
        // Whole groups of four rows with 4..32 classes go through 4x4 transposes with an
        // overlapping last block; partial groups and rows cut out alone gather lane by lane.
        const bits = (a: Float32Array) => Array.from(new Uint32Array(a.buffer, a.byteOffset, a.length), (u, i) => (Number.isNaN(a[i]) ? 'NaN' : u)); // any NaN equals any NaN: its sign is the engine's
        for (const op of ['logsumexp', 'softmax', 'logSoftmax'] as const) {
          for (const C of [4, 5, 6, 7, 9, 10, 11, 12, 13, 14, 18, 19, 21, 22, 26, 29, 30, 32]) {
            const x = randomRows(13, C, 11 * C);
            x[1 * C + (C - 1)] = NaN; // NaN in the last (overlapping) column of a whole group
            x[5 * C + (C - 2)] = Infinity;
            x[9 * C] = -Infinity;
            for (let j = 0; j < C; j++) x[10 * C + j] = -Infinity; // an all -inf row
            checkRows(op, x, C, 1);
            checkRows(op, x, C, 0.7);
            const whole = runRows(op, x, C, 1);
            const per = op === 'logsumexp' ? 1 : C;
            for (const [from, to] of [[0, 1], [1, 2], [0, 3], [2, 6], [4, 13], [12, 13]]) {
              const part = runRows(op, x.slice(from * C, to * C), C, 1);
              expect(bits(part), `${op} C=${C} rows ${from}..${to}`).toEqual(bits(whole.slice(from * per, to * per)));
            }
            if (op !== 'logsumexp') {
              const inPlace = runRows(op, x, C, 1, { inPlace: true });
              expect(bits(inPlace), `${op} C=${C} in place`).toEqual(bits(whole));
              checkRows(op, x, C, 1, { inPlace: true, skew: 4 });
            }
          }
        }
      });

      it('rows = 0 / n = 0 / k = 0 touch nothing', () => {
        reset();
        const xp = putF32(Float32Array.from([1, 2, 3, 4]));
        const out = alloc(64);
        const guard = new Uint32Array(memory.buffer, out, 16);
        guard.fill(0xdeadbeef);
        for (const T of [1, 0.5, 1e-39]) {
          k.logsumexp(xp, 0, 4, T, out); k.softmax(xp, 0, 4, T, out); k.logSoftmax(xp, 0, 4, T, out);
          k.logsumexp(xp, 0, 40, T, out); k.softmax(xp, 0, 40, T, out); k.logSoftmax(xp, 0, 40, T, out);
        }
        k.sigmoid(xp, 0, out); k.logSigmoid(xp, 0, out); k.expArray(xp, 0, out);
        k.argmax(xp, 0, 4, out); k.topk(xp, 0, 4, 2, out, out + 32); k.topk(xp, 1, 4, 0, out, out + 32);
        expect(Array.from(new Uint32Array(memory.buffer, out, 16)).every((v) => v === 0xdeadbeef)).toBe(true);
      });

      it('logsumexp of a 128,256-wide row is within 2e-6 of float64', () => {
        for (const [scale, offset, seed] of [[1, 0, 1], [4, 0, 2], [10, 0, 3], [1, 1e4, 4], [0.01, -30, 5]]) {
          const x = randomRows(1, 128256, seed, scale, offset);
          const got = runRows('logsumexp', x, 128256, 1)[0];
          const want = refLse(x);
          // 2e-6 absolute; at offset 1e4 the float32 result itself is only good to half an ulp (4.9e-4).
          const bound = 2e-6 + (offset > 1000 ? 2 ** (Math.floor(Math.log2(want)) - 24) : 0);
          expect(Math.abs(got - want), `scale ${scale} offset ${offset}`).toBeLessThanOrEqual(bound);
        }
      });

      it('logSoftmax is shift invariant: a 1e6 + N(0,1) row', () => {
        for (const C of [10, 1000, 32000]) checkRows('logSoftmax', randomRows(3, C, 11, 1, 1e6), C, 1);
        const x = randomRows(1, 1000, 12, 1, 1e6);
        const got = runRows('logSoftmax', x, 1000, 1);
        const exp = refSoftmax(x, 1, true);
        let worst = 0;
        for (let j = 0; j < 1000; j++) worst = Math.max(worst, Math.abs(got[j] - exp[j]));
        expect(worst).toBeLessThan(1e-5); // z - (m + log s) would be off by ~0.06 here
      });

      it('softmax rows sum to 1 and C = 1 gives exactly [1] / [0]', () => {
        const x = randomRows(5, 4096, 99);
        const p = runRows('softmax', x, 4096, 1);
        for (let r = 0; r < 5; r++) {
          let s = 0;
          for (let j = 0; j < 4096; j++) s += p[r * 4096 + j];
          expect(Math.abs(s - 1)).toBeLessThan(1e-5);
        }
        const one = Float32Array.from([5, -3e38, 3e38, 0, -0, 1e-30, 17]);
        expect(Array.from(runRows('softmax', one, 1, 1))).toEqual([1, 1, 1, 1, 1, 1, 1]);
        expect(Array.from(runRows('logSoftmax', one, 1, 1)).every((v) => v === 0)).toBe(true);
        expect(Array.from(runRows('logsumexp', one, 1, 1))).toEqual(Array.from(one, (v) => Math.fround(refLse([v]))));
      });
    });
    describe('sigmoid / logSigmoid', () => {
      const inputs = [specials, sweep(-120, 120, 200001), randomRows(1, 1001, 5, 10)];
      it('sigmoid matches float64 (probability tolerance, atol = FLT_MIN), special values exact', () => {
        for (const x of inputs) {
          for (const opts of [{}, { inPlace: true }, { skew: 4 }]) {
            const got = elementwise('sigmoid', x, opts);
            const failures: string[] = [];
            for (let i = 0; i < x.length && failures.length < 5; i++) {
              const f = compare(got[i], refSigmoid(x[i]), tolProb(1, 0, 0, 1, FLT_MIN));
              if (f) failures.push(`x=${x[i]}: ${f}`);
            }
            expect(failures).toEqual([]);
          }
        }
        const s = elementwise('sigmoid', Float32Array.from([Infinity, -Infinity, NaN, 0, -0]));
        expect(Array.from(s)).toEqual([1, 0, NaN, 0.5, 0.5]);
      });

      it('logSigmoid matches float64 (log tolerance) and keeps relative precision at both ends', () => {
        for (const x of inputs) {
          for (const opts of [{}, { inPlace: true }, { skew: 4 }]) {
            const got = elementwise('logSigmoid', x, opts);
            const failures: string[] = [];
            for (let i = 0; i < x.length && failures.length < 5; i++) {
              const f = compare(got[i], refLogSigmoid(x[i]), tolLog(1, 0, 0, 1));
              if (f) failures.push(`x=${x[i]}: ${f}`);
            }
            expect(failures).toEqual([]);
          }
        }
        // Relative precision: log_sigmoid(x) ≈ -exp(-x) for x >> 0 (incl. subnormal results), ≈ x for x << 0.
        const x = Float32Array.from([...sweep(5, 103, 20001), ...sweep(-200, -5, 20001)]);
        const got = elementwise('logSigmoid', x);
        let worst = 0;
        for (let i = 0; i < x.length; i++) {
          const e = refLogSigmoid(x[i]);
          const ulp = Math.abs(e) < FLT_MIN ? 2 ** -149 : 2 ** (Math.floor(Math.log2(Math.abs(e))) - 23);
          worst = Math.max(worst, Math.abs(got[i] - e) / ulp);
        }
        expect(worst).toBeLessThanOrEqual(4);
        expect(Array.from(elementwise('logSigmoid', Float32Array.from([Infinity, -Infinity, NaN, 0])))).toEqual([0, -Infinity, NaN, -Math.fround(Math.LN2)]);
      });
    });
    describe('expArray', () => {
      it('is within 1.2 ulp of Math.exp over [-104, 89] and exact on special values', () => {
        const x = Float32Array.from([...sweep(-104, 89, 400001), ...sweep(-1, 1, 100001), ...specials]);
        const got = elementwise('expArray', x);
        let worst = 0;
        for (let i = 0; i < x.length; i++) {
          const e = Math.exp(x[i]);
          const r = Math.fround(e);
          if (Number.isNaN(r) || r === Infinity || r === 0) {
            if (!(Object.is(got[i], r) || (Number.isNaN(r) && Number.isNaN(got[i])) || (r === 0 && got[i] <= 2 ** -149))) {
              throw new Error(`exp(${x[i]}) = ${got[i]}, want ${r}`);
            }
            continue;
          }
          const ulp = Math.abs(e) < FLT_MIN ? 2 ** -149 : 2 ** (Math.floor(Math.log2(e)) - 23);
          worst = Math.max(worst, Math.abs(got[i] - e) / ulp);
        }
        expect(worst).toBeLessThanOrEqual(1.2); // measured over the whole float32 range: 1.17 (plain), 0.86 (FMA)
        expect(Array.from(elementwise('expArray', Float32Array.from([-Infinity, Infinity, NaN, 0, -0, 89, 1000, -1000]))))
          .toEqual([0, Infinity, NaN, 1, 1, Infinity, Infinity, 0]);
        // in place, unaligned
        const y = sweep(-50, 50, 1003);
        const inPlace = elementwise('expArray', y, { inPlace: true, skew: 4 });
        expect(Array.from(inPlace)).toEqual(Array.from(elementwise('expArray', y)));
      });
    });
    describe('argmax', () => {
      it('first maximum, first NaN wins, -0 ties +0, all -inf gives 0; every path', () => {
        for (const C of [1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 33, 1000, 32000]) {
          const rows = tieRows(C, C > 1000 ? 8 : 40, C);
          for (const x of [concat(rows), ...rows.slice(0, 6).map((r) => r)]) {
            for (const skew of [0, 4]) {
              reset();
              const n = x.length / C;
              const xp = putF32(x, skew);
              const out = alloc(n * 4);
              k.argmax(xp, n, C, out);
              const got = Array.from(i32At(out, n));
              const want = Array.from({ length: n }, (_, r) => refArgmax(x.subarray(r * C, (r + 1) * C)));
              expect(got, `C=${C}`).toEqual(want);
            }
          }
        }
      });
    });
    describe('topk', () => {
      it('descending, NaN above +inf, ties lower index first, values bit-exact; k = 0, 1, 3, C', () => {
        for (const C of [1, 2, 3, 5, 7, 17, 100, 1000]) {
          const rows = [...tieRows(C, 12, 17 * C), ...Array.from({ length: 3 }, (_, i) => randomRows(1, C, 1000 + i))];
          // a NaN with a payload and a negative NaN must come out bit for bit
          const payload = new Float32Array(C).fill(1);
          new Uint32Array(payload.buffer)[C >> 1] = 0x7fc00123;
          new Uint32Array(payload.buffer)[C - 1] = 0xffc00000;
          rows.push(payload);
          const x = concat(rows);
          const n = rows.length;
          for (const kk of new Set([0, 1, Math.min(3, C), C])) {
            reset();
            const xp = putF32(x, 4);
            const vals = alloc(n * kk * 4 + 4);
            const idxs = alloc(n * kk * 4 + 4);
            // guard words after the outputs must survive (k = 0 writes nothing)
            new Uint32Array(memory.buffer, vals + n * kk * 4, 1)[0] = 0xdeadbeef;
            k.topk(xp, n, C, kk, vals, idxs);
            expect(new Uint32Array(memory.buffer, vals + n * kk * 4, 1)[0]).toBe(0xdeadbeef);
            const gotIdx = i32At(idxs, n * kk);
            const gotBits = u32At(vals, n * kk);
            const xBits = new Uint32Array(x.buffer);
            for (let r = 0; r < n; r++) {
              const want = refTopk(x.subarray(r * C, (r + 1) * C), kk);
              expect(Array.from(gotIdx.subarray(r * kk, (r + 1) * kk)), `C=${C} k=${kk} row ${r}`).toEqual(want);
              expect(Array.from(gotBits.subarray(r * kk, (r + 1) * kk))).toEqual(want.map((j) => xBits[r * C + j]));
            }
          }
        }
      });

      it('large row, small k (the vector skip path)', () => {
        const C = 128256;
        const x = randomRows(2, C, 77);
        x[5] = NaN; x[C + 100] = Infinity; x[C + 101] = Infinity;
        reset();
        const xp = putF32(x);
        const vals = alloc(2 * 50 * 4);
        const idxs = alloc(2 * 50 * 4);
        k.topk(xp, 2, C, 50, vals, idxs);
        const got = i32At(idxs, 100);
        for (let r = 0; r < 2; r++) {
          expect(Array.from(got.subarray(r * 50, r * 50 + 50))).toEqual(refTopk(x.subarray(r * C, (r + 1) * C), 50));
        }
      });
    });

    describe('crossEntropyClass short rows: a row\'s bits do not depend on its group', () => {
      // Whole groups of four rows take the transposed path and store four rows' results at once
      // (storeClassGroup), a last partial group the per-lane one (storeClassRow): every output,
      // the f64 per-row parts of 'mean'/'sum' included, must be the same bits for the same row.
      it.each([4, 5, 10, 17, 32])('C = %i: 9 rows against each row alone (weights, smoothing, ignored, -inf, NaN, +inf)', (C) => {
        const R = 9;
        const r = rng(C * 31);
        const rows = Array.from({ length: R }, () => Float32Array.from({ length: C }, () => 4 * r.normal()));
        rows[1]![2] = -Infinity;
        rows[2]![0] = NaN;
        rows[3]!.fill(-Infinity);
        rows[5]![1] = Infinity;
        const targets = Array.from({ length: R }, (_, i) => (i * 3) % C);
        targets[4] = -100;
        const w = Float32Array.from({ length: C }, (_, j) => (j % 3 === 0 ? 0 : 2 * r.uniform()));
        for (const [weighted, eps, lossOut] of [[0, 0, 1], [0, 0.1, 1], [1, 0.1, 1], [0, 0, 0], [0, 0.1, 0], [1, 0.1, 0], [1, 0, 0]] as const) {
          const run = (list: Float32Array[], t: number[]) => {
            reset();
            const xp = putF32(concat(list));
            const tp = alloc(4 * list.length);
            new Int32Array(memory.buffer, tp, list.length).set(t);
            const wp = putF32(w);
            const nll = alloc(8 * list.length);
            const smooth = alloc(8 * list.length);
            new Uint8Array(memory.buffer, nll, 16 * list.length).fill(0xaa);
            const sumW = weighted ? w.reduce((a, b) => a + b, 0) : C;
            k.crossEntropyClass(xp, list.length, C, tp, -100, weighted, wp, eps, sumW, nll, smooth, lossOut);
            const per = lossOut ? 1 : 2; // u32 words per row: an f32 loss, or an f64 nll
            const words = u32At(nll, per * list.length);
            const sm = u32At(smooth, 2 * list.length);
            return list.map((_, i) => [...words.subarray(per * i, per * i + per), ...(lossOut || !eps ? [] : sm.subarray(2 * i, 2 * i + 2))]);
          };
          const all = run(rows, targets);
          rows.forEach((row, i) => expect(all[i], `row ${i}, weighted ${weighted}, ε ${eps}, lossOut ${lossOut}`).toEqual(run([row], [targets[i]!])[0]));
        }
      });
    });
  });
}

describeOnce('float64 reference of this file (SEMANTICS §1, §2)', () => {
  it('matches values worked out by hand, edge rows included', () => {
    expect(refLse([0, 0])).toBeCloseTo(Math.LN2, 15);
    expect(refLse([1000, 1000])).toBeCloseTo(1000 + Math.LN2, 12);
    expect(refLse([-Infinity, -Infinity])).toBe(-Infinity);
    expect(refLse([Infinity, 1])).toBe(Infinity);
    expect(refLse([Infinity, NaN])).toBeNaN();
    expect(refLse([2, 4], 2)).toBeCloseTo(Math.log(Math.E + Math.E ** 2), 14);
    const p = refSoftmax([1, 2, 3]);
    const e = [Math.E, Math.E ** 2, Math.E ** 3];
    const sum = e[0]! + e[1]! + e[2]!;
    p.forEach((v, i) => expect(v).toBeCloseTo(e[i]! / sum, 15));
    refSoftmax([1, 2, 3], 1, true).forEach((v, i) => expect(v).toBeCloseTo(Math.log(e[i]! / sum), 14));
    expect(refSoftmax([-Infinity, -Infinity]).every(Number.isNaN)).toBe(true);
    expect(refSigmoid(0)).toBe(0.5);
    expect(refLogSigmoid(-800)).toBe(-800);
  });
});

// The relaxed build's exp (FMA), swept where this run has that build: the `wasm relaxed`
// project validates it on every Node (flagged on Node 20 by vitest.config.ts).
if (BUILDS.includes('logitkit-relaxed.wasm')) {
  describe('relaxed-SIMD build (FMA exp)', () => {
    it('exp stays within 1 ulp and exact on special values', async () => {
      const relaxedFile = join(root, 'build', 'logitkit-relaxed.wasm');
      expect(WebAssembly.validate(readFileSync(relaxedFile)), 'the wasm relaxed project must validate the relaxed build').toBe(true);
      const script = join(root, 'scripts', 'exp-accuracy.js');
      type Sweep = { specialFailures: number; maxUlpNormal: number; maxUlpSubnormal: number; checked: number };
      const { expAccuracy } = (await import(script)) as { expAccuracy(wasm: string, step: number): Promise<Sweep> };
      const r = await expAccuracy(relaxedFile, 4099);
      expect(r.checked).toBeGreaterThan(1_000_000);
      expect(r.specialFailures).toBe(0);
      expect(r.maxUlpNormal).toBeLessThanOrEqual(1);
      expect(r.maxUlpSubnormal).toBeLessThanOrEqual(1);
    });
  });
}
