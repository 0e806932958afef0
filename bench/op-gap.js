#!/usr/bin/env node
// Issue 23 item 2 at the op level: the whole public call (lk.softmax / lk.logSoftmax /
// lk.crossEntropy …) against the raw kernel, for short rows, on the same data, interleaved in one
// process: every round times every variant once, in turn, and each ratio is taken within a round
// (then the median over rounds), so a change of machine load hits numerator and denominator alike.
//
//   node bench/op-gap.js [--shapes 1000000x10,256x32] [--rounds 11] [--clock cpu|wall]
//                        [--dist dist,/other/checkout/dist] [--wasm FILE] [--only a,b]
//                        [--gc]   (node --expose-gc: a full GC before every timed sample)
//
// Variants (x is always the workload of bench-core's makeWorkload, N(0, 3²) logits, uniform targets):
//   softmax / logSoftmax / logsumexp       x and out are lk.alloc() buffers (the lab bench's zero-copy cell)
//   softmax-new                            x a buffer, no out: the engine allocates the result (as crossEntropy does)
//   ce-none                                lk.crossEntropy(xBuffer, C, Int32Array, { reduction: 'none' }): the lab
//                                          bench's zero-copy crossEntropy cell
//   ce-none-tbuf                           the same with the targets in an int32 lk.alloc() buffer
//   ce-none-out, ce-none-out-tbuf          the same two with options.out a buffer of the rows' losses (softmax's
//                                          like: no fresh result a call); absent (—) where a checkout has no out
//   ce-mean                                reduction 'mean' (x a buffer, Int32Array targets)
//   *-plain                                x, out (and targets) ordinary typed arrays: copies in and out
//                                          (ce-none-plain: a fresh result a call, ce-none-out-plain: a reused one)
//   k:softmax, k:logSoftmax, k:ce-none     the kernels alone (their own instance of the same .wasm,
//                                          bench/micro/load.js): the ceiling of each op
// Each --dist is a built checkout's dist/ (its build/ beside it gives the .wasm), e.g. this branch and
// /work/main/dist for before / after in one process. With the CPU clock (default) a sample is this
// process's CPU time, all threads: V8's background GC work is charged to the op that caused it.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { load } from './micro/load.js';
import { workloadBuffers } from './op-workload.js';

const argv = process.argv.slice(2);
const opt = (k, d) => {
  const i = argv.indexOf(k);
  return i < 0 ? d : argv[i + 1];
};
if (argv.includes('--help')) {
  process.stdout.write(readFileSync(new URL(import.meta.url), 'utf8').split('\n').slice(1).filter((l, i, a) => a.slice(0, i + 1).every((m) => m.startsWith('//'))).map((l) => l.replace(/^\/\/ ?/, '')).join('\n') + '\n');
  process.exit(0);
}
const shapes = opt('--shapes', '1000000x10,256x32').split(',').map((s) => s.split('x').map(Number));
const rounds = +opt('--rounds', 11);
const cpu = opt('--clock', 'cpu') === 'cpu';
const dists = opt('--dist', 'dist').split(',').map((d) => resolve(d));
// Without --wasm, the build a plain init() picks on this engine (relaxed SIMD where it validates and was
// measured faster): the one users run. Until 2026-12-08 the default was the SIMD128 build, whose ratios
// hid that the relaxed build's short-row logSoftmax ran at 0.76 of its softmax (bench/limits.md).
const wasmFile = opt('--wasm', null) ?? (await pickedBuild(dists[0]));
async function pickedBuild(dist) {
  const lk = await (await import(pathToFileURL(`${dist}/index.js`).href)).init({ backend: 'wasm' });
  const file = lk.features.relaxedSimd ? 'logitkit-relaxed.wasm' : 'logitkit.wasm';
  lk.dispose();
  return file;
}
const only = opt('--only', null)?.split(',') ?? null;
const gc = argv.includes('--gc') ? globalThis.gc : null;
if (argv.includes('--gc') && !gc) throw new Error('--gc needs node --expose-gc');
const nowUs = cpu ? () => { const u = process.cpuUsage(); return u.user + u.system; } : () => performance.now() * 1e3;

const med = (a) => { const s = [...a].sort((p, q) => p - q); return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2; };
const fmt = (v) => (v >= 100 ? v.toFixed(0) : v.toPrecision(3));

