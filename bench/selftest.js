#!/usr/bin/env node
// Self-test of the bench's own machinery (no timing): the protobuf encoder, the naive baseline,
// the accuracy check, the ratio arithmetic of the report, and — when the peers are installed —
// that onnxruntime accepts the encoded graphs and computes what the naive baseline computes.
//   node bench/selftest.js        exit code 0 = all passed
import assert from 'node:assert/strict';
import { benchModels, oneNodeModel, ElemType } from './peers/onnx-model.js';
import { naiveSoftmax, naiveLogSoftmax, naiveLogSumExp, naiveCrossEntropy } from './peers/naive.js';
import { checkAccuracy, makeWorkload } from './workloads.js';
import { evaluateTargets, renderMarkdown, renderSvg } from './report.js';

let failures = 0;
async function check(name, fn) {
  try {
    await fn();
    process.stderr.write(`ok    ${name}\n`);
  } catch (err) {
    failures++;
    process.stderr.write(`FAIL  ${name}: ${err.message}\n`);
  }
}

// A protobuf reader just big enough to walk what the writer produced: field → list of values
// (varints as BigInt, length-delimited fields as bytes, fixed32 as float).
function readMessage(bytes) {
  const fields = new Map();
  let at = 0;
  const varint = () => {
    let v = 0n;
    let shift = 0n;
    for (;;) {
      const b = bytes[at++];
      v |= BigInt(b & 0x7f) << shift;
      if (!(b & 0x80)) return v;
      shift += 7n;
    }
  };
  while (at < bytes.length) {
    const key = Number(varint());
    const field = key >> 3;
    const wire = key & 7;
    let value;
    if (wire === 0) value = varint();
    else if (wire === 2) {
      const n = Number(varint());
      value = bytes.subarray(at, at + n);
      at += n;
    } else if (wire === 5) {
      value = new DataView(bytes.buffer, bytes.byteOffset + at, 4).getFloat32(0, true);
      at += 4;
    } else throw new Error(`unexpected wire type ${wire}`);
    if (!fields.has(field)) fields.set(field, []);
    fields.get(field).push(value);
  }
  return fields;
}
const text = (b) => new TextDecoder().decode(b);

await check('ModelProto fields: ir_version 7, opset 13, one node with its op and attributes', () => {
  const m = readMessage(benchModels().logsumexp);
  assert.equal(m.get(1)[0], 7n);
  const opset = readMessage(m.get(8)[0]);
  assert.equal(opset.get(2)[0], 13n);
  const graph = readMessage(m.get(7)[0]);
  assert.equal(graph.get(1).length, 1);
  const node = readMessage(graph.get(1)[0]);
  assert.equal(text(node.get(4)[0]), 'ReduceLogSumExp');
  const attrs = node.get(5).map(readMessage);
  const axes = attrs.find((a) => text(a.get(1)[0]) === 'axes');
  // -1 as int64 is the 10-byte varint 2^64 - 1.
  assert.deepEqual(axes.get(8), [2n ** 64n - 1n]);
  assert.equal(axes.get(20)[0], 7n); // INTS
  const keepdims = attrs.find((a) => text(a.get(1)[0]) === 'keepdims');
  assert.equal(keepdims.get(3)[0], 0n);
});

await check('ValueInfoProto: symbolic dims and element types', () => {
  const graph = readMessage(readMessage(benchModels().crossEntropy).get(7)[0]);
  const inputs = graph.get(11).map(readMessage);
  assert.deepEqual(inputs.map((v) => text(v.get(1)[0])), ['x', 'target']);
  const tensor = readMessage(readMessage(inputs[1].get(2)[0]).get(1)[0]);
  assert.equal(tensor.get(1)[0], BigInt(ElemType.INT32));
  const dims = readMessage(tensor.get(2)[0]).get(1).map(readMessage);
  assert.equal(text(dims[0].get(2)[0]), 'rows');
  const node = readMessage(graph.get(1)[0]);
  const reduction = node.get(5).map(readMessage).find((a) => text(a.get(1)[0]) === 'reduction');
  assert.equal(text(reduction.get(4)[0]), 'none');
});

