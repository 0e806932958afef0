#!/usr/bin/env node
// Peak resident set of `logitkit score --json` (or `merge --json`) for one or more checkouts (each
// built: bin/ and dist/), Node versions and ways stdout goes, runs interleaved so load hits all alike.
// RSS is what this measures (from /usr/bin/time %M); wall times on a shared machine mean little.
// Where stdout goes matters: to a file or /dev/null Node writes at once, through a pipe whose reader is
// slower it queues whatever is not waited for ('pipe' reads it here, as bench/score.js and the tests do).
//
//   node bench/score-memory.js DIR [DIR ...] --files LOGITS.npy LABELS.npy [--runs 2]
//        [--node PATH[,PATH...]] [--out pipe,null,file] [-- extra score args]
//   node bench/score-memory.js DIR [DIR ...] --merge A.json B.json [...] [--runs 2] [--node ...] [--out ...]
//
// e.g. node bench/score-memory.js /work/main . --files /tmp/logitkit-bench-score/200000x1000-s2/{logits,labels}.npy \
//        --node node,.cache/node22/node_modules/.bin/node,.cache/node24/node_modules/.bin/node --out pipe,null,file
import { spawnSync } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const argv = process.argv.slice(2);
const dash = argv.indexOf('--');
const extra = dash >= 0 ? argv.slice(dash + 1) : [];
const args = dash >= 0 ? argv.slice(0, dash) : argv;
const USAGE = 'usage: node bench/score-memory.js DIR [DIR ...] (--files LOGITS.npy LABELS.npy | --merge A.json [B.json ...]) [--runs 2] [--node PATH,...] [--out pipe,null,file] [-- extra args]';
function option(name, fallback) {
  const i = args.indexOf(name);
  return i >= 0 ? args.splice(i, 2)[1] : fallback;
}
const runs = Number(option('--runs', '2'));
const nodes = option('--node', process.execPath).split(',');
const outs = option('--out', 'pipe').split(',');
let job;
const fi = args.indexOf('--files');
const mi = args.indexOf('--merge');
if (fi >= 0) {
  const [x, y] = args.splice(fi, 3).slice(1);
  job = ['score', x, '--labels', y, '--json', ...extra];
} else if (mi >= 0) {
  job = ['merge', ...args.splice(mi).slice(1), '--json', ...extra];
} else throw new Error(USAGE);
const dirs = args;
if (dirs.length === 0 || !existsSync('/usr/bin/time') || outs.some((o) => !['pipe', 'null', 'file'].includes(o))) throw new Error(USAGE);
const timeFile = join(tmpdir(), `score-memory-${process.pid}.txt`);
const outFile = join(tmpdir(), `score-memory-${process.pid}.json`);

function once(dir, node, out) {
  const fd = out === 'null' ? openSync('/dev/null', 'w') : out === 'file' ? openSync(outFile, 'w') : null;
  try {
    const r = spawnSync('/usr/bin/time', ['-f', '%M', '-o', timeFile, node, join(resolve(dir), 'bin', 'logitkit.js'), ...job], {
      stdio: ['ignore', fd ?? 'pipe', 'pipe'],
      encoding: 'utf8',
      maxBuffer: 1 << 30,
    });
    if (r.status !== 0) throw new Error(`${dir} (${node}, ${out}): failed (${r.status})\n${r.stderr}`);
    return Number(readFileSync(timeFile, 'utf8').trim().split('\n').pop()) / 1024;
  } finally {
    if (fd !== null) closeSync(fd);
  }
}

const res = new Map();
for (let i = 0; i < runs; i++) {
  for (const dir of i % 2 ? [...dirs].reverse() : dirs) {
    for (const node of nodes) {
      for (const out of outs) {
        const key = `${dir}  ${node}  ${out}`;
        const mib = once(dir, node, out);
        res.set(key, [...(res.get(key) ?? []), mib]);
        process.stderr.write(`  ${key}: ${mib.toFixed(1)} MiB\n`);
      }
    }
  }
}
rmSync(outFile, { force: true });
rmSync(timeFile, { force: true });
console.log(`peak RSS of \`logitkit ${job.join(' ')}\`, ${runs} run${runs === 1 ? '' : 's'} each (min / max MiB):`);
for (const [key, v] of res) console.log(`  ${key}: ${Math.min(...v).toFixed(1)} / ${Math.max(...v).toFixed(1)}`);
