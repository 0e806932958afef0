/**
 * Every op that takes logits reads float16 / bfloat16 bits the same way (issue 11 part 3): a
 * Uint16Array with options.dtype, a 'uint16' buffer with options.dtype, a tensor whose `type` says
 * the dtype, a tensor with options.dtype, and a Float16Array where the runtime has one. Widening is
 * exact, so each op must give the same result, bit for bit on the same backend, as on the widened
 * float32 values passed as a Float32Array. Before this, ece / reliability / fitTemperature / klDiv /
 * fitCalibration / estimateLabelShift / applyTokenBitmask ignored the dtype (or refused the key).
 */
import { expect, it } from 'vitest';
import { describeEachBackend } from './helpers/backends.js';
import { randomLogits, randomTargets } from './helpers/random.js';
import { float32ToBfloat16Bits, float32ToFloat16Bits, halfToFloat, init, type Engine, type HalfDType } from '../src/index.js';

const C = 13; // not a multiple of 4: the vector kernels' tails run too
const ROWS = 2 * C;
const x0 = randomLogits(ROWS, C, 3, 21);
const q0 = randomLogits(ROWS, C, 3, 22);
const t0 = randomLogits(ROWS + 4, C, 3, 23);
// Every class occurs (label shift needs a source prior for each).
const y = Int32Array.from({ length: ROWS }, (_, i) => (5 * i) % C);
const draftTokens = randomTargets(ROWS - 1, C, 25);
const mask = Int32Array.from([0b1_0110_1101_0111]);

function bitsOf(v: Float32Array, dtype: HalfDType): Uint16Array {
  return Uint16Array.from(v, (f) => (dtype === 'float16' ? float32ToFloat16Bits(f) : float32ToBfloat16Bits(f)));
}
function widen(bits: Uint16Array, dtype: HalfDType): Float32Array {
  if (dtype === 'float16') return Float32Array.from(bits, halfToFloat);
  return new Float32Array(Uint32Array.from(bits, (b) => b << 16).buffer);
}

/**
 * How logits reach an op: `input` turns half-precision bits of `rows` rows into the argument, `classes`
 * is what stands in the classes slot ([] for a tensor form), `opts` the dtype option to merge.
 */
interface Form {
  name: string;
  input(lk: Engine, bits: Uint16Array, dtype: HalfDType): unknown;
  tensor: boolean;
  withDType: boolean;
}
const FORMS: Form[] = [
  { name: 'Uint16Array + dtype', input: (_, b) => b, tensor: false, withDType: true },
  {
    name: "'uint16' buffer + dtype",
    input: (lk, b) => {
      const buf = lk.alloc(b.length, 'uint16');
      buf.array.set(b);
      return buf;
    },
    tensor: false,
    withDType: true,
  },
  { name: 'tensor with type', input: (_, b, dtype) => ({ data: b, dims: [b.length / C, C], type: dtype }), tensor: true, withDType: false },
  { name: 'tensor + dtype', input: (_, b) => ({ data: b, dims: [b.length / C, C] }), tensor: true, withDType: true },
];
const F16 = (globalThis as { Float16Array?: new (b: ArrayBuffer, o: number, n: number) => unknown }).Float16Array;
// Node 24 and recent browsers: the test runs on Node 24 too, where this form is checked.
if (F16) FORMS.push({ name: 'Float16Array', input: (_, b) => new F16(b.slice().buffer, 0, b.length), tensor: false, withDType: false });

/**
 * One op: `call(lk, X, classes, opts)` with X turning float32 logits (rows of C) into the form under
 * test; classes is [C] or [] (tensor form), spread where the op takes it.
 */
