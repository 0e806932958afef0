// lk.riskCoverageFrom on 3M rows (score's selective summary: float32 max p, maxPoints 4096): the wasm
// kernel (assembly/kernels/selective.ts) against the JS reference, each in a fresh process (score
// calls it once, cold) and then warm, in CPU time (user + sys, which a busy shared machine disturbs
// less than wall time) and wall time; and the wasm op reading the confidences from engine memory
// (lk.alloc) instead of copying them in. Figures are checked bit for bit between the two backends.
//   node bench/micro/selective.js [--rows 3000000] [--runs 7]
// Rows: synthetic max p (c = 0.03 + 0.9·u^1.5 as float32, wrong with probability 1 − c), or the
// float32 / uint8 raw files in CONF and WRONG (score's own: one confidence and one error per row).
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { init } from '../../dist/index.js';

const args = process.argv.slice(2);
const opt = (name, d) => (args.includes(name) ? Number(args[args.indexOf(name) + 1]) : d);
const rows = opt('--rows', 3_000_000);
const runs = opt('--runs', 7);
const mode = process.env.SELECTIVE_MODE; // set in the child processes

function data() {
  if (process.env.CONF && process.env.WRONG) {
    const b = readFileSync(process.env.CONF);
    return { conf: new Float32Array(b.buffer, b.byteOffset, b.length >> 2).slice(0, rows), wrong: new Uint8Array(readFileSync(process.env.WRONG)).slice(0, rows) };
  }
  let s = 0x9e3779b9;
  const u = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0), (s + 0.5) / 2 ** 32);
  const conf = new Float32Array(rows);
  const wrong = new Uint8Array(rows);
  for (let i = 0; i < rows; i++) {
    conf[i] = 0.03 + 0.9 * u() ** 1.5;
    wrong[i] = u() > conf[i] ? 1 : 0;
  }
  return { conf, wrong };
}

const cpu = () => {
  const c = process.cpuUsage();
  return (c.user + c.system) / 1000;
};

async function child() {
  const { conf, wrong } = data();
  const lk = await init({ backend: mode === 'js' ? 'js' : 'wasm' });
  let input = conf;
  if (mode === 'buffer') {
    const buf = lk.alloc(rows, 'float32');
    buf.array.set(conf);
    input = buf;
  }
  const times = [];
  let rc;
  for (let k = 0; k <= runs; k++) {
    const c0 = cpu();
    const t0 = performance.now();
    rc = lk.riskCoverageFrom(input, wrong, { maxPoints: 4096 });
    times.push([cpu() - c0, performance.now() - t0]);
  }
  const bits = [rc.aurc, rc.eaurc, rc.augrc, ...Object.values(rc.riskAtCoverage), ...rc.coverage, ...rc.risk, ...rc.confidence];
  process.stdout.write(JSON.stringify({ times, figures: bits.map((v) => (Number.isNaN(v) ? 'NaN' : v)), wasmBytes: lk.memoryStats().wasmBytes }));
}

if (mode) await child();
else {
  const med = (v) => [...v].sort((a, b) => a - b)[v.length >> 1];
  const results = {};
  for (const m of ['js', 'wasm', 'buffer']) {
    const r = spawnSync(process.execPath, [fileURLToPath(import.meta.url), ...args], { env: { ...process.env, SELECTIVE_MODE: m }, encoding: 'utf8', maxBuffer: 1 << 28 });
    if (r.status !== 0) throw new Error(r.stderr);
    results[m] = JSON.parse(r.stdout);
    const t = results[m].times;
    const warm = t.slice(1);
    console.log(
      `${m.padEnd(6)} first call ${t[0][0].toFixed(0)} ms cpu (${t[0][1].toFixed(0)} wall); warm median ${med(warm.map((x) => x[0])).toFixed(1)} ms cpu (${med(warm.map((x) => x[1])).toFixed(1)} wall); wasm memory ${(results[m].wasmBytes / 2 ** 20).toFixed(1)} MiB`,
    );
  }
  const same = JSON.stringify(results.js.figures) === JSON.stringify(results.wasm.figures) && JSON.stringify(results.js.figures) === JSON.stringify(results.buffer.figures);
  console.log(`${rows} rows, maxPoints 4096, ${process.env.CONF ? process.env.CONF : 'synthetic max p'}; figures and curve bit-identical across backends: ${same}`);
  if (!same) process.exitCode = 1;
}
