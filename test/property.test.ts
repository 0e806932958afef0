/**
 * Property tests: on arbitrary float32 data, special values included, the wasm
 * kernels and the JS reference agree within SEMANTICS.md §11 tolerances, and
 * the exact ops (argmax, topk) agree exactly.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import type { Engine } from '../src/index.js';
import { engineFor } from './helpers/backends.js';
import { closeEnough, logTol, probTol, spreadOf, type Tol } from './helpers/tolerance.js';

let wasm: Engine;
let js: Engine;
beforeAll(async () => {
  wasm = await engineFor('wasm');
  js = await engineFor('js');
  expect(wasm.backend).toBe('wasm');
  expect(js.backend).toBe('js');
});

/** Rows of arbitrary float32 values (NaN, ±inf, ±0, subnormals, ±3.4e38 included). */
const batch = fc
  .record({ classes: fc.integer({ min: 1, max: 41 }), rows: fc.integer({ min: 0, max: 6 }) })
  .chain(({ classes, rows }) =>
    fc.tuple(fc.constant(classes), fc.float32Array({ minLength: rows * classes, maxLength: rows * classes })),
  );

/** Moderate finite values, where temperature scaling stays in range. */
const finiteBatch = fc
  .record({ classes: fc.integer({ min: 1, max: 300 }), rows: fc.integer({ min: 1, max: 4 }) })
  .chain(({ classes, rows }) =>
    fc.tuple(
      fc.constant(classes),
      fc.float32Array({ minLength: rows * classes, maxLength: rows * classes, min: -1e4, max: 1e4, noNaN: true, noDefaultInfinity: true }),
      fc.double({ min: 0.05, max: 20, noNaN: true }),
    ),
  );

function agree(a: Float32Array, b: Float32Array, tol: Tol): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (!closeEnough(a[i]!, b[i]!, tol)) return false;
  return true;
}

const RUNS = { numRuns: 300 };

describe('wasm and js agree on arbitrary float32 batches', () => {
  it('logsumexp, softmax, logSoftmax', () => {
    fc.assert(
      fc.property(batch, ([classes, x]) => {
        const { S } = spreadOf(x, classes);
        // Tolerance doubled: both sides carry their own rounding relative to the exact value.
        const lt = logTol({ C: classes, S });
        const pt = probTol({ C: classes, S });
        const l2 = { rtol: 2 * lt.rtol, atol: 2 * lt.atol };
        const p2 = { rtol: 2 * pt.rtol, atol: 2 * pt.atol };
        return (
          agree(wasm.logsumexp(x, classes), js.logsumexp(x, classes), l2) &&
          agree(wasm.softmax(x, classes), js.softmax(x, classes), p2) &&
          agree(wasm.logSoftmax(x, classes), js.logSoftmax(x, classes), l2)
        );
      }),
      RUNS,
    );
  });

  it('with temperature', () => {
    fc.assert(
      fc.property(finiteBatch, ([classes, x, T]) => {
        const { S, zmax } = spreadOf(x, classes, T);
        const lt = logTol({ C: classes, S, zmax, T });
        const pt = probTol({ C: classes, S, zmax, T });
        return (
          agree(wasm.logsumexp(x, classes, { temperature: T }), js.logsumexp(x, classes, { temperature: T }), { rtol: 2 * lt.rtol, atol: 2 * lt.atol }) &&
          agree(wasm.softmax(x, classes, { temperature: T }), js.softmax(x, classes, { temperature: T }), { rtol: 2 * pt.rtol, atol: 2 * pt.atol })
        );
      }),
      RUNS,
    );
  });

  it('sigmoid and logSigmoid', () => {
    fc.assert(
      fc.property(fc.float32Array({ maxLength: 70 }), (x) => {
        const pt = probTol({ C: 1, S: 0, sigmoid: true });
        const lt = logTol({ C: 1, S: 0 });
        return (
          agree(wasm.sigmoid(x), js.sigmoid(x), { rtol: 2 * pt.rtol, atol: pt.atol }) &&
          agree(wasm.logSigmoid(x), js.logSigmoid(x), { rtol: 2 * lt.rtol, atol: 2 * lt.atol })
        );
      }),
      RUNS,
    );
  });

  it('argmax and topk exactly', () => {
    fc.assert(
      fc.property(batch, fc.nat(), ([classes, x], kSeed) => {
        const k = kSeed % (classes + 1);
        expect(Array.from(wasm.argmax(x, classes))).toEqual(Array.from(js.argmax(x, classes)));
        const a = wasm.topk(x, classes, k);
        const b = js.topk(x, classes, k);
        expect(Array.from(a.indices)).toEqual(Array.from(b.indices));
        expect(Buffer.from(a.values.buffer).equals(Buffer.from(b.values.buffer))).toBe(true);
      }),
      RUNS,
    );
  });
});
