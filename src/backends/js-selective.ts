/**
 * The float64 reference of selective prediction's risk–coverage figures (Engine.riskCoverageFrom on
 * the JS backend; assembly/kernels/selective.ts computes the same bits from float32 confidences):
 * rows in descending confidence, one curve point per distinct confidence c — coverage = #{conf ≥ c}/n,
 * risk = errors among them / their count, generalized risk = errors among them / n — and
 * aurc = Σ (coverage − previous coverage)·risk over the points (previous coverage starts at 0), augrc
 * the same with the generalized risk (Traub et al., 2024), riskAt[level] = the risk at the first point
 * whose coverage ≥ level; E-AURC is added by riskCoverageResult (src/risk-coverage.ts). A NaN
 * confidence ranks below every number (those rows are covered last, as one point).
 */
import { RISK_COVERAGE_LEVELS, riskCoverageResult, type RiskCoverage } from '../risk-coverage.js';

/**
 * float32 values sorted ascending as numbers, NaN last (what Float64Array.prototype.sort gives, −0
 * and +0 as equals), in a new Float32Array, by a three-pass LSD radix sort of order-preserving keys: linear where the native
 * sort of score's millions of confidences took n log n (1 s a sort at 3M rows). Keys: a NaN becomes
 * the largest, −0 becomes +0, negatives have every bit flipped and the rest the sign bit.
 */
export function sortFloat32(v: Float32Array): Float32Array {
  const n = v.length;
  const bits = new Uint32Array(v.buffer, v.byteOffset, n);
  let keys = new Uint32Array(n);
  for (let i = 0; i < n; i++) {
    const u = bits[i]!;
    const f = v[i]!;
    keys[i] = f !== f ? 0xffffffff : f === 0 ? 0x80000000 : u & 0x80000000 ? ~u >>> 0 : (u | 0x80000000) >>> 0;
  }
  let tmp = new Uint32Array(n);
  const count = new Uint32Array(2048);
  for (const shift of [0, 11, 22]) {
    count.fill(0);
    for (let i = 0; i < n; i++) count[(keys[i]! >>> shift) & 2047]!++;
    let sum = 0;
    for (let d = 0; d < 2048; d++) {
      const c = count[d]!;
      count[d] = sum;
      sum += c;
    }
    for (let i = 0; i < n; i++) tmp[count[(keys[i]! >>> shift) & 2047]!++] = keys[i]!;
    [keys, tmp] = [tmp, keys];
  }
  // decoded in place: the result is the keys' own memory (8 bytes a row at the peak, 4 kept)
  for (let i = 0; i < n; i++) {
    const k = keys[i]!;
    keys[i] = k === 0xffffffff ? 0x7fc00000 : k & 0x80000000 ? k & 0x7fffffff : ~k >>> 0;
  }
  return new Float32Array(keys.buffer, 0, n);
}

/** The curve and its summaries from confidences and 0/1 errors (the same length). */
export function riskCoverageFrom(confidence: ArrayLike<number>, wrong: ArrayLike<number>, options?: { maxPoints?: number }): RiskCoverage {
  const n = confidence.length;
  // maxPoints: keep only a point each 1/maxPoints of coverage (and the last) in the returned curve; the
  // figures are still from every point (score's report: millions of points neither fit nor show).
  const step = options?.maxPoints ? 1 / options.maxPoints : 0;
  // Two sorts, all confidences and those of the wrong rows; NaN sorts last in both, and is taken as
  // the lowest confidence. float32 confidences (score's) take the linear radix sort.
  const f32 = confidence instanceof Float32Array;
  const all = f32 ? sortFloat32(confidence) : Float64Array.from(confidence).sort();
  let wrongCount = 0;
  for (let i = 0; i < n; i++) wrongCount += wrong[i] ? 1 : 0;
  const badIn = f32 ? new Float32Array(wrongCount) : new Float64Array(wrongCount);
  for (let i = 0, k = 0; i < n; i++) if (wrong[i]) badIn[k++] = confidence[i]!;
  const bad = badIn instanceof Float32Array ? sortFloat32(badIn) : badIn.sort();
  let top = n;
  while (top > 0 && all[top - 1] !== all[top - 1]) top--;
  let badTop = wrongCount;
  while (badTop > 0 && bad[badTop - 1] !== bad[badTop - 1]) badTop--;
  // One point per distinct confidence (counted first) and the NaN point: typed arrays of that size
  // filled in place (score keeps millions of rows; growing four JS arrays point by point, or
  // row-sized arrays sliced afterwards, cost more than both sorts).
  let distinct = top < n ? 1 : 0;
  if (step > 0) distinct = Math.min(options!.maxPoints! + 2, n); // a point has a row at least
  else for (let i = 0; i < top; i++) if (i === 0 || all[i] !== all[i - 1]) distinct++;
  const coverage = new Float64Array(distinct);
  const risk = new Float64Array(distinct);
  const generalized = new Float64Array(distinct);
  const conf = new Float64Array(distinct);
  let points = 0;
  let covered = 0;
  let errors = 0;
  let aurc = 0;
  let augrc = 0;
  let prev = 0;
  // One pass, no closure: a closure over the running sums kept them in a context object, which made
  // this loop (run once, over every row) several times slower than its sorts.
  let nanPoint = top < n;
  const levels = RISK_COVERAGE_LEVELS.map(Number); // ascending
  const riskAt = levels.map(() => NaN);
  let level = 0;
  let kept = -1; // coverage of the last point kept (step > 0)
  for (let i = top - 1, j = badTop - 1; i >= 0 || nanPoint; ) {
    let c: number;
    if (i >= 0) {
      c = all[i]!;
      while (i >= 0 && all[i] === c) (covered++, i--); // −0 and +0 are one value
      while (j >= 0 && bad[j]! >= c) (errors++, j--);
    } else {
      c = NaN;
      covered = n;
      errors = wrongCount;
      nanPoint = false;
    }
    const cov = covered / n;
    const r = errors / covered;
    const g = errors / n;
    aurc += (cov - prev) * r;
    augrc += (cov - prev) * g;
    prev = cov;
    while (level < levels.length && cov >= levels[level]!) riskAt[level++] = r;
    if (step > 0 && cov < kept + step && (i >= 0 || nanPoint)) continue;
    kept = cov;
    coverage[points] = cov;
    risk[points] = r;
    generalized[points] = g;
    conf[points++] = c;
  }
  return riskCoverageResult({ rows: n, errors, aurc, augrc, riskAt, points, coverage, risk, generalizedRisk: generalized, confidence: conf });
}
