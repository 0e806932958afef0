// Issue 24 on every backend and build: oodScore, conformalScores / conformalCalibrate / predictSets
// and riskCoverage against the float64 references of test/reference/uncertainty.ts (riskCoverageFrom
// also bit for bit against src/backends/js-selective.ts on every build), with the special rows (NaN,
// ±inf, all −inf, huge offsets, ties, one class, wide rows) and the refusals.
import { describe, expect, it } from 'vitest';
import { conformalModelFromJSON, conformalModelToJSON, LogitkitError, type Engine } from '../src/index.js';
import { conformalUniforms, U_STREAM } from '../src/metrics/conformal.js';
import { riskCoverageFrom as referenceRiskCoverageFrom } from '../src/backends/js-selective.js';
import { describeEachBackend, engineFor } from './helpers/backends.js';
import { codeOf } from './helpers/checks.js';
import { normal, randomLogits, randomTargets, rng } from './helpers/random.js';
import { expectClose, expectExact, logTol, spreadOf } from './helpers/tolerance.js';
import { refConformalScores, refOod, refProbs, refQhat, refRank, type OodMethod } from './reference/uncertainty.js';

const METHODS: OodMethod[] = ['msp', 'maxLogit', 'energy', 'entropy', 'margin', 'gen'];

/** Rows that exercise the special values, ties and offsets, for `classes` ≥ 2. */
function specialRows(classes: number): Float32Array {
  const r = rng(classes);
  const rows: number[][] = [];
  rows.push(Array.from({ length: classes }, () => 3 * normal(r)));
  rows.push(Array.from({ length: classes }, (_, j) => (j === 1 ? NaN : normal(r))));
  rows.push(Array.from({ length: classes }, (_, j) => (j === 0 ? Infinity : normal(r))));
  rows.push(new Array(classes).fill(-Infinity));
  rows.push(Array.from({ length: classes }, (_, j) => (j % 2 ? -Infinity : normal(r))));
  rows.push(Array.from({ length: classes }, () => 1e6 + normal(r)));
  rows.push(new Array(classes).fill(0.5)); // all tied
  rows.push(Array.from({ length: classes }, (_, j) => (j < 2 ? 4 : 0))); // a tie at the top
  return Float32Array.from(rows.flat());
}

function oodTol(method: OodMethod, x: Float32Array, classes: number, T: number) {
  const { S, zmax } = spreadOf(x, classes, T);
  if (method === 'energy' || method === 'entropy') return logTol({ C: classes, S, zmax, T });
  // From float32 p: the same rounding on both sides, float64 after it.
  return { rtol: 1e-6, atol: 1e-7 };
}

