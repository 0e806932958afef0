#!/usr/bin/env node
// Interleaved A/B of `logitkit score` between two checkouts (each built: bin/ and dist/), on the files
// `npm run bench:score` generates (or any .npy pair): A, B, A, B, … so machine load hits both alike.
// Reports per side the median wall time and the median CPU time (user + sys of the process tree,
// from /usr/bin/time), which a shared machine disturbs less than wall clock.
//
//   node bench/score-ab.js A_DIR B_DIR LOGITS.npy LABELS.npy [--runs 5] [-- extra score args]
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const argv = process.argv.slice(2);
const dash = argv.indexOf('--');
const extra = dash >= 0 ? argv.slice(dash + 1) : [];
const args = dash >= 0 ? argv.slice(0, dash) : argv;
const ri = args.indexOf('--runs');
const runs = ri >= 0 ? Number(args.splice(ri, 2)[1]) : 5;
const [a, b, x, y] = args;
if (!y) throw new Error('usage: node bench/score-ab.js A_DIR B_DIR LOGITS.npy LABELS.npy [--runs 5] [-- extra score args]');
const out = join(tmpdir(), `score-ab-${process.pid}.txt`);

function once(dir) {
  const t0 = process.hrtime.bigint();
  const r = spawnSync('/usr/bin/time', ['-f', '%U %S %M', '-o', out, process.execPath, join(dir, 'bin', 'logitkit.js'), 'score', x, '--labels', y, '--json', ...extra], { encoding: 'utf8', maxBuffer: 1 << 30 });
  const wall = Number(process.hrtime.bigint() - t0) / 1e9;
  if (r.status !== 0) throw new Error(`${dir}: score failed (${r.status})\n${r.stderr}`);
  const [u, s, m] = readFileSync(out, 'utf8').trim().split('\n').pop().split(' ').map(Number);
  return { wall, cpu: u + s, rss: m / 1024 };
}

const res = { [a]: [], [b]: [] };
for (let i = 0; i < runs; i++) for (const d of i % 2 ? [b, a] : [a, b]) res[d].push(once(d));
const med = (v) => [...v].sort((p, q) => p - q)[Math.floor(v.length / 2)];
for (const d of [a, b]) {
  const r = res[d];
  console.log(`${d}: wall ${med(r.map((t) => t.wall)).toFixed(2)} s, cpu ${med(r.map((t) => t.cpu)).toFixed(2)} s, peak RSS ${Math.max(...r.map((t) => t.rss)).toFixed(0)} MiB (${runs} runs)`);
}
const ra = med(res[a].map((t) => t.cpu)) / med(res[b].map((t) => t.cpu));
console.log(`cpu A ÷ B: ${ra.toFixed(2)}×`);
