// .npz (stored, deflated, ZIP64) and .safetensors inputs: files written by numpy itself (test/fixtures,
// made by np.savez / np.savez_compressed), archives and safetensors files built here byte by byte
// (including damaged ones), and the CLI scoring netcal's records straight from their .npz.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { crc32, deflateRawSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { cliSandbox, ROOT } from './helpers/cli.js';
import { arrayNames, containerOf, openArray } from '../src/io/arrays.js';
import { NpyShardSource } from '../src/io/npy-source.js';
import { encodeNpyData, npyHeaderBytes, type NpyWriteDtype } from '../src/io/npy.js';

const { dir, exec } = cliSandbox('containers');
const fixtures = join(ROOT, 'test', 'fixtures');

// What numpy wrote into the fixtures (rng = default_rng(7); x = float32(N(0,1) * 3), 7 × 3).
const X = [
  [0.0036904599983245134, 0.8962365984916687, -0.8224135637283325],
  [-2.6717755794525146, -1.364012360572815, -2.9749395847320557],
  [0.1804308146238327, 4.020645618438721, -1.4766196012496948],
  [-1.8614246845245361, 1.4695261716842651, 1.0706610679626465],
  [0.3162427544593811, -2.7914042472839355, -0.0877554640173912],
  [2.085909605026245, -4.032643795013428, -1.372847318649292],
  [-5.703668117523193, -3.8686132431030273, -5.525205135345459],
].flat();
const Y = [0, 1, 2, 2, 1, 0, 1];

function readAll(src: NpyShardSource): { x: number[]; y: number[] } {
  const x: number[] = [];
  const y: number[] = [];
  for (const b of src.blocks()) {
    x.push(...b.x);
    y.push(...b.labels!);
  }
  return { x, y };
}

function npy(descr: NpyWriteDtype, shape: number[], values: ArrayLike<number>): Buffer {
  return Buffer.concat([npyHeaderBytes(descr, shape), encodeNpyData(descr, values)]);
}

interface Member {
  name: string;
  data: Buffer;
  method?: 0 | 8 | 12;
  /** Write the sizes and offset as ZIP64 extra fields (as numpy does for large members). */
  zip64?: boolean;
  /** Override what the directory records. */
  size?: number;
  crc?: number;
}

/** A ZIP archive as np.savez writes one: local headers, data, central directory, end record. */
function zip(members: Member[], opts: { comment?: string; zip64Eocd?: boolean } = {}): Buffer {
  const parts: Buffer[] = [];
  const central: Buffer[] = [];
  let offset = 0;
  for (const m of members) {
    const method = m.method ?? 0;
    const body = method === 8 ? deflateRawSync(m.data) : m.data;
    const name = Buffer.from(m.name, 'utf8');
    const crc = m.crc ?? crc32(m.data);
    const size = m.size ?? m.data.length;
    const extra = m.zip64 ? Buffer.alloc(4 + 24) : Buffer.alloc(0);
    if (m.zip64) {
      extra.writeUInt16LE(1, 0);
      extra.writeUInt16LE(24, 2);
      extra.writeBigUInt64LE(BigInt(size), 4);
      extra.writeBigUInt64LE(BigInt(body.length), 12);
      extra.writeBigUInt64LE(BigInt(offset), 20);
    }
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(m.zip64 ? 45 : 20, 4);
    local.writeUInt16LE(method, 8);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(m.zip64 ? 0xffffffff : body.length, 18);
    local.writeUInt32LE(m.zip64 ? 0xffffffff : size, 22);
    local.writeUInt16LE(name.length, 26);
    local.writeUInt16LE(extra.length, 28);
    const c = Buffer.alloc(46);
    c.writeUInt32LE(0x02014b50, 0);
    c.writeUInt16LE(m.zip64 ? 45 : 20, 4);
    c.writeUInt16LE(m.zip64 ? 45 : 20, 6);
    c.writeUInt16LE(0x800, 8);
    c.writeUInt16LE(method, 10);
    c.writeUInt32LE(crc, 16);
    c.writeUInt32LE(m.zip64 ? 0xffffffff : body.length, 20);
    c.writeUInt32LE(m.zip64 ? 0xffffffff : size, 24);
    c.writeUInt16LE(name.length, 28);
    c.writeUInt16LE(extra.length, 30);
    c.writeUInt32LE(m.zip64 ? 0xffffffff : offset, 42);
    central.push(c, name, extra);
    parts.push(local, name, extra, body);
    offset += local.length + name.length + extra.length + body.length;
  }
  const cd = Buffer.concat(central);
  const comment = Buffer.from(opts.comment ?? '', 'utf8');
  const tail: Buffer[] = [];
  if (opts.zip64Eocd) {
    const rec = Buffer.alloc(56);
    rec.writeUInt32LE(0x06064b50, 0);
    rec.writeBigUInt64LE(44n, 4);
    rec.writeBigUInt64LE(BigInt(members.length), 24);
    rec.writeBigUInt64LE(BigInt(members.length), 32);
    rec.writeBigUInt64LE(BigInt(cd.length), 40);
    rec.writeBigUInt64LE(BigInt(offset), 48);
    const loc = Buffer.alloc(20);
    loc.writeUInt32LE(0x07064b50, 0);
    loc.writeBigUInt64LE(BigInt(offset + cd.length), 8);
    loc.writeUInt32LE(1, 16);
    tail.push(rec, loc);
  }
  const eocd = Buffer.alloc(22);
  eocd.writeUInt32LE(0x06054b50, 0);
  eocd.writeUInt16LE(opts.zip64Eocd ? 0xffff : members.length, 8);
  eocd.writeUInt16LE(opts.zip64Eocd ? 0xffff : members.length, 10);
  eocd.writeUInt32LE(opts.zip64Eocd ? 0xffffffff : cd.length, 12);
  eocd.writeUInt32LE(opts.zip64Eocd ? 0xffffffff : offset, 16);
  eocd.writeUInt16LE(comment.length, 20);
  return Buffer.concat([...parts, cd, ...tail, eocd, comment]);
}

