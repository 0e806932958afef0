// PLACEHOLDER — replaced by the generation work (issue 7): calls into assembly/kernels/sample.ts.
import type { FilterOptions } from './backend.js';
import type { WasmBackend } from './wasm.js';

export function filterLogits(_w: WasmBackend, _x: Float32Array, _rows: number, _classes: number, _o: FilterOptions, _out: Float32Array): void {
  throw new Error('filterLogits: not implemented yet');
}
export function sample(_w: WasmBackend, _x: Float32Array, _rows: number, _classes: number, _o: FilterOptions, _u: Float64Array, _out: Int32Array): void {
  throw new Error('sample: not implemented yet');
}
