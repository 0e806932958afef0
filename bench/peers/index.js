// Peer registry (Node; bench/browser/page.js lists the page's loaders and reuses loadPeers). Every implementation the bench times is an adapter of this shape:
//
//   { id, label, version, copies: 'none' | 'out' | 'in+out', copiesFor?(op) -> string,
//     prepare(op, workload) -> null (op not supported)
//                            | { run() -> result | Promise<result>, verify?() -> result, dispose?() },
//     close?() }
//
// `workload` is { rows, classes, x: Float32Array(rows*classes), target: Int32Array(rows) }. `run`
// performs exactly one call of the op and returns its output (a Float32Array-like), which the
// harness checks against the naive JS output once before timing it (or `verify`, when the timed
// call leaves its result out of reach, e.g. in a tensor it disposes). `copies` says what the timed
// call includes besides the kernel: copying the input in, the output out, both, or neither.
//
// Peers are optional: a loader that throws makes its peer "unavailable" with the reason, and the
// run goes on without it.
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { loadNaive } from './naive.js';
import { loadTfjsWasm } from './tfjs-wasm.js';
import { loadOrtNode, loadOrtWeb } from './onnxruntime.js';
import { loadLogitkit } from './logitkit.js';
import { loadAdapters } from '../harness.js';

/** Loaders in report order; `kind` groups rows: the baseline, logitkit itself, and peers. */
export const LOADERS = [
  { id: 'naive-js', kind: 'baseline', load: async () => [await loadNaive()] },
  { id: 'logitkit', kind: 'logitkit', load: async () => (await loadLogitkitNode()).variants },
  { id: 'tfjs-wasm', kind: 'peer', load: () => loadTfjsWasm({ wasmPaths: fileURLToPath(new URL('../../node_modules/@tensorflow/tfjs-backend-wasm/dist/', import.meta.url)) }) },
  { id: 'ort-node', kind: 'peer', load: loadOrtNode },
  { id: 'ort-web', kind: 'peer', load: () => loadOrtWeb() },
];

/** logitkit from dist/, its builds read from disk (a page passes URLs instead: browser/page.js). */
async function loadLogitkitNode() {
  const api = await import('../../dist/index.js');
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8'));
  const wasmFor = (file) => {
    try {
      return readFileSync(new URL(`../../dist/${file}`, import.meta.url));
    } catch {
      return null; // that build was not produced
    }
  };
  return loadLogitkit({ api, version: `logitkit ${pkg.version}`, cores: availableParallelism(), wasmFor, validates: async (bytes) => WebAssembly.validate(bytes) });
}

/**
 * Loads every adapter it can (see harness.js loadAdapters).
 * @param {{ skip?: Set<string>, log?: (line: string) => void }} [opts]
 */
export function loadPeers(opts = {}) {
  return loadAdapters(LOADERS, opts);
}
