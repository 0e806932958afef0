// The AUROC reports' compact reads (issue 21, r9): AurocHistogram.classBins (the wasm kernel
// aurocClassBins and the JS reference) against classCells with its empty bins dropped — spilled cells
// at every limit, all-NaN rows, empty classes, 1 class, 1000 and AUROC_MAX_CLASSES classes;
// RowScoreAccumulator's out.py (each row's p_y, p's bits); and AurocCounts fed py, or read through
// the engine histogram, giving the same counts, report, average precision and encoded text as the
// dense reads of the same counts.
import { describe, expect, it } from 'vitest';
import { AUROC_BINS, AUROC_CELL_ROWS, AUROC_MAX_CLASSES } from '../src/auroc-bins.js';
import { AurocCounts } from '../src/metrics/auroc.js';
import { averagePrecisionReport } from '../src/metrics/average-precision.js';
import { describeEachBackend } from './helpers/backends.js';
import { codeOf } from './helpers/checks.js';
import { rng } from './helpers/random.js';

/** Softmax rows of random logits (spread `scale`), with whole NaN rows at `nanEvery`. */
function softmaxRows(rows: number, K: number, seed: number, scale = 4, nanEvery = 0): Float32Array {
  const r = rng(seed);
  const p = new Float32Array(rows * K);
  const z = new Float64Array(K);
  for (let i = 0; i < rows; i++) {
    if (nanEvery > 0 && i % nanEvery === 3) {
      p.fill(NaN, i * K, (i + 1) * K);
      continue;
    }
    let m = -Infinity;
    for (let k = 0; k < K; k++) m = Math.max(m, (z[k] = (r() - 0.5) * scale));
    let s = 0;
    for (let k = 0; k < K; k++) s += z[k] = Math.exp(z[k]! - m);
    for (let k = 0; k < K; k++) p[i * K + k] = z[k]! / s;
  }
  return p;
}

function labelsOf(rows: number, K: number, seed: number): Int32Array {
  const r = rng(seed);
  return Int32Array.from({ length: rows }, () => Math.floor(r() * K));
}

/** classCells(k) without its empty bins, as (bin, rows, position sum) triples. */
function sparseOf(cells: Uint32Array): number[] {
  const out: number[] = [];
  for (let b = 0; b < AUROC_BINS; b++) if (cells[2 * b] !== 0) out.push(b, cells[2 * b]!, cells[2 * b + 1]!);
  return out;
}

describeEachBackend('AurocHistogram.classBins', (lk) => {
  it('gives classCells without its empty bins, the spilled counts folded in, at cellRows 1, 2, 7 and the default', () => {
    const K = 4;
    const rows = 3000;
    const p = softmaxRows(rows, K, 5, 0.5, 41); // few bins a class: cells fill and spill
    for (const cellRows of [1, 2, 7, AUROC_CELL_ROWS]) {
      const h = lk().aurocHistogram(K, { cellRows });
      h.add(p.subarray(0, 1000 * K));
      h.add(p.subarray(1000 * K));
      const out = new Uint32Array(3 * AUROC_BINS + 5);
      for (let k = 0; k < K; k++) {
        const want = sparseOf(h.classCells(k));
        expect(want.length).toBeGreaterThan(0);
        expect(Array.from(h.classBins(k, out))).toEqual(want);
        expect(Array.from(h.classBins(k))).toEqual(want); // and without `out`
      }
      h.take();
    }
  });

  it('spills one bin past 16383 rows (its cell restarting at 0) and keeps it in order', () => {
    const K = 2;
    const rows = 2 * AUROC_CELL_ROWS; // class 0: every row at ½, spilled twice, the cell back at 0
    const p = new Float32Array(rows * K);
    for (let r = 0; r < rows; r++) {
      p[r * K] = 0.5;
      p[r * K + 1] = r % 5 === 0 ? 0.25 : 0.5;
    }
    const h = lk().aurocHistogram(K);
    h.add(p);
    for (let k = 0; k < K; k++) expect(Array.from(h.classBins(k))).toEqual(sparseOf(h.classCells(k)));
    const c0 = h.classBins(0);
    expect(c0.length).toBe(3);
    expect(c0[1]).toBe(rows);
  });

  it('is empty for a histogram without rows and for all-NaN rows; 1 class', () => {
    const h = lk().aurocHistogram(3);
    expect(h.classBins(2).length).toBe(0);
    expect(h.add(new Float32Array(6).fill(NaN))).toBe(2);
    for (let k = 0; k < 3; k++) expect(h.classBins(k).length).toBe(0);
    const one = lk().aurocHistogram(1);
    one.add(Float32Array.of(1, 1, 0.5, 0, 2 ** -50));
    expect(Array.from(one.classBins(0))).toEqual(sparseOf(one.classCells(0)));
    expect(one.classBins(0).length).toBe(3 * 3); // bins of p = 1, ½, 0 (and below 2^-41, with 0)
  });

  it(`reads 1000 and ${AUROC_MAX_CLASSES} classes one at a time, and refuses bad arguments with coded errors`, () => {
    for (const K of [1000, AUROC_MAX_CLASSES]) {
      const p = softmaxRows(50, K, K, 6, 17);
      const h = lk().aurocHistogram(K, { cellRows: 2 });
      h.add(p);
      const out = new Uint32Array(3 * AUROC_BINS);
      for (const k of [0, 1, K >> 1, K - 1]) expect(Array.from(h.classBins(k, out))).toEqual(sparseOf(h.classCells(k)));
      expect(codeOf(() => h.classBins(K))).toBe('invalid_argument');
      expect(codeOf(() => h.classBins(-1))).toBe('invalid_argument');
      expect(codeOf(() => h.classBins(0.5))).toBe('invalid_argument');
      expect(codeOf(() => h.classBins(0, new Uint32Array(3 * AUROC_BINS - 1)))).toBe('invalid_argument');
      expect(codeOf(() => h.classBins(0, new Float64Array(3 * AUROC_BINS) as unknown as Uint32Array))).toBe('invalid_argument');
      expect(h.classBins(0, out).length).toBeGreaterThan(0); // and it keeps working
      h.take();
      expect(codeOf(() => h.classBins(0))).toBe('invalid_argument');
    }
  });
});

