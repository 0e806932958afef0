/**
 * Sampling, logits filtering and half-precision inputs (issue 7), run on every
 * backend, plus the cross-backend checks (same seed → same tokens on wasm and JS).
 *
 * The kept sets are checked against the float64 reference (test/reference/sample.ts), written from the rules
 * of the README section "Sampling and logits processing" with Math.exp (not the library's exp), so a shared mistake in
 * both backends would still show.
 */
import { expect, it } from 'vitest';
import { describeEachBackend, describeVsJs, engineFor } from './helpers/backends.js';
import { normal, randomLogits, rng } from './helpers/random.js';
import { type Engine, type SampleOptions } from '../src/index.js';
import { expNonPositive } from '../src/backends/js-sample.js';
import { refKept, refZ, type RefOptions } from './reference/index.js';
import { codeOf, expectDrawsMatch, finiteIndices } from './helpers/checks.js';

const fround = Math.fround;

/** Random options drawn from a grid that exercises every stage and their combinations. */
function randomOptions(rand: () => number, classes: number): RefOptions & SampleOptions {
  const pick = <T>(xs: T[]): T => xs[Math.floor(rand() * xs.length)]!;
  const o: RefOptions & SampleOptions = {
    temperature: pick([1, 0.7, 1.3, 0.25]),
    topK: pick([0, 0, 1, 5, 40, classes + 3]),
    topP: pick([1, 1, 0.9, 0.5, 0.95, 0.1]),
    minP: pick([0, 0, 0.05, 0.2, 1]),
    minTokensToKeep: pick([1, 1, 1, 3]),
  };
  if (rand() < 0.3) {
    o.repetitionPenalty = pick([1.3, 0.8]);
    o.penaltyTokens = Int32Array.from({ length: 6 }, () => Math.floor(rand() * classes));
  }
  return o;
}


// ---- per-backend specification -----------------------------------------------------------

