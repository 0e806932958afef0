// AUROC: the binned, streamed one-vs-rest AUROC against the exact rank-based definition (every
// positive/negative pair, ties ½) computed here in float64 by sorting, on hard cases; merged through JSON.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { encodeNpyData, writeNpyRaw } from '../src/io/npy.js';
import { AUROC_BINS, AurocCounts, aurocBin } from '../src/metrics/auroc.js';
import { ScoreAccumulator } from '../src/metrics/summary.js';
import { describeEachBackend } from './helpers/backends.js';
import { cliSandbox } from './helpers/cli.js';
import { exactAuroc } from './helpers/auroc.js';
import { normal, rng } from './helpers/random.js';
import { init } from '../src/index.js';

// The engine that counts the histograms (lk.aurocHistogram) for the single-column checks below.
const engine = await init();

/** Binned AUROC of a single score column (one class k = 0 of a 1-class layout with labels 0/other). */
function binned(scores: Float32Array, positive: boolean[]) {
  const acc = new AurocCounts(2);
  const p = new Float32Array(scores.length * 2);
  const y = new Int32Array(scores.length);
  scores.forEach((s, i) => {
    p[2 * i] = s;
    p[2 * i + 1] = 0.5;
    y[i] = positive[i] ? 0 : 1;
  });
  acc.addBlock(engine, p, y);
  return acc.report([1, 1]);
}

function check(scores: Float32Array, positive: boolean[], tol = 1e-4) {
  const exact = exactAuroc(Array.from(scores), positive)!;
  const got = binned(scores, positive);
  expect(Math.abs(got.perClass[0]! - exact)).toBeLessThan(tol);
  expect(Math.abs(got.perClass[0]! - exact)).toBeLessThanOrEqual(got.errorBound + 1e-12);
  return { exact, got: got.perClass[0]!, bound: got.errorBound };
}

describe('aurocBin', () => {
  it('is monotone over float32 scores in [0, 1], keeps ties together and covers every bin index range', () => {
    const r = rng(3);
    const ps: number[] = [0, 1, 0.5, Math.fround(1 - 2 ** -24), 2 ** -41, 2 ** -42, 1e-45, Math.fround(0.5 - 2 ** -25)];
    for (let i = 0; i < 20000; i++) ps.push(Math.fround(r()), Math.fround(r() ** 20), Math.fround(1 - r() ** 20));
    const f = ps.map(Math.fround).sort((a, b) => a - b);
    let bad = -1;
    for (let i = 1; i < f.length; i++) if (aurocBin(f[i]) < aurocBin(f[i - 1]) || (f[i] === f[i - 1] && aurocBin(f[i]) !== aurocBin(f[i - 1]))) bad = i;
    expect(bad).toBe(-1);
    expect(aurocBin(0)).toBe(0);
    expect(aurocBin(1)).toBe(AUROC_BINS - 1);
    expect(aurocBin(Math.fround(1 - 2 ** -24))).toBe(AUROC_BINS - 2);
    expect(aurocBin(2 ** -42)).toBe(0);
    expect(aurocBin(2 ** -41)).toBe(1);
    // ½ sits right above the last bin below it
    expect(aurocBin(0.5)).toBeGreaterThan(aurocBin(Math.fround(0.5 - 2 ** -25)));
    expect(aurocBin(Math.fround(0.5 + 2 ** -24))).toBeGreaterThan(aurocBin(0.5));
    // near 1, scores 1e-7 apart are told apart
    expect(aurocBin(Math.fround(1 - 3e-7))).toBeLessThan(aurocBin(Math.fround(1 - 1e-7)));
  });
});

