// Blocks of logits for the row-summary tests: random rows (the label's logit raised) with the edge rows
// of a softmax in front — NaN, +inf, all −inf, −inf entries (0·log 0), ties, a huge offset, the label at
// −inf (NLL = +inf) and two NaN (their top-k order).
import { rng } from './random.js';

/** rows × C logits and labels (seeded), rows 1 … 8 the edge rows above when the block has them. */
export function block(rows: number, C: number, seed: number): { x: Float32Array; labels: Int32Array } {
  const r = rng(seed);
  const x = new Float32Array(rows * C);
  const labels = new Int32Array(rows);
  for (let i = 0; i < rows; i++) {
    labels[i] = Math.floor(r() * C);
    for (let j = 0; j < C; j++) x[i * C + j] = 3 * (r() - 0.5) + (j === labels[i] ? 1.5 : 0);
  }
  const row = (i: number, f: (j: number) => number) => {
    if (i < rows) for (let j = 0; j < C; j++) x[i * C + j] = f(j);
  };
  row(1, (j) => (j === C - 1 ? NaN : 0.5)); // NaN: a NaN softmax row
  row(2, (j) => (j === 0 ? Infinity : 1)); // +inf
  row(3, () => -Infinity); // all −inf
  row(4, (j) => (j % 2 === 0 ? -Infinity : 2)); // −inf entries: 0·log 0
  row(5, () => 1.25); // all tied
  row(6, (j) => 1e30 + j); // huge offset (ties in float32)
  if (rows > 7) {
    row(7, (j) => (j === labels[7] ? -Infinity : j)); // the label at −inf: NLL = +inf
    row(8, (j) => (j === 1 % C ? NaN : j === 2 % C ? NaN : -j)); // two NaN: top-k order among them
    labels[8] = 2 % C;
  }
  return { x, labels };
}
