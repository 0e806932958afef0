// logitkit fit / shift / score --apply on the bundled sample and the experiment split, through the
// CLI's main() in this process (helpers/cli.ts).
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readNpyFloat32, readNpyInt32, writeNpy } from '../src/io/npy.js';
import { runCli, type CliRun } from './helpers/cli.js';
// @ts-expect-error: a plain-JS script shared with the experiment
import { makeSplit } from '../scripts/label-shift-experiment.js';

const root = new URL('../', import.meta.url).pathname;
let dir = '';
const run = (...args: string[]): Promise<CliRun> => runCli(args, { cwd: dir });
const sample = join(root, 'data/sample/logits.npy');
const labels = join(root, 'data/sample/labels.npy');

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'lk-calib-'));
  const x = readNpyFloat32(sample);
  const y = readNpyInt32(labels).data;
  const s = makeSplit(x.data, y, 10);
  writeNpy(join(dir, 'src.npy'), s.source.x, [s.source.y.length, 10]);
  writeNpy(join(dir, 'src-labels.npy'), s.source.y, [s.source.y.length]);
  writeNpy(join(dir, 'tgt.npy'), s.target.x, [s.target.y.length, 10]);
  writeNpy(join(dir, 'tgt-labels.npy'), s.target.y, [s.target.y.length]);
  writeNpy(join(dir, 'three.npy'), new Float32Array(6), [2, 3]);
  writeNpy(join(dir, 'three-labels.npy'), new Int32Array(2), [2]);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('logitkit fit', () => {
  it('writes a bcts map (default) that score --apply uses; NLL drops', async () => {
    const r = await run('fit', sample, '--labels', labels, '-o', 'map.json');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/method bcts .*\n\s+NLL 0\.3\d+ → 0\.24\d+/);
    const map = JSON.parse(readFileSync(join(dir, 'map.json'), 'utf8'));
    expect(map).toMatchObject({ logitkit: 'calibration-map', version: 1, method: 'bcts', classes: 10 });
    expect(map.bias).toHaveLength(10);
    const s = await run('score', sample, '--labels', labels, '--apply', 'map.json', '--json');
    expect(s.code, s.stderr).toBe(0);
    const j = JSON.parse(s.stdout);
    expect(j.nll).toBeCloseTo(map.nllAfter, 4);
    expect(j.correction.before.nll).toBeGreaterThan(j.correction.after.nll);
    expect(j.correction).toMatchObject({ method: 'bcts', classes: 10 });
  });

  it('usage errors exit 2; a map for another class count exits 1 with a clear message', async () => {
    expect((await run('fit', sample, '--labels', labels, '--method', 'platt')).code).toBe(2);
    expect((await run('fit', sample, '--labels', labels, '--l2', '1')).code).toBe(2);
    expect((await run('fit', sample)).code).toBe(2);
    const r = await run('fit', sample, '--labels', labels, '--method', 'temperature', '-o', 'm10.json');
    expect(r.code, r.stderr).toBe(0);
    const bad = await run('score', 'three.npy', '--labels', 'three-labels.npy', '--apply', 'm10.json');
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/logitkit: --apply m10.json: shape_mismatch: the map is for 10 classes, but the logits have 3/);
    writeFileSync(join(dir, 'junk.json'), '{"x": 1}');
    expect((await run('score', sample, '--labels', labels, '--apply', 'junk.json')).stderr).toMatch(/not a calibration map/);
    expect((await run('score', sample, '--labels', labels, '--apply', 'm10.json', '--fit-temperature')).code).toBe(2);
  });
});

describe('logitkit shift', () => {
  for (const method of ['em', 'bbse']) {
    it(`${method}: prints source and estimated priors, writes a map; score --apply improves the target`, async () => {
      const r = await run('shift', 'src.npy', '--labels', 'src-labels.npy', '--target', 'tgt.npy', '--method', method, '-o', `${method}.json`);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).toMatch(/source prior\s+target prior \(est\.\)/);
      expect(r.stderr).toMatch(/\n\s+0\s+\d+\.\d+%\s+(29|30|31)\.\d+%/); // class 0: 30% of the target
      const map = JSON.parse(readFileSync(join(dir, `${method}.json`), 'utf8'));
      expect(map).toMatchObject({ method: 'label-shift', estimator: method, calibration: 'bcts', classes: 10 });
      const s = JSON.parse((await run('score', 'tgt.npy', '--labels', 'tgt-labels.npy', '--apply', `${method}.json`, '--json', '--report', `${method}.md`)).stdout);
      expect(s.correction.after.nll).toBeLessThan(s.correction.before.nll);
      expect(s.correction.after.accuracy).toBeGreaterThan(s.correction.before.accuracy);
      const md = readFileSync(join(dir, `${method}.md`), 'utf8');
      expect(md).toMatch(/## Correction/);
      expect(md).toMatch(/\| class \| source prior \| estimated target prior \| true target frequency \| bias \|/);
    });
  }
  it('missing --target is a usage error', async () => {
    expect((await run('shift', 'src.npy', '--labels', 'src-labels.npy')).code).toBe(2);
  });
});
