// The baseline every ratio is measured against: what a careful person writes in plain JavaScript
// without thinking about speed. Three passes per row (max, exp + sum, scale) with Math.exp in
// float64, results stored as float32. No copies: it reads the caller's Float32Array directly.

export function naiveSoftmax(x, classes, out) {
  const rows = x.length / classes;
  for (let r = 0; r < rows; r++) {
    const base = r * classes;
    let max = -Infinity;
    for (let j = 0; j < classes; j++) if (x[base + j] > max) max = x[base + j];
    let sum = 0;
    for (let j = 0; j < classes; j++) {
      const e = Math.exp(x[base + j] - max);
      out[base + j] = e;
      sum += e;
    }
    const inv = 1 / sum;
    for (let j = 0; j < classes; j++) out[base + j] *= inv;
  }
  return out;
}

export function naiveLogSoftmax(x, classes, out) {
  const rows = x.length / classes;
  for (let r = 0; r < rows; r++) {
    const base = r * classes;
    let max = -Infinity;
    for (let j = 0; j < classes; j++) if (x[base + j] > max) max = x[base + j];
    let sum = 0;
    for (let j = 0; j < classes; j++) sum += Math.exp(x[base + j] - max);
    const logSum = Math.log(sum);
    for (let j = 0; j < classes; j++) out[base + j] = x[base + j] - max - logSum;
  }
  return out;
}

export function naiveLogSumExp(x, classes, out) {
  const rows = x.length / classes;
  for (let r = 0; r < rows; r++) {
    const base = r * classes;
    let max = -Infinity;
    for (let j = 0; j < classes; j++) if (x[base + j] > max) max = x[base + j];
    let sum = 0;
    for (let j = 0; j < classes; j++) sum += Math.exp(x[base + j] - max);
    out[r] = max + Math.log(sum);
  }
  return out;
}

/** Cross-entropy per row (reduction 'none'): logsumexp(row) - row[target]. */
export function naiveCrossEntropy(x, classes, target, out) {
  const rows = x.length / classes;
  for (let r = 0; r < rows; r++) {
    const base = r * classes;
    let max = -Infinity;
    for (let j = 0; j < classes; j++) if (x[base + j] > max) max = x[base + j];
    let sum = 0;
    for (let j = 0; j < classes; j++) sum += Math.exp(x[base + j] - max);
    out[r] = max + Math.log(sum) - x[base + target[r]];
  }
  return out;
}

/** Gradient of the mean cross-entropy w.r.t. the logits: (softmax(row) - onehot(target)) / rows. */
export function naiveCrossEntropyGrad(x, classes, target, out) {
  const rows = x.length / classes;
  naiveSoftmax(x, classes, out);
  for (let r = 0; r < rows; r++) out[r * classes + target[r]] -= 1;
  for (let i = 0; i < out.length; i++) out[i] /= rows;
  return out;
}

/** Output length of an op for a workload. */
export function outputLength(op, w) {
  return op === 'softmax' || op === 'logSoftmax' || op === 'crossEntropyGrad' ? w.rows * w.classes : w.rows;
}

/** Peer adapter for the naive baseline (see peers/index.js for the adapter shape). */
export async function loadNaive() {
  return {
    id: 'naive-js',
    label: 'naive JS (3-pass Math.exp)',
    version: `Node ${process.version}`,
    copies: 'none',
    prepare(op, w) {
      const out = new Float32Array(outputLength(op, w));
      const { x, classes, target } = w;
      switch (op) {
        case 'softmax':
          return { run: () => naiveSoftmax(x, classes, out) };
        case 'logSoftmax':
          return { run: () => naiveLogSoftmax(x, classes, out) };
        case 'logsumexp':
          return { run: () => naiveLogSumExp(x, classes, out) };
        case 'crossEntropy':
          return { run: () => naiveCrossEntropy(x, classes, target, out) };
        case 'crossEntropyGrad':
          return { run: () => naiveCrossEntropyGrad(x, classes, target, out) };
        default:
          return null;
      }
    },
  };
}