describeEachBackend('sampling', (lk) => {
  it('temperature 0 is greedy: the argmax, and filterLogits keeps only it', () => {
    const C = 1000;
    const x = randomLogits(8, C, 3, 11);
    const tokens = lk().sample(x, C, { temperature: 0, seed: 1 });
    expect(Array.from(tokens)).toEqual(Array.from(lk().argmax(x, C)));
    const f = lk().filterLogits(x, C, { temperature: 0 });
    for (let r = 0; r < 8; r++) {
      expect(finiteIndices(f, r * C, C)).toEqual([tokens[r]]);
      expect(f[r * C + tokens[r]!]).toBe(x[r * C + tokens[r]!]);
    }
  });

  it('greedy picks the first of tied maxima, the first +inf, and treats NaN as -inf', () => {
    const x = new Float32Array([1, 5, 5, 2, /**/ 0, Infinity, 3, Infinity, /**/ NaN, 1, NaN, 0, /**/ -Infinity, -Infinity, -Infinity, -Infinity]);
    expect(Array.from(lk().sample(x, 4, { temperature: 0 }))).toEqual([1, 1, 1, 0]);
  });

  it('topK = 1 equals argmax whatever the uniform', () => {
    const C = 5000;
    const x = randomLogits(16, C, 2, 12);
    const argmax = Array.from(lk().argmax(x, C));
    for (const seed of [1, 2, 3]) expect(Array.from(lk().sample(x, C, { topK: 1, seed, temperature: 0.7 }))).toEqual(argmax);
    expect(Array.from(lk().sample(x, C, { topK: 1, random: () => 0.999999 }))).toEqual(argmax);
  });

  it('every sampled token lies in the kept set, and kept sets match the float64 reference', () => {
    const rand = rng(99);
    for (let trial = 0; trial < 120; trial++) {
      const C = [7, 64, 333, 2048][trial % 4]!;
      const rows = 3;
      const x = randomLogits(rows, C, [0.5, 2, 6][trial % 3]!, 1000 + trial);
      const o = randomOptions(rand, C);
      const f = lk().filterLogits(x, C, o);
      const tokens = lk().sample(x, C, { ...o, seed: trial });
      for (let r = 0; r < rows; r++) {
        const row = x.subarray(r * C, (r + 1) * C);
        const ref = refKept(row, o);
        const kept = finiteIndices(f, r * C, C);
        expect(kept, `trial ${trial} row ${r} ${JSON.stringify({ ...o, penaltyTokens: Array.from(o.penaltyTokens ?? []) })}`).toEqual(ref.kept);
        expect(kept).toContain(tokens[r]);
        const z = refZ(row, o);
        for (const j of kept) expect(f[r * C + j]).toBe(z[j]);
      }
    }
  });

  it('wide rows of many ties (±0, ±inf, a few distinct values) keep the kept sets of the float64 reference', () => {
    // 2,048 and 5,000 candidates take the JS backend's radix ordering, 300 its native sort: ties must
    // rank by lower index in both, −0 with +0.
    const r = rng(7);
    const values = [-0, 0, 0.5, -1.5, 2, Infinity, -Infinity, 1];
    for (const C of [300, 2048, 5000]) {
      // row 0 finite, row 1 with ±inf among them
      const x = Float32Array.from({ length: 2 * C }, (_, i) => values[Math.floor(r() * (i < C ? 5 : 7))]!);
      for (const o of [{ topK: 7 }, { topK: 600 }, { topP: 0.3 }, { topP: 0.95, temperature: 0.7 }, { minP: 0.5 }, { topK: 900, topP: 0.6 }] as (RefOptions & SampleOptions)[]) {
        const f = lk().filterLogits(x, C, o);
        const tokens = lk().sample(x, C, { ...o, seed: C });
        for (let row = 0; row < 2; row++) {
          const kept = finiteIndices(f, row * C, C);
          expect(kept, `C ${C} row ${row} ${JSON.stringify(o)}`).toEqual(refKept(x.subarray(row * C, (row + 1) * C), o).kept);
          expect(kept).toContain(tokens[row]);
        }
      }
    }
  });

  it('top-k keeps every tie at the k-th value (HF semantics)', () => {
    const x = new Float32Array([3, 2, 1, 2, 0, 2]);
    expect(finiteIndices(lk().filterLogits(x, 6, { topK: 2 }), 0, 6)).toEqual([0, 1, 3, 5]);
    expect(finiteIndices(lk().filterLogits(x, 6, { topK: 1 }), 0, 6)).toEqual([0]);
    expect(finiteIndices(lk().filterLogits(x, 6, { topK: 5 }), 0, 6)).toEqual([0, 1, 2, 3, 5]);
    // minTokensToKeep raises k.
    expect(finiteIndices(lk().filterLogits(x, 6, { topK: 1, minTokensToKeep: 2 }), 0, 6)).toEqual([0, 1, 3, 5]);
  });

  it('top-p stops where the cumulative probability reaches p exactly; ties go to the lower index', () => {
    const eq = new Float32Array([1, 1, 1, 1, -Infinity, -Infinity, -Infinity, -Infinity]);
    const kept = (p: number, extra: SampleOptions = {}): number[] => finiteIndices(lk().filterLogits(eq, 8, { topP: p, ...extra }), 0, 8);
    expect(kept(0.25)).toEqual([0]); // 0.25 ≥ 0.25: one token
    expect(kept(0.5)).toEqual([0, 1]); // cumulative == p exactly
    expect(kept(0.75)).toEqual([0, 1, 2]);
    expect(kept(0.7500001)).toEqual([0, 1, 2, 3]);
    expect(kept(0.2)).toEqual([0]);
    expect(kept(0.2, { minTokensToKeep: 3 })).toEqual([0, 1, 2]);
    // Ties at the boundary are broken by index even when they are not in index order in the row.
    const x = new Float32Array([0, 2, 1, 2, 1]);
    const ref = refKept(x, { topP: 0.6 }).kept;
    expect(finiteIndices(lk().filterLogits(x, 5, { topP: 0.6 }), 0, 5)).toEqual(ref);
    expect(ref).toEqual([1, 3]);
  });

  it('top-p is computed over the top-k survivors (HF order)', () => {
    // Probabilities ∝ [8, 4, 2, 1, 1] (exact powers of two in the logits' exps are not needed:
    // the reference decides). With topK = 2, top-p 0.6 renormalises over {0, 1}: 8/12 ≥ 0.6 → {0}.
    const x = new Float32Array([Math.log(8), Math.log(4), Math.log(2), 0, 0]);
    expect(finiteIndices(lk().filterLogits(x, 5, { topK: 2, topP: 0.6 }), 0, 5)).toEqual([0]);
    expect(finiteIndices(lk().filterLogits(x, 5, { topP: 0.6 }), 0, 5)).toEqual([0, 1]);
  });

  it('min-p drops tokens below minP × the top probability', () => {
    const x = new Float32Array([0, Math.log(0.5), Math.log(0.2), Math.log(0.05), Math.log(0.01)]);
    const kept = (minP: number, extra: SampleOptions = {}): number[] => finiteIndices(lk().filterLogits(x, 5, { minP, ...extra }), 0, 5);
    expect(kept(0.1)).toEqual([0, 1, 2]);
    expect(kept(0.3)).toEqual([0, 1]);
    expect(kept(1)).toEqual([0]);
    expect(kept(0.001)).toEqual([0, 1, 2, 3, 4]);
    expect(kept(0.9, { minTokensToKeep: 4 })).toEqual([0, 1, 2, 3]);
  });

  it('repetition penalty: x > 0 divided, x ≤ 0 multiplied, once per distinct token, per row', () => {
    const x = new Float32Array([2, -1, 0.5, 3, /**/ 2, -1, 0.5, 3]);
    const f = lk().filterLogits(x, 4, { repetitionPenalty: 2, penaltyTokens: [Int32Array.of(0, 1, 0, 1), Int32Array.of(3)] });
    expect(Array.from(f)).toEqual([1, -2, 0.5, 3, 2, -1, 0.5, 1.5]);
    const shared = lk().filterLogits(x, 4, { repetitionPenalty: 1.3, penaltyTokens: Int32Array.of(2), temperature: 0.7 });
    expect(shared[2]).toBe(fround(fround(0.5 / 1.3) / 0.7));
    expect(shared[6]).toBe(fround(fround(0.5 / 1.3) / 0.7));
    expect(shared[0]).toBe(fround(2 / 0.7));
    // The penalty can change the greedy token.
    expect(Array.from(lk().sample(x.subarray(0, 4), 4, { temperature: 0, repetitionPenalty: 3, penaltyTokens: Int32Array.of(3) }))).toEqual([0]);
  });

  it('+inf logits share the mass; NaN logits are never drawn; all -inf rows give token 0', () => {
    const x = new Float32Array([0, Infinity, 5, Infinity, /**/ NaN, 0, NaN, -1, /**/ -Infinity, -Infinity, NaN, -Infinity]);
    const seen = new Set<string>();
    for (let seed = 0; seed < 60; seed++) seen.add(Array.from(lk().sample(x, 4, { seed })).join(','));
    for (const s of seen) {
      const [a, b, c] = s.split(',').map(Number);
      expect([1, 3]).toContain(a);
      expect([1, 3]).toContain(b);
      expect(c).toBe(0);
    }
    expect([...seen].some((s) => s.startsWith('1,')) && [...seen].some((s) => s.startsWith('3,'))).toBe(true);
    expect(finiteIndices(lk().filterLogits(x, 4, {}), 4, 4)).toEqual([1, 3]);
  });

  it('200,000 seeded draws match the filtered distribution (chi-square, alpha = 0.001)', () => {
    const C = 12;
    const base = Float32Array.of(2, 1.5, 1.2, 1, 0.8, 0.5, 0.3, 0, -0.5, -1, -1.5, -2);
    const rows = 200_000;
    const x = new Float32Array(rows * C);
    for (let r = 0; r < rows; r++) x.set(base, r * C);
    for (const o of [{}, { temperature: 0.7, topK: 8, topP: 0.9 }, { minP: 0.1, temperature: 1.5 }, { topP: 0.8, repetitionPenalty: 1.5, penaltyTokens: Int32Array.of(0, 3) }] as (RefOptions & SampleOptions)[]) {
      const tokens = lk().sample(x, C, { ...o, seed: 2024 });
      const { kept, probs } = refKept(base, o);
      expectDrawsMatch(tokens, kept, probs, `options ${JSON.stringify(o)}`, 0);
    }
  });

  it('the same seed gives the same tokens; the random option is used as given', () => {
    const x = randomLogits(50, 300, 1, 8);
    const a = lk().sample(x, 300, { seed: 7, topP: 0.9 });
    expect(Array.from(lk().sample(x, 300, { seed: 7, topP: 0.9 }))).toEqual(Array.from(a));
    expect(Array.from(lk().sample(x, 300, { seed: 8, topP: 0.9 }))).not.toEqual(Array.from(a));
    // u = 0 draws the first kept token with positive weight (index order).
    const f = lk().filterLogits(x, 300, { topP: 0.9 });
    const first = lk().sample(x, 300, { topP: 0.9, random: () => 0 });
    for (let r = 0; r < 50; r++) expect(first[r]).toBe(finiteIndices(f, r * 300, 300)[0]);
  });

  it('bad options throw coded errors and the engine stays usable', () => {
    const x = randomLogits(2, 10, 1, 3);
    expect(codeOf(() => lk().sample(x, 10, { temperature: -1 }))).toBe('invalid_temperature');
    expect(codeOf(() => lk().sample(x, 10, { temperature: NaN }))).toBe('invalid_temperature');
    expect(codeOf(() => lk().filterLogits(x, 10, { temperature: Infinity }))).toBe('invalid_temperature');
    expect(codeOf(() => lk().sample(x, 10, { topK: -1 }))).toBe('invalid_k');
    expect(codeOf(() => lk().sample(x, 10, { topK: 1.5 }))).toBe('invalid_k');
    for (const topP of [0, -0.1, 1.01, NaN]) expect(codeOf(() => lk().sample(x, 10, { topP }))).toBe('invalid_argument');
    for (const minP of [-0.01, 1.5, NaN]) expect(codeOf(() => lk().filterLogits(x, 10, { minP }))).toBe('invalid_argument');
    expect(codeOf(() => lk().sample(x, 10, { minTokensToKeep: 0 }))).toBe('invalid_argument');
    expect(codeOf(() => lk().sample(x, 10, { repetitionPenalty: 0, penaltyTokens: Int32Array.of(1) }))).toBe('invalid_argument');
    expect(codeOf(() => lk().sample(x, 10, { repetitionPenalty: 1.2, penaltyTokens: Int32Array.of(10) }))).toBe('target_out_of_range');
    expect(codeOf(() => lk().sample(x, 10, { penaltyTokens: [Int32Array.of(1)] }))).toBe('shape_mismatch');
    expect(codeOf(() => lk().sample(x, 10, { seed: 1, random: Math.random }))).toBe('invalid_argument');
    expect(codeOf(() => lk().sample(x, 10, { random: () => 1 }))).toBe('invalid_argument');
    // Still usable.
    expect(lk().sample(x, 10, { seed: 1, topK: 3 }).length).toBe(2);
  });

  it('topK and minTokensToKeep larger than the vocabulary keep everything', () => {
    const x = randomLogits(2, 10, 1, 4);
    expect(finiteIndices(lk().filterLogits(x, 10, { topK: 2 ** 40 }), 0, 10).length).toBe(10);
    expect(finiteIndices(lk().filterLogits(x, 10, { topP: 0.01, minTokensToKeep: 2 ** 40 }), 10, 10).length).toBe(10);
  });
});

