/**
 * Recalibration maps fitted on labelled validation logits (README "Recalibration and label shift").
 *
 * Every map has the form z' = W (x / T) + b, applied by `adjustLogits`:
 *   temperature  z' = β x                 (Guo et al. 2017; T = 1/β)
 *   bcts         z' = β x + b             (bias-corrected temperature scaling, Alexandari et al. 2020)
 *   vector       z' = w ⊙ x + b           (Guo et al. 2017)
 *   matrix       z' = W x + b             (Guo et al. 2017, with the ODIR penalty of Kull et al. 2019)
 * The objective is the mean NLL of softmax(z') against the labels, plus for `matrix`
 *   λ · ( Σ_{i≠j} W_ij² / (C(C−1)) + Σ_i b_i² / C ),   λ = options.l2 (default 1e-3).
 * z' is linear in the parameters and NLL is convex in z', so every objective is convex.
 *
 * Fitting is float64 throughout, by L-BFGS (memory 10, backtracking Armijo line search with a
 * safeguarded quadratic step), starting from the identity map. One evaluation of the objective and
 * its gradient is one pass over a BlockSource, so files are streamed exactly like `fitTemperature`.
 * It stops when the largest gradient component is ≤ 1e-9·max(1, f), when an iteration decreases f
 * by no more than 2.2e-16·max(1, f) (the criterion scipy's L-BFGS-B uses, with ftol = eps), when the
 * line search can no longer decrease f at all, or after maxIterations.
 * The bias of temperature-free maps is defined only up to a constant (softmax is shift-invariant),
 * so bcts/vector biases are returned centred (mean 0), which does not change any probability.
 */
import { LogitkitError } from '../errors.js';
import { arraySource, type BlockSource } from '../io/stream.js';
import { checkLabelBlock } from './calibration.js';

/** The recalibration maps `fitCalibration` fits (docs/recalibration.md). */
export type CalibrationMethod = 'temperature' | 'bcts' | 'vector' | 'matrix';
export const CALIBRATION_METHODS: readonly CalibrationMethod[] = ['temperature', 'bcts', 'vector', 'matrix'];
/** Maps that are not fitted by fitCalibration but share its form. */
export type MapMethod = CalibrationMethod | 'label-shift' | 'logit-adjustment' | 'contextual' | 'custom';
const MAP_METHODS: readonly MapMethod[] = [...CALIBRATION_METHODS, 'label-shift', 'logit-adjustment', 'contextual', 'custom'];

export const DEFAULT_MATRIX_L2 = 1e-3;
/**
 * Generous: matrix scaling with a weak penalty is ill-conditioned (the bundled CIFAR-10 logits at
 * λ = 1e-3 take ~2700 iterations to reach scipy's optimum to 1e-10, ~500 to 1e-5); the others stop
 * after tens of iterations.
 */
export const DEFAULT_MAX_ITERATIONS = 5000;
/** Matrix scaling keeps C² + C parameters and 20 L-BFGS vectors of that size: bounded on purpose. */
export const MAX_MATRIX_CLASSES = 256;
const HISTORY = 10;

/** z' = W (x / temperature) + b (W = diag(scale), matrix, or the identity). */
export interface CalibrationMap {
  method: MapMethod;
  classes: number;
  temperature: number;
  scale?: Float32Array;
  bias?: Float32Array;
  matrix?: Float32Array;
  /** Mean NLL on the fitting data before (identity map) and after (this map, float32 parameters); NaN when unknown. */
  nllBefore: number;
  nllAfter: number;
  /** L-BFGS iterations (0 for maps that are not fitted). */
  iterations: number;
  /** The ODIR λ of a matrix fit. */
  l2?: number;
  /** The minimised objective (mean NLL + penalty, float64 parameters) of a fit. */
  objective?: number;
  /** Passes over the data the fit took. */
  passes?: number;
}

