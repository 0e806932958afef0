/**
 * TensorLike at the type level and at run time: a tensor without a dtype name must hold logits
 * (an int32 one used to type-check through `data: ArrayLike<unknown>`, then throw), while
 * onnxruntime's own Tensor, whose `data` is typed as the union over every dtype, still type-checks
 * as session.run() returns it. The `@ts-expect-error` lines are checked by `npm run typecheck`.
 * Also: the "classes is missing" message names the argument classes follows (q in klDiv).
 */
import type { Tensor, TypedTensor } from 'onnxruntime-common';
import { expect, it } from 'vitest';
import { describeEachBackend } from './helpers/backends.js';
import { LogitkitError, type Engine, type TensorLike } from '../src/index.js';

// Never called: only type-checked.
export function typeLevel(lk: Engine, ort: Tensor, f32: TypedTensor<'float32'>, f16: TypedTensor<'float16'>, i32: TypedTensor<'int32'>): void {
  const accepted: TensorLike[] = [
    { data: new Float32Array(6), dims: [2, 3] },
    { data: new Float64Array(6), dims: [2, 3] },
    { data: [1, 2, 3, 4, 5, 6], dims: [2, 3] },
    { data: new Uint16Array(6), dims: [2, 3], type: 'float16' },
    // Runtime tensors as the runtimes type them.
    ort,
    f32,
    f16,
  ];
  for (const t of accepted) lk.softmax(t);
  lk.klDiv(ort, ort);
  lk.sample(ort, { topK: 5 });
  // The documented limit: a runtime tensor that names its dtype is admitted as wide as its runtime types it.
  lk.softmax(i32);

  // @ts-expect-error int32 data without a dtype name is not logits
  lk.softmax({ data: new Int32Array(6), dims: [2, 3] });
  // @ts-expect-error
  lk.argmax({ data: new Uint8Array(6), dims: [2, 3] });
  // @ts-expect-error strings are never logits
  lk.entropy({ data: ['1', '2', '3'], dims: [1, 3] });
  // @ts-expect-error
  const notLogits: TensorLike = { data: new BigInt64Array(3), dims: [3] };
  void notLogits;
}

describeEachBackend('TensorLike', (lk) => {
  it('a float32 onnxruntime Tensor is read, an int32 one is refused with invalid_argument, and the engine keeps working', async () => {
    const { Tensor: OrtTensor } = await import('onnxruntime-common');
    const x = new Float32Array([2, 1, 0.1, -1, 3, 0]);
    const t = new OrtTensor('float32', x.slice(), [2, 3]);
    expect(lk().softmax(t)).toEqual(lk().softmax(x, 3));
    const bad = new OrtTensor('int32', new Int32Array(6), [2, 3]);
    let err: unknown;
    try {
      lk().softmax(bad);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(LogitkitError);
    expect((err as LogitkitError).code).toBe('invalid_argument');
    expect((err as LogitkitError).argument).toBe('x');
    expect(lk().argmax(x, 3)).toEqual(new Int32Array([0, 1]));
  });

  it('"classes is missing" names the argument classes follows in the signature', () => {
    const x = new Float32Array([2, 1, 0.1, -1, 3, 0]);
    const miss = (call: () => unknown): string => {
      try {
        call();
      } catch (e) {
        if (!(e instanceof LogitkitError)) throw e;
        expect(e.code).toBe('shape_mismatch');
        expect(e.argument).toBe('classes');
        return e.message;
      }
      throw new Error('expected a LogitkitError, the call returned');
    };
    // klDiv(p, q, classes): classes comes after q.
    expect(miss(() => (lk() as any).klDiv(x, x, undefined))).toBe(
      'shape_mismatch: classes is missing: p = Float32Array(6) has no .dims to take it from; pass classes after q, or a tensor',
    );
    // verifyDraft(targetLogits, draftLogits, classes, …)
    expect(miss(() => (lk() as any).verifyDraft(x, x, Int32Array.of(0)))).toBe(
      'shape_mismatch: classes is missing: targetLogits = Float32Array(6) has no .dims to take it from; pass classes after draftLogits, or a tensor',
    );
    // estimateLabelShift(sourceX, classes, …): classes follows sourceX itself.
    expect(miss(() => (lk() as any).estimateLabelShift(x, undefined, Int32Array.of(0, 1), x))).toBe(
      'shape_mismatch: classes is missing: sourceX = Float32Array(6) has no .dims to take it from; pass classes after sourceX, or a tensor',
    );
  });
});
