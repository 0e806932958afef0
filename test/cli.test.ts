// The `logitkit` command on real .npy files written here; every figure is compared with a float64
// reference computed in the test. Most runs call the CLI's main() in this process (helpers/cli.ts);
// the end-to-end runs spawn the built bin/logitkit.js, which needs dist/ (npm test builds it in pretest).
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { crc32 } from 'node:zlib';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, spawnCli, type CliRun } from './helpers/cli.js';
import { encodeNpyData, floatToHalfBits, readNpyFloat32, readNpyInt32, writeNpyRaw, type NpyWriteDtype } from '../src/io/npy.js';
import {
  classifierData,
  refArgmax,
  refFitTemperature,
  refLogSigmoid,
  refLogSoftmax,
  refLogSumExp,
  refNll,
  refScore,
  refSigmoid,
  refSoftmax,
  refTopk,
  temperatureAccepted,
} from './reference/index.js';

const root = join(import.meta.dirname, '..');
const bin = join(root, 'bin', 'logitkit.js');
const dir = mkdtempSync(join(tmpdir(), 'lk-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The CLI's main() in this process, in `dir`; spawnCli() for the end-to-end runs below. */
const run = (...args: string[]): Promise<CliRun> => runCli(args, { cwd: dir });
async function runJson(...args: string[]): Promise<Record<string, any>> {
  const r = await run(...args, '--json');
  expect(r.stderr, r.stderr).toBe('');
  expect(r.code).toBe(0);
  return JSON.parse(r.stdout);
}
const sha = (p: string) => createHash('sha256').update(readFileSync(p)).digest('hex');
const readJson = (f: string) => JSON.parse(readFileSync(join(dir, f), 'utf8'));

/** A one-member ZIP with the member stored uncompressed, as np.savez writes it. */
function zipOf(name: string, data: Buffer): Buffer {
  const n = Buffer.from(name, 'latin1');
  const crc = crc32(data);
  const local = Buffer.alloc(30);
  local.writeUInt32LE(0x04034b50, 0);
  local.writeUInt16LE(20, 4);
  local.writeUInt32LE(crc, 14);
  local.writeUInt32LE(data.length, 18);
  local.writeUInt32LE(data.length, 22);
  local.writeUInt16LE(n.length, 26);
  const central = Buffer.alloc(46);
  central.writeUInt32LE(0x02014b50, 0);
  central.writeUInt16LE(20, 4);
  central.writeUInt16LE(20, 6);
  central.writeUInt32LE(crc, 16);
  central.writeUInt32LE(data.length, 20);
  central.writeUInt32LE(data.length, 24);
  central.writeUInt16LE(n.length, 28);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(1, 8);
  end.writeUInt16LE(1, 10);
  end.writeUInt32LE(46 + n.length, 12);
  end.writeUInt32LE(30 + n.length + data.length, 16);
  return Buffer.concat([local, n, data, central, n, end]);
}

/** The values a file of this dtype actually holds (what the reference must be computed from). */
function stored(descr: string, v: ArrayLike<number>): Float64Array {
  if (descr.endsWith('f8')) return Float64Array.from(v, Math.fround); // the CLI computes in float32
  if (descr.endsWith('f4')) return Float64Array.from(v, Math.fround);
  return Float64Array.from(v, (x) => {
    const h = floatToHalfBits(x);
    const e = (h >> 10) & 31;
    const m = h & 1023;
    const mag = e === 0 ? m * 2 ** -24 : e === 31 ? (m ? NaN : Infinity) : (1 + m / 1024) * 2 ** (e - 15);
    return h & 0x8000 ? -mag : mag;
  });
}

const C = 7;
const R = 1500;
const data = classifierData(R, C, 99);
// float64 logits that are not float32 values, so the f8 files really carry float64 data
const x64 = Float64Array.from(data.x, (v, i) => v + (i % 3) * 1e-9);
const y = data.y;

function writeLogits(name: string, descr: NpyWriteDtype, values: ArrayLike<number> = x64, rows = R): string {
  const p = join(dir, name);
  writeNpyRaw(p, descr, [rows, C], encodeNpyData(descr, values));
  return p;
}
function writeLabels(name: string, descr: NpyWriteDtype, values: ArrayLike<number> = y): string {
  const p = join(dir, name);
  writeNpyRaw(p, descr, [values.length], encodeNpyData(descr, values));
  return p;
}

function expectScoreMatches(j: Record<string, any>, xs: ArrayLike<number>, ys: ArrayLike<number>, o: { T?: number; bins?: number; k?: number } = {}) {
  const ref = refScore(xs, C, ys, o);
  const near = (got: number, exp: number, tol: number, what: string) => expect(Math.abs(got - exp), `${what}: ${got} vs ${exp}`).toBeLessThanOrEqual(tol);
  expect(j.rows).toBe(ref.rows);
  expect(j.classes).toBe(C);
  near(j.nll, ref.nll, 2e-6 * Math.max(1, ref.nll), 'nll');
  expect(j.accuracy).toBe(ref.accuracy);
  expect(j.topk).toEqual({ k: Math.min(o.k ?? 5, C), accuracy: ref.topk });
  near(j.perplexity, Math.exp(ref.nll), 1e-5 * Math.exp(ref.nll), 'perplexity');
  near(j.ece, ref.ece, 1e-5, 'ece');
  near(j.mce, ref.mce, 1e-5, 'mce');
  near(j.brier, ref.brier, 1e-6, 'brier');
  near(j.meanEntropy, ref.meanEntropy, 2e-6, 'meanEntropy');
  expect(j.perClass).toHaveLength(C);
  j.perClass.forEach((c: any, k: number) => {
    expect(c.support).toBe(ref.support[k]);
    expect(c.predicted).toBe(ref.predicted[k]);
    expect(c.accuracy).toBe(ref.support[k] ? ref.classCorrect[k] / ref.support[k] : null);
    near(c.meanProb, ref.meanProb[k], 1e-6, `meanProb[${k}]`);
    near(c.meanLogit, ref.meanLogit[k], 1e-6 * Math.max(1, Math.abs(ref.meanLogit[k])), `meanLogit[${k}]`);
  });
  expect(j.reliability.map((b: any) => b.count)).toEqual(ref.binCount);
}

beforeAll(() => {
  if (!existsSync(join(root, 'dist', 'cli', 'main.js'))) throw new Error('dist/ is not built: run `npm run build` (npm test does it in pretest)');
});

describe('logitkit score: every input flavour against the float64 reference', () => {
  const labelFlavours: NpyWriteDtype[] = ['<i4', '<i8', '>i8', '|u1'];
  const logitFlavours: NpyWriteDtype[] = ['<f4', '>f4', '<f8', '>f8', '<f2', '>f2'];
  logitFlavours.forEach((descr, i) => {
    const ld = labelFlavours[i % labelFlavours.length];
    it(`logits ${descr}, labels ${ld}`, async () => {
      const lp = writeLogits(`x${i}.npy`, descr);
      const yp = writeLabels(`y${i}.npy`, ld);
      const before = [sha(lp), sha(yp)];
      const j = await runJson('score', lp, '--labels', yp);
      expectScoreMatches(j, stored(descr, x64), y);
      expect(j.temperature).toBeUndefined();
      expect(j.stats.format).toBe('logitkit-score-stats/1');
      expect([sha(lp), sha(yp)]).toEqual(before); // inputs untouched
    });
  });

  it('--temperature, --bins, --topk and --backend js', async () => {
    const lp = writeLogits('t.npy', '<f4');
    const yp = writeLabels('ty.npy', '<i4');
    for (const backend of ['wasm', 'js']) {
      const j = await runJson('score', lp, '--labels', yp, '--temperature', '2.5', '--bins', '10', '--topk', '3', '--backend', backend);
      expect(j.backend).toBe(backend);
      expect(j.temperature).toBe(2.5);
      expect(j.bins).toBe(10);
      expectScoreMatches(j, stored('<f4', x64), y, { T: 2.5, bins: 10, k: 3 });
      // "before" is T = 1
      expect(Math.abs(j.temperatureScaling.nllBefore - refNll(stored('<f4', x64), C, y, 1))).toBeLessThan(1e-5);
    }
  });

  it('--fit-temperature: figures at the fitted T*, before/after pair', async () => {
    const lp = writeLogits('fit.npy', '<f4');
    const yp = writeLabels('fity.npy', '<i8');
    const xs = stored('<f4', x64);
    const j = await runJson('score', lp, '--labels', yp, '--fit-temperature');
    const ref = refFitTemperature(xs, C, y);
    expect(temperatureAccepted(j.temperature, xs, C, y, ref)).toBe(true);
    expect(j.temperatureFitted).toBe(true);
    expectScoreMatches(j, xs, y, { T: j.temperature });
    const ts = j.temperatureScaling;
    expect(ts.temperature).toBe(j.temperature);
    expect(ts.nllAfter).toBe(j.nll);
    expect(ts.nllAfter).toBeLessThan(ts.nllBefore);
    expect(Math.abs(ts.eceBefore - refScore(xs, C, y).ece)).toBeLessThan(1e-5);
  });

  it('several logits/labels pairs score as one dataset', async () => {
    const xs = stored('<f4', x64);
    const a = writeLogits('pa.npy', '<f4', x64.subarray(0, 600 * C), 600);
    const b = writeLogits('pb.npy', '>f8', x64.subarray(600 * C), R - 600);
    const ya = writeLabels('pya.npy', '<i4', y.subarray(0, 600));
    const yb = writeLabels('pyb.npy', '<i8', y.subarray(600));
    const j = await runJson('score', a, b, '--labels', ya, '--labels', yb);
    expectScoreMatches(j, xs, y);
  });
});

describe('logitkit score: special values', () => {
  it('a NaN row makes NLL/ECE/Brier NaN (null in JSON) but not accuracy; it is counted and noted', async () => {
    const xs = Float64Array.from(x64.subarray(0, 20 * C));
    xs[3 * C + 2] = NaN;
    const lp = writeLogits('nanrow.npy', '<f4', xs, 20);
    const yp = writeLabels('nanrowy.npy', '<i4', y.subarray(0, 20));
    const j = await runJson('score', lp, '--labels', yp);
    expect(j.nanRows).toBe(1);
    for (const key of ['nll', 'ece', 'mce', 'brier', 'meanEntropy', 'perplexity']) expect(j[key], key).toBeNull();
    // argmax of a NaN row is its first NaN (SEMANTICS §8): column 2
    const pred = refArgmax(stored('<f4', xs), C);
    expect(pred[3]).toBe(2);
    const correct = pred.filter((p, r) => p === y[r]).length;
    expect(j.accuracy).toBe(correct / 20);
    const human = await run('score', lp, '--labels', yp);
    expect(human.code).toBe(0);
    expect(human.stderr).toMatch(/note: 1 row has NaN/);
  });
});

describe('JSON contract (DESIGN.md "The command line")', () => {
  it('score --json and calibrate --json carry the documented keys', async () => {
    const lp = writeLogits('k.npy', '<f4');
    const yp = writeLabels('ky.npy', '<i4');
    const j = await runJson('score', lp, '--labels', yp, '--temperature', '1.5');
    for (const key of ['rows', 'classes', 'nll', 'accuracy', 'topk', 'perplexity', 'ece', 'mce', 'brier', 'meanEntropy', 'perClass', 'temperature']) {
      expect(j, key).toHaveProperty(key);
    }
    expect(Object.keys(j.topk).sort()).toEqual(['accuracy', 'k']);
    for (const key of ['support', 'accuracy', 'predicted', 'meanProb', 'meanLogit']) expect(j.perClass[0], key).toHaveProperty(key);
    const c = await runJson('calibrate', lp, '--labels', yp);
    for (const key of ['temperature', 'nllBefore', 'nllAfter', 'eceBefore', 'eceAfter']) expect(typeof c[key], key).toBe('number');
  });

  it('merge --report writes the report of the merged figures', async () => {
    for (const [part, a, b] of [['a', 0, 700], ['b', 700, R]] as const) {
      const lp = writeLogits(`mr${part}.npy`, '<f4', x64.subarray(a * C, b * C), b - a);
      const yp = writeLabels(`mry${part}.npy`, '<i4', y.subarray(a, b));
      writeFileSync(join(dir, `mr${part}.json`), (await run('score', lp, '--labels', yp, '--json', '--temperature', '2')).stdout);
    }
    const r = await run('merge', 'mra.json', 'mrb.json', '--report', 'merged.md');
    expect(r.code, r.stderr).toBe(0);
    const md = readFileSync(join(dir, 'merged.md'), 'utf8');
    expect(md).toContain(`${R} rows × ${C} classes`);
    expect(md).toContain('## Temperature scaling');
  });
});

describe('logitkit calibrate', () => {
  it('prints temperature, NLL and ECE before and after', async () => {
    const lp = writeLogits('c.npy', '<f4');
    const yp = writeLabels('cy.npy', '<i4');
    const xs = stored('<f4', x64);
    const j = await runJson('calibrate', lp, '--labels', yp);
    const ref = refFitTemperature(xs, C, y);
    expect(temperatureAccepted(j.temperature, xs, C, y, ref)).toBe(true);
    expect(Math.abs(j.nllBefore - refNll(xs, C, y, 1))).toBeLessThan(1e-5);
    expect(Math.abs(j.nllAfter - ref.nll)).toBeLessThan(1e-5);
    expect(Math.abs(j.eceBefore - refScore(xs, C, y).ece)).toBeLessThan(1e-5);
    expect(Math.abs(j.eceAfter - refScore(xs, C, y, { T: j.temperature }).ece)).toBeLessThan(1e-5);
    const human = await run('calibrate', lp, '--labels', yp);
    expect(human.code).toBe(0);
    expect(human.stdout).toBe('');
    expect(human.stderr).toMatch(/fitted temperature\s+T = /);
  });
});

describe('logitkit calibrate: passes over the file', () => {
  // 40,000 × 10 float32 = 1.6 MB: one 4 MB block by default, two with --block-mb 1.
  const big = classifierData(40_000, 10, 21, 2);
  const lp = () => {
    const p = join(dir, 'passes.npy');
    if (!existsSync(p)) writeNpyRaw(p, '<f4', [40_000, 10], encodeNpyData('<f4', big.x));
    return p;
  };
  const yp = () => {
    const p = join(dir, 'passes-y.npy');
    if (!existsSync(p)) writeNpyRaw(p, '<i4', [40_000], encodeNpyData('<i4', big.y));
    return p;
  };

  it('a file of one block is read once (the Newton steps run on the block in memory)', async () => {
    const j = await runJson('calibrate', lp(), '--labels', yp());
    expect(j.passes).toBe(1);
    const ref = refFitTemperature(Float64Array.from(big.x), 10, big.y);
    expect(temperatureAccepted(j.temperature, Float64Array.from(big.x), 10, big.y, ref)).toBe(true);
  });

  it('a larger file, warm-started from its first block, takes 2–4 passes (README) and the same T', async () => {
    const one = await runJson('calibrate', lp(), '--labels', yp());
    const j = await runJson('calibrate', lp(), '--labels', yp(), '--block-mb', '1');
    expect(j.passes).toBeGreaterThanOrEqual(2);
    expect(j.passes).toBeLessThanOrEqual(4);
    expect(Math.abs(j.temperature - one.temperature) / one.temperature).toBeLessThan(1e-6);
  });

  it('a non-finite logit in a one-block file still names the file and row', async () => {
    const xs = Float64Array.from(big.x.subarray(0, 100 * 10));
    xs[57 * 10 + 3] = Infinity;
    const r = await run('calibrate', writeNpyPath('passes-inf.npy', '<f4', [100, 10], xs), '--labels', writeNpyPath('passes-inf-y.npy', '<i4', [100], big.y.subarray(0, 100)));
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/non_finite_input: logit Infinity at row 57 of .*passes-inf\.npy, column 3/);
  });
});

function writeNpyPath(name: string, descr: NpyWriteDtype, shape: number[], values: ArrayLike<number>): string {
  const p = join(dir, name);
  writeNpyRaw(p, descr, shape, encodeNpyData(descr, values));
  return p;
}

describe('logitkit merge', () => {
  it('merging shard JSONs equals a single run over all rows', async () => {
    const xs = stored('<f4', x64);
    const cuts = [0, 1, 500, 1100, R];
    const files: string[] = [];
    for (let s = 0; s < cuts.length - 1; s++) {
      const a = cuts[s];
      const b = cuts[s + 1];
      const lp = writeLogits(`m${s}.npy`, '<f4', x64.subarray(a * C, b * C), b - a);
      const yp = writeLabels(`my${s}.npy`, '<i8', y.subarray(a, b));
      const r = await run('score', lp, '--labels', yp, '--json', '--temperature', '1.3');
      expect(r.code).toBe(0);
      writeFileSync(join(dir, `m${s}.json`), r.stdout);
      files.push(join(dir, `m${s}.json`));
    }
    const merged = await runJson('merge', ...files);
    const whole = await runJson('score', writeLogits('mall.npy', '<f4'), '--labels', writeLabels('myall.npy', '<i4'), '--temperature', '1.3');
    for (const key of ['rows', 'accuracy', 'topk', 'temperature']) expect(merged[key], key).toEqual(whole[key]);
    // Sums add exactly; the residue is float64 addition order and, on wasm, the last bit of the 1-row
    // shard's probabilities (a 1-row call vs the same row in a batch): ~1e-9 relative at most.
    for (const key of ['nll', 'perplexity', 'ece', 'mce', 'brier', 'meanEntropy']) {
      expect(Math.abs(merged[key] - whole[key]) / Math.abs(whole[key]), key).toBeLessThan(1e-8);
    }
    merged.perClass.forEach((c: any, k: number) => {
      expect(c.support).toBe(whole.perClass[k].support);
      expect(c.predicted).toBe(whole.perClass[k].predicted);
      expect(Math.abs(c.meanProb - whole.perClass[k].meanProb)).toBeLessThan(1e-10);
    });
    expect(Math.abs(merged.temperatureScaling.nllBefore - whole.temperatureScaling.nllBefore)).toBeLessThan(1e-9);
    expectScoreMatches(merged, xs, y, { T: 1.3 });
    // merge output can itself be merged (associative)
    writeFileSync(join(dir, 'm01.json'), JSON.stringify(await runJson('merge', files[0], files[1])));
    const again = await runJson('merge', join(dir, 'm01.json'), files[2], files[3]);
    expect(again.accuracy).toBe(whole.accuracy);
    expect(Math.abs(again.nll - whole.nll) / whole.nll).toBeLessThan(1e-9);
  });

  it('each score --json carries a fingerprint of its data: the same for a renamed copy, another float dtype or block size, either backend', async () => {
    const a = writeLogits('fa.npy', '<f4', x64.subarray(0, 400 * C), 400);
    const ya = writeLabels('fya.npy', '<i4', y.subarray(0, 400));
    const j = await runJson('score', a, '--labels', ya);
    expect(j.fingerprint).toMatch(/^lkfp2:[0-9a-f]{32}$/);
    expect(j.inputs).toEqual([{ logits: a, labels: ya, fingerprint: j.fingerprint }]);
    expect((await runJson('score', a, '--labels', ya, '--backend', 'js')).fingerprint).toBe(j.fingerprint);
    // float32 values stored as float64, int32 labels as int64: the same scored data
    const a8 = writeLogits('fa8.npy', '>f8', Float64Array.from(x64.subarray(0, 400 * C), Math.fround), 400);
    const ya8 = writeLabels('fya8.npy', '<i8', y.subarray(0, 400));
    expect((await runJson('score', a8, '--labels', ya8, '--block-mb', '1')).fingerprint).toBe(j.fingerprint);
    // one changed label, one changed logit bit, one row fewer: different
    const ya2 = writeLabels('fya2.npy', '<i4', Int32Array.from(y.subarray(0, 400), (v, i) => (i === 399 ? (v + 1) % C : v)));
    expect((await runJson('score', a, '--labels', ya2)).fingerprint).not.toBe(j.fingerprint);
    const xb = Float64Array.from(x64.subarray(0, 400 * C), Math.fround);
    xb[5] = xb[5] + Math.abs(xb[5]) * 2 ** -23;
    expect((await runJson('score', writeLogits('fb.npy', '<f4', xb, 400), '--labels', ya)).fingerprint).not.toBe(j.fingerprint);
    const a399 = writeLogits('fa399.npy', '<f4', x64.subarray(0, 399 * C), 399);
    expect((await runJson('score', a399, '--labels', writeLabels('fya399.npy', '<i4', y.subarray(0, 399)))).fingerprint).not.toBe(j.fingerprint);
    // two shards in one run: one fingerprint each, and one for the set
    const b = writeLogits('fbb.npy', '<f4', x64.subarray(400 * C), R - 400);
    const yb = writeLabels('fybb.npy', '<i4', y.subarray(400));
    const two = await runJson('score', a, b, '--labels', ya, '--labels', yb);
    expect(two.inputs[0].fingerprint).toBe(j.fingerprint);
    expect(two.inputs[1].fingerprint).toBe((await runJson('score', b, '--labels', yb)).fingerprint);
    expect(two.fingerprint).not.toBe(j.fingerprint);
    expect((await runJson('score', b, a, '--labels', yb, '--labels', ya)).fingerprint).toBe(two.fingerprint);
  });

  it('refuses a shard it has already counted, naming both files; distinct shards merge as before', async () => {
    const part = async (name: string, a: number, b: number) => {
      const lp = writeLogits(`${name}.npy`, '<f4', x64.subarray(a * C, b * C), b - a);
      const yp = writeLabels(`${name}-y.npy`, '<i4', y.subarray(a, b));
      writeFileSync(join(dir, `${name}.json`), (await run('score', lp, '--labels', yp, '--json')).stdout);
      return lp;
    };
    await part('dup0', 0, 700);
    await part('dup1', 700, R);
    // the same data under another name
    const copy = join(dir, 'dup0-copy.npy');
    writeFileSync(copy, readFileSync(join(dir, 'dup0.npy')));
    writeFileSync(join(dir, 'dup0c.json'), (await run('score', copy, '--labels', join(dir, 'dup0-y.npy'), '--json')).stdout);

    let r = await run('merge', 'dup0.json', 'dup0.json');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^logitkit: dup0\.json: given more than once; its shard .*dup0\.npy \+ .*dup0-y\.npy would be counted twice\n$/);
    r = await run('merge', 'dup0.json', 'dup1.json', 'dup0c.json');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^logitkit: dup0c\.json: shard .*dup0-copy\.npy \+ .*dup0-y\.npy is already counted from dup0\.json \(as .*dup0\.npy \+ .*dup0-y\.npy\): same data/);
    expect(r.stdout).toBe('');
    // a merged output and one of its parts
    writeFileSync(join(dir, 'dup01.json'), JSON.stringify(await runJson('merge', 'dup0.json', 'dup1.json')));
    r = await run('merge', 'dup01.json', 'dup1.json');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/dup1\.json: shard .*dup1\.npy \+ .*dup1-y\.npy is already counted from dup01\.json/);

    const merged = await runJson('merge', 'dup0.json', 'dup1.json');
    expectScoreMatches(merged, stored('<f4', x64), y);
    expect(merged.inputs.map((i: any) => i.fingerprint)).toEqual([readJson('dup0.json').fingerprint, readJson('dup1.json').fingerprint]);
    expect((await runJson('merge', 'dup1.json', 'dup0.json')).fingerprint).toBe(merged.fingerprint);
    // JSON written before fingerprints existed still merges, unchecked
    const old = (f: string) => {
      const j = readJson(f);
      delete j.fingerprint;
      for (const i of j.inputs) delete i.fingerprint;
      writeFileSync(join(dir, `old-${f}`), JSON.stringify(j));
      return `old-${f}`;
    };
    const legacy = await runJson('merge', old('dup0.json'), old('dup1.json'));
    expect(legacy.accuracy).toBe(merged.accuracy);
    expect(legacy.fingerprint).toBeUndefined();
  });

  it('fingerprints of two versions: merged with a note on stderr; a shard counted twice within one version is still refused', async () => {
    const part = async (name: string, a: number, b: number) => {
      const lp = writeLogits(`${name}.npy`, '<f4', x64.subarray(a * C, b * C), b - a);
      const yp = writeLabels(`${name}-y.npy`, '<i4', y.subarray(a, b));
      writeFileSync(join(dir, `${name}.json`), (await run('score', lp, '--labels', yp, '--json')).stdout);
      return { a, b };
    };
    // the same output as a logitkit before version 2 wrote it: SHA-256 of the same parts
    const asVersion1 = (name: string, { a, b }: { a: number; b: number }, as = `v1-${name}.json`) => {
      const bytes = (v: Float32Array | Int32Array) => createHash('sha256').update(new Uint8Array(v.buffer, v.byteOffset, v.byteLength)).digest('hex');
      const head = `logitkit fingerprint 1: ${b - a} x ${C} float32 logits, int32 labels`;
      const fp = `sha256:${createHash('sha256').update([head, bytes(Float32Array.from(x64.subarray(a * C, b * C))), bytes(y.subarray(a, b))].join('\n')).digest('hex')}`;
      const j = readJson(`${name}.json`);
      j.fingerprint = fp;
      j.inputs[0].fingerprint = fp;
      writeFileSync(join(dir, as), JSON.stringify(j));
      return as;
    };
    const m0 = await part('mv0', 0, 500);
    const m1 = await part('mv1', 500, 1000);
    await part('mv2', 1000, R);
    const v0 = asVersion1('mv0', m0);
    let r = await run('merge', v0, 'mv1.json', 'mv2.json', '--json');
    expect(r.code).toBe(0);
    expect(r.stderr).toBe(`note: the shards' fingerprints are of 2 versions (version 1 in ${v0}, version 2 in mv1.json): a shard given once in each is not recognised as counted twice; score the older files again to have every shard checked\n`);
    const mixed = JSON.parse(r.stdout);
    expect(mixed.fingerprint).toMatch(/^lkfp2:[0-9a-f]{32}$/);
    expect(mixed.accuracy).toBe((await runJson('merge', 'mv0.json', 'mv1.json', 'mv2.json')).accuracy);
    // one version throughout: no note
    r = await run('merge', 'mv0.json', 'mv1.json');
    expect(r.code).toBe(0);
    expect(r.stderr).not.toMatch(/versions/);
    // a duplicate within either version, beside a file of the other
    r = await run('merge', v0, asVersion1('mv0', m0, 'v1-mv0-again.json'), 'mv1.json');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/v1-mv0-again\.json: shard .*mv0\.npy \+ .*mv0-y\.npy is already counted from v1-mv0\.json: same data/);
    r = await run('merge', v0, 'mv1.json', 'mv2.json', 'mv1.json');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/mv1\.json: shard .* is already counted from mv1\.json|mv1\.json: given more than once/);
    r = await run('merge', asVersion1('mv1', m1), 'mv0.json', 'mv1.json', 'mv0.json');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/mv0\.json: given more than once/);
  });

  it('refuses shards scored at different temperatures or settings, and non-score JSON', async () => {
    // Three different shards, so that only the settings differ (the same data twice is refused first).
    const shard = (k: number) => {
      const [a, b] = [k * 500, (k + 1) * 500];
      return [writeLogits(`d${k}.npy`, '<f4', x64.subarray(a * C, b * C), b - a), '--labels', writeLabels(`dy${k}.npy`, '<i4', y.subarray(a, b))];
    };
    writeFileSync(join(dir, 'd1.json'), (await run('score', ...shard(0), '--json')).stdout);
    writeFileSync(join(dir, 'd2.json'), (await run('score', ...shard(1), '--json', '--fit-temperature')).stdout);
    writeFileSync(join(dir, 'd3.json'), (await run('score', ...shard(2), '--json', '--bins', '10')).stdout);
    writeFileSync(join(dir, 'junk.json'), '{"rows": 3}');
    let r = await run('merge', 'd1.json', 'd2.json');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/temperatures fitted per shard cannot be merged/);
    r = await run('merge', 'd1.json', 'd3.json');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/d3\.json: bins = 10 but d1\.json has 15/);
    r = await run('merge', 'junk.json');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/junk\.json: has no "stats"/);
  });
});

