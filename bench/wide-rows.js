#!/usr/bin/env node
// Plain-array vs zero-copy softmax and logSoftmax, two dist/ builds A and B in one process, calls
// interleaved (A plain, A zero-copy, B plain, B zero-copy per round), simd128 build. Prints Melem/s
// medians and the copy share of a plain call, 1 − t(zero-copy) / t(plain), measured in the same run.
// Written for issue 12 part 3 (bench/limits.md, "Plain-array calls").
//
//   node bench/wide-rows.js DIST_A DIST_B [rounds=11] [shapes=32x128256]
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
const [distA, distB, roundsArg, shapesArg] = process.argv.slice(2);
const rounds = Number(roundsArg ?? 11);
async function engine(dist) {
  const mod = await import(pathToFileURL(resolve(dist, 'index.js')).href);
  return mod.init({ backend: 'wasm', wasm: await readFile(resolve(dist, 'logitkit.wasm')) });
}
const E = { A: await engine(distA), B: await engine(distB) };
function time(fn) { let n = 1; for (;;) { const t0 = process.hrtime.bigint(); for (let i = 0; i < n; i++) fn(); const s = Number(process.hrtime.bigint() - t0); if (s >= 2e7) return s / n; n *= 2; } }
const med = (a) => a.slice().sort((x, y) => x - y)[a.length >> 1];
for (const shape of (shapesArg ?? '32x128256').split(',')) {
  const [rows, classes] = shape.split('x').map(Number);
  const x = Float32Array.from({ length: rows * classes }, (_, i) => Math.sin(i) * 4);
  for (const op of ['softmax', 'logSoftmax']) {
    const fns = {};
    for (const k of ['A', 'B']) {
      const lk = E[k];
      const o = new Float32Array(x.length);
      const xb = lk.alloc(x.length); xb.array.set(x); const ob = lk.alloc(x.length);
      fns[k + ' plain'] = () => lk[op](x, classes, { out: o });
      fns[k + ' zero'] = () => lk[op](xb, classes, { out: ob });
    }
    const t = Object.fromEntries(Object.keys(fns).map((k) => [k, []]));
    for (const f of Object.values(fns)) f();
    for (let r = 0; r < rounds; r++) for (const [k, f] of Object.entries(fns)) t[k].push(time(f));
    const m = Object.fromEntries(Object.entries(t).map(([k, v]) => [k, med(v)]));
    const me = (ns) => ((rows * classes) / ns * 1e3).toFixed(0);
    console.log(`${op} ${shape} node ${process.versions.node}: A plain ${me(m['A plain'])} zero ${me(m['A zero'])} Melem/s (copy share ${(1 - m['A zero'] / m['A plain']).toFixed(2)}) | B plain ${me(m['B plain'])} zero ${me(m['B zero'])} (copy share ${(1 - m['B zero'] / m['B plain']).toFixed(2)}) | B/A plain ${(m['A plain'] / m['B plain']).toFixed(3)}`);
  }
}
