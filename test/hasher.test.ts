// lk.hasher() (src/hasher.ts; wasm: assembly/kernels/hash.ts; definition and JS reference:
// src/backends/js-hash.ts): known answers committed here (a silent change of the function fails),
// the same digests from a one-shot BigInt transcription of the definition, from both backends and
// for any split of the stream into updates; the argument errors, after which the engine keeps working.
import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { init } from '../src/index.js';
import { hashWords } from '../src/backends/js-hash.js';
import { relaxedSimdSupported } from '../src/init.js';
import { describeEachBackend } from './helpers/backends.js';
import { codeOf } from './helpers/checks.js';
import { rng } from './helpers/random.js';

const M64 = (1n << 64n) - 1n;

/** The definition in the header of js-hash.ts, written straight in BigInt over the whole stream (keys and starting lanes given). */
function definition(w: Uint32Array, keys: Uint32Array, start: bigint[]): string {
  const L = w.length;
  const padded = new Uint32Array(Math.ceil(L / 16) * 16);
  padded.set(w);
  const a = start.slice();
  const key64 = (i: number) => (BigInt(keys[2 * i + 1]!) << 32n) | BigInt(keys[2 * i]!);
  for (let t = 0; t < padded.length / 16; t++) {
    const n = t % 16;
    const k = (i: number) => BigInt((padded[16 * t + i]! ^ keys[2 * n + i]!) >>> 0);
    const word = (i: number) => BigInt(padded[16 * t + i]!);
    for (let l = 0; l < 8; l++) {
      const q = l < 4 ? l : l + 4;
      const r = 12 - 4 * Math.floor(l / 2) + 2 * (l % 2);
      a[l] = (a[l]! + k(q) * k(q + 4) + (word(r) | (word(r + 1) << 32n))) & M64;
    }
    if (n === 15) for (let l = 0; l < 8; l++) a[l] = (((a[l]! ^ (a[l]! >> 47n)) ^ key64(24 + l)) * 0x9e3779b1n) & M64;
  }
  const [P1, P2, P3, P4, P5] = [0x9e3779b185ebca87n, 0xc2b2ae3d27d4eb4fn, 0x165667b19e3779f9n, 0x85ebca77c2b2ae63n, 0x27d4eb2f165667c5n];
  const fmix = (x: bigint) => {
    x = ((x ^ (x >> 33n)) * 0xff51afd7ed558ccdn) & M64;
    x = ((x ^ (x >> 33n)) * 0xc4ceb9fe1a85ec53n) & M64;
    return x ^ (x >> 33n);
  };
  const rotl = (x: bigint, s: bigint) => ((x << s) | (x >> (64n - s))) & M64;
  let h1 = (BigInt(L) * P1) & M64;
  let h2 = ~(BigInt(L) * P2) & M64;
  for (let l = 0; l < 8; l++) {
    const i = BigInt(l + 1);
    h1 = (rotl(h1 ^ fmix((a[l]! + i * P5) & M64), 27n) * P1 + P4) & M64;
    h2 = (rotl(h2 ^ fmix(a[l]! ^ ((i * P4) & M64)), 31n) * P2 + P3) & M64;
  }
  h1 = (h1 + h2) & M64;
  h2 = (h2 + h1) & M64;
  h1 = fmix(h1);
  h2 = fmix(h2);
  h1 = (h1 + h2) & M64;
  h2 = (h2 + h1) & M64;
  return h1.toString(16).padStart(16, '0') + h2.toString(16).padStart(16, '0');
}

/** The keys and starting lanes as js-hash.ts documents them (independently written here). */
const KEYS = Uint32Array.from({ length: 64 }, (_, i) => {
  let z = (Math.imul(i + 1, 0x9e3779b9) + 0x6c6b6670) >>> 0;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
});
const START = [0xc2b2ae3dn, 0x9e3779b185ebca87n, 0xc2b2ae3d27d4eb4fn, 0x165667b19e3779f9n, 0x85ebca77c2b2ae63n, 0x85ebca77n, 0x27d4eb2f165667c5n, 0x9e3779b1n];

function words(n: number, seed: number): Uint32Array {
  const r = rng(seed);
  const w = new Uint32Array(n);
  // every bit pattern, and runs of values equal to keys (a zero product) and of zeros
  for (let i = 0; i < n; i++) w[i] = r() < 0.05 ? KEYS[i % 64]! : r() < 0.05 ? 0 : Math.floor(r() * 2 ** 32);
  return w;
}

/** Known answers: fixed inputs → digests committed once (the function must never change silently). */
const ramp = (n: number) => Uint32Array.from({ length: n }, (_, i) => Math.imul(i + 1, 0x01000193) >>> 0);
const KNOWN: [string, Uint32Array, string][] = [
  ['empty', new Uint32Array(0), 'be6e006c4faf0eb67662af45abd2acb0'],
  ['one zero word', new Uint32Array(1), '84573a652882b04e19c1fc7ce5cd4c15'],
  ['float32 [1, 2, 3]', new Uint32Array(new Float32Array([1, 2, 3]).buffer), '960e5c3afb93dcbbe4e2a4d1e5f0daa6'],
  ['16 words', ramp(16), '60bb55f12db1e348881e2e9426fe2bc4'],
  ['17 words', ramp(17), '014caf021865e656308b1acda5635f81'],
  ['256 words (one scramble)', ramp(256), '1bb1a96607ee36249482ff869becb069'],
  ['1000 words', ramp(1000), 'fd8556b05949ed752a6c918b249ca767'],
  ['4099 words', ramp(4099), 'c30ac1fd37ace5a1da16ee9e4ec0ce3a'],
];

