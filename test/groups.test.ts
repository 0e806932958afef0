// Slices: figures per group, gaps, and Fairlearn's demographic parity and equalized odds differences,
// against a reference computed here from plain arrays; merged across shards; through the CLI.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { encodeNpyData, writeNpyRaw } from '../src/io/npy.js';
import { binOf } from '../src/metrics/calibration.js';
import { readFileSync } from 'node:fs';
import { GroupAccumulator, MAX_GROUPS } from '../src/metrics/groups.js';
import { ScoreAccumulator } from '../src/metrics/summary.js';
import { describeEachBackend } from './helpers/backends.js';
import { cliSandbox } from './helpers/cli.js';
import { rng } from './helpers/random.js';

/** Per-group figures from per-row log-probabilities, written from the definitions. */
function refGroups(lp: Float64Array, C: number, y: ArrayLike<number>, g: ArrayLike<number>, M = 15) {
  const ids = [...new Set(Array.from(g))].sort((a, b) => a - b);
  const out: Record<string, { rows: number; accuracy: number; nll: number; ece: number; selectionRate?: number; tpr?: number | null; fpr?: number | null }> = {};
  for (const id of ids) {
    const rows = Array.from(g).flatMap((v, i) => (v === id ? [i] : []));
    let correct = 0;
    let nll = 0;
    const bins = Array.from({ length: M }, () => ({ n: 0, conf: 0, ok: 0 }));
    let sel = 0;
    let tp = 0;
    let pos = 0;
    let fp = 0;
    let neg = 0;
    for (const i of rows) {
      let pred = 0;
      for (let j = 1; j < C; j++) if (lp[i * C + j] > lp[i * C + pred]) pred = j;
      const ok = pred === y[i] ? 1 : 0;
      correct += ok;
      nll -= lp[i * C + y[i]];
      const conf = Math.exp(lp[i * C + pred]);
      const b = bins[binOf(conf, M)];
      b.n++;
      b.conf += conf;
      b.ok += ok;
      sel += pred === 1 ? 1 : 0;
      if (y[i] === 1) {
        pos++;
        tp += pred === 1 ? 1 : 0;
      } else {
        neg++;
        fp += pred === 1 ? 1 : 0;
      }
    }
    const f: (typeof out)[string] = {
      rows: rows.length,
      accuracy: correct / rows.length,
      nll: nll / rows.length,
      ece: bins.reduce((a, b) => a + Math.abs(b.ok - b.conf), 0) / rows.length,
    };
    if (C === 2) Object.assign(f, { selectionRate: sel / rows.length, tpr: pos ? tp / pos : null, fpr: neg ? fp / neg : null });
    out[String(id)] = f;
  }
  return out;
}

const close = (a: number, b: number, tol = 1e-6) => expect(Math.abs(a - b)).toBeLessThanOrEqual(tol);

