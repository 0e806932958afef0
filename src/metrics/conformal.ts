/**
 * Split conformal prediction (issue 24): calibrating q̂ from the scores of the calibration rows'
 * labels, the model as plain JSON, the randomization u, and the metrics of prediction sets.
 * The scores themselves (lac, aps, raps) are the kernels' (lk.conformalScores, lk.predictSets).
 *
 * q̂ = the k-th smallest of the n calibration scores, k = ⌈(n + 1)(1 − α)⌉, and +∞ when k > n
 * (so with 1/α − 1 > n rows every set is the full set). classConditional: q̂_c from the rows
 * labelled c (+∞ for a class without rows). Coverage: P(label ∈ set) ≥ 1 − α for exchangeable
 * rows, and ≤ 1 − α + 1/(n + 1) when the scores have no ties (randomized aps / raps).
 */
import { fail } from '../errors.js';
import { fmix32, rowHash, seedKeyOf } from '../bootstrap-weights.js';
import type { ConformalMethodName } from '../backends/backend.js';

export const CONFORMAL_METHODS: readonly ConformalMethodName[] = ['lac', 'aps', 'raps'];

/** Everything a prediction needs: plain JSON (JSON.stringify writes +∞ as null; conformalModelFromJSON reads it back). */
export interface ConformalModel {
  method: ConformalMethodName;
  alpha: number;
  temperature: number;
  randomized: boolean;
  lambda: number;
  kReg: number;
  classConditional: boolean;
  seed: number;
  classes: number;
  /** Calibration rows. */
  n: number;
  /** q̂, or one per class when classConditional; +∞ (null in JSON) when k > n. */
  qhat: number | number[];
}

/** Options of `lk.conformalCalibrate` (docs/uncertainty.md): the score, the miscoverage α and the randomization. */
export interface ConformalOptions {
  /** The conformal score (default 'aps'). */
  method?: ConformalMethodName;
  /** The miscoverage α in (0, 1): sets contain the label with probability ≥ 1 − α (default 0.1). */
  alpha?: number;
  /** The logits are divided by T before the softmax: a finite number > 0 (default 1). */
  temperature?: number;
  /** Add u·p_j with u uniform per row (true, the default) or take u = 1 (aps and raps; lac ignores it). */
  randomized?: boolean;
  /** RAPS's penalty per rank beyond kReg, a finite number ≥ 0 (default 0.01). */
  lambda?: number;
  /** RAPS's ranks without penalty, an integer ≥ 0 (default 5). */
  kReg?: number;
  /** One q̂ per class, from the calibration rows labelled with it (default false: one q̂). */
  classConditional?: boolean;
  /** Keys each row's u, an integer ≥ 0 (default 0). */
  seed?: number;
}

/** The normalised options of conformalCalibrate / conformalScores. */
export type ConformalSettings = Required<ConformalOptions>;

/** The prediction sets of `lk.predictSets`, one per row, in compressed-row form. */
export interface PredictionSets {
  /** Row r's set is indices[offsets[r] .. offsets[r + 1]) (CSR), classes in rank order. */
  offsets: Int32Array;
  indices: Int32Array;
  /** Row r's set size, offsets[r + 1] − offsets[r]. */
  sizes: Int32Array;
}

/** Random streams of u: calibration and prediction draw from different keys, so no test row shares a calibration row's u. */
export const U_STREAM = { calibrate: 0x63616c31, predict: 0x70726531 } as const;

/**
 * A uniform in [0, 1) that is a pure function of (seed, key, i) — the bootstrap's counter-based row
 * hash (src/bootstrap-weights.ts), 53 bits from two more mixes of it — so a row keeps its draw however
 * a batch is split or streamed.
 */
export function counterUniform(seed: number, key: number, i: number): number {
  const h = rowHash(seedKeyOf(seed, key), i);
  const hi = fmix32((h + 0x632be5ab) >>> 0) >>> 5;
  const lo = fmix32((h + 0xc6a57d56) >>> 0) >>> 6;
  return (hi * 67108864 + lo) / 9007199254740992;
}

/** u for rows first .. first + rows − 1 of a stream: a pure function of (seed, row). */
export function conformalUniforms(seed: number, stream: number, first: number, rows: number): Float64Array {
  const u = new Float64Array(rows);
  for (let i = 0; i < rows; i++) u[i] = counterUniform(seed, stream, first + i);
  return u;
}

function bad(name: string, value: unknown, expected: string): never {
  fail('invalid_argument', `${name} = ${typeof value === 'string' ? `'${value}'` : String(value)}, expected ${expected}`, name);
}

export function checkAlpha(alpha: unknown, name = 'options.alpha'): number {
  if (typeof alpha !== 'number' || !(alpha > 0 && alpha < 1)) bad(name, alpha, 'a number in (0, 1)');
  return alpha;
}