describe('binned AUROC within 1e-4 of the exact rank-based AUROC', () => {
  it('heavily overlapping scores (two close normals through a sigmoid)', () => {
    for (const seed of [1, 2, 3]) {
      const r = rng(seed);
      const n = 20000;
      const pos = Array.from({ length: n }, () => r() < 0.3);
      const s = Float32Array.from(pos, (q) => 1 / (1 + Math.exp(-(normal(r) + (q ? 0.3 : 0)))));
      const { exact } = check(s, pos);
      expect(exact).toBeGreaterThan(0.55);
      expect(exact).toBeLessThan(0.65);
    }
  });

  it('many ties: scores on a grid of 11 values', () => {
    const r = rng(7);
    const pos = Array.from({ length: 5000 }, () => r() < 0.5);
    const s = Float32Array.from(pos, (q) => Math.round(Math.min(1, Math.max(0, r() * 0.8 + (q ? 0.2 : 0))) * 10) / 10);
    const { exact, got } = check(s, pos, 1e-12); // exact ties are ties in the bins too
    expect(got).toBeCloseTo(exact, 12);
  });

  it('p ≈ 1: positives and negatives both within 1e-5 of 1, overlapping', () => {
    const r = rng(11);
    const pos = Array.from({ length: 20000 }, () => r() < 0.5);
    const s = Float32Array.from(pos, (q) => 1 - Math.exp(-12 - 2 * r() - (q ? 1 : 0)));
    const { exact } = check(s, pos);
    expect(exact).toBeGreaterThan(0.6);
  });

  it('p ≈ 0: log-scale negatives down to 1e-12', () => {
    const r = rng(12);
    const pos = Array.from({ length: 20000 }, () => r() < 0.1);
    const s = Float32Array.from(pos, (q) => Math.exp(-27 * r() - (q ? 0 : 1)));
    check(s, pos);
  });

  it('tiny classes: one positive, one negative, all-equal scores, and classes with no negatives', () => {
    check(Float32Array.of(0.3, 0.2, 0.4, 0.1), [true, false, false, false]);
    check(Float32Array.of(0.2, 0.7), [false, true]);
    check(Float32Array.of(0.7, 0.2), [false, true]);
    check(Float32Array.of(0.25, 0.25, 0.25), [false, true, false]);
    const none = binned(Float32Array.of(0.1, 0.2), [true, true]);
    expect(none.perClass[0]).toBeNull();
    expect(none.perClass[1]).toBeNull();
    expect(none.macro).toBeNaN();
  });

  it('the bound is reported honestly where bins do crowd: scores all within 0.1% of 0.01', () => {
    const r = rng(5);
    const pos = Array.from({ length: 4000 }, () => r() < 0.5);
    const s = Float32Array.from(pos, (q) => 0.01 * (1 + 1e-3 * (r() + (q ? 0.5 : 0))));
    const exact = exactAuroc(Array.from(s), pos)!;
    const got = binned(s, pos);
    expect(Math.abs(got.perClass[0]! - exact)).toBeLessThanOrEqual(got.errorBound + 1e-12);
    expect(got.errorBound).toBeGreaterThan(1e-4); // said, not hidden
  });
});

/** Float64 one-vs-rest AUROC per class of softmax(x) with its macro and weighted averages. */
function reference(x: Float32Array, C: number, y: Int32Array) {
  const n = y.length;
  const p = new Float64Array(n * C);
  for (let r = 0; r < n; r++) {
    let m = -Infinity;
    for (let j = 0; j < C; j++) m = Math.max(m, x[r * C + j]);
    let z = 0;
    for (let j = 0; j < C; j++) z += Math.exp(x[r * C + j] - m);
    for (let j = 0; j < C; j++) p[r * C + j] = Math.exp(x[r * C + j] - m) / z;
  }
  const perClass: (number | null)[] = [];
  let sum = 0;
  let ws = 0;
  let w = 0;
  let cnt = 0;
  for (let k = 0; k < C; k++) {
    const s = Array.from({ length: n }, (_, r) => Math.fround(p[r * C + k]));
    const a = exactAuroc(s, Array.from(y, (v) => v === k));
    perClass.push(a);
    if (a === null) continue;
    const sup = y.filter((v) => v === k).length;
    sum += a;
    cnt++;
    ws += sup * a;
    w += sup;
  }
  return { perClass, macro: sum / cnt, weighted: ws / w };
}