describeEachBackend('RowScoreAccumulator out.py', (lk) => {
  for (const K of [1, 3, 100, 1000]) {
    it(`hands out each row's p_y with the bits of out.p, ${K} classes, NaN rows, T = 1 and 0.7`, () => {
      const rows = K === 1000 ? 40 : 300;
      const r = rng(K);
      const x = Float32Array.from({ length: rows * K }, () => (r() - 0.5) * 8);
      x[2 * K] = NaN; // a NaN row
      if (rows * K > 10 * K) x.fill(Infinity, 5 * K, 5 * K + 1);
      const labels = labelsOf(rows, K, K + 1);
      for (const temperature of [1, 0.7]) {
        const acc = lk().rowScoreAccumulator({ classes: K });
        const p = new Float32Array(rows * K);
        const py = new Float32Array(rows).fill(7);
        acc.add({ x, labels, temperature }, { p, py });
        const pb = new Uint32Array(p.buffer);
        const yb = new Uint32Array(py.buffer);
        let diff = 0;
        for (let i = 0; i < rows; i++) if (yb[i] !== pb[i * K + labels[i]!]) diff++;
        expect(diff).toBe(0);
        expect(py[2]).toBeNaN();
        // without out.p too
        const py2 = new Float32Array(rows);
        lk().rowScoreAccumulator({ classes: K }).add({ x, labels, temperature }, { py: py2 });
        expect(Buffer.from(py2.buffer).equals(Buffer.from(py.buffer))).toBe(true);
      }
    });
  }

  it('refuses an out.py of the wrong length or type with a coded error, and keeps working', () => {
    const acc = lk().rowScoreAccumulator({ classes: 2 });
    const block = { x: Float32Array.of(1, 2, 3, 4), labels: Int32Array.of(0, 1) };
    expect(codeOf(() => acc.add(block, { py: new Float32Array(3) }))).toBe('invalid_argument');
    expect(codeOf(() => acc.add(block, { py: new Float64Array(2) as unknown as Float32Array }))).toBe('invalid_argument');
    const py = new Float32Array(2);
    acc.add(block, { py });
    expect(py[1]).toBeCloseTo(1 / (1 + Math.exp(-1)), 6);
  });
});

/** Every reader of an AurocCounts: report, average precision, the encoded text and the dense counts. */
function readAll(a: AurocCounts, support: number[]) {
  // dense copies of 1000 classes would be 4 × 131 MB: compared up to 10 classes
  return { report: a.report(support), ap: averagePrecisionReport(a), text: a.encode(), dense: a.classes <= 10 ? a.dense() : null };
}

