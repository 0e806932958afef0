// The classification report (precision / recall / F1, macro and weighted averages, balanced accuracy)
// and the confusion matrix: against scikit-learn's documented example, against a reference computed
// here from plain label arrays, through ScoreAccumulator on both backends, and merged across shards.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { encodeNpyData, writeNpyRaw } from '../src/io/npy.js';
import { classificationReport, ConfusionCounts, DENSE_MAX } from '../src/metrics/classification.js';
import { ScoreAccumulator } from '../src/metrics/summary.js';
import { describeEachBackend } from './helpers/backends.js';
import { cliSandbox } from './helpers/cli.js';
import { rng } from './helpers/random.js';

/** The report straight from label arrays, written from sklearn's definitions (float64, no shortcuts). */
function refReport(yTrue: number[], yPred: number[], K: number) {
  const labels = [...new Set([...yTrue, ...yPred])].sort((a, b) => a - b);
  const per = Array.from({ length: K }, (_, k) => {
    const tp = yTrue.filter((t, i) => t === k && yPred[i] === k).length;
    const predicted = yPred.filter((p) => p === k).length;
    const support = yTrue.filter((t) => t === k).length;
    const precision = predicted ? tp / predicted : 0;
    const recall = support ? tp / support : 0;
    const f1 = precision + recall ? (2 * precision * recall) / (precision + recall) : 0;
    return { precision, recall, f1, support };
  });
  const mean = (key: 'precision' | 'recall' | 'f1') => labels.reduce((a, k) => a + per[k][key], 0) / labels.length;
  const wmean = (key: 'precision' | 'recall' | 'f1') => per.reduce((a, c) => a + c[key] * c.support, 0) / yTrue.length;
  const withSupport = per.filter((c) => c.support > 0);
  return {
    perClass: per,
    macro: { precision: mean('precision'), recall: mean('recall'), f1: mean('f1') },
    weighted: { precision: wmean('precision'), recall: wmean('recall'), f1: wmean('f1') },
    balancedAccuracy: withSupport.reduce((a, c) => a + c.recall, 0) / withSupport.length,
  };
}

function countsOf(yTrue: number[], yPred: number[], K: number) {
  const tp = new Float64Array(K);
  const predicted = new Float64Array(K);
  const support = new Float64Array(K);
  yTrue.forEach((t, i) => {
    support[t]++;
    predicted[yPred[i]]++;
    if (t === yPred[i]) tp[t]++;
  });
  return classificationReport(tp, predicted, support);
}

function expectClose(got: unknown, want: unknown): void {
  if (typeof want === 'number') {
    expect(Math.abs((got as number) - want)).toBeLessThanOrEqual(1e-12);
    return;
  }
  if (Array.isArray(want)) {
    expect((got as unknown[]).length).toBe(want.length);
    want.forEach((w, i) => expectClose((got as unknown[])[i], w));
    return;
  }
  for (const [k, w] of Object.entries(want as object)) expectClose((got as Record<string, unknown>)[k], w);
}

describe('classificationReport', () => {
  it("matches scikit-learn's classification_report example (y_true 0 1 2 2 2, y_pred 0 0 2 2 1)", () => {
    const r = countsOf([0, 1, 2, 2, 2], [0, 0, 2, 2, 1], 3);
    // sklearn prints: 0: 0.50 1.00 0.67 1 | 1: 0.00 0.00 0.00 1 | 2: 1.00 0.67 0.80 3
    //                 macro avg 0.50 0.56 0.49 | weighted avg 0.70 0.60 0.61
    expectClose(r.perClass, [
      { precision: 0.5, recall: 1, f1: 2 / 3, support: 1 },
      { precision: 0, recall: 0, f1: 0, support: 1 },
      { precision: 1, recall: 2 / 3, f1: 0.8, support: 3 },
    ]);
    expectClose(r.macro, { precision: 0.5, recall: 5 / 9, f1: (2 / 3 + 0.8) / 3 });
    expectClose(r.weighted, { precision: 0.7, recall: 0.6, f1: (2 / 3 + 2.4) / 5 });
    expect(r.balancedAccuracy).toBeCloseTo(5 / 9, 15);
    expect(r.zeroDivision).toEqual({ precision: [], recall: [] });
  });

  it('0/0 cases: never predicted → precision 0 (listed); no support but predicted → recall 0, in macro only; absent classes are left out', () => {
    // class 1 is never predicted, class 3 is predicted but never true, classes 4 and 5 never occur
    const yTrue = [0, 0, 1, 1, 2, 2, 2];
    const yPred = [0, 3, 0, 2, 2, 2, 3];
    const r = countsOf(yTrue, yPred, 6);
    expectClose(r, refReport(yTrue, yPred, 6));
    expect(r.zeroDivision).toEqual({ precision: [1], recall: [3] });
  });

  it('agrees with the label-array reference on random data', () => {
    const rand = rng(11);
    for (let trial = 0; trial < 50; trial++) {
      const K = 1 + Math.floor(rand() * 8);
      const n = 1 + Math.floor(rand() * 60);
      const yTrue = Array.from({ length: n }, () => Math.floor(rand() * K));
      const yPred = yTrue.map((t) => (rand() < 0.6 ? t : Math.floor(rand() * K)));
      expectClose(countsOf(yTrue, yPred, K), refReport(yTrue, yPred, K));
    }
  });
});

