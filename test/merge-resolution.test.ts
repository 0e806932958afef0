// Merge statistics carry the resolution they were counted at: calibration bins (`stats.bins`) and the
// AUROC bins and positions (`stats.auroc.resolution`). Shards of different resolutions refuse to merge
// with the code `shape_mismatch` (as every merge of differing settings); AUROC statistics from before
// the resolution field merge without AUROC.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { LogitkitError } from '../src/errors.js';
import { writeNpy } from '../src/io/npy.js';
import { AUROC_RESOLUTION } from '../src/metrics/auroc.js';
import { MultilabelAccumulator } from '../src/metrics/multilabel.js';
import { ScoreAccumulator } from '../src/metrics/summary.js';
import { describeEachBackend } from './helpers/backends.js';
import { cliSandbox } from './helpers/cli.js';
import { normal, rng } from './helpers/random.js';

function data(N: number, K: number, seed: number) {
  const r = rng(seed);
  const y = Int32Array.from({ length: N }, () => Math.floor(r() * K));
  const x = Float32Array.from({ length: N * K }, (_, i) => normal(r) + (i % K === y[Math.floor(i / K)] ? 2 : 0));
  return { x, y };
}

function codeOf(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(LogitkitError);
    return (e as LogitkitError).code;
  }
  throw new Error('did not throw');
}

describeEachBackend('merge statistics carry their resolution', (lk) => {
  it('score statistics name the AUROC resolution; another one is refused with shape_mismatch, none leaves AUROC out', () => {
    const { x, y } = data(300, 5, 1);
    const a = new ScoreAccumulator(5);
    a.addBlock(lk(), x.subarray(0, 150 * 5), y.subarray(0, 150));
    const b = new ScoreAccumulator(5);
    b.addBlock(lk(), x.subarray(150 * 5), y.subarray(150));
    const sa = JSON.parse(JSON.stringify(a.toStats()));
    const sb = JSON.parse(JSON.stringify(b.toStats()));
    expect(sa.auroc.resolution).toBe(AUROC_RESOLUTION);
    expect(AUROC_RESOLUTION).toBe('f32-m8-q4');

    expect(codeOf(() => ScoreAccumulator.fromStats({ ...sb, auroc: { ...sb.auroc, resolution: 'f32-m9-q4' } }, 'b.json'))).toBe('shape_mismatch');
    expect(() => ScoreAccumulator.fromStats({ ...sb, auroc: { ...sb.auroc, resolution: 'f32-m9-q4' } }, 'b.json')).toThrow(/b\.json: stats\.auroc\.resolution is "f32-m9-q4"/);

    // statistics from before the field: the rest merges exactly, AUROC is left out (null), not mixed
    const old = ScoreAccumulator.fromStats({ ...sb, auroc: { bins: sb.auroc.bins, nanRows: 0 } }, 'old.json');
    expect(old.auroc).toBeNull();
    const merged = ScoreAccumulator.fromStats(sa).merge(old).summary();
    const whole = ScoreAccumulator.fromStats(sa).merge(ScoreAccumulator.fromStats(sb)).summary();
    expect(merged.auroc).toBeNull();
    expect(whole.auroc).not.toBeNull();
    // average precision comes from the same counts: left out with them
    expect(merged.averagePrecision).toBeNull();
    expect(whole.averagePrecision).not.toBeNull();
    expect({ ...merged, auroc: null, averagePrecision: null }).toEqual({ ...whole, auroc: null, averagePrecision: null });
  });

  it('calibration bins differ: shape_mismatch from merge, and the engine keeps working', () => {
    const { x, y } = data(100, 4, 2);
    const a = new ScoreAccumulator(4, { bins: 15 });
    a.addBlock(lk(), x, y);
    const b = new ScoreAccumulator(4, { bins: 10 });
    b.addBlock(lk(), x, y);
    expect(codeOf(() => a.merge(b))).toBe('shape_mismatch');
    const c = new ScoreAccumulator(4, { bins: 15 });
    c.addBlock(lk(), x, y);
    expect(a.merge(c).summary().rows).toBe(200);
  });

  it('multi-label statistics: the same rules', () => {
    const r = rng(3);
    const C = 3;
    const z = Float32Array.from({ length: 60 * C }, () => normal(r));
    const t = Uint8Array.from(z, (v) => (v + normal(r) > 0 ? 1 : 0));
    const a = new MultilabelAccumulator(C);
    a.addBlock(lk(), z, t);
    const st = JSON.parse(JSON.stringify(a.toStats()));
    expect(st.auroc.resolution).toBe(AUROC_RESOLUTION);
    expect(codeOf(() => MultilabelAccumulator.fromStats({ ...st, auroc: { ...st.auroc, resolution: 'x' } }, 'm.json'))).toBe('shape_mismatch');
    expect(MultilabelAccumulator.fromStats({ ...st, auroc: { bins: st.auroc.bins, nanRows: 0 } }).auroc).toBeNull();
    expect(MultilabelAccumulator.fromStats(st).report().macro.auroc).toBe(a.report().macro.auroc);
  });
});

describe('logitkit merge: resolutions', () => {
  const { dir, exec } = cliSandbox('merge-res');
  const { x, y } = data(200, 3, 4);
  writeNpy(join(dir, 'x.npy'), x, [200, 3]);
  writeNpy(join(dir, 'y.npy'), y, [200]);
  writeNpy(join(dir, 'x2.npy'), x.map((v) => v * 0.5), [200, 3]);

  it('refuses shards of different --bins with shape_mismatch naming both files; leaves AUROC out of old statistics with a note', async () => {
    const { writeFileSync } = await import('node:fs');
    const a = await exec('score', 'x.npy', '--labels', 'y.npy', '--json', '--intervals', '0');
    const b = await exec('score', 'x2.npy', '--labels', 'y.npy', '--json', '--intervals', '0', '--bins', '10');
    const c = await exec('score', 'x2.npy', '--labels', 'y.npy', '--json', '--intervals', '0');
    expect([a.code, b.code, c.code]).toEqual([0, 0, 0]);
    writeFileSync(join(dir, 'a.json'), a.stdout);
    writeFileSync(join(dir, 'b.json'), b.stdout);
    writeFileSync(join(dir, 'c.json'), c.stdout);
    const bad = await exec('merge', 'a.json', 'b.json', '--json');
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/shape_mismatch: b\.json: bins = 10 but a\.json has 15/);

    const good = JSON.parse((await exec('merge', 'a.json', 'c.json', '--json')).stdout);
    expect(good.auroc.macro).toBeGreaterThan(0.5);
    const oldJson = JSON.parse(c.stdout);
    delete oldJson.stats.auroc.resolution;
    writeFileSync(join(dir, 'old.json'), JSON.stringify(oldJson));
    const mixed = await exec('merge', 'a.json', 'old.json', '--json');
    expect(mixed.code).toBe(0);
    expect(mixed.stderr).toMatch(/AUROC left out: old\.json was written by an older logitkit/);
    const m = JSON.parse(mixed.stdout);
    expect(m.auroc).toBeUndefined();
    expect(m.accuracy).toBe(good.accuracy);
    expect(m.nll).toBe(good.nll);
  });
});
