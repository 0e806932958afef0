// logitkit score --multilabel end to end: .npy / .npz / .safetensors inputs with targets stored as
// uint8, bool, int64 and float32; the JSON keys; shards scored apart and merged equal the whole run;
// --class-names, the text output, the HTML / Markdown report; errors name file, row and label.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { beforeAll, describe, expect, it } from 'vitest';
import { encodeNpyData, npyHeaderBytes, writeNpyRaw } from '../src/io/npy.js';
import { init, multilabelMetrics, type MultilabelReport } from '../src/index.js';
import { cliSandbox } from './helpers/cli.js';
import { normal, rng } from './helpers/random.js';

const N = 2500;
const C = 5;

/** A stored (np.savez) ZIP of .npy members. */
function npz(members: Record<string, Buffer>): Buffer {
  const parts: Buffer[] = [];
  const central: Buffer[] = [];
  let offset = 0;
  for (const [key, data] of Object.entries(members)) {
    const name = Buffer.from(`${key}.npy`);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt32LE(crc32(data), 14);
    local.writeUInt32LE(data.length, 18);
    local.writeUInt32LE(data.length, 22);
    local.writeUInt16LE(name.length, 26);
    const c = Buffer.alloc(46);
    c.writeUInt32LE(0x02014b50, 0);
    c.writeUInt16LE(20, 4);
    c.writeUInt16LE(20, 6);
    c.writeUInt32LE(crc32(data), 16);
    c.writeUInt32LE(data.length, 20);
    c.writeUInt32LE(data.length, 24);
    c.writeUInt16LE(name.length, 28);
    c.writeUInt32LE(offset, 42);
    central.push(c, name);
    parts.push(local, name, data);
    offset += 30 + name.length + data.length;
  }
  const cd = Buffer.concat(central);
  const eocd = Buffer.alloc(22);
  eocd.writeUInt32LE(0x06054b50, 0);
  eocd.writeUInt16LE(Object.keys(members).length, 8);
  eocd.writeUInt16LE(Object.keys(members).length, 10);
  eocd.writeUInt32LE(cd.length, 12);
  eocd.writeUInt32LE(offset, 16);
  return Buffer.concat([...parts, cd, eocd]);
}

function safetensors(tensors: Record<string, { dtype: string; shape: number[]; data: Buffer }>): Buffer {
  const header: Record<string, unknown> = {};
  let at = 0;
  for (const [name, t] of Object.entries(tensors)) {
    header[name] = { dtype: t.dtype, shape: t.shape, data_offsets: [at, at + t.data.length] };
    at += t.data.length;
  }
  const json = Buffer.from(JSON.stringify(header));
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(json.length));
  return Buffer.concat([len, json, ...Object.values(tensors).map((t) => t.data)]);
}

const { dir, run } = cliSandbox('multilabel');
const p = (f: string) => join(dir, f);
const r = rng(2024);
const z = new Float32Array(N * C);
const t = new Uint8Array(N * C);
for (let i = 0; i < N * C; i++) {
  t[i] = r() < 0.1 + 0.15 * (i % C) ? 1 : 0;
  z[i] = (t[i] ? 1.2 : -1.2) * r() + normal(r) - 0.3;
}
t[3] = 0; // label 3 has positives; label 4 keeps its own
for (let i = 0; i < N; i++) t[i * C + 0] = 0; // label 0: no positives at all (zero_division, AUROC null)

const f32 = (a: Float32Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);
const json = (...args: string[]) => {
  const res = run(...args, '--json');
  expect(res.status, res.stderr).toBe(0);
  return JSON.parse(res.stdout);
};
/** The figures without BCE (float sums: equal only up to addition order) */
const counts = (m: Omit<MultilabelReport, 'labelNames'>) => ({ ...m, perLabel: m.perLabel.map((e) => ({ ...e, bce: 0 })), macro: { ...m.macro, bce: 0 } });

