/** Deterministic random data for the spec suite (so a failure reproduces). */
export function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    // xorshift32: plenty for test data.
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 4294967296;
  };
}

/** Standard normal via Box–Muller. */
export function normal(rand: () => number): number {
  const u = Math.max(rand(), 1e-300);
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rand());
}

export function randomLogits(rows: number, classes: number, scale: number, seed: number, offset = 0): Float32Array {
  const r = rng(seed);
  const x = new Float32Array(rows * classes);
  for (let i = 0; i < x.length; i++) x[i] = offset + scale * normal(r);
  return x;
}

export function randomTargets(rows: number, classes: number, seed: number): Int32Array {
  const r = rng(seed);
  const t = new Int32Array(rows);
  for (let i = 0; i < rows; i++) t[i] = Math.floor(r() * classes);
  return t;
}
