/**
 * The relaxed-SIMD build (f32x4.relaxed_madd in the exp polynomial): chosen
 * automatically where relaxed SIMD validates, the plain SIMD build elsewhere,
 * and within SEMANTICS.md §11 tolerances either way.
 *
 * Where the relaxed build runs depends on the runtime: Node ≥ 22 validates
 * relaxed SIMD as shipped (and rejects --experimental-wasm-relaxed-simd), so
 * it runs in this process; Node 20 rejects it unless started with that flag, so
 * this process checks the "not available" side and a child Node 20 started
 * with the flag runs the same probe (helpers/relaxed-probe.ts, bundled from the
 * sources) and hands its outputs back as files. The checks against the float64
 * reference run here either way, with the spec suite's tolerance helpers.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { BUILD_FILES, buildOrder, featuresOf, makeInit, relaxedSimdSupported, type Platform } from '../src/init.js';
import { OPS, probeRelaxed, SWEEP_FILES, TAGS, type ProbeCase, type ProbeResult } from './helpers/relaxed-probe.js';
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

  it('without a flag: Node 20 never reads the relaxed builds and runs plain SIMD; Node ≥ 22 picks the relaxed build', async () => {
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
        expect(featuresOf(lk)).toMatchObject({ simd: true, relaxedSimd: false, threads: 1 });
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

// ------------------------------------------------------------ running the relaxed build

interface Case extends ProbeCase {
  name: string;
  rows: number;
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
const sweep = expSweep();

const major = Number(process.versions.node.split('.')[0]);
// Node ≥ 22 validates relaxed SIMD as shipped (and rejects the old flag); Node 20 needs the flag.
const inProcess = relaxedSimdSupported();
let childDir: string | undefined;

/** Node 20: the same probe in a child started with --experimental-wasm-relaxed-simd, arrays handed back as files. */
async function probeInFlaggedChild(): Promise<ProbeResult> {
  if (major >= 22) {
    throw new Error(`Node ${process.versions.node} does not validate relaxed SIMD in-process; Node ≥ 22 should (and rejects --experimental-wasm-relaxed-simd)`);
  }
  const dir = (childDir = await mkdtemp(join(tmpdir(), 'logitkit-relaxed-')));
  await writeFile(join(dir, 'entry.ts'), `export { probeRelaxed } from ${JSON.stringify(join(root, 'test/helpers/relaxed-probe.ts'))};\n`);
  const { build } = await import('rolldown');
  await build({
    input: join(dir, 'entry.ts'),
    platform: 'node',
    logLevel: 'silent',
    resolve: { extensionAlias: { '.js': ['.ts', '.js'] } },
    output: { file: join(dir, 'probe.mjs'), format: 'esm' },
  });
  await writeFile(join(dir, 'cases.json'), JSON.stringify(cases.map((c, i) => ({ file: `case${i}.bin`, classes: c.classes, T: c.T }))));
  for (let i = 0; i < cases.length; i++) await writeFile(join(dir, `case${i}.bin`), new Uint8Array(cases[i]!.x.buffer));
  await writeFile(join(dir, 'sweep.bin'), new Uint8Array(sweep.buffer));
  await writeFile(
    join(dir, 'child.mjs'),
    `import { probeRelaxed } from './probe.mjs';
import { readFile, writeFile } from 'node:fs/promises';
const dir = ${JSON.stringify(dir)};
const f32 = async (f) => new Float32Array((await readFile(dir + '/' + f)).buffer.slice(0));
const meta = JSON.parse(await readFile(dir + '/cases.json', 'utf8'));
const cases = [];
for (const c of meta) cases.push({ classes: c.classes, T: c.T, x: await f32(c.file) });
const r = await probeRelaxed(${JSON.stringify(buildDir)}, cases, await f32('sweep.bin'));
const bytes = (a) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
for (let i = 0; i < r.outputs.length; i++) for (const [key, y] of Object.entries(r.outputs[i])) await writeFile(dir + '/out' + i + '.' + key, bytes(y));
for (const [file, y] of Object.entries(r.sweep)) await writeFile(dir + '/sweep.' + file, bytes(y));
console.log(JSON.stringify(r.report));
`,
  );
  const stdout = await new Promise<string>((resolve, reject) =>
    execFile(process.execPath, ['--experimental-wasm-relaxed-simd', join(dir, 'child.mjs')], { timeout: 90_000, cwd: dir }, (err, out, errOut) =>
      err ? reject(new Error(`child failed: ${err.message}\n${errOut}`)) : resolve(out),
    ),
  );
  const f32 = async (f: string) => new Float32Array((await readFile(join(dir, f))).buffer.slice(0));
  const outputs: Record<string, Float32Array>[] = [];
  for (let i = 0; i < cases.length; i++) {
    const out: Record<string, Float32Array> = {};
    for (const op of OPS) for (const tag of TAGS) out[`${op}.${tag}`] = await f32(`out${i}.${op}.${tag}`);
    outputs.push(out);
  }
  const exps = {} as ProbeResult['sweep'];
  for (const file of SWEEP_FILES) exps[file] = await f32(`sweep.${file}`);
  return { report: JSON.parse(stdout), outputs, sweep: exps };
}

