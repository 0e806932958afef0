// score --multilabel --input probs | logprobs: per-label probabilities (or their logs) scored from p —
// BCE in float64 from p itself, exact at p = 0 and 1 (+∞ where the label contradicts a certain p, as
// bceWithLogits gives at z = ∓∞), prediction at p ≥ ½, AUROC ranking p — against a float64 reference,
// merged exactly, in the library (addProbBlock) and through the CLI.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { LogitkitError } from '../src/errors.js';
import { encodeNpyData, writeNpyRaw } from '../src/io/npy.js';
import { MultilabelAccumulator } from '../src/metrics/multilabel.js';
import { describeEachBackend } from './helpers/backends.js';
import { cliSandbox } from './helpers/cli.js';
import { normal, rng } from './helpers/random.js';
import { exactAuroc } from './reference/index.js';

/** Probabilities from correlated labels, with exact 0, 1 and ½ sprinkled in (on both kinds of target). */
function data(N: number, C: number, seed: number) {
  const r = rng(seed);
  const p = new Float32Array(N * C);
  const t = new Uint8Array(N * C);
  for (let i = 0; i < N; i++) {
    const latent = normal(r);
    for (let k = 0; k < C; k++) {
      const truth = latent + normal(r) + (k % 3) - 1 > 0.5 ? 1 : 0;
      t[i * C + k] = truth;
      const z = 1.5 * (truth ? 1 : -1) * r() + normal(r) - 0.2 * k;
      const u = r();
      p[i * C + k] = u < 0.01 ? 0 : u < 0.02 ? 1 : u < 0.03 ? 0.5 : 1 / (1 + Math.exp(-z));
    }
  }
  return { p, t };
}

/** Float64 reference from the float32 probabilities as stored. */
function reference(p: Float32Array, t: Uint8Array, C: number) {
  const N = t.length / C;
  return Array.from({ length: C }, (_, k) => {
    let bce = 0;
    let tp = 0;
    let fp = 0;
    let fn = 0;
    const s: number[] = [];
    const y: boolean[] = [];
    for (let i = 0; i < N; i++) {
      const v = p[i * C + k];
      const pos = t[i * C + k] === 1;
      // −[y ln p + (1 − y) ln(1 − p)], the term of the other kind left out (0 · ln 0 = 0)
      bce += pos ? -Math.log(v) : -Math.log(1 - v);
      const pred = v >= 0.5;
      if (pos && pred) tp++;
      else if (pos) fn++;
      else if (pred) fp++;
      s.push(v);
      y.push(pos);
    }
    return { bce: bce / N, tp, fp, fn, auroc: exactAuroc(s, y) };
  });
}

