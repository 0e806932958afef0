#!/usr/bin/env node
// The per-token cost of JSON-schema constrained decoding at a 200k vocabulary (gpt-tokenizer's
// o200k, 200,007 ids): XGrammar's mask (`constraint.mask()`, @mlc-ai/web-xgrammar, wasm) against
// logitkit's draw with that mask (`lk.sample` + `tokenBitmask`, wasm and js backends), the same draw
// without a mask, the usual top-k 50 + top-p 0.9 draw, and the grammar's `accept`. Every step of
// every document times all of them in turn (interleaved, the order rotating per step), so a busy
// machine slows them alike; medians and p90 over all steps, in ms.
//
//   npm run build && node bench/grammar.js [--docs 20] [--seed 1]
//
// Also prints the vocabulary build and schema compile times (one-off) and the first document.
import ranks from 'gpt-tokenizer/bpeRanks/o200k_base';
import { init } from '../dist/index.js';
import { splitMix32 } from '../dist/engine.js';
import { GrammarVocabulary } from '../dist/grammar.js';
import { machineInfo } from './machine.js';
import { rng } from './workloads.js';

const args = process.argv.slice(2);
const opt = (name, dflt) => (args.includes(name) ? Number(args[args.indexOf(name) + 1]) : dflt);
const docs = opt('--docs', 20);
const seed = opt('--seed', 1);
const VOCAB = 200_007;
const EOT = 199_999;
const SCHEMA = {
  type: 'object',
  properties: {
    name: { type: 'string', maxLength: 24 },
    age: { type: 'integer', minimum: 0, maximum: 99 },
    email: { type: 'string', pattern: '^[a-z]{1,8}@[a-z]{1,8}\\.com$' },
    tags: { type: 'array', items: { enum: ['red', 'green', 'blue'] }, maxItems: 3 },
  },
  required: ['name', 'age', 'email', 'tags'],
};

const now = () => performance.now();
let t0 = now();
const vocabulary = await GrammarVocabulary.create({ tokens: ranks, vocab: VOCAB, stopTokens: [EOT] });
const vocabMs = now() - t0;
t0 = now();
const grammar = await vocabulary.jsonSchema(SCHEMA);
const compileMs = now() - t0;
const wasm = await init({ backend: 'wasm' });
const js = await init({ backend: 'js' });

const times = { mask: [], 'sample+mask wasm': [], 'sample+mask js': [], 'sample wasm': [], 'topK50+topP0.9 wasm': [], accept: [] };
const noise = rng(seed);
const random = splitMix32(seed);
const x = new Float32Array(VOCAB);
const utf8 = new TextEncoder();
let first = null;
let steps = 0;
for (let d = 0; d < docs; d++) {
  const c = await grammar.constraint();
  const tokens = [];
  while (!c.done && tokens.length < 400) {
    for (let i = 0; i < VOCAB; i++) x[i] = (noise() - 0.5) * 8;
    let mask = null;
    let token = -1;
    const u = random();
    const parts = [
      async () => {
        const s = now();
        mask = await c.mask();
        times.mask.push(now() - s);
      },
      () => {
        const s = now();
        wasm.sample(x, VOCAB, { random: () => u });
        times['sample wasm'].push(now() - s);
      },
      () => {
        const s = now();
        wasm.sample(x, VOCAB, { random: () => u, topK: 50, topP: 0.9 });
        times['topK50+topP0.9 wasm'].push(now() - s);
      },
    ];
    // Rotate which unmasked call runs first; the masked draws need the mask.
    const r = steps++ % 3;
    for (let i = 0; i < 3; i++) await parts[(r + i) % 3]();
    const pair = [
      () => {
        const s = now();
        token = wasm.sample(x, VOCAB, { random: () => u, tokenBitmask: mask })[0];
        times['sample+mask wasm'].push(now() - s);
      },
      () => {
        const s = now();
        js.sample(x, VOCAB, { random: () => u, tokenBitmask: mask });
        times['sample+mask js'].push(now() - s);
      },
    ];
    if (steps % 2) pair.reverse();
    for (const f of pair) f();
    const s = now();
    c.accept(token);
    times.accept.push(now() - s);
    tokens.push(token);
  }
  if (first === null) {
    const bytes = tokens.filter((t) => t !== EOT).flatMap((t) => (typeof ranks[t] === 'string' ? [...utf8.encode(ranks[t])] : ranks[t]));
    first = { tokens: tokens.length, text: new TextDecoder().decode(Uint8Array.from(bytes)) };
  }
  c.dispose();
}

const q = (a, p) => {
  const s = [...a].sort((u, v) => u - v);
  return s[Math.min(s.length - 1, Math.floor(p * s.length))];
};
const m = machineInfo();
console.log(`${m.cpu}, ${m.cores} cores, Node ${m.node}`);
console.log(`o200k vocabulary (${VOCAB} ids): build ${vocabMs.toFixed(0)} ms; schema compile ${compileMs.toFixed(0)} ms; ${docs} documents, ${steps} tokens`);
console.log('per token, ms      median     p90');
for (const [k, a] of Object.entries(times)) console.log(`${k.padEnd(20)} ${q(a, 0.5).toFixed(3).padStart(7)} ${q(a, 0.9).toFixed(3).padStart(7)}`);
console.log(`first document (${first.tokens} tokens): ${first.text}`);
