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
import { AUROC_BINS, AUROC_Q, aurocFine } from '../auroc-bins.js';
import type { OodMethodName } from '../backends/backend.js';
import { RISK_COVERAGE_LEVELS, type CoverageLevel, type RiskCoverage } from '../risk-coverage.js';

/** What the exact figures need of the engine: its risk–coverage op (structural, so metrics/ does not import engine.ts). */
export interface RiskCoverageEngine {
  riskCoverageFrom(confidence: Float32Array | Float64Array, wrong: Uint8Array, options?: { maxPoints?: number }): RiskCoverage;
}

/** What riskCoverage needs of the engine. */
export interface SelectiveEngine extends RiskCoverageEngine {
  oodScore(x: Float32Array, classes: number, options: { method: OodMethodName; temperature?: number; gamma?: number; topM?: number }): Float32Array;
  argmax(x: Float32Array, classes: number): Int32Array;
}

export { RISK_COVERAGE_LEVELS, type CoverageLevel, type RiskCoverage } from '../risk-coverage.js';

/** Options of `lk.riskCoverage`: the confidence is −(an OOD score), with that score's parameters (OodScoreOptions). */
export interface RiskCoverageOptions {
  /** Which OOD score's negation is the confidence (default 'msp'). */
  score?: OodMethodName;
  /** The logits are divided by T first: a finite number > 0 (default 1). */
  temperature?: number;
  /** GEN's exponent (default 0.1). */
  gamma?: number;
  /** GEN sums the topM largest probabilities (default min(100, classes)). */
  topM?: number;
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
  return lk.riskCoverageFrom(conf, wrong);
}

/** What `score` reports as `selective`: the summaries, the curve when exact, the bound when from bins. */
export interface SelectiveSummary {
  aurc: number;
  eaurc: number;
  augrc: number;
  riskAtCoverage: Record<CoverageLevel, number>;
  /** Present when the figures come from binned statistics (merge): each is within ± this of the exact value. */
  errorBound?: number;
  /**
   * Present with errorBound: 'merge' for merged statistics (64 bins per octave of 1 − c), 'fine' for a
   * run past SELECTIVE_EXACT_ROWS rows (4096 bins per octave of c below ½ and of 1 − c above).
   */
  binned?: 'merge' | 'fine';
  curve?: { coverage: ArrayLike<number>; risk: ArrayLike<number> };
}

// ---- score's `selective`: exact within a run, binned (with a bound) across merged shards ----

/**
 * Confidence bins for merging: 64 per octave of 1 − c (c = max p), 25 octaves (float32 c has
 * 1 − c ≥ 2^-24 or 0), so bins are finest where confident models put their rows; the last bin takes
 * c = 1. Bin k covers larger c than bin k − 1.
 */
export const SELECTIVE_BINS_PER_OCTAVE = 64;
export const SELECTIVE_BINS = 25 * SELECTIVE_BINS_PER_OCTAVE;
export const SELECTIVE_STATS_FORMAT = 'logitkit-selective-1';

export function selectiveBinOf(c: number): number {
  const k = Math.floor(-Math.log2(1 - c) * SELECTIVE_BINS_PER_OCTAVE);
  return k >= SELECTIVE_BINS ? SELECTIVE_BINS - 1 : k < 0 ? 0 : k;
}

/** Mergeable statistics: per nonempty bin [bin, rows, errors]; rows without a confidence (NaN) apart. */
export interface SelectiveStats {
  format: typeof SELECTIVE_STATS_FORMAT;
  bins: [number, number, number][];
  nan: [number, number];
}

/** A block's confidences (max p) and errors, from the public engine. */
export function confidenceAndErrors(lk: SelectiveEngine, x: Float32Array, classes: number, labels: Int32Array, temperature: number): { conf: Float32Array; wrong: Uint8Array } {
  const msp = lk.oodScore(x, classes, { method: 'msp', temperature });
  const pred = lk.argmax(x, classes);
  const wrong = new Uint8Array(labels.length);
  for (let i = 0; i < labels.length; i++) {
    wrong[i] = pred[i] !== labels[i] ? 1 : 0;
    msp[i] = -msp[i]!;
  }
  return { conf: msp, wrong };
}

