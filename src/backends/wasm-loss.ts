// PLACEHOLDER — replaced by the losses work (issue 3): calls into assembly/kernels/loss.ts.
import type { BceArgs, CrossEntropyTarget, Reduction } from './backend.js';
import type { WasmBackend } from './wasm.js';

const todo = (op: string): never => {
  throw new Error(`${op}: not implemented yet`);
};
export function crossEntropy(_w: WasmBackend, _x: Float32Array, _rows: number, _classes: number, _t: CrossEntropyTarget, _r: Reduction, _out: Float32Array | null): number {
  return todo('crossEntropy');
}
export function crossEntropyWithGrad(_w: WasmBackend, _x: Float32Array, _rows: number, _classes: number, _t: CrossEntropyTarget, _r: 'sum' | 'mean', _grad: Float32Array): number {
  return todo('crossEntropyWithGrad');
}
export function bceWithLogits(_w: WasmBackend, _x: Float32Array, _t: Float32Array, _a: BceArgs, _r: Reduction, _out: Float32Array | null): number {
  return todo('bceWithLogits');
}
export function entropy(_w: WasmBackend, _x: Float32Array, _rows: number, _classes: number, _out: Float32Array): void {
  todo('entropy');
}
export function klDiv(_w: WasmBackend, _p: Float32Array, _q: Float32Array, _rows: number, _classes: number, _out: Float32Array): number {
  return todo('klDiv');
}
