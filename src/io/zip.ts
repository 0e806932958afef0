/**
 * The ZIP container of NumPy's `.npz` (np.savez / np.savez_compressed): its central directory, read
 * from the end of the file, and where each member's bytes start.
 *
 * What it reads: the end-of-central-directory record (searched for in the last 64 KiB + 22 bytes, as
 * its comment may be up to 65,535 bytes), the ZIP64 locator and record when a count, size or offset
 * overflows 32 bits (np.savez writes ZIP64 for members over 4 GiB), then every central-directory entry
 * and, per member asked for, its local header (whose name and extra-field lengths may differ from the
 * central copy). Members are either stored (method 0: the member's bytes are the .npy file, read in
 * place at an offset) or deflated (method 8: np.savez_compressed). Nothing else is supported, and
 * every refusal names the archive and the member.
 *
 * Bounds: the central directory must lie inside the file and be at most 64 MiB (≈ 700,000 members);
 * nothing is read before it is checked against the file's size.
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { NpyError } from './npy.js';

export interface ZipMember {
  readonly name: string;
  /** 0 = stored, 8 = deflated. */
  readonly method: number;
  readonly crc32: number;
  readonly compressedSize: number;
  readonly size: number;
  /** Byte offset of the member's local header. */
  readonly localHeaderOffset: number;
}

const EOCD_SIG = 0x06054b50;
const ZIP64_LOCATOR_SIG = 0x07064b50;
const ZIP64_EOCD_SIG = 0x06064b50;
const CENTRAL_SIG = 0x02014b50;
const LOCAL_SIG = 0x04034b50;
const MAX_CENTRAL_DIRECTORY = 64 << 20;

/** True when the first bytes are a ZIP local header (what every .npz starts with). */
export function isZipMagic(head: Uint8Array): boolean {
  return head.length >= 4 && head[0] === 0x50 && head[1] === 0x4b && head[2] === 0x03 && head[3] === 0x04;
}

function readExact(fd: number, file: string, length: number, position: number): Buffer {
  const b = Buffer.alloc(length);
  let done = 0;
  while (done < length) {
    const n = readSync(fd, b, done, length - done, position + done);
    if (n === 0) throw new NpyError(file, `truncated ZIP archive: unexpected end of file at byte ${position + done}`);
    done += n;
  }
  return b;
}

/** A 64-bit little-endian size that must be a safe integer (every real archive's are). */
function u64(b: Buffer, at: number, file: string, what: string): number {
  const v = b.readBigUInt64LE(at);
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new NpyError(file, `ZIP ${what} ${v} is beyond 2^53`);
  return Number(v);
}