/** A .safetensors file: u64 header length, JSON header, data. */
function safetensors(tensors: Record<string, { dtype: string; shape: number[]; data: Buffer }>, headerPad = ''): Buffer {
  const header: Record<string, unknown> = { __metadata__: { format: 'pt' } };
  const datas: Buffer[] = [];
  let at = 0;
  for (const [name, t] of Object.entries(tensors)) {
    header[name] = { dtype: t.dtype, shape: t.shape, data_offsets: [at, at + t.data.length] };
    datas.push(t.data);
    at += t.data.length;
  }
  const json = Buffer.from(JSON.stringify(header) + headerPad, 'utf8');
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(json.length));
  return Buffer.concat([len, json, ...datas]);
}

function file(name: string, bytes: Buffer): string {
  const p = join(dir, name);
  writeFileSync(p, bytes);
  return p;
}

const f32 = (v: ArrayLike<number>) => Buffer.from(Float32Array.from(v).buffer);

describe('.npz written by numpy', () => {
  it('np.savez (stored members, logits/labels keys) streams in place', async () => {
    const p = join(fixtures, 'savez.npz');
    expect(containerOf(p)).toBe('npz');
    expect(arrayNames(p).sort()).toEqual(['labels', 'logits']);
    const src = await NpyShardSource.open([{ logits: p, labels: p }], { blockBytes: 2 * 3 * 4 });
    try {
      expect([src.rows, src.classes]).toEqual([7, 3]);
      const { x, y } = readAll(src);
      expect(x).toEqual(X.map(Math.fround));
      expect(y).toEqual(Y);
    } finally {
      src.close();
    }
  });

  it('np.savez_compressed (deflated float16 predictions, int32 ground_truth) is inflated and read', async () => {
    const p = join(fixtures, 'savez-compressed.npz');
    const src = await NpyShardSource.open([{ logits: p, labels: p }]);
    try {
      const { x, y } = readAll(src);
      // float16 storage: within half an ulp of float16 (2^-11 relative)
      x.forEach((v, i) => expect(Math.abs(v - X[i])).toBeLessThanOrEqual(Math.abs(X[i]) * 2 ** -11 + 2 ** -25));
      expect(y).toEqual(Y);
    } finally {
      src.close();
    }
  });

  it('np.savez with positional arrays (arr_0 float64, arr_1 int64) pairs arr_0 with arr_1', async () => {
    const p = join(fixtures, 'savez-positional.npz');
    const src = await NpyShardSource.open([{ logits: p, labels: p }]);
    try {
      const { x, y } = readAll(src);
      expect(x).toEqual(X.map(Math.fround));
      expect(y).toEqual(Y);
    } finally {
      src.close();
    }
  });

  it('a deflated member opened without NpyShardSource.open says how to open it', () => {
    expect(() => openArray(join(fixtures, 'savez-compressed.npz'), 'logits', 'predictions')).toThrow(/savez-compressed\.npz\[predictions\]: is a deflated .*NpyShardSource\.open/);
  });
});

