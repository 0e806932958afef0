// The digits demo's downsampling (demo/src/digit-pixels.ts): a drawing → the 8×8, 0–16 pixels of
// scikit-learn's digits. The browser tests check it on drawings; these pin its geometry exactly.
import { describe, expect, it } from 'vitest';
import { digitPixels, inkBox } from '../demo/src/digit-pixels.js';

const W = 256;

/** A canvas whose 32×32-pixel cells carry the 8×8 image's coverage v/16 uniformly. */
function upsample(image: number[], cell = 32): Float32Array {
  const ink = new Float32Array(8 * cell * 8 * cell);
  for (let y = 0; y < 8 * cell; y++) for (let x = 0; x < 8 * cell; x++) ink[y * 8 * cell + x] = image[Math.floor(y / cell) * 8 + Math.floor(x / cell)]! / 16;
  return ink;
}

function rect(x0: number, y0: number, x1: number, y1: number, value = 1): Float32Array {
  const ink = new Float32Array(W * W);
  for (let y = y0; y < y1; y++) for (let x = x0; x < x1; x++) ink[y * W + x] = value;
  return ink;
}

describe('digitPixels', () => {
  it('a blank canvas has no pixels (null), and faint marks below the ink threshold count as blank', () => {
    expect(digitPixels(new Float32Array(W * W), W, W)).toBeNull();
    expect(digitPixels(rect(10, 10, 50, 50, 0.05), W, W)).toBeNull();
  });

  it('an image already full-height and centred comes back unchanged', () => {
    // Inked rows 0–7, columns 1–6 (equal margins), every inked value ≥ 2 so the box is the image's.
    const image = Array.from({ length: 64 }, (_, i) => {
      const c = i % 8;
      return c === 0 || c === 7 ? 0 : 2 + ((i * 7) % 15);
    });
    expect(Array.from(digitPixels(upsample(image), W, W)!)).toEqual(image);
  });

  it('scales the ink box to full height and centres it: a tall bar anywhere becomes the middle columns', () => {
    // 40 px wide × 160 px tall at the top left: scaled by 32/160, 8 bitmap pixels wide, centred = columns 3–4.
    const out = Array.from(digitPixels(rect(5, 7, 45, 167), W, W)!);
    const want = Array.from({ length: 64 }, (_, i) => (i % 8 === 3 || i % 8 === 4 ? 16 : 0));
    expect(out).toEqual(want);
  });

  it('something wider than tall is scaled to full width and centred vertically', () => {
    // 200 × 50: scaled by 32/200 → 8 bitmap rows tall, centred = rows 3–4.
    const out = Array.from(digitPixels(rect(30, 100, 230, 150), W, W)!);
    const want = Array.from({ length: 64 }, (_, i) => (Math.floor(i / 8) === 3 || Math.floor(i / 8) === 4 ? 16 : 0));
    expect(out).toEqual(want);
  });

  it('partial coverage counts as a fraction of the 16 bitmap pixels, rounded', () => {
    const half = digitPixels(rect(0, 0, W, W, 0.5), W, W)!;
    expect(Array.from(half)).toEqual(new Array(64).fill(8));
  });

  it('inkBox is the half-open box of the pixels above the threshold', () => {
    expect(inkBox(rect(5, 7, 45, 167), W, W)).toEqual({ x0: 5, y0: 7, x1: 45, y1: 167 });
  });
});