type Make = (v: Float32Array) => unknown;
interface Op {
  name: string;
  call(lk: Engine, X: Make, c: number[], o: Record<string, unknown>): unknown;
}
// `any`: the forms differ per call; results are compared, not typed.
const any = (lk: Engine) => lk as any;
const OPS: Op[] = [
  { name: 'softmax', call: (lk, X, c, o) => any(lk).softmax(X(x0), ...c, { ...o, temperature: 0.7 }) },
  { name: 'logSoftmax', call: (lk, X, c, o) => any(lk).logSoftmax(X(x0), ...c, o) },
  { name: 'logsumexp', call: (lk, X, c, o) => any(lk).logsumexp(X(x0), ...c, o) },
  { name: 'argmax', call: (lk, X, c, o) => any(lk).argmax(X(x0), ...c, o) },
  { name: 'topk', call: (lk, X, c, o) => any(lk).topk(X(x0), ...c, 4, o) },
  { name: 'adjustLogits', call: (lk, X, c, o) => any(lk).adjustLogits(X(x0), ...c, { ...o, temperature: 1.5, bias: new Float32Array(C).fill(0.25) }) },
  { name: 'crossEntropy', call: (lk, X, c, o) => any(lk).crossEntropy(X(x0), ...c, y, { ...o, reduction: 'none' }) },
  { name: 'crossEntropyWithGrad', call: (lk, X, c, o) => any(lk).crossEntropyWithGrad(X(x0), ...c, y, o) },
  { name: 'entropy', call: (lk, X, c, o) => any(lk).entropy(X(x0), ...c, o) },
  { name: 'klDiv', call: (lk, X, c, o) => any(lk).klDiv(X(x0), X(q0), ...c, { ...o, reduction: 'none' }) },
  { name: 'perplexity', call: (lk, X, c, o) => any(lk).perplexity(X(x0), ...c, y, o) },
  { name: 'ece', call: (lk, X, c, o) => any(lk).ece(X(x0), ...c, y, { ...o, bins: 5 }) },
  { name: 'reliability', call: (lk, X, c, o) => any(lk).reliability(X(x0), ...c, y, o) },
  { name: 'fitTemperature', call: (lk, X, c, o) => any(lk).fitTemperature(X(x0), ...c, y, o) },
  { name: 'fitCalibration', call: (lk, X, c, o) => any(lk).fitCalibration(X(x0), ...c, y, { ...o, method: 'vector' }) },
  {
    name: 'applyCalibration',
    call: (lk, X, c, o) => any(lk).applyCalibration(X(x0), ...c, { method: 'bcts', classes: C, temperature: 1.5, bias: new Float32Array(C).fill(0.1) }, o),
  },
  { name: 'estimateLabelShift', call: (lk, X, c, o) => any(lk).estimateLabelShift(X(x0), ...c, y, X(t0), o) },
  { name: 'contextualBias', call: (lk, X, c, o) => any(lk).contextualBias(X(x0), ...c, o) },
  { name: 'filterLogits', call: (lk, X, c, o) => any(lk).filterLogits(X(x0), ...c, { ...o, topK: 5, topP: 0.9 }) },
  { name: 'sample', call: (lk, X, c, o) => any(lk).sample(X(x0), ...c, { ...o, seed: 7, temperature: 0.8 }) },
  { name: 'verifyDraft', call: (lk, X, c, o) => any(lk).verifyDraft(X(x0), X(q0.subarray(C)), ...c, draftTokens, { ...o, seed: 3 }) },
  { name: 'applyTokenBitmask', call: (lk, X, c, o) => any(lk).applyTokenBitmask(X(x0), ...c, mask, o) },
];

describeEachBackend('every op that takes logits reads float16 / bfloat16 bits', (lk, backend) => {
  for (const dtype of ['float16', 'bfloat16'] as const) {
    for (const op of OPS) {
      it(`${op.name}, ${dtype}: every form gives what the widened float32 values give`, () => {
        const e = lk();
        const bufs: { free(): void }[] = [];
        const expected = op.call(e, (v) => widen(bitsOf(v, dtype), dtype), [C], {});
        let checked = 0;
        for (const form of FORMS) {
          if (form.name === 'Float16Array' && dtype !== 'float16') continue;
          const make: Make = (v) => {
            const a = form.input(e, bitsOf(v, dtype), dtype);
            if (typeof a === 'object' && a !== null && 'free' in a) bufs.push(a as { free(): void });
            return a;
          };
          const got = op.call(e, make, form.tensor ? [] : [C], form.withDType ? { dtype } : {});
          expect(got, `${op.name} via ${form.name} on ${backend}`).toEqual(expected);
          checked++;
        }
        for (const b of bufs) b.free();
        expect(checked).toBeGreaterThanOrEqual(4);
        // A bit pattern passed without its dtype is refused, never read as something else.
        expect(() => op.call(e, (v) => bitsOf(v, dtype), [C], {})).toThrow(/options\.dtype 'float16' or 'bfloat16'/);
        expect(e.memoryStats().inUse).toBe(0);
      });
    }
  }

  it('the issue 11 call: lk.ece(u16, 3, y, { dtype: "float16" })', () => {
    const v = new Float32Array([2, 1, 0.1, -1, 3, 0, 0.5, 0.5, 4]);
    const u16 = bitsOf(v, 'float16');
    const labels = new Int32Array([0, 1, 1]);
    expect(lk().ece(u16, 3, labels, { dtype: 'float16' })).toBe(lk().ece(widen(u16, 'float16'), 3, labels));
  });
});

