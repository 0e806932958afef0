// The benchmark core (src/bench-core/): one data generator, one set of naive baselines and one
// accuracy check for `logitkit bench`, bench/run.js and the demo. Checks that the data is
// deterministic and the same in the CLI and bench/run.js (by their workload checksums), and that
// the accuracy check rejects a wrong result. The two subprocess runs need dist/ (npm test builds it).
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  CORE_OPS,
  PER_CALL,
  WORKLOADS,
  callLogitkit,
  checkAccuracy,
  describeBuild,
  describeCpu,
  makeWorkload,
  naiveRun,
  outputLength,
  parseCpuinfo,
  rng,
  scaleWorkload,
  unknownCpu,
  workloadChecksum,
  type BenchOp,
} from '../src/bench-core/index.js';
import { hostCpu } from '../src/bench-core/host.js';
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
  let cliStderr = '';
  const json = (args: string[]) => {
    const r = spawnSync(process.execPath, args, { cwd: root, encoding: 'utf8', timeout: 240_000 });
    expect(r.status, r.stderr).toBe(0);
    cliStderr = r.stderr;
    return JSON.parse(r.stdout.trim().split('\n').pop()!) as {
      checksums: Record<string, string>;
      engine?: string;
      wasmBuild?: string;
      machine: { cpu: string; avx2: boolean | null; avx512: boolean | null; cpuDescription: string };
      results: { verified?: boolean }[];
    };
  };

  it('equal workload checksums in both --json outputs; the CLI names its engine and build', () => {
    const cli = json([join(root, 'bin', 'logitkit.js'), 'bench', ...common]);
    const stderr = cliStderr;
    // Only the naive baseline in bench/run.js: the data is what is compared, not the peers.
    const harness = json([join(root, 'bench', 'run.js'), ...common, '--skip', 'logitkit,tfjs-wasm,ort-node,ort-web', '--no-report', '--no-relaxed']);
    expect(Object.keys(cli.checksums).sort()).toEqual(['256x32', '512x1000']);
    expect(harness.checksums).toEqual(cli.checksums);
    expect(cli.checksums['512x1000']).toBe('15a55a49');
    expect(cli.engine).toBe(`Node ${process.versions.node} (V8 ${process.versions.v8})`);
    expect(cli.wasmBuild).toMatch(/^(SIMD128|relaxed SIMD), 1 thread$/);
    expect(cli.results.length).toBeGreaterThan(0);
    expect(cli.results.every((r) => r.verified === true)).toBe(true);
    // Which CPU: the same reading in the CLI and in bench/run.js's results, printed before and after the table.
    const cpu = hostCpu();
    expect(cli.machine).toMatchObject({ cpu: cpu.model, avx2: cpu.avx2, avx512: cpu.avx512, cpuDescription: describeCpu(cpu) });
    expect((harness as unknown as { machine: { cpuDescription: string } }).machine.cpuDescription).toBe(describeCpu(cpu));
    expect(stderr.split('\n')[0]).toContain(describeCpu(cpu));
    expect(stderr).toContain(`CPU ${describeCpu(cpu)}.`);
  }, 300_000);
});

describe('which CPU a run measured', () => {
  const x86 = [
    'processor\t: 0',
    'vendor_id\t: AuthenticAMD',
    'model name\t: AMD EPYC 9R14 96-Core Processor',
    'flags\t\t: fpu sse4_1 avx avx2 fma avx512f avx512dq avx512bw avx512vl avx512_bf16 avx512_vnni',
    '',
    'processor\t: 1',
    'model name\t: AMD EPYC 9R14 96-Core Processor',
    'flags\t\t: fpu sse4_1 avx avx2 fma avx512f avx512dq avx512bw avx512vl avx512_bf16 avx512_vnni',
  ].join('\n');

  it('reads model, AVX2 and AVX-512 (with its subsets) from /proc/cpuinfo', () => {
    const cpu = parseCpuinfo(x86);
    expect(cpu).toEqual({ model: 'AMD EPYC 9R14 96-Core Processor', avx2: true, avx512: true, avx512Subsets: ['bf16', 'bw', 'dq', 'f', 'vl', 'vnni'] });
    expect(describeCpu(cpu)).toBe('AMD EPYC 9R14 96-Core Processor (AVX2 yes, AVX-512 yes: bf16, bw, dq, f, vl, vnni)');
  });

  it('a host without AVX-512 says no, not unknown; avx512 subsets without avx512f are not AVX-512', () => {
    const noAvx512 = parseCpuinfo('model name\t: Intel(R) Xeon(R) CPU E5-2680 v4\nflags\t\t: sse4_1 avx avx2 fma\n');
    expect(describeCpu(noAvx512)).toBe('Intel(R) Xeon(R) CPU E5-2680 v4 (AVX2 yes, AVX-512 no)');
    const old = parseCpuinfo('model name\t: Old\nflags\t\t: sse2 avx512er\n');
    expect([old.avx2, old.avx512]).toEqual([false, false]);
  });

  it('without a flags line (not x86, or no /proc/cpuinfo: browsers) the extensions are unknown', () => {
    const arm = parseCpuinfo('processor\t: 0\nFeatures\t: fp asimd\nCPU part\t: 0xd0c\n', 'Neoverse-N1');
    expect(arm).toEqual(unknownCpu('Neoverse-N1'));
    expect(describeCpu(arm)).toBe('Neoverse-N1 (AVX2 unknown, AVX-512 unknown)');
    expect(describeCpu(unknownCpu())).toBe('unknown (AVX2 unknown, AVX-512 unknown)');
  });

  it('this host: the model /proc/cpuinfo or os.cpus() gives, flags known exactly where /proc/cpuinfo has them', () => {
    const cpu = hostCpu();
    expect(cpu.model.length).toBeGreaterThan(0);
    let text = '';
    try {
      text = readFileSync('/proc/cpuinfo', 'utf8');
    } catch {
      // not Linux
    }
    expect(cpu.avx2 === null).toBe(!/^flags\s*:/m.test(text));
  });
});
