// The digits demo's committed model and artifacts (data/digits/, docs/digits-demo.md): the ONNX graph
// is the model whose logits were committed, the JSON artifacts are what the CLI makes from those
// logits, and the Node example runs the pipeline and gets what a direct computation gets.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import * as ort from 'onnxruntime-web';
import { calibrationMapFromJSON, conformalModelFromJSON, init } from '../src/index.js';
import { readNpyFloat32, readNpyInt32 } from '../src/io/npy.js';
import { cliSandbox, ROOT } from './helpers/cli.js';

const DIR = join(ROOT, 'data', 'digits');
const json = (file: string) => JSON.parse(readFileSync(join(DIR, file), 'utf8')) as Record<string, unknown>;
const CLASSES = 10;

describe('the digits model (data/digits)', () => {
  it('the ONNX graph runs in onnxruntime-web and reproduces the committed numpy logits of every split', async () => {
    ort.env.wasm.numThreads = 1;
    const session = await ort.InferenceSession.create(readFileSync(join(DIR, 'digits-mlp.onnx')));
    expect(session.inputNames).toEqual(['pixels']);
    expect(session.outputNames).toEqual(['logits']);
    for (const split of ['calib', 'test', 'ood']) {
      const images = readNpyInt32(join(DIR, `${split}-images.npy`)); // uint8, 0–16
      const want = readNpyFloat32(join(DIR, `${split}-logits.npy`)).data;
      expect(images.shape).toEqual([400, 64]);
      const out = await session.run({ pixels: new ort.Tensor('float32', Float32Array.from(images.data), [400, 64]) });
      expect(out.logits!.dims).toEqual([400, CLASSES]);
      const got = out.logits!.data as Float32Array;
      // The same float32 products summed in another order (numpy's BLAS vs onnxruntime's MLAS): the
      // error of a length-64 float32 dot product, relative to the logit's scale, not the ulp of its value.
      let worst = 0;
      for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(got[i]! - want[i]!) / Math.max(1, Math.abs(want[i]!)));
      expect(worst, split).toBeLessThan(1e-4);
      // …and never a different answer.
      for (let r = 0; r < 400; r++) {
        const a = got.subarray(r * CLASSES, (r + 1) * CLASSES);
        const b = want.subarray(r * CLASSES, (r + 1) * CLASSES);
        expect(a.indexOf(Math.max(...a)), `${split} row ${r}`).toBe(b.indexOf(Math.max(...b)));
      }
    }
    await session.release();
  });

  it('model.json states the splits and the test accuracy the committed logits have', () => {
    const info = json('model.json') as { splits: Record<string, number>; accuracy: Record<string, number> };
    expect(info.splits).toEqual({ train: 997, calib: 400, test: 400 });
    for (const split of ['calib', 'test']) {
      const z = readNpyFloat32(join(DIR, `${split}-logits.npy`)).data;
      const y = readNpyInt32(join(DIR, `${split}-labels.npy`)).data;
      let correct = 0;
      for (let r = 0; r < y.length; r++) {
        const row = z.subarray(r * CLASSES, (r + 1) * CLASSES);
        if (row.indexOf(Math.max(...row)) === y[r]) correct++;
      }
      expect(Math.round((correct / y.length) * 1e4) / 1e4, split).toBe(info.accuracy[split]);
      expect(info.accuracy[split]).toBeGreaterThan(0.9);
    }
  });
});

