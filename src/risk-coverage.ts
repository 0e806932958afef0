/**
 * The risk–coverage result of selective prediction (`lk.riskCoverageFrom`, `lk.riskCoverage`), shared
 * by the engine, both backends (src/backends/js-selective.ts, the float64 reference, and
 * wasm-selective.ts) and src/metrics/selective.ts: the coverage levels, the result's type, and the
 * last step both backends take alike — E-AURC's oracle term (Math.log) and the result object.
 */

/** The coverages at which `riskCoverage` reports the risk (the keys of `riskAtCoverage`), ascending. */
export const RISK_COVERAGE_LEVELS = ['0.5', '0.8', '0.9', '0.95', '1'] as const;
/** One of RISK_COVERAGE_LEVELS: a coverage, as the string key of `riskAtCoverage`. */
export type CoverageLevel = (typeof RISK_COVERAGE_LEVELS)[number];

/** The risk–coverage curve of `lk.riskCoverage` and its areas (docs/uncertainty.md). */
export interface RiskCoverage {
  /** One point per distinct confidence, in descending confidence: the fraction of rows covered. */
  coverage: Float64Array;
  /** Errors among the covered rows / their count. */
  risk: Float64Array;
  /** Errors among the covered rows / n (the generalized risk of Traub et al.). */
  generalizedRisk: Float64Array;
  /** The confidence (−score) of each point: rows with at least this confidence are covered. */
  confidence: Float64Array;
  /** Area under the risk–coverage curve: Σ (coverage − previous coverage) · risk. */
  aurc: number;
  /** aurc minus an oracle ranking's, r + (1 − r)·ln(1 − r) with r the overall error rate. */
  eaurc: number;
  /** Area under the generalized risk–coverage curve (Traub et al., 2024). */
  augrc: number;
  /** The risk at the first point whose coverage reaches each level. */
  riskAtCoverage: Record<CoverageLevel, number>;
}

/** The walk's sums before the last step: what a backend computes. */
export interface RiskCoverageWalk {
  /** Rows (n) and errors among them. */
  rows: number;
  errors: number;
  aurc: number;
  augrc: number;
  /** The risk at each of RISK_COVERAGE_LEVELS (NaN where no point reached it). */
  riskAt: ArrayLike<number>;
  /** Curve points written (the arrays below may be longer: room for every possible point). */
  points: number;
  /** The curve, its first `points` entries meaningful. */
  coverage: Float64Array;
  risk: Float64Array;
  generalizedRisk: Float64Array;
  confidence: Float64Array;
}

/** The RiskCoverage of a walk: the curve cut to its points; n = 0 gives NaN figures; E-AURC's oracle term in float64 here, on every backend. */
export function riskCoverageResult(w: RiskCoverageWalk): RiskCoverage {
  const n = w.rows;
  const overall = n === 0 ? NaN : w.errors / n;
  const optimal = overall === 1 ? 1 : overall + (1 - overall) * Math.log(1 - overall);
  const riskAtCoverage = {} as Record<CoverageLevel, number>;
  RISK_COVERAGE_LEVELS.forEach((l, k) => (riskAtCoverage[l] = w.riskAt[k]!));
  const cut = (a: Float64Array): Float64Array => (w.points === a.length ? a : a.slice(0, w.points));
  return {
    coverage: cut(w.coverage),
    risk: cut(w.risk),
    generalizedRisk: cut(w.generalizedRisk),
    confidence: cut(w.confidence),
    aurc: n === 0 ? NaN : w.aurc,
    eaurc: n === 0 ? NaN : w.aurc - optimal,
    augrc: n === 0 ? NaN : w.augrc,
    riskAtCoverage,
  };
}
