/**
 * Pen strokes for the digits demo's browser tests, in canvas pixels (the demo's canvas is 256×256).
 *
 * A held-out 8×8 digit is redrawn the way it was made. In optdigits each pixel counts the "on"
 * pixels (0–16) of a 4×4 block of a 32×32 bitmap; `bitmapOf` rebuilds such a bitmap (v pixels on in
 * a block of value v) and `traceDigit` draws each bitmap row's runs as horizontal pen strokes, one
 * bitmap pixel = 8 canvas pixels, with an 8-pixel pen: the ink then covers about the bitmap's pixels,
 * and the demo's downsampling should give back about the digit's values. Blocks fill from the
 * outside in (top half from the top, left half from the left, and so on), so the ink reaches the
 * edges of the digit's inked cells: its bounding box is the digit's, and for a digit with equal
 * margins left and right (the demo centres what is drawn) the size normalisation maps the drawing
 * back onto the same grid.
 */
export type Point = { x: number; y: number };
export type Stroke = Point[];

export const CANVAS = 256;
/** Canvas pixels per bitmap pixel, and the pen width the tests set. */
export const PEN = 8;

/** Points every `step` pixels from a to b, both ends included. */
function line(a: Point, b: Point, step = 6): Stroke {
  const n = Math.max(1, Math.ceil(Math.hypot(b.x - a.x, b.y - a.y) / step));
  return Array.from({ length: n + 1 }, (_, i) => ({ x: a.x + ((b.x - a.x) * i) / n, y: a.y + ((b.y - a.y) * i) / n }));
}

/** A 32×32 bitmap (row-major) whose 4×4 blocks hold the 8×8 image's counts. */
export function bitmapOf(pixels: ArrayLike<number>): Uint8Array {
  const bitmap = new Uint8Array(32 * 32);
  for (let r = 0; r < 8; r++) {
    for (let c = 0; c < 8; c++) {
      const v = Math.round(pixels[r * 8 + c]!);
      for (let k = 0; k < v; k++) {
        const dy = r < 4 ? Math.floor(k / 4) : 3 - Math.floor(k / 4);
        const dx = c < 4 ? k % 4 : 3 - (k % 4);
        bitmap[(r * 4 + dy) * 32 + c * 4 + dx] = 1;
      }
    }
  }
  return bitmap;
}

export function traceDigit(pixels: ArrayLike<number>): Stroke[] {
  const bitmap = bitmapOf(pixels);
  const centre = (i: number) => i * PEN + PEN / 2;
  const strokes: Stroke[] = [];
  for (let y = 0; y < 32; y++) {
    for (let x = 0; x < 32; x++) {
      if (!bitmap[y * 32 + x]) continue;
      let end = x;
      while (end + 1 < 32 && bitmap[y * 32 + end + 1]) end++;
      strokes.push(x === end ? [{ x: centre(x), y: centre(y) }] : line({ x: centre(x), y: centre(y) }, { x: centre(end), y: centre(y) }));
      x = end;
    }
  }
  return strokes;
}

/** A seeded generator (LCG), so every engine draws the same noise. */
function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32;
}

/** Speckle: `taps` dots at uniform random places over the canvas. */
export function speckle(seed: number, taps = 90): Stroke[] {
  const rand = lcg(seed);
  return Array.from({ length: taps }, () => {
    const p = { x: 4 + rand() * (CANVAS - 8), y: 4 + rand() * (CANVAS - 8) };
    return [p];
  });
}

/**
 * Scribbles: one to three pen strokes wandering with momentum (loops, zigzags), the kind of thing
 * scripts/train-digits.py generates for its OOD set, here drawn with the demo's pen.
 */
export function scribble(seed: number): Stroke[] {
  const rand = lcg(seed);
  const gauss = () => Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
  const strokes: Stroke[] = [];
  for (let n = 1 + Math.floor(rand() * 3); n > 0; n--) {
    let p = { x: 16 + rand() * (CANVAS - 32), y: 16 + rand() * (CANVAS - 32) };
    let angle = rand() * 2 * Math.PI;
    const stroke: Stroke = [p];
    for (let steps = 6 + Math.floor(rand() * 14); steps > 0; steps--) {
      angle += 1.2 * gauss();
      const step = 16 + rand() * 32;
      const clamp = (v: number) => Math.min(CANVAS - 4, Math.max(4, v));
      const q = { x: clamp(p.x + step * Math.cos(angle)), y: clamp(p.y + step * Math.sin(angle)) };
      stroke.push(...line(p, q).slice(1));
      p = q;
    }
    strokes.push(stroke);
  }
  return strokes;
}