export interface FitCalibrationOptions {
  method?: CalibrationMethod;
  /** ODIR strength λ for method 'matrix' (default 1e-3); not accepted by the other methods. */
  l2?: number;
  maxIterations?: number;
}

function fail(code: 'invalid_argument' | 'shape_mismatch' | 'non_finite_input', message: string, argument: string): never {
  throw new LogitkitError(code, message, argument);
}

export function checkFitOptions(classes: number, o: FitCalibrationOptions | undefined): { method: CalibrationMethod; l2: number; maxIterations: number } {
  if (o !== undefined && (typeof o !== 'object' || o === null)) fail('invalid_argument', 'options must be an options object', 'options');
  const method = o?.method ?? 'temperature';
  if (!CALIBRATION_METHODS.includes(method))
    fail('invalid_argument', `options.method = ${String(method)}, expected one of ${CALIBRATION_METHODS.map((m) => `'${m}'`).join(', ')}`, 'options.method');
  let l2 = 0;
  if (method === 'matrix') {
    l2 = o?.l2 ?? DEFAULT_MATRIX_L2;
    if (typeof l2 !== 'number' || !Number.isFinite(l2) || l2 < 0) fail('invalid_argument', `options.l2 = ${String(l2)}, expected a finite number ≥ 0`, 'options.l2');
    if (classes > MAX_MATRIX_CLASSES)
      fail('invalid_argument', `method 'matrix' fits classes² parameters; classes = ${classes} exceeds ${MAX_MATRIX_CLASSES} (use 'vector' or 'bcts')`, 'options.method');
  } else if (o?.l2 !== undefined) fail('invalid_argument', `options.l2 applies to method 'matrix' only (method is '${method}')`, 'options.l2');
  const maxIterations = o?.maxIterations ?? DEFAULT_MAX_ITERATIONS;
  if (typeof maxIterations !== 'number' || !Number.isInteger(maxIterations) || maxIterations < 0)
    fail('invalid_argument', `options.maxIterations = ${String(maxIterations)}, expected an integer ≥ 0`, 'options.maxIterations');
  return { method, l2, maxIterations };
}

function paramCount(method: CalibrationMethod, C: number): number {
  return method === 'temperature' ? 1 : method === 'bcts' ? 1 + C : method === 'vector' ? 2 * C : C * C + C;
}

function identity(method: CalibrationMethod, C: number): Float64Array {
  const p = new Float64Array(paramCount(method, C));
  if (method === 'temperature' || method === 'bcts') p[0] = 1;
  else if (method === 'vector') p.fill(1, 0, C);
  else for (let i = 0; i < C; i++) p[i * C + i] = 1;
  return p;
}

interface Evaluation {
  /** Objective: mean NLL + penalty. */
  f: number;
  nll: number;
  g: Float64Array;
}

/**
 * One pass: the objective and its gradient at θ. `check` validates labels and finiteness (first pass).
 * Per row, with z the mapped logits and p = softmax(z): NLL = lse(z) − z_y and ∂NLL/∂z = p − e_y,
 * pushed through the (linear) map to the parameters.
 */
