/**
 * .npy reading and writing, in bounded memory.
 *
 * What it does: parses the NumPy `.npy` header (format versions 1, 2 and 3) with a small literal parser
 * (never eval), checks it against the file (magic, header length, data size, C order), and then reads the
 * data in blocks of rows at byte offsets with fs.readSync, converting to what the engine takes: float32
 * logits (from little/big-endian float16, float32, float64) and int32 labels (from int32, int64, uint8,
 * uint16). Nothing here holds a whole file: a caller asks for rows [start, start + count).
 *
 * Writing goes through io/atomic.ts: a temporary file next to the destination, renamed into place on success and
 * removed on failure, so an interrupted write never leaves half a file behind.
 *
 * Every error is an NpyError whose one-line message starts with the file name and says what is wrong
 * (and, for Fortran order, how to fix it).
 */
import { float32ToFloat16Bits, halfToFloat } from '../half.js';
import { closeSync, constants as fsConstants, fstatSync, openSync, readSync, statSync } from 'node:fs';
import { AtomicFile, writeFailure, writeFileAtomic } from './atomic.js';
import { DEFAULT_MAX_HEADER_BYTES, MAX_CLASSES, MAX_ELEMENTS } from '../limits.js';

export interface NpyReadOptions {
  /**
   * Longest header accepted, in bytes (default 10,000, numpy's `max_header_size`). A header is a
   * short dict for any real shape; a longer one is refused before it is read.
   */
  maxHeaderBytes?: number;
}
import { basename } from 'node:path';

export class NpyError extends Error {
  readonly file: string;
  constructor(file: string, message: string) {
    super(`${file}: ${message}`);
    this.name = 'NpyError';
    this.file = file;
  }
}

/** Element types this module understands; `kind` + `bytes` + byte order come from the descr string. */
export type NpyDtype = 'f2' | 'f4' | 'f8' | 'i1' | 'i4' | 'i8' | 'u1' | 'u2' | 'u4' | 'bf16';

export interface NpyHeader {
  readonly path: string;
  readonly version: number;
  /** The descr string as written, e.g. '<f4'. */
  readonly descr: string;
  readonly dtype: NpyDtype;
  readonly littleEndian: boolean;
  readonly itemSize: number;
  readonly fortranOrder: boolean;
  readonly shape: readonly number[];
  /** Byte offset of the first element. */
  readonly dataOffset: number;
  /** Number of elements (product of the shape). */
  readonly size: number;
}

export const LOGIT_DESCRS = ['<f4', '>f4', '<f8', '>f8', '<f2', '>f2', '<bf16'] as const;
export const LABEL_DESCRS = ['<i4', '>i4', '<i8', '>i8', '|u1', '<u2'] as const;

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // "\x93NUMPY"

function parseDescr(file: string, descr: string): { dtype: NpyDtype; littleEndian: boolean; itemSize: number } {
  const m = /^([<>|=])([fiub])(\d+)$/.exec(descr);
  if (!m) throw new NpyError(file, `unsupported dtype '${descr}' (expected a plain numeric dtype such as '<f4')`);
  const [, order, kind, bytesText] = m;
  // numpy's bool ('|b1') is one byte holding 0 or 1: read as uint8 (multi-label targets)
  const dtype = (kind === 'b' && bytesText === '1' ? 'u1' : `${kind}${bytesText}`) as NpyDtype;
  const known: NpyDtype[] = ['f2', 'f4', 'f8', 'i1', 'i4', 'i8', 'u1', 'u2', 'u4'];
  if (!known.includes(dtype)) throw new NpyError(file, `unsupported dtype '${descr}'`);
  const itemSize = Number(bytesText);
  // '|' (not applicable) is only meaningful for 1-byte types; '=' is native order, little-endian on every JS host.
  if (order === '|' && itemSize !== 1) throw new NpyError(file, `dtype '${descr}' has no byte order`);
  return { dtype, littleEndian: order !== '>', itemSize };
}

/**
 * Parses the Python literal dict of an .npy header, e.g.
 * `{'descr': '<f4', 'fortran_order': False, 'shape': (10000, 10), }`.
 * Supports exactly what numpy writes: str keys, str / bool / tuple-of-int values.
 */
