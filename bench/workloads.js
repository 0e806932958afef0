// Workloads (rows × classes float32 logits plus int32 targets) and the one-time accuracy check of
// every implementation against the naive JS output.

/** The suites of issue 5: a classifier batch, an LLM vocabulary, many tiny rows, a small batch. */
export const WORKLOADS = [
  { id: '4096x1000', rows: 4096, classes: 1000, what: 'ImageNet-sized batch' },
  { id: '32x128256', rows: 32, classes: 128256, what: 'LLM vocabulary (Llama 3)' },
  { id: '1000000x10', rows: 1_000_000, classes: 10, what: 'many short rows' },
  { id: '256x32', rows: 256, classes: 32, what: 'small batch' },
];

/** The per-call cost suite: one 32-wide row, many calls. */
export const PER_CALL = { id: '1x32', rows: 1, classes: 32, what: 'one short row (per-call overhead)' };

export const OPS = ['softmax', 'logSoftmax', 'logsumexp', 'crossEntropy', 'crossEntropyGrad'];

// mulberry32: a tiny seeded generator, so every run times the same numbers.
export function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Logits drawn from N(0, 3²) (the spread of a trained classifier's logits) and uniform targets.
 * @returns {{ id: string, rows: number, classes: number, x: Float32Array, target: Int32Array }}
 */
export function makeWorkload({ id, rows, classes, what }, seed = 42) {
  const next = rng(seed);
  const x = new Float32Array(rows * classes);
  // Box–Muller, two normals per pair of uniforms.
  for (let i = 0; i < x.length; i += 2) {
    const r = Math.sqrt(-2 * Math.log(1 - next())) * 3;
    const phi = 2 * Math.PI * next();
    x[i] = r * Math.cos(phi);
    if (i + 1 < x.length) x[i + 1] = r * Math.sin(phi);
  }
  const target = new Int32Array(rows);
  for (let r = 0; r < rows; r++) target[r] = Math.floor(next() * classes);
  return { id, rows, classes, what, x, target };
}

const U = 2 ** -24; // float32 unit roundoff

/**
 * Checks one output against the naive JS output (float64 arithmetic, so a float64 reference
 * rounded to float32) with the tolerances of SEMANTICS.md §11 for T = 1:
 *   log domain (logSoftmax, logsumexp, crossEntropy): rtol = 2e-6 + 4u√C, atol = 1e-6 + 4u·S + 4u√C
 *   probabilities (softmax):                          rtol = 2e-6 + 4u√C + 2u·S, atol = 1e-36
 * with C the row length and S the row's spread (max − min). Returns the largest
 * |got − want| / max(1, |want|) and the largest error as a fraction of its bound (≤ 1 passes).
 * @returns {{ maxError: number, worstVsBound: number }}
 */
export function checkAccuracy(op, got, want, w) {
  if (!got || got.length !== want.length) return { maxError: Infinity, worstVsBound: Infinity };
  const { x, classes } = w;
  const perRow = want.length === x.length ? classes : 1;
  const sqrtC = Math.sqrt(classes);
  let maxError = 0;
  let worstVsBound = 0;
  for (let r = 0; r < want.length / perRow; r++) {
    let lo = Infinity;
    let hi = -Infinity;
    for (let j = r * classes; j < (r + 1) * classes; j++) {
      if (x[j] < lo) lo = x[j];
      if (x[j] > hi) hi = x[j];
    }
    const spread = hi - lo;
    // §11 rows: probabilities; gradients of the mean loss (scale g = 1/rows); the log domain.
    const [rtol, atol] =
      op === 'softmax'
        ? [2e-6 + 4 * U * sqrtC + 2 * U * spread, 1e-36]
        : op === 'crossEntropyGrad'
          ? [1e-5, (2e-6 + 4 * U * sqrtC + 2 * U * spread) / w.rows]
          : [2e-6 + 4 * U * sqrtC, 1e-6 + 4 * U * spread + 4 * U * sqrtC];
    for (let i = r * perRow; i < (r + 1) * perRow; i++) {
      const diff = Math.abs(got[i] - want[i]);
      if (Number.isNaN(diff)) return { maxError: NaN, worstVsBound: NaN }; // a NaN where a number belongs
      const e = diff / Math.max(1, Math.abs(want[i]));
      if (e > maxError) maxError = e;
      const vsBound = diff / (atol + rtol * Math.abs(want[i]));
      if (vsBound > worstVsBound) worstVsBound = vsBound;
    }
  }
  return { maxError, worstVsBound };
}

/** Peers whose error exceeds the §11 bound this many times are wrong, not merely less accurate. */
export const WRONG_FACTOR = 100;
