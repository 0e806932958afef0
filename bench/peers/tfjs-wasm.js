// @tensorflow/tfjs-backend-wasm peer: XNNPACK kernels, SIMD build, one thread.
// Three variants, because tfjs users usually keep tensors on the backend between ops:
//   'tfjs-wasm'        the input tensor already lives in wasm memory; timed = op + dataSync (copy out).
//   'tfjs-wasm-kernel' input and output stay in wasm memory; timed = op + dispose, no copy at all:
//                      the counterpart of logitkit's zero-copy buffers (the wasm backend computes
//                      synchronously, so the result is complete when the op returns).
//   'tfjs-wasm-upload' timed = tf.tensor (copy in) + op + dataSync (copy out).
// dataSync is not a plain copy: measured here it costs about twice the softmax kernel itself.
// Softmax is a native XNNPACK kernel; logSoftmax, logSumExp and the cross-entropy loss are composed
// by tfjs-core from several kernels (max, sub, exp, sum, log, …), which is how tfjs users run them.

/** @param {{ wasmPaths: string }} where  the folder (path in Node, URL in a page) holding tfjs-backend-wasm's .wasm files */
export async function loadTfjsWasm({ wasmPaths }) {
  const tf = await import('@tensorflow/tfjs-core');
  const wasm = await import('@tensorflow/tfjs-backend-wasm');
  wasm.setWasmPaths(wasmPaths);
  // Force the single-threaded SIMD binary; the flags are read once when the backend initialises.
  tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
  tf.env().set('WASM_HAS_SIMD_SUPPORT', true);
  wasm.setThreadsCount(1);
  if (!(await tf.setBackend('wasm'))) throw new Error('tf.setBackend("wasm") returned false');
  await tf.ready();
  const threads = wasm.getThreadsCount();
  const version = `tfjs-core ${tf.version_core}, SIMD, ${threads} thread${threads === 1 ? '' : 's'}`;

  // Each op maps (tensor, target tensor) -> result tensor; intermediates die inside tf.tidy.
  const ops = {
    softmax: (t) => tf.softmax(t, -1),
    logSoftmax: (t) => tf.logSoftmax(t, -1),
    logsumexp: (t) => tf.logSumExp(t, -1),
    // tfjs takes one-hot targets; reduction NONE gives one loss per row.
    crossEntropy: (t, oneHot) => tf.losses.softmaxCrossEntropy(oneHot, t, undefined, 0, tf.Reduction.NONE),
  };

  function variant(id, label, copies, uploadEachCall, download = true) {
    return {
      id,
      label,
      version,
      copies,
      prepare(op, w) {
        const fn = ops[op];
        if (!fn) return null;
        const shape = [w.rows, w.classes];
        const resident = uploadEachCall ? null : tf.tensor2d(w.x, shape);
        const targets = op === 'crossEntropy' ? tf.tensor1d(w.target, 'int32') : null;
        const residentOneHot = targets && !uploadEachCall ? tf.oneHot(targets, w.classes) : null;
        const run = uploadEachCall
          ? () => {
              const y = tf.tidy(() => {
                const t = tf.tensor2d(w.x, shape);
                const oneHot = targets ? tf.oneHot(tf.tensor1d(w.target, 'int32'), w.classes) : null;
                return fn(t, oneHot);
              });
              const data = y.dataSync();
              y.dispose();
              return data;
            }
          : download
            ? () => {
                const y = tf.tidy(() => fn(resident, residentOneHot));
                const data = y.dataSync();
                y.dispose();
                return data;
              }
            : () => {
                const y = tf.tidy(() => fn(resident, residentOneHot));
                y.dispose();
                return y; // disposed: only the accuracy check reads it, through verify()
              };
        // The kernel-only variant's output never leaves wasm memory; the accuracy check reads it
        // once through this separate, untimed path.
        const verify = download ? null : () => {
          const y = tf.tidy(() => fn(resident, residentOneHot));
          const data = y.dataSync();
          y.dispose();
          return data;
        };
        return {
          run,
          verify,
          dispose() {
            resident?.dispose();
            targets?.dispose();
            residentOneHot?.dispose();
          },
        };
      },
    };
  }

  return [
    variant('tfjs-wasm', 'tfjs-backend-wasm (input resident, dataSync)', 'out'),
    variant('tfjs-wasm-kernel', 'tfjs-backend-wasm (input and output resident)', 'none', false, false),
    variant('tfjs-wasm-upload', 'tfjs-backend-wasm (upload + download)', 'in+out', true),
  ];
}
