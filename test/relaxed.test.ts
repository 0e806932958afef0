/**
 * The relaxed-SIMD build (f32x4.relaxed_madd in the exp polynomial): chosen
 * automatically where relaxed SIMD validates, the plain SIMD build elsewhere,
 * and within SEMANTICS.md §11 tolerances either way.
 *
 * Node 20 rejects relaxed SIMD unless started with --experimental-wasm-relaxed-simd,
 * so this process checks the "not available" side, and a child Node started
 * with that flag runs the library (bundled from the sources) on both builds and
 * hands its outputs back as files; the checks against the float64 reference run
 * here, with the spec suite's tolerance helpers.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { BUILD_FILES, buildOrder, featuresOf, makeInit, relaxedSimdSupported, type Platform } from '../src/init.js';
import { randomLogits } from './helpers/random.js';
import { refLogSigmoid, refLogSoftmax, refLogSumExp, refSigmoid, refSoftmax } from './helpers/reference.js';
import { expectClose, logTol, probTol, spreadOf } from './helpers/tolerance.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const buildDir = fileURLToPath(new URL('../build/', import.meta.url));

describe('relaxed SIMD: which build is chosen', () => {
  it('buildOrder: threads and relaxed SIMD first, the plain SIMD build always last', () => {
    expect(buildOrder(false, false)).toEqual(['simd']);
    expect(buildOrder(false, true)).toEqual(['relaxed', 'simd']);
    expect(buildOrder(true, false)).toEqual(['threads', 'simd']);
    expect(buildOrder(true, true)).toEqual(['threads-relaxed', 'threads', 'relaxed', 'simd']);
  });

  it('Node 20 without the flag: relaxed SIMD does not validate, the relaxed builds are never read, plain SIMD runs', async () => {
    const major = Number(process.versions.node.split('.')[0]);
    const read: string[] = [];
    const platform: Platform = {
      defaultWasm: () => (read.push(BUILD_FILES.simd), readFile(join(buildDir, BUILD_FILES.simd))),
      fetchUrl: (url) => readFile(url),
      wasmFile: (file) => (read.push(file), readFile(join(buildDir, file))),
    };
    const init = makeInit(platform);
    const lk = await init();
    try {
      if (major < 22) {
        expect(relaxedSimdSupported()).toBe(false);
        expect(read).toEqual(['logitkit.wasm']);
        expect(featuresOf(lk)).toEqual({ simd: true, relaxedSimd: false, threads: 1 });
      } else {
        // Node ≥ 22 ships relaxed SIMD: the relaxed build is picked without a flag.
        expect(relaxedSimdSupported()).toBe(true);
        expect(featuresOf(lk).relaxedSimd).toBe(true);
      }
    } finally {
      lk.dispose();
    }
  });

  it('a relaxed build that fails to load falls back to the plain build (selection by bytes)', async () => {
    // Feed garbage for every non-default build: whatever this runtime supports, init() must land on plain SIMD.
    const platform: Platform = {
      defaultWasm: () => readFile(join(buildDir, BUILD_FILES.simd)),
      fetchUrl: (url) => readFile(url),
      wasmFile: () => new Uint8Array([0x3c, 0x68, 0x74, 0x6d, 0x6c]), // "<html"
    };
    const lk = await makeInit(platform)({ threads: 2 });
    try {
      expect(lk.backend).toBe('wasm');
      expect(featuresOf(lk)).toMatchObject({ simd: true, relaxedSimd: false, threads: 1 });
      expect(featuresOf(lk).threadsUnavailable).toMatch(/^no shared-memory build could be started \(.*not a wasm binary/);
      expect(lk.softmax(new Float32Array([0, 0, 0, 0]), 4)).toEqual(new Float32Array([0.25, 0.25, 0.25, 0.25]));
    } finally {
      lk.dispose();
    }
  });
});

// ------------------------------------------------------------ in a flagged Node

interface Case {
  name: string;
  rows: number;
  classes: number;
  T: number;
  x: Float32Array;
}

function withSpecials(x: Float32Array, classes: number): Float32Array {
  const rows = x.length / classes;
  if (rows > 3) {
    x.fill(-Infinity, 0, classes); // all −inf row
    x[classes + 1] = Infinity; // a +inf
    x[2 * classes] = NaN; // a NaN
  }
  return x;
}

const cases: Case[] = [
  { name: '64×1000', rows: 64, classes: 1000, T: 1, x: withSpecials(randomLogits(64, 1000, 4, 1), 1000) },
  { name: '64×1000 T=0.6', rows: 64, classes: 1000, T: 0.6, x: randomLogits(64, 1000, 4, 2) },
  { name: '1000×10', rows: 1000, classes: 10, T: 1, x: withSpecials(randomLogits(1000, 10, 6, 3), 10) },
  { name: '2×128256 (shifted by 1e4)', rows: 2, classes: 128_256, T: 1, x: randomLogits(2, 128_256, 3, 4, 1e4) },
  { name: '3×7', rows: 3, classes: 7, T: 1, x: randomLogits(3, 7, 30, 5) },
];

/** Every 4099th float32 bit pattern (both signs): about 2 million exp arguments over the whole range. */
function expSweep(): Float32Array {
  const bits: number[] = [];
  for (let b = 0; b < 0x7f800000; b += 4099) bits.push(b, b | 0x80000000);
  bits.push(0x7f800000, 0xff800000, 0x7fc00000); // +inf, −inf, NaN
  return new Float32Array(new Uint32Array(bits).buffer);
}

