/**
 * Issue 13 (hostile input) and issue 10 part 5 (unknown options): each case the issue lists, with its
 * exact inputs, as a regression test. Every case used to abort the process, corrupt a later result,
 * coerce silently or fail with an error that named neither the argument nor the file.
 */
import { spawnSync } from 'node:child_process';
import { closeSync, ftruncateSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createLogitsProcessor, eceFromConfidences, init, LogitkitError, type Engine } from '../src/index.js';
import { NpyFile, writeNpy } from '../src/io/npy.js';
import { blockBuffer, namingFile, NpyShardSource } from '../src/io/npy-source.js';
import { closest, editDistance, SAMPLE_OPTION_KEYS } from '../src/options.js';
import { MAX_BINS, MAX_CLASSES } from '../src/limits.js';
import { describeEachBackend } from './helpers/backends.js';

const root = join(import.meta.dirname, '..');
const bin = join(root, 'bin', 'logitkit.js');
const dir = mkdtempSync(join(tmpdir(), 'lk-harden-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function errorOf(f: () => unknown): LogitkitError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(LogitkitError);
    return e as LogitkitError;
  }
  throw new Error('expected a LogitkitError, got a result');
}
const codeOf = (f: () => unknown): string => errorOf(f).code;

/** A logits/labels pair for the calibration calls. */
function classifier(rows: number, classes: number): { x: Float32Array; y: Int32Array } {
  const x = new Float32Array(rows * classes);
  const y = new Int32Array(rows);
  for (let i = 0; i < x.length; i++) x[i] = Math.sin(i * 1.7) * 3;
  for (let r = 0; r < rows; r++) y[r] = (r * 7) % classes;
  return { x, y };
}

describeEachBackend('unbounded arguments are refused before anything is allocated', (lk, backend) => {
  const { x, y } = classifier(50, 10);

  it('bins: 1e8 and 2**31 are invalid_bins at once (they used to exhaust the heap and abort)', () => {
    const t0 = performance.now();
    expect(codeOf(() => lk().ece(x, 10, y, { bins: 1e8 }))).toBe('invalid_bins');
    expect(codeOf(() => lk().reliability(x, 10, y, { bins: 2 ** 31 }))).toBe('invalid_bins');
    expect(codeOf(() => eceFromConfidences(new Float32Array([0.5, 0.9]), [1, 0], { bins: 1e8 }))).toBe('invalid_bins');
    expect(performance.now() - t0).toBeLessThan(1000);
    // The bound itself is allowed.
    expect(lk().reliability(x, 10, y, { bins: MAX_BINS }).bins).toHaveLength(MAX_BINS);
    expect(codeOf(() => lk().ece(x, 10, y, { bins: MAX_BINS + 1 }))).toBe('invalid_bins');
  });

  it(`alloc(2**31) and alloc(2**40) are out_of_memory on ${backend} (the JS backend used to return 8 GiB or throw RangeError)`, () => {
    for (const n of [2 ** 31, 2 ** 40, 2 ** 53]) {
      const e = errorOf(() => lk().alloc(n));
      expect(e.code).toBe('out_of_memory');
      expect(e.argument).toBe('length');
    }
    expect(codeOf(() => lk().alloc(2 ** 31, 'int32'))).toBe('out_of_memory');
    expect(codeOf(() => lk().alloc(2 ** 32, 'uint16'))).toBe('out_of_memory');
    expect(codeOf(() => lk().alloc(1.5))).toBe('invalid_argument');
    const ok = lk().alloc(1000);
    expect(ok.array.length).toBe(1000);
    ok.free();
  });

  it('softmax of an empty array with classes = 2**53 is shape_mismatch on both backends; 2**31 − 1 is an empty result', () => {
    expect(codeOf(() => lk().softmax(new Float32Array(0), 2 ** 53))).toBe('shape_mismatch');
    expect(codeOf(() => lk().softmax(new Float32Array(0), MAX_CLASSES + 1))).toBe('shape_mismatch');
    expect(lk().softmax(new Float32Array(0), MAX_CLASSES)).toHaveLength(0);
    expect(lk().logsumexp(new Float32Array(0), MAX_CLASSES)).toHaveLength(0);
    expect(lk().crossEntropyWithGrad(new Float32Array(0), MAX_CLASSES, new Int32Array(0), { reduction: 'sum' }).grad).toHaveLength(0);
  });
});