export function parseHeaderDict(file: string, text: string, offset = 0): { descr: string; fortranOrder: boolean; shape: number[] } {
  let i = 0;
  const bad = (what: string): never => {
    // Byte offset in the file for latin1 headers (versions 1 and 2); version 3 headers are UTF-8, where it is approximate.
    throw new NpyError(file, `malformed .npy header (${what} at byte ${offset + i}): ${JSON.stringify(text.trim().slice(0, 120))}`);
  };
  const ws = () => {
    while (i < text.length && /\s/.test(text[i])) i++;
  };
  const expect = (ch: string) => {
    ws();
    if (text[i] !== ch) bad(`expected '${ch}'`);
    i++;
  };
  const str = (): string => {
    ws();
    const q = text[i];
    if (q !== "'" && q !== '"') bad('expected a string');
    const end = text.indexOf(q, i + 1);
    if (end < 0) bad('unterminated string');
    const s = text.slice(i + 1, end);
    i = end + 1;
    return s;
  };
  const value = (): string | boolean | number[] => {
    ws();
    const ch = text[i];
    if (ch === "'" || ch === '"') return str();
    if (text.startsWith('True', i)) {
      i += 4;
      return true;
    }
    if (text.startsWith('False', i)) {
      i += 5;
      return false;
    }
    if (ch === '(' || ch === '[') {
      const close = ch === '(' ? ')' : ']';
      i++;
      const dims: number[] = [];
      for (;;) {
        ws();
        if (text[i] === close) {
          i++;
          return dims;
        }
        const m = /^\d+L?/.exec(text.slice(i, i + 40));
        if (!m) bad('expected a non-negative integer in the shape');
        const d = Number(m![0].replace('L', ''));
        // A 401-digit dimension would parse to Infinity and 0 × Infinity = NaN slips past every size check.
        if (!Number.isSafeInteger(d)) bad(`dimension ${m![0].length > 20 ? `${m![0].slice(0, 20)}…` : m![0]} is larger than 2^53`);
        dims.push(d);
        i += m![0].length;
        ws();
        if (text[i] === ',') i++;
        else if (text[i] !== close) bad(`expected ',' or '${close}'`);
      }
    }
    return bad('unexpected value');
  };

  const fields = new Map<string, string | boolean | number[]>();
  expect('{');
  for (;;) {
    ws();
    if (text[i] === '}') {
      i++;
      break;
    }
    const key = str();
    expect(':');
    fields.set(key, value());
    ws();
    if (text[i] === ',') i++;
    else if (text[i] !== '}') bad("expected ',' or '}'");
  }
  ws();
  if (i !== text.length) bad('trailing characters');

  const descr = fields.get('descr');
  const fortran = fields.get('fortran_order');
  const shape = fields.get('shape');
  if (typeof descr !== 'string') bad("missing or non-string 'descr' (structured dtypes are not supported)");
  if (typeof fortran !== 'boolean') bad("missing 'fortran_order'");
  if (!Array.isArray(shape)) bad("missing 'shape'");
  return { descr: descr as string, fortranOrder: fortran as boolean, shape: shape as number[] };
}

/**
 * Throws an NpyError unless `path` is a regular file. Decided before opening: opening a FIFO for
 * reading blocks until a writer appears, and a directory opens fine on Linux and fails only on read.
 */
export function checkRegularFile(path: string, what: string, why: string): void {
  const st = statSync(path);
  if (st.isDirectory()) throw new NpyError(path, `is a directory, not ${what}`);
  if (!st.isFile()) throw new NpyError(path, `is not a regular file (${st.isFIFO() ? 'a FIFO' : st.isSocket() ? 'a socket' : 'a device'}); ${why}`);
}

/** The CLI's opt-in to longer headers: LOGITKIT_NPY_MAX_HEADER_BYTES (an integer number of bytes). */
function envMaxHeaderBytes(): number | undefined {
  const v = process.env.LOGITKIT_NPY_MAX_HEADER_BYTES;
  if (v === undefined || v === '') return undefined;
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < 0) throw new Error(`LOGITKIT_NPY_MAX_HEADER_BYTES=${v}: expected a whole number of bytes`);
  return n;
}

