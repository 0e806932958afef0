/**
 * A build that does not validate is reported with the feature the runtime lacks: the relaxed build
 * on Node 20 without its flag used to be reported as "this runtime lacks WebAssembly SIMD".
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { init, LogitkitError } from '../src/index.js';
import { relaxedSimdSupported, validationFailure } from '../src/init.js';

const file = (name: string): Uint8Array<ArrayBuffer> => new Uint8Array(readFileSync(new URL(`../dist/${name}`, import.meta.url)));

/** A fake WebAssembly.validate that refuses the probes whose opcodes / sections it is told to. */
function runtimeWithout(feature: 'simd' | 'relaxed' | 'shared'): (b: Uint8Array) => boolean {
  return (b) => {
    const bytes = Array.from(b);
    const has = (seq: number[]): boolean => bytes.some((_, i) => seq.every((v, k) => bytes[i + k] === v));
    if (feature === 'simd' && has([0xfd])) return false;
    if (feature === 'relaxed' && has([0xfd, 0x85, 0x02])) return false;
    if (feature === 'shared' && has([0x05, 0x04, 0x01, 0x03])) return false;
    return true;
  };
}

describe('validationFailure names the missing feature', () => {
  it('no SIMD at all', () => {
    expect(validationFailure(runtimeWithout('simd'))).toMatch(/lacks WebAssembly SIMD \(simd128\)/);
  });
  it('SIMD without relaxed SIMD', () => {
    const m = validationFailure(runtimeWithout('relaxed'));
    expect(m).toMatch(/has WebAssembly SIMD but lacks relaxed SIMD/);
    expect(m).not.toMatch(/shared memory/);
  });
  it('SIMD without shared memory', () => {
    const m = validationFailure(runtimeWithout('shared'));
    expect(m).toMatch(/lacks shared memory \(WebAssembly threads\)/);
    expect(m).not.toMatch(/relaxed/);
  });
  it('nothing missing: the file itself is at fault', () => {
    expect(validationFailure(() => true)).toMatch(/damaged or not a logitkit build/);
  });
  it('this runtime: every probe answers like the real builds', () => {
    const m = validationFailure();
    expect(m.includes('relaxed SIMD,')).toBe(!relaxedSimdSupported());
    expect(WebAssembly.validate(file('logitkit.wasm'))).toBe(true);
    expect(WebAssembly.validate(file('logitkit-relaxed.wasm'))).toBe(relaxedSimdSupported());
  });
});

/** What init({ backend: 'wasm', wasm: relaxed build }) says on Node 20 without the relaxed flag. */
const NODE20_SCRIPT = `
import { readFileSync } from 'node:fs';
const { init } = await import(process.argv[1]);
try {
  await init({ backend: 'wasm', wasm: readFileSync(process.argv[2]) });
  console.log('loaded');
} catch (e) {
  console.log(e.code + ': ' + e.message);
}`;

describe('init() with the relaxed build where relaxed SIMD does not validate', () => {
  it('says relaxed SIMD is missing, not SIMD', async () => {
    let said: string;
    if (!relaxedSimdSupported()) {
      // Node 20 without --experimental-wasm-relaxed-simd (the unit project's default there).
      const err = await init({ backend: 'wasm', wasm: file('logitkit-relaxed.wasm') }).then(
        () => null,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(LogitkitError);
      said = `${(err as LogitkitError).code}: ${(err as LogitkitError).message}`;
    } else {
      // Node ≥ 22 validates relaxed SIMD: ask the Node 20 the machine has (the default `node`).
      const version = execFileSync('node', ['--version'], { encoding: 'utf8', env: { PATH: '/usr/bin:/bin' } }).trim();
      expect(version).toMatch(/^v20\./);
      said = execFileSync(
        'node',
        ['--input-type=module', '-e', NODE20_SCRIPT, fileURLToPath(new URL('../dist/index.js', import.meta.url)), fileURLToPath(new URL('../dist/logitkit-relaxed.wasm', import.meta.url))],
        { encoding: 'utf8', env: { PATH: '/usr/bin:/bin' } },
      ).trim();
    }
    expect(said).toMatch(/^wasm_unavailable: .*this runtime has WebAssembly SIMD but lacks relaxed SIMD, which logitkit-relaxed\*\.wasm needs/);
    expect(said).not.toMatch(/lacks WebAssembly SIMD/);
  });

  it('the engine still starts with the plain build afterwards', async () => {
    const lk = await init({ backend: 'wasm', wasm: file('logitkit.wasm') });
    expect(lk.softmax(new Float32Array([0, 0]), 2)).toEqual(new Float32Array([0.5, 0.5]));
    lk.dispose();
  });
});
