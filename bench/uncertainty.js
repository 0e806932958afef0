#!/usr/bin/env node
// Issue 24's ops on this machine: oodScore (every method), conformalCalibrate, predictSets and
// riskCoverage, wasm vs the JS reference, calls interleaved wasm, js, wasm, js… in one process so
// both see the same machine. Prints per op and shape the median time per call of each and the
// ratio js / wasm. Needs `npm run build` first.
//
//   node bench/uncertainty.js [--rounds 9]
//
// Workloads: 10,000 × 10 (CIFAR-like) and 2,000 × 1,000 (ImageNet-like), float32 N(0, 3²) logits.
import { init } from '../dist/index.js';

const args = process.argv.slice(2);
const rounds = Number(args.includes('--rounds') ? args[args.indexOf('--rounds') + 1] : '9');
const wasm = await init({ backend: 'wasm' });
const js = await init({ backend: 'js' });

function logits(rows, classes, seed) {
  let s = seed >>> 0 || 1;
  const x = new Float32Array(rows * classes);
  for (let i = 0; i < x.length; i += 2) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    const u = (s + 0.5) / 4294967296;
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    const v = (s + 0.5) / 4294967296;
    const r = 3 * Math.sqrt(-2 * Math.log(u));
    x[i] = r * Math.cos(2 * Math.PI * v);
    if (i + 1 < x.length) x[i + 1] = r * Math.sin(2 * Math.PI * v);
  }
  return x;
}

function seconds(fn) {
  let n = 1;
  for (;;) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < n; i++) fn();
    const s = Number(process.hrtime.bigint() - t0) / 1e9;
    if (s >= 0.05) return s / n;
    n *= 2;
  }
}
const median = (a) => [...a].sort((p, q) => p - q)[a.length >> 1];

console.log(`node ${process.version}, wasm features ${JSON.stringify(wasm.features)}; ${rounds} interleaved rounds`);
console.log('| op | rows × classes | wasm ms/call | js ms/call | js / wasm |');
console.log('|---|---|---:|---:|---:|');
for (const [rows, classes] of [[10000, 10], [2000, 1000]]) {
  const x = logits(rows, classes, classes);
  const y = Int32Array.from({ length: rows }, (_, i) => i % classes);
  const model = wasm.conformalCalibrate(x, classes, y, { method: 'raps' });
  const ops = {
    ...Object.fromEntries(['energy', 'msp', 'maxLogit', 'entropy', 'margin', 'gen'].map((m) => [`oodScore ${m}`, (lk) => lk.oodScore(x, classes, { method: m })])),
    'conformalCalibrate raps': (lk) => lk.conformalCalibrate(x, classes, y, { method: 'raps' }),
    'predictSets raps': (lk) => lk.predictSets(x, classes, model),
    'riskCoverage msp': (lk) => lk.riskCoverage(x, classes, y),
  };
  for (const [name, fn] of Object.entries(ops)) {
    const tw = [];
    const tj = [];
    for (let r = 0; r < rounds; r++) {
      if (r % 2 === 0) (tw.push(seconds(() => fn(wasm))), tj.push(seconds(() => fn(js))));
      else (tj.push(seconds(() => fn(js))), tw.push(seconds(() => fn(wasm))));
    }
    const w = median(tw) * 1e3;
    const j = median(tj) * 1e3;
    console.log(`| ${name} | ${rows} × ${classes} | ${w.toFixed(2)} | ${j.toFixed(2)} | ${(j / w).toFixed(2)} |`);
  }
}
