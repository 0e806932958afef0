// The baseline every ratio is measured against: what a careful person writes in plain JavaScript
// without thinking about speed. Three passes per row (max, exp + sum, scale) with Math.exp in
// float64, results stored as float32. No copies: it reads the caller's Float32Array directly.

import { naiveSoftmax, naiveLogSoftmax, naiveLogSumExp, naiveCrossEntropy, naiveCrossEntropyGrad, outputLength } from '../../dist/bench-core/index.js';

// The baselines themselves live in the benchmark core (src/bench-core/), shared with `logitkit
// bench` and the demo; re-exported for selftest.js.
export { naiveSoftmax, naiveLogSoftmax, naiveLogSumExp, naiveCrossEntropy, naiveCrossEntropyGrad, outputLength };

/** Peer adapter for the naive baseline (see peers/index.js for the adapter shape). */
export async function loadNaive() {
  return {
    id: 'naive-js',
    label: 'naive JS (3-pass Math.exp)',
    version: globalThis.process?.version ? `Node ${process.version}` : 'this browser',
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
