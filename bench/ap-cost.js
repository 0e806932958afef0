// Cost of average precision from the AUROC counts (src/metrics/average-precision.ts) against the
// AUROC report of the same counts, interleaved in one process (median of 5 each), at 100 and 1000
// classes. Run after `npm run build`: node bench/ap-cost.js
import { init } from '../dist/index.js';
import { AurocCounts } from '../dist/metrics/auroc.js';
import { averagePrecisionReport } from '../dist/metrics/average-precision.js';

const lk = await init();
for (const [N, C] of [
  [20000, 100],
  [20000, 1000],
]) {
  let s = 7;
  const rnd = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 4294967296);
  const p = new Float32Array(N * C);
  const y = new Int32Array(N);
  for (let i = 0; i < N; i++) {
    y[i] = Math.floor(rnd() * C);
    let sum = 0;
    for (let k = 0; k < C; k++) sum += p[i * C + k] = Math.exp(3 * rnd() + (k === y[i] ? 2 : 0));
    for (let k = 0; k < C; k++) p[i * C + k] /= sum;
  }
  const a = new AurocCounts(C);
  a.addBlock(lk, p, y);
  const support = new Float64Array(C).fill(1);
  const t = { auroc: [], ap: [] };
  for (let r = 0; r < 5; r++) {
    let t0 = performance.now();
    a.report(support);
    t.auroc.push(performance.now() - t0);
    t0 = performance.now();
    averagePrecisionReport(a);
    t.ap.push(performance.now() - t0);
  }
  const med = (v) => v.sort((x, y) => x - y)[2].toFixed(1);
  console.log(`${N} rows x ${C} classes: AUROC report ${med(t.auroc)} ms, average precision ${med(t.ap)} ms (median of 5)`);
}