/** Labels that follow the scores (the row's argmax 70% of the time), so AUROC is well above ½. */
function informedLabels(p: Float32Array, rows: number, K: number, seed: number): Int32Array {
  const r = rng(seed);
  return Int32Array.from({ length: rows }, (_, i) => {
    if (r() >= 0.7) return Math.floor(r() * K);
    let best = 0;
    for (let k = 1; k < K; k++) if (p[i * K + k]! > p[i * K + best]!) best = k;
    return best;
  });
}

describeEachBackend('AurocCounts through the compact reads', (lk) => {
  for (const [K, nanEvery] of [[1, 0], [5, 0], [10, 29], [1000, 0]] as const) {
    it(`${K} classes${nanEvery ? ', NaN rows' : ''}: py or the block, engine histogram or cells, give the same figures and text`, () => {
      const rows = K === 1000 ? 3000 : 4000;
      const p = softmaxRows(rows, K, 3 * K, 5, nanEvery);
      const labels = informedLabels(p, rows, K, K);
      const py = Float32Array.from(labels, (y, r) => p[r * K + y]!);
      const support = Array.from({ length: K }, (_, k) => labels.filter((y) => y === k).length);
      const cut = Math.floor(rows / 3);
      const viaBlock = new AurocCounts(K);
      const viaPy = new AurocCounts(K);
      for (const [r0, r1] of [[0, cut], [cut, rows]] as const) {
        viaBlock.addBlock(lk(), p.subarray(r0 * K, r1 * K), labels.subarray(r0, r1));
        viaPy.addBlock(lk(), p.subarray(r0 * K, r1 * K), labels.subarray(r0, r1), py.subarray(r0, r1));
      }
      const engineRead = readAll(viaPy, support); // compact reads of the engine histogram
      expect(readAll(viaBlock, support)).toEqual(engineRead);
      // the same counts moved into cells (a merge into an empty AurocCounts), read by scanning them
      const cells = new AurocCounts(K);
      cells.merge(viaBlock);
      expect(readAll(cells, support)).toEqual(engineRead);
      // and read back from the encoded text (the varints kept pending)
      const back = new AurocCounts(K);
      expect(back.addEncoded(engineRead.text)).toBe(true);
      back.nanRows = viaPy.nanRows;
      expect(readAll(back, support)).toEqual(engineRead);
      // NaN rows make the figures NaN; one class has no negatives
      if (nanEvery || K === 1) expect(engineRead.report.macro).toBeNaN();
      else expect(engineRead.report.macro).toBeGreaterThan(0.6);
      // a count added in place changes what is read
      viaPy.addCount(0, 3, 1);
      expect(viaPy.encode()).not.toBe(engineRead.text);
      expect(viaPy.pos(0)).toBe((engineRead.dense?.pos[0] ?? viaBlock.pos(0)) + 3);
    });
  }

  it('refuses a py of the wrong length with a coded error, and keeps working', () => {
    const a = new AurocCounts(2);
    const p = Float32Array.of(0.25, 0.75, 0.5, 0.5);
    expect(codeOf(() => a.addBlock(lk(), p, Int32Array.of(0, 1), new Float32Array(3)))).toBe('shape_mismatch');
    a.addBlock(lk(), p, Int32Array.of(0, 1), Float32Array.of(0.25, 0.5));
    expect(a.report([1, 1]).perClass[0]).toBe(0); // the positive of class 0 below its negative
  });
});

describe('AurocCounts.encode past 2^31', () => {
  it('writes counts and position sums of merged shards above 2^31 and 2^32 and reads them back', () => {
    const a = new AurocCounts(2);
    a.addCount(5, 2 ** 31 + 5, 2 ** 33 + 1, 15 * (2 ** 31 + 5), 7);
    a.addCount(AUROC_BINS + 7, 1, 2 ** 31 - 1, 0, 3);
    const text = a.encode();
    const back = new AurocCounts(2);
    expect(back.addEncoded(text)).toBe(true);
    expect([back.pos(5), back.neg(5), back.positions(5).pos, back.positions(5).neg]).toEqual([2 ** 31 + 5, 2 ** 33 + 1, 15 * (2 ** 31 + 5), 7]);
    expect([back.pos(AUROC_BINS + 7), back.neg(AUROC_BINS + 7)]).toEqual([1, 2 ** 31 - 1]);
    expect(back.encode()).toBe(text);
  });
});