describeEachBackend('oodScore', (lk) => {
  for (const classes of [1, 2, 3, 7, 10, 100, 1000]) {
    for (const T of [1, 2.5]) {
      it(`every method against the reference, C = ${classes}, T = ${T}`, () => {
        const x = classes === 1 ? Float32Array.from([0, 5, -3, NaN, Infinity, -Infinity]) : Float32Array.from([...randomLogits(9, classes, 3, classes), ...specialRows(classes)]);
        for (const method of METHODS) {
          const got = lk().oodScore(x, classes, { method, temperature: T });
          expectClose(got, refOod(x, classes, method, { T }), oodTol(method, x, classes, T), `${method}`);
        }
      });
    }
  }

  it('special rows, stated: NaN / +inf / all −inf', () => {
    const x = Float32Array.from([NaN, 0, 0, Infinity, 0, 0, -Infinity, -Infinity, -Infinity]);
    const s = (method: OodMethod) => Array.from(lk().oodScore(x, 3, { method }));
    expect(s('msp')).toEqual([NaN, NaN, NaN]);
    expect(s('maxLogit')).toEqual([NaN, -Infinity, Infinity]);
    expect(s('energy')).toEqual([NaN, -Infinity, Infinity]);
    for (const m of ['entropy', 'margin', 'gen'] as const) expect(s(m)).toEqual([NaN, NaN, NaN]);
  });

  it('one class: msp −1, margin −1 (p₍₂₎ = 0), entropy 0, gen 0; maxLogit and energy −x', () => {
    const x = Float32Array.from([2.5]);
    expect(lk().oodScore(x, 1, { method: 'msp' })[0]).toBe(-1);
    expect(lk().oodScore(x, 1, { method: 'margin' })[0]).toBe(-1);
    expect(lk().oodScore(x, 1, { method: 'entropy' })[0]).toBe(0);
    expect(lk().oodScore(x, 1, { method: 'gen' })[0]).toBe(0);
    expect(lk().oodScore(x, 1, { method: 'maxLogit' })[0]).toBe(-2.5);
    expect(lk().oodScore(x, 1, { method: 'energy', temperature: 2 })[0]).toBe(-2.5);
  });

  it('gen: topM and gamma; topM above classes is clamped; maxLogit ignores T', () => {
    const x = randomLogits(20, 150, 2, 3);
    for (const [topM, gamma] of [[1, 0.1], [5, 0.5], [100, 0.1], [150, 1], [1000, 0.1]] as const)
      expectClose(lk().oodScore(x, 150, { method: 'gen', topM, gamma }), refOod(x, 150, 'gen', { topM, gamma }), { rtol: 1e-6, atol: 1e-7 }, `topM ${topM}`);
    expectExact(lk().oodScore(x, 150, { method: 'gen', topM: 1000 }), lk().oodScore(x, 150, { method: 'gen', topM: 150 }), 'clamped');
    expectExact(lk().oodScore(x, 150, { method: 'maxLogit', temperature: 7 }), lk().oodScore(x, 150, { method: 'maxLogit' }), 'maxLogit T');
  });

  it('refusals name the option; the engine keeps working', () => {
    const x = randomLogits(4, 3, 1, 1);
    expect(codeOf(() => lk().oodScore(x, 3, { method: 'odin' as never }))).toBe('invalid_argument');
    expect(codeOf(() => lk().oodScore(x, 3, { method: 'gen', gamma: 0 }))).toBe('invalid_argument');
    expect(codeOf(() => lk().oodScore(x, 3, { method: 'gen', topM: 0 }))).toBe('invalid_k');
    expect(codeOf(() => lk().oodScore(x, 3, { temperature: 0 }))).toBe('invalid_temperature');
    expect(codeOf(() => lk().oodScore(x, 5))).toBe('shape_mismatch');
    expect(codeOf(() => lk().oodScore(x, 3, { topK: 3 } as never))).toBe('invalid_argument');
    expect(lk().oodScore(x, 3).length).toBe(4);
  });

  it('a tensor and half precision go in like any logits', () => {
    const x = randomLogits(5, 4, 2, 9);
    const want = lk().oodScore(x, 4, { method: 'entropy' });
    expectExact(lk().oodScore({ data: x, dims: [5, 4] }, { method: 'entropy' }), want, 'tensor');
  });
});

/** Sets from reference scores; `near` lists (row, class) whose score is within 1e-12 of its q̂ (either answer is right). */
function refSets(scores: number[][], qhat: number | number[]) {
  const q = (j: number) => (typeof qhat === 'number' ? qhat : qhat[j]!);
  return scores.map((s) => {
    const members: number[] = [];
    const near: number[] = [];
    const order = refRank(s.map((v) => -v)); // any order: membership is compared as a set, order separately
    for (const j of order) {
      if (s[j]! <= q(j)) members.push(j);
      if (Math.abs(s[j]! - q(j)) <= 1e-12) near.push(j);
    }
    return { members: members.sort((a, b) => a - b), near };
  });
}

