// Average precision and --threshold in score / merge against scikit-learn 1.2 (issue 22 item 6), on
// committed fixtures (scripts/sklearn-22-ap-reference.py): average_precision_score per class and macro
// (a tied 1/32 grid: exact; continuous softmax probabilities: within 1e-4 and the reported bound), of a
// binary model's p and per label / macro / micro of a multi-label one; the decisions at a threshold
// (accuracy, precision, recall, F1, confusion, subset accuracy, Hamming loss) exactly; merged shards
// equal the single run, and shards scored at different thresholds are refused.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readNpyFloat32, readNpyInt32, writeNpy } from '../src/io/npy.js';
import { cliSandbox, ROOT } from './helpers/cli.js';

const FIX = join(ROOT, 'test', 'fixtures', 'sklearn-22');
const fx = (f: string) => join(FIX, f);
interface OneVsRest {
  perClass: number[];
  macro: number;
}
const ref = JSON.parse(readFileSync(fx('ap-reference.json'), 'utf8')) as {
  grid: OneVsRest;
  continuous: OneVsRest;
  binary: { averagePrecision: number; threshold: number; accuracy: number; precision: number; recall: number; f1: number; confusion: number[][] };
  multilabel: { perLabel: number[]; macro: number; micro: number; threshold: number; microF1: number; macroF1: number; subsetAccuracy: number; hammingLoss: number };
};
const { dir, exec } = cliSandbox('sklearn22ap');
const near = (got: number, want: number, tol: number, what: string) => expect(Math.abs(got - want), `${what}: ${got} vs ${want}`).toBeLessThanOrEqual(tol);

/** Writes rows [0, cut) and [cut, N) of a (N, C) or (N,) array as two files. */
function split(data: Float32Array | Int32Array, shape: number[], cut: number, a: string, b: string): void {
  const C = shape.length > 1 ? shape[1]! : 1;
  const rest = shape.slice(1);
  writeNpy(join(dir, a), data.subarray(0, cut * C), [cut, ...rest]);
  writeNpy(join(dir, b), data.subarray(cut * C), [shape[0]! - cut, ...rest]);
}

async function json(...args: string[]): Promise<Record<string, any>> {
  const r = await exec(...args);
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout);
}

describe('average precision against sklearn.metrics.average_precision_score', () => {
  it('a 1/32 grid of probabilities (exact ties everywhere): every class and the macro exact', async () => {
    const j = await json('score', fx('grid-probs.npy'), '--labels', fx('grid-labels.npy'), '--input', 'probs', '--json', '--intervals', '0');
    const ap = j.classification.averagePrecision;
    ref.grid.perClass.forEach((want, k) => near(ap.perClass[k], want, 1e-12, `class ${k}`));
    near(ap.macro, ref.grid.macro, 1e-12, 'macro');
  });

  it('continuous softmax probabilities: within 1e-4 and within the reported errorBound; merged shards give the same figures', async () => {
    const j = await json('score', fx('ap-cont-probs.npy'), '--labels', fx('ap-cont-labels.npy'), '--input', 'probs', '--json', '--intervals', '0');
    const ap = j.classification.averagePrecision;
    expect(ap.errorBound).toBeGreaterThan(0);
    expect(ap.errorBound).toBeLessThan(1e-2);
    ref.continuous.perClass.forEach((want, k) => {
      near(ap.perClass[k], want, 1e-4, `class ${k}`);
      near(ap.perClass[k], want, ap.errorBound, `class ${k} (bound)`);
    });
    near(ap.macro, ref.continuous.macro, 1e-4, 'macro');
    const p = readNpyFloat32(fx('ap-cont-probs.npy'));
    const y = readNpyInt32(fx('ap-cont-labels.npy'));
    split(p.data, p.shape, 1500, 'ca.npy', 'cb.npy');
    split(y.data, y.shape, 1500, 'ya.npy', 'yb.npy');
    for (const s of ['a', 'b']) writeFileSync(join(dir, `c${s}.json`), JSON.stringify(await json('score', `c${s}.npy`, '--labels', `y${s}.npy`, '--input', 'probs', '--json', '--intervals', '0')));
    const m = await json('merge', 'ca.json', 'cb.json', '--json');
    expect(m.classification.averagePrecision).toEqual(ap);
  });

  it('a binary model: AP of p(y = 1) in "binary" and as class 1; the summary and the reports show it', async () => {
    const args = ['score', fx('binary-probs.npy'), '--labels', fx('binary-labels.npy'), '--input', 'probs', '--intervals', '0'];
    const j = await json(...args, '--json');
    near(j.binary.averagePrecision, ref.binary.averagePrecision, 1e-4, 'binary AP');
    expect(j.binary.averagePrecision).toBe(j.classification.averagePrecision.perClass[1]);
    expect(j.threshold).toBe(0.5);
    const text = await exec(...args, '--report', 'b.md');
    expect(text.stderr).toMatch(/AP 0\.749\d/);
    expect(text.stderr).toMatch(/average precision \(macro\)\s+0\.\d{4}/);
    expect(readFileSync(join(dir, 'b.md'), 'utf8')).toMatch(/\| average precision of p \| 0\.749\d \|/);
  });

  it('multi-label: per label, macro and micro within 1e-4', async () => {
    const j = await json('score', fx('ap-multilabel-probs.npy'), '--labels', fx('ap-multilabel-targets.npy'), '--multilabel', '--input', 'probs', '--json');
    const m = j.multilabel;
    ref.multilabel.perLabel.forEach((want, k) => near(m.perLabel[k].averagePrecision, want, 1e-4, `label ${k}`));
    near(m.macro.averagePrecision, ref.multilabel.macro, 1e-4, 'macro');
    near(m.micro.averagePrecision, ref.multilabel.micro, 1e-4, 'micro');
    expect(m.averagePrecisionErrorBound).toBeGreaterThan(0);
  });

  it('the HTML and Markdown reports of a softmax model have an AP column and the macro AP', async () => {
    const base = ['score', fx('ap-cont-probs.npy'), '--labels', fx('ap-cont-labels.npy'), '--input', 'probs', '--intervals', '0'];
    expect((await exec(...base, '--report', 'c.html')).code).toBe(0);
    expect((await exec(...base, '--report', 'c.md')).code).toBe(0);
    const html = readFileSync(join(dir, 'c.html'), 'utf8');
    expect(html).toMatch(/<th>AUROC<\/th><th>AP<\/th>/);
    expect(html).toMatch(/macro average precision/);
    const md = readFileSync(join(dir, 'c.md'), 'utf8');
    expect(md).toMatch(/\| macro average precision \| 0\.486\d \|/);
    expect(md).toMatch(/ AUROC \| AP \| flag \|/);
  });
});

