// Everything both entries (Node and browser) export besides init().
export { Engine } from './engine.js';
export type {
  LogitsInput,
  TensorLike,
  RowOpOptions,
  ElementwiseOptions,
  CrossEntropyOptions,
  CrossEntropyGradOptions,
  BceOptions,
  KlDivOptions,
  SampleOptions,
  TopK,
  DTypeOption,
  OutArray,
  TargetInput,
} from './engine.js';
export { LogitkitError } from './errors.js';
export type { ErrorCode } from './errors.js';
export type { LkBuffer, BufferType } from './buffers.js';
export type { BackendName, Features, Reduction } from './backends/backend.js';
export { fallbackReason, featuresOf } from './init.js';
export type { InitOptions, WasmSource } from './init.js';
export { eceFromConfidences } from './metrics/calibration.js';
export { createLogitsProcessor } from './interop.js';
export { float32ToFloat16Bits, float32ToBfloat16Bits, halfToFloat } from './half.js';
export type { SampleResult, VerifyDraftResult, LogitBias, SampleOrder, ConstraintOptions, SamplerOptions, LogprobOptions } from './sampling.js';
export type { LogitsProcessorOptions, LogitsProcessorFunction, LogitsTensorLike, InputIds } from './interop.js';