describe('zero-copy outputs must come from alloc() (wasm)', () => {
  it('a raw view at byte 2048 is refused as out and nothing changes (it used to overwrite static data)', async () => {
    const lk = await init({ backend: 'wasm' });
    const classes = 32;
    const { x, y } = classifier(64, classes);
    const probe = () => lk.crossEntropy(x, classes, y, { reduction: 'sum' });
    const before = probe();
    const buf = lk.alloc(16);
    const memory = buf.array.buffer;
    const snapshot = new Uint8Array(memory, 0, 65536).slice();
    const raw = new Float32Array(memory, 2048, classes);
    const e = errorOf(() => lk.softmax(new Float32Array(classes).fill(1), classes, { out: raw }));
    expect(e.code).toBe('invalid_argument');
    expect(e.argument).toBe('options.out');
    expect(e.message).toMatch(/alloc\(\)/);
    // Other outputs too: the gradient, sigmoid, an in-place view past the end of a live buffer.
    expect(codeOf(() => lk.crossEntropyWithGrad(x.subarray(0, classes), classes, y.subarray(0, 1), { out: raw }))).toBe('invalid_argument');
    expect(codeOf(() => lk.sigmoid(new Float32Array(classes), { out: raw }))).toBe('invalid_argument');
    const past = new Float32Array(memory, buf.array.byteOffset + 32, 16); // half inside, half beyond the 64-byte block
    expect(codeOf(() => lk.sigmoid(new Float32Array(16), { out: past }))).toBe('invalid_argument');
    expect(new Uint8Array(memory, 0, 65536)).toEqual(snapshot);
    expect(probe()).toBe(before);
    // A view inside an alloc() block is still zero-copy.
    const inside = buf.array.subarray(4, 12);
    const r = lk.sigmoid(new Float32Array(8), { out: inside });
    expect(r.byteOffset).toBe(buf.array.byteOffset + 16);
    expect(Array.from(buf.array.subarray(4, 12))).toEqual(new Array(8).fill(0.5));
    // A freed buffer's block is no longer writable through an old view.
    const view = buf.array;
    buf.free();
    expect(codeOf(() => lk.sigmoid(new Float32Array(16), { out: view }))).toBe('invalid_argument');
    expect(probe()).toBe(before);
    expect(lk.memoryStats().inUse).toBe(0);
  });
});

describeEachBackend('no coercion where an error belongs', (lk) => {
  it("eceFromConfidences(null) and ['0.5', 'x'] are LogitkitErrors (a TypeError and 0.5 before)", () => {
    expect(codeOf(() => eceFromConfidences(null as never, []))).toBe('invalid_argument');
    expect(codeOf(() => eceFromConfidences(['0.5', 'x'] as never, [1, 0]))).toBe('invalid_confidence');
    expect(codeOf(() => eceFromConfidences([0.5], ['1'] as never))).toBe('invalid_argument');
    expect(codeOf(() => eceFromConfidences([0.5], [2]))).toBe('invalid_argument');
    expect(codeOf(() => eceFromConfidences([0.5], [1], null as never))).toBe('invalid_argument');
    expect(eceFromConfidences([0.75], [true]).ece).toBeCloseTo(0.25, 12);
  });

  it('the processor refuses input id 2**32 + 1 and 2.7 (they became tokens 1 and 2)', () => {
    const p = createLogitsProcessor(lk(), { repetitionPenalty: 2 });
    const t = () => ({ data: new Float32Array([1, 2, 3, 4]), dims: [1, 4] });
    const idOf = (ids: unknown) => errorOf(() => p([ids as number[]], t()));
    expect(idOf([2 ** 32 + 1]).code).toBe('target_out_of_range');
    expect(idOf([2.7]).code).toBe('invalid_argument');
    expect(idOf(['1']).code).toBe('invalid_argument');
    expect(idOf([BigInt(2 ** 32) + 1n]).code).toBe('target_out_of_range');
    expect(idOf([-1]).code).toBe('target_out_of_range');
    const ok = t();
    p([[1n, 3]], ok);
    expect(Array.from(ok.data)).toEqual([1, 1, 3, 2]);
  });

  it('a tensor whose dims disagree with its data is refused', () => {
    const e = errorOf(() => lk().softmax({ data: new Float32Array(6), dims: [4, 3] }, 3));
    expect(e.code).toBe('shape_mismatch');
    expect(e.message).toMatch(/describe 12 elements, but x.data has 6/);
    expect(codeOf(() => lk().argmax({ data: new Float32Array(6), dims: [2, 3.5] } as never))).toBe('shape_mismatch');
    expect(codeOf(() => lk().softmax({ data: new Float32Array(6), dims: [2, -3] }, 3))).toBe('shape_mismatch');
    const p = createLogitsProcessor(lk(), { topK: 1 });
    expect(codeOf(() => p([[0]], { data: new Float32Array(6), dims: [1, 3] }))).toBe('shape_mismatch');
    expect(lk().softmax({ data: new Float32Array(6), dims: [1, 2, 3] }, 3)).toHaveLength(6);
  });

  it('number[] input with a string or boolean entry is refused, not converted', () => {
    expect(codeOf(() => lk().softmax(['1', '2'] as never, 2))).toBe('invalid_argument');
    expect(codeOf(() => lk().sigmoid([1, true] as never))).toBe('invalid_argument');
    expect(Array.from(lk().softmax([0, 0], 2))).toEqual([0.5, 0.5]);
  });
});

