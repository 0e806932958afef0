// Per-pass micro-kernels for bench/micro/run.js (issue 12.2): each export runs ONE pass of
// the softmax family over `rows` rows, in the loop shapes of assembly/kernels/softmax.ts, so
// that a pass can be timed and disassembled on its own. Variants of the exp-and-sum pass
// differ only in where the exp's constants come from:
//   expSumSplat   — f32x4.splat(constant) at every use (as math/exp.ts did),
//   expSumHoisted — the constants read from a table in memory once per row, before the loop,
//   expSumTable   — the constants read from the table where they are used (what math/exp.ts
//                   does now; V8 loads each once per loop iteration).
// Built by bench/micro/build.js into bench/micro/build/ (never part of the shipped builds).
import { expNonPositiveP5F32x4 } from '../../assembly/math/exp';
import { rowMax } from '../../assembly/kernels/rows';

export function maxPass(xPtr: usize, rows: i32, n: i32, outPtr: usize): void {
  for (let r = 0; r < rows; r++) store<f32>(outPtr + (<usize>r << 2), rowMax(xPtr + <usize>r * (<usize>n << 2), n, false, 1.0));
}

// @ts-ignore: decorator
@inline
function expSumRowSplat(p: usize, dst: usize, n: i32, m: f32, storeExp: bool): f64 {
  let mv = f32x4.splat(m);
  let a0 = f32x4.splat(0.0);
  let a1 = a0;
  let i = 0;
  for (; i + 16 <= n; i += 16) {
    let q = p + (<usize>i << 2);
    let e0 = expNonPositiveP5F32x4(f32x4.sub(v128.load(q), mv));
    let e1 = expNonPositiveP5F32x4(f32x4.sub(v128.load(q, 16), mv));
    let e2 = expNonPositiveP5F32x4(f32x4.sub(v128.load(q, 32), mv));
    let e3 = expNonPositiveP5F32x4(f32x4.sub(v128.load(q, 48), mv));
    if (storeExp) {
      let d = dst + (<usize>i << 2);
      v128.store(d, e0);
      v128.store(d, e1, 16);
      v128.store(d, e2, 32);
      v128.store(d, e3, 48);
    }
    a0 = f32x4.add(f32x4.add(a0, e0), e2);
    a1 = f32x4.add(f32x4.add(a1, e1), e3);
  }
  a0 = f32x4.add(a0, a1);
  return <f64>f32x4.extract_lane(a0, 0) + <f64>f32x4.extract_lane(a0, 1) + <f64>f32x4.extract_lane(a0, 2) + <f64>f32x4.extract_lane(a0, 3);
}

// The same constants as math/exp.ts (degree-5 exp), splatted in a table.
const K = memory.data<u32>([
  0xC2B00000, 0xC2B00000, 0xC2B00000, 0xC2B00000, // -88
  0x3FB8AA3B, 0x3FB8AA3B, 0x3FB8AA3B, 0x3FB8AA3B, // log2 e
  0x4B40007F, 0x4B40007F, 0x4B40007F, 0x4B40007F, // magic bias
  0xBF317200, 0xBF317200, 0xBF317200, 0xBF317200, // -ln2 hi
  0xB5BFBE8E, 0xB5BFBE8E, 0xB5BFBE8E, 0xB5BFBE8E, // -ln2 lo
  0x3F7FFFFB, 0x3F7FFFFB, 0x3F7FFFFB, 0x3F7FFFFB, // D1
  0x3EFFFEE3, 0x3EFFFEE3, 0x3EFFFEE3, 0x3EFFFEE3, // D2
  0x3E2AAD35, 0x3E2AAD35, 0x3E2AAD35, 0x3E2AAD35, // D3
  0x3D2B9D2A, 0x3D2B9D2A, 0x3D2B9D2A, 0x3D2B9D2A, // D4
  0x3C07D41B, 0x3C07D41B, 0x3C07D41B, 0x3C07D41B, // D5
], 16);

// @ts-ignore: decorator
@inline
function madd(a: v128, b: v128, c: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return f32x4.relaxed_madd(a, b, c);
  return f32x4.add(f32x4.mul(a, b), c);
}

// @ts-ignore: decorator
@inline
function expK(input: v128, floor: v128, log2e: v128, magic: v128, hi: v128, lo: v128, d1: v128, d2: v128, d3: v128, d4: v128, d5: v128): v128 {
  let x = f32x4.pmax(input, floor);
  let biased = madd(x, log2e, magic);
  let s = i32x4.shl(biased, 23);
  let n = f32x4.sub(biased, magic);
  let t = madd(n, hi, x);
  t = madd(n, lo, t);
  let t2 = f32x4.mul(t, t);
  let h = madd(d5, t, d4);
  h = madd(h, t, d3);
  let l = madd(d2, t, d1);
  let q = madd(h, t2, l);
  return madd(f32x4.mul(t, s), q, s);
}

