/**
 * Multi-label scoring: one independent sigmoid per label, logits z (rows × labels) against targets t
 * in {0, 1} of the same shape. Streamed and mergeable: the accumulator keeps integer counts and float64
 * sums only, and every figure is a ratio of them.
 *
 * Per label k, with p = σ(z):
 *   bce      mean over rows of −[t ln σ(z) + (1 − t) ln(1 − σ(z))], from the logit through the engine's
 *            bceWithLogits (stable log-sigmoid; SEMANTICS' bce rule), summed per label in float64;
 *   predicted positive ⇔ p ≥ ½ ⇔ z ≥ 0 (σ(0) = ½ exactly, so the boundary row counts as positive;
 *            a NaN logit is never predicted positive); with a threshold t (--threshold), p ≥ t ⇔
 *            z ≥ ln(t / (1 − t));
 *   precision = TP / (TP + FP), recall = TP / (TP + FN), f1 = 2TP / (2TP + FP + FN), each 0 when its
 *            denominator is 0 (scikit-learn's zero_division=0; the labels concerned are listed);
 *   auroc    the same streamed AUROC as the multiclass one (auroc.ts: bins of the float32 score p, pairs in
 *            one bin estimated from their positions), on p against t; null for a label without positives
 *            or without negatives;
 *   averagePrecision  sklearn's average_precision_score of p against t, from the same counts
 *            (average-precision.ts); null for a label without positives.
 * Averages (scikit-learn's conventions): micro pools TP / FP / FN over all labels (and, for AUROC, the
 * pairs of every label's bins); macro is the unweighted mean over all labels (a label with no positives
 * contributes recall 0 and F1 0, precision 0 unless it was predicted), except AUROC, averaged over the
 * labels that have both positives and negatives. subsetAccuracy is the share of rows whose every label
 * is predicted right; hammingLoss the share of (row, label) cells predicted wrong.
 */
import { LogitkitError } from '../errors.js';
import { addAurocStats, AUROC_BINS, AUROC_MAX_CLASSES, AurocCounts, aurocStats, type AurocStats } from './auroc.js';
import type { MetricsEngine } from './calibration.js';
import { averagePrecisionReport, classAveragePrecision } from './average-precision.js';

export const MULTILABEL_STATS_FORMAT = 'logitkit-multilabel-stats/1';

/** One label's figures in a `MultilabelReport`: BCE, AUROC, F1, precision, recall, support. */
export interface MultilabelLabel {
  label: number;
  name?: string;
  bce: number;
  /** null without positives or without negatives (and when AUROC is not kept: above 1024 labels). */
  auroc: number | null;
  /** Average precision (average-precision.ts); null without positives (and when AUROC is not kept). */
  averagePrecision: number | null;
  f1: number;
  precision: number;
  recall: number;
  /** Rows whose target is 1. */
  support: number;
  /** Rows predicted positive (z ≥ 0). */
  predicted: number;
}

/** The figures of a multi-label model (docs/evaluation.md, multi-label models): per label, micro and macro averages, subset accuracy, Hamming loss. */
export interface MultilabelReport {
  rows: number;
  labels: number;
  perLabel: MultilabelLabel[];
  micro: { precision: number; recall: number; f1: number; auroc: number | null; averagePrecision: number | null };
  /** averagePrecision: the mean over the labels with positives. */
  macro: { precision: number; recall: number; f1: number; bce: number; auroc: number | null; averagePrecision: number | null };
  subsetAccuracy: number;
  hammingLoss: number;
  /** The decision rule of F1 / precision / recall, in words ('p >= 0.5 (z >= 0)' by default). */
  threshold: string;
  /** Labels whose precision (never predicted) or recall (no positives) was 0/0, reported as 0. */
  zeroDivision: { precision: number[]; recall: number[] };
  /** Rows with a NaN logit: BCE and AUROC are NaN then. */
  nanRows: number;
  /** auroc.ts's worst-case bound on |binned − exact| over the labels (NaN without AUROC). */
  aurocErrorBound: number;
  /** average-precision.ts's worst-case bound on |binned − exact| over the labels (NaN without it). */
  averagePrecisionErrorBound: number;
  labelNames?: string[];
}

type JsonNum = number | 'NaN' | 'Infinity' | '-Infinity';
const enc = (v: number): JsonNum => (Number.isFinite(v) ? v : (String(v) as JsonNum));
const dec = (v: unknown): number => (typeof v === 'number' ? v : typeof v === 'string' ? Number(v) : NaN);

