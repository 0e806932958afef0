// The benchmark core (src/bench-core/): one data generator, one set of naive baselines and one
// accuracy check for `logitkit bench`, bench/run.js and the demo. Checks that the data is
// deterministic and the same in the CLI and bench/run.js (by their workload checksums), and that
// the accuracy check rejects a wrong result. The two subprocess runs need dist/ (npm test builds it).
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  CORE_OPS,
  PER_CALL,
  WORKLOADS,
  callLogitkit,
  checkAccuracy,
  describeBuild,
  makeWorkload,
  naiveRun,
  outputLength,
  rng,
  scaleWorkload,
  workloadChecksum,
  type BenchOp,
} from '../src/bench-core/index.js';
import { init } from '../src/index.js';
import type { Engine } from '../src/public.js';

const root = join(import.meta.dirname, '..');

describe('workload data', () => {
  it('is the same on every run: mulberry32(42) and the checksums of the quick workloads are pinned', () => {
    const next = rng(42);
    expect([next(), next()]).toEqual([0.6011037519201636, 0.44829055899754167]);
    const sums = Object.fromEntries([...WORKLOADS.map((w) => scaleWorkload(w, 8)), PER_CALL].map((s) => [s.id, workloadChecksum(makeWorkload(s))]));
    expect(sums).toEqual({ '512x1000': '15a55a49', '4x128256': '169bf3c6', '125000x10': 'eb0b71fd', '256x32': '879335fb', '1x32': '874ed9fc' });
  });

  it('quick runs keep the row length and small workloads whole', () => {
    expect(scaleWorkload(WORKLOADS[1]!, 8)).toMatchObject({ id: '4x128256', rows: 4, classes: 128256 });
    expect(scaleWorkload(WORKLOADS[3]!, 8)).toBe(WORKLOADS[3]);
  });

  it('the checksum sees one changed bit of x and one changed target', () => {
    const w = makeWorkload(WORKLOADS[3]!);
    const sum = workloadChecksum(w);
    const x = w.x.slice();
    new Uint32Array(x.buffer)[100]! ^= 1;
    expect(workloadChecksum({ x, target: w.target })).not.toBe(sum);
    const target = w.target.slice();
    target[7] = (target[7]! + 1) % w.classes;
    expect(workloadChecksum({ x: w.x, target })).not.toBe(sum);
    expect(workloadChecksum(makeWorkload(WORKLOADS[3]!, 43))).not.toBe(sum);
  });
});

describe('the accuracy check', () => {
  let lk: Engine;
  beforeAll(async () => {
    lk = await init({ backend: 'wasm' });
  });
  const w = makeWorkload({ id: '64x1000', rows: 64, classes: 1000, what: 'test' });

  it.each(CORE_OPS.concat('crossEntropyGrad'))('%s: logitkit wasm passes; one injected wrong value fails it', (op: BenchOp) => {
    const want = naiveRun(op, w, new Float32Array(outputLength(op, w)));
    const got = Float32Array.from(callLogitkit(lk, op, w.x, w));
    expect(checkAccuracy(op, got, want, w).worstVsBound).toBeLessThanOrEqual(1);
    // One value off by 1e-3 of itself (at least 1e-5): several times over the §11 bounds for C = 1000.
    const i = Math.floor(got.length / 3);
    const wrong = got.slice();
    wrong[i] = wrong[i]! + Math.max(Math.abs(wrong[i]!), 1e-2) * 1e-3;
    const verdict = checkAccuracy(op, wrong, want, w);
    expect(verdict.worstVsBound).toBeGreaterThan(1);
    expect(verdict.maxError).toBeGreaterThan(0);
  });

  it('a NaN, a missing output or a wrong length is infinitely wrong', () => {
    const want = naiveRun('softmax', w, new Float32Array(w.x.length));
    const nan = want.slice();
    nan[5] = NaN;
    expect(checkAccuracy('softmax', nan, want, w).worstVsBound).toBe(Infinity);
    expect(checkAccuracy('softmax', undefined, want, w).worstVsBound).toBe(Infinity);
    expect(checkAccuracy('softmax', want.subarray(1), want, w).worstVsBound).toBe(Infinity);
  });

  it('describeBuild names the build an engine runs', async () => {
    expect(describeBuild(lk)).toMatch(/^(SIMD128|relaxed SIMD), 1 thread$/);
    expect(describeBuild(await init({ backend: 'js' }))).toBe('js backend');
  });
});

describe('logitkit bench and bench/run.js time the same data', () => {
  const common = ['--quick', '--json', '--only', 'logsumexp', '--workloads', '4096x1000,256x32'];
  const json = (args: string[]) => {
    const r = spawnSync(process.execPath, args, { cwd: root, encoding: 'utf8', timeout: 240_000 });
    expect(r.status, r.stderr).toBe(0);
    return JSON.parse(r.stdout.trim().split('\n').pop()!) as { checksums: Record<string, string>; engine?: string; wasmBuild?: string; results: { verified?: boolean }[] };
  };

  it('equal workload checksums in both --json outputs; the CLI names its engine and build', () => {
    const cli = json([join(root, 'bin', 'logitkit.js'), 'bench', ...common]);
    // Only the naive baseline in bench/run.js: the data is what is compared, not the peers.
    const harness = json([join(root, 'bench', 'run.js'), ...common, '--skip', 'logitkit,tfjs-wasm,ort-node,ort-web', '--no-report', '--no-relaxed']);
    expect(Object.keys(cli.checksums).sort()).toEqual(['256x32', '512x1000']);
    expect(harness.checksums).toEqual(cli.checksums);
    expect(cli.checksums['512x1000']).toBe('15a55a49');
    expect(cli.engine).toBe(`Node ${process.versions.node} (V8 ${process.versions.v8})`);
    expect(cli.wasmBuild).toMatch(/^(SIMD128|relaxed SIMD), 1 thread$/);
    expect(cli.results.length).toBeGreaterThan(0);
    expect(cli.results.every((r) => r.verified === true)).toBe(true);
  }, 300_000);
});