// @ts-ignore: decorator
@inline
function expSumRowHoisted(p: usize, dst: usize, n: i32, m: f32, storeExp: bool): f64 {
  let floor = v128.load(K), log2e = v128.load(K, 16), magic = v128.load(K, 32), hi = v128.load(K, 48), lo = v128.load(K, 64);
  let d1 = v128.load(K, 80), d2 = v128.load(K, 96), d3 = v128.load(K, 112), d4 = v128.load(K, 128), d5 = v128.load(K, 144);
  let mv = f32x4.splat(m);
  let a0 = f32x4.splat(0.0);
  let a1 = a0;
  let i = 0;
  for (; i + 16 <= n; i += 16) {
    let q = p + (<usize>i << 2);
    let e0 = expK(f32x4.sub(v128.load(q), mv), floor, log2e, magic, hi, lo, d1, d2, d3, d4, d5);
    let e1 = expK(f32x4.sub(v128.load(q, 16), mv), floor, log2e, magic, hi, lo, d1, d2, d3, d4, d5);
    let e2 = expK(f32x4.sub(v128.load(q, 32), mv), floor, log2e, magic, hi, lo, d1, d2, d3, d4, d5);
    let e3 = expK(f32x4.sub(v128.load(q, 48), mv), floor, log2e, magic, hi, lo, d1, d2, d3, d4, d5);
    if (storeExp) {
      let d = dst + (<usize>i << 2);
      v128.store(d, e0);
      v128.store(d, e1, 16);
      v128.store(d, e2, 32);
      v128.store(d, e3, 48);
    }
    a0 = f32x4.add(f32x4.add(a0, e0), e2);
    a1 = f32x4.add(f32x4.add(a1, e1), e3);
  }
  a0 = f32x4.add(a0, a1);
  return <f64>f32x4.extract_lane(a0, 0) + <f64>f32x4.extract_lane(a0, 1) + <f64>f32x4.extract_lane(a0, 2) + <f64>f32x4.extract_lane(a0, 3);
}


// @ts-ignore: decorator
@inline
function expTable(input: v128): v128 {
  return expK(input, v128.load(K), v128.load(K, 16), v128.load(K, 32), v128.load(K, 48), v128.load(K, 64),
    v128.load(K, 80), v128.load(K, 96), v128.load(K, 112), v128.load(K, 128), v128.load(K, 144));
}

// @ts-ignore: decorator
@inline
function expSumRowTable(p: usize, dst: usize, n: i32, m: f32, storeExp: bool): f64 {
  let mv = f32x4.splat(m);
  let a0 = f32x4.splat(0.0);
  let a1 = a0;
  let i = 0;
  for (; i + 16 <= n; i += 16) {
    let q = p + (<usize>i << 2);
    let e0 = expTable(f32x4.sub(v128.load(q), mv));
    let e1 = expTable(f32x4.sub(v128.load(q, 16), mv));
    let e2 = expTable(f32x4.sub(v128.load(q, 32), mv));
    let e3 = expTable(f32x4.sub(v128.load(q, 48), mv));
    if (storeExp) {
      let d = dst + (<usize>i << 2);
      v128.store(d, e0);
      v128.store(d, e1, 16);
      v128.store(d, e2, 32);
      v128.store(d, e3, 48);
    }
    a0 = f32x4.add(f32x4.add(a0, e0), e2);
    a1 = f32x4.add(f32x4.add(a1, e1), e3);
  }
  a0 = f32x4.add(a0, a1);
  return <f64>f32x4.extract_lane(a0, 0) + <f64>f32x4.extract_lane(a0, 1) + <f64>f32x4.extract_lane(a0, 2) + <f64>f32x4.extract_lane(a0, 3);
}
export function expSumTable(xPtr: usize, rows: i32, n: i32, outPtr: usize): void {
  for (let r = 0; r < rows; r++) store<f64>(outPtr + (<usize>r << 3), expSumRowTable(xPtr + <usize>r * (<usize>n << 2), 0, n, 0, false));
}
export function expSumStoreTable(xPtr: usize, rows: i32, n: i32, outPtr: usize): void {
  for (let r = 0; r < rows; r++) {
    let off = <usize>r * (<usize>n << 2);
    expSumRowTable(xPtr + off, outPtr + off, n, 0, true);
  }
}

// Rows are multiples of 16 wide here: the passes' main loops are what is measured.
export function expSumSplat(xPtr: usize, rows: i32, n: i32, outPtr: usize): void {
  for (let r = 0; r < rows; r++) store<f64>(outPtr + (<usize>r << 3), expSumRowSplat(xPtr + <usize>r * (<usize>n << 2), 0, n, 0, false));
}
export function expSumStoreSplat(xPtr: usize, rows: i32, n: i32, outPtr: usize): void {
  for (let r = 0; r < rows; r++) {
    let off = <usize>r * (<usize>n << 2);
    expSumRowSplat(xPtr + off, outPtr + off, n, 0, true);
  }
}
export function expSumHoisted(xPtr: usize, rows: i32, n: i32, outPtr: usize): void {
  for (let r = 0; r < rows; r++) store<f64>(outPtr + (<usize>r << 3), expSumRowHoisted(xPtr + <usize>r * (<usize>n << 2), 0, n, 0, false));
}
export function expSumStoreHoisted(xPtr: usize, rows: i32, n: i32, outPtr: usize): void {
  for (let r = 0; r < rows; r++) {
    let off = <usize>r * (<usize>n << 2);
    expSumRowHoisted(xPtr + off, outPtr + off, n, 0, true);
  }
}

export function scalePass(xPtr: usize, rows: i32, n: i32, outPtr: usize): void {
  let sv = f32x4.splat(0.5);
  let total = <usize>rows * <usize>n;
  for (let i: usize = 0; i + 16 <= total; i += 16) {
    let q = outPtr + (i << 2);
    v128.store(q, f32x4.mul(v128.load(q), sv));
    v128.store(q, f32x4.mul(v128.load(q, 16), sv), 16);
    v128.store(q, f32x4.mul(v128.load(q, 32), sv), 32);
    v128.store(q, f32x4.mul(v128.load(q, 48), sv), 48);
  }
}

export function heapBase(): usize {
  return (__heap_base + 15) & ~15;
}