/**
 * Reads and validates the header of an open .npy file, or of an .npy stored in place inside a larger
 * file (an .npz member): then `options.base` is where it starts and `options.end` where it ends, and
 * `path` is the name errors use (e.g. 'run.npz[logits]').
 */
export function readNpyHeader(fd: number, path: string, options: NpyReadOptions & { base?: number; end?: number } = {}): NpyHeader {
  const base = options.base ?? 0;
  const end = options.end;
  const file = path;
  const fileSize = (end ?? fstatSync(fd).size) - base;
  const pre = Buffer.alloc(12);
  const got = readSync(fd, pre, 0, Math.max(0, Math.min(12, fileSize)), base);
  if (got >= 6 && got < 10 && MAGIC.every((b, k) => pre[k] === b)) throw new NpyError(file, 'truncated .npy header');
  if (got >= 4 && pre[0] === 0x50 && pre[1] === 0x4b && ((pre[2] === 3 && pre[3] === 4) || (pre[2] === 5 && pre[3] === 6))) {
    // "PK\x03\x04" (or an empty archive's "PK\x05\x06"): np.savez / np.savez_compressed write ZIPs of .npy members.
    throw new NpyError(
      file,
      `is a ZIP archive (an .npz, as np.savez writes), not an .npy file: score and calibrate read .npz files directly, the transforms read .npy only: extract an array with \`unzip ${basename(file)}\` (each member, e.g. arr_0.npy, is an .npy file) or with numpy: np.save('logits.npy', np.load('${basename(file)}')['arr_0'])`,
    );
  }
  if (got < 10 || !MAGIC.every((b, k) => pre[k] === b)) {
    throw new NpyError(file, got < 6 ? 'not an .npy file (too short for the magic string)' : 'not an .npy file (wrong magic string; expected \\x93NUMPY)');
  }
  const version = pre[6];
  if (version < 1 || version > 3) throw new NpyError(file, `unsupported .npy format version ${version}.${pre[7]} (expected 1, 2 or 3)`);
  const lenBytes = version === 1 ? 2 : 4;
  if (got < 8 + lenBytes) throw new NpyError(file, 'truncated .npy header');
  const headerLen = version === 1 ? pre.readUInt16LE(8) : pre.readUInt32LE(8);
  const headerStart = 8 + lenBytes;
  const maxHeader = options.maxHeaderBytes ?? envMaxHeaderBytes() ?? DEFAULT_MAX_HEADER_BYTES;
  if (headerLen > maxHeader) {
    throw new NpyError(
      file,
      `.npy header of ${headerLen} bytes (at byte ${headerStart}) is longer than the ${maxHeader}-byte limit; ` +
        'a real header is a few hundred bytes (numpy refuses these too; raise maxHeaderBytes only for a file you trust)',
    );
  }
  if (headerStart + headerLen > fileSize) {
    throw new NpyError(file, `truncated .npy header (header length ${headerLen} bytes, file is ${fileSize} bytes)`);
  }
  const hb = Buffer.alloc(headerLen);
  readSync(fd, hb, 0, headerLen, base + headerStart);
  const text = hb.toString(version === 3 ? 'utf8' : 'latin1');
  const { descr, fortranOrder, shape } = parseHeaderDict(file, text, headerStart);
  const { dtype, littleEndian, itemSize } = parseDescr(file, descr);
  const dataOffset = headerStart + headerLen;
  let size = 1;
  for (const d of shape) size *= d;
  if (!(size <= MAX_ELEMENTS)) {
    throw new NpyError(file, `shape (${shape.join(', ')}) has more than 2^53 elements (header at byte ${headerStart})`);
  }
  const need = size * itemSize;
  const have = fileSize - dataOffset;
  if (need > have) {
    throw new NpyError(
      file,
      `truncated data: the header says shape (${shape.join(', ')}) of '${descr}' = ${need} bytes, but the file holds only ${have} bytes after the header`,
    );
  }
  return { path, version, descr, dtype, littleEndian, itemSize, fortranOrder, shape, dataOffset: base + dataOffset, size };
}