describe('.npz archives built here', () => {
  const logits = npy('<f4', [2, 3], [1, 2, 3, 4, 5, 6]);
  const labels = npy('<i8', [2], [2, 0]);

  it('ZIP64 extra fields and a ZIP64 end record are read', async () => {
    const p = file('zip64.npz', zip([{ name: 'logits.npy', data: logits, zip64: true }, { name: 'labels.npy', data: labels, zip64: true, method: 8 }], { zip64Eocd: true, comment: 'made by a test' }));
    const src = await NpyShardSource.open([{ logits: p, labels: p }]);
    try {
      expect(readAll(src)).toEqual({ x: [1, 2, 3, 4, 5, 6], y: [2, 0] });
    } finally {
      src.close();
    }
  });

  it('--logits-key / --labels-key pick other arrays; a missing key lists what the file holds', async () => {
    const p = file('keys.npz', zip([{ name: 'z.npy', data: logits }, { name: 'target.npy', data: labels }]));
    const src = await NpyShardSource.open([{ logits: p, labels: p, logitsKey: 'z', labelsKey: 'target' }]);
    src.close();
    await expect(NpyShardSource.open([{ logits: p, labels: p }])).rejects.toThrow(/keys\.npz: no logits array among the defaults \('logits', 'predictions', 'arr_0'\); it holds 'z', 'target': pick one with --logits-key/);
    await expect(NpyShardSource.open([{ logits: p, labels: p, logitsKey: 'zz' }])).rejects.toThrow(/keys\.npz: has no array 'zz' \(it holds 'z', 'target'\)/);
  });

  it('refuses damaged members, naming the archive and member', async () => {
    const crc = file('crc.npz', zip([{ name: 'logits.npy', data: logits, method: 8, crc: 1234 }, { name: 'labels.npy', data: labels }]));
    await expect(NpyShardSource.open([{ logits: crc, labels: crc }])).rejects.toThrow(/crc\.npz\[logits\]: CRC-32 mismatch/);
    // A member that inflates beyond what its directory records (a zip bomb's shape) stops at once.
    const bomb = file('bomb.npz', zip([{ name: 'logits.npy', data: Buffer.concat([logits, Buffer.alloc(1 << 20)]), method: 8, size: logits.length }, { name: 'labels.npy', data: labels }]));
    await expect(NpyShardSource.open([{ logits: bomb, labels: bomb }])).rejects.toThrow(/bomb\.npz\[logits\]: inflates to more than the \d+ bytes its ZIP directory records/);
    const bz = file('bzip2.npz', zip([{ name: 'logits.npy', data: logits, method: 12 }, { name: 'labels.npy', data: labels }]));
    await expect(NpyShardSource.open([{ logits: bz, labels: bz }])).rejects.toThrow(/bzip2\.npz\[logits\]: ZIP compression method 12 is not supported/);
    const whole = zip([{ name: 'logits.npy', data: logits }, { name: 'labels.npy', data: labels }]);
    const cut = file('cut.npz', whole.subarray(0, whole.length - 30));
    await expect(NpyShardSource.open([{ logits: cut, labels: cut }])).rejects.toThrow(/cut\.npz: truncated or damaged ZIP archive/);
    // A stored member whose .npy header promises more data than the member holds.
    const short = file('short.npz', zip([{ name: 'logits.npy', data: logits.subarray(0, logits.length - 4) }, { name: 'labels.npy', data: labels }]));
    await expect(NpyShardSource.open([{ logits: short, labels: short }])).rejects.toThrow(/short\.npz\[logits\]: truncated data/);
  });

  it('labels of another length than the logits are refused, naming both arrays', async () => {
    const p = file('rows.npz', zip([{ name: 'logits.npy', data: logits }, { name: 'labels.npy', data: npy('<i8', [3], [0, 1, 2]) }]));
    await expect(NpyShardSource.open([{ logits: p, labels: p }])).rejects.toThrow(/rows\.npz\[labels\]: has 3 labels but .*rows\.npz\[logits\] has 2 rows/);
  });
});

