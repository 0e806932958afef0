// score --json --no-stats (issue 22 item 12): the figures without the merge statistics, marked so
// that merge refuses the file with a reason; documented in --help.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { writeNpy } from '../src/io/npy.js';
import { cliSandbox, ROOT } from './helpers/cli.js';
import { rng } from './helpers/random.js';

const { dir, exec } = cliSandbox('nostats');
const sample = (f: string) => join(ROOT, 'data', 'sample', f);

describe('score --no-stats', () => {
  it('leaves stats out (and says so), every figure as with the stats, and is much smaller at many classes', async () => {
    const N = 200;
    const C = 300;
    const r = rng(7);
    const z = new Float32Array(N * C).map(() => (r() - 0.5) * 6);
    const y = new Int32Array(N).map(() => Math.floor(r() * C));
    writeNpy(join(dir, 'z.npy'), z, [N, C]);
    writeNpy(join(dir, 'y.npy'), y, [N]);
    const full = await exec('score', 'z.npy', '--labels', 'y.npy', '--json', '--backend', 'js');
    const lean = await exec('score', 'z.npy', '--labels', 'y.npy', '--json', '--no-stats', '--backend', 'js');
    expect(full.code).toBe(0);
    expect(lean.code).toBe(0);
    const a = JSON.parse(full.stdout);
    const b = JSON.parse(lean.stdout);
    expect(a.stats).toBeDefined();
    expect(b.stats).toBeUndefined();
    expect(b.statsOmitted).toBe(true);
    expect(a.statsOmitted).toBeUndefined();
    const { stats: _s, ...figures } = a;
    const { statsOmitted: _o, ...leanFigures } = b;
    expect(leanFigures).toEqual(figures);
    expect(lean.stdout.length).toBeLessThan(full.stdout.length / 2);
  });

  it('merge refuses such a file, naming --no-stats', async () => {
    const lean = await exec('score', sample('logits.npy'), '--labels', sample('labels.npy'), '--json', '--no-stats', '--intervals', '0');
    writeFileSync(join(dir, 'lean.json'), lean.stdout);
    const full = await exec('score', sample('logits.npy'), '--labels', sample('labels.npy'), '--json', '--intervals', '0');
    writeFileSync(join(dir, 'full.json'), full.stdout);
    const m = await exec('merge', 'full.json', 'lean.json', '--json');
    expect(m.code).toBe(1);
    expect(m.stderr).toMatch(/lean\.json: was written with --no-stats .*cannot be merged/);
    expect(m.stdout).toBe('');
  });

  it('--multilabel --json --no-stats leaves the multi-label stats out too', async () => {
    const N = 50;
    const C = 3;
    const r = rng(3);
    writeNpy(join(dir, 'mz.npy'), new Float32Array(N * C).map(() => r() * 4 - 2), [N, C]);
    writeNpy(join(dir, 'mt.npy'), new Int32Array(N * C).map(() => (r() < 0.4 ? 1 : 0)), [N, C]);
    const out = await exec('score', 'mz.npy', '--labels', 'mt.npy', '--multilabel', '--json', '--no-stats');
    expect(out.code).toBe(0);
    const o = JSON.parse(out.stdout);
    expect(o.stats).toBeUndefined();
    expect(o.statsOmitted).toBe(true);
    expect(o.multilabel.micro).toBeDefined();
  });

  it('without --json it is a usage error; --help documents it', async () => {
    const r = await exec('score', sample('logits.npy'), '--labels', sample('labels.npy'), '--no-stats');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--no-stats: applies to --json/);
    const h = await exec('score', '--help');
    expect(h.stdout).toMatch(/--no-stats/);
    expect(h.stdout).toMatch(/cannot be merged/);
  });
});