describeEachBackend('ScoreAccumulator with groups', (lk) => {
  for (const C of [2, 5]) {
    it(`${C} classes: per-group figures, gaps${C === 2 ? ', fairness differences' : ''}, and an exact merge`, () => {
      const R = 900;
      const rand = rng(C * 31);
      const x = Float32Array.from({ length: R * C }, () => (rand() - 0.5) * 4);
      const y = Int32Array.from({ length: R }, () => Math.floor(rand() * C));
      // group 7 has no positives in the binary case (its TPR is undefined; Fairlearn counts it as 0)
      const g = Int32Array.from({ length: R }, (_, i) => (i % 5 === 0 ? 7 : i % 3));
      if (C === 2) for (let i = 0; i < R; i += 5) y[i] = 0;
      const acc = new ScoreAccumulator(C, { groups: true });
      acc.addBlock(lk(), x, y, g);
      const s = acc.summary();
      const want = refGroups(Float64Array.from(lk().logSoftmax(x, C)), C, y, g);
      expect(Object.keys(s.slices!.groups)).toEqual(['0', '1', '2', '7']);
      for (const [id, w] of Object.entries(want)) {
        const got = s.slices!.groups[id];
        expect(got.rows).toBe(w.rows);
        close(got.accuracy, w.accuracy, 0);
        close(got.nll, w.nll);
        close(got.ece, w.ece, 1e-5);
        if (C === 2) {
          close(got.selectionRate!, w.selectionRate!, 0);
          expect(got.tpr === null).toBe(w.tpr === null);
          if (w.tpr !== null) close(got.tpr!, w.tpr!, 0);
          close(got.fpr!, w.fpr!, 0);
        }
      }
      const accs = Object.values(want).map((w) => w.accuracy);
      close(s.slices!.groupGaps.accuracy.gap, Math.max(...accs) - Math.min(...accs), 1e-15);
      close(s.slices!.groupGaps.accuracy.worstVsOverall, s.accuracy - Math.min(...accs), 1e-15);
      const worst = Object.entries(want).sort((a, b) => a[1].accuracy - b[1].accuracy)[0][0];
      expect(String(s.slices!.groupGaps.accuracy.worstGroup)).toBe(worst);
      if (C === 2) {
        const spread = (v: (number | null | undefined)[]) => {
          const xs = v.map((u) => u ?? 0);
          return Math.max(...xs) - Math.min(...xs);
        };
        const ws = Object.values(want);
        close(s.slices!.fairness!.demographicParityDifference, spread(ws.map((w) => w.selectionRate)), 1e-15);
        close(s.slices!.fairness!.equalizedOddsDifference, Math.max(spread(ws.map((w) => w.tpr)), spread(ws.map((w) => w.fpr))), 1e-15);
        expect(s.slices!.fairness!.groupsWithoutPositives).toEqual([7]);
        expect(s.slices!.fairness!.groupsWithoutNegatives).toEqual([]);
      } else expect(s.slices!.fairness).toBeUndefined();

      const parts = [0, 400, R].slice(0, -1).map((a, k) => {
        const b = [400, R][k];
        const p = new ScoreAccumulator(C, { groups: true });
        p.addBlock(lk(), x.subarray(a * C, b * C), y.subarray(a, b), g.subarray(a, b));
        return ScoreAccumulator.fromStats(JSON.parse(JSON.stringify(p.toStats())));
      });
      const merged = parts[0].merge(parts[1]).summary();
      for (const id of Object.keys(want)) {
        expect(merged.slices!.groups[id].rows).toBe(s.slices!.groups[id].rows);
        close(merged.slices!.groups[id].nll, s.slices!.groups[id].nll, 1e-12);
        close(merged.slices!.groups[id].ece, s.slices!.groups[id].ece, 1e-12);
      }
    });
  }

  it('refuses a negative id, too many groups, a missing groups array, and a group listed twice in stats', () => {
    const x = new Float32Array(6);
    const y = new Int32Array([0, 1, 0]);
    const acc = new ScoreAccumulator(2, { groups: true });
    expect(() => acc.addBlock(lk(), x, y, new Int32Array([0, -1, 0]))).toThrow(/group -1 at groups\[1\], expected an integer ≥ 0/);
    expect(() => new ScoreAccumulator(2, { groups: true }).addBlock(lk(), x, y)).toThrow(/groups must hold one id per row/);
    const many = new ScoreAccumulator(1, { groups: true });
    const n = MAX_GROUPS + 1;
    expect(() => many.addBlock(lk(), new Float32Array(n), new Int32Array(n), Int32Array.from({ length: n }, (_, i) => i))).toThrow(/more than 10000 distinct groups/);
    const ok = new ScoreAccumulator(2, { groups: true });
    ok.addBlock(lk(), x, y, new Int32Array([4, 4, 4]));
    const st = ok.toStats();
    st.groups!.push(st.groups![0]);
    expect(() => ScoreAccumulator.fromStats(st)).toThrow(/lists group 4 twice/);
  });
});

