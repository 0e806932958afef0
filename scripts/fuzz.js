#!/usr/bin/env node
// The long fuzz run (nightly-style): test/fuzz.test.ts with many more cases than `npm test` runs.
//   npm run fuzz -- [--runs N] [--seed S]      (or LOGITKIT_FUZZ_RUNS / LOGITKIT_FUZZ_SEED)
// Default: 20,000 cases per property (about 10 minutes on two cores), seed from the clock, printed
// first so a failure can be reproduced with --seed.
import { spawnSync } from 'node:child_process';
import { parseArgs } from 'node:util';

const { values } = parseArgs({ options: { runs: { type: 'string' }, seed: { type: 'string' } } });
const runs = values.runs ?? process.env.LOGITKIT_FUZZ_RUNS ?? '20000';
const seed = values.seed ?? process.env.LOGITKIT_FUZZ_SEED ?? String(Date.now() % 2 ** 31);
for (const [name, v] of [['runs', runs], ['seed', seed]]) {
  if (!/^\d+$/.test(v)) {
    console.error(`fuzz: --${name} ${v}: expected a whole number`);
    process.exit(2);
  }
}
console.log(`fuzz: ${runs} runs per property, seed ${seed}`);
const r = spawnSync(process.execPath, ['node_modules/vitest/vitest.mjs', 'run', 'test/fuzz.test.ts', '--testTimeout', '0'], {
  stdio: 'inherit',
  env: { ...process.env, LOGITKIT_FUZZ_RUNS: runs, LOGITKIT_FUZZ_SEED: seed },
});
process.exit(r.status ?? 1);