beforeAll(() => {
  writeNpyRaw(p('z.npy'), '<f4', [N, C], new Uint8Array(z.buffer));
  writeNpyRaw(p('t.npy'), '|u1', [N, C], t);
  writeNpyRaw(p('tbool.npy'), '|b1', [N, C], t);
  // shards: targets as bool, int64 and float32
  const cuts = [0, 999, 1000, N];
  const kinds = [['|b1', (a: Uint8Array) => a], ['<i8', (a: Uint8Array) => encodeNpyData('<i8', Array.from(a))], ['<f4', (a: Uint8Array) => new Uint8Array(Float32Array.from(a).buffer)]] as const;
  for (let s = 0; s < 3; s++) {
    const [a, b] = [cuts[s], cuts[s + 1]];
    writeNpyRaw(p(`z${s}.npy`), '<f4', [b - a, C], new Uint8Array(z.slice(a * C, b * C).buffer));
    writeNpyRaw(p(`t${s}.npy`), kinds[s][0], [b - a, C], kinds[s][1](t.slice(a * C, b * C)));
  }
  writeFileSync(p('run.npz'), npz({ logits: Buffer.concat([npyHeaderBytes('<f4', [N, C]), f32(z)]), labels: Buffer.concat([npyHeaderBytes('|u1', [N, C]), Buffer.from(t)]) }));
  writeFileSync(p('run.safetensors'), safetensors({ logits: { dtype: 'F32', shape: [N, C], data: f32(z) }, targets: { dtype: 'BOOL', shape: [N, C], data: Buffer.from(t) } }));
  writeFileSync(p('names.txt'), 'person\ncar\nbike\ndog\ncat\n');
  const bad = Uint8Array.from(t);
  bad[1234 * C + 2] = 2;
  writeNpyRaw(p('tbad.npy'), '|u1', [N, C], bad);
  writeNpyRaw(p('tshape.npy'), '|u1', [N, C - 1], t.subarray(0, N * (C - 1)));
  writeNpyRaw(p('z1d.npy'), '<f4', [N], new Uint8Array(z.slice(0, N).buffer));
}, 60_000);

