/**
 * Bad input to the loss ops (SEMANTICS.md §0, §4, §5, §9) through the public
 * API on both backends: each error has its stable code and names the argument,
 * returns no value, and leaves the engine working with unchanged results.
 */
import { expect, it } from 'vitest';
import { LogitkitError, type Engine } from '../src/index.js';
import { describeEachBackend } from './helpers/backends.js';
import { randomLogits, randomTargets } from './helpers/random.js';

function expectError(fn: () => unknown, code: string, argument?: string): void {
  let caught: unknown;
  let value: unknown;
  try {
    value = fn();
  } catch (e) {
    caught = e;
  }
  expect(value, 'an error must return no value').toBeUndefined();
  expect(caught).toBeInstanceOf(LogitkitError);
  const e = caught as LogitkitError;
  expect(e.code).toBe(code);
  if (argument !== undefined) {
    expect(e.argument).toBe(argument);
    expect(e.message).toContain(argument);
  }
}

const R = 5;
const C = 7;
const x = randomLogits(R, C, 2, 1);
const t = randomTargets(R, C, 2);
const q = new Float32Array(R * C).fill(1 / C);
const weight = new Float32Array(C).fill(1.5);

/** Every loss op once, so results before and after the errors can be compared bit for bit. */
function snapshot(lk: Engine): unknown[] {
  return [
    lk.crossEntropy(x, C, t),
    lk.crossEntropy(x, C, t, { reduction: 'none', weight, labelSmoothing: 0.1 }),
    lk.crossEntropy(x, C, q, { reduction: 'sum' }),
    lk.crossEntropyWithGrad(x, C, t, { labelSmoothing: 0.2 }),
    lk.crossEntropyWithGrad(x, C, q, { reduction: 'sum', weight }),
    lk.bceWithLogits(x, q, { reduction: 'none', posWeight: weight, classes: C }),
    lk.entropy(x, C),
    lk.klDiv(x, q, C, { reduction: 'batchmean' }),
    lk.perplexity(x, C, t),
  ];
}

