/**
 * Every op that takes logits has a tensor form without `classes` (classes = the tensor's last dim):
 * `lk.softmax(outputs.logits)`, `lk.topk(t, k)`, `lk.crossEntropy(t, target)`, `lk.sample(t, { seed })`…
 * Each form must give exactly what the classes form gives on the same numbers (same backend, so
 * bit for bit), for plain `{ data, dims }` objects and for onnxruntime's real `Tensor`, whose static
 * type (data: a union over every dtype) is what `session.run()` returns. The dispatch between the two
 * forms must never guess: a Float32Array without classes is a `shape_mismatch` naming `classes`.
 *
 * The `@ts-expect-error` lines are part of the test: `npm run typecheck` fails if the types start
 * accepting a call that can only fail at run time.
 */
import { Tensor } from 'onnxruntime-common';
import { expect, it } from 'vitest';
import { describeEachBackend } from './helpers/backends.js';
import { randomLogits, randomTargets } from './helpers/random.js';
import { float32ToFloat16Bits, LogitkitError, type Engine, type TensorLike } from '../src/index.js';

const ROWS = 6;
const C = 37; // not a multiple of 4: the vector kernels' tails run too

function errorOf(f: () => unknown): LogitkitError {
  try {
    f();
  } catch (e) {
    if (e instanceof LogitkitError) return e;
    throw e;
  }
  throw new Error('expected a LogitkitError, nothing was thrown');
}

const x = randomLogits(ROWS, C, 3, 7);
const q = randomLogits(ROWS, C, 3, 8);
const y = randomTargets(ROWS, C, 9);
const soft = softmaxRows(q);

/** Probability targets, computed without the engine under test. */
function softmaxRows(v: Float32Array): Float32Array {
  const out = new Float32Array(v.length);
  for (let r = 0; r < ROWS; r++) {
    let m = -Infinity;
    for (let j = 0; j < C; j++) m = Math.max(m, v[r * C + j]!);
    let s = 0;
    for (let j = 0; j < C; j++) s += Math.exp(v[r * C + j]! - m);
    for (let j = 0; j < C; j++) out[r * C + j] = Math.exp(v[r * C + j]! - m) / s;
  }
  return out;
}

/** Each op called both ways; `t` is a tensor holding `x` (as rows × C, whatever its leading dims). */
const OPS: Array<[string, (lk: Engine, t: TensorLike) => unknown, (lk: Engine) => unknown]> = [
  ['logsumexp', (lk, t) => lk.logsumexp(t), (lk) => lk.logsumexp(x, C)],
  ['softmax', (lk, t) => lk.softmax(t, { temperature: 0.7 }), (lk) => lk.softmax(x, C, { temperature: 0.7 })],
  ['logSoftmax', (lk, t) => lk.logSoftmax(t), (lk) => lk.logSoftmax(x, C)],
  ['argmax', (lk, t) => lk.argmax(t), (lk) => lk.argmax(x, C)],
  ['topk', (lk, t) => lk.topk(t, 5), (lk) => lk.topk(x, C, 5)],
  ['topk k = 0', (lk, t) => lk.topk(t, 0, {}), (lk) => lk.topk(x, C, 0)],
  ['crossEntropy', (lk, t) => lk.crossEntropy(t, y), (lk) => lk.crossEntropy(x, C, y)],
  ['crossEntropy none', (lk, t) => lk.crossEntropy(t, y, { reduction: 'none', labelSmoothing: 0.1 }), (lk) => lk.crossEntropy(x, C, y, { reduction: 'none', labelSmoothing: 0.1 })],
  ['crossEntropy soft', (lk, t) => lk.crossEntropy(t, soft, { reduction: 'sum' }), (lk) => lk.crossEntropy(x, C, soft, { reduction: 'sum' })],
  ['crossEntropyWithGrad', (lk, t) => lk.crossEntropyWithGrad(t, y, { reduction: 'sum' }), (lk) => lk.crossEntropyWithGrad(x, C, y, { reduction: 'sum' })],
  ['entropy', (lk, t) => lk.entropy(t), (lk) => lk.entropy(x, C)],
  ['klDiv', (lk, t) => lk.klDiv(t, q), (lk) => lk.klDiv(x, q, C)],
  ['klDiv batchmean', (lk, t) => lk.klDiv(t, { data: q, dims: [ROWS, C] }, { reduction: 'batchmean' }), (lk) => lk.klDiv(x, q, C, { reduction: 'batchmean' })],
  ['perplexity', (lk, t) => lk.perplexity(t, y, { ignoreIndex: y[0] }), (lk) => lk.perplexity(x, C, y, { ignoreIndex: y[0] })],
  ['ece', (lk, t) => lk.ece(t, y, { bins: 4 }), (lk) => lk.ece(x, C, y, { bins: 4 })],
  ['reliability', (lk, t) => lk.reliability(t, y), (lk) => lk.reliability(x, C, y)],
  ['fitTemperature', (lk, t) => lk.fitTemperature(t, y), (lk) => lk.fitTemperature(x, C, y)],
  ['filterLogits', (lk, t) => lk.filterLogits(t, { topK: 5, topP: 0.9 }), (lk) => lk.filterLogits(x, C, { topK: 5, topP: 0.9 })],
  ['sample', (lk, t) => lk.sample(t, { seed: 42 }), (lk) => lk.sample(x, C, { seed: 42 })],
  ['sample, no options', (lk, t) => lk.sample(t, { temperature: 0 }).length + lk.sample(t).length, () => 2 * ROWS],
];