function evaluate(src: BlockSource, method: CalibrationMethod, theta: Float64Array, l2: number, check: boolean): Evaluation {
  const C = src.classes;
  const g = new Float64Array(theta.length);
  const z = new Float64Array(C);
  let nll = 0;
  const bOff = method === 'bcts' ? 1 : method === 'vector' ? C : method === 'matrix' ? C * C : -1;
  for (const blk of src.blocks()) {
    const x = blk.x;
    const y = blk.labels;
    if (!y) fail('invalid_argument', 'labels are required', 'labels');
    if (check) {
      checkLabelBlock(src, y, blk.start, C);
      for (let i = 0; i < blk.rows * C; i++) {
        if (!Number.isFinite(x[i]!)) {
          const row = blk.start + Math.floor(i / C);
          const where = src.describeRow ? src.describeRow(row, 'logits') : `row ${row}`;
          fail('non_finite_input', `logit ${x[i]} at ${where}, column ${i % C}: fitting a calibration map needs finite logits`, 'x');
        }
      }
    }
    for (let r = 0; r < blk.rows; r++) {
      const o = r * C;
      const t = y[r]!;
      if (method === 'matrix') {
        for (let i = 0; i < C; i++) {
          let s = theta[bOff + i]!;
          const w = i * C;
          for (let j = 0; j < C; j++) s += theta[w + j]! * x[o + j]!;
          z[i] = s;
        }
      } else if (method === 'vector') {
        for (let j = 0; j < C; j++) z[j] = theta[j]! * x[o + j]! + theta[bOff + j]!;
      } else {
        const beta = theta[0]!;
        for (let j = 0; j < C; j++) z[j] = beta * x[o + j]! + (bOff > 0 ? theta[bOff + j]! : 0);
      }
      let m = -Infinity;
      for (let j = 0; j < C; j++) if (z[j]! > m) m = z[j]!;
      let s = 0;
      for (let j = 0; j < C; j++) s += Math.exp(z[j]! - m);
      nll += m + Math.log(s) - z[t]!;
      // z now becomes ∂NLL/∂z = p − e_y
      const inv = 1 / s;
      for (let j = 0; j < C; j++) z[j] = Math.exp(z[j]! - m) * inv;
      z[t] = z[t]! - 1;
      if (method === 'matrix') {
        for (let i = 0; i < C; i++) {
          const d = z[i]!;
          if (d === 0) continue;
          const w = i * C;
          for (let j = 0; j < C; j++) g[w + j] += d * x[o + j]!;
          g[bOff + i] += d;
        }
      } else if (method === 'vector') {
        for (let j = 0; j < C; j++) {
          g[j] += z[j]! * x[o + j]!;
          g[bOff + j] += z[j]!;
        }
      } else {
        let gb = 0;
        for (let j = 0; j < C; j++) gb += z[j]! * x[o + j]!;
        g[0] += gb;
        if (bOff > 0) for (let j = 0; j < C; j++) g[bOff + j] += z[j]!;
      }
    }
  }
  const n = src.rows;
  for (let k = 0; k < g.length; k++) g[k] /= n;
  nll /= n;
  let f = nll;
  if (method === 'matrix' && l2 > 0) {
    const od = C > 1 ? l2 / (C * (C - 1)) : 0;
    const bw = l2 / C;
    for (let i = 0; i < C; i++) {
      for (let j = 0; j < C; j++) {
        if (i === j) continue;
        const w = theta[i * C + j]!;
        f += od * w * w;
        g[i * C + j] += 2 * od * w;
      }
      const b = theta[bOff + i]!;
      f += bw * b * b;
      g[bOff + i] += 2 * bw * b;
    }
  }
  return { f, nll, g };
}

function dot(a: Float64Array, b: Float64Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
}

