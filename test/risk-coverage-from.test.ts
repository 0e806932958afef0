// lk.riskCoverageFrom (src/engine.ts; wasm: assembly/kernels/selective.ts through
// src/backends/wasm-selective.ts; the float64 reference: src/backends/js-selective.ts) against the
// reference, bit for bit — the figures, the risk at each coverage and every curve point — on random
// confidences and the edge cases: NaN, ties, −0 and +0, ±inf and subnormals, confidences of both
// signs, all wrong, none wrong, n = 0, 1, sizes off the SIMD width, buckets that take each sort
// path, 600k rows (several chunks, sort and walk calls), maxPoints thinning; Float64Array
// confidences and engine buffers; the argument errors, after which the engine keeps working.
import { describe, expect, it } from 'vitest';
import { init, LogitkitError, type Engine, type RiskCoverage } from '../src/index.js';
import { riskCoverageFrom as reference } from '../src/backends/js-selective.js';
import { describeEachBackend } from './helpers/backends.js';
import { codeOf } from './helpers/checks.js';
import { rng } from './helpers/random.js';

/** The first index where a and b differ in their bits, or −1. */
function firstDifference(a: Float64Array, b: Float64Array): number {
  const x = new BigUint64Array(a.buffer, a.byteOffset, a.length);
  const y = new BigUint64Array(b.buffer, b.byteOffset, b.length);
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return i;
  return -1;
}

/** Every number of `got` has the bits of `want`'s (NaN is NaN, −0 is not 0). */
function expectSame(got: RiskCoverage, want: RiskCoverage, what: string): void {
  for (const k of ['aurc', 'eaurc', 'augrc'] as const) expect(Object.is(got[k], want[k]), `${what}: ${k} ${got[k]} vs ${want[k]}`).toBe(true);
  for (const [l, v] of Object.entries(want.riskAtCoverage)) expect(Object.is(got.riskAtCoverage[l as '1'], v), `${what}: riskAtCoverage[${l}]`).toBe(true);
  expect(Object.keys(got.riskAtCoverage)).toEqual(Object.keys(want.riskAtCoverage));
  for (const k of ['coverage', 'risk', 'generalizedRisk', 'confidence'] as const) {
    expect(got[k]).toBeInstanceOf(Float64Array);
    expect(got[k].length, `${what}: ${k}.length`).toBe(want[k].length);
    const at = firstDifference(got[k], want[k]);
    expect(at, `${what}: ${k}[${at}] = ${got[k][at]}, expected ${want[k][at]}`).toBe(-1);
  }
}

const SPECIAL = [NaN, -0, 0, Infinity, -Infinity, 1e-45, -1e-45, 1.1754942e-38, 1, -1, 3.4e38, -3.4e38, 0.5];

/** n confidences of one kind and their errors (errors: 'random', 'all', 'none'). */
function data(n: number, seed: number, kind: string, errors = 'random'): { conf: Float32Array; wrong: Uint8Array } {
  const r = rng(seed);
  const conf = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const u = r();
    switch (kind) {
      case 'max p': // score's: (0, 1], a few exact 1s and NaN
        conf[i] = r() < 0.01 ? NaN : r() < 0.02 ? 1 : 0.01 + 0.99 * u * u;
        break;
      case 'ties': // a few values, many rows each, with −0 and +0 mixed
        conf[i] = r() < 0.3 ? (r() < 0.5 ? -0 : 0) : Math.round(u * 6) / 4 - 0.5;
        break;
      case 'special': // NaN, ±0, ±inf, subnormals, both signs over the whole float range
        conf[i] = r() < 0.3 ? SPECIAL[Math.floor(r() * SPECIAL.length)]! : (r() - 0.5) * 10 ** Math.floor(r() * 60 - 30);
        break;
      case 'nan':
        conf[i] = NaN;
        break;
      case 'negative': // −score of an unbounded OOD score (energy): negatives of all sizes
        conf[i] = -Math.exp(8 * u);
        break;
      case 'lowByte': // one bucket whose items share their low byte: keys 128 apart (sort: the high byte only)
        conf[i] = new Float32Array(new Uint32Array([0x3f000000 + 128 * Math.floor(u * 256)]).buffer)[0]!;
        break;
      case 'highByte': // one bucket whose items share their high byte: keys < 128 apart (sort: the low byte only)
        conf[i] = new Float32Array(new Uint32Array([0x3f000000 + Math.floor(u * 64)]).buffer)[0]!;
        break;
      default:
        throw new Error(kind);
    }
  }
  const wrong = Uint8Array.from({ length: n }, () => (errors === 'all' ? 1 : errors === 'none' ? 0 : r() < 0.3 ? 1 : 0));
  if (kind === 'lowByte' || kind === 'highByte') wrong.fill(errors === 'none' ? 0 : 1); // the error bit is the item's lowest
  return { conf, wrong };
}

