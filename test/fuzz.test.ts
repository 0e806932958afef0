/**
 * The fuzz suite (issue 13): seeded, property-based, over the .npy reader, every op's argument space
 * and the CLI's arguments. Each case must end in a correct result or a LogitkitError (NpyError for
 * the file reader, an exit code for the CLI) with a documented code: never another exception type,
 * a crash, a hang or an allocation beyond the limit. After every error a fixed probe call returns the
 * same bits and memoryStats().inUse is back at its baseline, and both backends answer alike.
 *
 * `npm test` runs a few hundred cases per property (seconds); `npm run fuzz` runs many more:
 *   LOGITKIT_FUZZ_RUNS=20000 LOGITKIT_FUZZ_SEED=7 npm run fuzz   (or: npm run fuzz -- --runs 20000 --seed 7)
 * A failure prints its seed and path; re-run with them to reproduce it.
 */
import { closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogitsProcessor, eceFromConfidences, init, LogitkitError, type Engine, type LkBuffer } from '../src/index.js';
import { encodeNpyData, npyHeaderBytes, NpyFile, writeNpy } from '../src/io/npy.js';
import { main } from '../src/cli/main.js';
import * as K from '../src/options.js';

const RUNS = Number(process.env.LOGITKIT_FUZZ_RUNS ?? 300);
const SEED = Number(process.env.LOGITKIT_FUZZ_SEED ?? 13);
/** Wall time one case may take before it counts as a hang (generous: two shared cores). */
const CASE_MS = Number(process.env.LOGITKIT_FUZZ_CASE_MS ?? 5000);
/** Engines are capped so that an allocation within the limit is still small for a test machine. */
const MEMORY_LIMIT = 64 << 20;
const RSS_HEADROOM = 768 << 20;
const params = (runs: number): fc.Parameters<unknown> => ({ seed: SEED, numRuns: runs, endOnFailure: true });

const root = join(import.meta.dirname, '..');
const DOCUMENTED: ReadonlySet<string> = (() => {
  const src = readFileSync(join(root, 'src', 'errors.ts'), 'utf8');
  const start = src.indexOf('export type ErrorCode');
  // the errors table of the API guide (docs/api.md) is where a code is documented
  const guide = readFileSync(join(root, 'docs', 'api.md'), 'utf8');
  const table = guide.slice(guide.indexOf('| code | when |'));
  const codes = [...src.slice(start, src.indexOf(';', start)).matchAll(/'([a-z_]+)'/g)].map((m) => m[1]!);
  return new Set(codes.filter((c) => table.includes(`| \`${c}\` |`)));
})();

