// Builds data/sample/*.npy from the real CIFAR-10 classifier outputs shipped beside them as netcal's
// .npz records (Apache-2.0): logits = float32(log(p)) of each softmax row (softmax(log p) = p), labels
// int64 as shipped. Reads the records with logitkit's own .npz reader, so run `npm run build` first.
// Deterministic: same inputs → byte-identical outputs.
//
//   node scripts/make-sample.js [SOURCE_DIR]      (default data/sample)
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openArray } from '../dist/io/arrays.js';
import { encodeNpyData, writeNpyRaw } from '../dist/io/npy.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const outDir = join(root, 'data', 'sample');
const sourceDir = process.argv[2] ?? outDir;

const models = [
  { npz: 'wideresnet-16-4-cifar-10.npz', prefix: '' },
  { npz: 'lenet-5-cifar-10.npz', prefix: 'lenet-' },
];

mkdirSync(outDir, { recursive: true });
for (const m of models) {
  const path = join(sourceDir, m.npz);
  const pred = openArray(path, 'logits', 'predictions');
  const gt = openArray(path, 'labels', 'ground_truth');
  try {
    if (pred.header.descr !== '<f4') throw new Error(`${m.npz}: predictions must be <f4`);
    if (gt.header.descr !== '<i8' || gt.rows !== pred.rows) throw new Error(`${m.npz}: ground_truth must be <i8 with one label per row`);
    const { rows, cols: classes } = pred;
    const p = pred.readFloat32(0, rows);
    const logits = new Float32Array(rows * classes);
    for (let i = 0; i < p.length; i++) {
      if (!(p[i] > 0)) throw new Error(`${m.npz}: probability ${p[i]} at ${i} has no finite log`);
      logits[i] = Math.log(p[i]);
    }
    writeNpyRaw(join(outDir, `${m.prefix}logits.npy`), '<f4', [rows, classes], new Uint8Array(logits.buffer));
    writeNpyRaw(join(outDir, `${m.prefix}labels.npy`), '<i8', [rows], encodeNpyData('<i8', gt.readInt32(0, rows)));
    process.stderr.write(`${m.npz}: ${rows} × ${classes} → data/sample/${m.prefix}logits.npy, ${m.prefix}labels.npy\n`);
  } finally {
    pred.close();
    gt.close();
  }
}
