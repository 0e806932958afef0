/**
 * `.safetensors` (Hugging Face): an 8-byte little-endian header length N, N bytes of JSON naming each
 * tensor's dtype, shape and [begin, end) byte range relative to the end of the header, then the data,
 * little-endian and C order. Read in place: an entry becomes an NpyHeader at its absolute offset, so
 * the same block reader serves .npy, .npz members and safetensors entries.
 *
 * Bounds (as the format's reference implementation): the header is at most 100 MB, every range lies
 * inside the file and matches dtype × shape, before anything else is read.
 */
import { fstatSync, readSync } from 'node:fs';
import { NpyError, type NpyDtype, type NpyHeader } from './npy.js';

const MAX_HEADER = 100_000_000;

/** safetensors dtype → the element type the block reader converts from (all little-endian). */
const DTYPES: Record<string, { dtype: NpyDtype; itemSize: number; descr: string }> = {
  F64: { dtype: 'f8', itemSize: 8, descr: '<f8' },
  F32: { dtype: 'f4', itemSize: 4, descr: '<f4' },
  F16: { dtype: 'f2', itemSize: 2, descr: '<f2' },
  BF16: { dtype: 'bf16', itemSize: 2, descr: '<bf16' },
  I64: { dtype: 'i8', itemSize: 8, descr: '<i8' },
  I32: { dtype: 'i4', itemSize: 4, descr: '<i4' },
  U8: { dtype: 'u1', itemSize: 1, descr: '|u1' },
  BOOL: { dtype: 'u1', itemSize: 1, descr: '|b1' }, // 0/1 bytes: multi-label targets
};

export interface SafetensorsEntry {
  readonly dtype: string;
  readonly shape: readonly number[];
  readonly begin: number;
  readonly end: number;
}

/** Parses and checks the header of the safetensors file open at `fd`: name → entry (metadata left out). */
export function readSafetensorsHeader(fd: number, file: string): Map<string, SafetensorsEntry> {
  const fileSize = fstatSync(fd).size;
  const pre = Buffer.alloc(8);
  if (readSync(fd, pre, 0, 8, 0) < 8) throw new NpyError(file, 'not a safetensors file (shorter than its 8-byte header length)');
  const n = pre.readBigUInt64LE(0);
  if (n > BigInt(MAX_HEADER)) throw new NpyError(file, `safetensors header of ${n} bytes is over the ${MAX_HEADER}-byte limit`);
  const headerLen = Number(n);
  if (8 + headerLen > fileSize) throw new NpyError(file, `truncated safetensors header (${headerLen} bytes claimed, file is ${fileSize} bytes)`);
  const hb = Buffer.alloc(headerLen);
  readSync(fd, hb, 0, headerLen, 8);
  let json: unknown;
  try {
    json = JSON.parse(hb.toString('utf8'));
  } catch (e) {
    throw new NpyError(file, `safetensors header is not valid JSON (${(e as Error).message})`);
  }
  if (!json || typeof json !== 'object' || Array.isArray(json)) throw new NpyError(file, 'safetensors header is not a JSON object');
  const dataStart = 8 + headerLen;
  const out = new Map<string, SafetensorsEntry>();
  for (const [name, v] of Object.entries(json as Record<string, unknown>)) {
    if (name === '__metadata__') continue;
    const e = v as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    const bad = (what: string): never => {
      throw new NpyError(file, `safetensors tensor '${name}': ${what}`);
    };
    if (!e || typeof e !== 'object') bad('is not an object');
    if (typeof e.dtype !== 'string') bad('has no dtype');
    if (!Array.isArray(e.shape) || !e.shape.every((d) => Number.isSafeInteger(d) && d >= 0)) bad('shape is not a list of non-negative integers');
    const offs = e.data_offsets;
    if (!Array.isArray(offs) || offs.length !== 2 || !offs.every((d) => Number.isSafeInteger(d) && d >= 0) || offs[0] > offs[1]) {
      bad('data_offsets is not [begin, end] with 0 ≤ begin ≤ end');
    }
    const [begin, end] = offs as number[];
    if (dataStart + end > fileSize) bad(`data [${begin}, ${end}) runs past the end of the file`);
    out.set(name, { dtype: e.dtype as string, shape: e.shape as number[], begin: dataStart + begin, end: dataStart + end });
  }
  return out;
}

/** The NpyHeader of one entry, for NpyFile.fromHeader; `name` is what errors call it. */
export function safetensorsHeader(entry: SafetensorsEntry, name: string): NpyHeader {
  const t = DTYPES[entry.dtype];
  if (!t) throw new NpyError(name, `safetensors dtype ${entry.dtype} is not supported (expected one of ${Object.keys(DTYPES).join(', ')})`);
  let size = 1;
  for (const d of entry.shape) size *= d;
  if (!Number.isSafeInteger(size * t.itemSize)) throw new NpyError(name, `shape (${entry.shape.join(', ')}) is too large`);
  if (size * t.itemSize !== entry.end - entry.begin) {
    throw new NpyError(name, `shape (${entry.shape.join(', ')}) of ${entry.dtype} is ${size * t.itemSize} bytes but its data range holds ${entry.end - entry.begin}`);
  }
  return {
    path: name,
    version: 0,
    descr: t.descr,
    dtype: t.dtype,
    littleEndian: true,
    itemSize: t.itemSize,
    fortranOrder: false,
    shape: entry.shape,
    dataOffset: entry.begin,
    size,
  };
}
