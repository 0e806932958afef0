/**
 * What differs between the wasm builds — the exp polynomial (f32x4.relaxed_madd in the relaxed
 * builds) and the thread pool — checked on each configuration of the matrix: the exp-based ops
 * within SEMANTICS §11 on the shapes that stress them, the build's raw vector exp within 1 ulp of
 * the correctly rounded e^x over the float32 range, and, where relaxed SIMD runs, that init() itself
 * picks the relaxed builds. Which build is chosen where it does not run: relaxed.test.ts.
 */
import { readFile } from 'node:fs/promises';
import { expect, it } from 'vitest';
import { init } from '../src/index.js';
import { BUILD_FILES, relaxedSimdSupported, type BuildName } from '../src/init.js';
import { describeEachBackend, describeFor, type Configuration } from './helpers/backends.js';
import { randomLogits } from './helpers/random.js';
import { expectClose, logTol, probTol, spreadOf } from './helpers/tolerance.js';
import { refLogSigmoid, refLogSoftmax, refLogSumExp, refSigmoid, refSoftmax } from './reference/index.js';

function withSpecials(x: Float32Array, classes: number): Float32Array {
  const rows = x.length / classes;
  if (rows > 3) {
    x.fill(-Infinity, 0, classes); // all −inf row
    x[classes + 1] = Infinity; // a +inf
    x[2 * classes] = NaN; // a NaN
  }
  return x;
}

const cases = [
  { name: '64×1000', classes: 1000, T: 1, x: withSpecials(randomLogits(64, 1000, 4, 1), 1000) },
  { name: '64×1000 T=0.6', classes: 1000, T: 0.6, x: randomLogits(64, 1000, 4, 2) },
  { name: '1000×10', classes: 10, T: 1, x: withSpecials(randomLogits(1000, 10, 6, 3), 10) },
  { name: '2×128256 (shifted by 1e4)', classes: 128_256, T: 1, x: randomLogits(2, 128_256, 3, 4, 1e4) },
  { name: '3×7', classes: 7, T: 1, x: randomLogits(3, 7, 30, 5) },
];

describeEachBackend('the exp-based ops on every build', (lk) => {
  for (const c of cases) {
    it(`${c.name}: softmax, logSoftmax, logsumexp, sigmoid, logSigmoid within §11`, () => {
      const { S, zmax } = spreadOf(c.x, c.classes, c.T);
      const o = { temperature: c.T };
      const C = c.classes;
      expectClose(lk().softmax(c.x, C, o), refSoftmax(c.x, C, c.T), probTol({ C, S, zmax, T: c.T }), `${c.name} softmax`);
      expectClose(lk().logSoftmax(c.x, C, o), refLogSoftmax(c.x, C, c.T), logTol({ C, S, zmax, T: c.T }), `${c.name} logSoftmax`);
      expectClose(lk().logsumexp(c.x, C, o), refLogSumExp(c.x, C, c.T), logTol({ C, S, zmax, T: c.T }), `${c.name} logsumexp`);
      expectClose(lk().sigmoid(c.x), refSigmoid(c.x), probTol({ C: 1, S: 0, sigmoid: true }), `${c.name} sigmoid`);
      expectClose(lk().logSigmoid(c.x), refLogSigmoid(c.x), logTol({ C: 1, S: 0 }), `${c.name} logSigmoid`);
    });
  }
});

/** Every 4099th float32 bit pattern (both signs): about 2 million exp arguments over the whole range. */
function expSweep(): Float32Array {
  const bits: number[] = [];
  for (let b = 0; b < 0x7f800000; b += 4099) bits.push(b, b | 0x80000000);
  bits.push(0x7f800000, 0xff800000, 0x7fc00000); // +inf, −inf, NaN
  return new Float32Array(new Uint32Array(bits).buffer);
}

/** The build a wasm configuration runs (its lk.features were checked against the configuration). */
function buildOf(config: Configuration): BuildName {
  const relaxed = config === 'wasm relaxed' || (config !== 'wasm simd128' && relaxedSimdSupported());
  if (config === 'threads 2') return relaxed ? 'threads-relaxed' : 'threads';
  return relaxed ? 'relaxed' : 'simd';
}

/** A build's expArray export on `x`, instantiated bare (the threads builds import a shared memory). */
async function buildExp(build: BuildName, x: Float32Array): Promise<Float32Array> {
  const bytes = await readFile(new URL(`../build/${BUILD_FILES[build]}`, import.meta.url));
  const shared = build.startsWith('threads');
  const memory = new WebAssembly.Memory({ initial: 256, maximum: 1024, shared } as WebAssembly.MemoryDescriptor);
  const { instance } = await WebAssembly.instantiate(bytes, {
    env: {
      memory,
      abort: () => {
        throw new Error('abort');
      },
    },
  });
  const k = instance.exports as { heapBase(): number; expArray(x: number, n: number, out: number): void };
  const p = k.heapBase();
  new Float32Array(memory.buffer, p, x.length).set(x);
  k.expArray(p, x.length, p);
  return new Float32Array(memory.buffer, p, x.length).slice();
}

for (const config of ['wasm simd128', 'wasm relaxed', 'threads 2'] as const) {
  describeFor(config, `the build's vector exp [${config}]`, () => {
    it('is within 1 ulp of the correctly rounded e^x over the float32 range', async () => {
      const sweep = expSweep();
      const got = await buildExp(buildOf(config), sweep);
      const gotBits = new Int32Array(got.buffer);
      const want = Float32Array.from(sweep, Math.exp);
      const wantBits = new Int32Array(want.buffer);
      let worst = 0;
      let at = -1;
      for (let i = 0; i < sweep.length; i++) {
        if (Number.isNaN(want[i]!)) {
          expect(Number.isNaN(got[i]!), 'exp(NaN)').toBe(true);
          continue;
        }
        const d = Math.abs(gotBits[i]! - wantBits[i]!); // ulps apart (same sign: results are ≥ 0)
        if (d > worst) [worst, at] = [d, i];
      }
      expect(worst, `worst at x = ${sweep[at]} (got ${got[at]}, want ${want[at]})`).toBeLessThanOrEqual(1);
      if (config === 'wasm relaxed') {
        // How many results the fused multiply-add changed (0 on a CPU without FMA): for the record only.
        const plain = new Int32Array((await buildExp('simd', sweep)).buffer);
        let differ = 0;
        for (let i = 0; i < plain.length; i++) if (plain[i] !== gotBits[i]) differ++;
        console.info(`relaxed vs plain exp: ${differ} of ${sweep.length} results differ in their bits`);
      }
    });
  });
}

describeFor('wasm relaxed', 'where relaxed SIMD runs, init() picks the relaxed builds itself', () => {
  it('init() runs the relaxed build, init({ threads: 2 }) the threads-relaxed build', async () => {
    expect(relaxedSimdSupported()).toBe(true);
    const one = await init({ backend: 'wasm' });
    const two = await init({ backend: 'wasm', threads: 2 });
    try {
      expect(one.features).toMatchObject({ simd: true, relaxedSimd: true, threads: 1 });
      expect(two.features).toMatchObject({ simd: true, relaxedSimd: true, threads: 2 });
      const x = randomLogits(512, 1000, 3, 6);
      const a = one.softmax(x, 1000);
      const b = two.softmax(x, 1000);
      expect(Buffer.compare(Buffer.from(a.buffer), Buffer.from(b.buffer)), 'relaxed build: same bits on 1 and 2 threads').toBe(0);
    } finally {
      one.dispose();
      two.dispose();
    }
  });
});
