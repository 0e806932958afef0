// The CLI's default of threads 'auto' for large inputs (issue 12.5): with the size threshold lowered,
// score, calibrate, score --multilabel and the transforms run on every core by default and write
// byte-for-byte what --threads 1 writes; below the threshold they stay on one thread.
import { availableParallelism } from 'node:os';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeNpyData, writeNpyRaw } from '../src/io/npy.js';
import { cliSandbox } from './helpers/cli.js';
import { normal, rng } from './helpers/random.js';

const { dir, run } = cliSandbox('threads-auto');
const N = 20011; // not a multiple of any grain
const C = 12; // keeps the score JSON under the 1 MiB of stdout spawnSync keeps
const cores = availableParallelism();

beforeAll(() => {
  const r = rng(12);
  const x = new Float32Array(N * C);
  for (let i = 0; i < x.length; i++) x[i] = 3 * normal(r);
  x[5] = NaN;
  x[9 * C + 3] = -Infinity;
  for (let j = 0; j < C; j++) x[100 * C + j] = -Infinity; // an all −inf row
  const y = Int32Array.from({ length: N }, () => Math.floor(r() * C));
  const t = Uint8Array.from({ length: N * C }, () => (r() < 0.3 ? 1 : 0));
  writeNpyRaw(join(dir, 'x.npy'), '<f4', [N, C], new Uint8Array(x.buffer));
  // temperature fitting needs finite logits
  writeNpyRaw(join(dir, 'xf.npy'), '<f4', [N, C], new Uint8Array(x.map((v) => (Number.isFinite(v) ? v : 0)).buffer));
  writeNpyRaw(join(dir, 'y.npy'), '<i4', [N], encodeNpyData('<i4', Array.from(y)));
  writeNpyRaw(join(dir, 't.npy'), '|u1', [N, C], t);
  // shards whose blocks grow (3 rows, then the rest): the next block is read while a kernel still reads
  // this one's engine buffers, so a larger one goes to a plain array (ScoreAccumulator.blockTarget)
  const cut = 3;
  writeNpyRaw(join(dir, 'xa.npy'), '<f4', [cut, C], new Uint8Array(x.buffer, 0, cut * C * 4));
  writeNpyRaw(join(dir, 'xb.npy'), '<f4', [N - cut, C], new Uint8Array(x.buffer, cut * C * 4));
  writeNpyRaw(join(dir, 'ya.npy'), '<i4', [cut], encodeNpyData('<i4', Array.from(y.subarray(0, cut))));
  writeNpyRaw(join(dir, 'yb.npy'), '<i4', [N - cut], encodeNpyData('<i4', Array.from(y.subarray(cut))));
  process.env.LOGITKIT_AUTO_THREADS_MIN_BYTES = '0'; // every input is "large"
});
afterAll(() => {
  delete process.env.LOGITKIT_AUTO_THREADS_MIN_BYTES;
});

function both(args: string[]): { one: string; auto: string; autoErr: string } {
  const a = run(...args, '--threads', '1', '--debug');
  const b = run(...args, '--debug');
  expect(a.status, a.stderr).toBe(0);
  expect(b.status, b.stderr).toBe(0);
  expect(a.stderr).toMatch(/1 thread\b/);
  return { one: a.stdout, auto: b.stdout, autoErr: b.stderr };
}

describe('threads auto by default for large inputs, bit-identical to --threads 1', () => {
  it.each([
    // (small --intervals: spawnSync keeps at most 1 MiB of stdout)
    ['score', ['score', 'x.npy', '--labels', 'y.npy', '--json', '--intervals', '20']],
    ['score --fit-temperature', ['score', 'xf.npy', '--labels', 'y.npy', '--json', '--fit-temperature', '--intervals', '20']],
    ['calibrate', ['calibrate', 'xf.npy', '--labels', 'y.npy', '--json']],
    ['score --multilabel', ['score', 'x.npy', '--labels', 't.npy', '--multilabel', '--json']],
  ])('%s: the JSON is byte-for-byte the same', (_name, args) => {
    const { one, auto, autoErr } = both(args);
    expect(auto).toBe(one);
    if (cores > 1) expect(autoErr).toMatch(new RegExp(`${cores} threads`));
  });

  it('score of shards whose blocks grow: the same JSON on any thread count, the same figures as one file', () => {
    const { one, auto } = both(['score', 'xa.npy', 'xb.npy', '--labels', 'ya.npy', '--labels', 'yb.npy', '--json', '--intervals', '20']);
    expect(auto).toBe(one);
    const whole = run('score', 'x.npy', '--labels', 'y.npy', '--json', '--intervals', '20');
    expect(whole.status, whole.stderr).toBe(0);
    const a = JSON.parse(one);
    const b = JSON.parse(whole.stdout);
    // (intervals are keyed by shard and row, so shards have their own)
    for (const k of ['rows', 'nll', 'accuracy', 'ece', 'brier', 'auroc', 'classification', 'selective']) expect(a[k], k).toEqual(b[k]);
  });

  it.each([
    ['softmax', []],
    ['logsumexp', []],
    ['sigmoid', []],
    ['argmax', []],
    ['topk', ['--k', '3', '--values', 'v.npy']],
  ])('%s: the output file is byte-for-byte the same', (op, extra) => {
    const a = run(op, 'x.npy', '-o', `${op}-1.npy`, '--threads', '1', ...extra.map((e) => e.replace('v.npy', `${op}-v1.npy`)));
    const b = run(op, 'x.npy', '-o', `${op}-auto.npy`, ...extra.map((e) => e.replace('v.npy', `${op}-vauto.npy`)), '--debug');
    expect(a.status, a.stderr).toBe(0);
    expect(b.status, b.stderr).toBe(0);
    if (cores > 1) expect(b.stderr).toMatch(new RegExp(`${cores} thread`));
    expect(readFileSync(join(dir, `${op}-auto.npy`)).equals(readFileSync(join(dir, `${op}-1.npy`)))).toBe(true);
    if (op === 'topk') expect(readFileSync(join(dir, 'topk-vauto.npy')).equals(readFileSync(join(dir, 'topk-v1.npy')))).toBe(true);
  });

  it('below the threshold, and with --backend js, the default stays one thread', () => {
    process.env.LOGITKIT_AUTO_THREADS_MIN_BYTES = String(N * C * 4 + 1);
    try {
      const small = run('score', 'x.npy', '--labels', 'y.npy', '--json', '--debug', '--intervals', '0');
      expect(small.status, small.stderr).toBe(0);
      expect(small.stderr).toMatch(/1 thread\b/);
    } finally {
      process.env.LOGITKIT_AUTO_THREADS_MIN_BYTES = '0';
    }
    const js = run('score', 'x.npy', '--labels', 'y.npy', '--json', '--debug', '--backend', 'js', '--intervals', '0');
    expect(js.status, js.stderr).toBe(0);
    expect(js.stderr).not.toMatch(/warning|runs on one thread/);
  });
});