/** The raw sums of a `MultilabelAccumulator`, as JSON, from which shards merge exactly. */
export interface MultilabelStats {
  format: typeof MULTILABEL_STATS_FORMAT;
  rows: number;
  labels: number;
  bceSum: JsonNum[];
  tp: number[];
  fp: number[];
  fn: number[];
  support: number[];
  subsetCorrect: number;
  nanRows: number;
  /** The decision threshold on p (absent: 0.5). */
  threshold?: number;
  auroc?: AurocStats;
}

/**
 * Checks targets in {0, 1} and returns them as bytes. `where(i)` names element i for the message
 * (row and column), so a bad value is found without a search.
 */
export function checkTargets(t: ArrayLike<number>, labels: number, where: (i: number) => string = (i) => `row ${Math.floor(i / labels)}, label ${i % labels}`, out?: Uint8Array): Uint8Array {
  const n = t.length;
  const b = out && out.length >= n ? out.subarray(0, n) : new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const v = t[i];
    if (v === 0) b[i] = 0;
    else if (v === 1) b[i] = 1;
    else throw new LogitkitError('target_out_of_range', `targets must be 0 or 1; got ${String(v)} at ${where(i)}`, 'targets');
  }
  return b;
}

/** Streams multi-label scoring in blocks (`addBlock`, `addProbBlock`), merges shards exactly (`merge`, `toStats` / `fromStats`) and reports. */
export class MultilabelAccumulator {
  readonly labels: number;
  rows = 0;
  readonly bceSum: Float64Array;
  readonly tp: Float64Array;
  readonly fp: Float64Array;
  readonly fn: Float64Array;
  readonly support: Float64Array;
  subsetCorrect = 0;
  nanRows = 0;
  /** null above AUROC_MAX_CLASSES labels, or merged from statistics without it. */
  auroc: AurocCounts | null;
  /** A label is predicted when p ≥ threshold (z ≥ cut = its logit). */
  readonly threshold: number;
  private readonly cut: number;
  private tf = new Float32Array(0);

  constructor(labels: number, options: { threshold?: number } = {}) {
    if (!Number.isInteger(labels) || labels < 1) throw new LogitkitError('shape_mismatch', `labels = ${labels}, expected an integer >= 1`, 'labels');
    const t = options.threshold ?? 0.5;
    if (!(typeof t === 'number' && t > 0 && t < 1)) throw new LogitkitError('invalid_argument', `threshold = ${String(t)}, expected a number in (0, 1)`, 'options.threshold');
    this.threshold = t;
    this.cut = Math.log(t / (1 - t));
    this.labels = labels;
    this.bceSum = new Float64Array(labels);
    this.tp = new Float64Array(labels);
    this.fp = new Float64Array(labels);
    this.fn = new Float64Array(labels);
    this.support = new Float64Array(labels);
    this.auroc = labels <= AUROC_MAX_CLASSES ? new AurocCounts(labels) : null;
  }

  /** Counts one (label k, prediction, truth) into support / TP / FN / FP; true when they agree. */
  private tally(k: number, pred: boolean, pos: boolean): boolean {
    if (pos) {
      this.support[k] += 1;
      if (pred) this.tp[k] += 1;
      else this.fn[k] += 1;
    } else if (pred) this.fp[k] += 1;
    return pred === pos;
  }

  /** Adds rows of logits z (rows × labels) with targets t already checked to be 0/1 (checkTargets). */
  addBlock(lk: MetricsEngine, z: Float32Array, t: Uint8Array): void {
    const C = this.labels;
    if (z.length % C !== 0) throw new LogitkitError('shape_mismatch', `logits have ${z.length} values, not a multiple of ${C} labels`, 'x');
    if (t.length !== z.length) throw new LogitkitError('shape_mismatch', `targets have ${t.length} values, expected ${z.length} (the logits' shape)`, 'targets');
    const R = z.length / C;
    if (R === 0) return;
    if (!lk.sigmoid || !lk.bceWithLogits) throw new LogitkitError('invalid_argument', 'the engine has no sigmoid / bceWithLogits', 'lk');
    if (this.tf.length < z.length) this.tf = new Float32Array(z.length);
    const tf = this.tf.subarray(0, z.length);
    for (let i = 0; i < z.length; i++) tf[i] = t[i];
    const l = lk.bceWithLogits(z, tf, { reduction: 'none' });
    for (let r = 0; r < R; r++) {
      const o = r * C;
      let allRight = 1;
      let nan = false;
      for (let k = 0; k < C; k++) {
        const zk = z[o + k];
        if (zk !== zk) nan = true;
        this.bceSum[k] += l[o + k];
        if (!this.tally(k, zk >= this.cut, t[o + k] === 1)) allRight = 0;
      }
      this.subsetCorrect += allRight;
      if (nan) this.nanRows++;
    }
    this.rows += R;
    if (this.auroc) this.auroc.addMultiBlock(lk.sigmoid(z), t, R);
  }

