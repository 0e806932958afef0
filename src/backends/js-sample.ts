// PLACEHOLDER — replaced by the generation work (issue 7): logits processors and
// sampling in the Hugging Face order (repetition penalty → temperature → top-k → top-p → min-p).
import type { FilterOptions } from './backend.js';

export function filterLogits(_x: Float32Array, _rows: number, _classes: number, _o: FilterOptions, _out: Float32Array): void {
  throw new Error('filterLogits: not implemented yet');
}
export function sample(_x: Float32Array, _rows: number, _classes: number, _o: FilterOptions, _u: Float64Array, _out: Int32Array): void {
  throw new Error('sample: not implemented yet');
}