const dir = mkdtempSync(join(tmpdir(), 'lk-fuzz-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** mulberry32: each case derives its values from one seed fast-check hands it. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function timed<T>(what: string, f: () => T): T {
  const t0 = performance.now();
  try {
    return f();
  } finally {
    const ms = performance.now() - t0;
    if (ms > CASE_MS) throw new Error(`${what} took ${ms.toFixed(0)} ms (a hang?)`);
  }
}

// ------------------------------------------------------------------------------------ the ops

/** A value as the fuzzer describes it; `{ buf }` is resolved to one of each engine's own alloc() buffers. */
type V = unknown;
interface BufRef {
  buf: number;
}
const isBufRef = (v: unknown): v is BufRef => typeof v === 'object' && v !== null && 'buf' in v && Object.keys(v).length === 1;

const SPECIAL = [NaN, Infinity, -Infinity, -0, 0, 1, -1, 0.5, 2, 3, 1e-45, 3.4e38, 2 ** 31, 2 ** 32 + 1, 2 ** 53, 1e308, -7, 2.7, 1e6, 1e6 + 1];

/** Hostile values of every kind, and plausible ones, drawn from `r`. */
function hostile(r: () => number, depth = 0): V {
  const pick = <T,>(a: readonly T[]): T => a[Math.floor(r() * a.length)]!;
  const k = Math.floor(r() * 16);
  switch (k) {
    case 0:
    case 1:
    case 2:
      return pick(SPECIAL);
    case 3:
      return Math.floor(r() * 10) - 2;
    case 4:
      return pick(['', '1', '0.5', 'x', 'mean', 'sum', 'none', 'batchmean', 'float16', 'bfloat16', 'float32', 'auto', 'wasm', 'js']);
    case 5:
      return pick([null, undefined, true, false, 1n, 2n ** 40n, Symbol.for('s')]);
    case 6:
      return pick([{}, [], () => 0.5, () => 'x', () => 1, () => NaN, new Date(0), new Map()]);
    case 7:
      return Float32Array.from({ length: Math.floor(r() * 13) }, () => (r() < 0.1 ? pick(SPECIAL) : (r() - 0.5) * 8));
    case 8:
      return Int32Array.from({ length: Math.floor(r() * 7) }, () => Math.floor(r() * 8) - 2);
    case 9:
      return pick([new Float64Array([1, 2, 3]), new Uint16Array([0x3c00, 0x4000, 0x7e00]), new Uint8Array(3), Array.from({ length: 6 }, () => r()), ['1', 2, 3], [1, 2, null]]);
    case 10:
      return { buf: Math.floor(r() * 4) };
    case 11:
      if (depth > 1) return 1;
      return { data: hostile(r, depth + 1), dims: r() < 0.7 ? [Math.floor(r() * 3), Math.floor(r() * 5)] : [hostile(r, depth + 1)], ...(r() < 0.3 ? { type: pick(['float16', 'bfloat16', 'float32', 'x']) } : {}) };
    case 12:
      return [Int32Array.from([0, 1]), Int32Array.from([2])];
    default:
      return (r() - 0.5) * 10;
  }
}

const SAMPLE_KEYS = K.SAMPLE_OPTION_KEYS;
interface OpSpec {
  keys: readonly string[];
  /** Positional arguments after x (classes, targets…) for a plausible call of shape rows × classes. */
  args(r: () => number, rows: number, classes: number): V[];
  call(lk: Engine, a: V[]): unknown;
}
const labelsOf = (r: () => number, rows: number, classes: number) => Int32Array.from({ length: rows }, () => Math.floor(r() * classes));
const OPS: Record<string, OpSpec> = {
  softmax: { keys: K.ROW_OP_KEYS, args: (_, __, c) => [c], call: (lk, a) => lk.softmax(a[0] as never, a[1] as never, a[2] as never) },
  logSoftmax: { keys: K.ROW_OP_KEYS, args: (_, __, c) => [c], call: (lk, a) => lk.logSoftmax(a[0] as never, a[1] as never, a[2] as never) },
  logsumexp: { keys: K.ROW_OP_KEYS, args: (_, __, c) => [c], call: (lk, a) => lk.logsumexp(a[0] as never, a[1] as never, a[2] as never) },
  sigmoid: { keys: K.ELEMENTWISE_KEYS, args: () => [], call: (lk, a) => lk.sigmoid(a[0] as never, a[1] as never) },
  logSigmoid: { keys: K.ELEMENTWISE_KEYS, args: () => [], call: (lk, a) => lk.logSigmoid(a[0] as never, a[1] as never) },
  argmax: { keys: K.DTYPE_KEYS, args: (_, __, c) => [c], call: (lk, a) => lk.argmax(a[0] as never, a[1] as never, a[2] as never) },
  topk: { keys: K.DTYPE_KEYS, args: (r, _, c) => [c, Math.floor(r() * (c + 2))], call: (lk, a) => lk.topk(a[0] as never, a[1] as never, a[2] as never, a[3] as never) },
  crossEntropy: {
    keys: K.CROSS_ENTROPY_KEYS,
    args: (r, rows, c) => [c, r() < 0.8 ? labelsOf(r, rows, c) : new Float32Array(rows * c).fill(1 / c)],
    call: (lk, a) => lk.crossEntropy(a[0] as never, a[1] as never, a[2] as never, a[3] as never),
  },
  crossEntropyWithGrad: {
    keys: K.CROSS_ENTROPY_GRAD_KEYS,
    args: (r, rows, c) => [c, labelsOf(r, rows, c)],
    call: (lk, a) => lk.crossEntropyWithGrad(a[0] as never, a[1] as never, a[2] as never, a[3] as never),
  },
  bceWithLogits: { keys: K.BCE_KEYS, args: (r, rows, c) => [Float32Array.from({ length: rows * c }, () => r())], call: (lk, a) => lk.bceWithLogits(a[0] as never, a[1] as never, a[2] as never) },
  entropy: { keys: K.DTYPE_KEYS, args: (_, __, c) => [c], call: (lk, a) => lk.entropy(a[0] as never, a[1] as never, a[2] as never) },
  klDiv: { keys: K.KL_DIV_KEYS, args: (r, rows, c) => [Float32Array.from({ length: rows * c }, () => r() * 4), c], call: (lk, a) => lk.klDiv(a[0] as never, a[1] as never, a[2] as never, a[3] as never) },
  perplexity: { keys: K.PERPLEXITY_KEYS, args: (r, rows, c) => [c, labelsOf(r, rows, c)], call: (lk, a) => lk.perplexity(a[0] as never, a[1] as never, a[2] as never, a[3] as never) },
  ece: { keys: K.CALIBRATION_BINS_KEYS, args: (r, rows, c) => [c, labelsOf(r, rows, c)], call: (lk, a) => lk.ece(a[0] as never, a[1] as never, a[2] as never, a[3] as never) },
  reliability: { keys: K.CALIBRATION_BINS_KEYS, args: (r, rows, c) => [c, labelsOf(r, rows, c)], call: (lk, a) => lk.reliability(a[0] as never, a[1] as never, a[2] as never, a[3] as never) },
  fitTemperature: { keys: K.FIT_TEMPERATURE_KEYS, args: (r, rows, c) => [c, labelsOf(r, rows, c)], call: (lk, a) => lk.fitTemperature(a[0] as never, a[1] as never, a[2] as never, a[3] as never) },
  filterLogits: { keys: SAMPLE_KEYS, args: (_, __, c) => [c], call: (lk, a) => lk.filterLogits(a[0] as never, a[1] as never, a[2] as never) },
  sample: { keys: SAMPLE_KEYS, args: (_, __, c) => [c], call: (lk, a) => lk.sample(a[0] as never, a[1] as never, a[2] as never) },
  alloc: { keys: [], args: (r) => [r() < 0.5 ? 'float32' : hostile(r)], call: (lk, a) => lk.alloc(a[0] as never, a[1] as never).free() },
  adjustLogits: { keys: K.ADJUST_KEYS, args: (_, __, c) => [c], call: (lk, a) => lk.adjustLogits(a[0] as never, a[1] as never, a[2] as never) },
  applyCalibration: {
    keys: K.APPLY_CALIBRATION_KEYS,
    args: (r, _, c) => [c, r() < 0.7 ? { method: 'bcts', classes: c, temperature: 1.5, bias: new Float32Array(c).fill(0.1) } : hostile(r)],
    call: (lk, a) => lk.applyCalibration(a[0] as never, a[1] as never, a[2] as never, a[3] as never),
  },
  fitCalibration: {
    keys: K.FIT_CALIBRATION_KEYS,
    args: (r, rows, c) => [c, labelsOf(r, rows, c)],
    call: (lk, a) => lk.fitCalibration(a[0] as never, a[1] as never, a[2] as never, a[3] as never),
  },
  estimateLabelShift: {
    keys: K.LABEL_SHIFT_KEYS,
    args: (r, rows, c) => [c, labelsOf(r, rows, c), Float32Array.from({ length: 2 * c }, () => r() * 4)],
    call: (lk, a) => lk.estimateLabelShift(a[0] as never, a[1] as never, a[2] as never, a[3] as never, a[4] as never),
  },
  contextualBias: { keys: K.DTYPE_KEYS, args: (_, __, c) => [c], call: (lk, a) => lk.contextualBias(a[0] as never, a[1] as never, a[2] as never) },
  applyTokenBitmask: {
    keys: K.TOKEN_BITMASK_KEYS,
    args: (r, _, c) => [c, Int32Array.from({ length: Math.ceil(c / 32) }, () => (r() < 0.8 ? -1 : Math.floor(r() * 2 ** 31)))],
    call: (lk, a) => lk.applyTokenBitmask(a[0] as never, a[1] as never, a[2] as never, a[3] as never),
  },
  verifyDraft: {
    keys: SAMPLE_KEYS,
    args: (r, rows, c) => [Float32Array.from({ length: Math.max(rows - 1, 0) * c }, () => r() * 4), c, labelsOf(r, Math.max(rows - 1, 0), c)],
    call: (lk, a) => lk.verifyDraft(a[0] as never, a[1] as never, a[2] as never, a[3] as never, a[4] as never),
  },
  toHalfBits: { keys: K.ELEMENTWISE_KEYS, args: (r) => [r() < 0.5 ? 'float16' : 'bfloat16'], call: (lk, a) => lk.toHalfBits(a[0] as never, a[1] as never, a[2] as never) },
  eceFromConfidences: {
    keys: K.BINS_KEYS,
    args: (r, rows) => [Array.from({ length: rows }, () => (r() < 0.5 ? 1 : 0))],
    call: (_, a) => eceFromConfidences(a[0] as never, a[1] as never, a[2] as never),
  },
  processor: {
    keys: K.SAMPLE_OPTION_KEYS.filter((k) => !(K.PROCESSOR_EXCLUDED_KEYS as readonly string[]).includes(k)),
    args: (r, rows, c) => [c, Array.from({ length: Math.max(rows, 1) }, () => Array.from({ length: 2 }, () => Math.floor(r() * c)))],
    call: (lk, a) => {
      // x, classes, ids, options: the tensor is [rows, classes] over x.
      const x = a[0] as Float32Array;
      const c = a[1] as number;
      const tensor = x instanceof Float32Array && typeof c === 'number' && c > 0 ? { data: x.slice(), dims: [Math.floor(x.length / c), c] } : { data: a[0], dims: [a[1]] };
      return createLogitsProcessor(lk, a[3] as never)(a[2] as never, tensor as never);
    },
  },
};
const OP_NAMES = Object.keys(OPS);

/** One fuzz case: an op and its arguments, mostly plausible with one or more hostile parts. */
function makeCase(seed: number): { op: string; args: V[] } {
  const r = rng(seed);
  const op = OP_NAMES[Math.floor(r() * OP_NAMES.length)]!;
  const spec = OPS[op]!;
  const rows = Math.floor(r() * 5);
  const classes = 1 + Math.floor(r() * 6);
  const x = op === 'alloc' ? Math.floor(r() * 64) : op === 'eceFromConfidences' ? Array.from({ length: rows }, () => r()) : Float32Array.from({ length: rows * classes }, () => (r() < 0.1 ? SPECIAL[Math.floor(r() * 4)]! : (r() - 0.5) * 10));
  const args: V[] = [x, ...spec.args(r, rows, classes)];
  // Options: plausible values for known keys, a typo now and then, hostile values sometimes.
  const options: Record<string, V> = {};
  for (const key of spec.keys) if (r() < 0.3) options[key] = plausible(key, r, rows, classes);
  if (r() < 0.1) options[`${spec.keys[0] ?? 'x'}x`] = 1;
  if (r() < 0.25 && spec.keys.length > 0) options[spec.keys[Math.floor(r() * spec.keys.length)]!] = hostile(r);
  const optIndex = op === 'alloc' ? -1 : args.length;
  if (optIndex >= 0 && (r() < 0.8 || Object.keys(options).length > 0)) args.push(r() < 0.05 ? hostile(r) : options);
  // Replace a positional argument (never all of them) with a hostile value.
  const hits = r() < 0.5 ? 0 : 1 + Math.floor(r() * 2);
  for (let h = 0; h < hits; h++) {
    const i = Math.floor(r() * args.length);
    if (i !== optIndex) args[i] = hostile(r);
  }
  return { op, args };
}

function plausible(key: string, r: () => number, rows: number, classes: number): V {
  const pick = <T,>(a: readonly T[]): T => a[Math.floor(r() * a.length)]!;
  switch (key) {
    case 'temperature':
      return pick([0, 0.5, 1, 2, 1e-3, 100]);
    case 'out':
      return r() < 0.5 ? new Float32Array(rows * classes) : { buf: Math.floor(r() * 4) };
    case 'dtype':
      return pick(['float32', 'float16', 'bfloat16']);
    case 'reduction':
      return pick(['none', 'sum', 'mean', 'batchmean']);
    case 'ignoreIndex':
      return pick([-100, 0, 1, -1]);
    case 'weight':
    case 'posWeight':
      return Float32Array.from({ length: pick([classes, rows * classes, 1]) }, () => r() * 2);
    case 'labelSmoothing':
      return pick([0, 0.1, 1, 0.5]);
    case 'classes':
      return pick([classes, 1, classes + 1]);
    case 'bins':
      return pick([1, 10, 15, 100, 1000]);
    case 'min':
      return pick([0.01, 0.5, 1]);
    case 'max':
      return pick([1, 10, 100]);
    case 'topK':
      return Math.floor(r() * (classes + 2));
    case 'topP':
    case 'minP':
    case 'typicalP':
      return pick([0.1, 0.5, 0.9, 1, 0]);
    case 'repetitionPenalty':
      return pick([1, 1.2, 0.8, 2]);
    case 'penaltyTokens':
      return r() < 0.5 ? Int32Array.from([0, classes - 1]) : Array.from({ length: rows }, () => Int32Array.from([0]));
    case 'minTokensToKeep':
      return pick([1, 2, classes]);
    case 'seed':
      return pick([0, 1, 42, 2 ** 40]);
    case 'random':
      return () => 0.25;
    case 'scale':
    case 'bias':
      return Float32Array.from({ length: pick([classes, classes + 1]) }, () => r() * 2);
    case 'matrix':
      return Float32Array.from({ length: pick([classes * classes, classes]) }, () => r() - 0.5);
    case 'method':
      return pick(['temperature', 'bcts', 'vector', 'matrix', 'em', 'bbse', 'x']);
    case 'maxIterations':
      return pick([1, 5, 50]);
    default:
      return hostile(r);
  }
}

function describeCase(c: { op: string; args: V[] }): string {
  const show = (v: V): string => {
    if (ArrayBuffer.isView(v)) return `${v.constructor.name}[${Array.from(v as unknown as ArrayLike<number>).slice(0, 8).join(',')}${(v as unknown as ArrayLike<number>).length > 8 ? ',…' : ''}]`;
    if (typeof v === 'bigint') return `${v}n`;
    if (typeof v === 'function') return `fn`;
    if (typeof v === 'symbol') return String(v);
    if (Array.isArray(v)) return `[${v.map(show).join(',')}]`;
    if (typeof v === 'object' && v !== null) return `{${Object.entries(v).map(([k, x]) => `${k}:${show(x)}`).join(',')}}`;
    return String(v);
  };
  return `${c.op}(${c.args.map(show).join(', ')})`;
}

type Outcome = { ok: true } | { ok: false; code: string };

describe('fuzz: every op, on both backends', () => {
  let engines: { lk: Engine; bufs: LkBuffer<'float32'>[]; probe: () => Uint32Array; bits: Uint32Array; inUse: number }[];
  beforeAll(async () => {
    engines = [];
    for (const backend of ['wasm', 'js'] as const) {
      const lk = await init({ backend, memoryLimit: MEMORY_LIMIT, warmup: false });
      expect(lk.backend).toBe(backend);
      const bufs = [6, 12, 30, 64].map((n) => lk.alloc(n));
      const px = Float32Array.from({ length: 60 }, (_, i) => Math.cos(i * 0.37) * 5);
      const py = Int32Array.from({ length: 6 }, (_, i) => (i * 3) % 10);
      const probe = () => {
        const a = new Uint32Array(lk.logSoftmax(px, 10, { temperature: 0.9 }).buffer);
        const b = new Uint32Array(new Float32Array([lk.crossEntropy(px, 10, py)]).buffer);
        return Uint32Array.from([...a, ...b, ...lk.topk(px, 10, 3).indices]);
      };
      engines.push({ lk, bufs, probe, bits: probe(), inUse: lk.memoryStats().inUse });
    }
  });

  function outcome(e: (typeof engines)[number], c: { op: string; args: V[] }): Outcome {
    // Buffers stay the engine's own: `{ buf }` becomes that engine's buffer, or a view of it.
    const resolve = (v: V, depth = 0): V => {
      if (isBufRef(v)) return e.bufs[v.buf]!;
      if (depth < 2 && typeof v === 'object' && v !== null && !ArrayBuffer.isView(v) && !Array.isArray(v) && Object.getPrototypeOf(v) === Object.prototype) {
        const o: Record<string, V> = {};
        for (const [k, x] of Object.entries(v)) o[k] = resolve(x, depth + 1);
        return o;
      }
      return v;
    };
    const args = c.args.map((v) => resolve(v));
    try {
      timed(describeCase(c), () => OPS[c.op]!.call(e.lk, args));
      return { ok: true };
    } catch (err) {
      if (!(err instanceof LogitkitError)) throw new Error(`${e.lk.backend}: ${describeCase(c)} threw ${(err as Error)?.name}: ${(err as Error)?.message}`);
      if (!DOCUMENTED.has(err.code)) throw new Error(`${e.lk.backend}: undocumented code ${err.code}`);
      return { ok: false, code: err.code };
    }
  }

  it(`${RUNS * 4} random calls: a result or a documented LogitkitError, the same on both backends; the engine is unchanged after`, () => {
    const rss0 = process.memoryUsage().rss;
    let errors = 0;
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 31 - 1 }), (seed) => {
        const c = makeCase(seed);
        const results = engines.map((e) => outcome(e, c));
        for (const e of engines) {
          expect(e.probe(), `${e.lk.backend} probe after ${describeCase(c)}`).toEqual(e.bits);
          expect(e.lk.memoryStats().inUse, `${e.lk.backend} inUse after ${describeCase(c)}`).toBe(e.inUse);
          for (const b of e.bufs) expect(b.freed).toBe(false);
        }
        expect(results[1], `js vs wasm for ${describeCase(c)}`).toEqual(results[0]);
        if (!results[0]!.ok) errors++;
      }),
      params(RUNS * 4),
    );
    // The generator must reach both outcomes often, or it tests nothing.
    expect(errors).toBeGreaterThan(RUNS * 0.4);
    expect(errors).toBeLessThan(RUNS * 3.6);
    expect(process.memoryUsage().rss - rss0).toBeLessThan(RSS_HEADROOM);
  });
});

