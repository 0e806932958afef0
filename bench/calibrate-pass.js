#!/usr/bin/env node
// What a temperature-fitting pass of `logitkit calibrate` costs, A/B between two built checkouts in one
// process (each imports its own dist/): fitTemperatureSource over the file as calibrate runs it (4 MiB
// blocks, T in [0.01, 100]), interleaved A, B, B, A, …, and a bare read of the file (the floor a pass
// cannot go below). Per side: median CPU time (user + sys of this process, which load disturbs less
// than wall clock) and wall time of a fit and per full read of the file ("passes"), and the fitted T
// (equal on both sides to ~1e-15 when the fit's arithmetic is the same; bit-identical when only where the
// blocks are read changed). The bare read is also timed into one of B's engine buffers, where the fit's
// passes read each block (so a pass's engine work is its time less that read).
//
//   node bench/calibrate-pass.js A_DIR B_DIR LOGITS.npy LABELS.npy [--runs 3] [--backend wasm|js] [--threads 1|2|auto]
// (calibrate itself runs with threads auto on a file this big; --threads 1 compares the work done.)
// e.g. node bench/calibrate-pass.js /work/main . /tmp/logitkit-bench-score/3000000x100-s1/{logits,labels}.npy
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args.splice(i, 2)[1] : dflt;
};
const runs = Number(opt('runs', '3'));
const backend = opt('backend', 'wasm');
const threads = opt('threads', '1');
const [a, b, x, y] = args;
if (!y) throw new Error('usage: node bench/calibrate-pass.js A_DIR B_DIR LOGITS.npy LABELS.npy [--runs 3] [--backend wasm|js] [--threads 1|2|auto]');

async function side(dir) {
  const url = (p) => pathToFileURL(join(resolve(dir), 'dist', p)).href;
  const { init } = await import(url('index.js'));
  const { NpyShardSource } = await import(url('io/npy-source.js'));
  const { fitTemperatureSource } = await import(url('metrics/calibration.js'));
  const lk = await init({ backend, threads: threads === 'auto' ? 'auto' : Number(threads) });
  const open = () => NpyShardSource.open([{ logits: x, labels: y }], { input: 'logits' });
  return { dir, lk, open, fitTemperatureSource };
}

function timed(f) {
  const c0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  const r = f();
  const c = process.cpuUsage(c0);
  return { r, cpu: (c.user + c.system) / 1e6, wall: Number(process.hrtime.bigint() - t0) / 1e9 };
}

const sides = [await side(a), await side(b)];
const res = new Map(sides.map((s) => [s.dir, []]));
const reads = [];
const engineReads = [];
for (let i = 0; i < runs; i++) {
  const src = await sides[0].open();
  reads.push(timed(() => {
    let rows = 0;
    for (const blk of src.blocks()) rows += blk.rows;
    return rows;
  }));
  src.close();
  // the same reads into one engine buffer (where the fit passes read since issue 21's fourth round)
  const into = await sides[1].open();
  const buf = sides[1].lk.alloc(4 << 20);
  into.into = (n) => buf.array.subarray(0, n);
  engineReads.push(timed(() => {
    let rows = 0;
    for (const blk of into.blocks()) rows += blk.rows;
    return rows;
  }));
  buf.free();
  into.close();
  for (const s of i % 2 ? [...sides].reverse() : sides) {
    const src = await s.open();
    const t = timed(() => s.fitTemperatureSource(s.lk, src, { min: 0.01, max: 100, nllBefore: false }));
    src.close();
    res.get(s.dir).push(t);
  }
}
const med = (v) => [...v].sort((p, q) => p - q)[Math.floor(v.length / 2)];
console.log(`threads ${threads}, ${backend} backend`);
console.log(`bare read of the file: cpu ${med(reads.map((t) => t.cpu)).toFixed(3)} s, wall ${med(reads.map((t) => t.wall)).toFixed(3)} s (${runs} runs)`);
console.log(`bare read into an engine buffer (B's engine): cpu ${med(engineReads.map((t) => t.cpu)).toFixed(3)} s, wall ${med(engineReads.map((t) => t.wall)).toFixed(3)} s`);
const cpus = [];
for (const s of sides) {
  const r = res.get(s.dir);
  const passes = r[0].r.passes;
  const cpu = med(r.map((t) => t.cpu));
  cpus.push(cpu);
  console.log(
    `${s.dir}: fit cpu ${cpu.toFixed(2)} s, wall ${med(r.map((t) => t.wall)).toFixed(2)} s, ${passes} passes → ` +
      `cpu ${(cpu / passes).toFixed(3)} s a pass, wall ${(med(r.map((t) => t.wall)) / passes).toFixed(3)} s a pass; T = ${r[0].r.temperature}`,
  );
}
console.log(`fit cpu A ÷ B: ${(cpus[0] / cpus[1]).toFixed(2)}×`);
for (const s of sides) s.lk.dispose();