/** L-BFGS from x0 on a convex smooth objective; `fg` is one pass over the data. */
function lbfgs(fg: (x: Float64Array) => Evaluation, x0: Float64Array, first: Evaluation, maxIterations: number): { x: Float64Array; e: Evaluation; iterations: number } {
  const n = x0.length;
  let x = x0;
  let e = first;
  const S: Float64Array[] = [];
  const Y: Float64Array[] = [];
  const rho: number[] = [];
  const alpha = new Float64Array(HISTORY);
  let iterations = 0;
  for (; iterations < maxIterations; iterations++) {
    let gmax = 0;
    for (let i = 0; i < n; i++) gmax = Math.max(gmax, Math.abs(e.g[i]!));
    if (gmax <= 1e-9 * Math.max(1, Math.abs(e.f))) break;
    // Two-loop recursion: d = −H g.
    const q = e.g.slice();
    for (let k = S.length - 1; k >= 0; k--) {
      alpha[k] = rho[k]! * dot(S[k]!, q);
      const yk = Y[k]!;
      for (let i = 0; i < n; i++) q[i] -= alpha[k]! * yk[i]!;
    }
    let gamma: number;
    if (S.length > 0) gamma = dot(S[S.length - 1]!, Y[Y.length - 1]!) / dot(Y[Y.length - 1]!, Y[Y.length - 1]!);
    else gamma = 1 / Math.max(1, Math.sqrt(dot(e.g, e.g)));
    for (let i = 0; i < n; i++) q[i] *= gamma;
    for (let k = 0; k < S.length; k++) {
      const b = rho[k]! * dot(Y[k]!, q);
      const sk = S[k]!;
      for (let i = 0; i < n; i++) q[i] += sk[i]! * (alpha[k]! - b);
    }
    const d = q;
    for (let i = 0; i < n; i++) d[i] = -d[i]!;
    let gd = dot(e.g, d);
    if (!(gd < 0)) {
      // Not a descent direction (lost curvature information): restart from steepest descent.
      S.length = Y.length = rho.length = 0;
      const scale = 1 / Math.max(1, Math.sqrt(dot(e.g, e.g)));
      for (let i = 0; i < n; i++) d[i] = -e.g[i]! * scale;
      gd = dot(e.g, d);
    }
    // Backtracking Armijo search; the trial step is the minimiser of the quadratic through f(0),
    // f'(0) and f(t), kept in [0.1 t, 0.5 t] so it neither stalls nor overshoots.
    let t = 1;
    let next: Evaluation | null = null;
    let xn = new Float64Array(n);
    for (let ls = 0; ls < 60; ls++) {
      for (let i = 0; i < n; i++) xn[i] = x[i]! + t * d[i]!;
      const trial = fg(xn);
      if (Number.isFinite(trial.f) && trial.f <= e.f + 1e-4 * t * gd) {
        next = trial;
        break;
      }
      const quad = Number.isFinite(trial.f) ? (-gd * t * t) / (2 * (trial.f - e.f - gd * t)) : 0.1 * t;
      t = Math.min(0.5 * t, Math.max(0.1 * t, quad));
    }
    if (next === null) break; // no decrease left at float64 precision: converged
    const s = new Float64Array(n);
    const yv = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      s[i] = xn[i]! - x[i]!;
      yv[i] = next.g[i]! - e.g[i]!;
    }
    const sy = dot(s, yv);
    if (sy > 1e-300 && sy > 1e-12 * Math.sqrt(dot(s, s) * dot(yv, yv))) {
      if (S.length === HISTORY) {
        S.shift();
        Y.shift();
        rho.shift();
      }
      S.push(s);
      Y.push(yv);
      rho.push(1 / sy);
    }
    const fOld = e.f;
    x = xn;
    xn = new Float64Array(n);
    e = next;
    // Relative decrease at the float64 noise floor of the objective's sum: nothing left to gain.
    if (fOld - e.f <= 2.2e-16 * Math.max(1, Math.abs(e.f))) break;
  }
  return { x, e, iterations };
}

/** The fitted parameters as a map (float32 arrays), biases centred where they are shift-free. */
function toMap(method: CalibrationMethod, C: number, theta: Float64Array): CalibrationMap {
  const map: CalibrationMap = { method, classes: C, temperature: 1, nllBefore: NaN, nllAfter: NaN, iterations: 0 };
  const centred = (from: number): Float32Array => {
    let mean = 0;
    for (let j = 0; j < C; j++) mean += theta[from + j]!;
    mean /= C;
    return Float32Array.from({ length: C }, (_, j) => theta[from + j]! - mean);
  };
  if (method === 'temperature' || method === 'bcts') {
    const beta = theta[0]!;
    // β ≤ 0 (labels anti-correlated with the logits) has no temperature: keep it as a uniform scale.
    if (beta > 0) map.temperature = 1 / beta;
    else map.scale = new Float32Array(C).fill(beta);
    if (method === 'bcts') map.bias = centred(1);
  } else if (method === 'vector') {
    map.scale = Float32Array.from(theta.subarray(0, C));
    map.bias = centred(C);
  } else {
    map.matrix = Float32Array.from(theta.subarray(0, C * C));
    map.bias = Float32Array.from(theta.subarray(C * C));
  }
  return map;
}