describeEachBackend('AUROC in the score summary', (lk) => {
  it('matches the float64 reference per class, macro and weighted; a class without positives is null', () => {
    const C = 7;
    const n = 3001;
    const r = rng(21);
    const y = Int32Array.from({ length: n }, () => Math.floor(r() * (C - 1))); // class 6 never occurs
    const x = new Float32Array(n * C);
    for (let i = 0; i < n; i++) for (let j = 0; j < C; j++) x[i * C + j] = normal(r) + (j === y[i] ? 0.8 : 0);
    const acc = new ScoreAccumulator(C);
    acc.addBlock(lk(), x, y);
    const s = acc.summary();
    const ref = reference(x, C, y);
    expect(s.auroc!.perClass[6]).toBeNull();
    for (let k = 0; k < C - 1; k++) expect(Math.abs(s.auroc!.perClass[k]! - ref.perClass[k]!)).toBeLessThan(1e-4);
    expect(Math.abs(s.auroc!.macro - ref.macro)).toBeLessThan(1e-4);
    expect(Math.abs(s.auroc!.weighted - ref.weighted)).toBeLessThan(1e-4);
    // the worst-case bound (every pair in one bin misordered) is looser than the real error
    expect(s.auroc!.errorBound).toBeLessThan(1e-3);
  });

  it('merges exactly through JSON statistics, in any split', () => {
    const C = 5;
    const n = 1000;
    const r = rng(8);
    const y = Int32Array.from({ length: n }, () => Math.floor(r() * C));
    const x = new Float32Array(n * C);
    for (let i = 0; i < n; i++) for (let j = 0; j < C; j++) x[i * C + j] = 2 * normal(r) + (j === y[i] ? 1 : 0);
    const whole = new ScoreAccumulator(C);
    whole.addBlock(lk(), x, y);
    const parts = [0, 123, 124, 700, n].slice(1).map((end, i, a) => {
      const start = i === 0 ? 0 : a[i - 1];
      const acc = new ScoreAccumulator(C);
      acc.addBlock(lk(), x.subarray(start * C, end * C), y.subarray(start, end));
      return ScoreAccumulator.fromStats(JSON.parse(JSON.stringify(acc.toStats())));
    });
    const merged = parts.reduce((a, b) => a.merge(b));
    expect(merged.summary().auroc).toEqual(whole.summary().auroc);
    expect(merged.auroc!.dense()).toEqual(whole.auroc!.dense());
  });

  it('rejects malformed AUROC statistics by name; counts beyond 2^32 survive the round trip', () => {
    const acc = new ScoreAccumulator(3);
    acc.addBlock(lk(), Float32Array.of(1, 2, 3, 3, 2, 1), Int32Array.of(2, 0));
    const st = acc.toStats();
    for (const bins of ['!!', 'gA==', 'AQEBAQ', 42, '/////////w==']) {
      expect(() => ScoreAccumulator.fromStats({ ...st, auroc: { ...st.auroc!, bins, nanRows: 0 } }, 'a.json')).toThrow(/a\.json: stats\.auroc\.bins is malformed/);
    }
    // the hand-written base64 is standard base64 (Buffer agrees), for every length mod 3
    for (const extra of [0, 1, 2]) {
      const a = new ScoreAccumulator(3);
      a.addBlock(lk(), Float32Array.of(1, 2, 3, 3, 2, 1), Int32Array.of(2, 0));
      for (let i = 0; i < extra; i++) a.auroc!.addCount(100 + i, 1, 0);
      const text = a.auroc!.encode();
      expect(Buffer.from(Buffer.from(text, 'base64')).toString('base64')).toBe(text);
      const b = ScoreAccumulator.fromStats(JSON.parse(JSON.stringify(a.toStats())));
      expect(b.auroc!.dense()).toEqual(a.auroc!.dense());
    }
    acc.auroc!.addCount(5, 2 ** 40 + 3, 2 ** 33); // past the Uint32 counts: promoted to float64
    expect(acc.auroc!.pos(5)).toBe(2 ** 40 + 3 + 0); // the rows added above never land in bin 5
    const back = ScoreAccumulator.fromStats(JSON.parse(JSON.stringify(acc.toStats())));
    expect(back.auroc!.dense()).toEqual(acc.auroc!.dense());
    expect(back.auroc!.neg(5)).toBe(2 ** 33);
  });

  it('rows with NaN softmax make AUROC NaN (as ECE), and the engine goes on', () => {
    const acc = new ScoreAccumulator(3);
    acc.addBlock(lk(), Float32Array.of(1, 2, 3, NaN, 0, 0, 3, 2, 1), Int32Array.of(2, 0, 0));
    const a = acc.summary().auroc!;
    expect(a.macro).toBeNaN();
    expect(a.perClass[0]).toBeNaN();
    expect(a.perClass[1]).toBeNull(); // no positives: still null
  });
});