describeEachBackend('one rule for null: an error everywhere, with the option’s own code', (lk) => {
  const x = new Float32Array([1, 2, 3, 4, 5, 6]);
  const t = new Int32Array([0, 2]);
  it('labelSmoothing, ignoreIndex and topK (null meant "default") and temperature (already an error)', () => {
    expect(codeOf(() => lk().crossEntropy(x, 3, t, { labelSmoothing: null as never }))).toBe('invalid_label_smoothing');
    expect(codeOf(() => lk().crossEntropy(x, 3, t, { ignoreIndex: null as never }))).toBe('invalid_argument');
    expect(codeOf(() => lk().sample(x, 3, { topK: null as never, seed: 1 }))).toBe('invalid_k');
    expect(codeOf(() => lk().softmax(x, 3, { temperature: null as never }))).toBe('invalid_temperature');
    expect(codeOf(() => lk().crossEntropy(x, 3, t, { reduction: null as never }))).toBe('invalid_reduction');
    expect(codeOf(() => lk().ece(x, 3, t, { bins: null as never }))).toBe('invalid_bins');
    expect(codeOf(() => lk().softmax(x, 3, null as never))).toBe('invalid_argument');
    expect(codeOf(() => lk().softmax(x, 3, { out: null as never }))).toBe('invalid_argument');
    expect(codeOf(() => lk().softmax(x, null as never))).toBe('shape_mismatch');
    // undefined means absent.
    expect(lk().crossEntropy(x, 3, t, { labelSmoothing: undefined, ignoreIndex: undefined })).toBe(lk().crossEntropy(x, 3, t));
  });
});

