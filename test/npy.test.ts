// .npy reading/writing and row-block streaming: every dtype and version, every malformed file.
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  encodeNpyData,
  floatToHalfBits,
  npyHeaderBytes,
  NpyFile,
  NpyWriter,
  parseHeaderDict,
  readNpyFloat32,
  readNpyInt32,
  writeNpy,
  writeNpyRaw,
  type NpyWriteDtype,
} from '../src/io/npy.js';
import { arraySource } from '../src/io/stream.js';
import { NpyShardSource } from '../src/io/npy-source.js';

const dir = mkdtempSync(join(tmpdir(), 'lk-npy-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let seq = 0;
const file = (name = 'a.npy') => join(dir, `${seq++}-${name}`);

/** A raw .npy with the given version and header text (padded as numpy does). */
function rawNpy(version: number, dict: string, data: Uint8Array): Buffer {
  const pre = version === 1 ? 10 : 12;
  const enc = Buffer.from(dict, version === 3 ? 'utf8' : 'latin1');
  const total = Math.ceil((pre + enc.length + 1) / 64) * 64;
  const h = Buffer.concat([enc, Buffer.from(' '.repeat(total - pre - enc.length - 1) + '\n')]);
  const head = Buffer.alloc(pre);
  Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, version, 0]).copy(head);
  if (version === 1) head.writeUInt16LE(h.length, 8);
  else head.writeUInt32LE(h.length, 8);
  return Buffer.concat([head, h, data]);
}

describe('npy header', () => {
  it('parses what numpy writes, in any key order and spacing', () => {
    expect(parseHeaderDict('f', "{'descr': '<f4', 'fortran_order': False, 'shape': (10000, 10), }")).toEqual({
      descr: '<f4',
      fortranOrder: false,
      shape: [10000, 10],
    });
    expect(parseHeaderDict('f', "{ 'shape' : (3,) ,'fortran_order':True,'descr':'>i8'}")).toEqual({ descr: '>i8', fortranOrder: true, shape: [3] });
    expect(parseHeaderDict('f', "{'descr': '<f8', 'fortran_order': False, 'shape': ()}").shape).toEqual([]);
  });

  it('never evaluates the header: code in it is a malformed header', () => {
    expect(() => parseHeaderDict('evil.npy', "{'descr': __import__('os').system('x'), 'fortran_order': False, 'shape': (1,)}")).toThrow(
      /evil\.npy: malformed \.npy header/,
    );
    expect(() => parseHeaderDict('f.npy', "{'descr': '<f4', 'fortran_order': False}")).toThrow(/missing 'shape'/);
    expect(() => parseHeaderDict('f.npy', "{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (1,)}")).toThrow(/f\.npy/);
  });

  it('writes headers numpy accepts: 64-byte aligned, newline-terminated', () => {
    const h = npyHeaderBytes('<f4', [7, 3]);
    expect(h.length % 64).toBe(0);
    expect(h[h.length - 1]).toBe(0x0a);
    expect(h.toString('latin1', 10)).toContain("'shape': (7, 3)");
    expect(npyHeaderBytes('<i4', [5]).toString('latin1')).toContain("'shape': (5,)");
  });
});

