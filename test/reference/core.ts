/**
 * Float64 references written straight from SEMANTICS.md, independent of the
 * backends (the JS backend is itself under test). Inputs are the float32
 * values as stored, so input rounding costs nothing (SEMANTICS §11).
 */
export function zRow(x: ArrayLike<number>, start: number, classes: number, T = 1): number[] {
  const z: number[] = [];
  for (let j = 0; j < classes; j++) z.push(T === 1 ? x[start + j]! : Math.fround(x[start + j]! / T));
  return z;
}

/** NaN-propagating max (§0). */
export function refMax(z: ArrayLike<number>): number {
  let m = -Infinity;
  for (let j = 0; j < z.length; j++) {
    const v = z[j]!;
    if (Number.isNaN(v)) return NaN;
    if (v > m) m = v;
  }
  return m;
}

/** §1: m' = (m is ±inf) ? 0 : m; lse = log Σ exp(x − m') + m'. */
export function refLogSumExp(x: ArrayLike<number>, classes: number, T = 1): number[] {
  const out: number[] = [];
  for (let s = 0; s < x.length; s += classes) {
    const z = zRow(x, s, classes, T);
    const m = refMax(z);
    const sh = Number.isFinite(m) ? m : 0;
    let sum = 0;
    for (const v of z) sum += Math.exp(v - sh);
    out.push(Number.isNaN(m) ? NaN : Math.log(sum) + sh);
  }
  return out;
}

/** §2: log_softmax_j = (z_j − m) − log s, no masking of an infinite max. */
export function refLogSoftmax(x: ArrayLike<number>, classes: number, T = 1): number[] {
  const out: number[] = [];
  for (let s = 0; s < x.length; s += classes) {
    const z = zRow(x, s, classes, T);
    const m = refMax(z);
    let sum = 0;
    for (const v of z) sum += Math.exp(v - m);
    const ls = Math.log(sum);
    for (const v of z) out.push(v - m - ls);
  }
  return out;
}

export function refSoftmax(x: ArrayLike<number>, classes: number, T = 1): number[] {
  const out: number[] = [];
  for (let s = 0; s < x.length; s += classes) {
    const z = zRow(x, s, classes, T);
    const m = refMax(z);
    let sum = 0;
    for (const v of z) sum += Math.exp(v - m);
    for (const v of z) out.push(Math.exp(v - m) / sum);
  }
  return out;
}

export function refSigmoid(x: ArrayLike<number>): number[] {
  return Array.from(x, (v) => (v >= 0 ? 1 / (1 + Math.exp(-v)) : Math.exp(v) / (1 + Math.exp(v))));
}

export function refLogSigmoid(x: ArrayLike<number>): number[] {
  return Array.from(x, (v) => Math.min(v, 0) - Math.log1p(Math.exp(-Math.abs(v))));
}

/** §8 order: NaN first, then descending value, ties (−0 == +0, NaN == NaN) by lower index. */
function before(a: number, ia: number, b: number, ib: number): boolean {
  const an = Number.isNaN(a);
  const bn = Number.isNaN(b);
  if (an !== bn) return an;
  if (!an && a !== b) return a > b;
  return ia < ib;
}

export function refArgmax(x: ArrayLike<number>, classes: number): number[] {
  const out: number[] = [];
  for (let s = 0; s < x.length; s += classes) {
    let best = 0;
    for (let j = 1; j < classes; j++) if (before(x[s + j]!, j, x[s + best]!, best)) best = j;
    out.push(best);
  }
  return out;
}

export function refTopk(x: ArrayLike<number>, classes: number, k: number): { values: number[]; indices: number[] } {
  const values: number[] = [];
  const indices: number[] = [];
  for (let s = 0; s < x.length; s += classes) {
    if (k <= 8) {
      // a few scans, each for the first entry (by `before`, a strict total order) after the last one
      // taken: the same k as the sort below, without sorting 128,256 entries for k = 0, 1 or 3
      let last = -1;
      for (let i = 0; i < k; i++) {
        let best = -1;
        for (let j = 0; j < classes; j++) {
          if (last >= 0 && !before(x[s + last]!, last, x[s + j]!, j)) continue;
          if (best < 0 || before(x[s + j]!, j, x[s + best]!, best)) best = j;
        }
        indices.push(best);
        values.push(x[s + best]!);
        last = best;
      }
      continue;
    }
    const idx = Array.from({ length: classes }, (_, j) => j);
    idx.sort((a, b) => (before(x[s + a]!, a, x[s + b]!, b) ? -1 : 1));
    for (let i = 0; i < k; i++) {
      indices.push(idx[i]!);
      values.push(x[s + idx[i]!]!);
    }
  }
  return { values, indices };
}
