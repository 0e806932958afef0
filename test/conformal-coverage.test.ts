// The coverage guarantee, empirically, on real classifiers (netcal's CIFAR-10 records in
// data/sample/): over many random calibration/test splits the mean coverage of the prediction
// sets lies in [1 − α − 0.01, 1 − α + 1/(n + 1) + 0.01] for every method; and conformalMetrics
// against a brute-force count.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { conformalMetrics, init, type ConformalMethodName, type Engine } from '../src/index.js';
import { readNpyFloat32, readNpyInt32 } from '../src/io/npy.js';
import { rng } from './helpers/random.js';

const root = join(import.meta.dirname, '..');
const DATA = [
  ['WideResNet-16-4', 'data/sample/logits.npy', 'data/sample/labels.npy'],
  ['LeNet-5', 'data/sample/lenet-logits.npy', 'data/sample/lenet-labels.npy'],
] as const;
const SPLITS = 25;
const N_CAL = 1000;

/** A random permutation of 0..n−1 (Fisher–Yates). */
function permutation(n: number, r: () => number): Int32Array {
  const p = Int32Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(r() * (i + 1));
    [p[i], p[j]] = [p[j]!, p[i]!];
  }
  return p;
}

function gather(x: Float32Array, y: Int32Array, C: number, idx: Int32Array) {
  const xs = new Float32Array(idx.length * C);
  const ys = new Int32Array(idx.length);
  idx.forEach((i, k) => {
    xs.set(x.subarray(i * C, (i + 1) * C), k * C);
    ys[k] = y[i]!;
  });
  return { x: xs, y: ys };
}

const loaded = new Map<string, { x: Float32Array; y: Int32Array; C: number }>();
function load(logits: string, labels: string) {
  let d = loaded.get(logits);
  if (!d) {
    const { data: x, shape } = readNpyFloat32(join(root, logits));
    d = { x, y: readNpyInt32(join(root, labels)).data, C: shape[1]! };
    loaded.set(logits, d);
  }
  return d;
}
let engine: Promise<Engine> | undefined;

describe('conformal coverage on netcal records', () => {
  const table: string[] = [];
  for (const [name, logits, labels] of DATA) {
    for (const alpha of [0.1, 0.05]) {
      for (const method of ['lac', 'aps', 'raps'] as ConformalMethodName[]) {
        it(`${name}, ${method}, α = ${alpha}: mean coverage over ${SPLITS} splits within [1 − α − 0.01, 1 − α + 1/(n + 1) + 0.01]`, async () => {
          const lk = await (engine ??= init({ backend: 'wasm' }));
          const { x, y, C } = load(logits, labels);
          const r = rng(24);
          let coverage = 0;
          let size = 0;
          for (let s = 0; s < SPLITS; s++) {
            const perm = permutation(y.length, r);
            const cal = gather(x, y, C, perm.subarray(0, N_CAL));
            const test = gather(x, y, C, perm.subarray(N_CAL));
            const model = lk.conformalCalibrate(cal.x, C, cal.y, { method, alpha, seed: s, kReg: 2 });
            const m = conformalMetrics(lk.predictSets(test.x, C, model), test.y, { alpha, classes: C });
            coverage += m.coverage / SPLITS;
            size += m.meanSize / SPLITS;
          }
          table.push(`| ${name} | ${method} | ${alpha} | ${coverage.toFixed(4)} | [${(1 - alpha - 0.01).toFixed(4)}, ${(1 - alpha + 1 / (N_CAL + 1) + 0.01).toFixed(4)}] | ${size.toFixed(3)} |`);
          expect(coverage).toBeGreaterThanOrEqual(1 - alpha - 0.01);
          expect(coverage).toBeLessThanOrEqual(1 - alpha + 1 / (N_CAL + 1) + 0.01);
        });
      }
    }
  }
  it('prints the table', () => {
    console.log(['| model | method | α | mean coverage | allowed | mean set size |', '|---|---|---|---|---|---|', ...table].join('\n'));
    expect(table.length).toBe(12);
  });
});

describe('conformalMetrics', () => {
  it('coverage, sizes, buckets, per-class coverage and covGap against a brute-force count', () => {
    const r = rng(3);
    const C = 130;
    const rows = 400;
    const sizes = Int32Array.from({ length: rows }, () => [0, 1, 2, 3, 4, 10, 11, 100, 101, 130][Math.floor(r() * 10)]!);
    const offsets = new Int32Array(rows + 1);
    sizes.forEach((s, i) => (offsets[i + 1] = offsets[i]! + s));
    const indices = new Int32Array(offsets[rows]!);
    const labels = Int32Array.from({ length: rows }, () => Math.floor(r() * 7));
    for (let i = 0; i < rows; i++) {
      const start = Math.floor(r() * C);
      for (let k = 0; k < sizes[i]!; k++) indices[offsets[i]! + k] = (start + k) % C;
    }
    const m = conformalMetrics({ offsets, indices, sizes }, labels, { alpha: 0.1 });
    const hit = (i: number) => Array.from(indices.subarray(offsets[i]!, offsets[i + 1]!)).includes(labels[i]!);
    const all = Array.from({ length: rows }, (_, i) => i);
    expect(m.coverage).toBe(all.filter(hit).length / rows);
    expect(m.meanSize).toBe(offsets[rows]! / rows);
    expect(m.emptyRate).toBe(all.filter((i) => sizes[i] === 0).length / rows);
    const buckets: [string, (s: number) => boolean][] = [['0', (s) => s === 0], ['1', (s) => s === 1], ['2-3', (s) => s >= 2 && s <= 3], ['4-10', (s) => s >= 4 && s <= 10], ['11-100', (s) => s >= 11 && s <= 100], ['101+', (s) => s > 100]];
    expect(m.sizeStratified.map((b) => b.sizes)).toEqual(buckets.map((b) => b[0]));
    buckets.forEach(([, f], k) => {
      const inB = all.filter((i) => f(sizes[i]!));
      expect(m.sizeStratified[k]!.rows).toBe(inB.length);
      expect(m.sizeStratified[k]!.coverage).toBe(inB.length ? inB.filter(hit).length / inB.length : null);
    });
    expect(m.classCoverage.length).toBe(7);
    const per = Array.from({ length: 7 }, (_, c) => all.filter((i) => labels[i] === c));
    per.forEach((rs, c) => expect(m.classCoverage[c]).toBe(rs.filter(hit).length / rs.length));
    expect(m.covGap).toBeCloseTo(per.reduce((s, rs) => s + Math.abs(rs.filter(hit).length / rs.length - 0.9), 0) / 7, 14);
    // Classes without rows: null, and left out of covGap.
    const wide = conformalMetrics({ offsets, indices, sizes }, labels, { alpha: 0.1, classes: 9 });
    expect(wide.classCoverage.slice(7)).toEqual([null, null]);
    expect(wide.covGap).toBe(m.covGap);
    expect(conformalMetrics({ offsets: new Int32Array(1), indices: new Int32Array(0), sizes: new Int32Array(0) }, new Int32Array(0)).sizeStratified.every((b) => b.coverage === null)).toBe(true);
  });
});
