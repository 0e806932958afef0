// Engine.overlap: JavaScript run on the calling thread while the worker threads compute a split call.
// On every backend: ops' result is returned, `meanwhile` runs exactly once (after ops where nothing
// splits), ops always runs to its end, an error of ops goes first, bad arguments are LogitkitErrors.
// With a pool: `meanwhile` runs inside the split job (the runtime counts it), engine calls made in it
// run on this thread and give the same results, the job's sums are bit-identical to a plain call, and
// the pool splits again afterwards — also after a `meanwhile` that threw.
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Engine } from '../src/engine.js';
import { LogitkitError } from '../src/errors.js';
import type { Backend } from '../src/backends/backend.js';
import { JsBackend } from '../src/backends/js.js';
import { createWasmBackend, type WasmBackend } from '../src/backends/wasm.js';
import { BOOTSTRAP_CHUNK_ROWS } from '../src/accumulators.js';
import { rng } from './helpers/random.js';

const module = (file: string) => new WebAssembly.Module(readFileSync(new URL(`../build/${file}`, import.meta.url)));

/** Enough rows for the bootstrap's chunks to go to the pool (several chunks, 200 replicates). */
function rows(n: number, seed: number) {
  const r = rng(seed);
  const hit = new Uint8Array(n);
  const nll = new Float64Array(n);
  const conf = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    conf[i] = 0.1 + 0.9 * r();
    hit[i] = r() < conf[i]! ? 1 : 0;
    nll[i] = Math.fround(-Math.log(Math.max(1e-6, hit[i] ? conf[i]! : 1 - conf[i]!)));
  }
  return { hit, nll, conf };
}

function bootstrap(lk: Engine, data: ReturnType<typeof rows>, meanwhile: (() => void) | null) {
  const acc = lk.bootstrapAccumulator({ replicates: 200, bins: 15, seed: 5 });
  if (meanwhile) lk.overlap(meanwhile, () => acc.add(data, { key: 1, row: 0 }));
  else acc.add(data, { key: 1, row: 0 });
  const s = acc.sums();
  return s;
}

const engines: [string, () => Promise<{ lk: Engine; wasm: WasmBackend | null }>][] = [
  ['js', async () => ({ lk: new Engine(new JsBackend() as Backend), wasm: null })],
  ['wasm, one thread', async () => {
    const b = await createWasmBackend(module('logitkit.wasm'));
    return { lk: new Engine(b), wasm: b };
  }],
  ['wasm, threads 2', async () => {
    const b = await createWasmBackend(module('logitkit-threads.wasm'), { threads: 2 });
    return { lk: new Engine(b), wasm: b };
  }],
];