export function checkSeed(seed: unknown, name = 'options.seed'): number {
  if (typeof seed !== 'number' || !Number.isSafeInteger(seed) || seed < 0) bad(name, seed, 'an integer ≥ 0');
  return seed;
}

/** Options → settings, every value checked (temperature by the caller's checkTemperature). */
export function conformalSettings(o: ConformalOptions | undefined, temperature: number): ConformalSettings {
  const method = o?.method ?? 'aps';
  if (!CONFORMAL_METHODS.includes(method)) bad('options.method', method, "'lac', 'aps' or 'raps'");
  const alpha = checkAlpha(o?.alpha ?? 0.1);
  const randomized = o?.randomized ?? true;
  if (typeof randomized !== 'boolean') bad('options.randomized', randomized, 'a boolean');
  const lambda = o?.lambda ?? 0.01;
  if (typeof lambda !== 'number' || !Number.isFinite(lambda) || lambda < 0) bad('options.lambda', lambda, 'a finite number ≥ 0');
  const kReg = o?.kReg ?? 5;
  if (typeof kReg !== 'number' || !Number.isSafeInteger(kReg) || kReg < 0) bad('options.kReg', kReg, 'an integer ≥ 0');
  const classConditional = o?.classConditional ?? false;
  if (typeof classConditional !== 'boolean') bad('options.classConditional', classConditional, 'a boolean');
  const seed = checkSeed(o?.seed ?? 0);
  return { method, alpha, temperature, randomized, lambda, kReg, classConditional, seed };
}

/** k = ⌈(n + 1)(1 − α)⌉, with decimal α such as 0.1 read as meant ((n + 1)·0.9 within 1e-9 of an integer is that integer). */
export function conformalRank(n: number, alpha: number): number {
  const x = (n + 1) * (1 - alpha);
  const r = Math.round(x);
  return Math.abs(x - r) <= 1e-9 * Math.max(1, x) ? r : Math.ceil(x);
}

/** The k-th smallest of the scores, +∞ when k > n. */
function kthSmallest(scores: Float64Array, alpha: number): number {
  const k = conformalRank(scores.length, alpha);
  if (k > scores.length) return Infinity;
  return scores.slice().sort()[Math.max(k, 1) - 1]!;
}

/** The model from the label scores of the calibration rows (NaN scores refused: their rows' logits are not finite). */
export function calibrate(scores: Float64Array, labels: Int32Array, classes: number, s: ConformalSettings): ConformalModel {
  for (let i = 0; i < scores.length; i++)
    if (scores[i] !== scores[i])
      fail('non_finite_input', `row ${i} of the calibration logits has no probabilities (NaN, +inf or all −inf logits), so no conformal score`, 'x');
  let qhat: number | number[];
  if (!s.classConditional) qhat = kthSmallest(scores, s.alpha);
  else {
    const byClass: number[][] = Array.from({ length: classes }, () => []);
    for (let i = 0; i < scores.length; i++) byClass[labels[i]!]!.push(scores[i]!);
    qhat = byClass.map((v) => kthSmallest(Float64Array.from(v), s.alpha));
  }
  return { ...s, classes, n: scores.length, qhat };
}

/** q̂ as the kernels take it: one value, or one per class. */
export function qhatArray(model: ConformalModel): Float64Array {
  return Float64Array.from(typeof model.qhat === 'number' ? [model.qhat] : model.qhat);
}

/** The model as a JSON-ready object (+∞ → null), tagged so that the CLI can tell it from a calibration map. */
export function conformalModelToJSON(model: ConformalModel): Record<string, unknown> {
  const q = (v: number): number | null => (v === Infinity ? null : v);
  return {
    logitkit: 'conformal-model',
    version: 1,
    ...model,
    qhat: typeof model.qhat === 'number' ? q(model.qhat) : model.qhat.map(q),
  };
}

/** A model from its JSON (a string or the parsed object), every field checked; `classes`, when given, must match. */
export function conformalModelFromJSON(json: string | Record<string, unknown>, classes?: number): ConformalModel {
  let o: Record<string, unknown>;
  if (typeof json === 'string') {
    try {
      o = JSON.parse(json);
    } catch {
      fail('invalid_argument', 'not valid JSON (expected a conformal model written by logitkit conformal)', 'model');
    }
  } else o = json;
  if (typeof o !== 'object' || o === null) fail('invalid_argument', 'not a conformal model (expected an object)', 'model');
  if (o.logitkit !== undefined && o.logitkit !== 'conformal-model')
    fail('invalid_argument', `not a conformal model ("logitkit": ${JSON.stringify(o.logitkit)}; expected "conformal-model")`, 'model');
  const qOf = (v: unknown, name: string): number => {
    if (v === null || v === Infinity) return Infinity;
    if (typeof v !== 'number' || Number.isNaN(v)) bad(name, v, 'a number or null (+∞)');
    return v;
  };
  return checkModel({ ...o, qhat: Array.isArray(o.qhat) ? o.qhat.map((v, i) => qOf(v, `model.qhat[${i}]`)) : qOf(o.qhat, 'model.qhat') }, classes);
}