  /**
   * Adds rows of per-label probabilities p (rows × labels; `log`: ln p) with targets t checked to be 0/1
   * (checkTargets), for models that output σ(z) rather than z. BCE is computed from p in float64:
   * −ln p for a positive and −ln(1 − p) (log1p, or ln(−expm1(ln p)) from log-probabilities) for a
   * negative, so it stays exact at the ends: p = 0 for a positive and p = 1 for a negative give +∞, as
   * bceWithLogits does at z = ∓∞; p = 1 for a positive and p = 0 for a negative give 0. A label is
   * predicted when p ≥ ½, the same rule as z ≥ 0. AUROC ranks p itself (exp of a log-probability,
   * rounded to float32, which also decides the prediction). A p outside [0, 1], a log-probability above 0, or NaN is an invalid_argument
   * naming its index (the CLI checks first and names the file, row and label).
   */
  addProbBlock(p: Float32Array, t: Uint8Array, options: { log?: boolean } = {}): void {
    const C = this.labels;
    const log = options.log === true;
    if (p.length % C !== 0) throw new LogitkitError('shape_mismatch', `probabilities have ${p.length} values, not a multiple of ${C} labels`, 'p');
    if (t.length !== p.length) throw new LogitkitError('shape_mismatch', `targets have ${t.length} values, expected ${p.length} (the probabilities' shape)`, 'targets');
    const bad = firstBadProb(p, log);
    if (bad >= 0) throw new LogitkitError('invalid_argument', `${log ? 'log-probability' : 'probability'} ${p[bad]} at index ${bad} is not in ${log ? '[-inf, 0]' : '[0, 1]'}`, 'p');
    const R = p.length / C;
    if (R === 0) return;
    const score = log ? new Float32Array(p.length) : p;
    for (let r = 0; r < R; r++) {
      const o = r * C;
      let allRight = 1;
      for (let k = 0; k < C; k++) {
        const v = p[o + k];
        // from ln p, the float32 p that AUROC ranks also decides the prediction: ln ½ is not a float32,
        // so exp(fround(ln ½)) falls just below ½ where the stored p was exactly ½
        if (log) score[o + k] = Math.exp(v);
        const pk = score[o + k];
        const pos = t[o + k] === 1;
        // ln(1 − p): from a log-probability through expm1, which keeps the digits when p is near 1
        this.bceSum[k] += pos ? -(log ? v : Math.log(pk)) : -(log ? Math.log(-Math.expm1(v)) : Math.log1p(-pk));
        if (!this.tally(k, pk >= this.threshold, pos)) allRight = 0;
      }
      this.subsetCorrect += allRight;
    }
    this.rows += R;
    if (this.auroc) this.auroc.addMultiBlock(score, t, R);
  }

  merge(o: MultilabelAccumulator): this {
    if (o.labels !== this.labels) throw new LogitkitError('shape_mismatch', `cannot merge: labels differ (${this.labels} vs ${o.labels})`, 'labels');
    if (o.threshold !== this.threshold) throw new LogitkitError('shape_mismatch', `cannot merge: thresholds differ (${this.threshold} vs ${o.threshold})`, 'threshold');
    this.rows += o.rows;
    for (let k = 0; k < this.labels; k++) {
      this.bceSum[k] += o.bceSum[k];
      this.tp[k] += o.tp[k];
      this.fp[k] += o.fp[k];
      this.fn[k] += o.fn[k];
      this.support[k] += o.support[k];
    }
    this.subsetCorrect += o.subsetCorrect;
    this.nanRows += o.nanRows;
    if (this.auroc && o.auroc) this.auroc.merge(o.auroc);
    else this.auroc = null;
    return this;
  }