describeEachBackend('multi-label probabilities (addProbBlock)', (lk) => {
  it('probs and logprobs: BCE, precision/recall/F1 at p ≥ ½ and AUROC match the float64 reference', () => {
    const C = 5;
    const { p, t } = data(3000, C, 4);
    // p = 0 or 1 on the wrong label makes that label's BCE +∞; keep them off labels 0 and 1
    for (let i = 0; i < p.length; i++) if (i % C < 2 && (p[i] === 0 || p[i] === 1)) p[i] = t[i] ? 0.9 : 0.1;
    const ref = reference(p, t, C);
    const a = new MultilabelAccumulator(C);
    a.addProbBlock(p, t);
    const got = a.report();
    ref.forEach((r, k) => {
      const e = got.perLabel[k];
      if (Number.isFinite(r.bce)) expect(Math.abs(e.bce - r.bce)).toBeLessThan(1e-12 * Math.max(1, r.bce));
      else expect(e.bce).toBe(r.bce);
      expect(e.precision).toBe(r.tp + r.fp === 0 ? 0 : r.tp / (r.tp + r.fp));
      expect(e.recall).toBe(r.tp + r.fn === 0 ? 0 : r.tp / (r.tp + r.fn));
      expect(e.f1).toBe((2 * r.tp) / (2 * r.tp + r.fp + r.fn));
      expect(Math.abs(e.auroc! - r.auroc!)).toBeLessThan(1e-4);
    });
    expect(Number.isFinite(got.perLabel[0].bce) && Number.isFinite(got.perLabel[1].bce)).toBe(true);
    expect(got.perLabel.slice(2).some((e) => e.bce === Infinity)).toBe(true);

    // ln p in float32: figures as the reference of p = exp(ln p)
    const lp = p.map((v) => Math.log(v));
    const back = Float32Array.from(lp, (v) => Math.exp(v));
    const refL = reference(back, t, C);
    const b = new MultilabelAccumulator(C);
    b.addProbBlock(lp, t, { log: true });
    const gotL = b.report();
    refL.forEach((r, k) => {
      const e = gotL.perLabel[k];
      if (Number.isFinite(r.bce)) expect(Math.abs(e.bce - r.bce)).toBeLessThan(1e-6 * Math.max(1, r.bce));
      else expect(e.bce).toBe(Infinity);
      expect(e.f1).toBe((2 * r.tp) / (2 * r.tp + r.fp + r.fn));
      expect(Math.abs(e.auroc! - r.auroc!)).toBeLessThan(1e-4);
    });
    // agrees with the logits path on p = σ(z) away from the ends
    const z = Float32Array.from({ length: 600 }, (_, i) => ((i * 7919) % 601) / 50 - 6);
    const tz = Uint8Array.from(z, (_, i) => (i * 31) % 3 === 0 ? 1 : 0);
    const viaZ = new MultilabelAccumulator(3);
    viaZ.addBlock(lk(), z, tz);
    const viaP = new MultilabelAccumulator(3);
    viaP.addProbBlock(Float32Array.from(z, (v) => 1 / (1 + Math.exp(-v))), tz);
    viaZ.report().perLabel.forEach((e, k) => {
      const q = viaP.report().perLabel[k];
      expect(Math.abs(q.bce - e.bce)).toBeLessThan(2e-6);
      expect([q.precision, q.recall, q.predicted]).toEqual([e.precision, e.recall, e.predicted]);
    });
  });

  it('the ends: BCE is 0 for a right certain p and +∞ for a wrong one; p = ½ is predicted positive', () => {
    const a = new MultilabelAccumulator(1);
    a.addProbBlock(Float32Array.of(1, 0, 0.5), Uint8Array.of(1, 0, 1));
    expect(a.report().perLabel[0]).toMatchObject({ bce: Math.log(2) / 3, precision: 1, recall: 1 });
    const w = new MultilabelAccumulator(2);
    w.addProbBlock(Float32Array.of(0, 1, 0.25, 0.75), Uint8Array.of(1, 0, 0, 1));
    expect(w.report().perLabel.map((e) => e.bce)).toEqual([Infinity, Infinity]);
    const l = new MultilabelAccumulator(2);
    l.addProbBlock(Float32Array.of(-Infinity, 0, 0, -Infinity), Uint8Array.of(0, 1, 1, 0), { log: true });
    expect(l.report().perLabel.map((e) => e.bce)).toEqual([0, 0]);
  });

  it('a value outside [0, 1], a log-probability above 0, or NaN is invalid_argument; the accumulator goes on', () => {
    const a = new MultilabelAccumulator(2);
    for (const [v, log] of [[1.5, false], [-0.1, false], [NaN, false], [0.1, true], [NaN, true]] as const) {
      let err: unknown;
      try {
        a.addProbBlock(Float32Array.of(log ? -0.7 : 0.5, v), Uint8Array.of(1, 0), { log });
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(LogitkitError);
      expect((err as LogitkitError).code).toBe('invalid_argument');
      expect((err as LogitkitError).message).toMatch(/at index 1/);
    }
    expect(a.rows).toBe(0);
    a.addProbBlock(Float32Array.of(0.5, 0.2), Uint8Array.of(1, 0));
    expect(a.report().perLabel[0].recall).toBe(1);
  });

  it('merges exactly through JSON statistics in any split', () => {
    const C = 4;
    const N = 2001;
    const { p, t } = data(N, C, 9);
    const whole = new MultilabelAccumulator(C);
    whole.addProbBlock(p, t);
    const cuts = [0, 1, 700, N];
    const merged = cuts
      .slice(1)
      .map((end, i) => {
        const a = new MultilabelAccumulator(C);
        a.addProbBlock(p.subarray(cuts[i] * C, end * C), t.subarray(cuts[i] * C, end * C));
        return MultilabelAccumulator.fromStats(JSON.parse(JSON.stringify(a.toStats())));
      })
      .reduce((a, b) => a.merge(b));
    const [m, w] = [merged.report(), whole.report()];
    expect({ ...m, perLabel: m.perLabel.map((e) => ({ ...e, bce: 0 })), macro: { ...m.macro, bce: 0 } }).toEqual({
      ...w,
      perLabel: w.perLabel.map((e) => ({ ...e, bce: 0 })),
      macro: { ...w.macro, bce: 0 },
    });
    m.perLabel.forEach((e, k) => (Number.isFinite(w.perLabel[k].bce) ? expect(e.bce).toBeCloseTo(w.perLabel[k].bce, 12) : expect(e.bce).toBe(w.perLabel[k].bce)));
    expect(merged.auroc!.encode()).toBe(whole.auroc!.encode());
  });
});

describe('logitkit score --multilabel --input probs | logprobs', () => {
  const { dir, exec } = cliSandbox('ml-probs');
  const C = 3;
  const N = 1500;
  const { p, t } = data(N, C, 21);
  const f32 = (name: string, a: Float32Array, rows: number) => writeNpyRaw(join(dir, name), '<f4', [rows, C], new Uint8Array(a.slice().buffer));
  const u8 = (name: string, a: Uint8Array, rows: number) => writeNpyRaw(join(dir, name), '|u1', [rows, C], encodeNpyData('|u1', a));
  f32('p.npy', p, N);
  f32('lp.npy', p.map((v) => Math.log(v)), N);
  u8('t.npy', t, N);
  f32('pa.npy', p.subarray(0, 600 * C), 600);
  u8('ta.npy', t.subarray(0, 600 * C), 600);
  f32('pb.npy', p.subarray(600 * C), N - 600);
  u8('tb.npy', t.subarray(600 * C), N - 600);

  const json = async (...args: string[]) => {
    const r = await exec('score', ...args, '--multilabel', '--json');
    expect(r.code, r.stderr).toBe(0);
    return JSON.parse(r.stdout);
  };

  it('gives the library figures; shards merge to the whole run; logprobs agree', async () => {
    const whole = await json('p.npy', '--labels', 't.npy', '--input', 'probs');
    const lib = new MultilabelAccumulator(C);
    lib.addProbBlock(p, t);
    const ref = lib.report();
    whole.multilabel.perLabel.forEach((e: { f1: number; auroc: number; bce: number | null }, k: number) => {
      expect(e.f1).toBe(ref.perLabel[k].f1);
      expect(e.auroc).toBe(ref.perLabel[k].auroc);
      // JSON has no infinity: a +∞ BCE prints as null (the statistics keep "Infinity")
      expect(e.bce).toBe(Number.isFinite(ref.perLabel[k].bce) ? ref.perLabel[k].bce : null);
    });
    expect(whole.multilabel.perLabel.some((e: { bce: number | null }) => e.bce === null)).toBe(true);
    expect(whole.stats.bceSum).toContain('Infinity');
    writeFileSync(join(dir, 'a.json'), JSON.stringify(await json('pa.npy', '--labels', 'ta.npy', '--input', 'probs')));
    writeFileSync(join(dir, 'b.json'), JSON.stringify(await json('pb.npy', '--labels', 'tb.npy', '--input', 'probs')));
    const m = await exec('merge', 'a.json', 'b.json', '--json');
    expect(m.code, m.stderr).toBe(0);
    const merged = JSON.parse(m.stdout);
    expect(merged.multilabel.perLabel.map((e: { auroc: number }) => e.auroc)).toEqual(whole.multilabel.perLabel.map((e: { auroc: number }) => e.auroc));
    expect(merged.multilabel.micro).toEqual(whole.multilabel.micro);
    const logs = await json('lp.npy', '--labels', 't.npy', '--input', 'logprobs');
    const libL = new MultilabelAccumulator(C);
    libL.addProbBlock(p.map((v) => Math.log(v)), t, { log: true });
    logs.multilabel.perLabel.forEach((e: { f1: number; auroc: number }, k: number) => {
      expect(e.f1).toBe(libL.report().perLabel[k].f1);
      expect(Math.abs(e.f1 - whole.multilabel.perLabel[k].f1)).toBeLessThan(0.01); // p near ½ may round across it
      expect(Math.abs(e.auroc - whole.multilabel.perLabel[k].auroc)).toBeLessThan(1e-6);
    });
    expect(readFileSync(join(dir, 'a.json'), 'utf8')).toContain('"fingerprint"');
  });

  it('a value out of range is an error naming the file, row and label', async () => {
    const bad = p.slice();
    bad[7 * C + 2] = 1.25;
    f32('bad.npy', bad, N);
    const r = await exec('score', 'bad.npy', '--labels', 't.npy', '--multilabel', '--input', 'probs');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/bad\.npy: row 7, label 2: probability 1\.25 is not in \[0, 1\] \(--input probs\)/);
    const lbad = p.map((v) => Math.log(v));
    lbad[3 * C] = 0.5;
    f32('lbad.npy', lbad, N);
    const l = await exec('score', 'lbad.npy', '--labels', 't.npy', '--multilabel', '--input', 'logprobs');
    expect(l.code).toBe(1);
    expect(l.stderr).toMatch(/lbad\.npy: row 3, label 0: log-probability 0\.5 is not <= 0/);
  });
});
