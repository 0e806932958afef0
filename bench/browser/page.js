// The benchmark page every browser engine runs (driven by bench/browser.js): the same workloads,
// harness and adapters as bench/run.js in Node, with the browser's peers (tfjs-backend-wasm,
// onnxruntime-web single-threaded, naive JS) and logitkit's builds served beside the page.
//
// The driver calls window.benchPage.load() once, then start(group) / poll() per (op, workload):
// a group runs in the page while the driver polls, so no driver's evaluate timeout limits it.
import * as api from '../../dist/index.browser.js';
import { loadAdapters, runGroup } from '../harness.js';
import { loadNaive } from '../peers/naive.js';
import { loadLogitkit } from '../peers/logitkit.js';
import { loadTfjsWasm } from '../peers/tfjs-wasm.js';
import { loadOrtWeb } from '../peers/onnxruntime.js';
import { describeEngine, makeWorkload, workloadChecksum } from '../workloads.js';

const here = new URL('./', location.href);
let loaded = null;
let running = null;
const workloads = new Map();

async function validates(url) {
  const response = await fetch(url);
  return response.ok && WebAssembly.validate(new Uint8Array(await response.arrayBuffer()));
}

const LOADERS = [
  { id: 'naive-js', kind: 'baseline', load: async () => [await loadNaive()] },
  {
    id: 'logitkit',
    kind: 'logitkit',
    load: async () =>
      (
        await loadLogitkit({
          api,
          version: 'logitkit (dist/)',
          cores: navigator.hardwareConcurrency || 1,
          wasmFor: (file) => new URL(`wasm/${file}`, here).href,
          validates,
        })
      ).variants,
  },
  { id: 'tfjs-wasm', kind: 'peer', load: () => loadTfjsWasm({ wasmPaths: new URL('tfjs/', here).href }) },
  { id: 'ort-web', kind: 'peer', load: () => loadOrtWeb({ wasmPaths: new URL('ort/', here).href, load: () => import('onnxruntime-web/wasm') }) },
];

window.benchPage = {
  async load({ skip = [] } = {}) {
    const log = [];
    loaded = await loadAdapters(LOADERS, { skip: new Set(skip), log: (line) => log.push(line) });
    document.getElementById('status').textContent = `loaded on ${describeEngine()}`;
    return {
      log,
      engine: describeEngine(),
      userAgent: navigator.userAgent,
      crossOriginIsolated: globalThis.crossOriginIsolated === true,
      cores: navigator.hardwareConcurrency || 1,
      logitkitChoice: loaded.adapters.find((a) => a.choice)?.choice ?? null,
      implementations: loaded.adapters.map(({ id, label, version, copies, kind }) => ({ id, label, version, copies, kind, clock: 'wall' })),
      unavailable: loaded.unavailable,
    };
  },
  /** Starts one (op, workload) group; poll() returns its rows once done. */
  start({ op, spec, settings, batch = 1 }) {
    if (!workloads.has(spec.id)) {
      workloads.clear(); // one workload's data at a time: the big ones are 16 MB and more
      const w = makeWorkload(spec);
      workloads.set(spec.id, { w, checksum: workloadChecksum(w) });
    }
    const { w, checksum } = workloads.get(spec.id);
    running = { done: false };
    const state = running;
    runGroup(loaded.adapters, op, w, settings, { batch, clock: 'wall' }).then(
      (rows) => Object.assign(state, { done: true, rows, checksum }),
      (err) => Object.assign(state, { done: true, error: String(err?.stack ?? err) }),
    );
    return true;
  },
  poll() {
    return running?.done ? running : null;
  },
  async close() {
    for (const a of loaded?.adapters ?? []) await a.close?.();
    return true;
  },
};
document.getElementById('status').textContent = 'ready';
document.body.dataset.ready = 'true';