await check('float and fixed-size attributes encode exactly', () => {
  const bytes = oneNodeModel({
    opType: 'Dummy',
    inputs: [{ name: 'a', elemType: ElemType.FLOAT, dims: [3, 'n'] }],
    outputs: [{ name: 'b', elemType: ElemType.FLOAT, dims: [3] }],
    attributes: { alpha: 0.25, k: 300 },
  });
  const node = readMessage(readMessage(readMessage(bytes).get(7)[0]).get(1)[0]);
  const attrs = Object.fromEntries(node.get(5).map(readMessage).map((a) => [text(a.get(1)[0]), a]));
  assert.equal(attrs.alpha.get(2)[0], 0.25);
  assert.equal(attrs.k.get(3)[0], 300n); // 300 needs two varint bytes
});

await check('naive ops on a hand-checked row', () => {
  const x = Float32Array.from([1, 2, 3, 0, 0, Math.log(3)]);
  const sm = naiveSoftmax(x, 3, new Float32Array(6));
  assert.ok(Math.abs(sm[2] - Math.exp(3) / (Math.exp(1) + Math.exp(2) + Math.exp(3))) < 1e-7);
  assert.ok(Math.abs(sm[5] - 0.6) < 1e-7);
  const lse = naiveLogSumExp(x, 3, new Float32Array(2));
  assert.ok(Math.abs(lse[1] - Math.log(5)) < 1e-6);
  const ls = naiveLogSoftmax(x, 3, new Float32Array(6));
  assert.ok(Math.abs(ls[3] - -Math.log(5)) < 1e-6);
  const ce = naiveCrossEntropy(x, 3, Int32Array.from([0, 2]), new Float32Array(2));
  assert.ok(Math.abs(ce[1] - (Math.log(5) - Math.log(3))) < 1e-6);
});

await check('accuracy check: passes the reference, fails a perturbed output and a NaN', () => {
  const w = makeWorkload({ id: 't', rows: 4, classes: 1000 });
  const want = naiveLogSoftmax(w.x, w.classes, new Float32Array(w.x.length));
  assert.ok(checkAccuracy('logSoftmax', want.slice(), want, w).worstVsBound === 0);
  const off = want.slice();
  off[17] += 1e-3;
  assert.ok(checkAccuracy('logSoftmax', off, want, w).worstVsBound > 1);
  off[17] = NaN;
  assert.equal(checkAccuracy('logSoftmax', off, want, w).worstVsBound, Infinity) // a NaN is infinitely wrong;
  const p = naiveSoftmax(w.x, w.classes, new Float32Array(w.x.length));
  const rel = p.slice();
  rel[3] *= 1 + 1e-3; // 1e-3 relative on a probability is far outside §11
  assert.ok(checkAccuracy('softmax', rel, p, w).worstVsBound > 1);
});

await check('targets: ratio direction, met/missed and missing rows', () => {
  const row = (impl, op, workload, medianMs) => ({ impl, op, workload, medianMs });
  const data = {
    implementations: [{ id: 'lk-wasm-buffers' }, { id: 'tfjs-wasm' }, { id: 'lk-wasm' }, { id: 'naive-js' }],
    results: [row('lk-wasm-buffers', 'softmax', '4096x1000', 1), row('tfjs-wasm', 'softmax', '4096x1000', 1.5)],
    perCall: [row('lk-wasm', 'softmax', '1x32', 3e-6), row('naive-js', 'softmax', '1x32', 1e-6)],
  };
  const t = evaluateTargets(data);
  const soft = t.find((x) => x.op === 'softmax' && x.workload === '4096x1000' && x.impl === 'lk-wasm-buffers');
  assert.equal(soft.ratio, 1.5);
  assert.equal(soft.against, 'tfjs-wasm');
  assert.equal(soft.status, 'met');
  // With a faster candidate present, the target is judged against the faster one.
  data.results.push(row('tfjs-wasm-kernel', 'softmax', '4096x1000', 0.9));
  const strict = evaluateTargets(data).find((x) => x.op === 'softmax' && x.workload === '4096x1000' && x.impl === 'lk-wasm-buffers');
  assert.equal(strict.against, 'tfjs-wasm-kernel');
  assert.equal(strict.status, 'missed');
  const call = t.find((x) => x.perCall);
  assert.ok(Math.abs(call.timeRatio - 3) < 1e-12);
  assert.equal(call.status, 'missed');
  assert.equal(t.find((x) => x.impl === 'lk-wasm-threads').status, 'not measured');
});