describe('ConfusionCounts', () => {
  it('dense and sparse storage give the same cells and merge exactly', () => {
    const rand = rng(5);
    const K = DENSE_MAX + 1; // sparse
    const a = new ConfusionCounts(K);
    const b = new ConfusionCounts(K);
    const small = new ConfusionCounts(7); // dense
    const want = new Map<string, number>();
    for (let i = 0; i < 500; i++) {
      const t = Math.floor(rand() * K);
      const p = rand() < 0.5 ? t : Math.floor(rand() * K);
      (i % 2 ? a : b).add(t, p);
      want.set(`${t},${p}`, (want.get(`${t},${p}`) ?? 0) + 1);
      small.add(t % 7, p % 7);
    }
    a.merge(b);
    const got = new Map(a.entries().map(([t, p, n]) => [`${t},${p}`, n]));
    expect(got).toEqual(want);
    expect(small.matrix().flat().reduce((x, y) => x + y, 0)).toBe(500);
  });
});

describeEachBackend('ScoreAccumulator: classification and confusion', (lk) => {
  const C = 5;
  const R = 400;
  const rand = rng(3);
  const x = Float32Array.from({ length: R * C }, () => (rand() - 0.5) * 6);
  const y = Int32Array.from({ length: R }, () => Math.floor(rand() * (C - 1))); // class 4 never true

  it('the report and the matrix come from the rows, and shards merged through JSON stats equal one run', () => {
    const whole = new ScoreAccumulator(C).addSource(lk(), { rows: R, classes: C, hasLabels: true, blocks: () => [{ x, labels: y, rows: R, start: 0 }] });
    const pred = Array.from(lk().argmax(x, C));
    const s = whole.summary();
    expectClose(s.classification, refReport(Array.from(y), pred, C));
    const m = s.confusion!.matrix();
    for (let t = 0; t < C; t++) for (let p = 0; p < C; p++) expect(m[t][p]).toBe(pred.filter((q, i) => y[i] === t && q === p).length);
    // three shards, through JSON
    const cuts = [0, 130, 131, R];
    let merged: ScoreAccumulator | null = null;
    for (let k = 0; k < 3; k++) {
      const [a, b] = [cuts[k], cuts[k + 1]];
      const part = new ScoreAccumulator(C);
      part.addBlock(lk(), x.subarray(a * C, b * C), y.subarray(a, b));
      const back = ScoreAccumulator.fromStats(JSON.parse(JSON.stringify(part.toStats())));
      merged = merged ? merged.merge(back) : back;
    }
    const ms = merged!.summary();
    expect(ms.confusion!.matrix()).toEqual(m);
    expect(ms.classification).toEqual(s.classification);
  });

  it('statistics without confusion cells (older shards) still merge, without a matrix', () => {
    const part = new ScoreAccumulator(C);
    part.addBlock(lk(), x, y);
    const stats = part.toStats();
    delete stats.confusion;
    const old = ScoreAccumulator.fromStats(JSON.parse(JSON.stringify(stats)));
    const merged = ScoreAccumulator.fromStats(JSON.parse(JSON.stringify(part.toStats()))).merge(old);
    expect(merged.summary().confusion).toBeNull();
    expect(merged.summary().classification.macro.f1).toBeCloseTo(part.summary().classification.macro.f1, 14);
    const bad = { ...part.toStats(), confusion: [[0, 9, 1]] };
    expect(() => ScoreAccumulator.fromStats(bad)).toThrow(/malformed cell \[0,9,1\]/);
  });
});

