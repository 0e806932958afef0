#!/usr/bin/env node
// Before/after at the API level: two builds of logitkit (two dist/ folders, e.g. a clone of an older
// commit after `npm run build`, and this one) timed in one process, calls interleaved A, B, A, B… so
// both see the same machine (which side goes first alternates per round). Workloads and calls come from bench-core, so this times what
// bench/run.js times. Prints per op, workload and path the median B/A throughput ratio.
//
//   node bench/compare-dist.js /tmp/before/dist dist [--rounds 15] [--build simd|relaxed]
//
// --build pins the wasm build on both sides (init({ wasm })), so a change of build choice between the
// two dists does not pass for a kernel change.
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { CORE_OPS, PER_CALL, WORKLOADS, callLogitkit, makeWorkload, outputLength } from '../dist/bench-core/index.js';
import { secondsPerCall } from './harness.js';

const args = process.argv.slice(2);
const [distA, distB] = args;
if (!distA || !distB) {
  process.stderr.write('usage: node bench/compare-dist.js DIST_A DIST_B [--rounds N] [--build simd|relaxed]\n');
  process.exit(2);
}
const opt = (name, dflt) => (args.includes(name) ? args[args.indexOf(name) + 1] : dflt);
const rounds = Number(opt('--rounds', '15'));
const build = opt('--build', 'simd');
const wasmFile = build === 'relaxed' ? 'logitkit-relaxed.wasm' : 'logitkit.wasm';

async function engine(dist) {
  const mod = await import(pathToFileURL(resolve(dist, 'index.js')).href);
  return mod.init({ backend: 'wasm', wasm: await readFile(resolve(dist, wasmFile)) });
}
const A = await engine(distA);
const B = await engine(distB);

const time = (fn) => secondsPerCall(fn, 0.02);
const median = (a) => a.slice().sort((x, y) => x - y)[a.length >> 1];

console.log(`# ${distB} ÷ ${distA}, ${build} build, node ${process.versions.node}, ${rounds} interleaved rounds (median throughput ratio; > 1 = B faster)`);
console.log('| op | workload | buffers (zero-copy) | plain arrays |');
console.log('|---|---|---:|---:|');
for (const spec of [...WORKLOADS, PER_CALL]) {
  const w = makeWorkload(spec);
  for (const op of CORE_OPS) {
    const row = [];
    for (const path of ['buffers', 'plain']) {
      const setup = (lk) => {
        if (path === 'plain') {
          const out = op === 'crossEntropy' ? undefined : new Float32Array(outputLength(op, w));
          return () => callLogitkit(lk, op, w.x, w, out);
        }
        const xb = lk.alloc(w.x.length);
        xb.array.set(w.x);
        const ob = op === 'crossEntropy' ? undefined : lk.alloc(outputLength(op, w));
        return () => callLogitkit(lk, op, xb, w, ob);
      };
      const fa = setup(A);
      const fb = setup(B);
      fa();
      fb();
      const ratios = [];
      // The side timed first in a round measured up to 5% slower (caches and the clock's turbo state
      // after the other side's run), so the order alternates: A first in even rounds, B first in odd.
      for (let r = 0; r < rounds; r++) {
        let ta, tb;
        if (r % 2 === 0) {
          ta = time(fa);
          tb = time(fb);
        } else {
          tb = time(fb);
          ta = time(fa);
        }
        ratios.push(ta / tb);
      }
      row.push(median(ratios).toFixed(3));
    }
    console.log(`| ${op} | ${spec.id} | ${row[0]} | ${row[1]} |`);
  }
}
A.dispose();
B.dispose();