describeEachBackend('unknown option keys are errors with a suggestion', (lk) => {
  const x = new Float32Array([1, 2, 3]);
  it("softmax(x, 3, { temprature: 2 }) → did you mean 'temperature'? (it returned T = 1 probabilities)", () => {
    const e = errorOf(() => lk().softmax(x, 3, { temprature: 2 } as never));
    expect(e.code).toBe('invalid_argument');
    expect(e.argument).toBe('options.temprature');
    expect(e.message).toContain("did you mean 'temperature'?");
  });
  it('every op, sample and the processor check their keys; nothing close → no suggestion', () => {
    const y = new Int32Array([0]);
    const cases: [() => unknown, string | null][] = [
      [() => lk().logSoftmax(x, 3, { Temperature: 2 } as never), 'temperature'],
      [() => lk().logsumexp(x, 3, { outt: new Float32Array(1) } as never), 'out'],
      [() => lk().sigmoid(x, { temperature: 2 } as never), null],
      [() => lk().argmax(x, 3, { dtyp: 'float32' } as never), 'dtype'],
      [() => lk().topk(x, 3, 1, { k: 1 } as never), null],
      [() => lk().crossEntropy(x, 3, y, { label_smoothing: 0.1 } as never), 'labelSmoothing'],
      [() => lk().crossEntropy(x, 3, y, { ignore_index: 0 } as never), 'ignoreIndex'],
      [() => lk().crossEntropyWithGrad(x, 3, y, { reductoin: 'sum' } as never), 'reduction'],
      [() => lk().bceWithLogits(x, x, { posweight: x } as never), 'posWeight'],
      [() => lk().klDiv(x, x, 3, { reduce: 'sum' } as never), null],
      [() => lk().entropy(x, 3, { temperature: 1 } as never), null],
      [() => lk().perplexity(x, 3, y, { ignoreIndx: 0 } as never), 'ignoreIndex'],
      [() => lk().ece(x, 3, y, { nbins: 10 } as never), 'bins'],
      [() => lk().fitTemperature(x, 3, y, { maxx: 10 } as never), 'max'],
      [() => lk().sample(x, 3, { topk: 2 } as never), 'topK'],
      [() => lk().sample(x, 3, { top_p: 0.9 } as never), 'topP'],
      [() => lk().filterLogits(x, 3, { minp: 0.1 } as never), 'minP'],
      [() => lk().filterLogits(x, 3, { frobnicate: 1 } as never), null],
      [() => createLogitsProcessor(lk(), { tempreature: 1 } as never), 'temperature'],
      [() => createLogitsProcessor(lk(), { logprobs: true } as never), null], // a processor returns logits, not logprobs
      [() => createLogitsProcessor(lk(), { penaltyTokens: new Int32Array(1) } as never), null],
      [() => eceFromConfidences([0.5], [1], { bin: 3 } as never), 'bins'],
    ];
    for (const [f, near] of cases) {
      const e = errorOf(f);
      expect(e.code, e.message).toBe('invalid_argument');
      expect(e.message).toMatch(/is not an option here/);
      if (near === null) expect(e.message).not.toMatch(/did you mean/);
      else expect(e.message).toContain(`did you mean '${near}'?`);
    }
  });
});

describe('unknown init() options', () => {
  it("init({ thread: 2 }) → did you mean 'threads'?; { memory_limit } → 'memoryLimit'", async () => {
    await expect(init({ thread: 2 } as never)).rejects.toThrow(/did you mean 'threads'\?/);
    await expect(init({ memory_limit: 1 << 24 } as never)).rejects.toThrow(/did you mean 'memoryLimit'\?/);
    await expect(init({ backend: null } as never)).rejects.toMatchObject({ code: 'invalid_argument' });
  });
  it('the suggestion is by edit distance, with transpositions, and only when close', () => {
    expect(editDistance('temprature', 'temperature')).toBe(1);
    expect(editDistance('topk', 'topK'.toLowerCase())).toBe(0);
    expect(editDistance('tpoK', 'topK')).toBe(1);
    expect(closest('temprature', SAMPLE_OPTION_KEYS)).toBe('temperature');
    expect(closest('x', SAMPLE_OPTION_KEYS)).toBeNull();
    expect(closest('q'.repeat(10_000), SAMPLE_OPTION_KEYS)).toBeNull();
  });
});

describe('the ErrorCode list is what the API guide documents', () => {
  it('every code in ErrorCode has a row in the errors table of docs/api.md; invalid_option is gone', () => {
    const src = readFileSync(join(root, 'src', 'errors.ts'), 'utf8');
    const codes = [...src.slice(src.indexOf('export type ErrorCode'), src.indexOf(';', src.indexOf('export type ErrorCode'))).matchAll(/'([a-z_]+)'/g)].map((m) => m[1]!);
    expect(codes.length).toBeGreaterThan(10);
    expect(codes).not.toContain('invalid_option');
    const guide = readFileSync(join(root, 'docs', 'api.md'), 'utf8');
    const table = guide.slice(guide.indexOf('| code | when |'));
    for (const c of codes) expect(table, c).toMatch(new RegExp(`^\\| \`${c}\` \\|`, 'm'));
  });
});