/**
 * Rows whose confidences score keeps for the exact figures (5 bytes each: 20 MB at this count; the
 * wasm kernel of lk.riskCoverageFrom takes about 2 more in engine memory while it runs, the JS
 * reference 8 or more). Beyond it the figures come from fine bins with an errorBound, so that score's
 * memory does not grow with the file.
 */
export const SELECTIVE_EXACT_ROWS = 1 << 22;
/**
 * The fine bins past SELECTIVE_EXACT_ROWS are AUROC's (src/auroc-bins.ts): 2^12 per octave of c below ½
 * and of 1 − c above, so both the confident end and a long low-confidence tail are resolved (merge's
 * bins, per octave of 1 − c only, put every c below 2^-14 in one bin).
 */
const FINE_BINS = AUROC_BINS * AUROC_Q;

/**
 * Rows and errors per fine bin, and the least and largest confidence in each: a bin whose rows all have
 * one confidence is one point of the exact curve (saturated c = 1 rows, a model's tied outputs), so it
 * adds nothing to the errorBound.
 */
class FineBins {
  readonly rows = new Float64Array(FINE_BINS);
  readonly errors = new Float64Array(FINE_BINS);
  readonly lo = new Float32Array(FINE_BINS).fill(Infinity);
  readonly hi = new Float32Array(FINE_BINS).fill(-Infinity);

  /** Counts a row of confidence c (not NaN); returns its fine bin. */
  add(c: number, wrong: number): void {
    const f = aurocFine(c);
    this.rows[f]++;
    this.errors[f] += wrong;
    if (c < this.lo[f]!) this.lo[f] = c;
    if (c > this.hi[f]!) this.hi[f] = c;
  }

  /** 1 for the bins whose rows share one confidence. */
  tied(): Float64Array {
    return this.rows.map((m, f) => (m > 0 && this.lo[f] === this.hi[f] ? 1 : 0));
  }
}

export class SelectiveAccumulator {
  /**
   * One confidence and one error bit per row, for the exact curve (absent when rebuilt from stats or
   * past exactRows). JS arrays, not engine memory (lk.alloc): lk.riskCoverageFrom reading them in place
   * measured at most 5 ms faster at 3M rows (bench/micro/selective.js, 'buffer'), and the wasm memory,
   * which never shrinks, would have held 12 MB more for the rest of the process.
   */
  #conf: Float32Array | null;
  #wrong: Uint8Array | null;
  /** Rows and errors per fine bin, once the rows passed exactRows (null before, and after a merge). */
  #fine: FineBins | null = null;
  /** Rows kept for the exact figures; past them, fine bins. */
  readonly exactRows: number;
  rows = 0;
  readonly binRows = new Float64Array(SELECTIVE_BINS);
  readonly binErrors = new Float64Array(SELECTIVE_BINS);
  nanRows = 0;
  nanErrors = 0;
  /** summary() until the next add or merge: score's JSON, human line and report each ask for it (a sort of every row). */
  #summary: SelectiveSummary | null = null;

  /** The engine whose lk.riskCoverageFrom makes the exact figures (null: only binned ones, as after a merge). */
  readonly #lk: RiskCoverageEngine | null;

  /**
   * `engine`: computes the exact figures (score's: wasm SIMD, assembly/kernels/selective.ts); without
   * one, summary() of held rows throws. `exactRows`: rows held for them (default SELECTIVE_EXACT_ROWS).
   * `rows`: the rows expected, when known (score's file): the held arrays are made that size at once
   * (at most exactRows) instead of doubling from 1024 — at 3M rows the doubling copied and touched
   * 20 MB more (fresh pages cost ≈ 3 ms a MB on a VM). More rows than expected still grow them.
   */
  constructor(options: { engine?: RiskCoverageEngine; exactRows?: number; rows?: number } = {}) {
    const n = options.exactRows ?? SELECTIVE_EXACT_ROWS;
    if (!(Number.isSafeInteger(n) && n >= 0)) throw new RangeError(`exactRows = ${n}, expected an integer >= 0`);
    const rows = options.rows ?? 1024;
    if (!(Number.isSafeInteger(rows) && rows >= 0)) throw new RangeError(`rows = ${rows}, expected an integer >= 0`);
    this.exactRows = n;
    this.#lk = options.engine ?? null;
    const size = Math.min(n, Math.max(rows, 1));
    this.#conf = new Float32Array(size);
    this.#wrong = new Uint8Array(size);
  }