  report(names?: readonly string[] | null): MultilabelReport {
    const C = this.labels;
    const n = this.rows;
    const ratio = (a: number, b: number) => (b > 0 ? a / b : 0);
    const aur = this.auroc ? this.auroc.report(this.support) : null;
    const ap = this.auroc ? averagePrecisionReport(this.auroc) : null;
    const pooled = this.pooled();
    const perLabel: MultilabelLabel[] = [];
    const never: number[] = [];
    const noPos: number[] = [];
    let TP = 0;
    let FP = 0;
    let FN = 0;
    let sp = 0;
    let sr = 0;
    let sf = 0;
    let sb = 0;
    for (let k = 0; k < C; k++) {
      const tp = this.tp[k];
      const fp = this.fp[k];
      const fn = this.fn[k];
      TP += tp;
      FP += fp;
      FN += fn;
      if (tp + fp === 0) never.push(k);
      if (tp + fn === 0) noPos.push(k);
      const e: MultilabelLabel = {
        label: k,
        bce: this.bceSum[k] / n,
        auroc: aur ? aur.perClass[k] : null,
        averagePrecision: ap ? ap.perClass[k] : null,
        f1: ratio(2 * tp, 2 * tp + fp + fn),
        precision: ratio(tp, tp + fp),
        recall: ratio(tp, tp + fn),
        support: this.support[k],
        predicted: tp + fp,
      };
      if (names) e.name = names[k];
      perLabel.push(e);
      sp += e.precision;
      sr += e.recall;
      sf += e.f1;
      sb += e.bce;
    }
    const cells = n * C;
    const out: MultilabelReport = {
      rows: n,
      labels: C,
      perLabel,
      micro: { precision: ratio(TP, TP + FP), recall: ratio(TP, TP + FN), f1: ratio(2 * TP, 2 * TP + FP + FN), auroc: this.microAuroc(pooled), averagePrecision: this.microAveragePrecision(pooled) },
      macro: { precision: sp / C, recall: sr / C, f1: sf / C, bce: sb / C, auroc: !aur ? null : Number.isNaN(aur.errorBound) ? NaN : Number.isNaN(aur.macro) ? null : aur.macro,
        averagePrecision: !ap ? null : Number.isNaN(ap.errorBound) ? NaN : Number.isNaN(ap.macro) ? null : ap.macro },
      subsetAccuracy: this.subsetCorrect / n,
      hammingLoss: cells > 0 ? (FP + FN) / cells : NaN,
      threshold: this.threshold === 0.5 ? 'p >= 0.5 (z >= 0)' : `p >= ${this.threshold} (z >= ${this.cut})`,
      zeroDivision: { precision: never, recall: noPos },
      nanRows: this.nanRows,
      aurocErrorBound: aur ? aur.errorBound : NaN,
      averagePrecisionErrorBound: ap ? ap.errorBound : NaN,
    };
    if (names) out.labelNames = [...names];
    return out;
  }

  /** AUROC of all (row, label) cells pooled (scikit-learn's average='micro'): every label's bins added up. */
  private microAuroc(pooled: AurocCounts | null): number | null {
    if (!pooled) return null;
    if (pooled.nanRows > 0) return NaN;
    const r = pooled.classAuroc(0);
    return r === null ? null : r.auroc;
  }

  /** Average precision of all (row, label) cells pooled (scikit-learn's average='micro'). */
  private microAveragePrecision(pooled: AurocCounts | null): number | null {
    if (!pooled) return null;
    if (pooled.nanRows > 0) return NaN;
    const r = classAveragePrecision(pooled, 0);
    return r === null ? null : r.ap;
  }

  /** Every label's bins pooled into one column (micro averages); null without AUROC counts. */
  private pooled(): AurocCounts | null {
    const a = this.auroc;
    if (!a) return null;
    const pooled = new AurocCounts(1);
    pooled.nanRows = a.nanRows;
    if (a.nanRows > 0) return pooled;
    for (let k = 0; k < this.labels; k++) {
      for (let b = 0; b < AUROC_BINS; b++) {
        const i = k * AUROC_BINS + b;
        const p = a.pos(i);
        const n = a.neg(i);
        if (p === 0 && n === 0) continue;
        const q = a.positions(i);
        pooled.addCount(b, p, n, q.pos, q.neg);
      }
    }
    return pooled;
  }

