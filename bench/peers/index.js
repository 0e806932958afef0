// Peer registry. Every implementation the bench times is an adapter of this shape:
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
import { loadNaive } from './naive.js';
import { loadTfjsWasm } from './tfjs-wasm.js';
import { loadOrtNode, loadOrtWeb } from './onnxruntime.js';
import { loadLogitkit } from './logitkit.js';

/** Loaders in report order; `kind` groups rows: the baseline, logitkit itself, and peers. */
export const LOADERS = [
  { id: 'naive-js', kind: 'baseline', load: async () => [await loadNaive()] },
  { id: 'logitkit', kind: 'logitkit', load: async () => (await loadLogitkit()).variants },
  { id: 'tfjs-wasm', kind: 'peer', load: loadTfjsWasm },
  { id: 'ort-node', kind: 'peer', load: loadOrtNode },
  { id: 'ort-web', kind: 'peer', load: loadOrtWeb },
];

/**
 * Loads every adapter it can.
 * @param {{ skip?: Set<string>, log?: (line: string) => void }} [opts]
 * @returns {Promise<{ adapters: object[], unavailable: { id: string, reason: string }[] }>}
 */
export async function loadPeers({ skip = new Set(), log = () => {} } = {}) {
  const adapters = [];
  const unavailable = [];
  for (const loader of LOADERS) {
    if (skip.has(loader.id)) continue;
    const started = performance.now();
    try {
      const list = await loader.load();
      for (const a of list) adapters.push({ ...a, kind: loader.kind });
      log(`loaded ${loader.id} (${list.map((a) => a.id).join(', ')}) in ${Math.round(performance.now() - started)} ms`);
    } catch (err) {
      const reason = String(err?.message ?? err).split('\n')[0];
      unavailable.push({ id: loader.id, reason });
      log(`unavailable: ${loader.id}: ${reason}`);
    }
  }
  return { adapters, unavailable };
}