// --- element conversion -------------------------------------------------------------------------

let halfTable: Float32Array | null = null;
/** IEEE binary16 → float32 for all 65536 bit patterns (exact: every half is a float32). */
function halfToFloatTable(): Float32Array {
  if (halfTable) return halfTable;
  const t = new Float32Array(65536);
  for (let h = 0; h < 65536; h++) t[h] = halfToFloat(h);
  halfTable = t;
  return t;
}

/** float32 → IEEE binary16 bits, round to nearest even (used by tests and the writer). */
export const floatToHalfBits: (value: number) => number = float32ToFloat16Bits;

function convertToFloat32(h: NpyHeader, src: Buffer, n: number, out: Float32Array): void {
  const le = h.littleEndian;
  const dv = new DataView(src.buffer, src.byteOffset, src.byteLength);
  switch (h.dtype) {
    case 'f4':
      for (let i = 0; i < n; i++) out[i] = dv.getFloat32(i * 4, le);
      return;
    case 'f8':
      for (let i = 0; i < n; i++) out[i] = dv.getFloat64(i * 8, le); // rounds to nearest float32
      return;
    case 'f2': {
      const t = halfToFloatTable();
      for (let i = 0; i < n; i++) out[i] = t[dv.getUint16(i * 2, le)];
      return;
    }
    case 'bf16': {
      // bfloat16 is the top half of a float32: widening is a shift, exact for every bit pattern.
      const bits = new Uint32Array(out.buffer, out.byteOffset, n);
      for (let i = 0; i < n; i++) bits[i] = dv.getUint16(i * 2, le) << 16;
      return;
    }
    default:
      throw new NpyError(h.path, `dtype '${h.descr}' is not a floating-point type`);
  }
}

// --- reading ------------------------------------------------------------------------------------

export type NpyRole = 'logits' | 'labels' | 'any';

/**
 * An open .npy file read in blocks of rows. A 1-D array of n elements is n rows of 1 column; a 2-D
 * array is rows × cols. Higher ranks are rejected for logits and labels (there is no class axis to pick).
 */
export class NpyFile {
  readonly header: NpyHeader;
  readonly rows: number;
  readonly cols: number;
  private fd: number;
  private scratch: Buffer = Buffer.alloc(0);

  private constructor(fd: number, header: NpyHeader, rows: number, cols: number) {
    this.fd = fd;
    this.header = header;
    this.rows = rows;
    this.cols = cols;
  }

  /** Opens an .npy file (a regular file: see openForReading). */
  static open(path: string, role: NpyRole = 'any', options: NpyReadOptions = {}): NpyFile {
    const fd = openForReading(path, 'npy');
    try {
      return NpyFile.fromHeader(fd, readNpyHeader(fd, path, options), role);
    } catch (e) {
      closeSync(fd);
      throw e;
    }
  }

