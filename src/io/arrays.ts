/**
 * Arrays in the files practitioners have: a plain `.npy`, a member of an `.npz` (np.savez, stored;
 * np.savez_compressed, deflated), or a tensor of a `.safetensors` file. Each is opened as an NpyFile,
 * the one block reader, so scoring streams all of them in bounded memory.
 *
 * The container is recognised by its first bytes, never by its name. Stored .npz members and
 * safetensors entries are read in place; a deflated member is first inflated, streaming, into a
 * temporary file (checked against the size and CRC-32 its directory records, so a damaged or
 * oversized member is refused), because row blocks are read at random offsets.
 *
 * Which array: `key` names it (the .npz member without its `.npy`, or the safetensors tensor name);
 * without one, the pairs of DEFAULT_KEYS are tried in order, so np.savez(logits=…, labels=…), netcal's
 * records (predictions, ground_truth) and np.savez(a, b) (arr_0, arr_1) all work as they are.
 */
import { createReadStream, createWriteStream, closeSync, mkdtempSync, readSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import * as zlib from 'node:zlib';
import { NpyError, NpyFile, openForReading, readNpyHeader, type NpyRole } from './npy.js';
import { readSafetensorsHeader, safetensorsHeader } from './safetensors.js';
import { isZipMagic, memberDataOffset, readZipDirectory, type ZipMember } from './zip.js';

export type Container = 'npy' | 'npz' | 'safetensors';

/** (logits, labels) names tried in order when no key is given. */
export const DEFAULT_KEYS: readonly (readonly [string, string])[] = [
  ['logits', 'labels'],
  ['predictions', 'ground_truth'],
  ['arr_0', 'arr_1'],
];

/** Which kind of file `path` is, from its first bytes. Anything unrecognised is left to the .npy reader's message. */
export function containerOf(path: string): Container {
  const fd = openForReading(path);
  try {
    const head = Buffer.alloc(9);
    const got = readSync(fd, head, 0, 9, 0);
    if (isZipMagic(head.subarray(0, got))) return 'npz';
    // safetensors: a u64 header length, then the header's JSON object.
    if (got === 9 && head[8] === 0x7b && head.readBigUInt64LE(0) > 1n) return 'safetensors';
    return 'npy';
  } finally {
    closeSync(fd);
  }
}

/** The array names a container holds (for defaults and for "no array 'x'; it has …" messages). */
export function arrayNames(path: string): string[] {
  const kind = containerOf(path);
  if (kind === 'npy') return [];
  const fd = openForReading(path);
  try {
    if (kind === 'npz') return readZipDirectory(fd, path).filter((m) => m.name.endsWith('.npy')).map((m) => m.name.slice(0, -4));
    return [...readSafetensorsHeader(fd, path).keys()];
  } finally {
    closeSync(fd);
  }
}

/**
 * The key of the array that serves as `role` in `path`: `key` when given (it must exist), else the
 * first default present. `pairedWith` is the logits key when labels come from the same file, so
 * the labels of a default pair go with its logits.
 */
export function pickKey(path: string, role: 'logits' | 'labels' | 'groups', key: string | undefined, pairedWith?: string): string {
  const names = arrayNames(path);
  const has = (k: string) => names.includes(k);
  const listed = names.length ? names.map((n) => `'${n}'`).join(', ') : 'no arrays';
  if (key !== undefined) {
    if (!has(key)) throw new NpyError(path, `has no array '${key}' (it holds ${listed})`);
    return key;
  }
  const pair = pairedWith === undefined ? undefined : DEFAULT_KEYS.find(([l]) => l === pairedWith);
  const candidates = role === 'groups' ? ['groups'] : pair ? [pair[1]] : DEFAULT_KEYS.map(([l, y]) => (role === 'logits' ? l : y));
  if (role === 'labels' && !pair && pairedWith === undefined) candidates.push('arr_0');
  const found = candidates.find(has);
  if (found === undefined) {
    const flag = role === 'logits' ? '--logits-key' : role === 'labels' ? '--labels-key' : '--groups KEY';
    throw new NpyError(path, `no ${role} array among the defaults (${candidates.map((c) => `'${c}'`).join(', ')}); it holds ${listed}: pick one with ${flag}`);
  }
  return found;
}

/** Temporary files of inflated .npz members, removed by dispose(). */
export class ExtractedMembers {
  private dir: string | null = null;
  private readonly files = new Map<string, string>();

  /** The temp file holding member `name` of `path`, if it was extracted. */
  get(path: string, name: string): string | undefined {
    return this.files.get(`${path}\0${name}`);
  }

  /** Inflates a deflated member into a temp file, checking its recorded size and CRC-32. */
  async extract(path: string, member: ZipMember, dataOffset: number): Promise<string> {
    const id = `${path}\0${member.name}`;
    const have = this.files.get(id);
    if (have) return have;
    this.dir ??= mkdtempSync(join(tmpdir(), 'logitkit-npz-'));
    const out = join(this.dir, `${this.files.size}.npy`);
    const where = `${path}[${member.name.replace(/\.npy$/, '')}]`;
    let written = 0;
    let crc = 0;
    const crc32 = (zlib as { crc32?: (data: Uint8Array, value?: number) => number }).crc32;
    const check = new Transform({
      transform(chunk: Buffer, _enc, done) {
        written += chunk.length;
        // A member that inflates past its recorded size is damaged (or a bomb): stop at once.
        if (written > member.size) return done(new NpyError(where, `inflates to more than the ${member.size} bytes its ZIP directory records`));
        if (crc32) crc = crc32(chunk, crc);
        done(null, chunk);
      },
    });
    const input = member.compressedSize === 0 ? null : createReadStream(path, { start: dataOffset, end: dataOffset + member.compressedSize - 1 });
    try {
      if (input) await pipeline(input, zlib.createInflateRaw(), check, createWriteStream(out));
      else await pipeline(async function* () {}, createWriteStream(out));
    } catch (e) {
      rmSync(out, { force: true });
      if (e instanceof NpyError) throw e;
      throw new NpyError(where, `cannot inflate this deflated member (${(e as Error).message})`);
    }
    if (written !== member.size) throw new NpyError(where, `inflates to ${written} bytes, but its ZIP directory records ${member.size}`);
    if (crc32 && (crc >>> 0) !== member.crc32) throw new NpyError(where, 'CRC-32 mismatch: the member is damaged');
    this.files.set(id, out);
    return out;
  }

  dispose(): void {
    if (this.dir) rmSync(this.dir, { recursive: true, force: true });
    this.dir = null;
    this.files.clear();
  }
}

function npzMember(fd: number, path: string, key: string): ZipMember {
  const m = readZipDirectory(fd, path).find((x) => x.name === `${key}.npy`);
  if (!m) throw new NpyError(path, `has no array '${key}'`);
  if (m.method !== 0 && m.method !== 8) throw new NpyError(`${path}[${key}]`, `ZIP compression method ${m.method} is not supported (stored or deflated only)`);
  return m;
}

/**
 * Inflates, ahead of opening, the deflated .npz members that (path, key) needs. A no-op for .npy,
 * safetensors and stored members.
 */
export async function prepareArray(path: string, key: string, extracted: ExtractedMembers): Promise<void> {
  if (containerOf(path) !== 'npz') return;
  const fd = openForReading(path);
  let m: ZipMember;
  let start: number;
  try {
    m = npzMember(fd, path, key);
    start = memberDataOffset(fd, path, m);
  } finally {
    closeSync(fd);
  }
  if (m.method === 8) await extracted.extract(path, m, start);
}

/**
 * Opens the array `key` of `path` (no key for a plain .npy) as an NpyFile for `role`. A deflated
 * .npz member must have been prepared into `extracted` first (prepareArray).
 */
export function openArray(path: string, role: NpyRole, key?: string, extracted?: ExtractedMembers): NpyFile {
  const kind = containerOf(path);
  if (kind === 'npy') {
    if (key !== undefined) throw new NpyError(path, `is an .npy file, which holds one array; the key '${key}' applies to .npz and .safetensors files`);
    return NpyFile.open(path, role);
  }
  const k = key ?? pickKey(path, role === 'labels' ? 'labels' : 'logits', undefined);
  const name = `${path}[${k}]`;
  let fd = openForReading(path);
  try {
    if (kind === 'safetensors') {
      const entry = readSafetensorsHeader(fd, path).get(k);
      if (!entry) throw new NpyError(path, `has no tensor '${k}'`);
      const file = NpyFile.fromHeader(fd, safetensorsHeader(entry, name), role);
      fd = -1; // the NpyFile owns it now
      return file;
    }
    const m = npzMember(fd, path, k);
    const start = memberDataOffset(fd, path, m);
    if (m.method === 8) {
      const inflated = extracted?.get(path, m.name);
      if (!inflated) throw new NpyError(name, 'is a deflated (np.savez_compressed) member: open it with NpyShardSource.open(), which inflates it first');
      closeSync(fd);
      fd = -1;
      fd = openForReading(inflated);
      const file = NpyFile.fromHeader(fd, readNpyHeader(fd, name), role);
      fd = -1;
      return file;
    }
    const file = NpyFile.fromHeader(fd, readNpyHeader(fd, name, { base: start, end: start + m.compressedSize }), role);
    fd = -1;
    return file;
  } finally {
    if (fd >= 0) closeSync(fd);
  }
}