describe('the fitted artifacts are what the CLI makes from the committed logits', () => {
  const box = cliSandbox('digits');
  const rel = (f: string) => join(DIR, f);

  it('calibration-map.json = logitkit fit (BCTS)', async () => {
    const out = join(box.dir, 'map.json');
    const r = await box.exec('fit', rel('calib-logits.npy'), '--labels', rel('calib-labels.npy'), '--method', 'bcts', '-o', out);
    expect(r.code, r.stderr).toBe(0);
    const fresh = JSON.parse(readFileSync(out, 'utf8')) as Record<string, unknown>;
    const committed = json('calibration-map.json');
    for (const k of ['method', 'classes', 'temperature', 'bias', 'nllAfter']) expect(committed[k], k).toEqual(fresh[k]);
  });

  it('conformal.json = logitkit conformal (APS, α = 0.1, on the calibrated logits)', async () => {
    const out = join(box.dir, 'conformal.json');
    const r = await box.exec('conformal', rel('calib-logits.npy'), '--labels', rel('calib-labels.npy'), '--method', 'aps', '--alpha', '0.1', '--apply', rel('calibration-map.json'), '-o', out);
    expect(r.code, r.stderr).toBe(0);
    const fresh = conformalModelFromJSON(readFileSync(out, 'utf8'));
    const committed = conformalModelFromJSON(json('conformal.json'));
    expect(committed).toEqual(fresh);
    expect(committed).toMatchObject({ method: 'aps', alpha: 0.1, n: 400, classes: CLASSES });
  });

  it('ood.json: its threshold is the FPR@95 t of the calibration digits, and its metrics are logitkit ood --json', async () => {
    const r = await box.exec('ood', rel('calib-logits.npy'), '--ood', rel('ood-logits.npy'), '--method', 'energy', '--json');
    expect(r.code, r.stderr).toBe(0);
    const energy = (JSON.parse(r.stdout) as { methods: { energy: unknown } }).methods.energy;
    const committed = json('ood.json') as { threshold: number; metrics: unknown; method: string; temperature: number };
    expect(committed.metrics).toEqual(energy);
    expect(committed).toMatchObject({ method: 'energy', temperature: 1 });
    const lk = await init({ backend: 'js' });
    const scores = Array.from(lk.oodScore(readNpyFloat32(rel('calib-logits.npy')).data, CLASSES, { method: 'energy' })).sort((a, b) => a - b);
    expect(committed.threshold).toBe(scores[Math.ceil(0.95 * scores.length) - 1]);
    // 95% of the calibration digits at or below it, the rest above.
    expect(scores.filter((s) => s <= committed.threshold).length).toBe(Math.ceil(0.95 * scores.length));
  });
});

describe('examples/digits/classify.mjs', () => {
  it('runs the pipeline on the test digits and the OOD images; its totals agree with a direct computation', async () => {
    const stdout = execFileSync(process.execPath, [join(ROOT, 'examples', 'digits', 'classify.mjs'), '--json'], { cwd: ROOT, encoding: 'utf8' });
    const got = JSON.parse(stdout) as {
      rows: number;
      accuracy: number;
      conformal: { alpha: number; coverage: number; meanSize: number; emptyRate: number };
      ood: { threshold: number; digitsFlagged: number; noiseFlagged: number; scribblesFlagged: number };
    };
    // The same numbers from the committed logits, without onnxruntime.
    const lk = await init({ backend: 'js' });
    const map = calibrationMapFromJSON(json('calibration-map.json'), CLASSES);
    const conformal = conformalModelFromJSON(json('conformal.json'));
    const threshold = (json('ood.json') as { threshold: number }).threshold;
    const z = readNpyFloat32(join(DIR, 'test-logits.npy')).data;
    const y = readNpyInt32(join(DIR, 'test-labels.npy')).data;
    const zc = lk.applyCalibration(z, CLASSES, map);
    const predictions = lk.argmax(zc, CLASSES);
    const sets = lk.predictSets(zc, CLASSES, conformal, { seed: conformal.seed });
    let correct = 0;
    let covered = 0;
    for (let r = 0; r < y.length; r++) {
      if (predictions[r] === y[r]) correct++;
      if (sets.indices.subarray(sets.offsets[r], sets.offsets[r + 1]).includes(y[r]!)) covered++;
    }
    expect(got.rows).toBe(400);
    expect(got.accuracy).toBe(correct / 400);
    expect(got.conformal.coverage).toBe(covered / 400);
    const flagged = (file: string, from = 0, to = 400) =>
      Array.from(lk.oodScore(readNpyFloat32(join(DIR, file)).data, CLASSES, { method: 'energy' }).subarray(from, to)).filter((e) => e > threshold).length / (to - from);
    expect(got.ood.digitsFlagged).toBe(flagged('test-logits.npy'));
    expect(got.ood.noiseFlagged).toBe(flagged('ood-logits.npy', 0, 200));
    expect(got.ood.scribblesFlagged).toBe(flagged('ood-logits.npy', 200, 400));
    // What the demo promises, on held-out data: a 90% set covers about 90% (400 rows: ±1.5% is one
    // standard deviation), few digits are flagged, and almost all noise and scribbles are.
    expect(got.accuracy).toBeGreaterThan(0.9);
    expect(got.conformal.coverage).toBeGreaterThan(0.85);
    expect(got.ood.digitsFlagged).toBeLessThan(0.1);
    expect(got.ood.noiseFlagged).toBeGreaterThan(0.95);
    expect(got.ood.scribblesFlagged).toBeGreaterThan(0.9);
  });
});