await check('report renders from a results.json-shaped object', () => {
  const r = (impl, kind, ms) => ({ op: 'softmax', workload: '256x32', rows: 256, classes: 32, impl, kind, copies: 'none', medianMs: ms, p25Ms: ms, p75Ms: ms, melemPerSec: 8192 / (ms * 1e3), melemP25: 1, melemP75: 1, iqrPct: 0, vsNaive: 1, worstVsBound: 0.1, verified: true });
  const data = {
    date: '2026-01-01T00:00:00.000Z', command: 'node bench/run.js', durationSec: 1, partial: false,
    machine: { cpu: 'cpu <x>', cpuFeatures: [], cores: 2, memoryGiB: 1, platform: 'linux', arch: 'x64', node: 'v20', v8: '11' },
    loadAverage: { start: 3, end: 3 }, versions: { tinybench: '5' }, settings: { iterations: 8, time: 600, warmupIterations: 2, rounds: 2 },
    implementations: [{ id: 'naive-js', label: 'naive', copies: 'none', kind: 'baseline' }, { id: 'ort-node', label: 'ort', copies: 'in+out', kind: 'peer' }],
    unavailable: [{ id: 'ort-web', reason: 'boom' }], wrongFactor: 100,
    results: [r('naive-js', 'baseline', 0.1), r('ort-node', 'peer', 0.02)], perCall: [],
  };
  const md = renderMarkdown(data, '');
  assert.match(md, /\| 256×32 \| ort-node \|/);
  assert.match(md, /`ort-web`: unavailable \(boom\)/);
  assert.match(md, /machine was busy/);
  const svg = renderSvg(data);
  assert.match(svg, /^<svg /);
  assert.match(svg, /cpu &lt;x&gt;/); // escaped
});

// With the peers installed, the graphs must load and agree with naive JS.
await check('onnxruntime-node runs every encoded graph and agrees with naive JS', async () => {
  let ort;
  try {
    const mod = await import('onnxruntime-node');
    ort = mod.default ?? mod;
  } catch {
    process.stderr.write('      (onnxruntime-node not installed: skipped)\n');
    return;
  }
  const w = makeWorkload({ id: 't', rows: 5, classes: 7 });
  const naive = {
    softmax: () => naiveSoftmax(w.x, 7, new Float32Array(35)),
    logSoftmax: () => naiveLogSoftmax(w.x, 7, new Float32Array(35)),
    logsumexp: () => naiveLogSumExp(w.x, 7, new Float32Array(5)),
    crossEntropy: () => naiveCrossEntropy(w.x, 7, w.target, new Float32Array(5)),
  };
  for (const [op, bytes] of Object.entries(benchModels())) {
    const session = await ort.InferenceSession.create(bytes, { intraOpNumThreads: 1 });
    const feeds = { x: new ort.Tensor('float32', w.x, [5, 7]) };
    if (op === 'crossEntropy') feeds.target = new ort.Tensor('int32', w.target, [5]);
    const got = (await session.run(feeds)).y.data;
    assert.ok(checkAccuracy(op, got, naive[op](), w).worstVsBound <= 1, `${op} disagrees`);
  }
});

process.stderr.write(failures ? `${failures} failed\n` : 'all passed\n');
process.exit(failures ? 1 : 0);
