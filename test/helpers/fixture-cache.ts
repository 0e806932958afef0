// A large seeded fixture shared between the processes of one test run. The spec matrix runs a file once
// per configuration, each in its own worker process, and a vocabulary-sized batch with its float64
// reference costs seconds to build (spec-loss-large: 2,048 × 32,000 logits, ~6 s) — the same bytes
// every time. The first process to need one writes it under node_modules/.cache/logitkit-tests (npm ci
// empties node_modules, so a clean clone builds it afresh), and the others, the later Node versions of
// .ci/run too, read it back (~0.2 s): seeded data and a float64 reference, the same whatever runs them.
// The file's name hashes the sources that build it and the builder's arguments, so an edited generator
// or reference never reads an old file; the write goes through a rename, so a reader sees a whole file
// or none. Any failure to read or write falls back to building in this process: the cache can make a
// test faster, never change what it checks.
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';

type Field = Float32Array | Float64Array | Int32Array | number;
const KINDS = { Float32Array, Float64Array, Int32Array } as const;
type Kind = keyof typeof KINDS;

const DIR = new URL('../../node_modules/.cache/logitkit-tests/', import.meta.url);

/**
 * build()'s result, from the cache when a run already built it with the same sources (file URLs, read
 * and hashed) and arguments. Every field is a Float32Array, Float64Array, Int32Array or a number.
 */
export function cachedFixture<T extends Record<string, Field>>(name: string, sources: URL[], args: unknown[], build: () => T): T {
  if (!/^[\w-]+$/.test(name)) throw new Error(`fixture cache: name '${name}' (letters, digits, - and _)`);
  const hash = createHash('sha256');
  for (const s of sources) hash.update(readFileSync(s)).update('\0');
  const code = hash.digest('hex').slice(0, 16);
  const base = `${name}.${code}.${createHash('sha256').update(JSON.stringify(args)).digest('hex').slice(0, 16)}.bin`;
  const file = new URL(base, DIR);
  try {
    return decode(readFileSync(file)) as T;
  } catch {
    // not built yet in this run (or unreadable): build it here
  }
  const value = build();
  try {
    mkdirSync(DIR, { recursive: true });
    // the same fixture built by older sources only takes space (other arguments' builds stay)
    for (const f of readdirSync(DIR)) if (f.startsWith(`${name}.`) && !f.startsWith(`${name}.${code}.`) && f.endsWith('.bin')) rmSync(new URL(f, DIR), { force: true });
    const tmp = new URL(`${base}.${process.pid}.tmp`, DIR);
    writeFileSync(tmp, encode(value));
    renameSync(tmp, file);
  } catch {
    // a read-only or full disk: the next process builds it again
  }
  return value;
}

/**
 * A JSON header (each field's name and kind: a number is a Float64Array of one, so −0, NaN and ±inf come
 * back as they went), its length first, then each field's bytes at an 8-byte offset.
 */
function encode(value: Record<string, Field>): Buffer {
  const arrays = Object.values(value).map((v) => (typeof v === 'number' ? Float64Array.of(v) : v));
  const fields = Object.entries(value).map(([key, v], i) => ({ key, kind: typeof v === 'number' ? 'number' : (v.constructor.name as Kind), length: arrays[i]!.length }));
  const header = Buffer.from(JSON.stringify(fields));
  const parts: Buffer[] = [Buffer.alloc(8), header];
  let at = 8 + header.length;
  for (const v of arrays) {
    const pad = (8 - (at % 8)) % 8;
    parts.push(Buffer.alloc(pad), Buffer.from(v.buffer, v.byteOffset, v.byteLength));
    at += pad + v.byteLength;
  }
  parts[0]!.writeUInt32LE(header.length, 0);
  parts[0]!.writeUInt32LE(at, 4);
  return Buffer.concat(parts, at);
}

function decode(buf: Buffer): Record<string, Field> {
  const headerLength = buf.readUInt32LE(0);
  if (buf.readUInt32LE(4) !== buf.length) throw new Error('fixture cache: truncated');
  const fields = JSON.parse(buf.subarray(8, 8 + headerLength).toString()) as { key: string; kind: Kind | 'number'; length: number }[];
  const out: Record<string, Field> = {};
  let at = 8 + headerLength;
  for (const f of fields) {
    const Kind = KINDS[f.kind === 'number' ? 'Float64Array' : f.kind];
    at += (8 - (at % 8)) % 8;
    const bytes = f.length * Kind.BYTES_PER_ELEMENT;
    // a copy: its own buffer, aligned, as build() would have returned
    const a = new Kind(f.length);
    new Uint8Array(a.buffer).set(buf.subarray(at, at + bytes));
    out[f.key] = f.kind === 'number' ? a[0]! : a;
    at += bytes;
  }
  if (at !== buf.length) throw new Error('fixture cache: wrong length');
  return out;
}
