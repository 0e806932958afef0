// Binary (sigmoid) models: one logit per row, labels in {0, 1}. BCE, accuracy at ½, AUROC and the ECE of
// p = σ(z) against the label, each against a float64 reference written here; both backends; merged
// through JSON; the CLI on (N,) and (N, 1) files, with groups (fairness) and a report.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { encodeNpyData, writeNpyRaw } from '../src/io/npy.js';
import { binOf } from '../src/metrics/calibration.js';
import { ScoreAccumulator } from '../src/metrics/summary.js';
import { exactAuroc } from './helpers/auroc.js';
import { describeEachBackend } from './helpers/backends.js';
import { cliSandbox } from './helpers/cli.js';
import { normal, rng } from './helpers/random.js';

function data(n: number, seed: number) {
  const r = rng(seed);
  const y = Int32Array.from({ length: n }, () => (r() < 0.35 ? 1 : 0));
  const z = Float32Array.from(y, (v) => 1.3 * normal(r) + (v ? 1.1 : -0.4));
  return { z, y };
}

/** Float64 from the definitions: BCE = −[y ln p + (1 − y) ln(1 − p)], ŷ = [p > ½], ECE of p against y. */
function reference(z: Float32Array, y: Int32Array, bins: number) {
  const n = y.length;
  let bce = 0;
  let hit = 0;
  const cnt = new Float64Array(bins);
  const conf = new Float64Array(bins);
  const pos = new Float64Array(bins);
  const ps: number[] = [];
  for (let i = 0; i < n; i++) {
    const p = 1 / (1 + Math.exp(-z[i]));
    ps.push(Math.fround(p));
    bce -= y[i] ? Math.log(p) : Math.log1p(-p);
    hit += (p > 0.5 ? 1 : 0) === y[i] ? 1 : 0;
    const b = binOf(Math.fround(p), bins);
    cnt[b]++;
    conf[b] += p;
    pos[b] += y[i];
  }
  let ece = 0;
  for (let b = 0; b < bins; b++) ece += Math.abs(pos[b] - conf[b]) / n;
  return { bce: bce / n, accuracy: hit / n, auroc: exactAuroc(ps, Array.from(y, (v) => v === 1)), ece };
}

describeEachBackend('binary (sigmoid) scoring', (lk) => {
  it('BCE, accuracy at ½, AUROC and ECE of p match the float64 reference (n not a multiple of 4)', () => {
    const { z, y } = data(2503, 4);
    const acc = new ScoreAccumulator(2, { binary: true });
    acc.addBlock(lk(), z, y);
    const s = acc.summary();
    const ref = reference(z, y, 15);
    expect(s.binary!.bce).toBeCloseTo(ref.bce, 6);
    expect(s.nll).toBeCloseTo(ref.bce, 6); // the 2-class view [0, z] gives the same NLL
    expect(s.binary!.accuracy).toBe(ref.accuracy);
    expect(Math.abs(s.binary!.auroc! - ref.auroc!)).toBeLessThan(1e-4);
    expect(s.binary!.ece).toBeCloseTo(ref.ece, 6);
    expect(s.classes).toBe(2);
  });

  it('z = 0 predicts 0; a temperature divides z; length-1 input works', () => {
    const acc = new ScoreAccumulator(2, { binary: true, temperature: 2 });
    acc.addBlock(lk(), Float32Array.of(0, 4, -4), Int32Array.of(0, 1, 1));
    const s = acc.summary();
    expect(s.binary!.accuracy).toBeCloseTo(2 / 3, 12);
    const want = (Math.log(2) + Math.log1p(Math.exp(-2)) + Math.log1p(Math.exp(2))) / 3;
    expect(s.binary!.bce).toBeCloseTo(want, 6);
    const one = new ScoreAccumulator(2, { binary: true });
    one.addBlock(lk(), Float32Array.of(3), Int32Array.of(1));
    expect(one.summary().binary!.auroc).toBeNull(); // no negatives
  });

  it('merges exactly through JSON statistics', () => {
    const { z, y } = data(1000, 9);
    const whole = new ScoreAccumulator(2, { binary: true });
    whole.addBlock(lk(), z, y);
    const a = new ScoreAccumulator(2, { binary: true });
    a.addBlock(lk(), z.subarray(0, 401), y.subarray(0, 401));
    const b = new ScoreAccumulator(2, { binary: true });
    b.addBlock(lk(), z.subarray(401), y.subarray(401));
    const m = ScoreAccumulator.fromStats(JSON.parse(JSON.stringify(a.toStats()))).merge(ScoreAccumulator.fromStats(JSON.parse(JSON.stringify(b.toStats()))));
    const sm = m.summary().binary!;
    const sw = whole.summary().binary!;
    expect(sm.auroc).toBe(sw.auroc);
    expect(sm.accuracy).toBe(sw.accuracy);
    expect(sm.ece).toBeCloseTo(sw.ece, 14);
    expect(sm.bce).toBeCloseTo(sw.bce, 12);
    expect(() => m.merge(new ScoreAccumulator(2))).toThrow(/binary differ/);
  });

  it('a NaN logit makes BCE and ECE NaN; a wrong length is a shape_mismatch; the engine goes on', () => {
    const acc = new ScoreAccumulator(2, { binary: true });
    acc.addBlock(lk(), Float32Array.of(NaN, 1), Int32Array.of(0, 1));
    expect(acc.summary().binary!.bce).toBeNaN();
    expect(acc.summary().binary!.ece).toBeNaN();
    expect(() => acc.addBlock(lk(), Float32Array.of(1, 2), Int32Array.of(0))).toThrow(expect.objectContaining({ code: 'shape_mismatch' }));
    expect(() => new ScoreAccumulator(3, { binary: true })).toThrow(expect.objectContaining({ code: 'shape_mismatch' }));
    expect(lk().sigmoid(Float32Array.of(0))[0]).toBe(0.5);
  });
});