describeEachBackend('conformal prediction', (lk) => {
  const N = 400;
  for (const classes of [2, 10, 37]) {
    for (const method of ['lac', 'aps', 'raps'] as const) {
      for (const randomized of [false, true]) {
        it(`${method}${randomized ? ' randomized' : ''}, C = ${classes}: label scores, q̂, sets against the reference`, () => {
          const x = randomLogits(N, classes, 2, 100 + classes);
          const y = randomTargets(N, classes, 7 + classes);
          const T = 1.5;
          const opts = { method, randomized, temperature: T, lambda: 0.05, kReg: 2, seed: 11, alpha: 0.1 };
          const u = randomized && method !== 'lac' ? conformalUniforms(11, U_STREAM.calibrate, 0, N) : null;
          const ref = refConformalScores(x, classes, { method, T, lambda: 0.05, kReg: 2 }, u);
          const labelRef = ref.map((s, r) => s[y[r]!]!);
          const scores = lk().conformalScores(x, classes, y, { method, randomized, temperature: T, lambda: 0.05, kReg: 2, seed: 11 });
          expectClose(scores, labelRef, { rtol: 0, atol: 1e-12 }, 'label scores');
          const model = lk().conformalCalibrate(x, classes, y, opts);
          expect(model).toMatchObject({ method, alpha: 0.1, n: N, classes, randomized, classConditional: false });
          expect(model.qhat).toBe(Array.from(scores).sort((a, b) => a - b)[Math.ceil((N + 1) * 0.9) - 1]);
          expect(Math.abs((model.qhat as number) - refQhat(labelRef, 10))).toBeLessThanOrEqual(1e-12);

          const xt = randomLogits(150, classes, 2, 200 + classes);
          const sets = lk().predictSets(xt, classes, model);
          const ut = randomized && method !== 'lac' ? conformalUniforms(11, U_STREAM.predict, 0, 150) : null;
          const want = refSets(refConformalScores(xt, classes, { method, T, lambda: 0.05, kReg: 2 }, ut), model.qhat);
          expect(sets.offsets[0]).toBe(0);
          for (let r = 0; r < 150; r++) {
            const got = Array.from(sets.indices.subarray(sets.offsets[r]!, sets.offsets[r + 1]!));
            expect(got.length).toBe(sets.sizes[r]);
            // Rank order: p descending, ties to the lower index.
            const p = refProbs(xt.subarray(r * classes, (r + 1) * classes), classes, T)[0]!;
            const rank = refRank(p);
            expect(got).toEqual(rank.filter((j) => got.includes(j)));
            const sym = (a: number[], b: number[]) => a.filter((j) => !b.includes(j));
            const diff = [...sym(got, want[r]!.members), ...sym(want[r]!.members, got)];
            expect(diff.filter((j) => !want[r]!.near.includes(j)), `row ${r}`).toEqual([]);
          }
        });
      }
    }
  }

  it('classConditional: q̂ per class from its rows, +∞ for a class without rows; j in the set iff score_j ≤ q̂_j', () => {
    const C = 5;
    const x = randomLogits(300, C, 2, 3);
    const y = Int32Array.from(randomTargets(300, C, 4), (v) => (v === 4 ? 0 : v)); // class 4: no rows
    const model = lk().conformalCalibrate(x, C, y, { method: 'aps', randomized: false, classConditional: true, alpha: 0.2 });
    const ref = refConformalScores(x, C, { method: 'aps' }, null);
    const q = model.qhat as number[];
    expect(q.length).toBe(C);
    for (let c = 0; c < 4; c++) {
      const s = ref.flatMap((row, r) => (y[r] === c ? [row[c]!] : []));
      expect(Math.abs(q[c]! - refQhat(s, 20))).toBeLessThanOrEqual(1e-12);
    }
    expect(q[4]).toBe(Infinity);
    const sets = lk().predictSets(x, C, model);
    const want = refSets(ref, q);
    for (let r = 0; r < 300; r++) {
      const got = Array.from(sets.indices.subarray(sets.offsets[r]!, sets.offsets[r + 1]!)).sort();
      expect(got.includes(4)).toBe(true); // q̂_4 = +∞
      const diff = got.filter((j) => !want[r]!.members.includes(j)).concat(want[r]!.members.filter((j) => !got.includes(j)));
      expect(diff.filter((j) => !want[r]!.near.includes(j))).toEqual([]);
    }
  });

  it('q̂ = +∞ when k > n (every set full); NaN rows get empty sets; ties rank by the lower index', () => {
    const x = Float32Array.from([1, 2, 3, 0, 0, 0, 5, 1, 1]);
    const y = Int32Array.from([2, 0, 0]);
    const model = lk().conformalCalibrate(x, 3, y, { alpha: 0.1 }); // k = ⌈4·0.9⌉ = 4 > 3
    expect(model.qhat).toBe(Infinity);
    const xt = Float32Array.from([0, 0, 0, NaN, 1, 1, 1, 3, 3]);
    const sets = lk().predictSets(xt, 3, model);
    expect(Array.from(sets.sizes)).toEqual([3, 0, 3]);
    expect(Array.from(sets.indices)).toEqual([0, 1, 2, 1, 2, 0]);
    expect(Array.from(sets.offsets)).toEqual([0, 3, 3, 6]);
  });

  it('u is keyed by (seed, row): a batch predicted in chunks (firstRow) gives the sets of the whole; another seed other sets', () => {
    const C = 10;
    const x = randomLogits(200, C, 2, 5);
    const model = lk().conformalCalibrate(x, C, randomTargets(200, C, 6), { method: 'raps', seed: 3 });
    const whole = lk().predictSets(x, C, model);
    const a = lk().predictSets(x.subarray(0, 70 * C), C, model);
    const b = lk().predictSets(x.subarray(70 * C), C, model, { firstRow: 70 });
    expect([...a.indices, ...b.indices]).toEqual(Array.from(whole.indices));
    const other = lk().predictSets(x, C, model, { seed: 4 });
    expect(Array.from(other.sizes)).not.toEqual(Array.from(whole.sizes));
  });

  it('the model is plain JSON (+∞ as null) and round-trips', () => {
    const model = lk().conformalCalibrate(randomLogits(30, 4, 2, 1), 4, randomTargets(30, 4, 2), { classConditional: true, alpha: 0.05 });
    const json = JSON.stringify(conformalModelToJSON(model));
    expect(JSON.parse(json).qhat).toContain(null);
    const back = conformalModelFromJSON(json, 4);
    expect(back).toEqual(model);
    expect(lk().predictSets(randomLogits(3, 4, 1, 1), 4, back).sizes.length).toBe(3);
  });

  it('refusals: alpha, method, labels, shapes, models, non-finite calibration rows; the engine keeps working', () => {
    const x = randomLogits(10, 3, 1, 1);
    const y = randomTargets(10, 3, 2);
    expect(codeOf(() => lk().conformalCalibrate(x, 3, y, { alpha: 0 }))).toBe('invalid_argument');
    expect(codeOf(() => lk().conformalCalibrate(x, 3, y, { alpha: 1 }))).toBe('invalid_argument');
    expect(codeOf(() => lk().conformalCalibrate(x, 3, y, { alpha: NaN }))).toBe('invalid_argument');
    expect(codeOf(() => lk().conformalCalibrate(x, 3, y, { method: 'thr' as never }))).toBe('invalid_argument');
    expect(codeOf(() => lk().conformalCalibrate(x, 3, y, { kReg: -1 }))).toBe('invalid_argument');
    expect(codeOf(() => lk().conformalCalibrate(x, 3, y, { lambda: -0.1 }))).toBe('invalid_argument');
    expect(codeOf(() => lk().conformalCalibrate(x, 3, y, { seed: 1.5 }))).toBe('invalid_argument');
    expect(codeOf(() => lk().conformalCalibrate(x, 3, y, { temperature: -1 }))).toBe('invalid_temperature');
    expect(codeOf(() => lk().conformalCalibrate(x, 3, Int32Array.from(y, (v, i) => (i === 4 ? 3 : v))))).toBe('target_out_of_range');
    expect(codeOf(() => lk().conformalCalibrate(x, 3, y.subarray(1)))).toBe('shape_mismatch');
    expect(codeOf(() => lk().conformalCalibrate(Float32Array.from(x, (v, i) => (i === 4 ? NaN : v)), 3, y))).toBe('non_finite_input');
    const model = lk().conformalCalibrate(x, 3, y);
    expect(codeOf(() => lk().predictSets(randomLogits(2, 4, 1, 1), 4, model))).toBe('shape_mismatch');
    expect(codeOf(() => lk().predictSets(x, 3, { ...model, method: 'x' } as never))).toBe('invalid_argument');
    expect(codeOf(() => lk().predictSets(x, 3, { ...model, qhat: [1, 2] }))).toBe('invalid_argument');
    expect(codeOf(() => lk().predictSets(x, 3, model, { firstRow: -1 }))).toBe('invalid_argument');
    expect(codeOf(() => conformalModelFromJSON('{'))).toBe('invalid_argument');
    expect(codeOf(() => conformalModelFromJSON({ logitkit: 'calibration-map' }))).toBe('invalid_argument');
    expect(lk().predictSets(x, 3, model).sizes.length).toBe(10);
  });
});