const OPS = ['softmax', 'logSoftmax', 'logsumexp', 'sigmoid', 'logSigmoid'] as const;

const childScript = (dir: string) => `
import { makeInit, featuresOf, relaxedSimdSupported } from './logitkit.mjs';
import { readFile, writeFile } from 'node:fs/promises';
const build = ${JSON.stringify(buildDir)};
const dir = ${JSON.stringify(dir)};
const init = makeInit({ defaultWasm: () => readFile(build + 'logitkit.wasm'), fetchUrl: (u) => readFile(u), wasmFile: (f) => readFile(build + f) });
const relaxed = await init();
const relaxed2 = await init({ threads: 2 });
const plain = await init({ wasm: await readFile(build + 'logitkit.wasm') });
const report = { probe: relaxedSimdSupported(), relaxed: featuresOf(relaxed), relaxed2: featuresOf(relaxed2), plain: featuresOf(plain), sameAcrossThreads: true, differingBits: 0 };
const cases = JSON.parse(await readFile(dir + '/cases.json', 'utf8'));
const bytes = (a) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
for (const c of cases) {
  const x = new Float32Array((await readFile(dir + '/' + c.file)).buffer.slice(0));
  for (const [tag, lk] of [['relaxed', relaxed], ['plain', plain]]) {
    const outs = {
      softmax: lk.softmax(x, c.classes, { temperature: c.T }),
      logSoftmax: lk.logSoftmax(x, c.classes, { temperature: c.T }),
      logsumexp: lk.logsumexp(x, c.classes, { temperature: c.T }),
      sigmoid: lk.sigmoid(x),
      logSigmoid: lk.logSigmoid(x),
    };
    for (const [op, y] of Object.entries(outs)) await writeFile(dir + '/' + c.file + '.' + op + '.' + tag, bytes(y));
    if (tag === 'relaxed') {
      const y2 = relaxed2.softmax(x, c.classes, { temperature: c.T });
      if (Buffer.compare(Buffer.from(bytes(y2)), Buffer.from(bytes(outs.softmax))) !== 0) report.sameAcrossThreads = false;
    }
  }
}
// The vector exp itself, straight from each build's expArray export.
const sweep = new Float32Array((await readFile(dir + '/sweep.bin')).buffer.slice(0));
for (const file of ['logitkit-relaxed.wasm', 'logitkit.wasm']) {
  const memory = new WebAssembly.Memory({ initial: 256, maximum: 1024 });
  const { instance } = await WebAssembly.instantiate(await readFile(build + file), { env: { memory, abort() { throw new Error('abort'); } } });
  const k = instance.exports;
  const p = k.heapBase();
  new Float32Array(memory.buffer, p, sweep.length).set(sweep);
  k.expArray(p, sweep.length, p);
  await writeFile(dir + '/sweep.' + file, bytes(new Float32Array(memory.buffer, p, sweep.length)));
}
const a = new Uint32Array((await readFile(dir + '/sweep.logitkit-relaxed.wasm')).buffer.slice(0));
const b = new Uint32Array((await readFile(dir + '/sweep.logitkit.wasm')).buffer.slice(0));
for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) report.differingBits++;
relaxed2.dispose();
console.log(JSON.stringify(report));
`;