// ------------------------------------------------------------------------------------------ files

/** An .npy file with a hand-written header dict (version 1 unless the dict needs 2). */
function npyWith(name: string, dict: string, body: Uint8Array = new Uint8Array(0), version = 1): string {
  const pre = version === 1 ? 10 : 12;
  const padded = dict + ' '.repeat((64 - ((pre + dict.length + 1) % 64)) % 64) + '\n';
  const head = Buffer.alloc(pre + padded.length);
  Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, version, 0]).copy(head);
  if (version === 1) head.writeUInt16LE(padded.length, 8);
  else head.writeUInt32LE(padded.length, 8);
  head.write(padded, pre, 'latin1');
  const path = join(dir, name);
  writeFileSync(path, Buffer.concat([head, body]));
  return path;
}

function run(...args: string[]): { code: number | null; stderr: string; stdout: string; ms: number } {
  const t0 = Date.now();
  const r = spawnSync(process.execPath, [bin, ...args], { cwd: dir, encoding: 'utf8', timeout: 30_000 });
  return { code: r.status, stderr: r.stderr, stdout: r.stdout, ms: Date.now() - t0 };
}

function npyError(path: string, role: 'logits' | 'labels' | 'any' = 'any'): string {
  try {
    NpyFile.open(path, role).close();
  } catch (e) {
    expect((e as Error).name).toBe('NpyError');
    expect((e as Error).message.startsWith(`${path}: `)).toBe(true);
    return (e as Error).message;
  }
  throw new Error('expected an NpyError');
}

describe('.npy headers and shapes are bounded', () => {
  it('a version-2 header claiming 600 MB is refused before it is read, naming the file (it took 1.25 GiB and failed unnamed)', () => {
    const path = join(dir, 'huge-header.npy');
    const head = Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 2, 0, 0, 0, 0, 0]);
    head.writeUInt32LE(600_000_000, 8);
    const fd = openSync(path, 'w');
    writeSync(fd, head);
    writeSync(fd, Buffer.from("{'descr': '<f4', 'fortran_order': False, 'shape': (1, 2), }"));
    ftruncateSync(fd, 12 + 600_000_000 + 8); // sparse: costs no disk
    closeSync(fd);
    const rss0 = process.memoryUsage().rss;
    const msg = npyError(path);
    expect(msg).toMatch(/header of 600000000 bytes \(at byte 12\) is longer than the 10000-byte limit/);
    expect(process.memoryUsage().rss - rss0).toBeLessThan(100 * 2 ** 20);
    // The explicit opt-in: a legal header padded to 20,000 bytes is refused by default and read with it.
    const long = npyWith('long-header.npy', `{'descr': '<f4', 'fortran_order': False, 'shape': (1, 2), }${' '.repeat(20_000)}`, new Uint8Array(8), 2);
    expect(npyError(long)).toMatch(/longer than the 10000-byte limit/);
    const f = NpyFile.open(long, 'any', { maxHeaderBytes: 30_000 });
    expect(f.header.shape).toEqual([1, 2]);
    f.close();
    const out = join(dir, 'long-out.npy');
    expect(run('softmax', long, '-o', out).code).toBe(1);
    const r2 = spawnSync(process.execPath, [bin, 'softmax', long, '-o', out], { encoding: 'utf8', env: { ...process.env, LOGITKIT_NPY_MAX_HEADER_BYTES: '30000' } });
    expect(r2.status, r2.stderr).toBe(0);
    const r = run('softmax', path, '-o', join(dir, 'o.npy'));
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`${path}: .npy header of 600000000 bytes`);
  });

  it('a 401-digit dimension is refused (it parsed to Infinity, and 0 × Infinity = NaN passed the size check)', () => {
    const path = npyWith('digits.npy', `{'descr': '<f4', 'fortran_order': False, 'shape': (0, ${'9'.repeat(401)}), }`);
    // The offset is in the file: 10 bytes of preamble + the 54 characters before the dimension.
    expect(npyError(path)).toMatch(/dimension 9{20}… is larger than 2\^53 at byte 64\)/);
    const r = run('softmax', path, '-o', join(dir, 'o.npy'));
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(new RegExp(`^logitkit: ${path.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}: malformed`));
    expect(r.stderr).not.toMatch(/internal error|out\//);
  });

  it('(0, 2**40): refused with the file named by softmax and score (an (0, 2**40) output file / "Invalid typed array length")', () => {
    const path = npyWith('wide.npy', `{'descr': '<f4', 'fortran_order': False, 'shape': (0, ${2 ** 40}), }`);
    const labels = join(dir, 'wide-labels.npy');
    writeNpy(labels, new Int32Array(0), [0]);
    expect(npyError(path)).toMatch(/last axis of 1099511627776 is more than the 2147483647 classes/);
    const out = join(dir, 'wide-out.npy');
    const a = run('softmax', path, '-o', out);
    expect(a.code).toBe(1);
    expect(a.stderr).toContain(path);
    expect(() => readFileSync(out)).toThrow();
    const b = run('score', path, '--labels', labels);
    expect(b.code).toBe(1);
    expect(b.stderr).toContain(path);
    expect(b.stderr).not.toMatch(/Invalid typed array length/);
  });

  it('shapes with more than 2^53 elements are refused', () => {
    const path = npyWith('product.npy', `{'descr': '<f4', 'fortran_order': False, 'shape': (${2 ** 30}, ${2 ** 30}, ${2 ** 30}), }`);
    expect(npyError(path)).toMatch(/more than 2\^53 elements/);
  });
});

