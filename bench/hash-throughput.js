#!/usr/bin/env node
// Throughput of lk.hasher() (the shard fingerprint of score --json), wasm and js, on data already in
// engine memory (as the scoring pass hands it over), against node:crypto SHA-256 of the same bytes
// (the fingerprint before). Medians of REPS runs, interleaved. Usage: node bench/hash-throughput.js [MB] [REPS]
import { createHash } from 'node:crypto';
import { init } from '../dist/index.js';

const mb = Number(process.argv[2] ?? 256);
const reps = Number(process.argv[3] ?? 7);
const n = (mb << 20) >>> 2;
const wasm = await init({ backend: 'wasm' });
const js = await init({ backend: 'js' });
const buf = wasm.alloc(n, 'float32');
const a = buf.array;
for (let i = 0; i < n; i++) a[i] = Math.sin(i) * 10;
const jsN = Math.min(n, (64 << 20) >>> 2); // the reference is slower: a smaller slice
const jsData = a.slice(0, jsN);
const runs = { wasm: [], js: [], sha256: [] };
const time = (f) => {
  const t0 = process.hrtime.bigint();
  f();
  return Number(process.hrtime.bigint() - t0) / 1e9;
};
for (let r = 0; r < reps; r++) {
  runs.wasm.push((4 * n) / 1e9 / time(() => wasm.hasher().update(buf.array).digest()));
  runs.js.push((4 * jsN) / 1e9 / time(() => js.hasher().update(jsData).digest()));
  const bytes = new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  runs.sha256.push((4 * n) / 1e9 / time(() => createHash('sha256').update(bytes).digest('hex')));
}
const median = (v) => [...v].sort((x, y) => x - y)[v.length >> 1];
for (const [k, v] of Object.entries(runs)) console.log(`${k.padEnd(7)} ${median(v).toFixed(2)} GB/s (median of ${reps}; ${k === 'js' ? jsN * 4 / 2 ** 20 : mb} MB)`);
buf.free();
