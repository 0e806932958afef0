#!/usr/bin/env node
// Interleaved A/B, in one process, of score's two big accumulators through the public API — the row
// summary (lk.rowScoreAccumulator().add) and the bootstrap (lk.bootstrapAccumulator().add, 200
// replicates) — on the same blocks, between two built checkouts (their dist/). Each round times A and
// B (alternating which goes first) over `--blocks` blocks of `--rows` × `--classes`; reports the median
// and best round of wall and process CPU time (user + sys, every thread of the process: with
// --threads 2 the CPU time shows what the split costs, the wall time what it gains).
//
//   node bench/score-accum-ab.js A_DIR B_DIR [--classes 100] [--rows 10485] [--blocks 20] [--rounds 9] [--threads 1]
//
// The default block is what `logitkit score` reads at 100 classes (4 MiB of float32 logits).
import { pathToFileURL } from 'node:url';
import { join, resolve } from 'node:path';
import { abArgs } from './ab-args.js';

const { dirA, dirB, opt } = abArgs('node bench/score-accum-ab.js A_DIR B_DIR [--classes 100] [--rows 10485] [--blocks 20] [--rounds 9] [--threads 1]');
const C = opt('classes', 100);
const R = opt('rows', Math.floor((4 << 20) / 4 / C));
const blocks = opt('blocks', 20);
const rounds = opt('rounds', 9);
const threads = opt('threads', 1);

async function side(dir) {
  const { init } = await import(pathToFileURL(join(resolve(dir), 'dist', 'index.js')).href);
  const lk = await init({ backend: 'wasm', threads });
  // seeded logits: N(0, 1.5²)-ish per class, the label + 2.6 (as bench/score.js)
  let s = 12345;
  const u = () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32;
  const xb = lk.alloc(R * C);
  const pb = lk.alloc(R * C);
  const lpb = lk.alloc(R * C);
  const labels = new Int32Array(R);
  for (let i = 0; i < R; i++) {
    labels[i] = Math.floor(u() * C);
    for (let j = 0; j < C; j++) xb.array[i * C + j] = 1.5 * (u() + u() + u() + u() - 2) * 1.732 + (j === labels[i] ? 2.6 : 0);
  }
  lk.softmax(xb.array, C, { out: pb.array });
  lk.logSoftmax(xb.array, C, { out: lpb.array });
  const pred = lk.argmax(xb.array, C);
  const out = { hit: new Uint8Array(R), nll: new Float64Array(R), conf: new Float32Array(R) };
  const rows = () => {
    const acc = lk.rowScoreAccumulator({ classes: C, bins: 15, topk: 5 });
    for (let b = 0; b < blocks; b++) acc.add({ x: xb.array, p: pb.array, lp: lpb.array, labels, pred }, out);
    return acc.take().nllSum;
  };
  const boot = () => {
    const acc = lk.bootstrapAccumulator({ replicates: 200, bins: 15, seed: 0 });
    for (let b = 0; b < blocks; b++) acc.add(out, { key: 0, row: b * R });
    return acc.sums().nll[0];
  };
  return { dir, lk, rows, boot, threads: lk.features.threads };
}

function time(f) {
  const c0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  const check = f();
  const wall = Number(process.hrtime.bigint() - t0) / 1e6;
  const c = process.cpuUsage(c0);
  return { wall, cpu: (c.user + c.system) / 1e3, check };
}

const sides = [await side(dirA), await side(dirB)];
console.log(`${R} rows × ${C} classes, ${blocks} blocks a round, ${rounds} rounds, threads ${sides.map((s) => s.threads).join(' / ')}`);
for (const op of ['rows', 'boot']) {
  const res = sides.map(() => []);
  for (let r = 0; r < rounds + 1; r++) {
    const order = r % 2 ? [1, 0] : [0, 1];
    for (const i of order) {
      const t = time(sides[i][op]);
      if (r > 0) res[i].push(t); // round 0 warms both up
    }
  }
  const med = (v) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)];
  const fmt = (i, k) => `${med(res[i].map((t) => t[k])).toFixed(1)} (best ${Math.min(...res[i].map((t) => t[k])).toFixed(1)})`;
  const name = op === 'rows' ? 'rowScoreAccumulator.add' : 'bootstrapAccumulator.add, 200 replicates';
  console.log(`${name}: ms per round, median (best)`);
  for (let i = 0; i < 2; i++) console.log(`  ${sides[i].dir}: wall ${fmt(i, 'wall')}, cpu ${fmt(i, 'cpu')}`);
  console.log(`  A ÷ B: wall ${(med(res[0].map((t) => t.wall)) / med(res[1].map((t) => t.wall))).toFixed(2)}×, cpu ${(med(res[0].map((t) => t.cpu)) / med(res[1].map((t) => t.cpu))).toFixed(2)}×`);
  if (Math.abs(res[0][0].check - res[1][0].check) > 1e-9 * Math.abs(res[0][0].check)) console.log(`  (sums differ: ${res[0][0].check} vs ${res[1][0].check})`);
}
for (const s of sides) s.lk.dispose();
