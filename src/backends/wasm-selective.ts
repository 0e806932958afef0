/**
 * Engine.riskCoverageFrom on the wasm backend: assembly/kernels/selective.ts's exports in turn — the
 * bucket counts and the scatter of the rows into their buckets a chunk of rows at a time (a chunk's
 * copies fit the runtime's staging block, so nothing row-sized is copied at once), the in-bucket
 * sort, then the walk a bounded number of points at a time (its f64 outputs are copied out per call).
 * The only memory that grows with n: 2 bytes a row of items and 2 a row of the largest bucket. The
 * figures are the bits of the JS reference (js-selective.ts).
 */
import type { WasmRuntime } from './wasm-runtime.js';
import type { LkBuffer } from '../buffers.js';
import { RISK_COVERAGE_LEVELS, riskCoverageResult, type RiskCoverage } from '../risk-coverage.js';

/**
 * The kernel's state block, f64 slots (assembly/kernels/selective.ts S_*): the caller sets ROWS and
 * KEPT; the kernels keep the rest.
 */
const SelectiveState = { ROWS: 0, WRONG: 2, NEXT: 3, AURC: 7, AUGRC: 8, KEPT: 11, POINTS: 12, NAN_POINT: 13, DISTINCT: 15, LENGTH: 16 } as const;
/** u32 of the kernel's `counts` block (its COUNTS_BYTES / 4): one per bucket, then the in-bucket sort's digit counts. */
const COUNTS = (1 << 17) + 512;
/** Rows per selectiveCount / selectiveScatter call: 160 KiB of float32 confidences and errors copied in. */
const CHUNK_ROWS = 1 << 15;
/** Points per selectiveWalk call: 1 MiB of f64 curve copied out. */
const WALK_POINTS = 1 << 15;
/**
 * Items per selectiveSort and selectiveWalk call: a dozen calls each at score's 3M rows, so that V8's
 * optimized code, not its baseline code, runs most of them (selectiveWalk in the kernel says why).
 */
const CALL_ITEMS = 1 << 18;
const LEVELS = Float64Array.from(RISK_COVERAGE_LEVELS, Number);

export function riskCoverageFrom(rt: WasmRuntime, confidence: Float32Array, wrong: Uint8Array, maxPoints: number): RiskCoverage {
  const S = SelectiveState;
  const n = confidence.length;
  const state = new Float64Array(S.LENGTH);
  state[S.ROWS] = n;
  state[S.KEPT] = -1;
  const riskAt = new Float64Array(LEVELS.length).fill(NaN);
  // confidence may live in wasm memory (a zero-copy buffer), which the allocations can detach
  const kept = rt.keep([confidence, wrong]);
  const counts = rt.alloc(COUNTS, 'int32', true);
  let items: LkBuffer<'uint16'> | null = null;
  let curve: Float64Array[];
  try {
    let [conf, errors] = kept() as [Float32Array, Uint8Array];
    for (let i = 0; i < n; i += CHUNK_ROWS) {
      const m = Math.min(CHUNK_ROWS, n - i);
      rt.call('selectiveCount', { conf: conf.subarray(i, i + m), wrong: errors.subarray(i, i + m), n: m, state, counts: counts.array });
    }
    const most = rt.call('selectivePlan', { state, counts: counts.array });
    // the items, then room for the largest bucket's while it is sorted
    items = rt.alloc(n + most, 'uint16');
    [conf, errors] = kept() as [Float32Array, Uint8Array];
    for (let i = 0; i < n; i += CHUNK_ROWS) {
      const m = Math.min(CHUNK_ROWS, n - i);
      rt.call('selectiveScatter', { conf: conf.subarray(i, i + m), wrong: errors.subarray(i, i + m), n: m, counts: counts.array, items: items.array.subarray(0, n) });
    }
    while (rt.call('selectiveSort', { state, counts: counts.array, items: items.array.subarray(0, n), tmp: items.array.subarray(n), budget: CALL_ITEMS }) === 0);
    const distinct = state[S.DISTINCT]!;
    // the reference's arrays: at most maxPoints + 2 points when thinned, one per distinct confidence when not
    const capacity = maxPoints > 0 ? Math.min(maxPoints + 2, distinct) : distinct;
    curve = [0, 1, 2, 3].map(() => new Float64Array(capacity));
    const [coverage, risk, generalized, conf64] = curve as [Float64Array, Float64Array, Float64Array, Float64Array];
    const step = maxPoints ? 1 / maxPoints : 0;
    let written = 0;
    do {
      const room = Math.min(WALK_POINTS, capacity - written);
      const to = written + room;
      written += rt.call('selectiveWalk', {
        state, counts: counts.array, items: items.array.subarray(0, n), levels: LEVELS, levelCount: LEVELS.length, step,
        coverage: coverage.subarray(written, to), risk: risk.subarray(written, to), generalized: generalized.subarray(written, to), confidence: conf64.subarray(written, to),
        room, riskAt, budget: CALL_ITEMS,
      });
    } while (state[S.NEXT]! >= 0 || state[S.NAN_POINT] !== 0);
  } finally {
    items?.free();
    counts.free();
  }
  const [coverage, risk, generalizedRisk, conf64] = curve as [Float64Array, Float64Array, Float64Array, Float64Array];
  return riskCoverageResult({ rows: n, errors: state[S.WRONG]!, aurc: state[S.AURC]!, augrc: state[S.AUGRC]!, riskAt, points: state[S.POINTS]!, coverage, risk, generalizedRisk, confidence: conf64 });
}