// ------------------------------------------------------------------------------------ .npy files

const DESCRS = ['<f4', '>f4', '<f8', '>f8', '<f2', '>f2', '<i4', '>i4', '<i8', '|u1', '<u2', '|i1', '<u4', '<c8', 'O', '<f16', '<U3', '=f4', '|f4', '<f'];

/** A header dict: mostly what numpy writes, sometimes subtly or wildly wrong. */
function headerDict(r: () => number): string {
  const pick = <T,>(a: readonly T[]): T => a[Math.floor(r() * a.length)]!;
  const dim = (): string =>
    pick(['0', '1', '2', '3', '7', '10', String(2 ** 31), String(2 ** 40), String(2 ** 53), String(2 ** 53 + 2), '9'.repeat(1 + Math.floor(r() * 400)), '-1', '1.5', '3L', 'x', '']);
  const n = Math.floor(r() * 4);
  const shape = `(${Array.from({ length: n }, dim).join(', ')}${n === 1 ? ',' : ''})`;
  const parts = [`'descr': '${pick(DESCRS)}'`, `'fortran_order': ${pick(['False', 'True', 'false', '0'])}`, `'shape': ${r() < 0.1 ? `[${dim()}]` : shape}`];
  if (r() < 0.1) parts.push(`'extra': ${pick(['1', "'x'", '(1,)'])}`);
  if (r() < 0.2) parts.splice(Math.floor(r() * parts.length), 1);
  if (r() < 0.2) parts.reverse();
  let d = `{${parts.join(', ')}, }`;
  if (r() < 0.1) d = d.slice(0, Math.floor(r() * d.length));
  if (r() < 0.05) d = d.replace(/'/g, '"');
  return d;
}

/** A whole file: a good one, then mutated (flipped bytes, cut, spliced, a header length that lies). */
function npyBytes(r: () => number): Uint8Array {
  const rows = Math.floor(r() * 4);
  const cols = Math.floor(r() * 5);
  const descr = (['<f4', '<f8', '<f2', '>f4', '<i4', '<i8', '|u1'] as const)[Math.floor(r() * 7)]!;
  const good = r() < 0.5;
  const head = good ? npyHeaderBytes(descr, [rows, cols]) : customHeader(headerDict(r), r() < 0.2 ? 2 + Math.floor(r() * 3) : 1);
  const body = encodeNpyData(descr, Array.from({ length: rows * cols }, () => Math.floor(r() * 10)));
  let b = new Uint8Array(Buffer.concat([head, body, r() < 0.2 ? Buffer.alloc(Math.floor(r() * 32)) : Buffer.alloc(0)]));
  const mutations = Math.floor(r() * 4);
  for (let m = 0; m < mutations; m++) {
    const kind = Math.floor(r() * 5);
    if (kind === 0 && b.length) b[Math.floor(r() * b.length)] = Math.floor(r() * 256);
    else if (kind === 1) b = b.slice(0, Math.floor(r() * b.length));
    else if (kind === 2 && b.length > 10) new DataView(b.buffer).setUint16(8, Math.floor(r() * 65536), true); // the header length lies
    else if (kind === 3 && b.length > 7) b[6] = Math.floor(r() * 5); // version
    else if (kind === 4 && b.length > 12) new DataView(b.buffer).setUint32(8, Math.floor(r() * 2 ** 32), true);
  }
  return b;
}

function customHeader(dict: string, version: number): Buffer {
  const pre = version === 1 ? 10 : 12;
  const text = dict + ' '.repeat((64 - ((pre + dict.length + 1) % 64)) % 64) + '\n';
  const b = Buffer.alloc(pre + Buffer.byteLength(text, 'latin1'));
  Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, version, 0]).copy(b);
  if (version === 1) b.writeUInt16LE(Math.min(text.length, 65535), 8);
  else b.writeUInt32LE(text.length, 8);
  b.write(text, pre, 'latin1');
  return b;
}