describe('logitkit reports', () => {
  it('--report FILE.html: one self-contained page with the diagrams', async () => {
    const lp = writeLogits('r.npy', '<f4');
    const yp = writeLabels('ry.npy', '<i4');
    const r = await run('score', lp, '--labels', yp, '--report', 'report.html');
    expect(r.code).toBe(0);
    const html = readFileSync(join(dir, 'report.html'), 'utf8');
    expect(html.startsWith('<!doctype html>')).toBe(true);
    expect(html.match(/<svg /g)!.length).toBeGreaterThanOrEqual(4); // 2 reliability + histogram + per class
    expect(html).toContain('Before: T = 1');
    expect(html).toMatch(/After temperature scaling: T = \d/);
    expect(html).not.toMatch(/<script|https?:\/\/(?!www\.w3\.org)/); // no scripts, no external resources
    for (let k = 0; k < C; k++) expect(html).toContain(`class ${k}`);
  });

  it('--report FILE.md: Markdown tables', async () => {
    const lp = writeLogits('rm.npy', '<f4');
    const yp = writeLabels('rmy.npy', '<i4');
    const j = await runJson('score', lp, '--labels', yp, '--report', 'report.md', '--fit-temperature');
    const md = readFileSync(join(dir, 'report.md'), 'utf8');
    expect(md).toContain('| metric | value |');
    expect(md).toContain(`| accuracy | ${(j.accuracy * 100).toFixed(2)}% |`);
    expect(md).toContain('## Temperature scaling');
    expect(md).toContain('| class | support | recall | precision | F1 | predicted |');
    expect(md.split('\n').filter((l) => /^\| \d+ \| \d+ \| [\d.]+% \|/.test(l))).toHaveLength(C); // the per-class rows (support, then recall)
  });
});