// ---- half precision ----------------------------------------------------------------------

/** float16 bits → value, written independently of the library. */
function f16ToNumber(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 31;
  const f = h & 1023;
  if (e === 31) return f ? NaN : sign * Infinity;
  return e === 0 ? sign * f * 2 ** -24 : sign * (1024 + f) * 2 ** (e - 25);
}
function bf16ToNumber(h: number): number {
  const b = new Uint32Array([h << 16]);
  return new Float32Array(b.buffer)[0]!;
}

/** Random finite half bits whose values spread over typical logit magnitudes. */
function randomHalfBits(n: number, dtype: 'float16' | 'bfloat16', seed: number): Uint16Array {
  const rand = rng(seed);
  const out = new Uint16Array(n);
  const f = new Float32Array(1);
  const u = new Uint32Array(f.buffer);
  for (let i = 0; i < n; i++) {
    f[0] = 4 * normal(rand);
    if (dtype === 'bfloat16') out[i] = u[0]! >>> 16;
    else {
      // Truncate to the nearest lower-magnitude half (exactness of the test does not need rounding).
      const v = f[0]!;
      const a = Math.abs(v);
      const e = Math.max(Math.floor(Math.log2(a)), -14);
      const frac = Math.floor((a / 2 ** e) * 1024) - (e === -14 && a < 2 ** -14 ? 0 : 1024);
      out[i] = (v < 0 ? 0x8000 : 0) | (a < 2 ** -14 ? 0 : (e + 15) << 10) | (a < 2 ** -14 ? Math.floor(a / 2 ** -24) : frac);
    }
  }
  return out;
}

