#!/usr/bin/env node
// Interleaved in-process A/B of the row summary's block step (what ScoreAccumulator.addBlock does per
// 4 MiB block of `logitkit score`): A = lk.softmax, lk.logSoftmax and lk.argmax of the block, then
// rowScoreAccumulator.add({ x, p, lp, labels, pred }) (the path before scoreLogitsChunk); B = add({ x,
// labels }, { p, pred }) (one pass, p kept for AUROC); C = the same without p. The block lives in engine
// memory as score keeps it. Reports the median CPU time (process.cpuUsage: all threads) per block and
// per element over interleaved rounds A, B, C, A, … so machine load hits all alike. With --base DIR
// (a checkout with its own dist/, e.g. /work/main) the same B and C run on DIR's engine too (B0, C0),
// interleaved with this one's: a kernel change's A/B in one process.
//   node bench/score-fused-ab.js [--classes 100] [--threads 1] [--rounds 15] [--temperature 1] [--base DIR]
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { init } from '../dist/index.js';

const args = process.argv.slice(2);
const opt = (k, d) => { const i = args.indexOf(k); return i < 0 ? d : Number(args[i + 1]); };
const C = opt('--classes', 100);
const threads = opt('--threads', 1);
const rounds = opt('--rounds', 15);
const T = opt('--temperature', 1);
const baseAt = args.indexOf('--base');
const base = baseAt < 0 ? null : resolve(args[baseAt + 1]);
const rows = Math.floor((4 << 20) / 4 / C); // a 4 MiB block, as src/io/npy-source.ts reads
const n = rows * C;
const lk = await init({ threads });
const x = lk.alloc(n), p = lk.alloc(n), lp = lk.alloc(n);
let s = 12345;
const labels = new Int32Array(rows);
for (let i = 0; i < rows; i++) {
  labels[i] = i % C;
  for (let j = 0; j < C; j++) { s = (s * 1664525 + 1013904223) >>> 0; x.array[i * C + j] = (s / 2 ** 32 - 0.5) * 6 + (j === labels[i] ? 2 : 0); }
}
const hit = new Uint8Array(rows), nll = new Float64Array(rows), conf = new Float32Array(rows), pred = new Int32Array(rows);
const acc = lk.rowScoreAccumulator({ classes: C });
/** B and C on another checkout's engine, on a copy of the same block. */
async function baseSides(dir) {
  const { init: initBase } = await import(pathToFileURL(`${dir}/dist/index.js`).href);
  const lb = await initBase({ threads });
  const xb = lb.alloc(n), pb = lb.alloc(n);
  xb.array.set(x.array.subarray(0, n));
  const accB = lb.rowScoreAccumulator({ classes: C });
  return {
    B0() { accB.add({ x: xb.array.subarray(0, n), labels, temperature: T }, { hit, nll, conf, pred, p: pb.array.subarray(0, n) }); },
    C0() { accB.add({ x: xb.array.subarray(0, n), labels, temperature: T }, { hit, nll, conf, pred }); },
  };
}
const sides = {
  A() {
    const xv = x.array.subarray(0, n);
    lk.softmax(xv, C, { temperature: T, out: p.array.subarray(0, n) });
    lk.logSoftmax(x.array.subarray(0, n), C, { temperature: T, out: lp.array.subarray(0, n) });
    const pr = lk.argmax(x.array.subarray(0, n), C);
    acc.add({ x: x.array.subarray(0, n), p: p.array.subarray(0, n), lp: lp.array.subarray(0, n), labels, pred: pr }, { hit, nll, conf });
  },
  B() { acc.add({ x: x.array.subarray(0, n), labels, temperature: T }, { hit, nll, conf, pred, p: p.array.subarray(0, n) }); },
  C() { acc.add({ x: x.array.subarray(0, n), labels, temperature: T }, { hit, nll, conf, pred }); },
};
if (base) Object.assign(sides, await baseSides(base));
const keys = Object.keys(sides);
const times = Object.fromEntries(keys.map((k) => [k, []]));
for (let r = 0; r < rounds + 2; r++)
  for (const k of r % 2 ? [...keys].reverse() : keys) {
    const t0 = process.cpuUsage();
    for (let i = 0; i < 4; i++) sides[k]();
    const d = process.cpuUsage(t0);
    if (r >= 2) times[k].push((d.user + d.system) / 4 / 1000); // ms a block; two warm-up rounds
  }
const med = (v) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)];
console.log(`${rows} rows × ${C} classes a block, T = ${T}, threads ${lk.features.threads}, ${rounds} rounds of 4 blocks a side`);
for (const k of keys) console.log(`  ${k}: ${med(times[k]).toFixed(2)} ms CPU a block, ${(med(times[k]) * 1e6 / n).toFixed(2)} ns an element`);
console.log(`  A ÷ B: ${(med(times.A) / med(times.B)).toFixed(2)}×   A ÷ C: ${(med(times.A) / med(times.C)).toFixed(2)}×`);
if (base) console.log(`  ${base}: B0 ÷ B: ${(med(times.B0) / med(times.B)).toFixed(2)}×   C0 ÷ C: ${(med(times.C0) / med(times.C)).toFixed(2)}×`);
console.log(`  per 3e8 values (3M rows × 100): B saves ≈ ${(((med(times.A) - med(times.B)) * 3e8) / n / 1000).toFixed(2)} s CPU`);