describe('--threshold', () => {
  it('binary: accuracy, precision, recall, F1 and the confusion matrix of p > 0.3 equal sklearn\'s; JSON says 0.3', async () => {
    const j = await json('score', fx('binary-probs.npy'), '--labels', fx('binary-labels.npy'), '--input', 'probs', '--threshold', '0.3', '--json', '--confusion');
    const b = ref.binary;
    expect(j.threshold).toBe(0.3);
    near(j.accuracy, b.accuracy, 1e-15, 'accuracy');
    near(j.classification.perClass[1].precision, b.precision, 1e-15, 'precision');
    near(j.classification.perClass[1].recall, b.recall, 1e-15, 'recall');
    near(j.classification.perClass[1].f1, b.f1, 1e-15, 'f1');
    expect(j.confusion).toEqual(b.confusion);
    // what does not depend on the decision does not move
    const half = await json('score', fx('binary-probs.npy'), '--labels', fx('binary-labels.npy'), '--input', 'probs', '--json', '--intervals', '0');
    expect(j.binary.auroc).toBe(half.binary.auroc);
    expect(j.binary.averagePrecision).toBe(half.binary.averagePrecision);
    expect(j.ece).toBe(half.ece);
    expect(j.nll).toBe(half.nll);
    expect(j.accuracy).not.toBe(half.accuracy);
    // the bootstrap intervals are left out there (one hit per row serves accuracy and ECE alike)
    expect(j.intervals).toBeUndefined();
  });

  it('multi-label: micro / macro F1, subset accuracy and Hamming loss of p >= 0.3 equal sklearn\'s', async () => {
    const j = await json('score', fx('ap-multilabel-probs.npy'), '--labels', fx('ap-multilabel-targets.npy'), '--multilabel', '--input', 'probs', '--threshold', '0.3', '--json');
    const m = j.multilabel;
    const r = ref.multilabel;
    expect(j.threshold).toBe(0.3);
    expect(m.threshold).toMatch(/^p >= 0\.3 /);
    near(m.micro.f1, r.microF1, 1e-15, 'micro F1');
    near(m.macro.f1, r.macroF1, 1e-15, 'macro F1');
    near(m.subsetAccuracy, r.subsetAccuracy, 1e-15, 'subset accuracy');
    near(m.hammingLoss, r.hammingLoss, 1e-15, 'Hamming loss');
    const text = await exec('score', fx('ap-multilabel-probs.npy'), '--labels', fx('ap-multilabel-targets.npy'), '--multilabel', '--input', 'probs', '--threshold', '0.3');
    expect(text.stderr).toMatch(/predicted positive: p >= 0\.3/);
    expect(text.stderr).toMatch(/micro: .* AP 0\.742\d/);
  });

  it('merge: shards at one threshold give the single run; shards at different thresholds are refused, naming both', async () => {
    const p = readNpyFloat32(fx('binary-probs.npy'));
    const y = readNpyInt32(fx('binary-labels.npy'));
    split(p.data, p.shape, 700, 'ba.npy', 'bb.npy');
    split(y.data, y.shape, 700, 'bya.npy', 'byb.npy');
    const one = ['--input', 'probs', '--json', '--threshold', '0.3'];
    writeFileSync(join(dir, 'ba.json'), JSON.stringify(await json('score', 'ba.npy', '--labels', 'bya.npy', ...one)));
    writeFileSync(join(dir, 'bb.json'), JSON.stringify(await json('score', 'bb.npy', '--labels', 'byb.npy', ...one)));
    writeFileSync(join(dir, 'bb5.json'), JSON.stringify(await json('score', 'bb.npy', '--labels', 'byb.npy', '--input', 'probs', '--json', '--intervals', '0')));
    const m = await json('merge', 'ba.json', 'bb.json', '--json');
    const whole = await json('score', fx('binary-probs.npy'), '--labels', fx('binary-labels.npy'), ...one);
    expect(m.threshold).toBe(0.3);
    expect(m.accuracy).toBe(whole.accuracy);
    expect(m.classification.perClass).toEqual(whole.classification.perClass);
    expect(m.binary.averagePrecision).toBe(whole.binary.averagePrecision);
    const bad = await exec('merge', 'ba.json', 'bb5.json', '--json');
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/bb5\.json: scored with --threshold 0\.5 but ba\.json with 0\.3; shards must be scored at one threshold/);

    const mp = readNpyFloat32(fx('ap-multilabel-probs.npy'));
    const mt = readNpyInt32(fx('ap-multilabel-targets.npy'));
    split(mp.data, mp.shape, 1000, 'ma.npy', 'mb.npy');
    split(mt.data, mt.shape, 1000, 'mta.npy', 'mtb.npy');
    const ml = ['--multilabel', '--input', 'probs', '--json'];
    writeFileSync(join(dir, 'ma.json'), JSON.stringify(await json('score', 'ma.npy', '--labels', 'mta.npy', ...ml, '--threshold', '0.3')));
    writeFileSync(join(dir, 'mb.json'), JSON.stringify(await json('score', 'mb.npy', '--labels', 'mtb.npy', ...ml, '--threshold', '0.3')));
    writeFileSync(join(dir, 'mb4.json'), JSON.stringify(await json('score', 'mb.npy', '--labels', 'mtb.npy', ...ml, '--threshold', '0.4')));
    const mm = await json('merge', 'ma.json', 'mb.json', '--json');
    const mwhole = await json('score', fx('ap-multilabel-probs.npy'), '--labels', fx('ap-multilabel-targets.npy'), ...ml, '--threshold', '0.3');
    expect(mm.threshold).toBe(0.3);
    expect(mm.multilabel.micro).toEqual(mwhole.multilabel.micro);
    expect(mm.multilabel.perLabel.map((e: { averagePrecision: number }) => e.averagePrecision)).toEqual(mwhole.multilabel.perLabel.map((e: { averagePrecision: number }) => e.averagePrecision));
    const mbad = await exec('merge', 'ma.json', 'mb4.json', '--json');
    expect(mbad.code).toBe(1);
    expect(mbad.stderr).toMatch(/mb4\.json: scored with --threshold 0\.4 but ma\.json with 0\.3; shards must be scored at one threshold/);
  });

  it('usage errors: outside (0, 1), not a number, a softmax model, with explicit --intervals; --help documents it', async () => {
    const bin = [fx('binary-probs.npy'), '--labels', fx('binary-labels.npy'), '--input', 'probs'];
    for (const t of ['0', '1', '1.5', '-0.2', 'abc', '', 'NaN']) {
      const r = await exec('score', ...bin, `--threshold=${t}`);
      expect(r.code, t).toBe(2);
      expect(r.stderr).toMatch(/--threshold .*expected a probability strictly between 0 and 1/);
    }
    const soft = await exec('score', fx('grid-probs.npy'), '--labels', fx('grid-labels.npy'), '--threshold', '0.3');
    expect(soft.code).toBe(2);
    expect(soft.stderr).toMatch(/--threshold: not for a softmax model \(5 classes/);
    const iv = await exec('score', ...bin, '--threshold', '0.3', '--intervals', '50');
    expect(iv.code).toBe(2);
    expect(iv.stderr).toMatch(/--threshold: --intervals are not computed at a threshold other than 0\.5/);
    // 0.5 given explicitly is the default: intervals stay
    const half = await json('score', ...bin, '--threshold', '0.5', '--intervals', '20', '--json');
    expect(half.intervals.replicates).toBe(20);
    const h = await exec('score', '--help');
    expect(h.stdout).toMatch(/--threshold T \(default 0\.5/);
    expect(h.stdout).toMatch(/average_precision_score/);
  });
});