/** Risk–coverage from the definitions, by brute force over the distinct confidences. */
function refRiskCoverage(conf: number[], wrong: number[]) {
  const n = conf.length;
  const distinct = [...new Set(conf)].sort((a, b) => b - a);
  let aurc = 0;
  let augrc = 0;
  let prev = 0;
  const coverage: number[] = [];
  const risk: number[] = [];
  for (const c of distinct) {
    const cov = conf.filter((v) => v >= c).length;
    const err = conf.reduce((s, v, i) => s + (v >= c ? wrong[i]! : 0), 0);
    coverage.push(cov / n);
    risk.push(err / cov);
    aurc += (cov / n - prev) * (err / cov);
    augrc += (cov / n - prev) * (err / n);
    prev = cov / n;
  }
  const r = wrong.reduce((a, b) => a + b, 0) / n;
  const eaurc = aurc - (r === 1 ? 1 : r + (1 - r) * Math.log(1 - r));
  const at = (level: number) => risk[coverage.findIndex((v) => v >= level)]!;
  return { coverage, risk, aurc, augrc, eaurc, riskAtCoverage: { '0.5': at(0.5), '0.8': at(0.8), '0.9': at(0.9), '0.95': at(0.95), '1': at(1) } };
}

describeEachBackend('riskCoverage', (lk) => {
  for (const score of METHODS) {
    it(`${score}: curve, aurc, eaurc, augrc, riskAtCoverage against the reference`, () => {
      const C = 6;
      // Quantised logits: many tied confidences.
      const x = Float32Array.from(randomLogits(300, C, 1.5, 21), (v) => Math.round(v * 2) / 2);
      const y = randomTargets(300, C, 22);
      const got = lk().riskCoverage(x, C, y, { score });
      const scores = lk().oodScore(x, C, { method: score });
      const pred = lk().argmax(x, C);
      const ref = refRiskCoverage(Array.from(scores, (s) => -s), Array.from(y, (v, i) => (pred[i] !== v ? 1 : 0)));
      expect(Array.from(got.coverage)).toEqual(ref.coverage);
      expectClose(got.risk, ref.risk, { rtol: 1e-12, atol: 0 }, 'risk');
      for (const k of ['aurc', 'augrc', 'eaurc'] as const) expect(got[k]).toBeCloseTo(ref[k], 12);
      expect(got.riskAtCoverage).toEqual(ref.riskAtCoverage);
    });
  }

  it('all wrong: r = 1 is defined (eaurc = aurc − 1); a perfect ranking has eaurc ≈ 0', () => {
    const x = Float32Array.from([3, 0, 2, 0, 1, 0]);
    const all = lk().riskCoverage(x, 2, Int32Array.from([1, 1, 1]));
    expect(all.aurc).toBe(1);
    expect(all.eaurc).toBe(0);
    // Most confident rows right, the least confident wrong: the optimal curve.
    const best = lk().riskCoverage(Float32Array.from([5, 0, 4, 0, 3, 0, 0.1, 0]), 2, Int32Array.from([0, 0, 0, 1]));
    expect(best.eaurc).toBeCloseTo(0, 1);
    expect(best.riskAtCoverage['0.5']).toBe(0);
    expect(best.riskAtCoverage['1']).toBe(0.25);
  });

  it('refusals: unknown score, labels', () => {
    const x = randomLogits(4, 3, 1, 1);
    expect(codeOf(() => lk().riskCoverage(x, 3, randomTargets(4, 3, 1), { score: 'x' as never }))).toBe('invalid_argument');
    expect(codeOf(() => lk().riskCoverage(x, 3, Int32Array.from([0, 1, 2, 5])))).toBe('target_out_of_range');
  });
});

