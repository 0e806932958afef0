// The in-process CLI runner of helpers/cli.ts: what the CLI tests rely on when they call main(argv)
// many times in one process — nothing one run changes leaks into the next.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { encodeNpyData, writeNpyRaw } from '../src/io/npy.js';
import { cliSandbox, runCli } from './helpers/cli.js';
import { classifierData } from './reference/index.js';

const { dir, exec } = cliSandbox('inprocess');
const C = 5;
const data = classifierData(300, C, 3);
writeNpyRaw(join(dir, 'x.npy'), '<f4', [300, C], encodeNpyData('<f4', data.x));
writeNpyRaw(join(dir, 'y.npy'), '<i4', [300], encodeNpyData('<i4', data.y));

describe('runCli: main(argv) in this process', () => {
  it('returns the exit code and the captured streams, and restores cwd, exitCode, the writers and isTTY', async () => {
    const before = { cwd: process.cwd(), exitCode: process.exitCode, out: process.stdout.write, err: process.stderr.write, tty: process.stderr.isTTY };
    const ok = await exec('score', 'x.npy', '--labels', 'y.npy', '--json');
    expect(ok.code, ok.stderr).toBe(0);
    expect(JSON.parse(ok.stdout).rows).toBe(300);
    const usage = await exec('score', 'x.npy');
    expect(usage.code).toBe(2);
    expect(usage.stdout).toBe('');
    expect(usage.stderr).toMatch(/^logitkit: .*\nusage: logitkit score /);
    const missing = await exec('score', 'nope.npy', '--labels', 'y.npy');
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/nope\.npy: no such file/);
    expect(process.cwd()).toBe(before.cwd);
    expect(process.exitCode).toBe(before.exitCode);
    expect(process.stdout.write).toBe(before.out);
    expect(process.stderr.write).toBe(before.err);
    expect(process.stderr.isTTY).toBe(before.tty);
  });

  it('the same command gives the same output before and after failing runs', async () => {
    const first = await exec('score', 'x.npy', '--labels', 'y.npy', '--json', '--backend', 'js');
    await exec('score', 'x.npy', '--labels', 'x.npy');
    await exec('frobnicate');
    const again = await exec('score', 'x.npy', '--labels', 'y.npy', '--json', '--backend', 'js');
    expect(again).toEqual(first);
  });

  it('overlapping runs are serialised: each gets its own output', async () => {
    writeFileSync(join(dir, 'junk.json'), '{}');
    const [a, b, c] = await Promise.all([exec('--version'), exec('merge', 'junk.json'), runCli(['--help'])]);
    expect(a).toEqual({ code: 0, stdout: 'logitkit 0.1.0\n', stderr: '' });
    expect(b.code).toBe(1);
    expect(b.stdout).toBe('');
    expect(c.code).toBe(0);
    expect(c.stdout).toMatch(/^usage: logitkit <command>/);
    expect(c.stderr).toBe('');
  });

  it('environment variables given to a run are set during it only', async () => {
    const key = 'LOGITKIT_NPY_MAX_HEADER_BYTES';
    const saved = process.env[key];
    const r = await runCli(['score', 'x.npy', '--labels', 'y.npy'], { cwd: dir, env: { [key]: 'lots' } });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/LOGITKIT_NPY_MAX_HEADER_BYTES=lots: expected a whole number of bytes/);
    expect(process.env[key]).toBe(saved);
  });
});