describe('relaxed SIMD in a Node started with --experimental-wasm-relaxed-simd', () => {
  let dir: string;
  let report: {
    probe: boolean;
    relaxed: unknown;
    relaxed2: unknown;
    plain: unknown;
    sameAcrossThreads: boolean;
    differingBits: number;
  };
  const sweep = expSweep();

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'logitkit-relaxed-'));
    await writeFile(join(dir, 'entry.ts'), `export { makeInit, featuresOf, relaxedSimdSupported } from ${JSON.stringify(join(root, 'src/init.ts'))};\n`);
    const { build } = await import('rolldown');
    await build({
      input: join(dir, 'entry.ts'),
      platform: 'node',
      logLevel: 'silent',
      resolve: { extensionAlias: { '.js': ['.ts', '.js'] } },
      output: { file: join(dir, 'logitkit.mjs'), format: 'esm' },
    });
    const meta = cases.map((c, i) => ({ file: `case${i}.bin`, classes: c.classes, T: c.T }));
    await writeFile(join(dir, 'cases.json'), JSON.stringify(meta));
    for (let i = 0; i < cases.length; i++) await writeFile(join(dir, `case${i}.bin`), new Uint8Array(cases[i]!.x.buffer));
    await writeFile(join(dir, 'sweep.bin'), new Uint8Array(sweep.buffer));
    await writeFile(join(dir, 'child.mjs'), childScript(dir));
    const stdout = await new Promise<string>((resolve, reject) =>
      execFile(process.execPath, ['--experimental-wasm-relaxed-simd', join(dir, 'child.mjs')], { timeout: 60_000, cwd: dir }, (err, out, errOut) =>
        err ? reject(new Error(`child failed: ${err.message}\n${errOut}`)) : resolve(out),
      ),
    );
    report = JSON.parse(stdout);
  }, 90_000);
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('init() picks the relaxed build, with threads the threads-relaxed build; lk.features says so', () => {
    expect(report.probe).toBe(true);
    expect(report.relaxed).toEqual({ simd: true, relaxedSimd: true, threads: 1 });
    expect(report.relaxed2).toEqual({ simd: true, relaxedSimd: true, threads: 2 });
    expect(report.plain).toEqual({ simd: true, relaxedSimd: false, threads: 1 });
    expect(report.sameAcrossThreads).toBe(true);
  });

  for (let i = 0; i < cases.length; i++) {
    const c = cases[i]!;
    it(`${c.name}: both builds within SEMANTICS §11 tolerances`, async () => {
      const { S, zmax } = spreadOf(c.x, c.classes, c.T);
      const refs = {
        softmax: [refSoftmax(c.x, c.classes, c.T), probTol({ C: c.classes, S, zmax, T: c.T })],
        logSoftmax: [refLogSoftmax(c.x, c.classes, c.T), logTol({ C: c.classes, S, zmax, T: c.T })],
        logsumexp: [refLogSumExp(c.x, c.classes, c.T), logTol({ C: c.classes, S, zmax, T: c.T })],
        sigmoid: [refSigmoid(c.x), probTol({ C: 1, S: 0, sigmoid: true })],
        logSigmoid: [refLogSigmoid(c.x), logTol({ C: 1, S: 0 })],
      } as const;
      for (const op of OPS) {
        for (const tag of ['relaxed', 'plain']) {
          const got = new Float32Array((await readFile(join(dir, `case${i}.bin.${op}.${tag}`))).buffer.slice(0));
          expectClose(got, refs[op][0], refs[op][1], `${c.name} ${op} [${tag}]`);
        }
      }
    });
  }

  it('the vector exp of both builds is within 1 ulp of the correctly rounded e^x over the float32 range', async () => {
    for (const file of ['logitkit-relaxed.wasm', 'logitkit.wasm']) {
      const got = new Float32Array((await readFile(join(dir, `sweep.${file}`))).buffer.slice(0));
      const gotBits = new Int32Array(got.buffer);
      const want = new Float32Array(sweep.length);
      for (let i = 0; i < sweep.length; i++) want[i] = Math.exp(sweep[i]!);
      const wantBits = new Int32Array(want.buffer);
      let worst = 0;
      let at = -1;
      for (let i = 0; i < sweep.length; i++) {
        if (Number.isNaN(want[i]!)) {
          expect(Number.isNaN(got[i]!), `exp(NaN) [${file}]`).toBe(true);
          continue;
        }
        const d = Math.abs(gotBits[i]! - wantBits[i]!); // ulps apart (same sign: results are ≥ 0)
        if (d > worst) [worst, at] = [d, i];
      }
      expect(worst, `${file}: worst at x = ${sweep[at]} (got ${got[at]}, want ${want[at]})`).toBeLessThanOrEqual(1);
    }
    // How many of the ~2M results the fused multiply-add changed (0 on a CPU without FMA): for the record only.
    console.info(`relaxed vs plain exp: ${report.differingBits} of ${sweep.length} results differ in their bits`);
  });

});
