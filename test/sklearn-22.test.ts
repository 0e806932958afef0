// score against scikit-learn 1.2 on committed fixtures (scripts/sklearn-22-reference.py; issue 22):
// AUROC from probabilities ranks p itself (a 1/32 grid, full of exact ties, within 1e-4 of
// roc_auc_score: it was off by 9e-4 through softmax(ln p) in float32); Matthews correlation and
// Cohen's kappa (matthews_corrcoef, cohen_kappa_score), also merged from shards.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readNpyFloat32, readNpyInt32, writeNpy } from '../src/io/npy.js';
import { cliSandbox, ROOT } from './helpers/cli.js';

const FIX = join(ROOT, 'test', 'fixtures', 'sklearn-22');
const ref = JSON.parse(readFileSync(join(FIX, 'reference.json'), 'utf8')) as {
  grid: { aurocPerClass: number[]; aurocMacro: number; mcc: number; kappa: number };
  binary: { ece: number; brier: number; auroc: number; bce: number };
};
const { dir, exec } = cliSandbox('sklearn22');

describe('score --input probs against scikit-learn', () => {
  it('AUROC of a 1/32 grid of probabilities: every class and the macro within 1e-4 of roc_auc_score', async () => {
    const r = await exec('score', join(FIX, 'grid-probs.npy'), '--labels', join(FIX, 'grid-labels.npy'), '--input', 'probs', '--json', '--intervals', '0');
    expect(r.code, r.stderr).toBe(0);
    const a = JSON.parse(r.stdout).auroc;
    ref.grid.aurocPerClass.forEach((want, k) => expect(Math.abs(a.perClass[k] - want), `class ${k}`).toBeLessThanOrEqual(1e-4));
    expect(Math.abs(a.macro - ref.grid.aurocMacro)).toBeLessThanOrEqual(1e-4);
  });

  it("Matthews correlation and Cohen's kappa equal sklearn's, whole and merged from two shards", async () => {
    const r = await exec('score', join(FIX, 'grid-probs.npy'), '--labels', join(FIX, 'grid-labels.npy'), '--json', '--intervals', '0');
    const c = JSON.parse(r.stdout).classification;
    expect(Math.abs(c.mcc - ref.grid.mcc)).toBeLessThanOrEqual(1e-12);
    expect(Math.abs(c.kappa - ref.grid.kappa)).toBeLessThanOrEqual(1e-12);
    const text = await exec('score', join(FIX, 'grid-probs.npy'), '--labels', join(FIX, 'grid-labels.npy'), '--intervals', '0');
    expect(text.stderr).toMatch(/Matthews correlation\s+0\.89\d*\s+Cohen's kappa\s+0\.89/);
    const p = readNpyFloat32(join(FIX, 'grid-probs.npy'));
    const y = readNpyInt32(join(FIX, 'grid-labels.npy')).data;
    const C = p.shape[1]!;
    const cut = 1234;
    writeNpy(join(dir, 'a.npy'), p.data.subarray(0, cut * C), [cut, C]);
    writeNpy(join(dir, 'b.npy'), p.data.subarray(cut * C), [y.length - cut, C]);
    writeNpy(join(dir, 'ya.npy'), y.subarray(0, cut), [cut]);
    writeNpy(join(dir, 'yb.npy'), y.subarray(cut), [y.length - cut]);
    for (const s of ['a', 'b']) writeFileSync(join(dir, `${s}.json`), (await exec('score', `${s}.npy`, '--labels', `y${s}.npy`, '--json', '--intervals', '0')).stdout);
    const m = JSON.parse((await exec('merge', 'a.json', 'b.json', '--json')).stdout).classification;
    expect(Math.abs(m.mcc - ref.grid.mcc)).toBeLessThanOrEqual(1e-12);
    expect(Math.abs(m.kappa - ref.grid.kappa)).toBeLessThanOrEqual(1e-12);
  });

  it('binary probabilities (N,): scored like binary logits; headline ECE is calibration_curve\'s, Brier is brier_score_loss', async () => {
    const r = await exec('score', join(FIX, 'binary-probs.npy'), '--labels', join(FIX, 'binary-labels.npy'), '--input', 'probs', '--json', '--intervals', '0');
    expect(r.code, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j.classes).toBe(2);
    expect(Math.abs(j.ece - ref.binary.ece)).toBeLessThanOrEqual(1e-5);
    expect(j.ece).toBe(j.binary.ece);
    expect(j.reliability).toEqual(j.binary.reliability);
    expect(j.topLabel.ece).toBeGreaterThan(0);
    expect(j.topLabel.ece).not.toBe(j.ece);
    expect(Math.abs(j.binary.brier - ref.binary.brier)).toBeLessThanOrEqual(1e-6);
    expect(Math.abs(j.binary.auroc - ref.binary.auroc)).toBeLessThanOrEqual(1e-4);
    expect(Math.abs(j.binary.bce - ref.binary.bce)).toBeLessThanOrEqual(1e-5);
    // the same model given as logits ln p − ln(1 − p): the same figures
    const p = readNpyFloat32(join(FIX, 'binary-probs.npy')).data;
    writeNpy(join(dir, 'bz.npy'), p.map((v) => Math.log(v) - Math.log1p(-v)), [p.length]);
    const z = JSON.parse((await exec('score', 'bz.npy', '--labels', join(FIX, 'binary-labels.npy'), '--json', '--intervals', '0')).stdout);
    expect(Math.abs(z.ece - j.ece)).toBeLessThanOrEqual(1e-6);
    expect(Math.abs(z.binary.brier - j.binary.brier)).toBeLessThanOrEqual(1e-7);
    const text = await exec('score', join(FIX, 'binary-probs.npy'), '--labels', join(FIX, 'binary-labels.npy'), '--input', 'probs', '--intervals', '0');
    expect(text.stderr).toMatch(/top-label \(max\(p, 1 − p\)\) ECE/);
    const bad = await exec('score', join(FIX, 'grid-probs.npy'), '--labels', join(FIX, 'grid-labels.npy'), '--input', 'probs');
    expect(bad.code).toBe(0);
  });
});
