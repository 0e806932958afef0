/**
 * One message vocabulary (issue 11 part 3): the same mistake gives the same LogitkitError — code,
 * argument and message — whichever op it is made in. Each row of the table is one mistake and the
 * ops that can make it; every op must throw exactly the row's expected error. Before the engine
 * owned these checks, the calibration ops answered in words of their own ("labels.length = 5", "x
 * must be a Float32Array", "expected an integer >= 1").
 */
import { expect, it } from 'vitest';
import { describeEachBackend } from './helpers/backends.js';
import { eceFromConfidences, init, LogitkitError, type Engine } from '../src/index.js';

// `any`: the point is to make calls the types refuse.
type Call = (lk: any) => unknown;

const C = 3;
const x = new Float32Array([2, 1, 0.1, -1, 3, 0]); // 2 rows × 3 classes
const y = new Int32Array([0, 2]);
const map = { method: 'temperature', classes: C, temperature: 1.5 };
const mask = new Int32Array([0b111]);

/** Every op that takes logits, called on `v` as logits with `c` in the classes slot and options `o`. */
function logitsOps(v: unknown, c: unknown, o?: unknown): Record<string, Call> {
  return {
    softmax: (lk) => lk.softmax(v, c, o),
    logSoftmax: (lk) => lk.logSoftmax(v, c, o),
    logsumexp: (lk) => lk.logsumexp(v, c, o),
    argmax: (lk) => lk.argmax(v, c, o),
    topk: (lk) => lk.topk(v, c, 1, o),
    adjustLogits: (lk) => lk.adjustLogits(v, c, o),
    crossEntropy: (lk) => lk.crossEntropy(v, c, y, o),
    crossEntropyWithGrad: (lk) => lk.crossEntropyWithGrad(v, c, y, o),
    entropy: (lk) => lk.entropy(v, c, o),
    klDiv: (lk) => lk.klDiv(v, x, c, o),
    perplexity: (lk) => lk.perplexity(v, c, y, o),
    ece: (lk) => lk.ece(v, c, y, o),
    reliability: (lk) => lk.reliability(v, c, y, o),
    fitTemperature: (lk) => lk.fitTemperature(v, c, y, o),
    fitCalibration: (lk) => lk.fitCalibration(v, c, y, o),
    applyCalibration: (lk) => lk.applyCalibration(v, c, map, o),
    estimateLabelShift: (lk) => lk.estimateLabelShift(v, c, y, x, o),
    contextualBias: (lk) => lk.contextualBias(v, c, o),
    filterLogits: (lk) => lk.filterLogits(v, c, o),
    sample: (lk) => lk.sample(v, c, o),
    applyTokenBitmask: (lk) => lk.applyTokenBitmask(v, c, mask, o),
  };
}