describeEachBackend('tensor forms without classes', (lk) => {
  it.each(OPS)('%s: a { data, dims } tensor (3-D) gives what (x, classes) gives', (_, tensorForm, classesForm) => {
    const t = { data: x, dims: [2, ROWS / 2, C] };
    expect(tensorForm(lk(), t)).toEqual(classesForm(lk()));
  });

  it.each(OPS)('%s: an onnxruntime Tensor, typed as session.run() returns it', (_, tensorForm, classesForm) => {
    // `Tensor`, not `TypedTensor<'float32'>`: its data is typed as any dtype, as outputs.logits is.
    const t: Tensor = new Tensor('float32', x.slice(), [ROWS, C]);
    expect(tensorForm(lk(), t)).toEqual(classesForm(lk()));
  });

  it('a float16 onnxruntime Tensor is read as half precision, with and without classes', () => {
    const bits = Uint16Array.from(x, float32ToFloat16Bits);
    const t: Tensor = new Tensor('float16', bits, [ROWS, C]);
    const want = lk().softmax(bits, C, { dtype: 'float16' });
    expect(lk().softmax(t)).toEqual(want);
    expect(lk().softmax(t, C)).toEqual(want);
    expect(lk().sample(t, { seed: 3 })).toEqual(lk().sample(bits, C, { dtype: 'float16', seed: 3 }));
    expect(lk().topk(t, 3)).toEqual(lk().topk(bits, C, 3, { dtype: 'float16' }));
  });

  it('special values and one-class rows go through the tensor form unchanged', () => {
    const s = Float32Array.of(0, -Infinity, NaN, 1, -Infinity, -Infinity, Infinity, 2, 3);
    const t = { data: s, dims: [3, 3] };
    expect(lk().softmax(t)).toEqual(lk().softmax(s, 3));
    expect(lk().logsumexp(t)).toEqual(lk().logsumexp(s, 3));
    expect(lk().argmax(t)).toEqual(Int32Array.of(2, 0, 0));
    const one = { data: Float32Array.of(4, -1, NaN), dims: [3, 1] };
    expect(lk().logSoftmax(one)).toEqual(lk().logSoftmax(one.data, 1));
    expect(lk().topk(one, 1).indices).toEqual(new Int32Array(3));
  });

  it('a tensor with classes given too still works, and classes must equal its last dim', () => {
    const t = { data: x, dims: [ROWS, C] };
    expect(lk().softmax(t, C)).toEqual(lk().softmax(x, C));
    expect(lk().topk(t, C, 5)).toEqual(lk().topk(x, C, 5));
    expect(lk().crossEntropy(t, C, y)).toBe(lk().crossEntropy(x, C, y));
    const e = errorOf(() => lk().topk(t, C - 1, 5));
    expect([e.code, e.argument]).toEqual(['shape_mismatch', 'classes']);
    expect(e.message).toContain(`ends in ${C}`);
  });

  it('logits without dims and without classes: shape_mismatch naming classes, for every op', () => {
    const calls: Array<() => unknown> = [
      // @ts-expect-error -- a Float32Array carries no shape: classes is required
      () => lk().softmax(x),
      // @ts-expect-error -- idem, with options where classes should be
      () => lk().logSoftmax(x, { temperature: 2 }),
      // @ts-expect-error -- idem
      () => lk().logsumexp(x),
      // @ts-expect-error -- idem
      () => lk().argmax(x),
      // @ts-expect-error -- idem: (x, k) is the tensor form
      () => lk().topk(x, 5),
      // @ts-expect-error -- idem: (x, target) is the tensor form
      () => lk().crossEntropy(x, y),
      // @ts-expect-error -- idem
      () => lk().crossEntropyWithGrad(x, y, { reduction: 'sum' }),
      // @ts-expect-error -- idem
      () => lk().entropy(x),
      // @ts-expect-error -- idem: classes comes from p
      () => lk().klDiv(x, { data: q, dims: [ROWS, C] }),
      // @ts-expect-error -- idem
      () => lk().perplexity(x, y),
      // @ts-expect-error -- idem
      () => lk().ece(x, y),
      // @ts-expect-error -- idem
      () => lk().reliability(x, y, { bins: 3 }),
      // @ts-expect-error -- idem
      () => lk().fitTemperature(x, y),
      // @ts-expect-error -- idem
      () => lk().filterLogits(x, { topK: 3 }),
      // @ts-expect-error -- idem: the call of issue 10 minus the tensor
      () => lk().sample(x, { seed: 42 }),
      // @ts-expect-error -- a plain number[] has no dims either
      () => lk().softmax([1, 2, 3]),
    ];
    for (const call of calls) {
      const e = errorOf(call);
      expect([e.code, e.argument, e.message]).toEqual(['shape_mismatch', 'classes', expect.stringContaining('classes is missing')]);
    }
    // The engine is unaffected.
    expect(lk().sample({ data: x, dims: [ROWS, C] }, { seed: 42 })).toEqual(lk().sample(x, C, { seed: 42 }));
  });

  it('the forms never overlap: what stands where classes or the options would go decides', () => {
    const t = { data: x, dims: [ROWS, C] };
    // Trailing undefineds are no arguments; an undefined classes before options means "from the tensor".
    expect(lk().softmax(t, undefined as unknown as number, { temperature: 0.7 })).toEqual(lk().softmax(x, C, { temperature: 0.7 }));
    expect(lk().topk(t, 5, undefined)).toEqual(lk().topk(x, C, 5));
    expect(lk().crossEntropy(t, undefined as unknown as number, y, { reduction: 'sum' })).toBe(lk().crossEntropy(x, C, y, { reduction: 'sum' }));
    // null is never an options object or a count.
    const c1 = errorOf(() => lk().softmax(t, null as never));
    expect([c1.code, c1.argument]).toEqual(['shape_mismatch', 'classes']);
    const c2 = errorOf(() => lk().softmax(x, '37' as never));
    expect([c2.code, c2.argument]).toEqual(['shape_mismatch', 'classes']);
    expect(errorOf(() => lk().crossEntropy(t, y, null as never)).argument).toBe('options');
    // A target is not an options object: (x, classes, target) stays the classes form, also when the
    // target is a buffer from alloc() (an object, but not options).
    expect(errorOf(() => lk().crossEntropy(t, C + 1, y)).argument).toBe('classes');
    const yb = lk().alloc(ROWS, 'int32');
    try {
      yb.array.set(y);
      expect(lk().crossEntropy(x, C, yb)).toBe(lk().crossEntropy(x, C, y));
      expect(lk().crossEntropy(t, yb, { reduction: 'none' })).toEqual(lk().crossEntropy(x, C, y, { reduction: 'none' }));
    } finally {
      yb.free();
    }
    // Arguments past the options are refused, not ignored.
    const extra = errorOf(() => (lk().softmax as (...a: unknown[]) => unknown)(t, { temperature: 2 }, 3));
    expect([extra.code, extra.argument]).toEqual(['invalid_argument', 'options']);
    expect(errorOf(() => (lk().topk as (...a: unknown[]) => unknown)(x, C, 5, {}, 1)).code).toBe('invalid_argument');
    expect(errorOf(() => (lk().sample as (...a: unknown[]) => unknown)(t, { seed: 1 }, { seed: 2 })).code).toBe('invalid_argument');
    // A tensor holding something other than numbers is refused, not coerced.
    expect(errorOf(() => lk().softmax(new Tensor('int64', new BigInt64Array(4), [2, 2]))).code).toBe('invalid_argument');
  });
});
