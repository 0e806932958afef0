// Instructions and simulated cache misses per element of the aurocCounts kernel (valgrind cachegrind,
// a 48 KiB L1 and a 1 MiB last level standing in for L2), for wasm builds of either kernel ABI, on
// softmax probabilities of the first R rows of the `npm run bench:score` files. The question wall time
// cannot answer on a shared machine: does a class's histogram stay in cache while it is updated?
// Each figure is (run with 3 passes − run with 1 pass) / 2 / (R·K): start-up and compilation cancel.
// A file may end in @N: that side adds the rows in calls of N rows (as bench/micro/auroc-ab.js).
//   K=1000 R=1000 node bench/micro/auroc-cache.js /work/main/build/logitkit.wasm@131 build/logitkit.wasm
//   K=100 R=10000 node bench/micro/auroc-cache.js /work/main/build/logitkit.wasm@1310 build/logitkit.wasm
import { spawnSync } from 'node:child_process';
import { openSync, readSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { load } from './load.js';

const K = +(process.env.K ?? 100), R = +(process.env.R ?? 10000);
if (process.argv[2] === '--child') {
  const [, , , spec, passes] = process.argv;
  const [f, per] = spec.includes('@') ? [spec.slice(0, spec.lastIndexOf('@')), +spec.slice(spec.lastIndexOf('@') + 1)] : [spec, R];
  const dir = process.env.DIR ?? join(tmpdir(), 'logitkit-bench-score');
  const raw = Buffer.alloc(R * K * 4);
  readSync(openSync(join(dir, K === 100 ? '3000000x100-s1' : '200000x1000-s2', 'logits.npy'), 'r'), raw, 0, raw.length, 128);
  const { e, memory } = load(f, Math.ceil((R * K * 8 + K * 16386 * 8 + K * (8 + 8 * R) + 4e6) / 65536));
  const xp = (Number(e.heapBase()) + 63) & ~63, pp = xp + R * K * 4 + 64, cells = pp + R * K * 4 + 64, log = cells + K * 16386 * 8;
  new Float32Array(memory.buffer, xp, R * K).set(new Float32Array(raw.buffer, raw.byteOffset, R * K));
  e.softmax(xp, R, K, 1, pp);
  const i32 = new Int32Array(memory.buffer);
  const call = e.aurocCounts.length === 4 ? (at, n) => e.aurocCounts(at, n, K, cells) : (at, n) => { e.aurocCounts(at, at, n, K, K, cells, log, R, 16383); for (let k = 0; k < K; k++) i32[(log + k * (8 + 8 * R)) >> 2] = i32[((log + k * (8 + 8 * R)) >> 2) + 1] = 0; };
  for (let i = 0; i < +passes; i++) for (let r = 0; r < R; r += per) call(pp + r * K * 4, Math.min(per, R - r));
} else {
  const self = fileURLToPath(import.meta.url);
  const counts = (spec, passes) => {
    const out = spawnSync('valgrind', ['--tool=cachegrind', '--cache-sim=yes', '--D1=49152,12,64', '--LL=1048576,16,64', '--I1=32768,8,64',
      '--cachegrind-out-file=/dev/null', process.execPath, '--single-threaded', '--no-liftoff', '--predictable', self, '--child', spec, String(passes)],
    { encoding: 'utf8', env: process.env });
    const n = (label) => Number((new RegExp(`${label}:\\s+([\\d,]+)`).exec(out.stderr)?.[1] ?? 'NaN').replace(/,/g, ''));
    return { i: n('I\\s+refs'), d1: n('D1\\s+misses'), ll: n('LLd misses') };
  };
  for (const spec of process.argv.slice(2)) {
    const a = counts(spec, 1), b = counts(spec, 3);
    const per = (x, y) => ((y - x) / 2 / (R * K)).toFixed(3);
    console.log(`${spec} K=${K} R=${R}: ${per(a.i, b.i)} instructions, ${per(a.d1, b.d1)} L1 misses, ${per(a.ll, b.ll)} L2 (1 MiB) misses an element`);
  }
}