describe('logitkit score --groups', () => {
  const { dir, exec } = cliSandbox('groups');
  const x = Float32Array.from([2, 0, 0, 2, 2, 0, 0, 2, 1, 0, 1, 0]);
  writeNpyRaw(join(dir, 'x.npy'), '<f4', [6, 2], new Uint8Array(x.buffer));
  writeNpyRaw(join(dir, 'y.npy'), '<i4', [6], encodeNpyData('<i4', [0, 1, 1, 1, 0, 0]));
  writeNpyRaw(join(dir, 'g.npy'), '<i4', [6], encodeNpyData('<i4', [0, 0, 1, 1, 2, 2]));
  writeNpyRaw(join(dir, 'g5.npy'), '<i4', [5], encodeNpyData('<i4', [0, 0, 1, 1, 2]));

  it('writes groups, groupGaps and, for two classes, fairness in the JSON', async () => {
    const r = await exec('score', 'x.npy', '--labels', 'y.npy', '--groups', 'g.npy', '--json');
    expect(r.code, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(Object.keys(j.groups)).toEqual(['0', '1', '2']);
    expect(j.groups['1']).toMatchObject({ rows: 2, accuracy: 0.5 });
    expect(Object.keys(j.groupGaps).sort()).toEqual(['accuracy', 'ece', 'nll']);
    expect(j.groupGaps.accuracy.gap).toBe(0.5);
    // selection rates: group 0 predicts [0, 1] → 1/2; group 1 [0, 1] → 1/2; group 2 [0, 0] → 0
    expect(j.fairness.demographicParityDifference).toBe(0.5);
    // group 1 holds only y = 1 rows, group 2 only y = 0: named in the JSON and in the summary
    expect(j.fairness.groupsWithoutPositives).toEqual([2]);
    expect(j.fairness.groupsWithoutNegatives).toEqual([1]);
    const text = await exec('score', 'x.npy', '--labels', 'y.npy', '--groups', 'g.npy');
    expect(text.stderr).toMatch(/note: group 2 has no positives \(y = 1\); TPR counted as 0 there, as Fairlearn does/);
    expect(text.stderr).toMatch(/note: group 1 has no negatives \(y = 0\); FPR counted as 0 there/);
  });

  it('a row count that differs, and --groups on calibrate, are errors', async () => {
    const r = await exec('score', 'x.npy', '--labels', 'y.npy', '--groups', 'g5.npy');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/g5\.npy: has 5 group ids but .*x\.npy has 6 rows/);
    expect((await exec('calibrate', 'x.npy', '--labels', 'y.npy', '--groups', 'g.npy')).code).toBe(2);
    expect((await exec('score', 'x.npy', '--labels', 'y.npy', '--groups', 'nosuch')).stderr).toMatch(/--groups nosuch: no such file, and .*x\.npy holds no array 'nosuch'/);
  });
});

interface FairnessCase {
  name: string;
  y: number[];
  pred: number[];
  groups: number[];
  equalizedOddsDifference: number;
  demographicParityDifference: number;
  noPositives: number[];
  noNegatives: number[];
}

// Fairlearn's definitions as scikit-learn computes them (scripts/sklearn-fairness-reference.py wrote
// the fixture with sklearn 1.2's normalised confusion matrix; Fairlearn is not a dependency).
describe("fairness differences as Fairlearn defines them (sklearn's normalised confusion matrix)", () => {
  const fixture = JSON.parse(readFileSync(join(import.meta.dirname, 'fixtures', 'sklearn-fairness.json'), 'utf8')) as { cases: FairnessCase[] };
  it.each(fixture.cases.map((c) => [c.name, c] as const))('%s', (_name, c) => {
    const acc = new GroupAccumulator(2, 15);
    c.y.forEach((y, i) => acc.add(c.groups[i]!, 0, 0.5, y, c.pred[i]!, () => `row ${i}`));
    const f = acc.report({ accuracy: 0, nll: 0, ece: 0 }).fairness!;
    close(f.equalizedOddsDifference, c.equalizedOddsDifference, 1e-12);
    close(f.demographicParityDifference, c.demographicParityDifference, 1e-12);
    expect(f.groupsWithoutPositives).toEqual(c.noPositives);
    expect(f.groupsWithoutNegatives).toEqual(c.noNegatives);
  });
});
