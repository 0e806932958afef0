// The in-browser benchmark: the workloads and the naive baseline are the very ones
// `logitkit bench` uses in Node (bench/workloads.js, bench/peers/naive.js), so the numbers
// here and there describe the same work. Each implementation is timed call by call for a
// time budget; the median call is reported.
import type { Engine } from 'logitkit';
import { WORKLOADS, PER_CALL, OPS, makeWorkload } from '../../bench/workloads.js';
import { naiveSoftmax, naiveLogSoftmax, naiveLogSumExp, naiveCrossEntropy, outputLength } from '../../bench/peers/naive.js';
import { barChart } from './chart.js';

type Op = 'softmax' | 'logSoftmax' | 'logsumexp' | 'crossEntropy';
interface Workload {
  id: string;
  rows: number;
  classes: number;
  what: string;
  x: Float32Array;
  target: Int32Array;
}
export interface Timing {
  name: string;
  medianMs: number;
  samples: number;
}

function logitkitRun(lk: Engine, op: Op, w: Workload): () => unknown {
  const out = new Float32Array(outputLength(op, w));
  const { x, classes, target } = w;
  switch (op) {
    case 'softmax':
      return () => lk.softmax(x, classes, { out });
    case 'logSoftmax':
      return () => lk.logSoftmax(x, classes, { out });
    case 'logsumexp':
      return () => lk.logsumexp(x, classes, { out });
    case 'crossEntropy':
      return () => lk.crossEntropy(x, classes, target, { reduction: 'none' });
  }
}

function naiveRun(op: Op, w: Workload): () => unknown {
  const out = new Float32Array(outputLength(op, w));
  const { x, classes, target } = w;
  switch (op) {
    case 'softmax':
      return () => naiveSoftmax(x, classes, out);
    case 'logSoftmax':
      return () => naiveLogSoftmax(x, classes, out);
    case 'logsumexp':
      return () => naiveLogSumExp(x, classes, out);
    case 'crossEntropy':
      return () => naiveCrossEntropy(x, classes, target, out);
  }
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
  for (const op of OPS as Op[]) opSelect.add(new Option(op, op));
  for (const w of [...WORKLOADS, PER_CALL]) workloadSelect.add(new Option(`${w.rows.toLocaleString('en')} × ${w.classes.toLocaleString('en')} — ${w.what}`, w.id));
  workloadSelect.value = '4096x1000';

  button.addEventListener('click', async () => {
    button.disabled = true;
    try {
      const op = opSelect.value as Op;
      const spec = [...WORKLOADS, PER_CALL].find((w) => w.id === workloadSelect.value)!;
      progress.textContent = `generating ${spec.id}…`;
      await yieldToPage();
      const w = makeWorkload(spec) as Workload;
      const contenders: [string, string, () => unknown][] = engines.map((e) => [e.name, e.className, logitkitRun(e.lk, op, w)]);
      contenders.push(['naive JS', 'naive', naiveRun(op, w)]);
      const results: (Timing & { className: string })[] = [];
      for (const [name, className, run] of contenders) {
        progress.textContent = `timing ${name}…`;
        await yieldToPage();
        results.push({ ...(await time(name, run, budgetMs)), className });
      }
      const naive = results.find((r) => r.className === 'naive')!.medianMs;
      const elements = w.rows * w.classes;
      barChart($('bench-chart'), results.map((r) => ({ name: r.name, value: r.medianMs, className: r.className })), {
        format: (ms) => `${ms < 1 ? ms.toFixed(3) : ms.toFixed(1)} ms`,
      });
      const table = $<HTMLTableElement>('bench-table');
      table.innerHTML =
        '<thead><tr><th>implementation</th><th>median per call</th><th>logits / µs</th><th>speed vs naive JS</th><th>samples</th></tr></thead>';
      const body = table.createTBody();
      for (const r of results) {
        const tr = body.insertRow();
        for (const cell of [r.name, `${r.medianMs.toPrecision(3)} ms`, (elements / r.medianMs / 1000).toFixed(0), `${(naive / r.medianMs).toFixed(2)}×`, String(r.samples)])
          tr.insertCell().textContent = cell;
      }
      progress.textContent = `${op} on ${spec.id} (${spec.what}), ${navigator.userAgent.match(/(Chrome|Firefox|Version)\/[\d.]+/)?.[0] ?? 'this browser'}`;
    } catch (e) {
      progress.textContent = `failed: ${(e as Error).message}`;
    } finally {
      button.disabled = false;
    }
  });
}
