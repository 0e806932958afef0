/**
 * Selective prediction (issue 24): the risk–coverage curve of abstaining on the least confident
 * rows, from one confidence per row (−oodScore) and whether its prediction is wrong.
 *
 * Rows in descending confidence; the curve has one point per distinct confidence c:
 * coverage = #{conf ≥ c}/n, risk = errors among them / their count, generalized risk = errors
 * among them / n. aurc = Σ (coverage − previous coverage)·risk over the points (previous coverage
 * starts at 0); augrc the same with the generalized risk (Traub et al., 2024); eaurc = aurc − (r +
 * (1 − r)·ln(1 − r)), r the overall error rate (Geifman et al., 2019), with (1 − r)·ln(1 − r) = 0
 * at r = 1; riskAtCoverage[level] = the risk at the first point whose coverage ≥ level.
 * A NaN confidence ranks below every number (those rows are covered last, as one point).
 */
import type { OodMethodName } from '../backends/backend.js';

/** What riskCoverage needs of the engine (structural, so metrics/ does not import engine.ts). */
export interface SelectiveEngine {
  oodScore(x: Float32Array, classes: number, options: { method: OodMethodName; temperature?: number; gamma?: number; topM?: number }): Float32Array;
  argmax(x: Float32Array, classes: number): Int32Array;
}

export const RISK_COVERAGE_LEVELS = ['0.5', '0.8', '0.9', '0.95', '1'] as const;
export type CoverageLevel = (typeof RISK_COVERAGE_LEVELS)[number];

export interface RiskCoverage {
  /** One point per distinct confidence, in descending confidence. */
  coverage: Float64Array;
  risk: Float64Array;
  /** Errors among the covered rows / n (the generalized risk of Traub et al.). */
  generalizedRisk: Float64Array;
  /** The confidence (−score) of each point: rows with at least this confidence are covered. */
  confidence: Float64Array;
  aurc: number;
  eaurc: number;
  augrc: number;
  riskAtCoverage: Record<CoverageLevel, number>;
}

export interface RiskCoverageOptions {
  /** Which OOD score's negation is the confidence (default 'msp'). */
  score?: OodMethodName;
  temperature?: number;
  gamma?: number;
  topM?: number;
}

/** The curve and its summaries from confidences and 0/1 errors (the same length). */
export function riskCoverageFrom(confidence: ArrayLike<number>, wrong: ArrayLike<number>): RiskCoverage {
  const n = confidence.length;
  // NaN first as −inf would tie with a real −inf: a key below every number instead.
  const key = (i: number): number => {
    const c = confidence[i]!;
    return c !== c ? -Infinity : c;
  };
  const isNaNAt = (i: number): boolean => confidence[i] !== confidence[i];
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => {
    const na = isNaNAt(a);
    const nb = isNaNAt(b);
    if (na !== nb) return na ? 1 : -1;
    return key(b) - key(a) || 0;
  });
  const coverage: number[] = [];
  const risk: number[] = [];
  const generalized: number[] = [];
  const conf: number[] = [];
  let covered = 0;
  let errors = 0;
  let aurc = 0;
  let augrc = 0;
  let prev = 0;
  for (let s = 0; s < n; ) {
    const head = order[s]!;
    const nan = isNaNAt(head);
    const c = key(head);
    while (s < n && isNaNAt(order[s]!) === nan && (nan || key(order[s]!) === c)) {
      errors += wrong[order[s]!]! ? 1 : 0;
      covered++;
      s++;
    }
    const cov = covered / n;
    const r = errors / covered;
    const g = errors / n;
    aurc += (cov - prev) * r;
    augrc += (cov - prev) * g;
    prev = cov;
    coverage.push(cov);
    risk.push(r);
    generalized.push(g);
    conf.push(nan ? NaN : c);
  }
  const overall = n === 0 ? NaN : errors / n;
  const optimal = overall === 1 ? 1 : overall + (1 - overall) * Math.log(1 - overall);
  const riskAtCoverage = {} as Record<CoverageLevel, number>;
  for (const level of RISK_COVERAGE_LEVELS) {
    const at = coverage.findIndex((v) => v >= Number(level));
    riskAtCoverage[level] = at < 0 ? NaN : risk[at]!;
  }
  return {
    coverage: Float64Array.from(coverage),
    risk: Float64Array.from(risk),
    generalizedRisk: Float64Array.from(generalized),
    confidence: Float64Array.from(conf),
    aurc: n === 0 ? NaN : aurc,
    eaurc: n === 0 ? NaN : aurc - optimal,
    augrc: n === 0 ? NaN : augrc,
    riskAtCoverage,
  };
}

/** lk.riskCoverage: confidence = −lk.oodScore, an error = argmax ≠ label (labels checked by the engine). */
export function riskCoverage(lk: SelectiveEngine, x: Float32Array, classes: number, labels: Int32Array, o: Required<Pick<RiskCoverageOptions, 'score'>> & RiskCoverageOptions): RiskCoverage {
  const scores = lk.oodScore(x, classes, {
    method: o.score,
    ...(o.temperature !== undefined ? { temperature: o.temperature } : {}),
    ...(o.gamma !== undefined ? { gamma: o.gamma } : {}),
    ...(o.topM !== undefined ? { topM: o.topM } : {}),
  });
  const pred = lk.argmax(x, classes);
  const wrong = new Uint8Array(labels.length);
  const conf = new Float64Array(scores.length);
  for (let i = 0; i < labels.length; i++) {
    wrong[i] = pred[i] !== labels[i] ? 1 : 0;
    conf[i] = -scores[i]!;
  }
  return riskCoverageFrom(conf, wrong);
}

/** What `score` reports as `selective`: the summaries, the curve when exact, the bound when from bins. */
export interface SelectiveSummary {
  aurc: number;
  eaurc: number;
  augrc: number;
  riskAtCoverage: Record<CoverageLevel, number>;
  /** Present when the figures come from binned statistics (merge): each is within ± this of the exact value. */
  errorBound?: number;
  curve?: { coverage: ArrayLike<number>; risk: ArrayLike<number> };
}