describe('the CLI names the file in every input error', () => {
  const logits = join(dir, 'ok-logits.npy');
  const labels = join(dir, 'ok-labels.npy');
  writeNpy(logits, classifier(20, 4).x, [20, 4]);
  writeNpy(labels, classifier(20, 4).y, [20]);

  it('a directory: one line naming it (it was "EISDIR: illegal operation on a directory")', () => {
    const d = join(dir, 'adir.npy');
    mkdirSync(d, { recursive: true });
    for (const r of [run('score', d, '--labels', labels), run('score', logits, '--labels', d)]) {
      expect(r.code).toBe(1);
      expect(r.stderr).toBe(`logitkit: ${d}: is a directory, not an .npy, .npz or .safetensors file\n`);
    }
    const t = run('softmax', d, '-o', join(dir, 'x.npy'));
    expect(t.code).toBe(1);
    expect(t.stderr).toBe(`logitkit: ${d}: is a directory, not an .npy file\n`);
  });

  it('a FIFO is refused at once, not waited on', () => {
    const fifo = join(dir, 'pipe.npy');
    const mk = spawnSync('mkfifo', [fifo]);
    expect(mk.status, 'mkfifo').toBe(0);
    const r = run('softmax', fifo, '-o', join(dir, 'x.npy'));
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`logitkit: ${fifo}: is not a regular file (a FIFO); .npy input must be a file that can be read at byte offsets\n`);
    expect(r.ms).toBeLessThan(20_000);
    // merge reads JSON files: a FIFO or a directory is refused there too (it blocked forever on the FIFO).
    const m = run('merge', fifo, logits);
    expect(m.code).toBe(1);
    expect(m.stderr).toMatch(/pipe.npy: is not a regular file \(a FIFO\)/);
    expect(run('merge', dir).stderr).toBe(`logitkit: ${dir}: is a directory, not a JSON file\n`);
  });

  it('zero rows: score and calibrate fail with one line (they printed null figures with exit 0)', () => {
    const empty = join(dir, 'empty-logits.npy');
    const emptyLabels = join(dir, 'empty-labels.npy');
    writeNpy(empty, new Float32Array(0), [0, 4]);
    writeNpy(emptyLabels, new Int32Array(0), [0]);
    for (const cmd of ['score', 'calibrate']) {
      const r = run(cmd, empty, '--labels', emptyLabels);
      expect(r.code).toBe(1);
      expect(r.stderr).toBe(`logitkit: ${empty}: has 0 rows (shape (0, 4)): there is nothing to compute\n`);
    }
    // A transform of an empty array is an empty array.
    const out = join(dir, 'empty-out.npy');
    expect(run('softmax', empty, '-o', out).code).toBe(0);
    expect(NpyFile.open(out).header.shape).toEqual([0, 4]);
  });

  it('zero classes: one line naming the file in transforms too', () => {
    const zero = join(dir, 'zero-classes.npy');
    writeNpy(zero, new Float32Array(0), [5, 0]);
    for (const t of ['softmax', 'logsumexp', 'argmax', 'topk']) {
      const r = run(t, zero, '-o', join(dir, 'z.npy'), ...(t === 'topk' ? ['--k', '0'] : []));
      expect(r.code, r.stderr).toBe(1);
      expect(r.stderr).toBe(`logitkit: ${zero}: has 0 classes (shape (5, 0)): ${t} needs at least one per row\n`);
    }
    const s = run('score', zero, '--labels', labels);
    expect(s.code).toBe(1);
    expect(s.stderr).toContain(zero);
  });

  it('--bins 100000000 is a usage error at once (it allocated until V8 aborted)', () => {
    const r = run('score', logits, '--labels', labels, '--bins', '100000000');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--bins 100000000: expected an integer from 1 to 1000000/);
    expect(run('calibrate', logits, '--labels', labels, '--bins', '1000001').code).toBe(2);
  });

  it('engine errors while processing a file (e.g. out_of_memory for one huge row) name the file', () => {
    const oom = new LogitkitError('out_of_memory', 'this call needs 2.00 GiB of wasm memory');
    expect((namingFile(oom, '/data/big.npy') as Error).message).toBe('/data/big.npy: out_of_memory: this call needs 2.00 GiB of wasm memory');
    const named = new LogitkitError('target_out_of_range', 'label 9 at row 3 of /data/y.npy');
    expect(namingFile(named, '/data/x.npy', ['/data/x.npy', '/data/y.npy'])).toBe(named);
    expect(() => blockBuffer(2 ** 40, '/data/big.npy')).toThrow(/^\/data\/big.npy: a block of 1099511627776 float32 values/);
  });

  it('a source with only empty shards names the first', () => {
    const empty = join(dir, 'empty2.npy');
    writeNpy(empty, new Float32Array(0), [0, 3]);
    expect(() => new NpyShardSource([{ logits: empty }, { logits: empty }])).toThrow(/empty2.npy: and the other 1 shard\(s\) have 0 rows/);
  });
});