describe('fuzz: the .npy reader', () => {
  it(`${RUNS * 2} random and mutated files: read correctly or an NpyError naming the file`, () => {
    const path = join(dir, 'f.npy');
    const rss0 = process.memoryUsage().rss;
    let opened = 0;
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 31 - 1 }), fc.constantFrom('any', 'logits', 'labels'), (seed, role) => {
        const bytes = npyBytes(rng(seed));
        writeFileSync(path, bytes);
        timed(`npy seed ${seed}`, () => {
          let f: NpyFile;
          try {
            f = NpyFile.open(path, role as 'any');
          } catch (e) {
            expect((e as Error).name, `${(e as Error).message} (seed ${seed})`).toBe('NpyError');
            expect((e as Error).message.startsWith(`${path}: `)).toBe(true);
            return;
          }
          opened++;
          try {
            const h = f.header;
            // What was opened is consistent: the shape's data lies inside the file.
            expect(Number.isSafeInteger(h.size)).toBe(true);
            expect(h.dataOffset + h.size * h.itemSize).toBeLessThanOrEqual(bytes.length);
            expect(f.rows * f.cols).toBe(f.cols === 0 ? 0 : h.size);
            try {
              const float = /f/.test(h.dtype);
              const v = float ? f.readFloat32(0, f.rows) : f.readInt32(0, f.rows);
              expect(v.length).toBe(f.rows * f.cols);
              if (h.dtype === 'f4' && h.littleEndian) {
                const expected = new Float32Array(bytes.slice(h.dataOffset, h.dataOffset + v.length * 4).buffer);
                expect(new Uint32Array(v.buffer, v.byteOffset, v.length)).toEqual(new Uint32Array(expected.buffer));
              }
            } catch (e) {
              expect((e as Error).name, `${(e as Error).message} (seed ${seed})`).toBe('NpyError');
            }
          } finally {
            f.close();
          }
        });
      }),
      params(RUNS * 2),
    );
    expect(opened).toBeGreaterThan(RUNS * 0.1);
    expect(process.memoryUsage().rss - rss0).toBeLessThan(RSS_HEADROOM);
  });
});