describe('the fingerprint hash', () => {
  it('is its definition (a BigInt transcription, one shot) on edge lengths and key-equal words', () => {
    for (const n of [0, 1, 15, 16, 17, 31, 32, 255, 256, 257, 271, 272, 1000, 4096 + 3]) {
      const w = words(n, n + 1);
      expect(hashWords(w), `${n} words`).toBe(definition(w, KEYS, START));
    }
  });

  it('gives the committed known answers', () => {
    for (const [what, w, hex] of KNOWN) {
      expect(definition(w, KEYS, START), what).toBe(hex);
      expect(hashWords(w), what).toBe(hex);
    }
  });
});

describeEachBackend('lk.hasher', (lk) => {
  const digestOf = (parts: (Float32Array | Int32Array | Uint32Array)[]) => {
    const h = lk().hasher();
    for (const p of parts) h.update(p);
    return h.digest();
  };

  it('gives the known answers', () => {
    for (const [what, w, hex] of KNOWN) expect(digestOf([w]), what).toBe(hex);
  });

  it('does not depend on how the stream is split into updates (random splits, lengths 0..1000)', () => {
    const r = rng(7);
    for (let trial = 0; trial < 200; trial++) {
      const n = Math.floor(r() * 1001);
      const w = words(n, 100 + trial);
      const whole = hashWords(w);
      const parts: Uint32Array[] = [];
      for (let at = 0; at < n; ) {
        const m = r() < 0.2 ? 0 : Math.min(n - at, 1 + Math.floor(r() * (r() < 0.5 ? 20 : 300)));
        parts.push(w.subarray(at, at + m));
        at += m;
      }
      if (r() < 0.3) parts.push(new Uint32Array(0));
      expect(digestOf(parts), `${n} words in ${parts.length} updates`).toBe(whole);
    }
  });

  it('hashes the stored words: a Float32Array and an Int32Array of the same bits agree, −0 and 0 differ', () => {
    const x = new Float32Array(new Uint32Array(words(333, 3)).buffer);
    const h = lk().hasher().update(x.subarray(0, 100)).update(new Int32Array(x.buffer, 400, 233));
    expect(h.words).toBe(333);
    expect(h.digest()).toBe(hashWords(new Uint32Array(x.buffer)));
    expect(digestOf([new Float32Array([-0])])).not.toBe(digestOf([new Float32Array([0])]));
    // the length is folded in: trailing zero words are not padding
    expect(digestOf([new Uint32Array(3)])).not.toBe(digestOf([new Uint32Array(4)]));
  });

  it('hashes a buffer from lk.alloc in place, a large array in slices, the same as the reference', () => {
    const n = (1 << 20) + 12345; // past one slice of the engine's updates
    const w = words(n, 9);
    const expected = hashWords(w);
    const buf = lk().alloc(n, 'int32');
    try {
      buf.array.set(new Int32Array(w.buffer));
      expect(lk().hasher().update(buf).digest()).toBe(expected);
      expect(lk().hasher().update(buf.array.subarray(0, 777)).update(buf.array.subarray(777)).digest()).toBe(expected);
    } finally {
      buf.free();
    }
    expect(digestOf([w])).toBe(expected);
  });

  it('refuses bad input with invalid_argument, and keeps working', () => {
    const h = lk().hasher();
    for (const bad of [new Float64Array(4), new Uint8Array(4), new Uint16Array(2), [1, 2], null, undefined, 3, 'abc']) {
      expect(codeOf(() => h.update(bad as never)), String(bad)).toBe('invalid_argument');
    }
    const half = lk().alloc(4, 'uint16');
    expect(codeOf(() => h.update(half as never))).toBe('invalid_argument');
    half.free();
    h.update(new Float32Array([1, 2, 3]));
    const d = h.digest();
    expect(d).toBe(hashWords(new Uint32Array(new Float32Array([1, 2, 3]).buffer)));
    expect(h.digest()).toBe(d);
    expect(codeOf(() => h.update(new Float32Array(1)))).toBe('invalid_argument');
    const f = lk().hasher();
    f.free();
    expect(codeOf(() => f.update(new Float32Array(1)))).toBe('invalid_argument');
    expect(codeOf(() => f.digest())).toBe('invalid_argument');
    expect(lk().hasher().update(new Float32Array([1, 2, 3])).digest()).toBe(d);
  });
});

describe('lk.hasher on every build', () => {
  const w = words(70001, 5);
  it('the shared-memory build gives the reference digests (the build score --threads uses)', async () => {
    const lk = await init({ backend: 'wasm', threads: 2 });
    try {
      expect(lk.features.threads).toBe(2);
      expect(lk.hasher().update(w.subarray(0, 3)).update(w.subarray(3)).digest()).toBe(hashWords(w));
    } finally {
      lk.dispose();
    }
  });
  it.each(['logitkit.wasm', ...(relaxedSimdSupported() ? ['logitkit-relaxed.wasm'] : [])])('%s gives the reference digests', async (file) => {
    const lk = await init({ backend: 'wasm', wasm: await readFile(new URL(`../build/${file}`, import.meta.url)) });
    try {
      expect(lk.features.relaxedSimd).toBe(file.includes('relaxed'));
      expect(lk.hasher().update(w.subarray(0, 1000)).update(w.subarray(1000)).digest()).toBe(hashWords(w));
    } finally {
      lk.dispose();
    }
  });
});

describe('lk.hasher on a disposed engine', () => {
  it('refuses with disposed', async () => {
    const lk = await init({ backend: 'wasm' });
    const h = lk.hasher();
    lk.dispose();
    expect(codeOf(() => lk.hasher())).toBe('disposed');
    expect(codeOf(() => h.update(new Float32Array(1)))).toBe('disposed');
  });
});
