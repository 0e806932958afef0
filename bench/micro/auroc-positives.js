// Interleaved CPU-time A/B of AurocCounts.addBlock's positives loop, one engine, one checkout: the
// engine histogram's add plus the positives read from the block after the histogram's sweep (A, as
// before r9) or from the row pass's per-row p_y (B, out.py), on blocks of the `npm run bench:score`
// files as score makes them (4 MiB: ~10,000 rows at 100 classes, ~1000 at 1000; softmax, labels of
// the file). Prints ns per row of each side (median of ROUNDS rounds over the first R rows), and the
// median B ÷ A. Also times the end of a run's readers (report, average precision, encode) once the
// R rows are counted.
//   K=100 R=300000 node bench/micro/auroc-positives.js
//   K=1000 R=30000 node bench/micro/auroc-positives.js
import { openSync, readSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { init } from '../../dist/index.js';
import { AurocCounts } from '../../dist/metrics/auroc.js';
import { averagePrecisionReport } from '../../dist/metrics/average-precision.js';

const K = +(process.env.K ?? 100), R = +(process.env.R ?? 300000), ROUNDS = +(process.env.ROUNDS ?? 7);
const dir = join(process.env.DIR ?? join(tmpdir(), 'logitkit-bench-score'), K === 100 ? '3000000x100-s1' : '200000x1000-s2');
const read = (f, bytes, at) => { const b = Buffer.alloc(bytes); readSync(openSync(join(dir, f), 'r'), b, 0, bytes, at); return b; };
const xb = read('logits.npy', R * K * 4, 128);
const x = new Float32Array(xb.buffer, xb.byteOffset, R * K);
const lb = read('labels.npy', R * 8, 128); // int64 labels
const labels = Int32Array.from({ length: R }, (_, i) => Number(lb.readBigInt64LE(8 * i)));
const lk = await init({ backend: 'wasm', threads: 1 });
const block = Math.max(1, Math.floor((1 << 20) / K));
const p = lk.softmax(x, K);
const py = Float32Array.from(labels, (y, r) => p[r * K + y]);
const cpu = () => { const u = process.cpuUsage(); return (u.user + u.system) * 1e3; };
function pass(withPy) {
  const a = new AurocCounts(K);
  const t0 = cpu();
  for (let r = 0; r < R; r += block) {
    const r1 = Math.min(R, r + block);
    a.addBlock(lk, p.subarray(r * K, r1 * K), labels.subarray(r, r1), withPy ? py.subarray(r, r1) : undefined);
  }
  return { ns: (cpu() - t0) / R, a };
}
/** C: the engine histogram's add alone (the positives' share is A − C, B − C). */
function histogramOnly() {
  const h = lk.aurocHistogram(K);
  const t0 = cpu();
  for (let r = 0; r < R; r += block) h.add(p.subarray(r * K, Math.min(R, r + block) * K));
  const ns = (cpu() - t0) / R;
  h.take();
  return ns;
}
const A = [], B = [], C = [];
for (let i = 0; i < ROUNDS + 1; i++) {
  const order = [[0, 1, 2], [1, 2, 0], [2, 0, 1]][i % 3];
  for (const s of order) {
    const ns = s === 2 ? histogramOnly() : pass(s === 1).ns;
    if (i > 0) [A, B, C][s].push(ns); // round 0: warm-up
  }
}
const med = (v) => [...v].sort((a, b) => a - b)[v.length >> 1];
const [a, b, c] = [med(A), med(B), med(C)];
console.log(`K=${K} R=${R} blocks of ${block} rows, ns/row: addBlock A (p_y from the block) ${a.toFixed(1)}, B (py) ${b.toFixed(1)}, C (histogram alone) ${c.toFixed(1)}; positives A − C ${(a - c).toFixed(1)}, B − C ${(b - c).toFixed(1)}`);
const support = Array.from({ length: K }, () => 0);
for (const y of labels) support[y]++;
const ends = [];
for (let i = 0; i < 5; i++) {
  const { a } = pass(true); // a fresh one: each round reads the engine histogram anew
  const t0 = cpu();
  a.report(support); averagePrecisionReport(a); for (const piece of a.encodePieces()) void piece;
  ends.push((cpu() - t0) / 1e9);
}
console.log(`end of run (report + average precision + encode): ${med(ends).toFixed(3)} s (median of 5)`);
