/**
 * The code every pool worker runs, as a string of plain JavaScript.
 *
 * A string rather than a module file so that one copy works in every setting:
 * Node starts it with `new Worker(source, { eval: true })` and browsers from a
 * Blob URL, and neither needs a worker file next to the bundle (bundlers move
 * files; tests run from the TypeScript sources). It must stay self-contained:
 * no imports, no TypeScript, nothing from the surrounding module (but the text
 * of kernelImports, which is self-contained by contract).
 *
 * Protocol: one job at a time, described in a small SharedArrayBuffer (layout
 * below) and cut into chunks of rows. Every thread — the caller included —
 * claims the next chunk by a compare-and-swap on WORD, which holds the job's
 * generation (11 bits) and the next chunk index (20 bits), so a worker that
 * wakes late can never claim a chunk of a newer job. Whoever claims a chunk
 * computes its arguments as base + perBegin·begin + perEnd·end (the kernel's
 * arguments are affine in the chunk's first and last row) and bumps FINISHED.
 * A worker that is slow to wake (an idle vCPU, a busy machine) simply finds
 * the chunks taken: the caller never waits for a worker that has not started.
 *
 * The first message carries the compiled module, the shared memory and the
 * control block. The worker instantiates the module over that memory, with the
 * imports the main thread gives it too (kernelImports, instantiate.ts) — the
 * module's static data segments are re-applied, with identical bytes, which is
 * why the pool is fully started before the engine hands out any call — answers
 * `{ ready: true }` and then lives in the loop below: calls never go through
 * postMessage, whose latency (tens of µs per hop) would cost more than a
 * mid-sized softmax.
 */
import { kernelImports } from './instantiate.js';

/** Int32 fields of the control block. */
export const Ctl = {
  WORD: 0, // generation << 20 | next chunk index (CLOSED while a job is being written)
  FINISHED: 1, // chunks completed in this generation
  FAILED: 2, // 1 when a chunk threw in a worker
  QUIT: 3, // 1: workers return
  FN: 4, // index of the export in the names list
  NARGS: 5,
  NCHUNKS: 6,
  CHUNK_ROWS: 7,
  ROWS: 8,
  WORKER_CHUNKS: 9, // chunks computed by workers since the start (diagnostics)
} as const;
export const IDX_BITS = 20;
export const IDX_MASK = (1 << IDX_BITS) - 1;
/** Chunk index of a job being written: no chunk can be claimed. */
export const CLOSED = IDX_MASK;
export const GEN_MASK = 0x7ff;
/**
 * Arguments of a pool job. A kernel with more runs on the calling thread alone (wasm-runtime.ts): the
 * chunk kernels must fit (abi.test checks every one), or their calls stop splitting without a sign —
 * scoreLogitsChunk's 17th parameter (py) once ran score's whole row pass on one thread.
 */
export const MAX_ARGS = 20;
/** Byte offset of the three float64 argument vectors (base, per-begin, per-end). */
export const ARGS_OFFSET = 64;
export const CONTROL_BYTES = ARGS_OFFSET + 3 * MAX_ARGS * 8;
/** How long an idle worker keeps polling for the next job before it sleeps (ms). */
export const SPIN_MS = 0.05;

export const WORKER_SOURCE = `'use strict';
const kernelImports = ${kernelImports.toString()};
const nodePort = typeof process === 'object' && typeof require === 'function' ? require('worker_threads').parentPort : null;
const post = (m) => (nodePort ? nodePort.postMessage(m) : self.postMessage(m));
const onFirstMessage = (f) => {
  if (nodePort) nodePort.once('message', f);
  else self.onmessage = (e) => { self.onmessage = null; f(e.data); };
};
onFirstMessage(({ module, memory, control, names }) => {
  let fns;
  try {
    const exports = new WebAssembly.Instance(module, kernelImports(module, memory)).exports;
    fns = names.map((n) => exports[n]);
  } catch (e) {
    post({ error: String((e && e.message) || e) });
    return;
  }
  post({ ready: true });
  serve(fns, new Int32Array(control, 0, ${ARGS_OFFSET / 4}), new Float64Array(control, ${ARGS_OFFSET}, ${3 * MAX_ARGS}));
});
const WORD = ${Ctl.WORD}, FINISHED = ${Ctl.FINISHED}, FAILED = ${Ctl.FAILED}, QUIT = ${Ctl.QUIT};
const FN = ${Ctl.FN}, NARGS = ${Ctl.NARGS}, NCHUNKS = ${Ctl.NCHUNKS}, CHUNK_ROWS = ${Ctl.CHUNK_ROWS}, ROWS = ${Ctl.ROWS};
const IDX_MASK = ${IDX_MASK}, CLOSED = ${CLOSED}, MAX_ARGS = ${MAX_ARGS};
function serve(fns, ctl, vec) {
  const args = new Array(MAX_ARGS).fill(0);
  let served = -1; // generation of the last job this worker looked at
  const ready = (w) => (w >>> ${IDX_BITS}) !== served && (w & IDX_MASK) !== CLOSED;
  for (;;) {
    let w = Atomics.load(ctl, WORD);
    // Stay awake for a moment before sleeping: calls often come back to back, and
    // a worker that is still running needs no wake-up (which on a busy machine or
    // an idle vCPU can take longer than the whole call).
    const until = performance.now() + ${SPIN_MS};
    for (let k = 1; !ready(w) && ctl[QUIT] === 0; k++) {
      w = Atomics.load(ctl, WORD);
      if ((k & 1023) === 0 && performance.now() > until) break;
    }
    while (!ready(w) && Atomics.load(ctl, QUIT) === 0) {
      Atomics.wait(ctl, WORD, w);
      w = Atomics.load(ctl, WORD);
    }
    if (Atomics.load(ctl, QUIT) !== 0) return;
    const gen = w >>> ${IDX_BITS};
    served = gen;
    for (;;) {
      w = Atomics.load(ctl, WORD);
      const i = w & IDX_MASK;
      // Fields are only rewritten after the job is closed (a new generation), so
      // reading them here is safe whenever the compare-and-swap below succeeds.
      if (w >>> ${IDX_BITS} !== gen || i === CLOSED || i >= ctl[NCHUNKS]) break;
      if (Atomics.compareExchange(ctl, WORD, w, w + 1) !== w) continue;
      const n = ctl[NARGS], rows = ctl[ROWS], cs = ctl[CHUNK_ROWS];
      const begin = i * cs, end = Math.min(rows, begin + cs);
      for (let j = 0; j < n; j++) {
        const b = vec[j], pb = vec[MAX_ARGS + j], pe = vec[2 * MAX_ARGS + j];
        args[j] = pb === 0 && pe === 0 ? b : b + pb * begin + pe * end;
      }
      try {
        const fn = fns[ctl[FN]];
        if (n === 5) fn(args[0], args[1], args[2], args[3], args[4]);
        else if (n === 4) fn(args[0], args[1], args[2], args[3]);
        else if (n === 6) fn(args[0], args[1], args[2], args[3], args[4], args[5]);
        else if (n === 3) fn(args[0], args[1], args[2]);
        else fn(...args.slice(0, n));
      } catch (e) {
        Atomics.store(ctl, FAILED, 1);
      }
      Atomics.add(ctl, ${Ctl.WORKER_CHUNKS}, 1);
      Atomics.add(ctl, FINISHED, 1);
      Atomics.notify(ctl, FINISHED);
    }
  }
}
`;
