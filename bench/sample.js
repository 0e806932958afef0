// Sampling one token from one 128,256-wide row (a Llama-3-sized vocabulary): logitkit's
// `sample` (wasm, and the JS reference backend) against a straightforward JS sampler that
// does what most JS generation code does: softmax in float64, sort the whole vocabulary by
// probability (Array.prototype.sort with a comparator), cut top-k / top-p, draw.
//
//   node bench/sample.js [--quick] [--sampler]   (needs `npm run build` first: imports ../dist;
//                                                --sampler: only issue 25's lk.sampler table)
//
// A second table times the issue-16 options (constraints, penalties, top-nσ / epsilon / eta / XTC / typical-p,
// the llama.cpp order, logprobs, verifyDraft) on the wasm backend against the top-k 50 + top-p 0.9
// + T 0.8 path on the N(0, 2.5²) row; the target is < 2× that path (XTC and typical-p may need a full pass).
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
import { secondsPerCall } from './harness.js';

const CLASSES = 128_256;
const quick = process.argv.includes('--quick');
const samplerOnly = process.argv.includes('--sampler');

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
for (const w of samplerOnly ? [] : workloads) {
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

// ---- the issue-16 paths, wasm, against the top-k 50 + top-p 0.9 path -----------------------

const x = workloads[0].x;
const words = Math.ceil(CLASSES / 32);
const denseMask = new Int32Array(words).fill(-1);
for (let i = 0; i < words; i += 2) denseMask[i] = 0x55555555;
const grammarMask = new Int32Array(words);
{
  const r = rng(3);
  for (let i = 0; i < 300; i++) {
    const t = Math.floor(r() * CLASSES);
    grammarMask[t >> 5] |= 1 << (t & 31);
  }
}
const history = (() => {
  const r = rng(4);
  return Int32Array.from({ length: 512 }, () => Math.floor(r() * CLASSES));
})();
const base = { topK: 50, topP: 0.9, temperature: 0.8 };
const paths = [
  ['baseline: topK=50 topP=0.9 T=0.8', base],
  ['+ tokenBitmask (half the vocabulary)', { ...base, tokenBitmask: denseMask }],
  ['+ tokenBitmask (grammar: 300 tokens)', { ...base, tokenBitmask: grammarMask }],
  ['+ logitBias (16 ids)', { ...base, logitBias: new Map(Array.from({ length: 16 }, (_, i) => [i * 7919, i % 2 ? 2 : -2])) }],
  ['+ allowedTokens (5000) + suppressTokens (10)', { ...base, allowedTokens: Int32Array.from({ length: 5000 }, (_, i) => i * 25), suppressTokens: Int32Array.from({ length: 10 }, (_, i) => i) }],
  ['+ frequency/presence/repetition penalties (512 tokens, last 64)', { ...base, frequencyPenalty: 0.5, presencePenalty: 0.5, repetitionPenalty: 1.1, penaltyTokens: history, penaltyLastN: 64 }],
  ['+ topNSigma=1', { ...base, topNSigma: 1 }],
  ['+ epsilon=3e-4', { ...base, epsilon: 3e-4 }],
  ['+ eta=6e-4', { ...base, eta: 6e-4 }],
  ['+ xtc {p=1, t=0.1}', { ...base, xtc: { probability: 1, threshold: 0.1 } }],
  ["+ order 'llama.cpp'", { ...base, order: 'llama.cpp' }],
  ['+ typicalP=0.9', { ...base, typicalP: 0.9 }],
  ["+ typicalP=0.9, order 'llama.cpp'", { ...base, typicalP: 0.9, order: 'llama.cpp' }],
  ['+ logprobs, topLogprobs=20 (raw)', { ...base, logprobs: true, topLogprobs: 20 }],
  ["+ logprobs, topLogprobs=20 ('processed')", { ...base, logprobs: true, topLogprobs: 20, logprobsOf: 'processed' }],
  ['topNSigma=1 T=0.8 alone', { topNSigma: 1, temperature: 0.8 }],
  ['epsilon=3e-4 T=0.8 alone', { epsilon: 3e-4, temperature: 0.8 }],
  ['eta=6e-4 T=0.8 alone', { eta: 6e-4, temperature: 0.8 }],
  ['xtc {p=1, t=0.1} T=0.8 alone', { xtc: { probability: 1, threshold: 0.1 }, temperature: 0.8 }],
  ["order 'llama.cpp' T=0.8 alone (no filter)", { order: 'llama.cpp', temperature: 0.8 }],
  ['typicalP=0.9 T=0.8 alone', { typicalP: 0.9, temperature: 0.8 }],
  ['typicalP=0.9 topP=0.9 T=0.8 (no top-k)', { typicalP: 0.9, topP: 0.9, temperature: 0.8 }],
  ["typicalP=0.9 topP=0.9 T=0.8, order 'llama.cpp'", { typicalP: 0.9, topP: 0.9, temperature: 0.8, order: 'llama.cpp' }],
];
console.log('');
console.log(`# issue-16 paths: wasm sample, one row × ${CLASSES}, N(0, 2.5²) logits — ${m.cpu}, Node ${m.node}; one run, shared machine`);
console.log('| path | wasm ms (p50) | × baseline | kept |');
console.log('|---|---:|---:|---:|');
const r16 = rng(7);
let baseMs = 0;
for (const [name, o] of samplerOnly ? [] : paths) {
  const { logprobs, topLogprobs, logprobsOf, ...filterOnly } = o;
  const kept = wasm.filterLogits(x, CLASSES, { ...filterOnly, seed: 1 }).reduce((n, v) => n + (v !== -Infinity), 0);
  const bench = new Bench({ time: quick ? 300 : 1000, iterations: quick ? 5 : 20, warmupIterations: 3 });
  bench.add(name, () => wasm.sample(x, CLASSES, { ...o, random: r16 }));
  await bench.run();
  const ms = bench.tasks[0].result.latency.p50;
  if (baseMs === 0) baseMs = ms;
  console.log(`| ${name} | ${ms.toFixed(3)} | ${(ms / baseMs).toFixed(2)}× | ${kept} |`);
}
if (!samplerOnly) {
  // Speculative decoding: 4 draft tokens, target 5 rows, draft 4 rows, 128,256 wide.
  const target = new Float32Array(5 * CLASSES);
  for (let i = 0; i < 5; i++) target.set(gaussianRow(2.5, 10 + i), i * CLASSES);
  const draft = new Float32Array(4 * CLASSES);
  for (let i = 0; i < 4; i++) draft.set(gaussianRow(2.5, 10 + i).map((v, j) => v + 0.3 * Math.sin(j)), i * CLASSES);
  const tokens = wasm.sample(draft, CLASSES, { ...base, seed: 1 });
  const bench = new Bench({ time: quick ? 300 : 1000, iterations: quick ? 5 : 20, warmupIterations: 3 });
  let s = 0;
  bench.add('verifyDraft', () => wasm.verifyDraft(target, draft, CLASSES, tokens, { ...base, seed: s++ }));
  await bench.run();
  const ms = bench.tasks[0].result.latency.p50;
  console.log(`| verifyDraft, 4 draft tokens (9 rows filtered) | ${ms.toFixed(3)} | ${(ms / baseMs).toFixed(2)}× | — |`);
}

// ---- issue 25: lk.sampler with DRY + Mirostat v2 + min-p against one-step top-k 50 + top-p 0.9 ----
// Interleaved A/B in one process (A, B, A, B…, which goes first alternating per round), so a loaded
// machine slows both alike; the target is B/A ≤ 1.5. Run alone with `node bench/sample.js --sampler`.
{
  const rounds = quick ? 5 : 15;
  const prompt = (() => {
    const r = rng(25);
    // A history with repeats, so that DRY has matches to find.
    const h = Int32Array.from({ length: 512 }, () => Math.floor(r() * 2000));
    h.set(h.subarray(400, 512), 100);
    return h;
  })();
  const rA = rng(11);
  const one = { topK: 50, topP: 0.9, temperature: 0.8 };
  const cases = [
    ['sampler: DRY + Mirostat v2 + minP 0.05, T 0.8', { dry: { multiplier: 0.8 }, mirostat: { version: 2 }, minP: 0.05, temperature: 0.8 }],
    ['sampler: DRY + minP 0.05, T 0.8 (no Mirostat)', { dry: { multiplier: 0.8 }, minP: 0.05, temperature: 0.8 }],
    ['sampler: Mirostat v2 alone, T 0.8', { mirostat: { version: 2 }, temperature: 0.8 }],
    ['sampler: topK 50 + topP 0.9, T 0.8 (the one-step options)', one],
  ];
  const time = (fn) => 1000 * secondsPerCall(fn, 0.05);
  const median = (a) => a.slice().sort((p, q) => p - q)[a.length >> 1];
  console.log('');
  console.log(`# issue 25: lk.sampler (wasm) vs one-step lk.sample topK 50 + topP 0.9 + T 0.8, one row × ${CLASSES}, N(0, 2.5²) logits, 512-token prompt; ${rounds} interleaved rounds — ${m.cpu}, Node ${m.node}`);
  console.log('| B | A ms (median) | B ms (median) | B / A (median of per-round ratios) |');
  console.log('|---|---:|---:|---:|');
  for (const [name, o] of cases) {
    const s = wasm.sampler({ vocab: CLASSES, prompt, seed: 5, ...o });
    const a = () => wasm.sample(x, CLASSES, { ...one, random: rA });
    const b = () => {
      if (s.history.length > 2048) s.reset();
      s.sample(x);
    };
    for (let i = 0; i < 20; i++) a(), b(); // warm-up: JIT, the sampler's scratch rows
    const ta = [];
    const tb = [];
    for (let i = 0; i < rounds; i++) {
      if (i % 2 === 0) ta.push(time(a)), tb.push(time(b));
      else tb.push(time(b)), ta.push(time(a));
    }
    const ratios = ta.map((v, i) => tb[i] / v);
    console.log(`| ${name} | ${median(ta).toFixed(3)} | ${median(tb).toFixed(3)} | **${median(ratios).toFixed(2)}×** |`);
  }
}
