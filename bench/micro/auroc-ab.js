// Interleaved CPU-time A/B of the aurocCounts kernel alone, between wasm builds (either kernel ABI:
// main's (p, rows, classes, cells) with u64 cells, or the packed cells' (p, first, n, classes, count,
// cells, log, logCap, limit)), on softmax probabilities of the first R rows of the
// `npm run bench:score` files (3M × 100 for K=100, 200k × 1000 for K=1000). Prints ns per element,
// median and best of 12 rounds (3 passes over the R rows each) after 3 warm-up rounds. A file may end
// in @N: that side adds the R rows in calls of N rows (the engine called main's kernel with 2^17 / K
// rows: @131 at 1000 classes, @1310 at 100; since the column-wise kernel it passes a whole 4 MiB
// block, ~1000 rows at 1000 classes, ~10,000 at 100).
//   K=100 R=10000 node bench/micro/auroc-ab.js A.wasm@1310 B.wasm
//   K=1000 R=1000 node bench/micro/auroc-ab.js /work/main/build/logitkit.wasm@131 build/logitkit.wasm
import { openSync, readSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { load } from './load.js';
const files = process.argv.slice(2);
const K = +(process.env.K ?? 100), R = +(process.env.R ?? 10000);
const dir = process.env.DIR ?? join(tmpdir(), 'logitkit-bench-score');
const path = join(dir, K === 100 ? '3000000x100-s1' : '200000x1000-s2', 'logits.npy');
const raw = Buffer.alloc(R * K * 4); readSync(openSync(path, 'r'), raw, 0, raw.length, 128);
const x = new Float32Array(raw.buffer, raw.byteOffset, R * K);
const sides = files.map((spec) => {
  const [f, per] = spec.includes('@') ? [spec.slice(0, spec.lastIndexOf('@')), +spec.slice(spec.lastIndexOf('@') + 1)] : [spec, R];
  const { e, memory } = load(f, Math.ceil((R * K * 8 + K * 16386 * 8 + K * (8 + 8 * R) + 4e6) / 65536));
  const xp = (Number(e.heapBase()) + 63) & ~63, pp = xp + R * K * 4 + 64, cells = pp + R * K * 4 + 64, log = cells + K * 16386 * 8;
  new Float32Array(memory.buffer, xp, R * K).set(x);
  e.softmax(xp, R, K, 1, pp);
  const i32 = new Int32Array(memory.buffer);
  // the logs hold R entries a class (never full here); the second word of a log is the rows done
  const call = e.aurocCounts.length === 4 ? (at, n) => e.aurocCounts(at, n, K, cells) : (at, n) => { e.aurocCounts(at, at, n, K, K, cells, log, R, 16383); for (let k = 0; k < K; k++) i32[(log + k * (8 + 8 * R)) >> 2] = i32[((log + k * (8 + 8 * R)) >> 2) + 1] = 0; };
  const run = () => { for (let r = 0; r < R; r += per) call(pp + r * K * 4, Math.min(per, R - r)); };
  return { f: spec, run, t: [] };
});
for (let round = 0; round < 15; round++) for (const s of sides) { const c0 = process.cpuUsage(); for (let i = 0; i < 3; i++) s.run(); const c = process.cpuUsage(c0); s.t.push((c.user + c.system) / 3); }
for (const s of sides) { const t = s.t.slice(3).sort((a, b) => a - b); console.log(s.f, 'median', (t[t.length >> 1] * 1e3 / (R * K)).toFixed(2), 'ns/elem, best', (t[0] * 1e3 / (R * K)).toFixed(2)); }
