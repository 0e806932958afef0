/**
 * Prior corrections: bias vectors for adjustLogits (README "Recalibration and label shift").
 *
 *   logitAdjustment(π, τ)  b = −τ log π                   (Menon et al. 2021, post-hoc logit adjustment)
 *   estimateLabelShift     b = log(π_t / π_s)             (Saerens et al. 2002 EM; Lipton et al. 2018 BBSE),
 *                          on logits first calibrated on the source (BCTS by default: Alexandari et al. 2020)
 *   contextualBias         b = −log mean_i softmax(x_i)   (Zhao et al. 2021, content-free inputs)
 *
 * Posteriors come from the engine (so the backend computes the softmax); every sum, the EM
 * iteration and the BBSE solve are float64.
 */
import { LogitkitError } from '../errors.js';
import { fitCalibration, type CalibrationMap, type CalibrationMethod } from './recalibration.js';

/** The part of the Engine this module uses. */
export interface ShiftEngine {
  softmax(x: Float32Array, classes: number, options?: { out?: Float32Array }): Float32Array;
  argmax(x: Float32Array, classes: number): Int32Array;
  applyCalibration(x: Float32Array, classes: number, map: CalibrationMap): Float32Array;
}

/** How `estimateLabelShift` estimates the target priors: EM (Saerens et al.) or BBSE (Lipton et al.). */
export type ShiftMethod = 'em' | 'bbse';
export interface LabelShiftOptions {
  method?: ShiftMethod;
  /** Map fitted on the source before estimating (default 'bcts'); 'none' uses the logits as they are. */
  calibrate?: CalibrationMethod | 'none';
  /** EM: stop after this many iterations (default 100). */
  maxIterations?: number;
  /** EM: stop when max |Δπ| ≤ tolerance (default 1e-6). */
  tolerance?: number;
}

/** The result of `estimateLabelShift`: source and estimated target priors, the bias log(π_t / π_s) and the correcting map. */
export interface LabelShift {
  method: ShiftMethod;
  /** Label frequencies of the source. */
  sourcePriors: Float64Array;
  /** Estimated class priors of the target. */
  targetPriors: Float64Array;
  /** log(π_t / π_s) (π_t floored at 1e-12): the prior correction alone, for calibrated logits. */
  bias: Float32Array;
  /** EM iterations (0 for BBSE). */
  iterations: number;
  /** The map fitted on the source (identity for calibrate: 'none'). */
  calibration: CalibrationMap;
  /** calibration then bias, as one map: what `score --apply` uses on target logits. */
  map: CalibrationMap;
}

/** Floor for an estimated prior inside log(π_t / π_s): a class estimated absent keeps a finite bias. */
export const PRIOR_FLOOR = 1e-12;
/** Floor for a mean content-free probability inside −log: bias ≤ 69.1. */
export const PROB_FLOOR = 1e-30;

function fail(code: 'invalid_argument' | 'shape_mismatch' | 'non_finite_input' | 'target_out_of_range', message: string, argument: string): never {
  throw new LogitkitError(code, message, argument);
}

/** b = −τ log π for class priors (or counts: a common factor only shifts every logit alike). */
export function logitAdjustment(priors: Float32Array | Float64Array | readonly number[], options?: { tau?: number }): Float32Array {
  if (!(priors instanceof Float32Array || priors instanceof Float64Array || Array.isArray(priors)))
    fail('invalid_argument', 'priors must be a Float32Array, Float64Array or number[] of class priors', 'priors');
  if (priors.length === 0) fail('shape_mismatch', 'priors is empty, expected one prior per class', 'priors');
  if (options !== undefined && (typeof options !== 'object' || options === null)) fail('invalid_argument', 'options must be an options object', 'options');
  const tau = options?.tau ?? 1;
  if (typeof tau !== 'number' || !Number.isFinite(tau) || tau < 0) fail('invalid_argument', `options.tau = ${String(tau)}, expected a finite number ≥ 0`, 'options.tau');
  const out = new Float32Array(priors.length);
  for (let j = 0; j < priors.length; j++) {
    const p = priors[j]!;
    if (typeof p !== 'number' || !(p > 0) || !Number.isFinite(p)) fail('invalid_argument', `priors[${j}] = ${String(p)}, expected a finite number > 0`, 'priors');
    out[j] = 0 - tau * Math.log(p); // 0 − … keeps τ = 0 at +0 for every prior
  }
  return out;
}