// Computed once and awaited by every test below: a probe that fails (bad flag, child crash) fails
// each of them, where a failing beforeAll would have left them all reported as skipped.
let probe: Promise<ProbeResult> | undefined;
const probed = () => (probe ??= inProcess ? probeRelaxed(buildDir, cases, sweep) : probeInFlaggedChild());

describe(inProcess ? 'relaxed SIMD in this process (validates without a flag: Node ≥ 22)' : 'relaxed SIMD in a child Node started with --experimental-wasm-relaxed-simd (Node 20)', { timeout: 150_000 }, () => {
  afterAll(async () => {
    if (childDir) await rm(childDir, { recursive: true, force: true });
  });

  it('init() picks the relaxed build, with threads the threads-relaxed build; lk.features says so', async () => {
    const { report } = await probed();
    expect(report.probe).toBe(true);
    expect(report.relaxed).toMatchObject({ simd: true, relaxedSimd: true, threads: 1 });
    expect(report.relaxed2).toMatchObject({ simd: true, relaxedSimd: true, threads: 2 });
    expect(report.plain).toMatchObject({ simd: true, relaxedSimd: false, threads: 1 });
    expect(report.sameAcrossThreads).toBe(true);
  });

  for (let i = 0; i < cases.length; i++) {
    const c = cases[i]!;
    it(`${c.name}: both builds within SEMANTICS §11 tolerances`, async () => {
      const { outputs } = await probed();
      const { S, zmax } = spreadOf(c.x, c.classes, c.T);
      const refs = {
        softmax: [refSoftmax(c.x, c.classes, c.T), probTol({ C: c.classes, S, zmax, T: c.T })],
        logSoftmax: [refLogSoftmax(c.x, c.classes, c.T), logTol({ C: c.classes, S, zmax, T: c.T })],
        logsumexp: [refLogSumExp(c.x, c.classes, c.T), logTol({ C: c.classes, S, zmax, T: c.T })],
        sigmoid: [refSigmoid(c.x), probTol({ C: 1, S: 0, sigmoid: true })],
        logSigmoid: [refLogSigmoid(c.x), logTol({ C: 1, S: 0 })],
      } as const;
      for (const op of OPS) {
        for (const tag of TAGS) {
          const got = outputs[i]![`${op}.${tag}`]!;
          expectClose(got, refs[op][0], refs[op][1], `${c.name} ${op} [${tag}]`);
        }
      }
    });
  }

  it('the vector exp of both builds is within 1 ulp of the correctly rounded e^x over the float32 range', async () => {
    const { report, sweep: exps } = await probed();
    for (const file of SWEEP_FILES) {
      const got = exps[file];
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