describe('logitkit score on a binary model', () => {
  const { dir, exec } = cliSandbox('binary');
  const json = async (...args: string[]) => {
    const r = await exec(...args, '--json');
    expect(r.code, r.stderr).toBe(0);
    return JSON.parse(r.stdout);
  };
  const { z, y } = data(3000, 12);
  const g = Int32Array.from(y, (_, i) => i % 3);
  writeNpyRaw(join(dir, 'z.npy'), '<f4', [3000], new Uint8Array(z.buffer));
  writeNpyRaw(join(dir, 'z2.npy'), '<f4', [3000, 1], new Uint8Array(z.buffer));
  writeNpyRaw(join(dir, 'y.npy'), '<i4', [3000], encodeNpyData('<i4', y));
  writeNpyRaw(join(dir, 'g.npy'), '<i4', [3000], encodeNpyData('<i4', g));
  for (const [name, a, b] of [['a', 0, 1234], ['b', 1234, 3000]] as const) {
    writeNpyRaw(join(dir, `${name}.npy`), '<f4', [b - a], new Uint8Array(z.slice(a, b).buffer));
    writeNpyRaw(join(dir, `${name}-y.npy`), '<i4', [b - a], encodeNpyData('<i4', y.slice(a, b)));
  }

  it('(N,) and (N, 1) logits give binary.{bce, accuracy, auroc, ece} as the reference; merge equals the whole', async () => {
    const ref = reference(z, y, 15);
    const one = await json('score', 'z.npy', '--labels', 'y.npy');
    expect(one.binary.bce).toBeCloseTo(ref.bce, 6);
    expect(one.binary.accuracy).toBe(ref.accuracy);
    expect(Math.abs(one.binary.auroc - ref.auroc!)).toBeLessThan(1e-4);
    expect(one.binary.ece).toBeCloseTo(ref.ece, 6);
    expect(one.classes).toBe(2);
    const two = await json('score', 'z2.npy', '--labels', 'y.npy');
    expect(two.binary).toEqual(one.binary);
    writeFileSync(join(dir, 'a.json'), JSON.stringify(await json('score', 'a.npy', '--labels', 'a-y.npy')));
    writeFileSync(join(dir, 'b.json'), JSON.stringify(await json('score', 'b.npy', '--labels', 'b-y.npy')));
    const m = await json('merge', 'a.json', 'b.json');
    expect(m.binary.auroc).toBe(one.binary.auroc);
    expect(m.binary.bce).toBeCloseTo(one.binary.bce, 12);
  });

  it('groups give fairness differences; text and report show the binary figures', async () => {
    const j = await json('score', 'z.npy', '--labels', 'y.npy', '--groups', 'g.npy');
    expect(Object.keys(j.groups)).toEqual(['0', '1', '2']);
    expect(typeof j.fairness.demographicParityDifference).toBe('number');
    expect(typeof j.fairness.equalizedOddsDifference).toBe('number');
    const t = await exec('score', 'z.npy', '--labels', 'y.npy', '--report', 'r.md');
    expect(t.code, t.stderr).toBe(0);
    expect(t.stderr).toMatch(/binary \(sigmoid, p = σ\(z\)\): BCE 0\.\d+/);
    expect(readFileSync(join(dir, 'r.md'), 'utf8')).toMatch(/\| binary cross-entropy \| 0\.\d+ \|/);
  });

  it('rejects labels outside {0, 1}, logits given as --input probs, and --fit-temperature with a message', async () => {
    writeNpyRaw(join(dir, 'y3.npy'), '<i4', [3000], encodeNpyData('<i4', Int32Array.from(y, (v, i) => (i === 7 ? 2 : v))));
    const bad = await exec('score', 'z.npy', '--labels', 'y3.npy');
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/label 2 at row 7 of y3\.npy, expected 0 <= label < 2/);
    // one column of probabilities is scored (issue 22 item 3); logits are not probabilities
    expect((await exec('score', 'z.npy', '--labels', 'y.npy', '--input', 'probs')).stderr).toMatch(/z\.npy: row \d+: probability -?[\d.]+ is not in \[0, 1\] \(--input probs\)/);
    expect((await exec('score', 'z.npy', '--labels', 'y.npy', '--fit-temperature')).stderr).toMatch(/not for a binary model/);
  });
});