/** −log of the mean softmax over content-free rows (Zhao et al. 2021's W = diag(p̄)⁻¹ as a bias). */
export function contextualBias(lk: ShiftEngine, x: Float32Array, classes: number): Float32Array {
  const rows = x.length / classes;
  if (rows === 0) fail('shape_mismatch', 'no content-free rows: pass at least one row of logits', 'x');
  const p = lk.softmax(x, classes);
  const mean = new Float64Array(classes);
  for (let r = 0; r < rows; r++) {
    for (let j = 0; j < classes; j++) {
      const v = p[r * classes + j]!;
      if (v !== v) fail('non_finite_input', `row ${r} has no softmax (NaN, +inf or all −inf logits)`, 'x');
      mean[j] += v;
    }
  }
  return Float32Array.from(mean, (s) => -Math.log(Math.max(s / rows, PROB_FLOOR)));
}

function checkLabels(labels: unknown, rows: number, classes: number): Int32Array {
  if (!(labels instanceof Int32Array)) fail('invalid_argument', 'sourceLabels must be an Int32Array of class indices', 'sourceLabels');
  if (labels.length !== rows) fail('shape_mismatch', `sourceLabels has ${labels.length} entries, expected ${rows} (one per source row)`, 'sourceLabels');
  for (let i = 0; i < rows; i++) {
    const y = labels[i]!;
    if (!(y >= 0 && y < classes)) fail('target_out_of_range', `sourceLabels[${i}] = ${y}, expected 0 ≤ label < ${classes}`, 'sourceLabels');
  }
  return labels;
}

/** Solves A w = b (n × n, row-major) by Gaussian elimination with partial pivoting; null if singular. */
export function solve(a: Float64Array, b: Float64Array, n: number): Float64Array | null {
  const m = a.slice();
  const v = b.slice();
  let scale = 0;
  for (let i = 0; i < m.length; i++) scale = Math.max(scale, Math.abs(m[i]!));
  for (let k = 0; k < n; k++) {
    let piv = k;
    for (let i = k + 1; i < n; i++) if (Math.abs(m[i * n + k]!) > Math.abs(m[piv * n + k]!)) piv = i;
    if (!(Math.abs(m[piv * n + k]!) > 1e-12 * scale)) return null;
    if (piv !== k) {
      for (let j = 0; j < n; j++) [m[k * n + j], m[piv * n + j]] = [m[piv * n + j]!, m[k * n + j]!];
      [v[k], v[piv]] = [v[piv]!, v[k]!];
    }
    for (let i = k + 1; i < n; i++) {
      const f = m[i * n + k]! / m[k * n + k]!;
      if (f === 0) continue;
      for (let j = k; j < n; j++) m[i * n + j] -= f * m[k * n + j]!;
      v[i] -= f * v[k]!;
    }
  }
  const w = new Float64Array(n);
  for (let i = n - 1; i >= 0; i--) {
    let s = v[i]!;
    for (let j = i + 1; j < n; j++) s -= m[i * n + j]! * w[j]!;
    w[i] = s / m[i * n + i]!;
  }
  return w;
}