describe('npy read: every dtype, both byte orders, versions 1-3', () => {
  const values = [0, -0, 1.5, -2.25, 3.1415927, 65504, 1e-3, -7, 1e30, 6.1e-5];
  for (const descr of ['<f4', '>f4', '<f8', '>f8', '<f2', '>f2'] as NpyWriteDtype[]) {
    it(`logits ${descr}`, () => {
      const p = file();
      writeNpyRaw(p, descr, [2, 5], encodeNpyData(descr, values));
      const f = NpyFile.open(p, 'logits');
      expect([f.rows, f.cols]).toEqual([2, 5]);
      const got = f.readFloat32(0, 2);
      const expected = values.map((v) => {
        if (descr.endsWith('f2')) {
          // The half nearest to v, widened back: what a float16 file can hold.
          const h = floatToHalfBits(v);
          const e = (h >> 10) & 31;
          const m = h & 1023;
          const mag = e === 0 ? m * 2 ** -24 : e === 31 ? (m ? NaN : Infinity) : (1 + m / 1024) * 2 ** (e - 15);
          return h & 0x8000 ? -mag : mag;
        }
        return Math.fround(v);
      });
      expect(Array.from(got)).toEqual(expected);
      // Reading a block in the middle matches the same rows of the whole read.
      expect(Array.from(f.readFloat32(1, 1))).toEqual(expected.slice(5));
      f.close();
    });
  }

  it('float16: every one of the 65536 bit patterns widens exactly and round-trips', () => {
    const bits = new Uint16Array(65536).map((_, i) => i);
    const p = file();
    writeNpyRaw(p, '<f2', [65536], new Uint8Array(bits.buffer));
    const { data } = readNpyFloat32(p);
    for (let h = 0; h < 65536; h++) {
      const v = data[h];
      if (Number.isNaN(v)) {
        expect((h & 0x7c00) === 0x7c00 && (h & 0x3ff) !== 0).toBe(true);
        continue;
      }
      expect(floatToHalfBits(v)).toBe(h);
    }
    expect(data[0x3c00]).toBe(1);
    expect(data[0x0001]).toBe(2 ** -24);
    expect(data[0xfc00]).toBe(-Infinity);
  });

  const labelValues = [0, 1, 9, 255, 3];
  for (const descr of ['<i4', '>i4', '<i8', '>i8', '|u1', '<u2'] as NpyWriteDtype[]) {
    it(`labels ${descr}`, () => {
      const p = file();
      writeNpyRaw(p, descr, [5], encodeNpyData(descr, labelValues));
      const f = NpyFile.open(p, 'labels');
      expect([f.rows, f.cols]).toEqual([5, 1]);
      expect(Array.from(f.readInt32(0, 5))).toEqual(labelValues);
      expect(Array.from(f.readInt32(2, 2))).toEqual([9, 255]);
      f.close();
    });
  }

  it('negative int64 labels survive (sign extension) and huge ones are rejected naming the row', () => {
    const p = file('big.npy');
    writeNpyRaw(p, '<i8', [3], encodeNpyData('<i8', [-100, 2, 2 ** 33]));
    const f = NpyFile.open(p, 'labels');
    expect(Array.from(f.readInt32(0, 2))).toEqual([-100, 2]);
    expect(() => f.readInt32(0, 3)).toThrow(/big\.npy: value 8589934592 at row 2 does not fit in int32/);
    f.close();
  });

  for (const version of [2, 3]) {
    it(`format version ${version}`, () => {
      const p = file();
      const data = encodeNpyData('<f4', [1, 2, 3, 4, 5, 6]);
      writeFileSync(p, rawNpy(version, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", data));
      const f = NpyFile.open(p, 'logits');
      expect(f.header.version).toBe(version);
      expect(Array.from(f.readFloat32(0, 2))).toEqual([1, 2, 3, 4, 5, 6]);
      f.close();
    });
  }
});

describe('npy read: malformed files give one line naming the file', () => {
  const good = () => rawNpy(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (4, 3), }", encodeNpyData('<f4', new Array(12).fill(1)));
  const cases: [string, () => Buffer, RegExp][] = [
    ['wrong magic', () => Buffer.concat([Buffer.from('GIF89a not numpy'), Buffer.alloc(64)]), /wrong magic string/],
    ['a ZIP (.npz) archive', () => Buffer.concat([Buffer.from('PK\x03\x04 not numpy'), Buffer.alloc(64)]), /is a ZIP archive \(an \.npz, as np\.savez writes\), not an \.npy file: score and calibrate read \.npz files directly/],
    ['empty file', () => Buffer.alloc(0), /not an \.npy file/],
    ['truncated header', () => good().subarray(0, 40), /truncated \.npy header/],
    ['only the magic string', () => good().subarray(0, 8), /truncated \.npy header/],
    ['truncated data', () => good().subarray(0, good().length - 5), /truncated data: the header says shape \(4, 3\) of '<f4' = 48 bytes, but the file holds only 43/],
    ['header claims more rows', () => rawNpy(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (400, 3), }", encodeNpyData('<f4', [1, 2, 3])), /truncated data/],
    ['version 4', () => Object.assign(good(), { 6: 4 }), /unsupported \.npy format version 4/],
    [
      'Fortran order',
      () => rawNpy(1, "{'descr': '<f4', 'fortran_order': True, 'shape': (4, 3), }", encodeNpyData('<f4', new Array(12).fill(1))),
      /Fortran \(column-major\) order.*np\.ascontiguousarray/,
    ],
    ['integer logits', () => rawNpy(1, "{'descr': '<i4', 'fortran_order': False, 'shape': (4, 3), }", Buffer.alloc(48)), /logits must be float16, float32 or float64/],
    ['3-D logits', () => rawNpy(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2, 3), }", Buffer.alloc(48)), /logits must be 2-D/],
    ['structured dtype', () => rawNpy(1, "{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (4,), }", Buffer.alloc(16)), /malformed/],
    ['complex dtype', () => rawNpy(1, "{'descr': '<c8', 'fortran_order': False, 'shape': (4, 3), }", Buffer.alloc(96)), /unsupported dtype '<c8'/],
  ];
  for (const [name, make, re] of cases) {
    it(name, () => {
      const p = file(`${name.replace(/\W/g, '_')}.npy`);
      writeFileSync(p, make());
      let err: Error | null = null;
      try {
        NpyFile.open(p, 'logits').close();
      } catch (e) {
        err = e as Error;
      }
      expect(err).not.toBeNull();
      expect(err!.message).toMatch(re);
      expect(err!.message.startsWith(p)).toBe(true);
      expect(err!.message).not.toContain('\n');
    });
  }

  it('float labels and 2-D labels are rejected', () => {
    const p = file('flabels.npy');
    writeNpyRaw(p, '<f4', [3], encodeNpyData('<f4', [0, 1, 2]));
    expect(() => NpyFile.open(p, 'labels')).toThrow(/labels must be integers/);
    const q = file('l2.npy');
    writeNpyRaw(q, '<i4', [3, 2], encodeNpyData('<i4', [0, 1, 2, 0, 1, 2]));
    expect(() => NpyFile.open(q, 'labels')).toThrow(/labels must be 1-D/);
    expect(() => NpyFile.open(join(dir, 'missing.npy'), 'labels')).toThrow(/missing\.npy: no such file/);
  });
});

describe('npy write', () => {
  it('writeNpy round-trips float32 and int32, leaving no temp file', () => {
    const p = file('w.npy');
    const x = Float32Array.from({ length: 12 }, (_, i) => i * 0.25 - 1);
    writeNpy(p, x, [4, 3]);
    expect(readNpyFloat32(p)).toEqual({ data: x, shape: [4, 3] });
    const q = file('wi.npy');
    writeNpy(q, Int32Array.from([5, -1, 7]), [3]);
    expect(Array.from(readNpyInt32(q).data)).toEqual([5, -1, 7]);
    expect(readdirSync(dir).filter((n) => n.endsWith('.tmp'))).toEqual([]);
  });

  it('NpyWriter streams blocks; abort leaves neither the file nor a temp; short writes refuse to commit', () => {
    const p = file('stream.npy');
    const w = new NpyWriter(p, '<f4', [3, 2]);
    w.write(Float32Array.from([1, 2]));
    w.write(Float32Array.from([3, 4, 5, 6]));
    expect(existsSync(p)).toBe(false); // not visible until committed
    w.commit();
    expect(Array.from(readNpyFloat32(p).data)).toEqual([1, 2, 3, 4, 5, 6]);

    const q = file('aborted.npy');
    const a = new NpyWriter(q, '<f4', [3, 2]);
    a.write(Float32Array.from([1, 2]));
    a.abort();
    expect(existsSync(q)).toBe(false);

    const r = file('short.npy');
    writeFileSync(r, 'old contents');
    const s = new NpyWriter(r, '<i4', [4]);
    s.write(Int32Array.from([1, 2]));
    expect(() => s.commit()).toThrow(/wrote 2 of 4/);
    expect(readFileSync(r, 'utf8')).toBe('old contents'); // the previous file is untouched
    expect(readdirSync(dir).filter((n) => n.endsWith('.tmp'))).toEqual([]);
  });
});

describe('row-block streaming', () => {
  it('walks several shards in small blocks, covering every row once, in order', () => {
    const C = 7;
    const shards = [13, 1, 30].map((rows, s) => {
      const x = Float32Array.from({ length: rows * C }, (_, i) => s * 1000 + i);
      const y = Int32Array.from({ length: rows }, (_, i) => (i + s) % C);
      const lp = file(`s${s}.npy`);
      const yp = file(`s${s}-labels.npy`);
      writeNpy(lp, x, [rows, C]);
      writeNpyRaw(yp, '>i8', [rows], encodeNpyData('>i8', Array.from(y)));
      return { x, y, logits: lp, labels: yp };
    });
    const src = new NpyShardSource(shards, { blockBytes: 5 * C * 4 }); // 5 rows per block
    expect([src.rows, src.classes, src.hasLabels]).toEqual([44, C, true]);
    const xs: number[] = [];
    const ys: number[] = [];
    let expectStart = 0;
    for (let pass = 0; pass < 2; pass++) {
      xs.length = 0;
      ys.length = 0;
      expectStart = 0;
      for (const b of src.blocks()) {
        expect(b.rows).toBeLessThanOrEqual(5);
        expect(b.start).toBe(expectStart);
        expectStart += b.rows;
        xs.push(...b.x);
        ys.push(...b.labels!);
      }
      expect(xs).toEqual(shards.flatMap((s) => Array.from(s.x)));
      expect(ys).toEqual(shards.flatMap((s) => Array.from(s.y)));
    }
    expect(src.describeRow(13, 'labels')).toBe(`row 0 of ${shards[1].labels}`);
    expect(src.describeRow(15, 'logits')).toBe(`row 1 of ${shards[2].logits}`);
    src.close();
  });

  it('rejects label/logit row mismatches and class mismatches, naming the files', () => {
    const a = file('a.npy');
    const b = file('b.npy');
    const la = file('la.npy');
    writeNpy(a, new Float32Array(12), [4, 3]);
    writeNpy(b, new Float32Array(8), [4, 2]);
    writeNpy(la, new Int32Array(5), [5]);
    expect(() => new NpyShardSource([{ logits: a, labels: la }])).toThrow(new RegExp(`${la}: has 5 labels but ${a} has 4 rows`));
    const lb = file('lb.npy');
    writeNpy(lb, new Int32Array(4), [4]);
    expect(() => new NpyShardSource([{ logits: a, labels: lb }, { logits: b, labels: lb }])).toThrow(/has 2 classes but .* has 3/);
  });

  it('arraySource splits in-memory arrays into blocks', () => {
    const x = Float32Array.from({ length: 10 * 2 }, (_, i) => i);
    const blocks = [...arraySource(x, 2, null, 4).blocks()];
    expect(blocks.map((b) => [b.start, b.rows])).toEqual([
      [0, 4],
      [4, 4],
      [8, 2],
    ]);
  });
});