describeEachBackend('riskCoverageFrom', (lk) => {
  it('float32 confidences with ties: the curve and figures from the definitions', () => {
    const r = rng(31);
    const conf = Float32Array.from({ length: 2000 }, () => (r() < 0.1 ? (r() < 0.5 ? -0 : 0) : Math.round(r() * 40) / 40 - 0.2));
    const wrong = Uint8Array.from(conf, (c) => (r() > 0.5 + c ? 1 : 0));
    const got = lk().riskCoverageFrom(conf, wrong);
    const ref = refRiskCoverage(Array.from(conf), Array.from(wrong));
    expect(Array.from(got.coverage)).toEqual(ref.coverage);
    expectClose(got.risk, ref.risk, { rtol: 1e-12, atol: 0 }, 'risk');
    for (const k of ['aurc', 'augrc', 'eaurc'] as const) expect(got[k]).toBeCloseTo(ref[k], 12);
    expect(got.riskAtCoverage).toEqual(ref.riskAtCoverage);
  });

  it('the bits of the JS reference on every build: NaN, ±0, ±inf, both signs, thinned and not', () => {
    const r = rng(32);
    const special = [NaN, -0, 0, Infinity, -Infinity, 1e-45, -3.4e38, 0.5];
    const conf = Float32Array.from({ length: 70_001 }, () => (r() < 0.2 ? special[Math.floor(r() * special.length)]! : (r() - 0.3) * 10 ** Math.floor(r() * 8 - 4)));
    const wrong = Uint8Array.from(conf, () => (r() < 0.35 ? 1 : 0));
    for (const o of [undefined, { maxPoints: 4096 }]) {
      const got = lk().riskCoverageFrom(conf, wrong, o);
      const want = referenceRiskCoverageFrom(conf, wrong, o);
      for (const k of ['aurc', 'eaurc', 'augrc'] as const) expect(Object.is(got[k], want[k]), k).toBe(true);
      expect(got.riskAtCoverage).toEqual(want.riskAtCoverage);
      for (const k of ['coverage', 'risk', 'generalizedRisk', 'confidence'] as const) {
        const a = new BigUint64Array(got[k].buffer, got[k].byteOffset, got[k].length);
        const b = new BigUint64Array(want[k].buffer, want[k].byteOffset, want[k].length);
        expect(a.length, k).toBe(b.length);
        let differ = -1;
        for (let i = 0; i < a.length && differ < 0; i++) if (a[i] !== b[i]) differ = i;
        expect(differ, `${k} differs at ${differ}`).toBe(-1);
      }
    }
  });
});

describe('uncertainty: wasm and js agree', () => {
  it('bit for bit on the conformal scores and the sets (same float32 p, same f64 steps)', async () => {
    const [js, wasm]: Engine[] = await Promise.all([engineFor('js'), engineFor('wasm')]);
    const C = 12;
    const x = randomLogits(500, C, 3, 77);
    const y = randomTargets(500, C, 78);
    for (const method of ['lac', 'aps', 'raps'] as const) {
      const a = js.conformalScores(x, C, y, { method, seed: 1 });
      const b = wasm.conformalScores(x, C, y, { method, seed: 1 });
      let same = 0;
      for (let i = 0; i < a.length; i++) if (a[i] === b[i]) same++;
      expect(same / a.length, method).toBeGreaterThan(0.99);
      const m = js.conformalCalibrate(x, C, y, { method });
      expect(Array.from(wasm.predictSets(x, C, m).sizes)).toEqual(Array.from(js.predictSets(x, C, m).sizes));
    }
    expect(LogitkitError).toBeDefined();
  });
});