  /**
   * Wraps an open file whose array layout is known (an .npy header, or a safetensors entry) after
   * checking it can serve as `role`. Takes ownership of `fd` only when it succeeds.
   */
  static fromHeader(fd: number, h: NpyHeader, role: NpyRole): NpyFile {
    const path = h.path;
    if (h.fortranOrder && h.shape.length > 1) {
      throw new NpyError(
        path,
        'array is stored in Fortran (column-major) order; logitkit reads C order. Re-save it with np.save(path, np.ascontiguousarray(a))',
      );
    }
    if (role === 'logits' && !(LOGIT_DESCRS as readonly string[]).includes(normaliseDescr(h))) {
      throw new NpyError(path, `logits must be float16, float32 or float64 (one of ${LOGIT_DESCRS.filter((d) => d !== '<bf16').join(' ')}; bfloat16 too in .safetensors); got '${h.descr}'`);
    }
    if (role === 'labels' && !(LABEL_DESCRS as readonly string[]).includes(normaliseDescr(h))) {
      throw new NpyError(path, `labels must be integers (one of ${LABEL_DESCRS.join(' ')}); got '${h.descr}'`);
    }
    let rows: number;
    let cols: number;
    if (role === 'any' && h.shape.length !== 2) {
      // Generic arrays (transforms): the last axis is the row; a 1-D array is one row.
      cols = h.shape.length === 0 ? 1 : h.shape[h.shape.length - 1];
      rows = cols === 0 ? 0 : h.size / cols;
    } else if (h.shape.length === 1) {
      rows = h.shape[0];
      cols = 1;
    } else if (h.shape.length === 2) {
      rows = h.shape[0];
      cols = h.shape[1];
    } else {
      throw new NpyError(path, `${role} must be ${role === 'labels' ? '1-D (rows,)' : '2-D (rows, classes)'}; got shape (${h.shape.join(', ')})`);
    }
    if (role === 'labels' && h.shape.length === 2 && cols !== 1) {
      throw new NpyError(path, `labels must be 1-D (rows,); got shape (${h.shape.join(', ')})`);
    }
    // 1-D logits (rows,) are one logit per row, as (rows, 1): a binary (sigmoid) model for score.
    if (cols > MAX_CLASSES) {
      throw new NpyError(path, `last axis of ${cols} is more than the ${MAX_CLASSES} classes a row may have; got shape (${h.shape.join(', ')})`);
    }
    return new NpyFile(fd, h, rows, cols);
  }

  get path(): string {
    return this.header.path;
  }

  /** Rows per block so that one block of float32 values is about `targetBytes`. */
  blockRows(targetBytes = 4 << 20): number {
    return Math.max(1, Math.floor(targetBytes / (Math.max(1, this.cols) * 4)));
  }

  private readRaw(start: number, count: number): Buffer {
    return this.readRawElements(start * this.cols, count * this.cols);
  }

  private readRawElements(first: number, n: number): Buffer {
    const h = this.header;
    const bytes = n * h.itemSize;
    if (this.scratch.length < bytes) this.scratch = Buffer.allocUnsafe(bytes);
    const pos = h.dataOffset + first * h.itemSize;
    let done = 0;
    while (done < bytes) {
      const n = readSync(this.fd, this.scratch, done, bytes - done, pos + done);
      if (n === 0) throw new NpyError(h.path, `truncated data: unexpected end of file at byte ${pos + done}`);
      done += n;
    }
    return this.scratch.subarray(0, bytes);
  }

  /** Rows [start, start+count) as float32 (row-major). `out` is reused when it is big enough. */
  readFloat32(start: number, count: number, out?: Float32Array): Float32Array {
    return this.readSpan(start, 0, count * this.cols, out);
  }

  /**
   * `count` values from column `from` of row `row` on (running into the next rows: the data are
   * contiguous), as float32: a part of a row wider than a block (cli/transform.ts).
   */
  readSpan(row: number, from: number, count: number, out?: Float32Array): Float32Array {
    const n = count;
    const first = row * this.cols + from;
    const dst = out && out.length >= n ? out.subarray(0, n) : new Float32Array(n);
    if (n === 0) return dst;
    const h = this.header;
    if (h.dtype === 'f4' && h.littleEndian) {
      // Fast path: the bytes are already what a Float32Array holds; read straight into it.
      const pos = h.dataOffset + first * 4;
      const view = new Uint8Array(dst.buffer, dst.byteOffset, n * 4);
      let done = 0;
      while (done < view.length) {
        const k = readSync(this.fd, view, done, view.length - done, pos + done);
        if (k === 0) throw new NpyError(h.path, `truncated data: unexpected end of file at byte ${pos + done}`);
        done += k;
      }
      return dst;
    }
    convertToFloat32(h, this.readRawElements(first, n), n, dst);
    return dst;
  }

