// A/B timing of whole kernels from two wasm builds, interleaved in one process (the machine is
// shared: each round times every op on A then B; the table gives medians, the best round of
// each (the least disturbed by other processes) and the B/A ratios of both).
//   node bench/micro/ab.js A.wasm B.wasm [--rounds 9] [--ops softmax,logsumexp] [--shapes 4096x1000,32x128256] [--clock cpu]
// --clock cpu times with process.cpuUsage() (this process's CPU time: waiting for a core while
// other processes run is not counted), the better clock on a loaded machine.
// Typical use: A = the build of the base commit (asc into a temporary folder), B = build/logitkit.wasm.
import { load } from './load.js';
const arg = (k, d) => { const i = process.argv.indexOf(k); return i < 0 ? d : process.argv[i + 1]; };
const [fa, fb] = process.argv.slice(2, 4);
const rounds = +arg('--rounds', 9);
const cpu = arg('--clock', 'wall') === 'cpu';
const nowUs = cpu ? () => { const u = process.cpuUsage(); return u.user + u.system; } : () => Number(process.hrtime.bigint()) / 1e3;
const shapes = arg('--shapes', '4096x1000,32x128256,1000000x10,4096x32').split(',').map((s) => s.split('x').map(Number));
const opsWanted = arg('--ops', 'softmax,logSoftmax,logsumexp,crossEntropyNone,crossEntropyGrad,entropy,klDiv,bce').split(',');
const maxEl = Math.max(...shapes.map(([r, c]) => r * c));
const builds = [fa, fb].map((f) => load(f, Math.ceil((maxEl * 4 * 3 + maxEl / 2 + 1e6) / 65536)));
const calls = {
  softmax: (e, x, r, c, o) => e.softmax(x, r, c, 1.0, o),
  logSoftmax: (e, x, r, c, o) => e.logSoftmax(x, r, c, 1.0, o),
  logsumexp: (e, x, r, c, o) => e.logsumexp(x, r, c, 1.0, o),
  crossEntropyNone: (e, x, r, c, o, t) => e.crossEntropyClass(x, r, c, t, -100, 0, 0, 0, c, o, 0, 1),
  crossEntropyGrad: (e, x, r, c, o, t, aux) => e.crossEntropyClassGrad(x, r, c, t, -100, 0, 0, 0, c, 1 / r, o, aux, 0),
  entropy: (e, x, r, c, o) => e.entropy(x, r, c, o),
  klDiv: (e, x, r, c, o) => e.klDiv(x, x, r, c, o),
  bce: (e, x, r, c, o) => e.bceWithLogits(x, x, r * c, c, 0, 0, 0, 0, 0, o, 1),
};
const med = (a) => { const s = [...a].sort((p, q) => p - q); return s[s.length >> 1]; };
console.log(`${process.version}  A=${fa}  B=${fb}  ${rounds} rounds, ${cpu ? 'CPU' : 'wall'} clock, Melem/s: median (best)`);
for (const [r, c] of shapes) {
  const n = r * c;
  const setups = builds.map(({ e, f32 }) => {
    const x = Number(e.heapBase());
    const t = x + n * 4 + 64, o = t + r * 4 + 64, aux = o + n * 4 + 64;
    let s = 1;
    for (let i = 0; i < n; i++) { s = (s * 1664525 + 1013904223) >>> 0; f32[x / 4 + i] = (s / 2 ** 32 - 0.5) * 12; }
    const i32 = new Int32Array(f32.buffer);
    for (let i = 0; i < r; i++) i32[t / 4 + i] = i % c;
    return { e, x, t, o, aux };
  });
  for (const op of opsWanted) {
    const f = calls[op];
    const inner = Math.max(1, Math.round((cpu ? 1.6e7 : 4e6) / n));
    const t = [[], []];
    for (let k = 0; k < rounds + 1; k++) {
      for (let b = 0; b < 2; b++) {
        const { e, x, t: tp, o, aux } = setups[b];
        const t0 = nowUs();
        for (let i = 0; i < inner; i++) f(e, x, r, c, o, tp, aux);
        if (k > 0) t[b].push((inner * n) / (nowUs() - t0));
      }
    }
    const a = med(t[0]), b = med(t[1]);
    const ba = Math.max(...t[0]), bb = Math.max(...t[1]);
    const cell = (m, best) => `${m.toFixed(0).padStart(5)} (${best.toFixed(0).padStart(5)})`;
    console.log(`  ${op.padEnd(17)} ${`${r}x${c}`.padEnd(11)} A ${cell(a, ba)}  B ${cell(b, bb)}  B/A ${(b / a).toFixed(3)} (${(bb / ba).toFixed(3)})`);
  }
}
