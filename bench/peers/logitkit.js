// logitkit itself, through its public API (../../dist/index.js, built by `npm run build`).
// Variants:
//   'lk-wasm'         plain Float32Arrays: the engine copies x into wasm memory and the result out
//                     into the caller's `out` array (timed: copy in + kernel + copy out).
//   'lk-wasm-buffers' zero-copy: x and out are buffers from lk.alloc() that live in wasm memory, so
//                     nothing is copied (crossEntropy still copies its int32 targets in and the
//                     per-row losses out: rows values, not rows × classes).
//   'lk-js'           the pure-JS float64 reference backend (no copies).
//   'lk-wasm-threads' like 'lk-wasm-buffers' with init({ threads }), listed only when the engine
//                     reports more than one thread in use (lk.features.threads).
//   'lk-wasm-relaxed' like 'lk-wasm-buffers' on the relaxed-SIMD build, listed only where that
//                     build validates (Node ≥ 22; Node 20 with --experimental-wasm-relaxed-simd).
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { outputLength } from './naive.js';

function callOp(lk, op, x, classes, target, out) {
  switch (op) {
    case 'softmax':
      return lk.softmax(x, classes, { out });
    case 'logSoftmax':
      return lk.logSoftmax(x, classes, { out });
    case 'logsumexp':
      return lk.logsumexp(x, classes, { out });
    case 'crossEntropy':
      return lk.crossEntropy(x, classes, target, { reduction: 'none' });
    case 'crossEntropyGrad':
      return lk.crossEntropyWithGrad(x, classes, target, { out }).grad;
    default:
      throw new Error(`unknown op ${op}`);
  }
}

function supports(lk, op) {
  return typeof lk[op === 'crossEntropyGrad' ? 'crossEntropyWithGrad' : op] === 'function';
}

function plainVariant(lk, id, label, version, copies) {
  return {
    id,
    label,
    version,
    copies,
    prepare(op, w) {
      if (!supports(lk, op)) return null;
      const out = op === 'crossEntropy' ? undefined : new Float32Array(outputLength(op, w));
      return { run: () => callOp(lk, op, w.x, w.classes, w.target, out) };
    },
  };
}

function bufferVariant(lk, id, label, version) {
  return {
    id,
    label,
    version,
    copies: 'none',
    copiesFor: (op) => (op === 'crossEntropy' ? 'targets in, losses out (rows values only)' : 'none'),
    prepare(op, w) {
      if (!supports(lk, op) || typeof lk.alloc !== 'function') return null;
      const xb = lk.alloc(w.x.length);
      xb.array.set(w.x);
      const ob = op === 'crossEntropy' ? null : lk.alloc(outputLength(op, w));
      return {
        // The result is read through a fresh view: wasm memory may have grown during the call.
        run: () => {
          const r = callOp(lk, op, xb, w.classes, w.target, ob ?? undefined);
          return ob ? ob.array : r;
        },
        dispose() {
          xb.free();
          ob?.free();
        },
      };
    },
  };
}

/** Bytes of a build beside dist/index.js, or null when that build was not produced. */
function buildBytes(file) {
  try {
    return readFileSync(new URL(`../../dist/${file}`, import.meta.url));
  } catch {
    return null;
  }
}

/** What an engine runs ({ simd, relaxedSimd, threads }), from whichever accessor this version has. */
function featuresOf(api, lk) {
  return lk.features ?? api.featuresOf?.(lk) ?? (typeof lk.threads === 'number' ? { threads: lk.threads } : null);
}

export async function loadLogitkit() {
  const api = await import('../../dist/index.js');
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8'));
  const version = `logitkit ${pkg.version}`;
  const variants = [];

  // The single-thread rows run the plain SIMD build explicitly (the issue 5 targets are stated
  // for it), even where init() would pick the relaxed-SIMD build by itself.
  const plainBytes = buildBytes('logitkit.wasm');
  const wasm = await api.init(plainBytes ? { backend: 'wasm', wasm: plainBytes } : { backend: 'wasm' });
  if (wasm.backend !== 'wasm') throw new Error(`init({ backend: 'wasm' }) gave backend ${wasm.backend}`);
  variants.push(plainVariant(wasm, 'lk-wasm', 'logitkit wasm (plain arrays)', `${version}, wasm SIMD, 1 thread`, 'in+out'));
  variants.push(bufferVariant(wasm, 'lk-wasm-buffers', 'logitkit wasm (zero-copy buffers)', `${version}, wasm SIMD, 1 thread`));

  const js = await api.init({ backend: 'js' });
  variants.push(plainVariant(js, 'lk-js', 'logitkit js (float64 reference)', `${version}, js backend`, 'none'));

  // Relaxed SIMD (fused multiply-add): only where the runtime validates it (Node ≥ 22, or Node 20
  // with --experimental-wasm-relaxed-simd).
  const relaxedBytes = buildBytes('logitkit-relaxed.wasm');
  if (relaxedBytes && WebAssembly.validate(relaxedBytes)) {
    try {
      const relaxed = await api.init({ backend: 'wasm', wasm: relaxedBytes });
      const v = bufferVariant(relaxed, 'lk-wasm-relaxed', 'logitkit wasm relaxed SIMD (zero-copy buffers)', `${version}, wasm relaxed SIMD, 1 thread`);
      v.dispose = () => relaxed.dispose?.();
      variants.push(v);
    } catch {
      // The relaxed build is optional.
    }
  }

  // The threaded row appears only when the engine reports more than one thread actually in use,
  // so an engine that ignores the option never shows up as "threaded".
  const cores = availableParallelism();
  if (cores > 1) {
    // The plain-SIMD threads build first: the whole run may execute under the relaxed-SIMD flag
    // (see run.js), where init() alone would pick the relaxed threads build and the threads row
    // would compare relaxed + threads against plain one-thread.
    const attempts = [];
    const threadBytes = buildBytes('logitkit-threads.wasm');
    if (threadBytes) attempts.push({ backend: 'wasm', threads: cores, wasm: threadBytes });
    attempts.push({ backend: 'wasm', threads: 'auto' });
    for (const options of attempts) {
      let threaded;
      try {
        threaded = await api.init(options);
      } catch {
        continue; // threads are optional
      }
      const f = featuresOf(api, threaded);
      const n = f?.threads;
      if (typeof n === 'number' && n > 1) {
        const build = f?.relaxedSimd ? 'wasm relaxed SIMD' : 'wasm SIMD';
        const v = bufferVariant(threaded, 'lk-wasm-threads', `logitkit ${build}, ${n} threads (zero-copy buffers)`, `${version}, ${build}, ${n} threads`);
        v.dispose = () => threaded.dispose?.();
        // CPU time sums all threads' work, which would hide the speed-up: time threads by the wall.
        v.clock = 'wall';
        variants.push(v);
        break;
      }
      threaded.dispose?.();
    }
  }
  return { api, engines: { wasm, js }, variants };
}