  /**
   * Rows [start, start+count) as int32 (for labels). int64 values outside the int32 range raise an
   * error naming the row, since they cannot be class indices.
   */
  readInt32(start: number, count: number, out?: Int32Array): Int32Array {
    const n = count * this.cols;
    const dst = out && out.length >= n ? out.subarray(0, n) : new Int32Array(n);
    if (n === 0) return dst;
    const h = this.header;
    const src = this.readRaw(start, count);
    const dv = new DataView(src.buffer, src.byteOffset, src.byteLength);
    const le = h.littleEndian;
    switch (h.dtype) {
      case 'i4':
        for (let i = 0; i < n; i++) dst[i] = dv.getInt32(i * 4, le);
        break;
      case 'i8':
        for (let i = 0; i < n; i++) {
          const lo = dv.getInt32(i * 8 + (le ? 0 : 4), le);
          const hi = dv.getInt32(i * 8 + (le ? 4 : 0), le);
          if (hi !== lo >> 31) {
            const v = dv.getBigInt64(i * 8, le);
            throw new NpyError(h.path, `value ${v} at row ${start + i} does not fit in int32`);
          }
          dst[i] = lo;
        }
        break;
      case 'u1':
        for (let i = 0; i < n; i++) dst[i] = src[i];
        break;
      case 'u2':
        for (let i = 0; i < n; i++) dst[i] = dv.getUint16(i * 2, le);
        break;
      case 'i1':
        for (let i = 0; i < n; i++) dst[i] = dv.getInt8(i);
        break;
      case 'u4':
        for (let i = 0; i < n; i++) {
          const v = dv.getUint32(i * 4, le);
          if (v > 0x7fffffff) throw new NpyError(h.path, `value ${v} at row ${start + i} does not fit in int32`);
          dst[i] = v;
        }
        break;
      default:
        throw new NpyError(h.path, `dtype '${h.descr}' is not an integer type`);
    }
    return dst;
  }

  close(): void {
    if (this.fd >= 0) {
      closeSync(this.fd);
      this.fd = -1;
    }
  }
}

/**
 * Opens a regular file for reading, turning the usual failures into one-line NpyErrors. A directory,
 * FIFO, socket or device is refused before it is opened (opening a FIFO blocks until a writer comes).
 */