describe('logitkit transforms', () => {
  const small = classifierData(300, C, 5);
  const inp = () => {
    const p = join(dir, 'tin.npy');
    if (!existsSync(p)) writeNpyRaw(p, '>f4', [300, C], encodeNpyData('>f4', small.x));
    return p;
  };
  const near = (got: ArrayLike<number>, exp: ArrayLike<number>, rtol: number, atol: number) => {
    expect(got.length).toBe(exp.length);
    for (let i = 0; i < exp.length; i++) expect(Math.abs(got[i] - exp[i]), `[${i}] ${got[i]} vs ${exp[i]}`).toBeLessThanOrEqual(atol + rtol * Math.abs(exp[i]));
  };

  it('softmax, softmax --log --temperature, logsumexp, sigmoid, argmax, topk', async () => {
    const x = small.x;
    const before = sha(inp());
    const ok = async (...a: string[]) => {
      const r = await run(...a, '--block-mb', '1');
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout + r.stderr).toBe('');
    };
    await ok('softmax', inp(), '-o', 'sm.npy');
    let o = readNpyFloat32(join(dir, 'sm.npy'));
    expect(o.shape).toEqual([300, C]);
    near(o.data, refSoftmax(x, C), 1e-5, 1e-36);
    await ok('softmax', inp(), '-o', 'lsm.npy', '--log', '--temperature', '2');
    near(readNpyFloat32(join(dir, 'lsm.npy')).data, refLogSoftmax(x, C, 2), 1e-5, 1e-5);
    await ok('logsumexp', inp(), '-o', 'lse.npy');
    o = readNpyFloat32(join(dir, 'lse.npy'));
    expect(o.shape).toEqual([300]);
    near(o.data, refLogSumExp(x, C), 1e-5, 1e-5);
    await ok('sigmoid', inp(), '-o', 'sig.npy');
    near(readNpyFloat32(join(dir, 'sig.npy')).data, refSigmoid(x), 1e-5, 1e-38);
    await ok('sigmoid', inp(), '-o', 'lsig.npy', '--log');
    near(readNpyFloat32(join(dir, 'lsig.npy')).data, refLogSigmoid(x), 1e-5, 1e-6);
    await ok('argmax', inp(), '-o', 'am.npy');
    const am = readNpyInt32(join(dir, 'am.npy'));
    expect(am.shape).toEqual([300]);
    expect(Array.from(am.data)).toEqual(refArgmax(x, C));
    await ok('topk', inp(), '-o', 'tk.npy', '--k', '3', '--values', 'tkv.npy');
    const tk = readNpyInt32(join(dir, 'tk.npy'));
    expect(tk.shape).toEqual([300, 3]);
    const ref = refTopk(x, C, 3);
    expect(Array.from(tk.data)).toEqual(ref.indices);
    expect(Array.from(readNpyFloat32(join(dir, 'tkv.npy')).data)).toEqual(ref.values);
    expect(sha(inp())).toBe(before);
    expect(readdirSync(dir).filter((n) => n.endsWith('.tmp'))).toEqual([]);
  });

  it('a failed write leaves no output and keeps an existing file intact', async () => {
    writeFileSync(join(dir, 'keep.npy'), 'previous');
    const r = await run('topk', inp(), '-o', 'keep.npy', '--values', join(dir, 'no-such-dir', 'v.npy'));
    expect(r.code).toBe(1);
    expect(readFileSync(join(dir, 'keep.npy'), 'utf8')).toBe('previous');
    expect(readdirSync(dir).filter((n) => n.endsWith('.tmp'))).toEqual([]);
  });
});