export function estimateLabelShift(
  lk: ShiftEngine,
  sourceX: Float32Array,
  classes: number,
  sourceLabels: Int32Array,
  targetX: Float32Array,
  options?: LabelShiftOptions,
): LabelShift {
  if (options !== undefined && (typeof options !== 'object' || options === null)) fail('invalid_argument', 'options must be an options object', 'options');
  const method = options?.method ?? 'em';
  if (method !== 'em' && method !== 'bbse') fail('invalid_argument', `options.method = ${String(method)}, expected 'em' or 'bbse'`, 'options.method');
  const calibrate = options?.calibrate ?? 'bcts';
  if (!['none', 'temperature', 'bcts', 'vector', 'matrix'].includes(calibrate as string))
    fail('invalid_argument', `options.calibrate = ${String(calibrate)}, expected 'bcts', 'temperature', 'vector', 'matrix' or 'none'`, 'options.calibrate');
  const maxIterations = options?.maxIterations ?? 100;
  if (typeof maxIterations !== 'number' || !Number.isInteger(maxIterations) || maxIterations < 1)
    fail('invalid_argument', `options.maxIterations = ${String(maxIterations)}, expected an integer ≥ 1`, 'options.maxIterations');
  const tolerance = options?.tolerance ?? 1e-6;
  if (typeof tolerance !== 'number' || !(tolerance > 0) || !Number.isFinite(tolerance))
    fail('invalid_argument', `options.tolerance = ${String(tolerance)}, expected a finite number > 0`, 'options.tolerance');
  const C = classes;
  const ns = sourceX.length / C;
  const nt = targetX.length / C;
  checkLabels(sourceLabels, ns, C);
  if (nt === 0) fail('shape_mismatch', 'targetX has no rows', 'targetX');
  const ps = new Float64Array(C);
  for (let i = 0; i < ns; i++) ps[sourceLabels[i]!] += 1;
  for (let j = 0; j < C; j++) {
    if (ps[j] === 0) fail('invalid_argument', `class ${j} never occurs in sourceLabels: its source prior is 0 and π_t/π_s is undefined`, 'sourceLabels');
    ps[j] /= ns;
  }
  for (let i = 0; i < targetX.length; i++)
    if (!Number.isFinite(targetX[i]!)) fail('non_finite_input', `targetX has a non-finite logit (${targetX[i]}) at row ${Math.floor(i / C)}`, 'targetX');

  const calibration: CalibrationMap =
    calibrate === 'none'
      ? { method: 'custom', classes: C, temperature: 1, nllBefore: NaN, nllAfter: NaN, iterations: 0 }
      : fitCalibration(sourceX, C, sourceLabels, { method: calibrate });
  const zt = lk.applyCalibration(targetX, C, calibration);
  let pt: Float64Array;
  let iterations = 0;
  if (method === 'em') {
    const p = lk.softmax(zt, C);
    let pi = ps.slice();
    const next = new Float64Array(C);
    const row = new Float64Array(C);
    for (iterations = 1; iterations <= maxIterations; iterations++) {
      next.fill(0);
      for (let i = 0; i < nt; i++) {
        let s = 0;
        for (let j = 0; j < C; j++) s += (row[j] = (p[i * C + j]! * pi[j]!) / ps[j]!);
        if (s > 0) for (let j = 0; j < C; j++) next[j] += row[j]! / s;
      }
      let total = 0;
      for (let j = 0; j < C; j++) total += next[j]!;
      let delta = 0;
      for (let j = 0; j < C; j++) {
        const v = next[j]! / total;
        delta = Math.max(delta, Math.abs(v - pi[j]!));
        next[j] = v;
      }
      pi = next.slice();
      if (delta <= tolerance) break;
    }
    iterations = Math.min(iterations, maxIterations);
    pt = pi;
  } else {
    const zs = lk.applyCalibration(sourceX, C, calibration);
    const yhatS = lk.argmax(zs, C);
    const yhatT = lk.argmax(zt, C);
    const conf = new Float64Array(C * C); // conf[i, j] = P(ŷ = i, y = j) on the source
    for (let r = 0; r < ns; r++) conf[yhatS[r]! * C + sourceLabels[r]!] += 1 / ns;
    const mu = new Float64Array(C);
    for (let r = 0; r < nt; r++) mu[yhatT[r]!] += 1 / nt;
    const w = solve(conf, mu, C);
    if (w === null)
      fail('invalid_argument', 'BBSE: the source confusion matrix is singular (some class is never predicted on the source); use method em', 'sourceX');
    pt = new Float64Array(C);
    let total = 0;
    for (let j = 0; j < C; j++) total += pt[j] = Math.max(0, w[j]!) * ps[j]!;
    if (!(total > 0)) fail('invalid_argument', 'BBSE: every importance weight was negative; use method em', 'targetX');
    for (let j = 0; j < C; j++) pt[j] /= total;
  }
  const bias = Float32Array.from(pt, (v, j) => Math.log(Math.max(v, PRIOR_FLOOR) / ps[j]!));
  const combined = Float32Array.from(bias, (v, j) => v + (calibration.bias?.[j] ?? 0));
  const map: CalibrationMap = {
    method: 'label-shift',
    classes: C,
    temperature: calibration.temperature,
    ...(calibration.scale ? { scale: calibration.scale } : {}),
    ...(calibration.matrix ? { matrix: calibration.matrix } : {}),
    bias: combined,
    nllBefore: NaN,
    nllAfter: NaN,
    iterations,
  };
  return { method, sourcePriors: ps, targetPriors: pt, bias, iterations, calibration, map };
}
