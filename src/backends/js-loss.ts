// PLACEHOLDER — replaced by the losses work (issue 3). Reference implementations of
// cross-entropy (class and probability targets), its gradient, BCE with logits,
// entropy and KL divergence, in float64, straight from SEMANTICS.md §4–7, §9.
import type { BceArgs, CrossEntropyTarget, Reduction } from './backend.js';

const todo = (op: string): never => {
  throw new Error(`${op}: not implemented yet`);
};
export function crossEntropy(_x: Float32Array, _rows: number, _classes: number, _t: CrossEntropyTarget, _r: Reduction, _out: Float32Array | null): number {
  return todo('crossEntropy');
}
export function crossEntropyWithGrad(_x: Float32Array, _rows: number, _classes: number, _t: CrossEntropyTarget, _r: 'sum' | 'mean', _grad: Float32Array): number {
  return todo('crossEntropyWithGrad');
}
export function bceWithLogits(_x: Float32Array, _t: Float32Array, _a: BceArgs, _r: Reduction, _out: Float32Array | null): number {
  return todo('bceWithLogits');
}
export function entropy(_x: Float32Array, _rows: number, _classes: number, _out: Float32Array): void {
  todo('entropy');
}
export function klDiv(_p: Float32Array, _q: Float32Array, _rows: number, _classes: number, _out: Float32Array): number {
  return todo('klDiv');
}