describe('logitkit score --multilabel', () => {
  it('JSON keys multilabel.{perLabel[k].{bce, auroc, f1, precision, recall, support}, micro, macro} equal the API on the same data', async () => {
    const out = json('score', 'z.npy', '--labels', 't.npy', '--multilabel', '--backend', 'js');
    const lk = await init({ backend: 'js' });
    const api = multilabelMetrics(lk, z, t, C);
    lk.dispose();
    expect(out.rows).toBe(N);
    expect(out.labels).toBe(C);
    const m = out.multilabel;
    for (const e of m.perLabel) for (const key of ['bce', 'auroc', 'f1', 'precision', 'recall', 'support']) expect(e).toHaveProperty(key);
    expect(Object.keys(m.micro).sort()).toEqual(['auroc', 'averagePrecision', 'f1', 'precision', 'recall']);
    expect(Object.keys(m.macro).sort()).toEqual(['auroc', 'averagePrecision', 'bce', 'f1', 'precision', 'recall']);
    expect(m).toEqual(JSON.parse(JSON.stringify(api)));
    expect(m.perLabel[0]).toMatchObject({ support: 0, recall: 0, f1: 0, auroc: null });
    expect(m.zeroDivision.recall).toEqual([0]);
    expect(out.stats.format).toBe('logitkit-multilabel-stats/1');
    expect(out.fingerprint).toMatch(/^lkfp2:[0-9a-f]{32}$/);
  });

  it('targets as bool .npy, in an .npz and a .safetensors (BOOL) give the same figures; the wasm backend agrees', () => {
    const baseOut = json('score', 'z.npy', '--labels', 't.npy', '--multilabel', '--backend', 'js');
    const boolOut = json('score', 'z.npy', '--labels', 'tbool.npy', '--multilabel', '--backend', 'js');
    const base = baseOut.multilabel;
    const viaBool = boolOut.multilabel;
    // the fingerprint is of the scored data: the same targets in another dtype are the same shard
    expect(boolOut.fingerprint).toBe(baseOut.fingerprint);
    const viaNpz = json('score', 'run.npz', '--multilabel', '--backend', 'js').multilabel;
    const viaSt = json('score', 'run.safetensors', '--labels-key', 'targets', '--multilabel', '--backend', 'js').multilabel;
    expect(viaBool).toEqual(base);
    expect(viaNpz).toEqual(base);
    expect(viaSt).toEqual(base);
    const wasmOut = json('score', 'z.npy', '--labels', 't.npy', '--multilabel', '--backend', 'wasm');
    expect(wasmOut.fingerprint).toBe(baseOut.fingerprint);
    const wasm = wasmOut.multilabel;
    expect(counts(wasm)).toEqual(counts(base));
    wasm.perLabel.forEach((e: { bce: number }, k: number) => expect(Math.abs(e.bce - base.perLabel[k].bce)).toBeLessThan(1e-6));
  });

  it('shards (bool, int64 and float32 targets) scored apart and merged equal the whole run', () => {
    const whole = json('score', 'z.npy', '--labels', 't.npy', '--multilabel');
    const files = [0, 1, 2].map((s) => {
      const o = json('score', `z${s}.npy`, '--labels', `t${s}.npy`, '--multilabel');
      writeFileSync(p(`s${s}.json`), JSON.stringify(o));
      return `s${s}.json`;
    });
    const merged = json('merge', ...files);
    expect(merged.rows).toBe(N);
    expect(counts(merged.multilabel)).toEqual(counts(whole.multilabel));
    merged.multilabel.perLabel.forEach((e: { bce: number }, k: number) => expect(e.bce).toBeCloseTo(whole.multilabel.perLabel[k].bce, 12));
    expect(merged.merged).toEqual(files);
    // the same shard twice is refused by its fingerprint; a multi-label and a softmax score do not mix
    const twice = run('merge', files[0], files[1], files[0]);
    expect(twice.status).toBe(1);
    expect(twice.stderr).toMatch(/given more than once|already counted/);
    writeNpyRaw(p('y.npy'), '<i4', [N], encodeNpyData('<i4', Array.from({ length: N }, (_, i) => i % C)));
    writeFileSync(p('softmax.json'), run('score', 'z.npy', '--labels', 'y.npy', '--json', '--intervals', '0').stdout);
    const mixed = run('merge', files[0], 'softmax.json');
    expect(mixed.status).toBe(1);
    expect(mixed.stderr).toMatch(/softmax\.json: is not a --multilabel score/);
    const text = run('merge', ...files);
    expect(text.status, text.stderr).toBe(0);
    expect(text.stderr).toMatch(/merge --multilabel: 2,500 rows × 5 labels from 3 shard/);
  });

  it('--class-names names the labels in the JSON, the text and the reports (HTML and Markdown)', () => {
    const out = json('score', 'z.npy', '--labels', 't.npy', '--multilabel', '--class-names', 'names.txt');
    expect(out.classNames).toEqual(['person', 'car', 'bike', 'dog', 'cat']);
    expect(out.multilabel.perLabel[1].name).toBe('car');
    const txt = run('score', 'z.npy', '--labels', 't.npy', '--multilabel', '--class-names', 'names.txt', '--report', 'ml.html');
    expect(txt.status, txt.stderr).toBe(0);
    expect(txt.stderr).toMatch(/micro: precision/);
    expect(txt.stderr).toMatch(/macro: precision/);
    expect(txt.stderr).toMatch(/4 cat/);
    expect(txt.stderr).toMatch(/no positive rows.*label 0/);
    const html = readFileSync(p('ml.html'), 'utf8');
    expect(html).toMatch(/logitkit multi-label report/);
    expect(html).toMatch(/3 dog/);
    expect(html).toMatch(/micro AUROC/);
    expect(run('score', 'z.npy', '--labels', 't.npy', '--multilabel', '--report', 'ml.md').status).toBe(0);
    const md = readFileSync(p('ml.md'), 'utf8');
    expect(md).toMatch(/\| micro \| /);
    expect(md).toMatch(/## Per label/);
    const mergedReport = run('merge', 's0.json', 's1.json', '--report', 'mm.html');
    expect(mergedReport.status, mergedReport.stderr).toBe(0);
    expect(readFileSync(p('mm.html'), 'utf8')).toMatch(/merged multi-label report \(2 shards\)/);
  });

  it('bad targets, shapes and flags are clear errors', () => {
    const bad = run('score', 'z.npy', '--labels', 'tbad.npy', '--multilabel');
    expect(bad.status).toBe(1);
    expect(bad.stderr).toMatch(/targets must be 0 or 1; got 2 at row 1234, label 2 of .*tbad\.npy/);
    const shape = run('score', 'z.npy', '--labels', 'tshape.npy', '--multilabel');
    expect(shape.status).toBe(1);
    expect(shape.stderr).toMatch(/tshape\.npy: multi-label targets must have the logits' shape \(2500, 5\); got \(2500, 4\)/);
    const oneD = run('score', 'z1d.npy', '--labels', 't.npy', '--multilabel');
    expect(oneD.status).toBe(1);
    expect(oneD.stderr).toMatch(/needs 2-D \(rows, labels\) logits/);
    const flag = run('score', 'z.npy', '--labels', 't.npy', '--multilabel', '--temperature', '2');
    expect(flag.status).toBe(2);
    expect(flag.stderr).toMatch(/--temperature: not for --multilabel/);
    // --input probs | logprobs are scored (test/multilabel-probs.test.ts); logits are not probabilities
    expect(run('score', 'z.npy', '--labels', 't.npy', '--multilabel', '--input', 'odds').status).toBe(2);
    const notP = run('score', 'z.npy', '--labels', 't.npy', '--multilabel', '--input', 'probs');
    expect(notP.status).toBe(1);
    expect(notP.stderr).toMatch(/z\.npy: row \d+, label \d+: probability -?[\d.e-]+ is not in \[0, 1\] \(--input probs\)/);
  });
});