export function openForReading(path: string, what: 'npy' | 'any' = 'any'): number {
  let fd: number;
  try {
    if (what === 'npy') checkRegularFile(path, 'an .npy file', '.npy input must be a file that can be read at byte offsets');
    else checkRegularFile(path, 'an .npy, .npz or .safetensors file', 'array inputs must be files that can be read at byte offsets');
    // O_NONBLOCK: should the path have been swapped for a FIFO since the stat, open still returns at once.
    fd = openSync(path, fsConstants.O_RDONLY | (fsConstants.O_NONBLOCK ?? 0));
  } catch (e) {
    if (e instanceof NpyError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    throw new NpyError(path, code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory' : `cannot open (${code ?? String(e)})`);
  }
  if (!fstatSync(fd).isFile()) {
    closeSync(fd);
    throw new NpyError(path, 'is not a regular file');
  }
  return fd;
}

/** '|u1', '<u1' and '>u1' mean the same; other descrs are compared as written ('=' as '<'). */
function normaliseDescr(h: NpyHeader): string {
  if (h.itemSize === 1) return `|${h.dtype}`;
  return `${h.littleEndian ? '<' : '>'}${h.dtype}`;
}

/** Whole-file convenience readers (small files: tests, labels of modest size). */
export function readNpyFloat32(path: string): { data: Float32Array; shape: number[] } {
  const f = NpyFile.open(path, 'any');
  try {
    return { data: f.readFloat32(0, f.rows), shape: [...f.header.shape] };
  } finally {
    f.close();
  }
}
export function readNpyInt32(path: string): { data: Int32Array; shape: number[] } {
  const f = NpyFile.open(path, 'any');
  try {
    return { data: f.readInt32(0, f.rows), shape: [...f.header.shape] };
  } finally {
    f.close();
  }
}

// --- writing ------------------------------------------------------------------------------------

export type NpyWriteDtype = '<f4' | '>f4' | '<f8' | '>f8' | '<f2' | '>f2' | '<i4' | '>i4' | '<i8' | '>i8' | '|u1' | '<u2';

/** The header bytes for a version-1 (or, if it does not fit, version-2) .npy file, padded to 64 bytes. */
export function npyHeaderBytes(descr: string, shape: readonly number[], fortranOrder = false): Buffer {
  const shapeText = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  let dict = `{'descr': '${descr}', 'fortran_order': ${fortranOrder ? 'True' : 'False'}, 'shape': ${shapeText}, }`;
  let version = 1;
  let pre = 10;
  if (dict.length + 1 + pre > 65535) {
    version = 2;
    pre = 12;
  }
  const total = Math.ceil((pre + dict.length + 1) / 64) * 64;
  dict = dict + ' '.repeat(total - pre - dict.length - 1) + '\n';
  const b = Buffer.alloc(total);
  Buffer.from(MAGIC).copy(b, 0);
  b[6] = version;
  b[7] = 0;
  if (version === 1) b.writeUInt16LE(dict.length, 8);
  else b.writeUInt32LE(dict.length, 8);
  b.write(dict, pre, 'latin1');
  return b;
}

/** Encodes numbers as the given dtype (tests use this to write every input flavour). */
export function encodeNpyData(descr: NpyWriteDtype, values: ArrayLike<number>): Buffer {
  const { dtype, littleEndian: le, itemSize } = parseDescr('(encode)', descr);
  const n = values.length;
  const b = Buffer.alloc(n * itemSize);
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  for (let i = 0; i < n; i++) {
    const v = values[i];
    switch (dtype) {
      case 'f4':
        dv.setFloat32(i * 4, v, le);
        break;
      case 'f8':
        dv.setFloat64(i * 8, v, le);
        break;
      case 'f2':
        dv.setUint16(i * 2, floatToHalfBits(v), le);
        break;
      case 'i4':
        dv.setInt32(i * 4, v, le);
        break;
      case 'i8':
        dv.setBigInt64(i * 8, BigInt(v), le);
        break;
      case 'u1':
        dv.setUint8(i, v);
        break;
      case 'u2':
        dv.setUint16(i * 2, v, le);
        break;
      default:
        throw new Error(`cannot encode ${descr}`);
    }
  }
  return b;
}

/**
 * Streams an .npy file whose shape is known up front. Data goes to a temp file in the destination's
 * directory (io/atomic.ts); `commit()` checks that exactly the promised number of elements arrived and
 * renames it into place; `abort()` removes it.
 */
export class NpyWriter {
  readonly path: string;
  readonly descr: '<f4' | '<i4';
  private readonly file: AtomicFile;
  private written = 0;
  private readonly expected: number;

  constructor(path: string, descr: '<f4' | '<i4', shape: readonly number[]) {
    this.path = path;
    this.descr = descr;
    this.expected = shape.reduce((a, b) => a * b, 1);
    try {
      this.file = new AtomicFile(path);
    } catch (e) {
      throw new NpyError(path, `cannot write (${writeFailure(e)})`);
    }
    this.file.write(npyHeaderBytes(descr, shape));
  }

  /** Appends values (little-endian host: the array's bytes are the .npy bytes). */
  write(values: Float32Array | Int32Array): void {
    if ((this.descr === '<f4') !== values instanceof Float32Array) throw new Error('NpyWriter: value type does not match descr');
    this.file.write(values);
    this.written += values.length;
  }

  commit(): void {
    if (this.written !== this.expected) {
      this.abort();
      throw new NpyError(this.path, `internal error: wrote ${this.written} of ${this.expected} elements`);
    }
    this.file.commit();
  }

  abort(): void {
    this.file.abort();
  }
}

/** Writes a whole array atomically. */
export function writeNpy(path: string, values: Float32Array | Int32Array, shape: readonly number[]): void {
  const w = new NpyWriter(path, values instanceof Float32Array ? '<f4' : '<i4', shape);
  try {
    w.write(values);
    w.commit();
  } catch (e) {
    w.abort();
    throw e;
  }
}

/** Writes raw data bytes (already encoded) under a header, atomically. For tests and sample generation. */
export function writeNpyRaw(path: string, descr: string, shape: readonly number[], data: Uint8Array, fortranOrder = false): void {
  writeFileAtomic(path, npyHeaderBytes(descr, shape, fortranOrder), data);
}