describe.each(engines)('Engine.overlap (%s)', (name, start) => {
  let lk: Engine;
  let wasm: WasmBackend | null;
  beforeAll(async () => {
    ({ lk, wasm } = await start());
    if (name === 'wasm, threads 2') expect(lk.features.threads).toBe(2);
  });
  afterAll(() => lk.dispose());

  it('returns what ops returns and runs meanwhile exactly once', () => {
    let calls = 0;
    const x = new Float32Array([1, 2, 3, 4]);
    const p = lk.overlap(() => void calls++, () => lk.softmax(x, 4));
    expect(calls).toBe(1);
    expect(Array.from(p)).toEqual(Array.from(lk.softmax(x, 4)));
  });

  it('runs meanwhile after ops when nothing splits (a small call)', () => {
    const seen: string[] = [];
    lk.overlap(
      () => seen.push('meanwhile'),
      () => {
        lk.softmax(new Float32Array(8), 8);
        seen.push('ops');
      },
    );
    expect(seen).toEqual(['ops', 'meanwhile']);
  });

  it("throws ops' error after running meanwhile once; ops' error goes first when both throw", () => {
    let calls = 0;
    const boom = new Error('ops failed');
    expect(() => lk.overlap(() => void calls++, () => { throw boom; })).toThrow(boom);
    expect(calls).toBe(1);
    expect(() =>
      lk.overlap(
        () => {
          calls++;
          throw new Error('meanwhile failed');
        },
        () => lk.softmax(new Float32Array([NaN]), 1, { temperature: -1 }),
      ),
    ).toThrow(expect.objectContaining({ code: 'invalid_temperature' }));
    expect(calls).toBe(2);
  });

  it('finishes ops when meanwhile throws, then throws its error; the engine keeps working', () => {
    const data = rows(6 * BOOTSTRAP_CHUNK_ROWS + 11, 3);
    const plain = bootstrap(lk, data, null);
    const bad = new Error('meanwhile failed');
    let sums: ReturnType<typeof bootstrap> | null = null;
    const acc = lk.bootstrapAccumulator({ replicates: 200, bins: 15, seed: 5 });
    expect(() =>
      lk.overlap(
        () => {
          throw bad;
        },
        () => acc.add(data, { key: 1, row: 0 }),
      ),
    ).toThrow(bad);
    sums = acc.sums();
    for (const k of ['weight', 'correct', 'nll', 'binWeight', 'binConf', 'binCorrect'] as const) expect(Array.from(sums[k]), k).toEqual(Array.from(plain[k]));
    expect(Array.from(bootstrap(lk, data, null).nll)).toEqual(Array.from(plain.nll));
  });

  it('refuses arguments that are not functions, and a disposed engine', async () => {
    for (const [m, o] of [[null, () => 1], [() => {}, 'ops']] as const) {
      let err: unknown = null;
      try {
        lk.overlap(m as never, o as never);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(LogitkitError);
      expect((err as LogitkitError).code).toBe('invalid_argument');
    }
    const { lk: other } = await start();
    other.dispose();
    expect(() => other.overlap(() => {}, () => 1)).toThrow(expect.objectContaining({ code: 'disposed' }));
  });

  it('overlaps a split call with meanwhile, whose own engine calls run on this thread; sums bit-identical', () => {
    const data = rows(8 * BOOTSTRAP_CHUNK_ROWS + 5, 9);
    const plain = bootstrap(lk, data, null);
    // a call that would split on its own: inside meanwhile it runs here (the pool is busy) and gives the same
    const x = new Float32Array(4096 * 100).map((_, i) => Math.sin(i) * 4);
    const expected = lk.softmax(x, 100);
    let inside: Float32Array | null = null;
    const rt = wasm?.runtime;
    const before = rt ? { overlapped: rt.overlappedCalls, parallel: rt.parallelCalls } : null;
    const got = bootstrap(lk, data, () => {
      inside = lk.softmax(x, 100);
    });
    expect(Array.from(inside!)).toEqual(Array.from(expected));
    for (const k of ['weight', 'correct', 'nll', 'binWeight', 'binConf', 'binCorrect'] as const) expect(Array.from(got[k]), k).toEqual(Array.from(plain[k]));
    if (rt && name === 'wasm, threads 2') {
      expect(rt.overlappedCalls - before!.overlapped, 'meanwhile ran inside the bootstrap job').toBe(1);
      // the bootstrap split; the softmax inside meanwhile did not (the pool was busy)
      const p0 = rt.parallelCalls;
      lk.softmax(x, 100);
      expect(rt.parallelCalls - p0, 'the pool splits again afterwards').toBe(1);
    } else if (rt) expect(rt.overlappedCalls).toBe(0);
  });

  it('an overlap inside ops runs its own meanwhile after its ops; the outer one still runs once', () => {
    const seen: string[] = [];
    const data = rows(4 * BOOTSTRAP_CHUNK_ROWS, 4);
    lk.overlap(
      () => seen.push('outer'),
      () => {
        lk.overlap(() => seen.push('inner'), () => bootstrap(lk, data, null));
        seen.push('ops');
      },
    );
    expect(seen.filter((s) => s === 'outer')).toHaveLength(1);
    expect(seen.indexOf('inner')).toBeLessThan(seen.indexOf('ops'));
    expect(seen.filter((s) => s === 'inner')).toHaveLength(1);
  });
});