  add(conf: Float32Array, wrong: Uint8Array): void {
    const n = conf.length;
    this.#summary = null;
    if (this.#conf && this.#wrong && this.rows + n > this.exactRows) this.#toFine();
    if (this.#conf && this.#wrong) {
      if (this.rows + n > this.#conf.length) {
        const size = Math.min(this.exactRows, Math.max(2 * this.#conf.length, this.rows + n));
        const c = new Float32Array(size);
        c.set(this.#conf.subarray(0, this.rows));
        const w = new Uint8Array(size);
        w.set(this.#wrong.subarray(0, this.rows));
        this.#conf = c;
        this.#wrong = w;
      }
      this.#conf.set(conf, this.rows);
      this.#wrong.set(wrong, this.rows);
    }
    const fine = this.#fine;
    for (let i = 0; i < n; i++) {
      const c = conf[i]!;
      if (c !== c) {
        this.nanRows++;
        this.nanErrors += wrong[i]!;
        continue;
      }
      fine?.add(c, wrong[i]!);
      const k = selectiveBinOf(c);
      this.binRows[k]++;
      this.binErrors[k] += wrong[i]!;
    }
    this.rows += n;
  }

  /** Whether summary() is exact (every row's confidence held), rather than from bins with an errorBound. */
  get exact(): boolean {
    return this.#conf !== null;
  }

  /** Past exactRows: the held rows go into fine bins and their arrays are released. */
  #toFine(): void {
    const fine = new FineBins();
    const conf = this.#conf!;
    const wrong = this.#wrong!;
    for (let i = 0; i < this.rows; i++) {
      const c = conf[i]!;
      if (c === c) fine.add(c, wrong[i]!); // NaN rows are already in nanRows
    }
    this.#conf = null;
    this.#wrong = null;
    this.#fine = fine;
  }

  /** The exact figures while every row is held; binned ones (with errorBound) past exactRows or after a merge. */
  summary(): SelectiveSummary {
    this.#summary ??= this.#figures();
    return this.#summary;
  }

  #figures(): SelectiveSummary {
    if (this.#conf && this.#wrong) {
      // the curve is for the report's picture: 4096 points draw it, millions only filled memory
      if (!this.#lk) throw new Error('SelectiveAccumulator: the exact figures need an engine (new SelectiveAccumulator({ engine }))');
      const rc = this.#lk.riskCoverageFrom(this.#conf.subarray(0, this.rows), this.#wrong.subarray(0, this.rows), { maxPoints: 4096 });
      return { aurc: rc.aurc, eaurc: rc.eaurc, augrc: rc.augrc, riskAtCoverage: rc.riskAtCoverage, curve: { coverage: rc.coverage, risk: rc.risk } };
    }
    if (this.#fine) return { ...binnedSelective(this, this.#fine.rows, this.#fine.errors, this.#fine.tied()), binned: 'fine' };
    return { ...binnedSelective(this, this.binRows, this.binErrors), binned: 'merge' };
  }

  toStats(): SelectiveStats {
    const bins: [number, number, number][] = [];
    for (let k = 0; k < SELECTIVE_BINS; k++) if (this.binRows[k]! > 0) bins.push([k, this.binRows[k]!, this.binErrors[k]!]);
    return { format: SELECTIVE_STATS_FORMAT, bins, nan: [this.nanRows, this.nanErrors] };
  }

  static fromStats(s: unknown, name = 'selective'): SelectiveAccumulator {
    const o = s as Partial<SelectiveStats> | null;
    const count = (v: unknown) => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
    if (!o || o.format !== SELECTIVE_STATS_FORMAT || !Array.isArray(o.bins) || !Array.isArray(o.nan) || !count(o.nan[0]) || !count(o.nan[1]))
      throw new Error(`${name}: malformed "selective.stats" (expected ${SELECTIVE_STATS_FORMAT})`);
    const acc = new SelectiveAccumulator();
    acc.#conf = null;
    acc.#wrong = null;
    for (const b of o.bins) {
      if (!Array.isArray(b) || b.length !== 3 || !Number.isSafeInteger(b[0]) || b[0] < 0 || b[0] >= SELECTIVE_BINS || !count(b[1]) || !count(b[2]) || b[2] > b[1])
        throw new Error(`${name}: malformed bin in "selective.stats"`);
      acc.binRows[b[0]] += b[1];
      acc.binErrors[b[0]] += b[2];
      acc.rows += b[1];
    }
    acc.nanRows = o.nan[0];
    acc.nanErrors = o.nan[1];
    acc.rows += acc.nanRows;
    return acc;
  }

  /** Adds another shard's statistics (the result is binned by the merge bins: exact curves do not merge). */
  merge(o: SelectiveAccumulator): void {
    this.#summary = null;
    this.#conf = null;
    this.#wrong = null;
    this.#fine = null;
    for (let k = 0; k < SELECTIVE_BINS; k++) {
      this.binRows[k] += o.binRows[k]!;
      this.binErrors[k] += o.binErrors[k]!;
    }
    this.nanRows += o.nanRows;
    this.nanErrors += o.nanErrors;
    this.rows += o.rows;
  }
}

/**
 * The figures from bins, each bin taken as one point (its rows share a confidence), and a bound on
 * how far the exact figures can be: within a bin of m rows and e errors the exact curve visits the
 * rows in some order, so the errors among its first k rows lie between max(0, k − (m − e)) (errors
 * last) and min(k, e) (errors first); summing each figure's terms at both extremes brackets it.
 * errorBound = the largest distance from a reported figure to its bracket's far end.
 */
function binnedSelective(a: SelectiveAccumulator, binRows: Float64Array, binErrors: Float64Array, tied: ArrayLike<number> | null = null): SelectiveSummary {
  const n = a.rows;
  const levels = RISK_COVERAGE_LEVELS.map(Number);
  const riskAt: number[] = levels.map(() => NaN);
  let bound = 0;
  let N = 0;
  let E = 0;
  let aurc = 0;
  let aurcLo = 0;
  let aurcHi = 0;
  let augrc = 0;
  let augrcLo = 0;
  let augrcHi = 0;
  // [rows, errors, 1 when the rows share one confidence (the exact curve's own point)]; NaN rows are one
  const groups: [number, number, number][] = [];
  for (let k = binRows.length - 1; k >= 0; k--) if (binRows[k]! > 0) groups.push([binRows[k]!, binErrors[k]!, tied ? tied[k]! : 0]);
  if (a.nanRows > 0) groups.push([a.nanRows, a.nanErrors, 1]);
  for (const [m, e, one] of groups) {
    const risk = (E + e) / (N + m);
    aurc += (m / n) * risk;
    augrc += (m / n) * ((E + e) / n);
    if (one) {
      aurcLo += (m / n) * risk;
      aurcHi += (m / n) * risk;
      augrcLo += (m / n) * ((E + e) / n);
      augrcHi += (m / n) * ((E + e) / n);
    }
    for (let j = 1; !one && j <= m; j++) {
      const lo = E + Math.max(0, j - (m - e));
      const hi = E + Math.min(j, e);
      aurcLo += lo / (N + j) / n;
      aurcHi += hi / (N + j) / n;
      augrcLo += lo / n / n;
      augrcHi += hi / n / n;
    }
    levels.forEach((L, i) => {
      if (!Number.isNaN(riskAt[i]!) || (N + m) / n < L) return;
      riskAt[i] = risk;
      if (one) return;
      // The exact point is at some j from the first that reaches L to the end of the bin.
      for (let j = Math.max(1, Math.ceil(L * n - N)); j <= m; j++) {
        const lo = (E + Math.max(0, j - (m - e))) / (N + j);
        const hi = (E + Math.min(j, e)) / (N + j);
        bound = Math.max(bound, risk - lo, hi - risk);
      }
    });
    N += m;
    E += e;
  }
  bound = Math.max(bound, aurc - aurcLo, aurcHi - aurc, augrc - augrcLo, augrcHi - augrc);
  const r = n === 0 ? NaN : E / n;
  const optimal = r === 1 ? 1 : r + (1 - r) * Math.log(1 - r);
  const riskAtCoverage = Object.fromEntries(RISK_COVERAGE_LEVELS.map((l, i) => [l, riskAt[i]!])) as Record<CoverageLevel, number>;
  return n === 0
    ? { aurc: NaN, eaurc: NaN, augrc: NaN, riskAtCoverage, errorBound: 0 }
    : { aurc, eaurc: aurc - optimal, augrc, riskAtCoverage, errorBound: bound };
}
