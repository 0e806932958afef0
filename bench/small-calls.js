#!/usr/bin/env node
// Per-call cost of small plain-array calls, two dist/ builds A and B in one process, calls interleaved:
// softmax, logSoftmax, logsumexp (with { out }) and crossEntropy 'none' on 1×32 and 256×32 by default,
// simd128 build. Each round times ≥ 3 ms of calls per side; prints median ns per call, the median of the
// per-round A/B ratios (> 1 = B faster) and the ratio of each side's best round (steadier on a loaded
// machine). Written for issue 12 part 3 (bench/limits.md, "Plain-array calls").
//
//   node bench/small-calls.js DIST_A DIST_B [rounds=21] [shapes=1x32,256x32]
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
const [distA, distB, roundsArg, shapesArg] = process.argv.slice(2);
const rounds = Number(roundsArg ?? 21);
const shapes = (shapesArg ?? '1x32,256x32').split(',').map((s) => s.split('x').map(Number));
async function engine(dist) {
  const mod = await import(pathToFileURL(resolve(dist, 'index.js')).href);
  return mod.init({ backend: 'wasm', wasm: await readFile(resolve(dist, 'logitkit.wasm')) });
}
const A = await engine(distA), B = await engine(distB);
function time(fn) { let n = 16; for (;;) { const t0 = process.hrtime.bigint(); for (let i = 0; i < n; i++) fn(); const s = Number(process.hrtime.bigint() - t0); if (s >= 3e6) return s / n; n *= 2; } }
const med = (a) => a.slice().sort((x, y) => x - y)[a.length >> 1];
let seed = 1; const rnd = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
for (const [rows, classes] of shapes) {
  const x = Float32Array.from({ length: rows * classes }, () => rnd() * 8 - 4);
  const t = Int32Array.from({ length: rows }, () => Math.floor(rnd() * classes));
  const ops = {
    softmax: (lk, o) => lk.softmax(x, classes, { out: o }),
    logSoftmax: (lk, o) => lk.logSoftmax(x, classes, { out: o }),
    logsumexp: (lk, o) => lk.logsumexp(x, classes, { out: o.subarray(0, rows) }),
    crossEntropy: (lk) => lk.crossEntropy(x, classes, t, { reduction: 'none' }),
  };
  for (const [op, f] of Object.entries(ops)) {
    const oa = new Float32Array(rows * classes), ob = new Float32Array(rows * classes);
    const fa = () => f(A, oa), fb = () => f(B, ob);
    fa(); fb();
    const ra = [], rb = [], r = [];
    for (let i = 0; i < rounds; i++) { const ta = time(fa), tb = time(fb); ra.push(ta); rb.push(tb); r.push(ta / tb); }
    console.log(`${op.padEnd(13)} ${rows}x${classes}  A ${med(ra).toFixed(0)} ns  B ${med(rb).toFixed(0)} ns  ratio ${med(r).toFixed(3)}  min A ${Math.min(...ra).toFixed(0)} B ${Math.min(...rb).toFixed(0)} ratio-of-min ${(Math.min(...ra)/Math.min(...rb)).toFixed(3)}`);
  }
}
A.dispose(); B.dispose();