describe('logitkit errors: exit codes and one-line messages', () => {
  let good: string;
  let labels: string;
  beforeAll(() => {
    good = writeLogits('good.npy', '<f4');
    labels = writeLabels('goodlabels.npy', '<i4');
    mkdirSync(join(dir, 'bad'), { recursive: true });
  });
  const bad = (name: string, bytes: Buffer) => {
    const p = join(dir, 'bad', name);
    writeFileSync(p, bytes);
    return p;
  };
  const header = (dict: string, data: Buffer) => {
    const total = Math.ceil((10 + dict.length + 1) / 64) * 64;
    const h = Buffer.alloc(10);
    Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]).copy(h);
    h.writeUInt16LE(total - 10, 8);
    return Buffer.concat([h, Buffer.from(dict + ' '.repeat(total - 10 - dict.length - 1) + '\n', 'latin1'), data]);
  };

  const runtime: [string, () => string[], RegExp][] = [
    ['missing logits file', () => ['score', 'nope.npy', '--labels', labels], /nope\.npy: no such file/],
    ['wrong magic', () => ['score', bad('magic.npy', Buffer.from('this is not numpy at all, no sir')), '--labels', labels], /magic\.npy: not an \.npy file \(wrong magic/],
    ['truncated data', () => ['score', bad('trunc.npy', readFileSync(good).subarray(0, 5000)), '--labels', labels], /trunc\.npy: truncated data/],
    [
      'header claims more rows than the file holds',
      () => ['score', bad('claims.npy', header(`{'descr': '<f4', 'fortran_order': False, 'shape': (999999, ${C}), }`, Buffer.alloc(4 * C * 10))), '--labels', labels],
      /claims\.npy: truncated data: the header says shape \(999999, 7\)/,
    ],
    [
      'Fortran order',
      () => ['score', bad('fortran.npy', header(`{'descr': '<f4', 'fortran_order': True, 'shape': (${R}, ${C}), }`, Buffer.alloc(4 * C * R))), '--labels', labels],
      /fortran\.npy: .*Fortran.*np\.ascontiguousarray/,
    ],
    ['label/logit row mismatch', () => ['score', good, '--labels', writeLabels('short.npy', '<i4', y.subarray(0, 10))], /short\.npy: has 10 labels but .*good\.npy has 1500 rows/],
    [
      'label out of range',
      () => ['score', good, '--labels', writeLabels('oor.npy', '<i8', Int32Array.from(y, (v, i) => (i === 321 ? C : v)))],
      /target_out_of_range: label 7 at row 321 of .*oor\.npy, expected 0 <= label < 7/,
    ],
    ['float labels', () => ['score', good, '--labels', good], /labels must be integers/],
    [
      'an .npz archive given to a transform',
      () => ['softmax', bad('scores.npz', zipOf('arr_0.npy', readFileSync(good))), '-o', 'out.npy'],
      /scores\.npz: is a ZIP archive \(an \.npz, as np\.savez writes\), not an \.npy file: score and calibrate read \.npz files directly, the transforms read \.npy only: extract an array with `unzip scores\.npz` .*np\.load\('scores\.npz'\)\['arr_0'\]/,
    ],
    ['logits with 3 axes', () => ['score', bad('3d.npy', header(`{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3, 4), }`, Buffer.alloc(96))), '--labels', labels], /logits must be 2-D/],
    ['transform of a missing file', () => ['softmax', 'missing.npy', '-o', 'out.npy'], /missing\.npy: no such file/],
    ['merge of a missing file', () => ['merge', 'missing.json'], /missing\.json: cannot read/],
    ['calibrate with an infinite logit', () => ['calibrate', writeLogits('inf.npy', '<f4', Float64Array.from(x64, (v, i) => (i === 5 ? Infinity : v))), '--labels', labels], /non_finite_input/],
  ];
  for (const [name, args, re] of runtime) {
    it(`exit 1: ${name}`, async () => {
      const r = await run(...args());
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(re);
      expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(/^logitkit: /);
      expect(r.stdout).toBe('');
    });
  }

  const usage: [string, () => string[]][] = [
    ['no command', () => []],
    ['unknown command', () => ['frobnicate']],
    ['unknown option', () => ['score', good, '--labels', labels, '--frob']],
    ['missing --labels', () => ['score', good]],
    ['more logits than labels', () => ['score', good, good, '--labels', labels]],
    ['--bins 0', () => ['score', good, '--labels', labels, '--bins', '0']],
    ['--topk abc', () => ['score', good, '--labels', labels, '--topk', 'abc']],
    ['--temperature -1', () => ['score', good, '--labels', labels, '--temperature', '-1']],
    ['--temperature with --fit-temperature', () => ['score', good, '--labels', labels, '--temperature', '2', '--fit-temperature']],
    ['--report with an unknown extension', () => ['score', good, '--labels', labels, '--report', 'r.pdf']],
    ['--backend foo', () => ['score', good, '--labels', labels, '--backend', 'foo']],
    ['transform without -o', () => ['softmax', good]],
    ['transform onto its own input', () => ['softmax', good, '-o', good]],
    ['option of another transform', () => ['argmax', good, '-o', 'x.npy', '--log']],
    ['topk k > classes', () => ['topk', good, '-o', 'x.npy', '--k', '99']],
  ];
  it('a usage error prints the usage line of the command that failed', async () => {
    for (const [cmd, args] of [
      ['topk', ['topk', good, '-o', 'x.npy', '--k', '99']],
      ['argmax', ['argmax', good, '-o', 'x.npy', '--log']],
      ['logsumexp', ['logsumexp', good]],
      ['softmax', ['softmax', good, '-o', 'x.npy', '--k', '3']],
      ['score', ['score', good]],
      ['merge', ['merge']],
    ] as const) {
      const r = await run(...args);
      expect(r.code).toBe(2);
      const lines = r.stderr.trimEnd().split('\n');
      expect(lines, r.stderr).toHaveLength(2);
      expect(lines[1]).toMatch(new RegExp(`^usage: logitkit ${cmd} `));
    }
  });

  it('an unknown option: a balanced message naming the command, with the closest option when there is one', async () => {
    let r = await run('score', good, '--labels', labels, '--bogus');
    expect(r.code).toBe(2);
    const first = r.stderr.split('\n')[0];
    expect(first).toBe(
      "logitkit: score: unknown option '--bogus'; 'logitkit score --help' lists the options (a file name starting with '-' goes after '--': logitkit score -- --bogus)",
    );
    expect(first.split("'").length % 2).toBe(1); // quotes balanced
    for (const [args, want] of [
      [['score', good, '--lables', labels], "score: unknown option '--lables' (did you mean '--labels'?)"],
      [['softmax', good, '-o', 'x.npy', '--temp', '2'], "softmax: unknown option '--temp' (did you mean '--temperature'?)"],
      [['merge', 'a.json', '--jsno'], "merge: unknown option '--jsno' (did you mean '--json'?)"],
      [['calibrate', good, '--labels', labels, '-x'], "calibrate: unknown option '-x'; 'logitkit calibrate --help' lists the options"],
    ] as const) {
      r = await run(...args);
      expect(r.code).toBe(2);
      expect(r.stderr.split('\n')[0]).toContain(`logitkit: ${want}`);
    }
  });

  for (const [name, args] of usage) {
    it(`exit 2: ${name}`, async () => {
      const r = await run(...args());
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/^logitkit: |^usage: /);
      expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
      expect(r.stdout).toBe('');
    });
  }

  it('--debug adds the stack trace; --help prints usage on stdout with exit 0', async () => {
    const r = await run('score', 'nope.npy', '--labels', labels, '--debug');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/\n\s+at /);
    const h = await run('score', '--help');
    expect(h.code).toBe(0);
    expect(h.stdout).toMatch(/^usage: logitkit score/);
    const top = await run('--help');
    expect(top.code).toBe(0);
    expect(top.stdout).toContain('merge');
    const bench = await run('bench', '--help');
    expect(bench.code).toBe(0);
    expect(bench.stdout).toMatch(/^usage: logitkit bench/);
  });

  it('human output goes to stderr; piped runs never draw a progress bar', async () => {
    const r = spawnSync(process.execPath, [bin, 'score', good, '--labels', labels, '--block-mb', '1'], {
      cwd: dir,
      encoding: 'utf8',
      env: { ...process.env, LOGITKIT_PROGRESS_DELAY_MS: '0' },
    });
    expect(r.status).toBe(0);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/^logitkit score: 1,500 rows × 7 classes/);
    expect(r.stderr).not.toMatch(/\r|█/);
  });

  const hasScript = existsSync('/usr/bin/script');
  const ttyName = 'on a terminal the progress bar is drawn on stderr, and never with --json';
  it.skipIf(!hasScript)(hasScript ? ttyName : `${ttyName} (needs /usr/bin/script from util-linux for a pseudo-terminal; missing here)`, async () => {
    // Two 1 MB blocks, so the fit streams the file (a file of one block is fitted in memory, silently).
    const big = classifierData(40_000, 10, 31);
    const lp = writeNpyPath('tty.npy', '<f4', [40_000, 10], big.x);
    const yp = writeNpyPath('tty-y.npy', '<i4', [40_000], big.y);
    const tty = (extra: string) => {
      const out = join(dir, `tty${extra ? '-json' : ''}.log`);
      const cmd = [process.execPath, bin, 'score', lp, '--labels', yp, '--fit-temperature', '--block-mb', '1', extra].filter(Boolean).join(' ');
      const r = spawnSync('/usr/bin/script', ['-qec', cmd, out], { cwd: dir, encoding: 'utf8', env: { ...process.env, LOGITKIT_PROGRESS_DELAY_MS: '0' } });
      expect(r.status).toBe(0);
      return readFileSync(out, 'utf8');
    };
    const shown = tty('');
    expect(shown).toMatch(/fitting T \(pass 1\)\s+█/);
    expect(shown).toMatch(/(fitting T|scoring)[^\r]*\d+%\s+[\d,]+\/40,000 rows/);
    expect(shown).toContain('\x1b[2K'); // the bar is cleared before the summary
    const json = tty('--json');
    expect(json).not.toMatch(/█|fitting T/);
    expect(json).toContain('"rows": 40000');
  });
});