// ------------------------------------------------------------------------------------ the CLI

describe('fuzz: the CLI, in process', () => {
  const files: Record<string, string> = {};
  // Mutated command lines turn any token into an output path: relative ones must land in the temp dir.
  const cwd = process.cwd();
  afterAll(() => process.chdir(cwd));
  beforeAll(() => {
    process.chdir(dir);
    const x = Float32Array.from({ length: 40 }, (_, i) => Math.sin(i) * 3);
    files.logits = join(dir, 'logits.npy');
    files.labels = join(dir, 'labels.npy');
    files.vector = join(dir, 'vector.npy');
    files.empty = join(dir, 'empty.npy');
    files.zero = join(dir, 'zero.npy');
    files.bad = join(dir, 'bad.npy');
    files.dir = join(dir, 'adir');
    files.missing = join(dir, 'missing.npy');
    writeNpy(files.logits, x, [10, 4]);
    writeNpy(files.labels, Int32Array.from({ length: 10 }, (_, i) => i % 4), [10]);
    writeNpy(files.vector, x.slice(0, 7), [7]);
    writeNpy(files.empty, new Float32Array(0), [0, 4]);
    writeNpy(files.zero, new Float32Array(0), [3, 0]);
    writeFileSync(files.bad, customHeader(`{'descr': '<f4', 'fortran_order': False, 'shape': (0, ${'9'.repeat(300)}), }`, 1));
    mkdirSync(files.dir);
    const fifo = join(dir, 'fifo.npy');
    if (spawnSync('mkfifo', [fifo]).status === 0) files.fifo = fifo;
    // Real shards for merge: score --json of two halves.
    for (const [name, lo, hi] of [['json', 0, 5], ['json2', 5, 10]] as const) {
      const lp = join(dir, `${name}-logits.npy`);
      const yp = join(dir, `${name}-labels.npy`);
      writeNpy(lp, x.slice(lo * 4, hi * 4), [hi - lo, 4]);
      writeNpy(yp, Int32Array.from({ length: hi - lo }, (_, i) => (lo + i) % 4), [hi - lo]);
      const r = spawnSync(process.execPath, [join(root, 'bin', 'logitkit.js'), 'score', lp, '--labels', yp, '--json'], { encoding: 'utf8' });
      expect(r.status, r.stderr).toBe(0);
      files[name] = join(dir, `${name}.json`);
      writeFileSync(files[name]!, r.stdout);
    }
    files.notjson = join(dir, 'not.json');
    writeFileSync(files.notjson, '{"format": "logitkit-score-stats/1"}');
    closeSync(openSync(join(dir, 'out-dir-marker'), 'w'));
  });

  const COMMANDS = ['score', 'calibrate', 'merge', 'softmax', 'logsumexp', 'sigmoid', 'argmax', 'topk', 'help', '--help', '--version', 'nope', ''];
  const FLAGS = ['--labels', '-o', '--output', '--bins', '--topk', '--k', '--temperature', '--fit-temperature', '--min', '--max', '--json', '--log', '--backend', '--threads', '--block-mb', '--values', '--report', '--bogus', '-h', '--', '-'];
  const VALUES = ['0', '1', '-1', '3', '1.5', '1e8', '100000000', '1000001', 'NaN', 'Infinity', '', 'x', 'wasm', 'js', 'auto', '2', '99999999999999999999999'];

  function argv(r: () => number): string[] {
    const pick = <T,>(a: readonly T[]): T => a[Math.floor(r() * a.length)]!;
    const fileNames = Object.keys(files);
    const out = () => join(dir, `out-${Math.floor(r() * 3)}.${pick(['npy', 'html', 'md', 'json'])}`);
    const file = () => files[pick(fileNames)]!;
    if (r() < 0.65) {
      // A plausible command line, then a mutation or two.
      const cmd = pick(['score', 'calibrate', 'softmax', 'logsumexp', 'sigmoid', 'argmax', 'topk', 'merge'] as const);
      const a: string[] = [cmd];
      if (cmd === 'merge') a.push(files.json!, r() < 0.7 ? files.json2! : file());
      else a.push(r() < 0.75 ? files.logits! : file());
      if (cmd === 'score' || cmd === 'calibrate') a.push('--labels', r() < 0.8 ? files.labels! : file());
      else if (cmd !== 'merge') a.push('-o', out());
      const extra: Record<string, string[][]> = {
        score: [['--bins', '10'], ['--topk', '2'], ['--temperature', '1.5'], ['--fit-temperature'], ['--json'], ['--report', out()], ['--backend', 'js']],
        calibrate: [['--bins', '5'], ['--min', '0.1'], ['--max', '10'], ['--json'], ['--backend', 'js']],
        softmax: [['--log'], ['--temperature', '0.5'], ['--backend', 'js'], ['--block-mb', '1']],
        logsumexp: [['--temperature', '2']],
        sigmoid: [['--log']],
        argmax: [['--backend', 'js']],
        topk: [['--k', '2'], ['--values', out()]],
        merge: [['--json'], ['--report', out()]],
      };
      for (const e of extra[cmd]!) if (r() < 0.3) a.push(...e);
      const mutations = Math.floor(r() * 3);
      for (let m = 0; m < mutations; m++) {
        const i = 1 + Math.floor(r() * (a.length - 1));
        const k = Math.floor(r() * 4);
        if (k === 0) a[i] = pick(VALUES);
        else if (k === 1) a[i] = file();
        else if (k === 2) a.splice(i, 1);
        else a.splice(i, 0, pick(FLAGS));
      }
      return a;
    }
    const a: string[] = [pick(COMMANDS)];
    if (r() < 0.9) a.push(file());
    const n = Math.floor(r() * 6);
    for (let i = 0; i < n; i++) {
      const flag = pick(FLAGS);
      a.push(flag);
      if (flag === '--labels') a.push(files[pick(['labels', 'labels', ...fileNames])]!);
      else if (flag === '-o' || flag === '--output' || flag === '--values' || flag === '--report') a.push(r() < 0.9 ? out() : files[pick(fileNames)]!);
      else if (flag === '--threads') a.push(pick(['1', '0', 'x', '-1', '1.5']));
      else if (r() < 0.8) a.push(pick(VALUES));
    }
    return a;
  }

  it(`${RUNS} random command lines: exit 0, 1 or 2, errors in one line naming what is wrong, nothing thrown`, async () => {
    const rss0 = process.memoryUsage().rss;
    const seen = new Map<number, number>();
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: 2 ** 31 - 1 }), async (seed) => {
        const args = argv(rng(seed));
        let stderr = '';
        const w = process.stderr.write;
        const o = process.stdout.write;
        process.stderr.write = ((s: string | Uint8Array) => ((stderr += String(s)), true)) as typeof process.stderr.write;
        process.stdout.write = (() => true) as typeof process.stdout.write;
        const t0 = performance.now();
        let code: number;
        try {
          code = await main(args);
        } finally {
          process.stderr.write = w;
          process.stdout.write = o;
        }
        const ms = performance.now() - t0;
        const what = `logitkit ${args.join(' ')} (seed ${seed})`;
        expect(ms, `${what} took ${ms.toFixed(0)} ms`).toBeLessThan(CASE_MS * 2);
        expect([0, 1, 2], `${what}: ${stderr}`).toContain(code);
        seen.set(code, (seen.get(code) ?? 0) + 1);
        if (code !== 0) {
          const lines = stderr.trimEnd().split('\n').filter((l) => l.startsWith('logitkit: '));
          expect(lines.length, `${what}: ${stderr}`).toBeGreaterThanOrEqual(1);
          expect(stderr, what).not.toMatch(/RangeError|TypeError|ReferenceError|at .*\.js:\d+|internal error|undefined:|\[object Object\]/);
        }
        if (code === 1) {
          // A runtime error about an input names a file (or, for merge, the shard), never only an errno.
          expect(stderr, what).not.toMatch(/^logitkit: E[A-Z]+:/m);
        }
      }),
      params(RUNS),
    );
    // Each outcome must be reached often enough to mean something.
    for (const c of [0, 1, 2]) expect(seen.get(c) ?? 0, `exit codes seen: ${[...seen]}`).toBeGreaterThan(RUNS * 0.03);
    expect(process.memoryUsage().rss - rss0).toBeLessThan(RSS_HEADROOM);
  });
});
