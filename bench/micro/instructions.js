// Instructions per kernel call, counted by valgrind (callgrind), for builds whose wall-clock A/B a
// loaded machine cannot resolve (a 3% question needs ±1%; the shared 2-core VM gives ±15%).
//   node bench/micro/instructions.js A.wasm [B.wasm …] --ops softmax,crossEntropyNone --shapes 1x32,4096x10 [--calls 200]
//   (--ops aurocCounts counts the AUROC histogram of softmax(x), with either kernel ABI)
// Each count is (run with 2K calls − run with K calls) / K, each run a fresh Node under callgrind
// with --single-threaded --no-liftoff --predictable and fixed seeds: start-up, compilation and the
// calling loop's own tier-up happen alike in both runs and cancel out (K against 0 calls does not:
// the loop's optimisation lands in one run only, a constant that showed as ~1000 instructions a
// call at K = 5000). Counts are of this Node's code (V8 version), not of every engine.
import { callgrindCount } from './callgrind.js';
import { fileURLToPath } from 'node:url';
import { load } from './load.js';

const args = process.argv.slice(2);
const opt = (k, d) => { const i = args.indexOf(k); return i < 0 ? d : args[i + 1]; };

if (args[0] === '--child') {
  const [, file, op, shape, kStr] = args;
  const [r, c] = shape.split('x').map(Number);
  const n = r * c;
  // aurocCounts: room for its cells (u64 a bin before the packed cells, u32 after) and spill logs
  const aurocBytes = op === 'aurocCounts' ? c * 16386 * 8 + c * (8 + 8 * r) + 64 : 0;
  const { e, f32 } = load(file, Math.ceil((n * 4 * 3 + r * 32 + 2e6 + aurocBytes) / 65536));
  const x = (Number(e.heapBase()) + 63) & ~63;
  let s = 12345;
  for (let i = 0; i < n; i++) { s = (s * 1664525 + 1013904223) >>> 0; f32[x / 4 + i] = (s / 2 ** 32 - 0.5) * 10; }
  const t = x + n * 4 + 64, o = t + r * 4 + 64, aux = o + n * 4 + 64;
  const i32 = new Int32Array(f32.buffer);
  for (let i = 0; i < r; i++) i32[t / 4 + i] = (i * 7) % c;
  const calls = {
    softmax: () => e.softmax(x, r, c, 1.0, o),
    logSoftmax: () => e.logSoftmax(x, r, c, 1.0, o),
    logsumexp: () => e.logsumexp(x, r, c, 1.0, o),
    crossEntropyNone: () => e.crossEntropyClass(x, r, c, t, -100, 0, 0, 0, c, o, 0, 1),
    crossEntropyGrad: () => e.crossEntropyClassGrad(x, r, c, t, -100, 0, 0, 0, c, 1 / r, o, aux, 0),
    entropy: () => e.entropy(x, r, c, o),
    klDiv: () => e.klDiv(x, x, r, c, o),
    // the AUROC histogram of softmax(x) (o holds it, computed below); either kernel ABI: before the
    // packed cells (p, rows, classes, cells) or after (p, first, n, classes, count, cells, log, logCap, limit)
    aurocCounts: e.aurocCounts?.length === 4
      ? () => e.aurocCounts(o, r, c, aux)
      : () => {
        e.aurocCounts(o, o, r, c, c, aux, aux + c * 16386 * 4, r, 16383);
        for (let k = 0; k < c; k++) i32[(aux + c * 16386 * 4 + k * (8 + 8 * r)) / 4] = i32[(aux + c * 16386 * 4 + k * (8 + 8 * r)) / 4 + 1] = 0; // drain the logs, restart the rows done
      },
  };
  if (op === 'aurocCounts') e.softmax(x, r, c, 1.0, o);
  const f = calls[op];
  if (!f) throw new Error(`unknown op ${op} (${Object.keys(calls).join(', ')})`);
  f();
  f();
  for (let k = 0; k < +kStr; k++) f();
} else {
  const files = args.filter((a, i) => a.endsWith('.wasm') && !args[i - 1]?.startsWith('--'));
  const ops = opt('--ops', 'softmax,logSoftmax,logsumexp,crossEntropyNone').split(',');
  const shapes = opt('--shapes', '1x32,256x32,4096x10,256x1000').split(',');
  const callsFor = (shape) => {
    const [r, c] = shape.split('x').map(Number);
    return +opt('--calls', Math.max(2, Math.min(20000, Math.round(2e5 / (r * c)))));
  };
  const me = fileURLToPath(import.meta.url);
  const count = (file, op, shape, k) => {
    const { count: n, stderr } = callgrindCount(me, ['--child', file, op, shape, String(k)]);
    if (n === null) throw new Error(`callgrind run failed (${file} ${op} ${shape}): ${stderr.slice(-500)}`);
    return n;
  };
  console.log(`node ${process.version}; instructions per call (callgrind); columns: ${files.join('  ')}`);
  for (const shape of shapes) {
    const k = callsFor(shape);
    for (const op of ops) {
      const per = files.map((f) => Math.round((count(f, op, shape, 2 * k) - count(f, op, shape, k)) / k));
      const ratio = per.length > 1 ? `  last/first ${(per[per.length - 1] / per[0]).toFixed(3)}` : '';
      console.log(`${op.padEnd(17)} ${shape.padEnd(10)} K=${String(k).padEnd(6)} ${per.join('  ')}${ratio}`);
    }
  }
}