describe('end to end: the built bin/logitkit.js in a child Node', () => {
  const spawn = (...args: string[]) => spawnCli(args, { cwd: dir });

  it('--help prints the usage on stdout with exit 0; no command prints it on stderr with exit 2', () => {
    const h = spawn('--help');
    expect(h.status).toBe(0);
    expect(h.stdout).toMatch(/^usage: logitkit <command>/);
    expect(h.stderr).toBe('');
    const none = spawn();
    expect(none.status).toBe(2);
    expect(none.stdout).toBe('');
    expect(none.stderr).toMatch(/^usage: logitkit <command>/);
  });

  it('exit 2 on a usage error, exit 1 on a runtime error, one line each, as process exit codes', () => {
    const usage = spawn('frobnicate');
    expect(usage.status).toBe(2);
    expect(usage.stderr).toMatch(/^logitkit: unknown command 'frobnicate'.*\nusage: logitkit <command>/);
    const missing = spawn('score', 'nope.npy', '--labels', 'nope-labels.npy');
    expect(missing.status).toBe(1);
    expect(missing.stderr).toMatch(/^logitkit: .*nope\.npy: no such file/);
    expect(missing.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(missing.stdout).toBe('');
  });

  it('score --json: the figures of the float64 reference', () => {
    const lp = writeLogits('e2e.npy', '<f4');
    const yp = writeLabels('e2e-y.npy', '<i8');
    const r = spawn('score', lp, '--labels', yp, '--json');
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expectScoreMatches(JSON.parse(r.stdout), stored('<f4', x64), y);
  });

  it('a transform: softmax -o writes the reference probabilities', () => {
    const lp = writeLogits('e2e-t.npy', '<f4', x64.subarray(0, 50 * C), 50);
    const r = spawn('softmax', lp, '-o', 'e2e-sm.npy');
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const o = readNpyFloat32(join(dir, 'e2e-sm.npy'));
    expect(o.shape).toEqual([50, C]);
    const want = refSoftmax(stored('<f4', x64.subarray(0, 50 * C)), C);
    for (let i = 0; i < want.length; i++) expect(Math.abs(o.data[i]! - want[i]!), `[${i}]`).toBeLessThanOrEqual(1e-5 * want[i]! + 1e-36);
  });
});
