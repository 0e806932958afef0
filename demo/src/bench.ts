// The in-browser benchmark: workloads, data, the naive baseline and the accuracy check come from
// the benchmark core (src/bench-core/, built into dist/) that `logitkit bench` and bench/run.js
// use, so the numbers here and there describe the same work. Each implementation is checked
// once against the naive output, then timed call by call for a time budget; the median call is
// reported, with the engine and the wasm build that ran it.
import type { Engine } from 'logitkit';
import {
  CORE_OPS,
  PER_CALL,
  WORKLOADS,
  callLogitkit,
  checkAccuracy,
  describeBuild,
  describeEngine,
  makeWorkload,
  naiveRun,
  outputLength,
  type BenchOp,
  type Workload,
} from '../../dist/bench-core/index.js';
import { barChart } from './chart.js';

export interface Timing {
  name: string;
  medianMs: number;
  samples: number;
}

function logitkitRun(lk: Engine, op: BenchOp, w: Workload): () => ArrayLike<number> {
  // every op with a reused out, crossEntropy too: a fresh result a call would time the allocation
  const out = new Float32Array(outputLength(op, w));
  return () => callLogitkit(lk, op, w.x, w, out);
}

function naiveRun1(op: BenchOp, w: Workload): () => ArrayLike<number> {
  const out = new Float32Array(outputLength(op, w));
  return () => naiveRun(op, w, out);
}

const yieldToPage = () => new Promise<void>((ok) => setTimeout(ok, 0));

/** Median time of one call: calls are batched so that each sample lasts ≥ 2 ms (timer resolution). */
async function time(name: string, run: () => unknown, budgetMs: number): Promise<Timing> {
  run(); // warm-up: JIT, wasm memory growth
  let batch = 1;
  for (let t0 = performance.now(); performance.now() - t0 < 2 && batch < 1 << 20; batch *= 2) for (let i = 0; i < batch; i++) run();
  const samples: number[] = [];
  const start = performance.now();
  while (samples.length < 3 || (performance.now() - start < budgetMs && samples.length < 200)) {
    const t0 = performance.now();
    for (let i = 0; i < batch; i++) run();
    samples.push((performance.now() - t0) / batch);
    if (samples.length % 5 === 0) await yieldToPage();
  }
  samples.sort((a, b) => a - b);
  return { name, medianMs: samples[samples.length >> 1]!, samples: samples.length };
}

/** One logitkit engine to time, as it appears in the chart. */
export interface Contender {
  name: string;
  className: string;
  lk: Engine;
}

export function setupBench(engines: Contender[], budgetMs: number): void {
  const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
  const opSelect = $<HTMLSelectElement>('bench-op');
  const workloadSelect = $<HTMLSelectElement>('bench-workload');
  const button = $<HTMLButtonElement>('bench-run');
  const progress = $('bench-progress');
  for (const op of CORE_OPS) opSelect.add(new Option(op, op));
  for (const w of [...WORKLOADS, PER_CALL]) workloadSelect.add(new Option(`${w.rows.toLocaleString('en')} × ${w.classes.toLocaleString('en')} — ${w.what}`, w.id));
  workloadSelect.value = '4096x1000';

  button.addEventListener('click', async () => {
    button.disabled = true;
    try {
      const op = opSelect.value as BenchOp;
      const spec = [...WORKLOADS, PER_CALL].find((w) => w.id === workloadSelect.value)!;
      progress.textContent = `generating ${spec.id}…`;
      await yieldToPage();
      const w = makeWorkload(spec);
      const contenders: [string, string, () => ArrayLike<number>][] = engines.map((e) => [e.name, e.className, logitkitRun(e.lk, op, w)]);
      const naive = naiveRun1(op, w);
      contenders.push(['naive JS', 'naive', naive]);
      // The accuracy check of every benchmark: a wrong build is reported, never timed.
      const reference = Float32Array.from(naive());
      for (const [name, , run] of contenders) {
        const { worstVsBound } = checkAccuracy(op, Float32Array.from(run()), reference, w);
        if (!(worstVsBound <= 1)) throw new Error(`${name} gives a wrong result (${worstVsBound}× the SEMANTICS.md §11 bound)`);
      }
      const results: (Timing & { className: string; build: string })[] = [];
      const builds = new Map(engines.map((e) => [e.name, describeBuild(e.lk)]));
      for (const [name, className, run] of contenders) {
        progress.textContent = `timing ${name}…`;
        await yieldToPage();
        results.push({ ...(await time(name, run, budgetMs)), className, build: builds.get(name) ?? 'plain JavaScript' });
      }
      const naiveMs = results.find((r) => r.className === 'naive')!.medianMs;
      const elements = w.rows * w.classes;
      barChart($('bench-chart'), results.map((r) => ({ name: r.name, value: r.medianMs, className: r.className })), {
        format: (ms) => `${ms < 1 ? ms.toFixed(3) : ms.toFixed(1)} ms`,
      });
      const table = $<HTMLTableElement>('bench-table');
      table.innerHTML =
        '<thead><tr><th>implementation</th><th>build</th><th>median per call</th><th>logits / µs</th><th>speed vs naive JS</th><th>samples</th></tr></thead>';
      const body = table.createTBody();
      for (const r of results) {
        const tr = body.insertRow();
        for (const cell of [r.name, r.build, `${r.medianMs.toPrecision(3)} ms`, (elements / r.medianMs / 1000).toFixed(0), `${(naiveMs / r.medianMs).toFixed(2)}×`, String(r.samples)])
          tr.insertCell().textContent = cell;
      }
      progress.textContent = `${op} on ${spec.id} (${spec.what}), ${describeEngine()}, logitkit wasm build: ${engines[0] ? describeBuild(engines[0].lk) : '—'}`;
    } catch (e) {
      progress.textContent = `failed: ${(e as Error).message}`;
    } finally {
      button.disabled = false;
    }
  });
}