/** A model object (ours or the caller's) checked field by field against the logits' classes. */
export function checkModel(m: unknown, classes?: number): ConformalModel {
  if (typeof m !== 'object' || m === null) fail('invalid_argument', 'model must be a ConformalModel (from conformalCalibrate or conformalModelFromJSON)', 'model');
  const o = m as Record<string, unknown>;
  const method = o.method as ConformalMethodName;
  if (!CONFORMAL_METHODS.includes(method)) bad('model.method', o.method, "'lac', 'aps' or 'raps'");
  const C = o.classes;
  if (typeof C !== 'number' || !Number.isSafeInteger(C) || C < 1) bad('model.classes', C, 'an integer ≥ 1');
  if (classes !== undefined && C !== classes) fail('shape_mismatch', `the model is for ${C} classes, but the logits have ${classes}`, 'model.classes');
  const t = o.temperature;
  if (typeof t !== 'number' || !Number.isFinite(t) || t <= 0) fail('invalid_temperature', `model.temperature = ${String(t)}, expected a finite number > 0`, 'model.temperature');
  const s = conformalSettings(
    { method, alpha: o.alpha as number, randomized: o.randomized as boolean, lambda: o.lambda as number, kReg: o.kReg as number, classConditional: o.classConditional as boolean, seed: o.seed as number },
    t,
  );
  const n = o.n;
  if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 0) bad('model.n', n, 'an integer ≥ 0');
  const q = o.qhat;
  const isQ = (v: unknown): v is number => typeof v === 'number' && !Number.isNaN(v);
  if (s.classConditional) {
    if (!Array.isArray(q) || q.length !== C || !q.every(isQ))
      fail('invalid_argument', `model.qhat must be ${C} numbers (one per class) for a class-conditional model`, 'model.qhat');
  } else if (!isQ(q)) fail('invalid_argument', `model.qhat = ${String(q)}, expected a number`, 'model.qhat');
  return { ...s, classes: C, n, qhat: Array.isArray(q) ? q.slice() : (q as number) };
}

export const SIZE_BUCKETS = ['0', '1', '2-3', '4-10', '11-100', '101+'] as const;
const bucketOf = (size: number): number => (size === 0 ? 0 : size === 1 ? 1 : size <= 3 ? 2 : size <= 10 ? 3 : size <= 100 ? 4 : 5);

/** What `conformalMetrics` reports of prediction sets against the true labels. */
export interface ConformalMetrics {
  /** The fraction of rows whose set contains the label. */
  coverage: number;
  /** The mean set size. */
  meanSize: number;
  /** The fraction of rows with an empty set. */
  emptyRate: number;
  /** Rows and coverage by set size ('0', '1', '2-3', '4-10', '11-100', '101+'); coverage null without rows. */
  sizeStratified: { sizes: (typeof SIZE_BUCKETS)[number]; rows: number; coverage: number | null }[];
  /** Per class (index = class): the coverage of its rows, null without rows. */
  classCoverage: (number | null)[];
  /** Mean over classes with rows of |coverage_c − (1 − α)|. */
  covGap: number;
}

/** Mergeable counts behind ConformalMetrics (score --conformal streams blocks into one; merge adds them). */
export interface ConformalStats {
  rows: number;
  hits: number;
  members: number;
  empty: number;
  bucketRows: number[];
  bucketHits: number[];
  support: number[];
  classHits: number[];
}

/** Counts of prediction sets against their labels, block by block; summary() gives the figures. */
export class ConformalAccumulator {
  readonly classes: number;
  readonly stats: ConformalStats;

  constructor(classes: number) {
    this.classes = classes;
    const zeros = (n: number) => new Array<number>(n).fill(0);
    this.stats = { rows: 0, hits: 0, members: 0, empty: 0, bucketRows: zeros(SIZE_BUCKETS.length), bucketHits: zeros(SIZE_BUCKETS.length), support: zeros(classes), classHits: zeros(classes) };
  }