describe('engines stay usable after every refusal', () => {
  it('probe bits and memoryStats().inUse are unchanged after each case above', async () => {
    const lk: Engine = await init({ backend: 'wasm' });
    const { x, y } = classifier(40, 7);
    const probe = () => new Uint32Array(lk.logSoftmax(x, 7, { temperature: 0.7 }).buffer).slice();
    const bits = probe();
    const base = lk.memoryStats().inUse;
    const bad: (() => unknown)[] = [
      () => lk.ece(x, 7, y, { bins: 1e8 }),
      () => lk.alloc(2 ** 40),
      () => lk.softmax(new Float32Array(0), 2 ** 53),
      () => lk.softmax({ data: x, dims: [41, 7] }, 7),
      () => lk.softmax(x, 7, { temprature: 2 } as never),
      () => lk.crossEntropy(x, 7, y, { labelSmoothing: null as never }),
      () => lk.softmax(x, 7, { out: new Float32Array(lk.alloc(1).array.buffer, 2048, x.length) }),
    ];
    for (const f of bad) {
      expect(() => f()).toThrow(LogitkitError);
      expect(probe()).toEqual(bits);
    }
    // The one leaked alloc(1) above is the caller's; nothing else is held.
    expect(lk.memoryStats().inUse - base).toBe(16);
  });
});

describe('init() refuses hostile option values with a LogitkitError', () => {
  it('bigint, symbol, NaN and string values', async () => {
    for (const o of [{ threads: 1n }, { threads: Symbol('t') }, { backend: 1n }, { memoryLimit: NaN }, { memoryLimit: '1e9' }, { threads: 2.5 }, [], 'js']) {
      await expect(init(o as never), String(Object.keys(o))).rejects.toBeInstanceOf(LogitkitError);
    }
  });
});
