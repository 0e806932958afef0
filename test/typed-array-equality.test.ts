// The typed-array toEqual tester (test/setup/typed-array-equality.ts) keeps vitest's meaning: element by
// element with Object.is, lengths and kinds must match, and a failure still fails.
import { describe, expect, it } from 'vitest';

describe('toEqual on typed arrays (test/setup/typed-array-equality.ts)', () => {
  it('equal elements, NaN included, are equal; a changed element, +0 against −0, or another length is not', () => {
    const a = Float32Array.of(1, NaN, -Infinity, 0);
    expect(a).toEqual(Float32Array.of(1, NaN, -Infinity, 0));
    expect(a).not.toEqual(Float32Array.of(1, NaN, -Infinity, -0));
    expect(a).not.toEqual(Float32Array.of(1, NaN, Infinity, 0));
    expect(a).not.toEqual(Float32Array.of(1, NaN, -Infinity));
    expect(Int32Array.of(1, 2)).not.toEqual(Int32Array.of(1, 3));
    expect(new BigInt64Array([1n, 2n])).toEqual(new BigInt64Array([1n, 2n]));
  });

  it('a typed array of another kind is not equal, as before', () => {
    expect(Float32Array.of(1, 2)).not.toEqual(Float64Array.of(1, 2));
    expect(Int32Array.of(1, 2)).not.toEqual([1, 2]);
  });

  it('plain arrays of numbers: Object.is per element; holes, other values and lengths left to vitest', () => {
    expect([1, NaN, -Infinity]).toEqual([1, NaN, -Infinity]);
    expect([0]).not.toEqual([-0]);
    expect([1, 2]).not.toEqual([1, 3]);
    expect([1, 2]).not.toEqual([1, 2, 3]);
    expect([1, undefined]).not.toEqual([1, 2]);
    expect([1, '2']).not.toEqual([1, 2]);
    expect([[1], 2]).toEqual([[1], 2]);
  });

  it('compares 128,256-wide rows and still fails on one changed element', () => {
    const a = new Float32Array(128_256).map((_, i) => Math.sin(i));
    const b = a.slice();
    expect(a).toEqual(b);
    b[100_000] = 2;
    expect(() => expect(a).toEqual(b)).toThrow(/toEqual|expected/i);
  });
});
