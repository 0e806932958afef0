// A drawing → the 64 pixels the digits model takes, made the way scikit-learn's 8×8 digits were
// (UCI optdigits): the writing is size-normalised into a 32×32 bitmap and each 4×4 block's ink is
// counted, giving 0–16 per pixel. In optdigits every digit spans the full height (all 1797 images
// use rows 0 and 7), and the width follows with the same scale, centred; so here the ink's bounding
// box is scaled to 32 pixels tall (or 32 wide, for something wider than tall) and centred.
// Coverage is averaged over a 4×4 grid of samples per bitmap pixel instead of thresholding, then
// rounded to whole counts like the dataset's.

export const GRID = 8;
const BITMAP = 32;
/** Samples per bitmap pixel along each axis. */
const SUPER = 4;

export interface InkBox {
  x0: number;
  y0: number;
  x1: number;
  y1: number;
}

/** The bounding box of pixels with ink above `threshold` (0–1), or null for a blank canvas. */
export function inkBox(ink: ArrayLike<number>, width: number, height: number, threshold = 0.1): InkBox | null {
  let x0 = width;
  let y0 = height;
  let x1 = -1;
  let y1 = -1;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      if (ink[y * width + x]! > threshold) {
        if (x < x0) x0 = x;
        if (x > x1) x1 = x;
        if (y < y0) y0 = y;
        if (y > y1) y1 = y;
      }
    }
  }
  return x1 < 0 ? null : { x0, y0, x1: x1 + 1, y1: y1 + 1 };
}

/**
 * `ink`: coverage 0–1 per canvas pixel, row-major `width × height`. Returns 64 values in 0–16
 * (row-major 8×8), or null when nothing is drawn.
 */
export function digitPixels(ink: ArrayLike<number>, width: number, height: number): Float32Array | null {
  const box = inkBox(ink, width, height);
  if (!box) return null;
  const bw = box.x1 - box.x0;
  const bh = box.y1 - box.y0;
  const scale = BITMAP / Math.max(bw, bh); // bitmap pixels per canvas pixel
  // Where the box lands in the bitmap: centred on both axes.
  const offX = (BITMAP - bw * scale) / 2;
  const offY = (BITMAP - bh * scale) / 2;
  const sample = (bx: number, by: number): number => {
    const cx = Math.floor(box.x0 + (bx - offX) / scale);
    const cy = Math.floor(box.y0 + (by - offY) / scale);
    return cx < box.x0 || cy < box.y0 || cx >= box.x1 || cy >= box.y1 ? 0 : ink[cy * width + cx]!;
  };
  const out = new Float32Array(GRID * GRID);
  const per = BITMAP / GRID; // bitmap pixels per output pixel (4)
  for (let gy = 0; gy < GRID; gy++) {
    for (let gx = 0; gx < GRID; gx++) {
      let sum = 0;
      for (let sy = 0; sy < per * SUPER; sy++)
        for (let sx = 0; sx < per * SUPER; sx++) sum += sample(gx * per + (sx + 0.5) / SUPER, gy * per + (sy + 0.5) / SUPER);
      // Mean coverage × 16 bitmap pixels per block = the block's count of "on" pixels.
      out[gy * GRID + gx] = Math.round((sum / (per * SUPER) ** 2) * per * per);
    }
  }
  return out;
}
