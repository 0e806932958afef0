// The AUROC positives' pages alone (src/metrics/auroc.ts AurocCounts.addPos): each row's labelled p_y
// (the first R rows of the 3M x 100 bench file, softmax) added to per-class pages of 256 bins, count
// and position sum interleaved (one cache line a positive) or split in two halves (before r9), with
// a 12 MB sweep before each 4 MiB block's worth of rows standing in for the histogram kernel's.
// Prints ns per row per round, both layouts alternating; and how spread the positives are.
//   node bench/micro/auroc-pages.js
import { openSync, readSync } from 'node:fs';
import { init } from '../../dist/index.js';
import { fineOfBits } from '../../dist/auroc-bins.js';
const K = 100, R = 300000, dir = '/tmp/logitkit-bench-score/3000000x100-s1';
const read = (f, bytes, at) => { const b = Buffer.alloc(bytes); readSync(openSync(`${dir}/${f}`, 'r'), b, 0, bytes, at); return b; };
const xb = read('logits.npy', R * K * 4, 128);
const x = new Float32Array(xb.buffer, xb.byteOffset, R * K);
const lb = read('labels.npy', R * 8, 128);
const labels = Int32Array.from({ length: R }, (_, i) => Number(lb.readBigInt64LE(8 * i)));
const lk = await init({ backend: 'wasm', threads: 1 });
const p = lk.softmax(x, K);
const py = Float32Array.from(labels, (y, r) => p[r * K + y]);
const bits = new Uint32Array(py.buffer);
const PAGES = 65, PAGE = 256;
const pages = new Array(K * PAGES);
let split = false;
function addPos(k, b, v, q) { if (split) { const at = k * PAGES + (b >>> 8); let pg = pages[at]; if (!pg) pg = pages[at] = new Float64Array(512); pg[b & 255] += v; pg[256 + (b & 255)] += q; return; } const at = k * PAGES + (b >>> 8); let pg = pages[at]; if (!pg) pg = pages[at] = new Float64Array(512); const i = 2 * (b & 255); pg[i] += v; pg[i + 1] += q; }
const junk = new Float64Array(12 << 17); // 12 MB
const cpu = () => { const u = process.cpuUsage(); return (u.user + u.system) * 1e3; };
const block = 10485;
function run(evict, fineOnly) {
  let t = 0, s = 0;
  for (let r0 = 0; r0 < R; r0 += block) {
    if (evict) for (let i = 0; i < junk.length; i += 8) junk[i] += 1;
    const t0 = cpu();
    for (let r = r0; r < Math.min(R, r0 + block); r++) { const f = fineOfBits(bits[r]); if (fineOnly) s += f; else addPos(labels[r], f >>> 4, 1, f & 15); }
    t += cpu() - t0;
  }
  return t / R;
}
for (let i = 0; i < 7; i++) { split = false; const a = run(true); split = true; const b = run(true); console.log(`evicted: interleaved ${a.toFixed(1)} ns/row, split ${b.toFixed(1)}`); }
let n = 0; for (const pg of pages) if (pg) n++; console.log(`pages ${n}`);
const ks = new Set(); for (let r = 0; r < R; r++) ks.add(labels[r] * 20000 + (fineOfBits(bits[r]) >>> 4)); console.log('distinct (class, bin)', ks.size);
