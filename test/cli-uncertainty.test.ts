// `logitkit conformal`, `ood` and `predict` on real files: what they write matches the API on the
// same arrays, streaming in small blocks changes nothing, and usage errors exit 2.
import { readFileSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { conformalModelFromJSON, init, oodMetrics } from '../src/index.js';
import { writeNpy } from '../src/io/npy.js';
import { cliSandbox } from './helpers/cli.js';
import { randomLogits, randomTargets } from './helpers/random.js';

const { dir, exec } = cliSandbox('uncert');
const C = 7;
const x = randomLogits(600, C, 2.5, 41);
const y = randomTargets(600, C, 42);
// Labels follow the argmax most of the time: a model worth calibrating.
for (let i = 0; i < 600; i++) if (i % 4 !== 0) {
  let best = 0;
  for (let j = 1; j < C; j++) if (x[i * C + j]! > x[i * C + best]!) best = j;
  y[i] = best;
}
const xOod = randomLogits(300, C, 0.7, 43);
writeNpy(join(dir, 'cal.npy'), x.subarray(0, 400 * C), [400, C]);
writeNpy(join(dir, 'cal-labels.npy'), y.subarray(0, 400), [400]);
writeNpy(join(dir, 'test.npy'), x.subarray(400 * C), [200, C]);
writeNpy(join(dir, 'ood.npy'), xOod, [300, C]);
writeFileSync(join(dir, 'names.txt'), ['zero', 'one', 'two, with a comma', 'three', 'four', 'five', 'six'].join('\n'));

describe('logitkit conformal', () => {
  it('writes the model the API calibrates on the same rows (raps, class-conditional, temperature)', async () => {
    const r = await exec('conformal', 'cal.npy', '--labels', 'cal-labels.npy', '--method', 'raps', '--alpha', '0.2', '--class-conditional', '--temperature', '1.5', '-o', 'model.json');
    expect(r.stderr).toContain('model written to model.json');
    expect(r.code).toBe(0);
    const json = JSON.parse(readFileSync(join(dir, 'model.json'), 'utf8'));
    expect(json.logitkit).toBe('conformal-model');
    const lk = await init({ backend: 'js' });
    const want = lk.conformalCalibrate(x.subarray(0, 400 * C), C, y.subarray(0, 400), { method: 'raps', alpha: 0.2, classConditional: true, temperature: 1.5 });
    expect(conformalModelFromJSON(json, C)).toEqual(want);
  });

  it('the wasm and js backends write the same q̂', async () => {
    const a = await exec('conformal', 'cal.npy', '--labels', 'cal-labels.npy', '-o', 'a.json', '--json');
    const b = await exec('conformal', 'cal.npy', '--labels', 'cal-labels.npy', '-o', 'b.json', '--json', '--backend', 'js');
    expect(a.code).toBe(0);
    expect(JSON.parse(a.stdout).qhat).toBe(JSON.parse(b.stdout).qhat);
  });

  it('usage errors exit 2 before reading files', async () => {
    for (const args of [
      ['conformal', 'cal.npy', '-o', 'm.json'],
      ['conformal', 'cal.npy', '--labels', 'cal-labels.npy'],
      ['conformal', 'cal.npy', '--labels', 'cal-labels.npy', '-o', 'm.json', '--alpha', '1'],
      ['conformal', 'cal.npy', '--labels', 'cal-labels.npy', '-o', 'm.json', '--method', 'thr'],
      ['conformal', 'cal.npy', '--labels', 'cal-labels.npy', '-o', 'm.json', '--temperature', '2', '--apply', 'x.json'],
      ['conformal', 'cal.npy', '--labels', 'cal-labels.npy', '-o', 'm.json', '--alpah', '0.1'],
    ]) {
      const r = await exec(...args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr).toMatch(/^logitkit: /);
    }
    expect((await exec('conformal', '--help')).stdout).toMatch(/^usage: logitkit conformal/);
  });
});

describe('logitkit ood', () => {
  it('--json: every method, the API figures and the FPR@95 threshold; --report draws the histograms', async () => {
    const r = await exec('ood', 'test.npy', '--ood', 'ood.npy', '--json', '--report', 'ood.html');
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(Object.keys(out.methods)).toEqual(['energy', 'msp', 'maxLogit', 'entropy', 'margin', 'gen']);
    const lk = await init({ backend: 'js' });
    const id = lk.oodScore(x.subarray(400 * C), C, { method: 'energy' });
    const ood = lk.oodScore(xOod, C, { method: 'energy' });
    expect(out.methods.energy).toMatchObject(oodMetrics(id, ood));
    expect(out.methods.energy.threshold).toBe(Array.from(id).sort((a, b) => a - b)[Math.ceil(0.95 * 200) - 1]);
    expect(out.methods.msp.auroc).toBeGreaterThan(0.6);
    const html = readFileSync(join(dir, 'ood.html'), 'utf8');
    expect(html).toContain('FPR@95 threshold');
    expect((html.match(/<svg/g) ?? []).length).toBe(6);
  });

  it('a subset of methods, a temperature, Markdown; usage errors exit 2', async () => {
    const r = await exec('ood', 'test.npy', '--ood', 'ood.npy', '--method', 'gen,energy', '--temperature', '2', '--report', 'ood.md');
    expect(r.code).toBe(0);
    expect(r.stderr).toContain('gen');
    expect(readFileSync(join(dir, 'ood.md'), 'utf8')).toContain('| energy |');
    expect((await exec('ood', 'test.npy', '--ood', 'ood.npy', '--method', 'odin')).code).toBe(2);
    expect((await exec('ood', 'test.npy')).code).toBe(2);
    expect((await exec('ood', 'test.npy', '--ood', 'ood.npy', '--report', 'x.pdf')).code).toBe(2);
    writeNpy(join(dir, 'wrong.npy'), new Float32Array(10), [2, 5]);
    const mismatch = await exec('ood', 'test.npy', '--ood', 'wrong.npy');
    expect(mismatch.code).toBe(1);
    expect(mismatch.stderr).toContain('5 classes');
  });
});

describe('logitkit predict', () => {
  it('JSONL: row, prediction, confidence, set, ood — the API values, names from --class-names', async () => {
    const r = await exec('predict', 'test.npy', '--conformal', 'a.json', '--ood', 'energy', '-o', 'out.jsonl');
    expect(r.code).toBe(0);
    const lines = readFileSync(join(dir, 'out.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(lines.length).toBe(200);
    const lk = await init({ backend: 'js' });
    const xt = x.subarray(400 * C);
    const model = conformalModelFromJSON(readFileSync(join(dir, 'a.json'), 'utf8'));
    const sets = lk.predictSets(xt, C, model);
    const msp = lk.oodScore(xt, C, { method: 'msp' });
    const pred = lk.argmax(xt, C);
    const ood = lk.oodScore(xt, C, { method: 'energy' });
    for (const i of [0, 1, 57, 199]) {
      expect(lines[i]).toEqual({
        row: i,
        prediction: pred[i],
        confidence: -msp[i]!,
        set: Array.from(sets.indices.subarray(sets.offsets[i]!, sets.offsets[i + 1]!)),
        ood: ood[i],
      });
    }
    const named = await exec('predict', 'test.npy', '--conformal', 'a.json', '--class-names', 'names.txt', '-o', 'named.csv');
    expect(named.code).toBe(0);
    const csv = readFileSync(join(dir, 'named.csv'), 'utf8').split('\n');
    expect(csv[0]).toBe('row,prediction,confidence,set');
    expect(csv.length).toBe(202); // header, 200 rows, final newline
    expect(readFileSync(join(dir, 'named.csv'), 'utf8')).toContain('"two, with a comma"');
  });

  it('usage errors exit 2 and leave no file; a model for other classes is a runtime error', async () => {
    expect((await exec('predict', 'test.npy', '-o', 'out.txt')).code).toBe(2);
    expect((await exec('predict', 'test.npy')).code).toBe(2);
    expect((await exec('predict', 'test.npy', '-o', 'o.jsonl', '--ood', 'odin')).code).toBe(2);
    writeFileSync(join(dir, 'm3.json'), JSON.stringify({ method: 'aps', alpha: 0.1, temperature: 1, randomized: true, lambda: 0.01, kReg: 5, classConditional: false, seed: 0, classes: 3, n: 10, qhat: 0.9 }));
    const r = await exec('predict', 'test.npy', '--conformal', 'm3.json', '-o', 'bad.jsonl');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('3 classes');
    expect(existsSync(join(dir, 'bad.jsonl'))).toBe(false);
  });
});
