#!/usr/bin/env node
// Interleaved A/B, in one process, of `logitkit score`'s whole per-block step — ScoreAccumulator.addBlock
// (src/metrics/summary.ts: the row summary, AUROC histogram, bootstrap, confusion) with score's default
// options (15 bins, top-5, 200 replicates) — between two built checkouts (their dist/), on the same
// blocks. Each round times A and B (alternating which goes first) over `--blocks` blocks; reports the
// median round's process CPU time (user + sys, all threads) and wall time a block. File reading and the
// final summary() are left out (bench/score-ab.js times whole runs).
//
//   node bench/score-block-ab.js A_DIR B_DIR [--classes 100] [--blocks 12] [--rounds 7] [--threads 1] [--intervals 200]
import { pathToFileURL } from 'node:url';
import { join, resolve } from 'node:path';
import { abArgs } from './ab-args.js';

const { dirA, dirB, opt } = abArgs('node bench/score-block-ab.js A_DIR B_DIR [--classes 100] [--blocks 12] [--rounds 7] [--threads 1] [--intervals 200]');
const C = opt('classes', 100);
const R = Math.floor((4 << 20) / 4 / C); // score's 4 MiB block
const blocks = opt('blocks', 12);
const rounds = opt('rounds', 7);
const threads = opt('threads', 1);
const intervals = opt('intervals', 200);

async function side(dir) {
  const url = (f) => pathToFileURL(join(resolve(dir), 'dist', f)).href;
  const { init } = await import(url('index.js'));
  const { ScoreAccumulator } = await import(url('metrics/summary.js'));
  const lk = await init({ threads });
  return { lk, ScoreAccumulator };
}
const sides = { A: await side(dirA), B: await side(dirB) };
const data = [];
let s = 987654321;
for (let b = 0; b < blocks; b++) {
  const x = new Float32Array(R * C);
  const labels = new Int32Array(R);
  for (let i = 0; i < R; i++) {
    s = (s * 1664525 + 1013904223) >>> 0;
    labels[i] = s % C;
    for (let j = 0; j < C; j++) { s = (s * 1664525 + 1013904223) >>> 0; x[i * C + j] = (s / 2 ** 32 - 0.5) * 6 + (j === labels[i] ? 2.5 : 0); }
  }
  data.push({ x, labels });
}
const times = { A: [], B: [] };
const figures = {};
for (let r = 0; r < rounds + 1; r++)
  for (const k of r % 2 ? ['B', 'A'] : ['A', 'B']) {
    const { lk, ScoreAccumulator } = sides[k];
    const acc = new ScoreAccumulator(C, { bins: 15, topk: 5, intervals, seed: 0 });
    const t0 = process.cpuUsage();
    const w0 = process.hrtime.bigint();
    for (let b = 0; b < blocks; b++) acc.addBlock(lk, data[b].x, data[b].labels, null, undefined, { key: 0, row: b * R });
    const sum = acc.summary();
    const d = process.cpuUsage(t0);
    const wall = Number(process.hrtime.bigint() - w0) / 1e6;
    if (r > 0) times[k].push({ cpu: (d.user + d.system) / 1000 / blocks, wall: wall / blocks });
    figures[k] = sum;
  }
const med = (v) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)];
console.log(`${R} rows × ${C} classes a block, ${blocks} blocks a round, ${rounds} rounds, threads ${sides.A.lk.features.threads}, intervals ${intervals}`);
for (const k of ['A', 'B']) console.log(`  ${k} ${k === 'A' ? dirA : dirB}: cpu ${med(times[k].map((t) => t.cpu)).toFixed(2)} ms a block, wall ${med(times[k].map((t) => t.wall)).toFixed(2)} ms`);
const ra = med(times.A.map((t) => t.cpu)) / med(times.B.map((t) => t.cpu));
console.log(`  cpu A ÷ B: ${ra.toFixed(2)}×; at 3M rows × ${C} B saves ≈ ${(((med(times.A.map((t) => t.cpu)) - med(times.B.map((t) => t.cpu))) * 3e6) / R / 1000).toFixed(2)} s CPU`);
const rel = (a, b) => Math.abs(a - b) / Math.max(Math.abs(a), 1e-300);
console.log(`  same figures: nll ${rel(figures.A.nll, figures.B.nll).toExponential(1)}, ece ${rel(figures.A.ece, figures.B.ece).toExponential(1)}, brier ${rel(figures.A.brier, figures.B.brier).toExponential(1)} relative`);