describe('.safetensors', () => {
  const x = [0.5, -1.25, 3, 2, 0, -7];
  // bfloat16 and float16 bits of the same (exactly representable) values
  const bf16 = Buffer.alloc(12);
  const u32 = new Uint32Array(Float32Array.from(x).buffer);
  u32.forEach((b, i) => bf16.writeUInt16LE(b >>> 16, i * 2));
  const f16 = encodeNpyData('<f2', x);
  const f64 = Buffer.from(Float64Array.from(x).buffer);

  for (const [dtype, data] of [['F32', f32(x)], ['F16', f16], ['BF16', bf16], ['F64', f64]] as const) {
    for (const [ldtype, ldata] of [['I64', Buffer.from(BigInt64Array.from([2n, 1n]).buffer)], ['I32', Buffer.from(Int32Array.from([2, 1]).buffer)], ['U8', Buffer.from([2, 1])]] as const) {
      it(`${dtype} logits with ${ldtype} labels`, async () => {
        const p = file(`t-${dtype}-${ldtype}.safetensors`, safetensors({ logits: { dtype, shape: [2, 3], data }, labels: { dtype: ldtype, shape: [2], data: ldata } }, '   '));
        expect(containerOf(p)).toBe('safetensors');
        const src = await NpyShardSource.open([{ logits: p, labels: p }]);
        try {
          expect(readAll(src)).toEqual({ x, y: [2, 1] });
        } finally {
          src.close();
        }
      });
    }
  }

  it('refuses a bad header, an unsupported dtype and a range that disagrees with the shape', async () => {
    const huge = Buffer.alloc(16);
    huge.writeBigUInt64LE(10n ** 12n);
    huge.write('{}', 8);
    const h = file('huge.safetensors', huge);
    await expect(NpyShardSource.open([{ logits: h, labels: h }])).rejects.toThrow(/huge\.safetensors: safetensors header of 1000000000000 bytes is over the 100000000-byte limit/);
    const bool = file('bool.safetensors', safetensors({ logits: { dtype: 'BOOL', shape: [2, 3], data: Buffer.alloc(6) }, labels: { dtype: 'I64', shape: [2], data: Buffer.alloc(16) } }));
    // BOOL is read (multi-label targets) but is no logits dtype
    await expect(NpyShardSource.open([{ logits: bool, labels: bool }])).rejects.toThrow(/bool\.safetensors\[logits\]: logits must be float16, float32 or float64.*got '\|b1'/);
    const c64 = file('c64.safetensors', safetensors({ logits: { dtype: 'C64', shape: [1], data: Buffer.alloc(8) }, labels: { dtype: 'I64', shape: [1], data: Buffer.alloc(8) } }));
    await expect(NpyShardSource.open([{ logits: c64, labels: c64 }])).rejects.toThrow(/c64\.safetensors\[logits\]: safetensors dtype C64 is not supported/);
    const mis = file('mis.safetensors', safetensors({ logits: { dtype: 'F32', shape: [2, 4], data: f32(x) }, labels: { dtype: 'I64', shape: [2], data: Buffer.alloc(16) } }));
    await expect(NpyShardSource.open([{ logits: mis, labels: mis }])).rejects.toThrow(/mis\.safetensors\[logits\]: shape \(2, 4\) of F32 is 32 bytes but its data range holds 24/);
  });
});

describe('logitkit score on container files', () => {

  // numpy, float64: p /= p.sum(1); nll = -log p[y].mean(); acc = (p.argmax(1) == y).mean()
  for (const [name, nll, accuracy] of [
    ['wideresnet-16-4-cifar-10.npz', 0.37816959153280616, 0.9109],
    ['lenet-5-cifar-10.npz', 1.3698677277002071, 0.5308],
  ] as const) {
    it(`scores netcal's ${name} straight from the .npz, probabilities in`, async () => {
      const r = await exec('score', join(ROOT, 'data', 'sample', name), '--input', 'probs', '--json');
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      const out = JSON.parse(r.stdout);
      expect(out.rows).toBe(10000);
      expect(out.accuracy).toBe(accuracy);
      expect(Math.abs(out.nll - nll)).toBeLessThan(2e-6);
    });
  }

  it('--input probs: rows that do not sum to 1 give one warning with their count; values outside [0, 1] are an error naming the row', async () => {
    const p = file('probs.npz', zip([{ name: 'logits.npy', data: npy('<f4', [3, 2], [0.5, 0.5, 0.7, 0.7, 0.2, 0.8]) }, { name: 'labels.npy', data: npy('<i8', [3], [0, 1, 1]) }]));
    const r = await exec('score', p, '--input', 'probs', '--json');
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('warning: 1 of 3 probability rows sum to more than 0.001 away from 1; they are scored as softmax(ln p), i.e. renormalised\n');
    const bad = file('bad-probs.npz', zip([{ name: 'logits.npy', data: npy('<f4', [2, 2], [0.5, 0.5, 1.5, -0.5]) }, { name: 'labels.npy', data: npy('<i8', [2], [0, 1]) }]));
    const b = await exec('score', bad, '--input', 'probs');
    expect(b.code).toBe(1);
    expect(b.stderr).toMatch(/bad-probs\.npz\[logits\]: row 1: probability 1\.5 at class 0 is not in \[0, 1\] \(--input probs\)/);
  });

  it('an .npy without --labels is a usage error that says which files can hold their own labels', async () => {
    const p = file('plain.npy', npy('<f4', [2, 3], [1, 2, 3, 4, 5, 6]));
    const r = await exec('score', p);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/missing --labels LABELS\.npy for .*plain\.npy \(only an \.npz or \.safetensors file can hold its own labels\)/);
    expect((await exec('score', p, '--input', 'odds', '--labels', p)).code).toBe(2);
  });
});
