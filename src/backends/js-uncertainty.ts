/**
 * The float64 reference of the uncertainty ops (issue 24): OOD scores and conformal scores and
 * sets, written the obvious way, step for step what assembly/kernels/{rank,ood,conformal}.ts do,
 * so the two backends give the same f64 scores from the same float32 probabilities.
 *
 * p = softmax(x / T) of a row is the float32 rounding of the float64 softmax (z = fround(x / T),
 * NaN-propagating max, SEMANTICS §2's special rows: NaN, +inf or all −inf → every p NaN); the
 * rank order is p descending, ties to the lower class index.
 */
import type { ConformalArgs, OodArgs } from './backend.js';

const fround = Math.fround;

/** z_j = x_j / T rounded to float32 (z = x for T = 1). */
function z(x: Float32Array, i: number, temperature: number): number {
  return temperature === 1 ? x[i]! : fround(x[i]! / temperature);
}

/** p of row r into probs; false for a row softmax maps to NaN. */
export function rowProbabilities(x: Float32Array, r: number, classes: number, temperature: number, probs: Float64Array): boolean {
  const o = r * classes;
  let m = -Infinity;
  for (let j = 0; j < classes; j++) {
    const v = z(x, o + j, temperature);
    if (v !== v) {
      m = NaN;
      break;
    }
    if (v > m) m = v;
  }
  let s = 0;
  for (let j = 0; j < classes; j++) {
    probs[j] = Math.exp(z(x, o + j, temperature) - m);
    s += probs[j]!;
  }
  for (let j = 0; j < classes; j++) probs[j] = fround(probs[j]! / s);
  return s === s;
}

/** The class indices in rank order: p descending, ties (and NaN rows) to the lower index. */
export function rankOrder(probs: Float64Array, classes: number, order: Int32Array): Int32Array {
  for (let j = 0; j < classes; j++) order[j] = j;
  return order.sort((a, b) => {
    const pa = probs[a]!;
    const pb = probs[b]!;
    if (pa > pb) return -1;
    if (pa < pb) return 1;
    return a - b;
  });
}

function energy(x: Float32Array, o: number, classes: number, temperature: number): number {
  let m = -Infinity;
  for (let j = 0; j < classes; j++) {
    const v = z(x, o + j, temperature);
    if (v !== v) return NaN;
    if (v > m) m = v;
  }
  const shift = m === Infinity || m === -Infinity ? 0 : m;
  let s = 0;
  for (let j = 0; j < classes; j++) s += Math.exp(z(x, o + j, temperature) - shift);
  return -temperature * (Math.log(s) + shift);
}

function maxLogit(x: Float32Array, o: number, classes: number): number {
  let m = -Infinity;
  for (let j = 0; j < classes; j++) {
    const v = x[o + j]!;
    if (v !== v) return NaN;
    if (v > m) m = v;
  }
  return -m;
}

const genTerm = (p: number, gamma: number): number => Math.pow(p, gamma) * Math.pow(1 - p, gamma);

export function oodScore(x: Float32Array, rows: number, classes: number, a: OodArgs, out: Float32Array): void {
  const probs = new Float64Array(classes);
  const order = new Int32Array(classes);
  for (let r = 0; r < rows; r++) {
    const o = r * classes;
    if (a.method === 'maxLogit') {
      out[r] = maxLogit(x, o, classes);
      continue;
    }
    if (a.method === 'energy') {
      out[r] = energy(x, o, classes, a.temperature);
      continue;
    }
    if (!rowProbabilities(x, r, classes, a.temperature, probs)) {
      out[r] = NaN;
      continue;
    }
    const sorted = rankOrder(probs, classes, order);
    const p1 = probs[sorted[0]!]!;
    const p2 = classes > 1 ? probs[sorted[1]!]! : 0;
    let score: number;
    switch (a.method) {
      case 'msp':
        score = -p1;
        break;
      case 'margin':
        score = -(p1 - p2);
        break;
      case 'entropy':
        score = 0;
        for (let j = 0; j < classes; j++) if (probs[j]! > 0) score -= probs[j]! * Math.log(probs[j]!);
        break;
      case 'gen':
        score = 0;
        // All classes in index order, or the topM largest in rank order (the kernel's order of the sum).
        if (a.topM >= classes) for (let j = 0; j < classes; j++) score += genTerm(probs[j]!, a.gamma);
        else for (let k = 0; k < a.topM; k++) score += genTerm(probs[sorted[k]!]!, a.gamma);
        break;
    }
    out[r] = score;
  }
}

function scoreOf(a: ConformalArgs, rho: number, pj: number, rank: number, u: number): number {
  if (a.method === 'lac') return 1 - pj;
  const s = rho + u * pj;
  return a.method === 'raps' ? s + a.lambda * Math.max(0, rank - a.kReg) : s;
}

export function conformalLabelScores(x: Float32Array, rows: number, classes: number, a: ConformalArgs, labels: Int32Array, out: Float64Array): void {
  const probs = new Float64Array(classes);
  const order = new Int32Array(classes);
  for (let r = 0; r < rows; r++) {
    out[r] = NaN;
    if (!rowProbabilities(x, r, classes, a.temperature, probs)) continue;
    rankOrder(probs, classes, order);
    const u = a.uniforms === null ? 1 : a.uniforms[r]!;
    let rho = 0;
    for (let k = 0; k < classes; k++) {
      const j = order[k]!;
      if (j === labels[r]) {
        out[r] = scoreOf(a, rho, probs[j]!, k + 1, u);
        break;
      }
      rho += probs[j]!;
    }
  }
}

export function conformalSets(
  x: Float32Array, rows: number, classes: number, a: ConformalArgs, qhat: Float64Array, perClass: boolean, members: Int32Array, sizes: Int32Array,
): number {
  const probs = new Float64Array(classes);
  const order = new Int32Array(classes);
  let w = 0;
  for (let r = 0; r < rows; r++) {
    const start = w;
    if (rowProbabilities(x, r, classes, a.temperature, probs)) {
      rankOrder(probs, classes, order);
      const u = a.uniforms === null ? 1 : a.uniforms[r]!;
      let rho = 0;
      for (let k = 0; k < classes; k++) {
        const j = order[k]!;
        if (scoreOf(a, rho, probs[j]!, k + 1, u) <= qhat[perClass ? j : 0]!) members[w++] = j;
        rho += probs[j]!;
      }
    }
    sizes[r] = w - start;
  }
  return w;
}
