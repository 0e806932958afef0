// onnxruntime peers: native CPU (onnxruntime-node) and WebAssembly (onnxruntime-web), one thread
// each, running the one-node graphs of onnx-model.js. session.run() takes plain typed arrays and
// returns new ones, so every timing includes copying data in and out (and the async call itself).
import { benchModels } from './onnx-model.js';

async function sessionsFor(ort, sessionOptions) {
  const models = benchModels();
  const sessions = {};
  for (const [op, bytes] of Object.entries(models)) {
    sessions[op] = await ort.InferenceSession.create(bytes, sessionOptions);
  }
  return sessions;
}

function adapter(ort, sessions, id, label, version) {
  return {
    id,
    label,
    version,
    copies: 'in+out',
    prepare(op, w) {
      const session = sessions[op];
      if (!session) return null;
      // ort.Tensor wraps the caller's typed array; the copy into the runtime happens inside run().
      const feeds = { x: new ort.Tensor('float32', w.x, [w.rows, w.classes]) };
      if (op === 'crossEntropy') feeds.target = new ort.Tensor('int32', w.target, [w.rows]);
      return {
        run: async () => (await session.run(feeds)).y.data,
      };
    },
    async close() {
      for (const s of Object.values(sessions)) await s.release?.();
    },
  };
}

export async function loadOrtNode() {
  const mod = await import('onnxruntime-node');
  const ort = mod.default ?? mod;
  const sessions = await sessionsFor(ort, {
    intraOpNumThreads: 1,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
  });
  const version = `onnxruntime-node ${ort.env.versions?.node ?? ''}, CPU EP, 1 thread`.replace('  ', ' ');
  return [adapter(ort, sessions, 'ort-node', 'onnxruntime-node (native CPU)', version)];
}

/**
 * @param {{ wasmPaths?: string, load?: () => Promise<object> }} [where]  in a page: the URL prefix its
 *   ort-wasm-*.{mjs,wasm} files are served from, and an import of 'onnxruntime-web/wasm' (the wasm EP
 *   alone; the default entry would fetch the WebGPU build)
 */
export async function loadOrtWeb({ wasmPaths, load = () => import('onnxruntime-web') } = {}) {
  const mod = await load();
  const ort = mod.default ?? mod;
  if (wasmPaths) ort.env.wasm.wasmPaths = wasmPaths;
  ort.env.wasm.numThreads = 1; // no worker proxy, no pthreads: one thread like every other peer
  ort.env.wasm.simd = true;
  ort.env.logLevel = 'error';
  const sessions = await sessionsFor(ort, { executionProviders: ['wasm'], graphOptimizationLevel: 'all' });
  const version = `onnxruntime-web ${ort.env.versions?.web ?? ''}, wasm EP (SIMD), 1 thread`.replace('  ', ' ');
  return [adapter(ort, sessions, 'ort-web', 'onnxruntime-web (wasm)', version)];
}
