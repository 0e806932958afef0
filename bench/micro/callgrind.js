// Instructions of one run of a Node script under valgrind's callgrind, with V8 made as repeatable as
// it goes (one thread, no baseline tier, fixed seeds): instructions.js and op-instructions.js count
// (run with 2K calls − run with K calls) / K with it. Null when the run fails.
import { spawnSync } from 'node:child_process';

export function callgrindCount(script, args) {
  const run = spawnSync('valgrind', ['--tool=callgrind', '--callgrind-out-file=/dev/null', process.execPath,
    '--single-threaded', '--no-liftoff', '--predictable', '--random-seed=1', '--hash-seed=1', script, ...args],
  { encoding: 'utf8' });
  const n = /Collected : (\d+)/.exec(run.stderr)?.[1];
  return run.status !== 0 || n === undefined ? { count: null, stderr: run.stderr } : { count: Number(n), stderr: run.stderr };
}