describe('AUROC memory bound', () => {
  it('is not kept above AUROC_MAX_CLASSES classes (null in the summary)', async () => {
    const { AUROC_MAX_CLASSES } = await import('../src/metrics/auroc.js');
    const acc = new ScoreAccumulator(AUROC_MAX_CLASSES + 1);
    expect(acc.auroc).toBeNull();
  });
});

describe('logitkit score --json: auroc, merge, report', () => {
  const { dir, exec } = cliSandbox('auroc');
  const json = async (...args: string[]) => {
    const r = await exec(...args, '--json');
    expect(r.code, r.stderr).toBe(0);
    return JSON.parse(r.stdout);
  };

  it('auroc.{perClass, macro, weighted} match the reference; merge of shards equals the whole run; report and text show it', async () => {
    const C = 4;
    const n = 2000;
    const r = rng(31);
    const y = Int32Array.from({ length: n }, () => Math.floor(r() * C));
    const x = new Float32Array(n * C);
    for (let i = 0; i < n; i++) for (let j = 0; j < C; j++) x[i * C + j] = 1.5 * normal(r) + (j === y[i] ? 1 : 0);
    const write = (name: string, a: number, b: number) => {
      writeNpyRaw(join(dir, `${name}.npy`), '<f4', [b - a, C], new Uint8Array(x.slice(a * C, b * C).buffer));
      writeNpyRaw(join(dir, `${name}-y.npy`), '<i4', [b - a], encodeNpyData('<i4', y.slice(a, b)));
    };
    write('all', 0, n);
    write('a', 0, 777);
    write('b', 777, n);
    const whole = await json('score', 'all.npy', '--labels', 'all-y.npy', '--report', 'r.md');
    const ref = reference(x, C, y);
    expect(whole.auroc.perClass).toHaveLength(C);
    for (let k = 0; k < C; k++) expect(Math.abs(whole.auroc.perClass[k] - ref.perClass[k]!)).toBeLessThan(1e-4);
    expect(Math.abs(whole.auroc.macro - ref.macro)).toBeLessThan(1e-4);
    expect(Math.abs(whole.auroc.weighted - ref.weighted)).toBeLessThan(1e-4);
    writeFileSync(join(dir, 'a.json'), JSON.stringify(await json('score', 'a.npy', '--labels', 'a-y.npy')));
    writeFileSync(join(dir, 'b.json'), JSON.stringify(await json('score', 'b.npy', '--labels', 'b-y.npy')));
    expect((await json('merge', 'a.json', 'b.json')).auroc).toEqual(whole.auroc);
    const md = readFileSync(join(dir, 'r.md'), 'utf8');
    expect(Number(/\| macro AUROC \| ([\d.]+) \|/.exec(md)![1])).toBeCloseTo(whole.auroc.macro, 4);
    const text = await exec('score', 'all.npy', '--labels', 'all-y.npy', '--report', 'r.html');
    expect(text.stderr).toMatch(/AUROC \(one-vs-rest\): macro 0\.\d+ /);
    expect(readFileSync(join(dir, 'r.html'), 'utf8')).toContain('<th>AUROC</th>');
  });
});