const KINDS = ['max p', 'ties', 'special', 'nan', 'negative', 'lowByte', 'highByte'];

describeEachBackend('lk.riskCoverageFrom', (lk) => {
  it('gives the reference figures and curve, bit for bit, on every kind of confidence and size', () => {
    let seed = 1;
    for (const kind of KINDS)
      for (const n of [0, 1, 2, 3, 5, 7, 16, 17, 24, 25, 100, 1001, 4099])
        for (const errors of ['random', 'all', 'none']) {
          const { conf, wrong } = data(n, seed++, kind, errors);
          for (const maxPoints of [undefined, 1, 3, 50]) {
            const o = maxPoints === undefined ? undefined : { maxPoints };
            expectSame(lk().riskCoverageFrom(conf, wrong, o), reference(conf, wrong, o), `${kind}, n ${n}, ${errors} wrong, maxPoints ${maxPoints}`);
          }
        }
  });

  it('ties are one point, NaN is the last, −0 and +0 one value (+0 its confidence)', () => {
    const conf = new Float32Array([0.5, NaN, -0, 0, 0.9, NaN, 0.5, -0]);
    const wrong = new Uint8Array([0, 1, 1, 0, 0, 0, 1, 1]);
    const rc = lk().riskCoverageFrom(conf, wrong);
    expect(Array.from(rc.coverage)).toEqual([1 / 8, 3 / 8, 6 / 8, 1]);
    expect(Array.from(rc.risk)).toEqual([0, 1 / 3, 3 / 6, 4 / 8]);
    expect(Array.from(rc.generalizedRisk)).toEqual([0, 1 / 8, 3 / 8, 4 / 8]);
    expect(Array.from(rc.confidence).map((c) => (Object.is(c, -0) ? '-0' : String(Math.fround(c))))).toEqual(['0.8999999761581421', '0.5', '0', 'NaN']);
    expect(rc.riskAtCoverage).toEqual({ '0.5': 3 / 6, '0.8': 4 / 8, '0.9': 4 / 8, '0.95': 4 / 8, '1': 4 / 8 });
    expect(rc.aurc).toBe((1 / 8) * 0 + (2 / 8) * (1 / 3) + (3 / 8) * (3 / 6) + (2 / 8) * (4 / 8));
  });

  it('n = 0 gives NaN figures and an empty curve; one row, one point', () => {
    const empty = lk().riskCoverageFrom(new Float32Array(0), new Uint8Array(0), { maxPoints: 10 });
    expect([empty.aurc, empty.eaurc, empty.augrc]).toEqual([NaN, NaN, NaN]);
    expect(Object.values(empty.riskAtCoverage)).toEqual([NaN, NaN, NaN, NaN, NaN]);
    expect(empty.coverage.length).toBe(0);
    const one = lk().riskCoverageFrom(new Float32Array([0.7]), new Uint8Array([1]));
    expect([one.aurc, one.augrc, one.eaurc]).toEqual([1, 1, 0]); // r = 1: the oracle's area is 1
    expect(Array.from(one.coverage)).toEqual([1]);
  });

  it('600k rows (chunks, several sort and walk calls): every point, and thinned to 4096 as score asks', () => {
    for (const [kind, seed] of [['max p', 41], ['special', 42]] as const) {
      const { conf, wrong } = data(600_000, seed, kind);
      const full = lk().riskCoverageFrom(conf, wrong);
      expectSame(full, reference(conf, wrong), `${kind}: every point`);
      expect(full.coverage.length).toBeGreaterThan(200_000);
      const thin = lk().riskCoverageFrom(conf, wrong, { maxPoints: 4096 });
      expectSame(thin, reference(conf, wrong, { maxPoints: 4096 }), `${kind}: maxPoints 4096`);
      expect(thin.coverage.length).toBeLessThanOrEqual(4098);
      expect([thin.aurc, thin.augrc]).toEqual([full.aurc, full.augrc]);
      expect(thin.coverage[thin.coverage.length - 1]).toBe(1);
    }
  });

  it('maxPoints beyond the points keeps every point; the last point always stays', () => {
    const { conf, wrong } = data(1000, 5, 'max p');
    const all = lk().riskCoverageFrom(conf, wrong);
    expectSame(lk().riskCoverageFrom(conf, wrong, { maxPoints: 1e9 }), all, 'maxPoints 1e9');
    const one = lk().riskCoverageFrom(conf, wrong, { maxPoints: 1 });
    expect(one.coverage.length).toBeLessThanOrEqual(3);
    expect(one.coverage[one.coverage.length - 1]).toBe(1);
  });

  it('reads a float32 buffer from lk.alloc in place, and subarrays at any offset', () => {
    const { conf, wrong } = data(70_001, 8, 'max p');
    const want = reference(conf, wrong, { maxPoints: 100 });
    const buf = lk().alloc(conf.length, 'float32');
    try {
      buf.array.set(conf);
      expectSame(lk().riskCoverageFrom(buf, wrong, { maxPoints: 100 }), want, 'buffer');
      expectSame(lk().riskCoverageFrom(buf.array, wrong, { maxPoints: 100 }), want, 'buffer.array');
      const part = lk().riskCoverageFrom(buf.array.subarray(3), wrong.subarray(3));
      expectSame(part, reference(conf.subarray(3), wrong.subarray(3)), 'subarrays from 3');
    } finally {
      buf.free();
    }
  });

  it('ranks Float64Array confidences as float64 numbers (the reference, on every backend)', () => {
    const r = rng(3);
    const conf = Float64Array.from({ length: 5000 }, (_, i) => (i % 50 === 0 ? NaN : i % 7 === 0 ? 0.5 : 0.5 + r() * 1e-9));
    const wrong = Uint8Array.from(conf, () => (r() < 0.4 ? 1 : 0));
    const rc = lk().riskCoverageFrom(conf, wrong);
    expectSame(rc, reference(conf, wrong), 'float64');
    // these values are all 0.5 in float32: the float64 ranking keeps them apart
    expect(rc.coverage.length).toBeGreaterThan(lk().riskCoverageFrom(Float32Array.from(conf), wrong).coverage.length + 1000);
  });

  it('holds no engine memory afterwards and bounds what it grows', () => {
    const { conf, wrong } = data(600_000, 9, 'max p');
    lk().riskCoverageFrom(conf, wrong); // the first call may grow memory
    const before = lk().memoryStats();
    lk().riskCoverageFrom(conf, wrong, { maxPoints: 4096 });
    const after = lk().memoryStats();
    expect(after.inUse).toBe(before.inUse);
    expect(after.wasmBytes).toBe(before.wasmBytes);
    // the wasm backend's work: 2 bytes a row and the largest bucket's, the bucket counts, copies of a chunk
    if (lk().backend === 'wasm') expect(after.wasmBytes).toBeLessThan(6 * 600_000 + (8 << 20));
  });

  it('refuses bad input with a coded LogitkitError naming the argument, and keeps working', () => {
    const conf = new Float32Array([0.9, 0.1, 0.5]);
    const wrong = new Uint8Array([0, 1, 0]);
    const cases: [string, () => unknown, string, string][] = [
      ['lengths differ', () => lk().riskCoverageFrom(conf, new Uint8Array(2)), 'shape_mismatch', 'wrong'],
      ['an error of 2', () => lk().riskCoverageFrom(conf, new Uint8Array([0, 2, 0])), 'invalid_argument', 'wrong'],
      ['an error of 255 past the aligned words', () => lk().riskCoverageFrom(new Float32Array(11), Uint8Array.from({ length: 11 }, (_, i) => (i === 10 ? 255 : 1))), 'invalid_argument', 'wrong'],
      ['an error of 3 in an unaligned subarray', () => lk().riskCoverageFrom(new Float32Array(9), new Uint8Array(10).fill(1).fill(3, 9).subarray(1)), 'invalid_argument', 'wrong'],
      ['wrong as Int8Array', () => lk().riskCoverageFrom(conf, new Int8Array(3) as never), 'invalid_argument', 'wrong'],
      ['wrong as numbers', () => lk().riskCoverageFrom(conf, [0, 1, 0] as never), 'invalid_argument', 'wrong'],
      ['confidence as numbers', () => lk().riskCoverageFrom([0.9, 0.1, 0.5] as never, wrong), 'invalid_argument', 'confidence'],
      ['confidence as Int32Array', () => lk().riskCoverageFrom(new Int32Array(3) as never, wrong), 'invalid_argument', 'confidence'],
      ['confidence as Uint16Array', () => lk().riskCoverageFrom(new Uint16Array(3) as never, wrong), 'invalid_argument', 'confidence'],
      ['confidence missing', () => lk().riskCoverageFrom(undefined as never, wrong), 'invalid_argument', 'confidence'],
      ['maxPoints 0', () => lk().riskCoverageFrom(conf, wrong, { maxPoints: 0 }), 'invalid_argument', 'options.maxPoints'],
      ['maxPoints 2.5', () => lk().riskCoverageFrom(conf, wrong, { maxPoints: 2.5 }), 'invalid_argument', 'options.maxPoints'],
      ['maxPoints a string', () => lk().riskCoverageFrom(conf, wrong, { maxPoints: '10' as never }), 'invalid_argument', 'options.maxPoints'],
      ['an unknown option', () => lk().riskCoverageFrom(conf, wrong, { points: 10 } as never), 'invalid_argument', 'options.points'],
    ];
    for (const [what, f, code, argument] of cases) {
      let error: unknown;
      try {
        f();
      } catch (e) {
        error = e;
      }
      expect(error, what).toBeInstanceOf(LogitkitError);
      expect((error as LogitkitError).code, what).toBe(code);
      expect((error as LogitkitError).argument, what).toBe(argument);
    }
    expect(() => lk().riskCoverageFrom(conf, new Uint8Array([0, 2, 0]))).toThrow(/wrong\[1\] = 2, expected 0 or 1/);
    expect(() => lk().riskCoverageFrom(new Float32Array(11), Uint8Array.from({ length: 11 }, (_, i) => (i === 10 ? 255 : 1)))).toThrow(/wrong\[10\] = 255/);
    const ints = lk().alloc(3, 'int32');
    expect(codeOf(() => lk().riskCoverageFrom(ints as never, wrong))).toBe('invalid_argument');
    ints.free();
    // still working, with the same answer as before the errors
    expectSame(lk().riskCoverageFrom(conf, wrong), reference(conf, wrong), 'after the errors');
  });
});

describe('lk.riskCoverageFrom on a disposed engine', () => {
  it('throws disposed', async () => {
    const e: Engine = await init();
    e.dispose();
    expect(codeOf(() => e.riskCoverageFrom(new Float32Array(1), new Uint8Array(1)))).toBe('disposed');
  });
});