/** One dist's engine, its raw kernels and the workload placed in both. */
async function setup(dist, shape) {
  const [rows, classes] = shape;
  const api = await import(pathToFileURL(`${dist}/index.js`).href);
  const core = await import(pathToFileURL(`${dist}/bench-core/index.js`).href);
  const wasmPath = resolve(dist, '..', 'build', wasmFile);
  const lk = await api.init({ backend: 'wasm', wasm: readFileSync(wasmPath) });
  const w = core.makeWorkload({ id: `${rows}x${classes}`, rows, classes, what: '' });
  const { xb, ob, rb, tb } = workloadBuffers(lk, w);
  const out = new Float32Array(w.x.length);
  const rowOut = new Float32Array(rows);
  const n = rows * classes;
  // The kernels alone, in their own instance (bench/micro/ab.js's calls).
  const { e, f32 } = load(wasmPath, Math.ceil((n * 8 + rows * 8 + 2e6) / 65536));
  const kx = (Number(e.heapBase()) + 63) & ~63;
  const kt = kx + n * 4 + 64;
  const ko = kt + rows * 4 + 64;
  f32.set(w.x, kx / 4);
  new Int32Array(f32.buffer).set(w.target, kt / 4);
  const none = { reduction: 'none' };
  const mean = { reduction: 'mean' };
  const C = classes;
  const v = {
    softmax: () => lk.softmax(xb, C, { out: ob }),
    logSoftmax: () => lk.logSoftmax(xb, C, { out: ob }),
    logsumexp: () => lk.logsumexp(xb, C, { out: rb }),
    'softmax-new': () => lk.softmax(xb, C),
    'ce-none': () => lk.crossEntropy(xb, C, w.target, none),
    'ce-none-tbuf': () => lk.crossEntropy(xb, C, tb, none),
    'ce-none-out': () => lk.crossEntropy(xb, C, w.target, { reduction: 'none', out: rb }),
    'ce-none-out-tbuf': () => lk.crossEntropy(xb, C, tb, { reduction: 'none', out: rb }),
    'ce-mean': () => lk.crossEntropy(xb, C, w.target, mean),
    'softmax-plain': () => lk.softmax(w.x, C, { out }),
    'logSoftmax-plain': () => lk.logSoftmax(w.x, C, { out }),
    'ce-none-plain': () => lk.crossEntropy(w.x, C, w.target, none),
    'ce-none-out-plain': () => lk.crossEntropy(w.x, C, w.target, { reduction: 'none', out: rowOut }),
    'ce-mean-plain': () => lk.crossEntropy(w.x, C, w.target, mean),
    'k:softmax': () => e.softmax(kx, rows, C, 1.0, ko),
    'k:logSoftmax': () => e.logSoftmax(kx, rows, C, 1.0, ko),
    'k:ce-none': () => e.crossEntropyClass(kx, rows, C, kt, -100, 0, 0, 0, C, ko, 0, 1),
  };
  // Every variant gives the same numbers on every dist: the op-level cells are the kernels' results.
  const ref = lk.crossEntropy(w.x, C, w.target, none);
  const got = lk.crossEntropy(xb, C, tb, none);
  for (let i = 0; i < rows; i++) if (!Object.is(ref[i], got[i])) throw new Error(`${dist}: ce-none-tbuf differs from ce-none-plain at row ${i}`);
  for (const k of Object.keys(v)) if (only && !only.includes(k) && k !== 'softmax') delete v[k];
  // A checkout without crossEntropy's out option (before issue 23's op-level work) rejects it.
  for (const [k, f] of Object.entries(v)) {
    try {
      f();
    } catch (err) {
      if (err?.code !== 'invalid_argument') throw err;
      v[k] = null;
    }
  }
  return { lk, v, n, rowOut, dispose: () => lk.dispose?.() };
}

console.log(`${process.version}; ${wasmFile}; ${rounds} rounds, ${cpu ? 'CPU (process, all threads)' : 'wall'} clock${gc ? ', full GC before each sample' : ''}; Melem/s median (best round); ÷ softmax: median over rounds of the op's time ÷ softmax's in the same round`);
for (const shape of shapes) {
  const sets = [];
  for (const d of dists) sets.push({ dist: d, ...(await setup(d, shape)) });
  const names = Object.keys(sets[0].v);
  const n = sets[0].n;
  const inner = Math.max(1, Math.round((cpu ? 2e7 : 8e6) / n));
  const t = sets.map(() => Object.fromEntries(names.map((k) => [k, []])));
  for (let round = 0; round <= rounds; round++) {
    for (let s = 0; s < sets.length; s++) {
      for (const k of names) {
        const f = sets[s].v[k];
        if (f === null) continue;
        gc?.();
        const t0 = nowUs();
        for (let i = 0; i < inner; i++) f();
        const us = nowUs() - t0;
        if (round > 0) t[s][k].push(us / inner); // round 0 warms up
      }
    }
  }
  console.log(`\n${shape[0]}×${shape[1]} (${inner} calls a sample)`);
  const head = sets.map((s) => s.dist.replace(process.cwd() + '/', '')).map((d) => `${d} Melem/s`.padStart(22) + '  ÷ softmax'.padEnd(12));
  console.log(`${'variant'.padEnd(18)}${head.join('')}`);
  for (const k of names) {
    const cells = sets.map((_, s) => {
      const us = t[s][k];
      if (us.length === 0) return '—'.padStart(22) + ''.padEnd(12);
      const ratio = med(us.map((x, i) => t[s].softmax[i] / x));
      return `${fmt(n / med(us))} (${fmt(n / Math.min(...us))})`.padStart(22) + `  ${ratio.toFixed(3)}`.padEnd(12);
    });
    console.log(`${k.padEnd(18)}${cells.join('')}`);
  }
  if (sets.length > 1) {
    const [a, b] = [0, sets.length - 1];
    console.log(`last ÷ first dist, per variant (median over rounds of first time ÷ last time):`);
    for (const k of names) if (t[a][k].length && t[b][k].length) console.log(`  ${k.padEnd(18)} ${med(t[a][k].map((x, i) => x / t[b][k][i])).toFixed(3)}`);
  }
  for (const s of sets) s.dispose();
}
process.exit(0);
