// toEqual on two typed arrays of one kind, or two plain arrays of numbers, element by element with
// Object.is (what vitest's own recursive comparison does: NaN equals NaN, +0 differs from −0), without
// its per-element machinery: that took 1.5 s per 128,256-wide Float32Array (0.7 s as numbers), and
// the wasm-against-JS suites compare ~90 such rows per configuration. Anything else, and a failure's
// diff, stays vitest's.
import { expect } from 'vitest';

type Typed = ArrayLike<number | bigint> & ArrayBufferView;

function typedArrayEquality(a: unknown, b: unknown): boolean | undefined {
  if (Array.isArray(a) && Array.isArray(b)) return numberArrayEquality(a, b);
  if (!ArrayBuffer.isView(a) || !ArrayBuffer.isView(b) || a instanceof DataView || b instanceof DataView) return undefined;
  if (Object.getPrototypeOf(a) !== Object.getPrototypeOf(b)) return undefined;
  const x = a as Typed;
  const y = b as Typed;
  if (x.length !== y.length) return false;
  for (let i = 0; i < x.length; i++) if (!Object.is(x[i], y[i])) return false;
  return true;
}

/** Two plain arrays of numbers only (no holes, no other values): the same, element by element. */
function numberArrayEquality(a: unknown[], b: unknown[]): boolean | undefined {
  if (a.length !== b.length) return undefined; // vitest's message for this is the useful one
  for (let i = 0; i < a.length; i++) if (typeof a[i] !== 'number' || typeof b[i] !== 'number' || !(i in a) || !(i in b)) return undefined;
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) return false;
  return true;
}

expect.addEqualityTesters([typedArrayEquality]);