describeEachBackend('half-precision logits', (lk) => {
  for (const dtype of ['float16', 'bfloat16'] as const) {
    it(`${dtype}: every bit pattern widens exactly`, () => {
      const bits = Uint16Array.from({ length: 65536 }, (_, i) => i);
      // topk with classes = 1, k = 1 returns the widened input values as they are.
      const { values } = lk().topk(bits, 1, 1, { dtype });
      const ref = dtype === 'float16' ? f16ToNumber : bf16ToNumber;
      for (let i = 0; i < 65536; i++) {
        const want = ref(i);
        if (Number.isNaN(want)) expect(Number.isNaN(values[i]!), `bits ${i.toString(16)}`).toBe(true);
        else if (!Object.is(values[i], want)) expect(values[i], `bits ${i.toString(16)}`).toBe(want);
      }
    });

    it(`${dtype}: softmax, logSoftmax, logsumexp, crossEntropy, argmax, topk, sample and filterLogits equal the float32 results`, () => {
      const rows = 9;
      const C = 1037;
      const bits = randomHalfBits(rows * C, dtype, 77);
      const f32 = Float32Array.from(bits, dtype === 'float16' ? f16ToNumber : bf16ToNumber);
      const e: Engine = lk();
      const o = { dtype };
      expect(e.softmax(bits, C, o)).toEqual(e.softmax(f32, C));
      expect(e.logSoftmax(bits, C, { ...o, temperature: 0.8 })).toEqual(e.logSoftmax(f32, C, { temperature: 0.8 }));
      expect(e.logsumexp(bits, C, o)).toEqual(e.logsumexp(f32, C));
      const target = Int32Array.from({ length: rows }, (_, i) => (i * 97) % C);
      expect(e.crossEntropy(bits, C, target, o)).toBe(e.crossEntropy(f32, C, target));
      expect(e.crossEntropy(bits, C, target, { ...o, reduction: 'none' })).toEqual(e.crossEntropy(f32, C, target, { reduction: 'none' }));
      expect(e.argmax(bits, C, o)).toEqual(e.argmax(f32, C));
      expect(e.topk(bits, C, 7, o)).toEqual(e.topk(f32, C, 7));
      const so = { temperature: 0.9, topK: 50, topP: 0.9, seed: 5 };
      expect(e.sample(bits, C, { ...so, ...o })).toEqual(e.sample(f32, C, so));
      expect(e.filterLogits(bits, C, { ...so, ...o })).toEqual(e.filterLogits(f32, C, so));
      // Tensors carrying the dtype in `.type` (onnxruntime: 'float16').
      if (dtype === 'float16') expect(e.sample({ data: bits, dims: [rows, C], type: 'float16' }, C, so)).toEqual(e.sample(f32, C, so));
    });
  }

  const hasF16 = typeof (globalThis as { Float16Array?: unknown }).Float16Array === 'function';
  it.skipIf(!hasF16)(`Float16Array inputs equal the float32 results${hasF16 ? '' : ' (Node 24+ only: Float16Array is missing on this runtime)'}`, () => {
    const F16 = (globalThis as unknown as { Float16Array: new (a: ArrayLike<number>) => ArrayLike<number> }).Float16Array;
    const h = new F16(randomLogits(4, 100, 3, 1));
    const f32 = Float32Array.from(h);
    expect(lk().sample(h as never, 100, { seed: 3, topP: 0.9 })).toEqual(lk().sample(f32, 100, { seed: 3, topP: 0.9 }));
  });

  it('half inputs with a bad dtype are coded errors', () => {
    const bits = new Uint16Array(8);
    expect(codeOf(() => lk().sample(bits, 4, {}))).toBe('invalid_argument');
    expect(codeOf(() => lk().sample(bits, 3, { dtype: 'float16' }))).toBe('shape_mismatch');
    expect(codeOf(() => lk().sample(new Float32Array(8), 4, { dtype: 'bfloat16' }))).toBe('invalid_argument');
    expect(lk().sample(bits, 4, { dtype: 'bfloat16', seed: 1 }).length).toBe(2);
  });
});