/** Ops whose logits argument has a name of its own: their messages say it where the others say x. */
const LOGITS_NAME: Record<string, string> = { klDiv: 'p', estimateLabelShift: 'sourceX' };
const named = (text: string, op: string): string => text.replace(/\bx(?=[ .[,]|$)/g, LOGITS_NAME[op] ?? 'x');

/** The ops that take labels (one class index per row) after the logits. */
function labelOps(labels: unknown): Record<string, Call> {
  return {
    ece: (lk) => lk.ece(x, C, labels),
    reliability: (lk) => lk.reliability(x, C, labels),
    fitTemperature: (lk) => lk.fitTemperature(x, C, labels),
    fitCalibration: (lk) => lk.fitCalibration(x, C, labels),
  };
}

interface Mistake {
  what: string;
  ops: Record<string, Call>;
  code: string;
  argument: string;
  message: string;
}

const MISTAKES: Mistake[] = [
  { what: 'classes = 0', ops: logitsOps(x, 0), code: 'shape_mismatch', argument: 'classes', message: 'classes = 0, expected an integer from 1 to 2147483647' },
  { what: 'fractional classes', ops: logitsOps(x, 2.5), code: 'shape_mismatch', argument: 'classes', message: 'classes = number 2.5, expected an integer ≥ 1' },
  { what: 'length not a multiple of classes', ops: logitsOps(x.subarray(0, 5), C), code: 'shape_mismatch', argument: 'x', message: 'x has 5 elements, not a multiple of classes = 3' },
  {
    what: 'half-precision bits without dtype',
    ops: logitsOps(new Uint16Array(6), C),
    code: 'invalid_argument',
    argument: 'options.dtype',
    message: "x is a Uint16Array: pass options.dtype 'float16' or 'bfloat16' to say how to read it",
  },
  {
    what: 'an unknown dtype',
    ops: logitsOps(new Uint16Array(6), C, { dtype: 'float8' }),
    code: 'invalid_argument',
    argument: 'options.dtype',
    message: "options.dtype = string float8, expected 'float32', 'float16' or 'bfloat16'",
  },
  {
    what: 'a half dtype on float32 values',
    ops: logitsOps(x, C, { dtype: 'bfloat16' }),
    code: 'invalid_argument',
    argument: 'options.dtype',
    message: "options.dtype = 'bfloat16' needs a Uint16Array (or Float16Array) of bits, got Float32Array(6)",
  },
  {
    what: 'an Int32Array as logits',
    ops: logitsOps(new Int32Array(6), C),
    code: 'invalid_argument',
    argument: 'x',
    message: 'x = Int32Array(6), expected a Float32Array (or a Float64Array / number[] to convert)',
  },
  { what: 'a string in a number[]', ops: logitsOps([1, 'a', 3], C), code: 'invalid_argument', argument: 'x', message: 'x[1] = string a, expected a number' },
  {
    what: "a tensor whose dims do not describe its data",
    ops: logitsOps({ data: x, dims: [4, 3] }, undefined),
    code: 'shape_mismatch',
    argument: 'x.dims',
    message: 'x.dims [4, 3] describe 12 elements, but x.data has 6',
  },
  {
    what: 'no classes for logits without dims',
    // klDiv's classes follow q, not p: test/tensor-like-types.test.ts checks its message.
    ops: (({ klDiv: _, ...rest }) => rest)(logitsOps(x, undefined)),
    code: 'shape_mismatch',
    argument: 'classes',
    message: 'classes is missing: x = Float32Array(6) has no .dims to take it from; pass classes after x, or a tensor',
  },
  { what: 'a null options argument', ops: logitsOps(x, C, null), code: 'invalid_argument', argument: 'options', message: 'options = null, expected an options object (or nothing)' },
  {
    what: 'labels of the wrong length',
    ops: labelOps(new Int32Array(3)),
    code: 'shape_mismatch',
    argument: 'labels',
    message: 'labels has 3 class indices, expected 2 (one per row)',
  },
  { what: 'a label out of range', ops: labelOps(new Int32Array([0, 3])), code: 'target_out_of_range', argument: 'labels', message: 'labels[1] = 3, expected 0 ≤ label < 3' },
  {
    what: 'labels that are not an Int32Array',
    ops: labelOps(new Float32Array([0, 1])),
    code: 'invalid_argument',
    argument: 'labels',
    message: 'labels = Float32Array(2), expected an Int32Array of class indices (one per row)',
  },
  {
    what: 'bins = 0',
    ops: {
      ece: (lk) => lk.ece(x, C, y, { bins: 0 }),
      reliability: (lk) => lk.reliability(x, C, y, { bins: 0 }),
      eceFromConfidences: () => eceFromConfidences([0.5], [1], { bins: 0 }),
    },
    code: 'invalid_bins',
    argument: 'options.bins',
    message: 'options.bins = number 0, expected an integer from 1 to 1000000',
  },
  {
    what: 'temperature = 0 where it divides',
    ops: {
      softmax: (lk) => lk.softmax(x, C, { temperature: 0 }),
      logSoftmax: (lk) => lk.logSoftmax(x, C, { temperature: 0 }),
      logsumexp: (lk) => lk.logsumexp(x, C, { temperature: 0 }),
      adjustLogits: (lk) => lk.adjustLogits(x, C, { temperature: 0 }),
    },
    code: 'invalid_temperature',
    argument: 'options.temperature',
    message: 'options.temperature = number 0, expected a finite number > 0',
  },
  {
    what: 'a reduction the op does not have',
    ops: {
      crossEntropy: (lk) => lk.crossEntropy(x, C, y, { reduction: 'avg' }),
      bceWithLogits: (lk) => lk.bceWithLogits(x, x, { reduction: 'avg' }),
    },
    code: 'invalid_reduction',
    argument: 'options.reduction',
    message: "options.reduction = string avg, expected one of 'none', 'sum', 'mean'",
  },
];

/** The LogitkitError a call throws, as a plain record (any other outcome fails the test). */
function thrown(call: () => unknown): { code: string; argument: string | undefined; message: string } {
  try {
    call();
  } catch (e) {
    if (!(e instanceof LogitkitError)) throw e;
    return { code: e.code, argument: e.argument, message: e.message };
  }
  throw new Error('expected a LogitkitError, the call returned');
}

describeEachBackend('the same mistake reads the same in every op', (lk) => {
  for (const m of MISTAKES) {
    it(`${m.what} (${Object.keys(m.ops).length} ops)`, () => {
      expect(Object.keys(m.ops).length).toBeGreaterThanOrEqual(2);
      for (const [op, call] of Object.entries(m.ops))
        expect({ op, ...thrown(() => call(lk())) }).toEqual({ op, code: m.code, argument: named(m.argument, op), message: named(`${m.code}: ${m.message}`, op) });
      // The engine keeps working after each of them.
      expect(lk().argmax(x, C)).toEqual(new Int32Array([0, 1]));
    });
  }

  it('fitTemperature bounds and estimateLabelShift labels use the same words under their own names', () => {
    expect(thrown(() => lk().fitTemperature(x, C, y, { min: 0 })).message).toBe('invalid_temperature: options.min = number 0, expected a finite number > 0');
    expect(thrown(() => lk().estimateLabelShift(x, C, new Int32Array(3), x)).message).toBe(
      'shape_mismatch: sourceLabels has 3 class indices, expected 2 (one per row)',
    );
    expect(thrown(() => lk().estimateLabelShift(x, C, new Int32Array([0, 3]), x)).message).toBe('target_out_of_range: sourceLabels[1] = 3, expected 0 ≤ label < 3');
  });
});

it('a disposed engine refuses every op with the same error', async () => {
  const e: Engine = await init({ backend: 'js' });
  e.dispose();
  const ops = logitsOps(x, C);
  for (const [op, call] of Object.entries(ops))
    expect({ op, ...thrown(() => call(e)) }).toEqual({ op, code: 'disposed', argument: undefined, message: 'disposed: this engine was disposed; call init() again for a new one' });
});
