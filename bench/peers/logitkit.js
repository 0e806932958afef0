// logitkit itself, through its public API (dist/, built by `npm run build`), in Node (run.js) and
// in a browser page (browser/page.js): the caller passes the API and where each build lives.
// Variants:
//   'lk-wasm'               SIMD128 build, plain Float32Arrays: the engine copies x into wasm memory and
//                           the result out into the caller's `out` (timed: copy in + kernel + copy out).
//   'lk-wasm-buffers'       SIMD128 build, zero-copy: x and out (and crossEntropy's int32 targets) are
//                           lk.alloc() buffers in wasm memory.
// Every variant passes an out array for every op, crossEntropy's per-row losses included, so the ops
// are timed alike: a fresh result per call costs its allocation and the first touch of its pages,
// as much as the kernel on 1,000,000×10 (bench/limits.md, issue 23).
//   'lk-wasm-relaxed'       the relaxed-SIMD build, zero-copy buffers, where that build validates.
//   'lk-wasm-relaxed-plain' the relaxed-SIMD build, plain arrays.
//   'lk-wasm-threads'       SIMD128 shared-memory build, init({ threads: 2 }), buffers; listed only when
//                           the engine reports 2 threads in use (lk.features.threads).
//   'lk-js'                 the pure-JS float64 reference backend (no copies).
// Which of the SIMD builds init() picks by itself on this engine (and why) is reported beside them.
import { callLogitkit, logitkitHas, outputLength, describeBuild } from '../../dist/bench-core/index.js';

function plainVariant(lk, id, label, version, copies) {
  return {
    id,
    label,
    version,
    copies,
    prepare(op, w) {
      if (!logitkitHas(lk, op)) return null;
      const out = new Float32Array(outputLength(op, w));
      return { run: () => callLogitkit(lk, op, w.x, w, out) };
    },
  };
}

function bufferVariant(lk, id, label, version) {
  return {
    id,
    label,
    version,
    copies: 'none',
    prepare(op, w) {
      if (!logitkitHas(lk, op) || typeof lk.alloc !== 'function') return null;
      const xb = lk.alloc(w.x.length);
      xb.array.set(w.x);
      const ob = lk.alloc(outputLength(op, w));
      const tb = op === 'crossEntropy' || op === 'crossEntropyGrad' ? lk.alloc(w.rows, 'int32') : null;
      tb?.array.set(w.target);
      const wb = tb ? { classes: w.classes, target: tb } : w;
      return {
        // The result is read through a fresh view: wasm memory may have grown during the call.
        run: () => {
          callLogitkit(lk, op, xb, wb, ob);
          return ob.array;
        },
        dispose() {
          xb.free();
          ob.free();
          tb?.free();
        },
      };
    },
  };
}

/**
 * @param {{ api: typeof import('../../dist/index.js'), version: string, cores: number,
 *           wasmFor: (file: string) => Promise<unknown> | unknown,
 *           validates: (source: unknown) => Promise<boolean> }} env
 *   wasmFor: a source init({ wasm }) takes (bytes in Node, a URL in a page), or null when absent;
 *   validates: whether that build validates on this engine.
 * @returns {Promise<{ variants: object[], choice: { build: string, reason?: string } }>}
 */
export async function loadLogitkit({ api, version, cores, wasmFor, validates }) {
  const variants = [];
  const disposers = [];
  const keep = (lk) => (disposers.push(() => lk.dispose?.()), lk);
  const tag = (lk) => `${version}, ${describeBuild(lk)}`;

  // What init() picks by itself here (the build-choice rule), for the reports.
  const auto = await api.init();
  const choice = { build: describeBuild(auto), reason: auto.features?.buildReason };
  auto.dispose?.();

  // The single-thread SIMD128 rows run that build explicitly, whatever init() would pick.
  const simd = keep(await api.init({ backend: 'wasm', wasm: await wasmFor('logitkit.wasm') }));
  if (simd.backend !== 'wasm') throw new Error(`init({ backend: 'wasm' }) gave backend ${simd.backend}`);
  variants.push(plainVariant(simd, 'lk-wasm', 'logitkit SIMD128 (plain arrays)', tag(simd), 'in+out'));
  variants.push(bufferVariant(simd, 'lk-wasm-buffers', 'logitkit SIMD128 (zero-copy buffers)', tag(simd)));

  const relaxedSource = await wasmFor('logitkit-relaxed.wasm');
  if (relaxedSource && (await validates(relaxedSource))) {
    try {
      const relaxed = keep(await api.init({ backend: 'wasm', wasm: relaxedSource }));
      variants.push(bufferVariant(relaxed, 'lk-wasm-relaxed', 'logitkit relaxed SIMD (zero-copy buffers)', tag(relaxed)));
      variants.push(plainVariant(relaxed, 'lk-wasm-relaxed-plain', 'logitkit relaxed SIMD (plain arrays)', tag(relaxed), 'in+out'));
    } catch {
      // The relaxed build is optional.
    }
  }

  // Two threads, on the SIMD128 shared-memory build, listed only when two actually run.
  const threadsSource = cores > 1 ? await wasmFor('logitkit-threads.wasm') : null;
  if (threadsSource) {
    try {
      const threaded = await api.init({ backend: 'wasm', threads: 2, wasm: threadsSource });
      if (threaded.features?.threads === 2) {
        keep(threaded);
        const v = bufferVariant(threaded, 'lk-wasm-threads', 'logitkit SIMD128, 2 threads (zero-copy buffers)', tag(threaded));
        // CPU time sums all threads' work, which would hide the speed-up: time threads by the wall.
        v.clock = 'wall';
        variants.push(v);
      } else threaded.dispose?.();
    } catch {
      // Threads are optional (no SharedArrayBuffer, no worker support).
    }
  }

  const js = await api.init({ backend: 'js' });
  variants.push(plainVariant(js, 'lk-js', 'logitkit js (float64 reference)', `${version}, js backend`, 'none'));
  variants[0].close = () => disposers.forEach((d) => d());
  variants[0].choice = choice; // read by the harness for its report
  return { variants, choice };
}
