// Instructions per whole public call (the engine's validation, the runtime's copies, the kernel,
// the reductions), counted by valgrind (callgrind): the op-level twin of instructions.js, which
// counts the kernels alone. Same method: (run with 2K calls − run with K calls) / K, each run a fresh
// Node under callgrind with --single-threaded --no-liftoff --predictable.
//   node bench/micro/op-instructions.js [--dist dist,/other/dist] [--ops softmax,ceNoneOut] [--shapes 65536x10,256x32] [--calls K]
// Ops (x always an lk.alloc() buffer; the workload of bench-core's makeWorkload):
//   softmax, logSoftmax        out an alloc() buffer (the lab bench's zero-copy cell)
//   ceNone                     crossEntropy 'none', Int32Array targets, a fresh result a call
//   ceNoneOut                  crossEntropy 'none', targets and out alloc() buffers (where the dist has out)
//   ceMean                     crossEntropy 'mean', Int32Array targets
// Counts are user-space instructions: the kernel's page faults on a fresh result's first touch
// (bench/op-gap.js shows them as time) are not in them.
import { callgrindCount } from './callgrind.js';
import { workloadBuffers } from '../op-workload.js';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const args = process.argv.slice(2);
const opt = (k, d) => { const i = args.indexOf(k); return i < 0 ? d : args[i + 1]; };

if (args[0] === '--child') {
  const [, dist, op, shape, kStr] = args;
  const [rows, C] = shape.split('x').map(Number);
  const api = await import(pathToFileURL(`${dist}/index.js`).href);
  const core = await import(pathToFileURL(`${dist}/bench-core/index.js`).href);
  const lk = await api.init({ backend: 'wasm', wasm: readFileSync(resolve(dist, '..', 'build', 'logitkit.wasm')) });
  const w = core.makeWorkload({ id: shape, rows, classes: C, what: '' });
  const { xb, ob, rb, tb } = workloadBuffers(lk, w);
  const calls = {
    softmax: () => lk.softmax(xb, C, { out: ob }),
    logSoftmax: () => lk.logSoftmax(xb, C, { out: ob }),
    ceNone: () => lk.crossEntropy(xb, C, w.target, { reduction: 'none' }),
    ceNoneOut: () => lk.crossEntropy(xb, C, tb, { reduction: 'none', out: rb }),
    ceMean: () => lk.crossEntropy(xb, C, w.target, { reduction: 'mean' }),
  };
  const f = calls[op];
  if (!f) throw new Error(`unknown op ${op} (${Object.keys(calls).join(', ')})`);
  f();
  f();
  for (let k = 0; k < +kStr; k++) f();
  process.exit(0);
} else {
  const dists = opt('--dist', 'dist').split(',').map((d) => resolve(d));
  const ops = opt('--ops', 'softmax,logSoftmax,ceNone,ceNoneOut,ceMean').split(',');
  const shapes = opt('--shapes', '65536x10,256x32').split(',');
  const callsFor = (shape) => {
    const [r, c] = shape.split('x').map(Number);
    return +opt('--calls', Math.max(2, Math.min(20000, Math.round(2e6 / (r * c)))));
  };
  const me = fileURLToPath(import.meta.url);
  // null: the run failed, e.g. a dist without crossEntropy's out
  const count = (dist, op, shape, k) => callgrindCount(me, ['--child', dist, op, shape, String(k)]).count;
  console.log(`node ${process.version}; instructions per call and per element (callgrind); columns: ${dists.join('  ')}`);
  for (const shape of shapes) {
    const k = callsFor(shape);
    const [r, c] = shape.split('x').map(Number);
    for (const op of ops) {
      const cells = dists.map((d) => {
        const a = count(d, op, shape, k);
        const b = a === null ? null : count(d, op, shape, 2 * k);
        if (a === null || b === null) return '—'.padStart(22);
        const per = Math.round((b - a) / k);
        return `${per} (${(per / (r * c)).toFixed(1)}/elem)`.padStart(22);
      });
      console.log(`${op.padEnd(11)} ${shape.padEnd(10)} K=${String(k).padEnd(6)} ${cells.join('  ')}`);
    }
  }
}