it('ops that make several engine calls work on inputs in wasm memory while that memory grows', async () => {
  // A fresh engine starts with 1 MiB; 2 MB of widened logits, and the calls' temporaries, make it grow,
  // which detaches every view of the old memory. Before the calibration ops copied such inputs, ece
  // here threw a TypeError ("detached ArrayBuffer") instead of answering.
  const e = await init({ backend: 'wasm' });
  try {
    const R = 500;
    const W = 1000;
    const v = Float32Array.from({ length: R * W }, (_, i) => Math.sin(i * 0.37) * 3);
    const bits = bitsOf(v, 'float16');
    const labels = Int32Array.from({ length: R }, (_, i) => (7 * i) % W);
    const wide = widen(bits, 'float16');
    const before = e.memoryStats().wasmBytes;
    expect(e.ece(bits, W, labels, { dtype: 'float16' })).toBe(e.ece(wide, W, labels));
    expect(e.fitTemperature(bits, W, labels, { dtype: 'float16' })).toEqual(e.fitTemperature(wide, W, labels));
    const buf = e.alloc(R * W);
    buf.array.set(wide);
    expect(e.reliability(buf, W, labels)).toEqual(e.reliability(wide, W, labels));
    buf.free();
    expect(e.memoryStats().wasmBytes).toBeGreaterThan(before);
  } finally {
    e.dispose();
  }
}, 120_000);

it('ops with two logits arguments in wasm memory survive the growth that resolving the second causes', async () => {
  // Widening the second argument grows memory and detached the first one: klDiv, verifyDraft and
  // estimateLabelShift threw a TypeError on large half-precision inputs. Each case is ≥ 2 MB widened.
  type Call = (e: Engine, a: unknown, b: unknown, o: { dtype?: 'bfloat16' }) => unknown;
  const cases: [string, number, number, Call][] = [
    ['klDiv', 50, 20000, (e, a, b, o) => e.klDiv(a as never, b as never, 20000, { ...o, reduction: 'none' })],
    ['verifyDraft', 50, 20000, (e, a, b, o) => e.verifyDraft(a as never, b as never, 20000, new Int32Array(49), { ...o, seed: 1, topK: 50 })],
    // Label shift needs every class in the source labels: as many rows as classes.
    ['estimateLabelShift', 720, 720, (e, a, b, o) => e.estimateLabelShift(a as never, 720, Int32Array.from({ length: 720 }, (_, i) => i), b as never, o)],
  ];
  for (const [name, R, W, call] of cases) {
    const v = Float32Array.from({ length: R * W }, (_, i) => Math.sin(i * 0.37) * 3);
    const bits = bitsOf(v, 'bfloat16');
    const wide = widen(bits, 'bfloat16');
    // verifyDraft's draft has one row fewer than its target.
    const second = <A extends Float32Array | Uint16Array>(a: A): A => (name === 'verifyDraft' ? (a.subarray(W) as A) : a);
    const e = await init({ backend: 'wasm' });
    try {
      const want = call(e, wide, second(wide), {});
      expect(call(e, bits, second(bits), { dtype: 'bfloat16' }), `${name}, half precision`).toEqual(want);
      const [ba, bb] = [e.alloc(wide.length), e.alloc(second(wide).length)];
      ba.array.set(wide);
      bb.array.set(second(wide));
      expect(call(e, ba, bb, {}), `${name}, buffers`).toEqual(want);
      ba.free();
      bb.free();
    } finally {
      e.dispose();
    }
  }
}, 180_000);
