// Sampling one token from one 128,256-wide row (a Llama-3-sized vocabulary): logitkit's
// `sample` (wasm, and the JS reference backend) against a straightforward JS sampler that
// does what most JS generation code does: softmax in float64, sort the whole vocabulary by
// probability (Array.prototype.sort with a comparator), cut top-k / top-p, draw.
//
//   node bench/sample.js [--quick]        (needs `npm run build` first: imports ../dist)
//
// Workloads: logits ~ N(0, 2.5²) float32 (seeded), which keeps a few thousand tokens at
// top-p 0.9 after temperature 0.8; and a peaked row (one logit +12 above the rest) where
// top-p keeps few tokens. Each call draws a fresh uniform. Prints medians (ms, tinybench p50)
// and ratios. logitkit's JS backend is the sampling reference; it also sorts the vocabulary,
// but with one native Float64Array sort of packed keys, so it is a second, faster baseline.
import { Bench } from 'tinybench';
import { init } from '../dist/index.js';
import { machineInfo } from './machine.js';
import { rng } from './workloads.js';

const CLASSES = 128_256;
const quick = process.argv.includes('--quick');

function gaussianRow(scale, seed) {
  const r = rng(seed);
  const x = new Float32Array(CLASSES);
  for (let j = 0; j < CLASSES; j++) x[j] = scale * Math.sqrt(-2 * Math.log(Math.max(r(), 1e-300))) * Math.cos(2 * Math.PI * r());
  return x;
}

/** The straightforward sampler: full softmax, full sort, top-k, top-p, inverse CDF. */
function naiveSample(x, { temperature = 1, topK = 0, topP = 1 }, u) {
  const n = x.length;
  let m = -Infinity;
  for (let j = 0; j < n; j++) if (x[j] / temperature > m) m = x[j] / temperature;
  const p = new Float64Array(n);
  let s = 0;
  for (let j = 0; j < n; j++) s += p[j] = Math.exp(x[j] / temperature - m);
  for (let j = 0; j < n; j++) p[j] /= s;
  const order = Array.from({ length: n }, (_, j) => j);
  order.sort((a, b) => p[b] - p[a] || a - b);
  let k = topK > 0 ? Math.min(topK, n) : n;
  let mass = 0;
  for (let i = 0; i < k; i++) mass += p[order[i]];
  if (topP < 1) {
    let cum = 0;
    for (let i = 0; i < k; i++) {
      cum += p[order[i]] / mass;
      if (cum >= topP) {
        k = i + 1;
        break;
      }
    }
  }
  let total = 0;
  for (let i = 0; i < k; i++) total += p[order[i]];
  let cum = 0;
  for (let i = 0; i < k; i++) {
    cum += p[order[i]];
    if (cum > u * total) return order[i];
  }
  return order[k - 1];
}

const wasm = await init({ backend: 'wasm' });
const js = await init({ backend: 'js' });

const workloads = [
  { name: 'N(0, 2.5²) logits', x: gaussianRow(2.5, 1) },
  { name: 'peaked logits (one +12 outlier)', x: (() => { const x = gaussianRow(1, 2); x[4242] = 12; return x; })() },
];
const configs = [
  { name: 'topK=50 topP=0.9 T=0.8', o: { topK: 50, topP: 0.9, temperature: 0.8 } },
  { name: 'topP=0.9 T=0.8 (topK=0)', o: { topP: 0.9, temperature: 0.8 } },
];

const m = machineInfo();
console.log(`# sample: one row × ${CLASSES} classes, float32 — ${m.cpu}, ${m.cores} cores, Node ${m.node}`);
console.log('| workload | options | naive JS (comparator sort) ms | logitkit js (typed-array key sort) ms | logitkit wasm ms | wasm vs naive | wasm vs logitkit js | kept |');
console.log('|---|---|---:|---:|---:|---:|---:|---:|');
for (const w of workloads) {
  for (const c of configs) {
    const r = rng(99);
    const opts = { ...c.o, random: r };
    const kept = wasm.filterLogits(w.x, CLASSES, c.o).reduce((n, v) => n + (v !== -Infinity), 0);
    const bench = new Bench({ time: quick ? 300 : 1500, iterations: quick ? 5 : 20, warmupIterations: 3 });
    bench.add('naive', () => naiveSample(w.x, c.o, r()));
    bench.add('js', () => js.sample(w.x, CLASSES, opts));
    bench.add('wasm', () => wasm.sample(w.x, CLASSES, opts));
    await bench.run();
    const med = Object.fromEntries(bench.tasks.map((t) => [t.name, t.result.latency.p50]));
    console.log(
      `| ${w.name} | ${c.name} | ${med.naive.toFixed(2)} | ${med.js.toFixed(2)} | ${med.wasm.toFixed(3)} | **${(med.naive / med.wasm).toFixed(0)}×** | ${(med.js / med.wasm).toFixed(0)}× | ${kept} |`,
    );
  }
}