describeEachBackend('loss ops: errors', (lk) => {
  let before: unknown[];
  const ops = {
    ce: (o?: object) => lk().crossEntropy(x, C, t, o as never),
    grad: (o?: object) => lk().crossEntropyWithGrad(x, C, t, o as never),
    ppl: (o?: object) => lk().perplexity(x, C, t, o as never),
  };

  it('takes a snapshot of correct results first', () => {
    before = snapshot(lk());
    expect(before.length).toBe(9);
  });

  it('shape_mismatch: class targets of the wrong length, or not an Int32Array', () => {
    for (const bad of [new Int32Array(R - 1), new Int32Array(R + 1)]) {
      expectError(() => lk().crossEntropy(x, C, bad), 'shape_mismatch', 'target');
      expectError(() => lk().crossEntropyWithGrad(x, C, bad), 'shape_mismatch', 'target');
      expectError(() => lk().perplexity(x, C, bad), 'shape_mismatch', 'target');
    }
    for (const bad of [new Uint32Array(R), new Float64Array(R), Array.from(t), new Int16Array(R), new Float32Array(R)]) {
      expectError(() => lk().crossEntropy(x, C, bad as never), 'shape_mismatch', 'target');
      expectError(() => lk().crossEntropyWithGrad(x, C, bad as never, { reduction: 'sum' }), 'shape_mismatch', 'target');
      expectError(() => lk().perplexity(x, C, bad as never), 'shape_mismatch', 'target');
    }
  });

  it('shape_mismatch: probability targets must have rows × classes entries', () => {
    expectError(() => lk().crossEntropy(x, C, new Float32Array(R * C - 1)), 'shape_mismatch', 'target');
    expectError(() => lk().crossEntropyWithGrad(x, C, new Float32Array(R * C + C)), 'shape_mismatch', 'target');
  });

  it('shape_mismatch: weight / posWeight of the wrong length, logits not a multiple of classes', () => {
    for (const bad of [new Float32Array(C - 1), new Float32Array(C + 1), new Float32Array(0)]) {
      expectError(() => lk().crossEntropy(x, C, t, { weight: bad }), 'shape_mismatch', 'options.weight');
      expectError(() => lk().crossEntropy(x, C, q, { weight: bad }), 'shape_mismatch', 'options.weight');
      expectError(() => lk().crossEntropyWithGrad(x, C, t, { weight: bad }), 'shape_mismatch', 'options.weight');
      expectError(() => lk().bceWithLogits(x, q, { weight: bad, classes: C }), 'shape_mismatch', 'options.weight');
      expectError(() => lk().bceWithLogits(x, q, { posWeight: bad, classes: C }), 'shape_mismatch', 'options.posWeight');
    }
    expectError(() => lk().crossEntropy(x, C, t, { weight: Array.from(weight) as never }), 'shape_mismatch', 'options.weight');
    expectError(() => lk().bceWithLogits(x, q.subarray(1)), 'shape_mismatch', 'target');
    expectError(() => lk().crossEntropy(x.subarray(1), C, t), 'shape_mismatch', 'x');
    expectError(() => lk().entropy(x.subarray(1), C), 'shape_mismatch', 'x');
    expectError(() => lk().klDiv(x, q.subarray(C), C), 'shape_mismatch', 'q');
    expectError(() => lk().crossEntropy(x, 0, t), 'shape_mismatch', 'classes');
  });

  it('C = 1 accepts only target 0; soft targets take no ignoreIndex ≥ 0; BCE classes must divide x', () => {
    expectError(() => lk().crossEntropy(new Float32Array([1, 2]), 1, Int32Array.from([0, 1])), 'target_out_of_range', 'target');
    expectError(() => lk().crossEntropy(x, C, q, { ignoreIndex: 0 }), 'invalid_argument', 'options.ignoreIndex');
    expectError(() => lk().bceWithLogits(x, q, { classes: C + 1 }), 'shape_mismatch', 'options.classes');
    expectError(() => lk().bceWithLogits(x, q, { weight }), 'shape_mismatch', 'options.weight'); // per-class needs classes
  });

  it('invalid_reduction', () => {
    for (const r of ['avg', 'batchmean', 'Mean', '', null, 1]) {
      expectError(() => ops.ce({ reduction: r }), 'invalid_reduction', 'options.reduction');
      expectError(() => lk().bceWithLogits(x, q, { reduction: r as never }), 'invalid_reduction', 'options.reduction');
    }
    expectError(() => ops.grad({ reduction: 'none' }), 'invalid_reduction', 'options.reduction');
    expectError(() => lk().klDiv(x, q, C, { reduction: 'mean' as never }), 'invalid_reduction', 'options.reduction');
  });

  it('target_out_of_range for t = C, t = -1 and t = -100 when ignoreIndex is not -100, in every reduction and ε', () => {
    const cases: [number, object][] = [
      [C, {}],
      [-1, {}],
      [-100, { ignoreIndex: 3 }],
      [C + 1000, { ignoreIndex: -1 }],
    ];
    for (const [bad, o] of cases) {
      const tb = Int32Array.from(t);
      tb[R - 1] = bad;
      for (const labelSmoothing of [0, 0.1, 1]) {
        for (const reduction of ['none', 'sum', 'mean'] as const)
          expectError(() => lk().crossEntropy(x, C, tb, { ...o, labelSmoothing, reduction }), 'target_out_of_range', 'target');
        for (const reduction of ['sum', 'mean'] as const)
          expectError(() => lk().crossEntropyWithGrad(x, C, tb, { ...o, labelSmoothing, reduction }), 'target_out_of_range', 'target');
      }
      expectError(() => lk().perplexity(x, C, tb, o), 'target_out_of_range', 'target');
    }
    // the message names the row and the accepted range
    expect(() => lk().crossEntropy(x, C, Int32Array.from([0, 1, 2, 3, 9]))).toThrow(/target\[4\] = 9, expected 0 ≤ t < 7/);
  });

  it('invalid_label_smoothing outside [0, 1] (negative too: a deviation from PyTorch)', () => {
    for (const eps of [-0.1, -1e-9, 1.0001, 2, NaN, Infinity, '0.1']) {
      expectError(() => ops.ce({ labelSmoothing: eps }), 'invalid_label_smoothing', 'options.labelSmoothing');
      expectError(() => ops.grad({ labelSmoothing: eps }), 'invalid_label_smoothing', 'options.labelSmoothing');
      expectError(() => lk().crossEntropy(x, C, q, { labelSmoothing: eps as never }), 'invalid_label_smoothing', 'options.labelSmoothing');
    }
  });

  it('still works after every error, with results bit for bit unchanged', () => {
    const after = snapshot(lk());
    expect(after).toEqual(before);
    // and still computes new things correctly
    expect(lk().crossEntropy(new Float32Array([0, 0]), 2, new Int32Array([1]))).toBeCloseTo(Math.log(2), 6);
  });
});