/** The map's parameters back in float64 θ form (as applied: float32 values). */
function fromMap(method: CalibrationMethod, C: number, map: CalibrationMap): Float64Array {
  const p = new Float64Array(paramCount(method, C));
  if (method === 'temperature' || method === 'bcts') {
    p[0] = map.scale ? map.scale[0]! : 1 / map.temperature;
    if (method === 'bcts') p.set(map.bias!, 1);
  } else if (method === 'vector') {
    p.set(map.scale!, 0);
    p.set(map.bias!, C);
  } else {
    p.set(map.matrix!, 0);
    p.set(map.bias!, C * C);
  }
  return p;
}

/** Fits a calibration map over any labelled block source (in memory or streamed from .npy files). */
export function fitCalibrationSource(src: BlockSource, options?: FitCalibrationOptions): CalibrationMap {
  const C = src.classes;
  const { method, l2, maxIterations } = checkFitOptions(C, options);
  if (!src.hasLabels) fail('invalid_argument', 'labels are required', 'labels');
  if (src.rows === 0) fail('shape_mismatch', 'no rows to fit a calibration map on', 'x');
  let passes = 0;
  const evalTheta = (theta: Float64Array, check = false): Evaluation => {
    passes++;
    return evaluate(src, method, theta, l2, check);
  };
  const theta0 = identity(method, C);
  const first = evalTheta(theta0, true); // validates labels and finiteness before anything else
  let theta = theta0;
  let best = first;
  let iterations = 0;
  if (C > 1) {
    // (Tried: preconditioning by column spread and mean; it slowed matrix scaling down 2-5x on the
    // bundled data, whose slow directions come from the weak ODIR penalty, not from the scaling.)
    const fit = lbfgs((t) => evalTheta(t), theta0, first, maxIterations);
    theta = fit.x;
    best = fit.e;
    iterations = fit.iterations;
  }
  const map = toMap(method, C, theta);
  map.nllBefore = first.nll;
  // The NLL the stored (float32) map really gives; at the optimum this differs from the float64 one
  // only in second order.
  map.nllAfter = evalTheta(fromMap(method, C, map)).nll;
  map.iterations = iterations;
  map.objective = best.f;
  if (method === 'matrix') map.l2 = l2;
  map.passes = passes;
  return map;
}

export function fitCalibration(x: Float32Array, classes: number, labels: Int32Array, options?: FitCalibrationOptions): CalibrationMap {
  if (!(labels instanceof Int32Array)) fail('invalid_argument', 'labels must be an Int32Array of class indices', 'labels');
  const rows = x.length / classes;
  if (labels.length !== rows) fail('shape_mismatch', `labels has ${labels.length} entries, expected ${rows} (one per row)`, 'labels');
  checkFitOptions(classes, options); // before any pass over the data
  return fitCalibrationSource(arraySource(x, classes, labels), options);
}

// --- maps as values: checks and JSON ------------------------------------------------------------

/** Checks a map's structure (not its numbers: adjustLogits checks those) against `classes`. */
export function checkMap(map: unknown, classes: number, argument = 'map'): CalibrationMap {
  if (typeof map !== 'object' || map === null) fail('invalid_argument', `${argument} must be a calibration map object`, argument);
  const m = map as Partial<CalibrationMap>;
  if (!MAP_METHODS.includes(m.method as MapMethod))
    fail('invalid_argument', `${argument}.method = ${String(m.method)}, expected one of ${MAP_METHODS.join(', ')}`, `${argument}.method`);
  if (typeof m.classes !== 'number' || !Number.isInteger(m.classes) || m.classes < 1)
    fail('invalid_argument', `${argument}.classes = ${String(m.classes)}, expected an integer ≥ 1`, `${argument}.classes`);
  if (m.classes !== classes)
    fail('shape_mismatch', `${argument} is for ${m.classes} classes, but the logits have ${classes}`, `${argument}.classes`);
  return m as CalibrationMap;
}