/** Lists the members of the ZIP archive open at `fd`. */
export function readZipDirectory(fd: number, file: string): ZipMember[] {
  const fileSize = fstatSync(fd).size;
  if (fileSize < 22) throw new NpyError(file, 'not a ZIP archive (shorter than an end-of-central-directory record)');
  const tailLen = Math.min(fileSize, 22 + 0xffff);
  const tail = readExact(fd, file, tailLen, fileSize - tailLen);
  let eocd = -1;
  for (let i = tailLen - 22; i >= 0; i--) {
    if (tail.readUInt32LE(i) === EOCD_SIG && i + 22 + tail.readUInt16LE(i + 20) <= tailLen) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) throw new NpyError(file, 'truncated or damaged ZIP archive: no end-of-central-directory record');
  let entries = tail.readUInt16LE(eocd + 10);
  let cdSize = tail.readUInt32LE(eocd + 12);
  let cdOffset = tail.readUInt32LE(eocd + 16);
  const eocdPos = fileSize - tailLen + eocd;
  if (entries === 0xffff || cdSize === 0xffffffff || cdOffset === 0xffffffff) {
    // ZIP64: the locator sits right before the classic record and points at the ZIP64 record.
    if (eocdPos < 20) throw new NpyError(file, 'damaged ZIP64 archive: no ZIP64 locator');
    const loc = readExact(fd, file, 20, eocdPos - 20);
    if (loc.readUInt32LE(0) !== ZIP64_LOCATOR_SIG) throw new NpyError(file, 'damaged ZIP64 archive: no ZIP64 locator');
    const recPos = u64(loc, 8, file, 'ZIP64 record offset');
    if (recPos + 56 > fileSize) throw new NpyError(file, 'damaged ZIP64 archive: record beyond the end of the file');
    const rec = readExact(fd, file, 56, recPos);
    if (rec.readUInt32LE(0) !== ZIP64_EOCD_SIG) throw new NpyError(file, 'damaged ZIP64 archive: bad ZIP64 record signature');
    entries = u64(rec, 32, file, 'entry count');
    cdSize = u64(rec, 40, file, 'central directory size');
    cdOffset = u64(rec, 48, file, 'central directory offset');
  }
  if (cdSize > MAX_CENTRAL_DIRECTORY) throw new NpyError(file, `ZIP central directory of ${cdSize} bytes is over the ${MAX_CENTRAL_DIRECTORY}-byte limit`);
  if (cdOffset + cdSize > fileSize) throw new NpyError(file, 'truncated ZIP archive: the central directory lies beyond the end of the file');
  const cd = readExact(fd, file, cdSize, cdOffset);
  const members: ZipMember[] = [];
  let p = 0;
  for (let k = 0; k < entries; k++) {
    if (p + 46 > cd.length || cd.readUInt32LE(p) !== CENTRAL_SIG) throw new NpyError(file, `damaged ZIP central directory at entry ${k}`);
    const flags = cd.readUInt16LE(p + 8);
    const method = cd.readUInt16LE(p + 10);
    const crc32 = cd.readUInt32LE(p + 16);
    let compressedSize = cd.readUInt32LE(p + 20);
    let size = cd.readUInt32LE(p + 24);
    const nameLen = cd.readUInt16LE(p + 28);
    const extraLen = cd.readUInt16LE(p + 30);
    const commentLen = cd.readUInt16LE(p + 32);
    let localHeaderOffset = cd.readUInt32LE(p + 42);
    if (p + 46 + nameLen + extraLen + commentLen > cd.length) throw new NpyError(file, `damaged ZIP central directory at entry ${k}`);
    const name = cd.toString(flags & 0x800 ? 'utf8' : 'latin1', p + 46, p + 46 + nameLen);
    // ZIP64 extended information: only the fields whose 32-bit copies are saturated are present, in order.
    let e = p + 46 + nameLen;
    const extraEnd = e + extraLen;
    while (e + 4 <= extraEnd) {
      const id = cd.readUInt16LE(e);
      const len = cd.readUInt16LE(e + 2);
      if (id === 0x0001) {
        let q = e + 4;
        const take = (): number => {
          if (q + 8 > e + 4 + len) throw new NpyError(file, `damaged ZIP64 extra field of member '${name}'`);
          const v = u64(cd, q, file, `size of member '${name}'`);
          q += 8;
          return v;
        };
        if (size === 0xffffffff) size = take();
        if (compressedSize === 0xffffffff) compressedSize = take();
        if (localHeaderOffset === 0xffffffff) localHeaderOffset = take();
      }
      e += 4 + len;
    }
    members.push({ name, method, crc32, compressedSize, size, localHeaderOffset });
    p = extraEnd + commentLen;
  }
  return members;
}

/** Where a member's bytes start: after its local header, whose variable parts may differ from the central copy. */
export function memberDataOffset(fd: number, file: string, m: ZipMember): number {
  const fileSize = fstatSync(fd).size;
  if (m.localHeaderOffset + 30 > fileSize) throw new NpyError(file, `truncated ZIP archive: member '${m.name}' starts beyond the end of the file`);
  const h = readExact(fd, file, 30, m.localHeaderOffset);
  if (h.readUInt32LE(0) !== LOCAL_SIG) throw new NpyError(file, `damaged ZIP archive: bad local header for member '${m.name}'`);
  const start = m.localHeaderOffset + 30 + h.readUInt16LE(26) + h.readUInt16LE(28);
  if (start + m.compressedSize > fileSize) throw new NpyError(file, `truncated ZIP archive: member '${m.name}' runs past the end of the file`);
  return start;
}

/** Opens `file` read-only, lists its members, and closes it again. */
export function listZip(file: string): ZipMember[] {
  const fd = openSync(file, 'r');
  try {
    return readZipDirectory(fd, file);
  } finally {
    closeSync(fd);
  }
}