  add(sets: PredictionSets, labels: Int32Array): this {
    if (typeof sets !== 'object' || sets === null || !(sets.offsets instanceof Int32Array) || !(sets.indices instanceof Int32Array) || !(sets.sizes instanceof Int32Array))
      fail('invalid_argument', 'sets must be { offsets, indices, sizes } Int32Arrays (from lk.predictSets)', 'sets');
    if (!(labels instanceof Int32Array)) fail('invalid_argument', 'labels must be an Int32Array of class indices', 'labels');
    const rows = sets.sizes.length;
    if (sets.offsets.length !== rows + 1) fail('shape_mismatch', `sets.offsets has ${sets.offsets.length} entries, expected rows + 1 = ${rows + 1}`, 'sets.offsets');
    if (labels.length !== rows) fail('shape_mismatch', `labels has ${labels.length} entries, expected ${rows} (one per set)`, 'labels');
    const st = this.stats;
    for (let r = 0; r < rows; r++) {
      const y = labels[r]!;
      if (!(y >= 0 && y < this.classes)) fail('target_out_of_range', `labels[${r}] = ${y}, expected 0 ≤ label < ${this.classes}`, 'labels');
      const a = sets.offsets[r]!;
      const b = sets.offsets[r + 1]!;
      if (b - a !== sets.sizes[r]) fail('shape_mismatch', `sets.sizes[${r}] = ${sets.sizes[r]} but the offsets give ${b - a}`, 'sets.sizes');
      let hit = 0;
      for (let i = a; i < b; i++) if (sets.indices[i] === y) hit = 1;
      const size = b - a;
      st.hits += hit;
      st.members += size;
      if (size === 0) st.empty++;
      st.bucketRows[bucketOf(size)]++;
      st.bucketHits[bucketOf(size)] += hit;
      st.support[y]++;
      st.classHits[y] += hit;
    }
    st.rows += rows;
    return this;
  }

  merge(o: ConformalAccumulator): this {
    if (o.classes !== this.classes) fail('shape_mismatch', `conformal counts for ${o.classes} classes cannot merge into ${this.classes}`, 'conformal');
    const a = this.stats;
    const b = o.stats;
    a.rows += b.rows;
    a.hits += b.hits;
    a.members += b.members;
    a.empty += b.empty;
    const add = (x: number[], y: number[]) => x.forEach((_, i) => (x[i] = x[i]! + y[i]!));
    add(a.bucketRows, b.bucketRows);
    add(a.bucketHits, b.bucketHits);
    add(a.support, b.support);
    add(a.classHits, b.classHits);
    return this;
  }

  static fromStats(s: unknown, classes: number, name = 'conformal'): ConformalAccumulator {
    const o = s as Partial<ConformalStats> | null;
    const counts = (v: unknown, n: number) => Array.isArray(v) && v.length === n && v.every((e) => Number.isSafeInteger(e) && e >= 0);
    const count = (v: unknown) => Number.isSafeInteger(v) && (v as number) >= 0;
    if (!o || !count(o.rows) || !count(o.hits) || !count(o.members) || !count(o.empty) || !counts(o.bucketRows, SIZE_BUCKETS.length) || !counts(o.bucketHits, SIZE_BUCKETS.length) || !counts(o.support, classes) || !counts(o.classHits, classes))
      throw new Error(`${name}: malformed "conformal.stats"`);
    const acc = new ConformalAccumulator(classes);
    Object.assign(acc.stats, structuredClone(o as ConformalStats));
    return acc;
  }

  summary(alpha: number): ConformalMetrics {
    const st = this.stats;
    const rows = st.rows;
    const classCoverage = st.support.map((n, c) => (n === 0 ? null : st.classHits[c]! / n));
    const supported = classCoverage.filter((v): v is number => v !== null);
    return {
      coverage: st.hits / rows,
      meanSize: st.members / rows,
      emptyRate: st.empty / rows,
      sizeStratified: SIZE_BUCKETS.map((sizes, i) => ({ sizes, rows: st.bucketRows[i]!, coverage: st.bucketRows[i] === 0 ? null : st.bucketHits[i]! / st.bucketRows[i]! })),
      classCoverage,
      covGap: supported.length === 0 ? NaN : supported.reduce((s, v) => s + Math.abs(v - (1 - alpha)), 0) / supported.length,
    };
  }
}

/** Coverage and size figures of prediction sets against the true labels. */
export function conformalMetrics(sets: PredictionSets, labels: Int32Array, options?: { alpha?: number; classes?: number }): ConformalMetrics {
  const alpha = checkAlpha(options?.alpha ?? 0.1);
  let classes = options?.classes;
  if (classes === undefined) classes = labels instanceof Int32Array ? labels.reduce((m, y) => Math.max(m, y + 1), 0) : 0;
  else if (!Number.isSafeInteger(classes) || classes < 1) bad('options.classes', classes, 'an integer ≥ 1');
  return new ConformalAccumulator(classes).add(sets, labels).summary(alpha);
}