const num = (v: number | undefined): number | null => (v === undefined || !Number.isFinite(v) ? null : v);

/** Plain JSON of a map: `{ "logitkit": "calibration-map", "version": 1, method, classes, temperature, ... }`. */
export function calibrationMapToJSON(map: CalibrationMap, extra: Record<string, unknown> = {}): Record<string, unknown> {
  const out: Record<string, unknown> = { logitkit: 'calibration-map', version: 1, method: map.method, classes: map.classes, temperature: map.temperature };
  if (map.scale) out.scale = Array.from(map.scale);
  if (map.bias) out.bias = Array.from(map.bias);
  if (map.matrix) out.matrix = Array.from(map.matrix);
  if (map.l2 !== undefined) out.l2 = map.l2;
  out.nllBefore = num(map.nllBefore);
  out.nllAfter = num(map.nllAfter);
  if (map.objective !== undefined) out.objective = num(map.objective);
  out.iterations = map.iterations;
  return { ...out, ...extra };
}

/** A map from its JSON (a string or the parsed object); `classes`, when given, must match. */
export function calibrationMapFromJSON(json: string | Record<string, unknown>, classes?: number): CalibrationMap {
  let o: Record<string, unknown>;
  if (typeof json === 'string') {
    try {
      o = JSON.parse(json);
    } catch {
      fail('invalid_argument', 'not valid JSON (expected a calibration map written by logitkit fit or shift)', 'map');
    }
  } else o = json;
  if (typeof o !== 'object' || o === null || o.logitkit !== 'calibration-map')
    fail('invalid_argument', 'not a calibration map (no "logitkit": "calibration-map" key; expected the output of logitkit fit or shift)', 'map');
  const C = o.classes;
  if (typeof C !== 'number' || !Number.isInteger(C) || C < 1) fail('invalid_argument', `map.classes = ${String(C)}, expected an integer ≥ 1`, 'map.classes');
  if (classes !== undefined && C !== classes) fail('shape_mismatch', `the map is for ${C} classes, but the logits have ${classes}`, 'map.classes');
  const T = o.temperature;
  if (typeof T !== 'number' || !Number.isFinite(T) || T <= 0) fail('invalid_argument', `map.temperature = ${String(T)}, expected a finite number > 0`, 'map.temperature');
  const arr = (key: 'scale' | 'bias' | 'matrix', length: number): Float32Array | undefined => {
    const v = o[key];
    if (v === undefined || v === null) return undefined;
    if (!Array.isArray(v) || v.length !== length || !v.every((e) => typeof e === 'number' && Number.isFinite(e)))
      fail('invalid_argument', `map.${key} must be an array of ${length} finite numbers`, `map.${key}`);
    return Float32Array.from(v as number[]);
  };
  const map: CalibrationMap = {
    method: o.method as MapMethod,
    classes: C,
    temperature: T,
    nllBefore: typeof o.nllBefore === 'number' ? o.nllBefore : NaN,
    nllAfter: typeof o.nllAfter === 'number' ? o.nllAfter : NaN,
    iterations: typeof o.iterations === 'number' ? o.iterations : 0,
  };
  const scale = arr('scale', C);
  const bias = arr('bias', C);
  const matrix = arr('matrix', C * C);
  if (scale && matrix) fail('invalid_argument', 'a map has either scale or matrix, not both', 'map.matrix');
  if (scale) map.scale = scale;
  if (bias) map.bias = bias;
  if (matrix) map.matrix = matrix;
  if (typeof o.l2 === 'number') map.l2 = o.l2;
  checkMap(map, C);
  return map;
}
