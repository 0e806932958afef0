// A closed stdout ends every command that writes to it quietly (issue 22 item 11): `… | head -c 100`
// gives exit 0 and no EPIPE stack trace. Real pipes, the built command, outputs well over a pipe's
// 64 KiB buffer so the writer meets the closed end.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BIN, ROOT } from './helpers/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'lk-pipes-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const sample = (f: string) => join(ROOT, 'data', 'sample', f);

/** Runs `node bin/logitkit.js ARGS | head -c 100` in bash; the command's exit status, its stderr, and what head got. */
function piped(args: string[], reader = 'head -c 100'): { status: number; stderr: string; head: string } {
  const quoted = args.map((a) => `'${a}'`).join(' ');
  const r = spawnSync('bash', ['-c', `'${process.execPath}' '${BIN}' ${quoted} 2>"$1/err" | ${reader} > "$1/head"; echo "\${PIPESTATUS[0]}"; cat "$1/err"`, '_', dir], {
    encoding: 'utf8',
    cwd: dir,
    timeout: 60_000,
  });
  const [status, ...err] = r.stdout.split('\n');
  return { status: Number(status), stderr: err.join('\n'), head: spawnSync('cat', [join(dir, 'head')], { encoding: 'utf8' }).stdout };
}

const score = ['score', sample('logits.npy'), '--labels', sample('labels.npy'), '--json', '--intervals', '200'];

describe('stdout closed early', () => {
  it('score --json | head -c 100: exit 0, no stack trace', () => {
    const r = piped(score);
    expect(r.stderr).not.toMatch(/EPIPE|Error|at /);
    expect([0, 141]).toContain(r.status);
    expect(r.head.length).toBe(100);
  });

  it('merge --json | head -c 100, calibrate --json | true, score --help | true: exit 0, no stack trace', () => {
    const whole = spawnSync(process.execPath, [BIN, ...score], { encoding: 'utf8', maxBuffer: 1 << 28 });
    expect(whole.status, whole.stderr).toBe(0);
    writeFileSync(join(dir, 'a.json'), whole.stdout);
    const shifted = spawnSync(process.execPath, [BIN, 'score', sample('lenet-logits.npy'), '--labels', sample('lenet-labels.npy'), '--json', '--intervals', '200'], { encoding: 'utf8', maxBuffer: 1 << 28 });
    writeFileSync(join(dir, 'b.json'), shifted.stdout);
    for (const [args, reader] of [
      [['merge', join(dir, 'a.json'), join(dir, 'b.json'), '--json'], 'head -c 100'],
      [['calibrate', sample('logits.npy'), '--labels', sample('labels.npy'), '--json'], 'true'],
      [['score', '--help'], 'true'],
    ] as const) {
      const r = piped([...args], reader);
      expect(r.stderr, args.join(' ')).not.toMatch(/EPIPE|Error|at /);
      expect([0, 141], args.join(' ')).toContain(r.status);
    }
  });

  it('an error still exits 1 with its message when stdout is piped', () => {
    const r = piped(['score', join(dir, 'missing.npy'), '--labels', sample('labels.npy'), '--json']);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/^logitkit: .*missing\.npy/);
  });
});