describe('logitkit score --json: classification, confusion, merge', () => {
  const { dir, exec } = cliSandbox('classification');

  it('reports the JSON keys scripts rely on; merge of two shards gives the whole run exactly', async () => {
    const C = 4;
    const rand = rng(9);
    const x = Float32Array.from({ length: 300 * C }, () => rand() * 4);
    const y = Int32Array.from({ length: 300 }, () => Math.floor(rand() * C));
    const write = (name: string, a: number, b: number) => {
      writeNpyRaw(join(dir, `${name}.npy`), '<f4', [b - a, C], new Uint8Array(x.slice(a * C, b * C).buffer));
      writeNpyRaw(join(dir, `${name}-y.npy`), '<i4', [b - a], encodeNpyData('<i4', y.slice(a, b)));
    };
    write('all', 0, 300);
    write('a', 0, 120);
    write('b', 120, 300);
    const json = async (...args: string[]) => {
      const r = await exec(...args, '--json');
      expect(r.code, r.stderr).toBe(0);
      return JSON.parse(r.stdout);
    };
    const whole = await json('score', 'all.npy', '--labels', 'all-y.npy');
    for (const k of [0, 1, 2, 3]) expect(Object.keys(whole.classification.perClass[k]).sort()).toEqual(['f1', 'precision', 'recall', 'support']);
    expect(Object.keys(whole.classification.macro).sort()).toEqual(['f1', 'precision', 'recall']);
    expect(typeof whole.classification.balancedAccuracy).toBe('number');
    expect(whole.confusion.flat().reduce((p: number, q: number) => p + q, 0)).toBe(300);
    writeFileSync(join(dir, 'a.json'), JSON.stringify(await json('score', 'a.npy', '--labels', 'a-y.npy')));
    writeFileSync(join(dir, 'b.json'), JSON.stringify(await json('score', 'b.npy', '--labels', 'b-y.npy')));
    const merged = await json('merge', 'a.json', 'b.json');
    expect(merged.confusion).toEqual(whole.confusion);
    expect(merged.classification).toEqual(whole.classification);
  });

  it('leaves the matrix out above 256 classes unless --confusion asks for it', async () => {
    const C = 300;
    const x = Float32Array.from({ length: 3 * C }, (_, i) => (i % C === (i / C) % 7 ? 5 : 0));
    writeNpyRaw(join(dir, 'wide.npy'), '<f4', [3, C], new Uint8Array(x.buffer));
    writeNpyRaw(join(dir, 'wide-y.npy'), '<i4', [3], encodeNpyData('<i4', [0, 1, 2]));
    const plain = JSON.parse((await exec('score', 'wide.npy', '--labels', 'wide-y.npy', '--json')).stdout);
    expect(plain.confusion).toBeUndefined();
    expect(plain.classification.perClass).toHaveLength(C);
    const asked = JSON.parse((await exec('score', 'wide.npy', '--labels', 'wide-y.npy', '--json', '--confusion')).stdout);
    expect(asked.confusion).toHaveLength(C);
  });
});

describe('--class-names', () => {
  const { dir, exec } = cliSandbox('names');
  const x = Float32Array.from([3, 0, 0, 0, 3, 0, 0, 0, 3, 3, 0, 0]);
  writeNpyRaw(join(dir, 'x.npy'), '<f4', [4, 3], new Uint8Array(x.buffer));
  writeNpyRaw(join(dir, 'y.npy'), '<i4', [4], encodeNpyData('<i4', [0, 1, 2, 1]));
  // a second shard with other rows (merge refuses the same input twice)
  writeNpyRaw(join(dir, 'x2.npy'), '<f4', [4, 3], new Uint8Array(x.map((v) => v / 2).buffer));
  writeFileSync(join(dir, 'names.txt'), 'cat\ndog\nbird\n');
  writeFileSync(join(dir, 'names.json'), '["cat", "dog", "bird"]');
  writeFileSync(join(dir, 'other.json'), '["chat", "chien", "oiseau"]');
  writeFileSync(join(dir, 'two.txt'), 'cat\ndog\n');

  it('names every table and the JSON, from lines or a JSON array', async () => {
    const text = await exec('score', 'x.npy', '--labels', 'y.npy', '--class-names', 'names.txt');
    expect(text.code, text.stderr).toBe(0);
    expect(text.stderr).toMatch(/\n {2}1 dog +2 +50\.0%/);
    const j = JSON.parse((await exec('score', 'x.npy', '--labels', 'y.npy', '--class-names', 'names.json', '--json')).stdout);
    expect(j.classNames).toEqual(['cat', 'dog', 'bird']);
    expect(j.perClass.map((c: { name: string }) => c.name)).toEqual(['cat', 'dog', 'bird']);
    (await exec('score', 'x.npy', '--labels', 'y.npy', '--class-names', 'names.txt', '--report', 'r.md'));
    expect(readFileSync(join(dir, 'r.md'), 'utf8')).toMatch(/\| 2 bird \| 1 \|/);
  });

  it('a wrong count, and shards whose names disagree, are errors naming the file', async () => {
    const bad = await exec('score', 'x.npy', '--labels', 'y.npy', '--class-names', 'two.txt');
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/two\.txt: 2 class names, but the logits have 3 classes/);
    writeFileSync(join(dir, 'a.json'), (await exec('score', 'x.npy', '--labels', 'y.npy', '--class-names', 'names.txt', '--json')).stdout);
    writeFileSync(join(dir, 'b.json'), (await exec('score', 'x2.npy', '--labels', 'y.npy', '--class-names', 'other.json', '--json')).stdout);
    const m = await exec('merge', 'a.json', 'b.json');
    expect(m.code).toBe(1);
    expect(m.stderr).toMatch(/b\.json: its class names differ from those of a\.json; pass --class-names FILE to choose/);
    const chosen = JSON.parse((await exec('merge', 'a.json', 'b.json', '--class-names', 'names.json', '--json')).stdout);
    expect(chosen.classNames).toEqual(['cat', 'dog', 'bird']);
  });
});
