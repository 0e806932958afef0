// Everything both entries (Node and browser) export besides init().
export { Engine } from './engine.js';
export type {
  LogitsInput,
  ValuesInput,
  Float16ArrayLike,
  TensorLike,
  TensorLogitsData,
  LogitsTensor,
  DTypedTensor,
  RowOpOptions,
  ElementwiseOptions,
  CrossEntropyOptions,
  CrossEntropyGradOptions,
  BceOptions,
  KlDivOptions,
  SampleOptions,
  TopK,
  AdjustOptions,
  DTypeOption,
  OutArray,
  TargetInput,
} from './engine.js';
// Result and option types that ops return or take, named so that callers can annotate with them.
export type { HalfDType, LossWithGrad, PerplexityOptions, BinsOptions, FitTemperatureOptions, MemoryStats, TokenBitmaskOptions } from './engine.js';
// The engine's forms of these (they add dtype); the metrics' own forms are internal.
export type { FitCalibrationOptions, LabelShiftOptions } from './engine.js';
export type { TemperatureFitSums, TemperatureFitSumsOptions } from './engine.js';
export type { Reliability, ReliabilityBin, TemperatureFit } from './metrics/calibration.js';
export { AurocHistogram, BootstrapAccumulator, bootstrapStateLength, RowScoreAccumulator, ROW_SCORE_FINE_BINS } from './accumulators.js';
export type { AurocHistogramOptions, BootstrapAccumulatorOptions, BootstrapReplicateSums, RowScoreOptions, RowScoreSums } from './accumulators.js';
export { bootstrapWeight } from './bootstrap-weights.js';
export { LogitkitError } from './errors.js';
export type { ErrorCode } from './errors.js';
export type { LkBuffer, BufferType } from './buffers.js';
export type { BackendName, Features, Reduction } from './backends/backend.js';
export { fallbackReason, featuresOf } from './init.js';
export type { InitOptions, WasmSource } from './init.js';
export { eceFromConfidences } from './metrics/calibration.js';
export { calibrationMapFromJSON, calibrationMapToJSON } from './metrics/recalibration.js';
export { logitAdjustment } from './metrics/label-shift.js';
export type { LabelShift, ShiftMethod } from './metrics/label-shift.js';
export type { CalibrationMap, CalibrationMethod, MapMethod } from './metrics/recalibration.js';
export { createLogitsProcessor } from './interop.js';
export { float32ToFloat16Bits, float32ToBfloat16Bits, halfToFloat } from './half.js';
export type { SampleResult, VerifyDraftResult, LogitBias, SampleOrder, ConstraintOptions, SamplerOptions, LogprobOptions } from './sampling.js';
export type { LogitsProcessorOptions, LogitsProcessorFunction, LogitsTensorLike, InputIds } from './interop.js';
export { multilabelMetrics, MultilabelAccumulator } from './metrics/multilabel.js';
export type { MultilabelReport, MultilabelLabel, MultilabelStats } from './metrics/multilabel.js';
// ---- decoding rules (issue 25) ----
export { Sampler } from './sampler.js';
export type { SamplerState, SamplerLogits } from './sampler.js';
export type { SamplerCreateOptions } from './engine.js';
export type { DryOptions, ThinkingBudgetOptions, GuidanceOptions, HistoryRuleOptions, StatefulRuleOptions, ThinkingState } from './decoding.js';
// ---- end decoding rules ----
// ---- issue 24 (uncertainty): OOD metrics, conformal prediction, selective prediction
export type { OodScoreOptions, ConformalScoreOptions, PredictSetsOptions, RiskCoverageFromOptions } from './engine.js';
export type { OodMethodName, ConformalMethodName } from './backends/backend.js';
export { oodMetrics } from './metrics/ood.js';
export type { OodMetrics, Scores } from './metrics/ood.js';
export { conformalMetrics, conformalModelFromJSON, conformalModelToJSON } from './metrics/conformal.js';
export type { ConformalModel, ConformalOptions, ConformalMetrics, PredictionSets } from './metrics/conformal.js';
export { RISK_COVERAGE_LEVELS } from './metrics/selective.js';
export type { RiskCoverage, RiskCoverageOptions, CoverageLevel } from './metrics/selective.js';
// ---- the fingerprint hash
export { Hasher } from './hasher.js';
export type { HashInput } from './hasher.js';
