// Times the per-pass micro-kernels of passes.ts interleaved in one process (the machine is
// shared: rounds alternate the passes, and the table gives the median and minimum ns/element).
//   node bench/micro/build.js && node bench/micro/run.js [--relaxed] [--rounds 15] [--cols 1024] [--rows 64]
//   node bench/micro/run.js --calls N --only expSumSplat   (no timing: N calls, for callgrind or --print-wasm-code)
// MICRO_WASM=file.wasm runs another build of passes.ts.
// (valgrind --tool=callgrind on N = 1 vs N = 101 calls was tried for per-call instruction counts:
// V8's background compilation and GC make the difference irreproducible; see bench/limits.md.)
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { load } from './load.js';
const here = dirname(fileURLToPath(import.meta.url));
const arg = (k, d) => { const i = process.argv.indexOf(k); return i < 0 ? d : process.argv[i + 1]; };
const relaxed = process.argv.includes('--relaxed');
const rows = +arg('--rows', 64), cols = +arg('--cols', 1024), rounds = +arg('--rounds', 15);
const calls = +arg('--calls', 0);
const only = arg('--only', 'maxPass,expSumSplat,expSumHoisted,expSumTable,expSumStoreSplat,expSumStoreHoisted,expSumStoreTable,scalePass').split(',');
const { e, f32 } = load(process.env.MICRO_WASM ?? join(here, 'build', relaxed ? 'passes-relaxed.wasm' : 'passes.wasm'));
const base = Number(e.heapBase());
const n = rows * cols;
const x = base, out = base + n * 4 + 64;
let seed = 7;
for (let i = 0; i < n; i++) { seed = (seed * 1103515245 + 12345) >>> 0; f32[x / 4 + i] = -(seed / 2 ** 32) * 20; }
if (calls) {
  for (const name of only) for (let c = 0; c < calls; c++) e[name](x, rows, cols, out);
} else {
  const inner = Math.max(1, Math.round(2e7 / n));
  for (const name of only) for (let c = 0; c < 200; c++) e[name](x, rows, cols, out); // warm up (tier-up)
  const t = Object.fromEntries(only.map((k) => [k, []]));
  for (let r = 0; r < rounds; r++) {
    for (const name of only) {
      const f = e[name];
      const t0 = process.hrtime.bigint();
      for (let c = 0; c < inner; c++) f(x, rows, cols, out);
      t[name].push(Number(process.hrtime.bigint() - t0) / (inner * n));
    }
  }
  const med = (a) => { const s = [...a].sort((p, q) => p - q); return s[s.length >> 1]; };
  console.log(`${process.version} ${relaxed ? 'relaxed' : 'simd128'} ${rows}x${cols}, ${rounds} rounds: ns/element median (min)`);
  for (const k of only) console.log(`  ${k.padEnd(20)} ${med(t[k]).toFixed(3)} (${Math.min(...t[k]).toFixed(3)})`);
}