  toStats(): MultilabelStats {
    return {
      format: MULTILABEL_STATS_FORMAT,
      rows: this.rows,
      labels: this.labels,
      bceSum: Array.from(this.bceSum, enc),
      tp: Array.from(this.tp),
      fp: Array.from(this.fp),
      fn: Array.from(this.fn),
      support: Array.from(this.support),
      subsetCorrect: this.subsetCorrect,
      nanRows: this.nanRows,
      ...(this.threshold !== 0.5 ? { threshold: this.threshold } : {}),
      ...(this.auroc ? { auroc: aurocStats(this.auroc) } : {}),
    };
  }

  static fromStats(s: unknown, name = 'stats'): MultilabelAccumulator {
    const o = s as MultilabelStats;
    const bad = (what: string): never => {
      throw new LogitkitError('invalid_argument', `${name}: ${what}`, name);
    };
    if (!o || typeof o !== 'object' || o.format !== MULTILABEL_STATS_FORMAT) bad(`not logitkit multi-label statistics (expected "stats.format": "${MULTILABEL_STATS_FORMAT}")`);
    if (!Number.isSafeInteger(o.labels) || o.labels < 1) bad('stats.labels must be a positive integer');
    if (!Number.isSafeInteger(o.rows) || o.rows < 0) bad('stats.rows must be an integer >= 0');
    const C = o.labels;
    if (o.threshold !== undefined && !(typeof o.threshold === 'number' && o.threshold > 0 && o.threshold < 1)) bad('stats.threshold must be a number in (0, 1)');
    const acc = new MultilabelAccumulator(C, { threshold: o.threshold ?? 0.5 });
    const arr = (key: 'bceSum' | 'tp' | 'fp' | 'fn' | 'support', counts: boolean): number[] => {
      const v = o[key];
      if (!Array.isArray(v) || v.length !== C) bad(`stats.${key} must be an array of ${C}`);
      const out = (v as unknown[]).map(dec);
      if (counts && !out.every((x) => Number.isSafeInteger(x) && x >= 0)) bad(`stats.${key} must hold integer counts`);
      return out;
    };
    acc.rows = o.rows;
    acc.bceSum.set(arr('bceSum', false));
    acc.tp.set(arr('tp', true));
    acc.fp.set(arr('fp', true));
    acc.fn.set(arr('fn', true));
    acc.support.set(arr('support', true));
    acc.subsetCorrect = Number.isSafeInteger(o.subsetCorrect) ? o.subsetCorrect : bad('stats.subsetCorrect must be an integer');
    acc.nanRows = typeof o.nanRows === 'number' ? o.nanRows : 0;
    if (o.auroc === undefined || !acc.auroc || !addAurocStats(acc.auroc, o.auroc, name)) acc.auroc = null;
    return acc;
  }
}

/** Index of the first value that is not a probability (log: not a log-probability), or −1. */
export function firstBadProb(p: Float32Array, log: boolean): number {
  for (let i = 0; i < p.length; i++) {
    const v = p[i];
    if (log ? !(v <= 0) : !(v >= 0 && v <= 1)) return i;
  }
  return -1;
}

/**
 * Multi-label figures of in-memory logits (rows × labels, row-major) against 0/1 targets of the same
 * shape, through an engine (lk): the public entry to what `logitkit score --multilabel` computes.
 */
export function multilabelMetrics(lk: MetricsEngine, logits: Float32Array, targets: ArrayLike<number>, labels: number, options: { names?: readonly string[] } = {}): MultilabelReport {
  if (!(logits instanceof Float32Array)) throw new LogitkitError('invalid_argument', 'logits must be a Float32Array (rows × labels)', 'logits');
  if (!Number.isInteger(labels) || labels < 1) throw new LogitkitError('shape_mismatch', `labels = ${String(labels)}, expected an integer >= 1`, 'labels');
  if (logits.length === 0 || logits.length % labels !== 0) throw new LogitkitError('shape_mismatch', `logits have ${logits.length} values: expected rows × ${labels} with rows >= 1`, 'logits');
  if (targets.length !== logits.length) throw new LogitkitError('shape_mismatch', `targets have ${targets.length} values, expected ${logits.length} (the logits' shape)`, 'targets');
  if (options.names && options.names.length !== labels) throw new LogitkitError('shape_mismatch', `${options.names.length} names for ${labels} labels`, 'options.names');
  const acc = new MultilabelAccumulator(labels);
  acc.addBlock(lk, logits, checkTargets(targets, labels));
  return acc.report(options.names ?? null);
}
