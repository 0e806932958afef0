// The float32 logs of assembly/math/log.ts over an array, for bench/micro/log-accuracy.js
// (built by that script into bench/micro/build/; never part of the shipped builds).
import { logPositiveF32x4, logLowLanesF64x2, logHighLanesF64x2 } from '../../assembly/math/log';

/** out[i] = logPositiveF32x4(x[i]), n a multiple of 4. */
export function logF32x4(xPtr: usize, n: i32, outPtr: usize): void {
  for (let i = 0; i < n; i += 4) {
    let off = <usize>i << 2;
    v128.store(outPtr + off, logPositiveF32x4(v128.load(xPtr + off)));
  }
}

/** out[i] = f32(log(f64(x[i]))) through the f64x2 log the kernels used before (reference of cost). */
export function logViaF64x2(xPtr: usize, n: i32, outPtr: usize): void {
  for (let i = 0; i < n; i += 4) {
    let off = <usize>i << 2;
    let s = v128.load(xPtr + off);
    let lo = f32x4.demote_f64x2_zero(logLowLanesF64x2(s));
    let hi = f32x4.demote_f64x2_zero(logHighLanesF64x2(s));
    v128.store(outPtr + off, v128.shuffle<f32>(lo, hi, 0, 1, 4, 5));
  }
}

export function heapBase(): usize {
  return __heap_base;
}