// ---- tensors --------------------------------------------------------------------------------

describeEachBackend('tensor inputs', (lk) => {
  it('onnxruntime and transformers.js-like tensors (data, dims, type) are accepted', async () => {
    const x = randomLogits(3, 500, 2, 21);
    const so = { topK: 20, topP: 0.8, seed: 9 };
    const want = lk().sample(x, 500, so);
    // A plain object shaped like both runtimes' tensors, with a leading [batch, 1] like a decoder step.
    expect(lk().sample({ data: x, dims: [3, 1, 500], type: 'float32' }, 500, so)).toEqual(want);
    expect(lk().filterLogits({ data: x, dims: [3, 500] }, 500, so)).toEqual(lk().filterLogits(x, 500, so));
    // The real onnxruntime Tensor class (pure JS, from onnxruntime-common).
    const { Tensor } = await import('onnxruntime-common');
    const t = new Tensor('float32', x, [3, 500]);
    expect(lk().sample(t as never, 500, so)).toEqual(want);
    expect(lk().argmax(t as never)).toEqual(lk().argmax(x, 500));
    expect(codeOf(() => lk().sample({ data: x, dims: [3, 500] }, 499, so))).toBe('shape_mismatch');
  });
});

// ---- wasm and JS agree token for token -----------------------------------------------------

