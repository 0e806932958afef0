// Bit-for-bit comparison of two wasm builds on every row-wise export (random rows, several
// shapes): prints the exports whose outputs differ. For changes that must not change results.
//   node bench/micro/same.js A.wasm B.wasm
import { load } from './load.js';
const [fa, fb] = process.argv.slice(2, 4);
const builds = [fa, fb].map((f) => load(f, 512));
const shapes = [[1, 1], [3, 3], [5, 4], [7, 5], [9, 15], [4, 16], [6, 17], [9, 31], [8, 32], [5, 33], [3, 1000], [2, 4099]];
const ops = {
  softmax: (e, x, r, c, o) => e.softmax(x, r, c, 1.0, o),
  softmaxT: (e, x, r, c, o) => e.softmax(x, r, c, 0.7, o),
  logSoftmax: (e, x, r, c, o) => e.logSoftmax(x, r, c, 1.0, o),
  logSoftmaxT: (e, x, r, c, o) => e.logSoftmax(x, r, c, 0.7, o),
  // in place (outPtr = xPtr), on the first call's output
  logSoftmaxInPlace: (e, x, r, c, o) => { e.logSoftmax(x, r, c, 1.0, o); e.logSoftmax(o, r, c, 1.0, o); },
  softmaxInPlace: (e, x, r, c, o) => { e.logSoftmax(x, r, c, 1.0, o); e.softmax(o, r, c, 1.3, o); },
  logsumexp: (e, x, r, c, o) => e.logsumexp(x, r, c, 1.0, o),
  logsumexpT: (e, x, r, c, o) => e.logsumexp(x, r, c, 1.7, o),
  ceNone: (e, x, r, c, o, t) => e.crossEntropyClass(x, r, c, t, -100, 0, 0, 0, c, o, 0, 1),
  ceSmooth: (e, x, r, c, o, t) => e.crossEntropyClass(x, r, c, t, -100, 0, 0, 0.1, c, o, 0, 1),
  // the f64 per-row parts ('mean'/'sum'): nll to o, smooth to aux; rows whose target is 3 ignored
  ceParts: (e, x, r, c, o, t, aux) => e.crossEntropyClass(x, r, c, t, 3, 0, 0, 0.1, c, o, aux, 0),
  cePartsWeighted: (e, x, r, c, o, t, aux) => e.crossEntropyClass(x, r, c, t, 3, 1, aux + 16 * r, 0.1, c, o, aux, 0),
  ceIgnoreNone: (e, x, r, c, o, t) => e.crossEntropyClass(x, r, c, t, 3, 0, 0, 0, c, o, 0, 1),
  ceGrad: (e, x, r, c, o, t, aux) => e.crossEntropyClassGrad(x, r, c, t, -100, 0, 0, 0.1, c, 1 / r, o, aux, aux + 8 * r),
  // class weights: the f32 values after the two per-row f64 outputs in aux
  ceWeighted: (e, x, r, c, o, t, aux) => e.crossEntropyClass(x, r, c, t, -100, 1, aux + 16 * r, 0.1, c, o, 0, 1),
  ceGradWeighted: (e, x, r, c, o, t, aux) => e.crossEntropyClassGrad(x, r, c, t, -100, 1, aux + 16 * r, 0.1, c, 1 / r, o, aux, aux + 8 * r),
  ceSoft: (e, x, r, c, o, t, aux) => e.crossEntropySoft(x, r, c, x, 0, 0, 0.1, o),
  ceSoftGrad: (e, x, r, c, o, t, aux) => e.crossEntropySoftGrad(x, r, c, x, 0, 0, 0.1, 1, o, aux),
  entropy: (e, x, r, c, o) => e.entropy(x, r, c, o),
  klDiv: (e, x, r, c, o, t, aux) => e.klDiv(x, aux, r, c, o),
  sigmoid: (e, x, r, c, o) => e.sigmoid(x, r * c, o),
  logSigmoid: (e, x, r, c, o) => e.logSigmoid(x, r * c, o),
  bce: (e, x, r, c, o, t, aux) => e.bceWithLogits(x, aux, r * c, c, 0, 0, 0, 0, 0, o, 1),
  argmax: (e, x, r, c, o) => e.argmax(x, r, c, o),
};
const differ = new Set();
for (const [r, c] of shapes) {
  const outs = builds.map(({ e, f32 }) => {
    const x = Number(e.heapBase());
    const n = r * c;
    const t = x + n * 4 + 64, o = t + r * 4 + 64, aux = o + n * 8 + 64;
    const u8 = new Uint8Array(f32.buffer);
    const res = {};
    for (const [name, f] of Object.entries(ops)) {
      let s = 12345;
      for (let i = 0; i < n; i++) { s = (s * 1664525 + 1013904223) >>> 0; f32[x / 4 + i] = (s / 2 ** 32 - 0.5) * 10; f32[aux / 4 + i] = ((s >>> 7) / 2 ** 25 - 0.5) * 6; }
      if (n > 2) { f32[x / 4 + 1] = -Infinity; }
      const i32 = new Int32Array(f32.buffer);
      for (let i = 0; i < r; i++) i32[t / 4 + i] = (i * 7) % c;
      u8.fill(0, o, o + n * 8);
      f(e, x, r, c, o, t, aux);
      res[name] = Buffer.from(u8.slice(o, o + n * 8)).toString('hex') + Buffer.from(u8.slice(aux, aux + 16 * r)).toString('hex');
    }
    return res;
  });
  for (const k of Object.keys(ops)) if (outs[0][k] !== outs[1][k]) differ.add(`${k}@${r}x${c}`);
}
console.log(differ.size ? `differ: ${[...differ].join(' ')}` : 'all outputs bit-identical');
