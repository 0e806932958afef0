// The digits demo's pipeline in Node: a real model (data/digits/digits-mlp.onnx, run by
// onnxruntime-web's wasm build) on the held-out test images, then logitkit decides what to trust:
// calibrated probabilities (calibration-map.json, from `logitkit fit`), 90% conformal prediction
// sets (conformal.json, from `logitkit conformal`) and the energy out-of-distribution check
// (ood.json, from `logitkit ood`) — on the test digits and on noise/scribble images.
//
//   npm run build && node examples/digits/classify.mjs [--json]
import { readFileSync } from 'node:fs';
import * as ort from 'onnxruntime-web';
import * as logitkit from 'logitkit';

const data = (file) => new URL(`../../data/digits/${file}`, import.meta.url);
const json = (file) => JSON.parse(readFileSync(data(file), 'utf8'));

/** A C-order .npy of uint8, int32 or float32 (what scripts/train-digits.py writes). */
function readNpy(file) {
  const bytes = readFileSync(data(file));
  const headerLength = bytes.readUInt16LE(8);
  const header = bytes.subarray(10, 10 + headerLength).toString('latin1');
  const descr = /'descr':\s*'([^']+)'/.exec(header)[1];
  const shape = /'shape':\s*\(([^)]*)\)/.exec(header)[1].split(',').filter((s) => s.trim()).map(Number);
  const body = bytes.subarray(10 + headerLength);
  const Type = { '|u1': Uint8Array, '<i4': Int32Array, '<f4': Float32Array }[descr];
  if (!Type) throw new Error(`${file}: dtype ${descr} is not read here`);
  return { data: new Type(body.buffer.slice(body.byteOffset, body.byteOffset + body.length)), shape };
}

const CLASSES = 10;
const lk = await logitkit.init();
const map = logitkit.calibrationMapFromJSON(json('calibration-map.json'), CLASSES);
const conformal = logitkit.conformalModelFromJSON(json('conformal.json'));
const ood = json('ood.json');

ort.env.wasm.numThreads = 1;
ort.env.logLevel = 'error';
const session = await ort.InferenceSession.create(readFileSync(data('digits-mlp.onnx')));

/** 8×8 images (0–16) → logits, one onnxruntime call for the whole batch. */
async function logitsOf(images) {
  const rows = images.length / 64;
  const out = await session.run({ pixels: new ort.Tensor('float32', Float32Array.from(images), [rows, 64]) });
  return out.logits.data;
}

/** Everything the demo shows, for a batch of rows. */
function judge(logits) {
  const calibrated = lk.applyCalibration(logits, CLASSES, map);
  const probs = lk.softmax(calibrated, CLASSES);
  const predictions = lk.argmax(calibrated, CLASSES);
  const sets = lk.predictSets(calibrated, CLASSES, conformal, { seed: conformal.seed });
  const energy = lk.oodScore(logits, CLASSES, { method: 'energy', temperature: ood.temperature });
  const flagged = Array.from(energy, (e) => e > ood.threshold);
  return { probs, predictions, sets, energy, flagged };
}

const test = readNpy('test-images.npy');
const labels = readNpy('test-labels.npy').data;
const digits = judge(await logitsOf(test.data));
const others = judge(await logitsOf(readNpy('ood-images.npy').data));

const rows = labels.length;
const correct = digits.predictions.filter((p, i) => p === labels[i]).length;
const sets = logitkit.conformalMetrics(digits.sets, labels, { alpha: conformal.alpha });
const rate = (flags) => flags.filter(Boolean).length / flags.length;
const summary = {
  rows,
  accuracy: correct / rows,
  conformal: { alpha: conformal.alpha, coverage: sets.coverage, meanSize: sets.meanSize, emptyRate: sets.emptyRate },
  ood: {
    threshold: ood.threshold,
    digitsFlagged: rate(digits.flagged),
    // scripts/train-digits.py writes 200 noise images, then 200 scribbles
    noiseFlagged: rate(others.flagged.slice(0, 200)),
    scribblesFlagged: rate(others.flagged.slice(200)),
  },
};

if (process.argv.includes('--json')) {
  process.stdout.write(`${JSON.stringify(summary)}\n`);
} else {
  const setOf = (s, r) => `{${Array.from(s.indices.subarray(s.offsets[r], s.offsets[r + 1])).join(',')}}`;
  console.log('row  label  prediction  p(calibrated)  90% set      energy  verdict');
  for (let r = 0; r < 8; r++) {
    const p = digits.predictions[r];
    const verdict = digits.flagged[r] ? 'not a digit' : 'digit';
    console.log(
      `${String(r).padStart(3)}  ${String(labels[r]).padStart(5)}  ${String(p).padStart(10)}  ${digits.probs[r * CLASSES + p].toFixed(3).padStart(13)}  ${setOf(digits.sets, r).padEnd(11)}  ${digits.energy[r].toFixed(2).padStart(6)}  ${verdict}`,
    );
  }
  console.log(`\n${rows} held-out digits: accuracy ${(summary.accuracy * 100).toFixed(1)}%, 90% sets cover ${(sets.coverage * 100).toFixed(1)}% with ${sets.meanSize.toFixed(2)} digits on average`);
  console.log(
    `energy > ${ood.threshold.toFixed(2)} flags ${(summary.ood.digitsFlagged * 100).toFixed(1)}% of the digits, ` +
      `${(summary.ood.noiseFlagged * 100).toFixed(1)}% of noise images and ${(summary.ood.scribblesFlagged * 100).toFixed(1)}% of scribbles`,
  );
}