describeVsJs('sampling: wasm and JS give identical tokens and filtered logits', () => {
  const both = async (): Promise<[Engine, Engine]> => [await engineFor('wasm'), await engineFor('js')];

  it('random logits and options, several vocabulary sizes', async () => {
    const [w, j] = await both();
    expect(w.backend).toBe('wasm');
    const rand = rng(4242);
    for (let trial = 0; trial < 150; trial++) {
      const C = [5, 31, 1000, 4099][trial % 4]!;
      const rows = 4;
      const offset = trial % 9 === 4 ? 3e4 : trial % 9 === 5 ? -1e5 : 0; // large |m|: margins in f32
      const x = randomLogits(rows, C, [0.3, 1, 3, 10][(trial >> 2) % 4]!, 500 + trial, offset);
      if (trial % 5 === 0) for (let i = 0; i < x.length; i += 7) x[i] = x[i + 1] ?? 0; // ties
      if (trial % 11 === 0) x[3] = NaN;
      if (trial % 13 === 1) (x[1] = Infinity), (x[C - 1] = Infinity), (x[C + 2] = -Infinity);
      if (trial % 17 === 2) x.fill(-Infinity, 0, C);
      const o = randomOptions(rand, C);
      const so = { ...o, seed: trial * 31 };
      const tag = `trial ${trial}: ${JSON.stringify({ ...o, penaltyTokens: Array.from(o.penaltyTokens ?? []) })}`;
      expect(Array.from(w.sample(x, C, so)), tag).toEqual(Array.from(j.sample(x, C, so)));
      expect(w.filterLogits(x, C, o), tag).toEqual(j.filterLogits(x, C, o));
    }
  });

  it('a 128,256-wide row: every path (top-k, top-p only, min-p only, none) over many seeds', async () => {
    const [w, j] = await both();
    const C = 128_256;
    const x = randomLogits(1, C, 2.5, 31337);
    const flat = randomLogits(1, C, 0.3, 31338);
    const configs: SampleOptions[] = [
      { topK: 50, topP: 0.9, temperature: 0.8 },
      { topP: 0.9, temperature: 0.8 },
      { topP: 0.999 },
      { topP: 0.5, minTokensToKeep: 3000 },
      { minP: 0.05 },
      { minP: 0.5, minTokensToKeep: 10 },
      { temperature: 1.1 },
      { topK: 1000, minP: 0.01, repetitionPenalty: 1.3, penaltyTokens: Int32Array.from({ length: 100 }, (_, i) => i * 1000) },
    ];
    for (const row of [x, flat])
      for (const o of configs) {
        // Four rows of the same logits, so four uniforms go through one call.
        const rows = new Float32Array(4 * C);
        for (let r = 0; r < 4; r++) rows.set(row, r * C);
        const ru = rng(7);
        const uniforms = [0, 0.999999, ru(), ru()];
        const draw = (e: Engine): number[] => {
          let i = 0;
          return Array.from(e.sample(rows, C, { ...o, random: () => uniforms[i++]! }));
        };
        expect(draw(w), JSON.stringify(o)).toEqual(draw(j));
        expect(w.filterLogits(row, C, o)).toEqual(j.filterLogits(row, C, o));
      }
  }, 240_000); // the JS reference sorts 128,256 keys per row; slow on a loaded machine

  it('the shared f64 exp is within 2 ulp of Math.exp on [-700, 0] and exact at 0', () => {
    expect(expNonPositive(0)).toBe(1);
    expect(expNonPositive(-0)).toBe(1);
    expect(expNonPositive(-Infinity)).toBe(0);
    expect(expNonPositive(-700.5)).toBe(0);
    const rand = rng(1);
    let worst = 0;
    for (let i = 0; i < 200_000; i++) {
      const d = i % 2 ? -700 * rand() : -5 * rand();
      const want = Math.exp(d);
      const ulp = 2 ** (Math.floor(Math.log2(want)) - 52);
      worst = Math.max(worst, Math.abs(expNonPositive(d) - want) / ulp);
    }
    expect(worst).toBeLessThanOrEqual(2);
  });
});
