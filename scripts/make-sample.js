// Builds data/sample/ from the real CIFAR-10 classifier outputs in /work/shared/data (netcal examples,
// Apache-2.0): logits = float32(log(p)) of each softmax row (softmax(log p) = p), labels int64 as shipped.
// Deterministic: same inputs → byte-identical outputs. Uses only node: modules (a minimal .npz reader:
// a zip central directory walk, entries stored or deflated, inflated with zlib.inflateRawSync).
//
//   node scripts/make-sample.js [SOURCE_DIR]      (default /work/shared/data)
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { inflateRawSync } from 'node:zlib';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const sourceDir = process.argv[2] ?? '/work/shared/data';
const outDir = join(root, 'data', 'sample');

/** Entries of a zip archive (no zip64, no encryption): name → uncompressed bytes. */
function readZip(path) {
  const buf = readFileSync(path);
  // End of central directory: signature 0x06054b50, within the last 64 KiB + 22 bytes.
  let eocd = -1;
  for (let i = buf.length - 22; i >= Math.max(0, buf.length - 65557); i--) {
    if (buf.readUInt32LE(i) === 0x06054b50) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) throw new Error(`${path}: not a zip/npz file (no end of central directory)`);
  const count = buf.readUInt16LE(eocd + 10);
  let p = buf.readUInt32LE(eocd + 16);
  const entries = new Map();
  for (let e = 0; e < count; e++) {
    if (buf.readUInt32LE(p) !== 0x02014b50) throw new Error(`${path}: bad central directory entry`);
    const method = buf.readUInt16LE(p + 10);
    const csize = buf.readUInt32LE(p + 20);
    const usize = buf.readUInt32LE(p + 24);
    const nameLen = buf.readUInt16LE(p + 28);
    const extraLen = buf.readUInt16LE(p + 30);
    const commentLen = buf.readUInt16LE(p + 32);
    const local = buf.readUInt32LE(p + 42);
    const name = buf.toString('utf8', p + 46, p + 46 + nameLen);
    if (csize === 0xffffffff || usize === 0xffffffff || local === 0xffffffff) throw new Error(`${path}: zip64 entries are not supported`);
    // The local header repeats name and extra field with possibly different lengths.
    if (buf.readUInt32LE(local) !== 0x04034b50) throw new Error(`${path}: bad local header for ${name}`);
    const dataStart = local + 30 + buf.readUInt16LE(local + 26) + buf.readUInt16LE(local + 28);
    const raw = buf.subarray(dataStart, dataStart + csize);
    let data;
    if (method === 0) data = Buffer.from(raw);
    else if (method === 8) data = inflateRawSync(raw);
    else throw new Error(`${path}: ${name} uses unsupported compression method ${method}`);
    if (data.length !== usize) throw new Error(`${path}: ${name} inflated to ${data.length} bytes, expected ${usize}`);
    entries.set(name, data);
    p += 46 + nameLen + extraLen + commentLen;
  }
  return entries;
}

/** Minimal .npy parse for the two arrays we need (little-endian, C order). */
function parseNpy(buf, what) {
  if (buf[0] !== 0x93 || buf.toString('latin1', 1, 6) !== 'NUMPY') throw new Error(`${what}: not .npy`);
  const major = buf[6];
  const hlen = major === 1 ? buf.readUInt16LE(8) : buf.readUInt32LE(8);
  const start = major === 1 ? 10 : 12;
  const header = buf.toString('latin1', start, start + hlen);
  const descr = /'descr':\s*'([^']+)'/.exec(header)?.[1];
  const fortran = /'fortran_order':\s*(True|False)/.exec(header)?.[1];
  const shape = /'shape':\s*\(([^)]*)\)/.exec(header)?.[1].split(',').filter((s) => s.trim()).map(Number);
  if (!descr || fortran !== 'False' || !shape) throw new Error(`${what}: unexpected header ${header}`);
  const data = buf.subarray(start + hlen);
  return { descr, shape, data: Buffer.from(data) };
}

function npyBytes(descr, shape, data) {
  const shapeText = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  let dict = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shapeText}, }`;
  const total = Math.ceil((10 + dict.length + 1) / 64) * 64;
  dict += ' '.repeat(total - 10 - dict.length - 1) + '\n';
  const head = Buffer.alloc(10);
  Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]).copy(head);
  head.writeUInt16LE(dict.length, 8);
  return Buffer.concat([head, Buffer.from(dict, 'latin1'), data]);
}

function writeAtomic(path, bytes) {
  const tmp = `${path}.tmp`;
  writeFileSync(tmp, bytes);
  renameSync(tmp, path);
}

const models = [
  { npz: 'wideresnet-16-4-cifar-10.npz', prefix: '' },
  { npz: 'lenet-5-cifar-10.npz', prefix: 'lenet-' },
];

mkdirSync(outDir, { recursive: true });
for (const m of models) {
  const entries = readZip(join(sourceDir, m.npz));
  const pred = parseNpy(entries.get('predictions.npy'), `${m.npz}:predictions`);
  const gt = parseNpy(entries.get('ground_truth.npy'), `${m.npz}:ground_truth`);
  if (pred.descr !== '<f4' || pred.shape.length !== 2) throw new Error(`${m.npz}: predictions must be <f4 2-D`);
  if (gt.descr !== '<i8' || gt.shape[0] !== pred.shape[0]) throw new Error(`${m.npz}: ground_truth must be <i8 with one label per row`);
  const [rows, classes] = pred.shape;
  const p = new Float32Array(pred.data.buffer, pred.data.byteOffset, rows * classes);
  const logits = new Float32Array(rows * classes);
  for (let i = 0; i < p.length; i++) {
    if (!(p[i] > 0)) throw new Error(`${m.npz}: probability ${p[i]} at ${i} has no finite log`);
    logits[i] = Math.log(p[i]);
  }
  writeAtomic(join(outDir, `${m.prefix}logits.npy`), npyBytes('<f4', [rows, classes], Buffer.from(logits.buffer)));
  writeAtomic(join(outDir, `${m.prefix}labels.npy`), npyBytes('<i8', [rows], gt.data));
  process.stderr.write(`${m.npz}: ${rows} × ${classes} → data/sample/${m.prefix}logits.npy, ${m.prefix}labels.npy\n`);
}
