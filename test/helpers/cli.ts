/**
 * Running the `logitkit` command in tests. `runCli` calls the CLI's `main(argv)` in this process
 * (from the sources: no build, no Node start-up per call) and captures what it writes;
 * `spawnCli` runs the built bin/logitkit.js in a child Node, for the few true end-to-end checks.
 * `cliSandbox(prefix)` gives a temporary directory, removed after the file's tests, and both
 * runners bound to it.
 */
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';
import { main } from '../../src/cli/main.js';

export const ROOT = join(import.meta.dirname, '..', '..');
export const BIN = join(ROOT, 'bin', 'logitkit.js');

export interface CliRun {
  /** The exit code main() resolved to (what bin/logitkit.js sets as process.exitCode). */
  code: number;
  stdout: string;
  stderr: string;
}

type Write = typeof process.stdout.write;

let queue: Promise<unknown> = Promise.resolve();

/**
 * `main(argv)` in this process with `cwd` as the working directory, stdout and stderr captured.
 * Runs are serialised: the capture swaps process-wide streams, so two overlapping runs would mix
 * their output. Also restores what a command could leave behind for the next one: the working
 * directory, process.exitCode, the environment variables set for the run, and the two streams.
 */
export function runCli(argv: readonly string[], options: { cwd?: string; env?: Record<string, string> } = {}): Promise<CliRun> {
  const run = queue.then(() => runNow([...argv], options));
  queue = run.catch(() => undefined);
  return run;
}

async function runNow(argv: string[], options: { cwd?: string; env?: Record<string, string> }): Promise<CliRun> {
  const out: string[] = [];
  const err: string[] = [];
  const capture = (sink: string[]): Write =>
    ((chunk: string | Uint8Array, encoding?: BufferEncoding | ((e?: Error | null) => void), cb?: (e?: Error | null) => void) => {
      sink.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString(typeof encoding === 'string' ? encoding : 'utf8'));
      const done = typeof encoding === 'function' ? encoding : cb;
      if (done) queueMicrotask(() => done(null));
      return true;
    }) as Write;
  const saved = { out: process.stdout.write, err: process.stderr.write, cwd: process.cwd(), exitCode: process.exitCode };
  const savedEnv: Record<string, string | undefined> = {};
  for (const [k, v] of Object.entries(options.env ?? {})) {
    savedEnv[k] = process.env[k];
    process.env[k] = v;
  }
  // The captured streams are not terminals, whatever the test runner's are: no progress bars.
  const tty = { out: Object.getOwnPropertyDescriptor(process.stdout, 'isTTY'), err: Object.getOwnPropertyDescriptor(process.stderr, 'isTTY') };
  Object.defineProperty(process.stdout, 'isTTY', { value: false, configurable: true, writable: true });
  Object.defineProperty(process.stderr, 'isTTY', { value: false, configurable: true, writable: true });
  process.stdout.write = capture(out);
  process.stderr.write = capture(err);
  try {
    if (options.cwd) process.chdir(options.cwd);
    const code = await main(argv);
    return { code, stdout: out.join(''), stderr: err.join('') };
  } finally {
    process.stdout.write = saved.out;
    process.stderr.write = saved.err;
    for (const [stream, d] of [[process.stdout, tty.out], [process.stderr, tty.err]] as const) {
      if (d) Object.defineProperty(stream, 'isTTY', d);
      else delete (stream as { isTTY?: boolean }).isTTY;
    }
    process.chdir(saved.cwd);
    process.exitCode = saved.exitCode;
    for (const [k, v] of Object.entries(savedEnv)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
}

/** The built command (dist/, which `npm test` builds first) in a child Node. */
export function spawnCli(argv: readonly string[], options: { cwd?: string; env?: NodeJS.ProcessEnv; timeout?: number } = {}): SpawnSyncReturns<string> {
  return spawnSync(process.execPath, [BIN, ...argv], { cwd: options.cwd, env: options.env, encoding: 'utf8', timeout: options.timeout ?? 60_000 });
}

export function cliSandbox(prefix: string): {
  dir: string;
  /** bin/logitkit.js spawned in `dir`. */
  run: (...args: string[]) => SpawnSyncReturns<string>;
  /** main(argv) in this process, in `dir`. */
  exec: (...args: string[]) => Promise<CliRun>;
} {
  const dir = mkdtempSync(join(tmpdir(), `lk-${prefix}-`));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  return { dir, run: (...args) => spawnCli(args, { cwd: dir }), exec: (...args) => runCli(args, { cwd: dir }) };
}
