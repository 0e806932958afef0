/**
 * `logitkit bench [--quick] [--json] [--only op,…] [--workloads id,…]`: how fast logitkit is on
 * this machine, in under 30 seconds.
 *
 * Times logitkit's wasm backend (plain arrays, which the engine copies in and out, and zero-copy
 * buffers from `lk.alloc`), its pure-JS backend, and the naive three-pass `Math.exp` baseline for
 * softmax, logSoftmax, logsumexp and crossEntropy (reduction 'none') on the row lengths of the
 * full comparison (bench/ in the repository, which adds tfjs and onnxruntime and uses 4× the
 * rows), plus the per-call cost of a 1×32 softmax. Workloads, data, baselines and the accuracy
 * check are the benchmark core's (src/bench-core/), shared with bench/run.js and the demo, so the
 * three time the same numbers (`--json` prints each workload's checksum). Each output is checked
 * once against the naive one (SEMANTICS.md §11 bounds) before it is timed.
 *
 * Only the public API is used, so this measures exactly what a user's code gets.
 * Human tables go to stderr; `--json` prints one JSON object on stdout.
 */
import os from 'node:os';
import { Bench } from 'tinybench';
import { init, type Engine } from '../index.js';
import {
  CORE_OPS,
  PER_CALL,
  WORKLOADS,
  callLogitkit,
  checkAccuracy,
  describeBuild,
  describeCpu,
  describeEngine,
  makeWorkload,
  naiveRun,
  outputLength,
  quantile,
  scaleWorkload,
  workloadChecksum,
  type BenchOp,
  type Workload,
} from '../bench-core/index.js';
import { hostCpu } from '../bench-core/host.js';

interface Row {
  op: BenchOp;
  workload: string;
  rows: number;
  classes: number;
  impl: string;
  copies: string;
  medianMs?: number;
  p25Ms?: number;
  p75Ms?: number;
  melemPerSec?: number;
  vsNaive?: number;
  maxError?: number;
  /** Error as a fraction of its SEMANTICS.md §11 bound (≤ 1 passes). */
  worstVsBound?: number;
  verified?: boolean;
  error?: string;
}

// The row lengths of the full comparison with fewer rows (same kernels, same per-row work), so a
// run fits in 30 s even where the JS backend is slow. Full: ≥ 3 samples and ≥ 100 ms per
// implementation. Quick: softmax and logsumexp, one warm-up and three timed calls; its rows are
// bench/run.js --quick's, so the two print the same checksums.
const SETTINGS = {
  full: { ops: CORE_OPS, rowsDivisor: 4, time: 100, iterations: 3, warmupIterations: 1, perCallBatch: 400 },
  quick: { ops: ['softmax', 'logsumexp'] as readonly BenchOp[], rowsDivisor: 8, time: 0, iterations: 3, warmupIterations: 1, perCallBatch: 200 },
};

const USAGE =
  'usage: logitkit bench [--quick] [--json] [--only op,op] [--workloads id,id]\n' +
  `  ops: ${CORE_OPS.join(', ')}\n  workloads: ${[...WORKLOADS, PER_CALL].map((w) => w.id).join(', ')} (the big ones run with fewer rows)\n`;

/** Runs the benchmark; resolves to the process exit code (0 ok, 1 failure, 2 usage error). */
export async function runBench(argv: string[]): Promise<number> {
  let quick = false;
  let json = false;
  let only: BenchOp[] | undefined;
  let workloads: string[] | undefined;
  const usage = (problem: string) => {
    process.stderr.write(`logitkit bench: ${problem}\n${USAGE}`);
    return 2;
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--quick') quick = true;
    else if (a === '--json') json = true;
    else if (a === '--only' || a === '--workloads') {
      const list = (argv[++i] ?? '').split(',').map((v) => v.trim()).filter(Boolean);
      if (!list.length) return usage(`${a} needs a comma-separated list`);
      if (a === '--only') {
        const bad = list.find((op) => !CORE_OPS.includes(op as BenchOp));
        if (bad !== undefined) return usage(`--only: unknown op ${bad}`);
        only = list as BenchOp[];
      } else {
        const bad = list.find((id) => ![...WORKLOADS, PER_CALL].some((w) => w.id === id));
        if (bad !== undefined) return usage(`--workloads: unknown workload ${bad}`);
        workloads = list;
      }
    } else if (a === '--help' || a === '-h') {
      // On stdout, as every other command's help: asked-for output, e.g. for `| less`.
      process.stdout.write(USAGE);
      return 0;
    } else return usage(`unknown option ${a}`);
  }
  const settings = quick ? SETTINGS.quick : SETTINGS.full;
  const ops = only ?? settings.ops;
  const say = (line: string) => process.stderr.write(line + '\n');
  const started = performance.now();

  let wasm: Engine;
  let js: Engine;
  try {
    wasm = await init({ backend: 'wasm' });
    js = await init({ backend: 'js' });
  } catch (err) {
    process.stderr.write(`logitkit bench: could not initialise logitkit: ${(err as Error).message}\n`);
    return 1;
  }
  // Which CPU, and whether it has AVX2 / AVX-512: native peers' speed depends on them, so a
  // figure is only comparable with figures from the same kind of host.
  const cpu = hostCpu();
  const machine = {
    cpu: cpu.model,
    avx2: cpu.avx2,
    avx512: cpu.avx512,
    avx512Subsets: cpu.avx512Subsets,
    cpuDescription: describeCpu(cpu),
    cores: typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length,
    node: process.version,
    platform: `${os.platform()} ${os.arch()}`,
  };
  // The engine and the build init() chose for it (and why): the numbers below are theirs.
  const engine = describeEngine();
  const build = describeBuild(wasm);
  const buildReason = wasm.features.buildReason;
  say(`logitkit bench${quick ? ' --quick' : ''}: ${machine.cpuDescription}, ${machine.cores} cores; engine: ${engine}; wasm build: ${build}${buildReason ? ` (${buildReason})` : ''}`);
  // Wall-clock timings charge other processes' work to whatever was running: say so when it shows.
  const load = os.loadavg()[0] ?? 0;
  if (load > machine.cores / 2) say(`note: the machine is busy (1-minute load average ${load.toFixed(1)} on ${machine.cores} cores); expect noisy numbers.`);

  const results: Row[] = [];
  const checksums: Record<string, string> = {};
  try {
    for (const spec of WORKLOADS) {
      if (workloads && !workloads.includes(spec.id)) continue;
      const w = makeWorkload(scaleWorkload(spec, settings.rowsDivisor));
      checksums[w.id] = workloadChecksum(w);
      for (const op of ops) results.push(...(await timeGroup(op, w, wasm, js, settings)));
    }
    if (ops.includes('softmax') && (!workloads || workloads.includes(PER_CALL.id))) {
      const w = makeWorkload(PER_CALL);
      checksums[w.id] = workloadChecksum(w);
      results.push(...(await timeGroup('softmax', w, wasm, js, settings, settings.perCallBatch)));
    }
  } catch (err) {
    process.stderr.write(`logitkit bench: ${(err as Error).stack ?? err}\n`);
    return 1;
  } finally {
    wasm.dispose?.();
    js.dispose?.();
  }

  const durationSec = Math.round((performance.now() - started) / 100) / 10;
  say(formatTable(results));
  say(`done in ${durationSec} s on ${engine}, wasm build ${build}, CPU ${machine.cpuDescription}. Melem/s = rows × classes / median time (p25–p75 in the JSON); ratios are vs naive JS.`);
  if (json) {
    const out = {
      command: `logitkit bench${argv.length ? ' ' + argv.join(' ') : ''}`,
      date: new Date().toISOString(),
      durationSec,
      machine: { ...machine, loadAverage: load },
      engine,
      wasmBuild: build,
      buildReason,
      checksums,
      results,
    };
    process.stdout.write(JSON.stringify(out) + '\n');
  }
  return results.some((r) => r.error || r.verified === false) ? 1 : 0;
}

interface Prepared {
  impl: string;
  copies: string;
  run: () => ArrayLike<number>;
  dispose?: () => void;
}

/** The four implementations for one op and workload. */
function prepare(op: BenchOp, w: Workload, wasm: Engine, js: Engine): Prepared[] {
  const outLen = outputLength(op, w);
  const naiveOut = new Float32Array(outLen);
  const list: Prepared[] = [{ impl: 'naive JS', copies: 'none', run: () => naiveRun(op, w, naiveOut) }];
  const plain = (lk: Engine, impl: string, copies: string): Prepared => {
    const out = new Float32Array(outLen);
    return { impl, copies, run: () => callLogitkit(lk, op, w.x, w, out) };
  };
  list.push(plain(js, 'logitkit js', 'none'));
  list.push(plain(wasm, 'logitkit wasm', 'in+out'));
  // Zero-copy: x, out (and crossEntropy's targets) live in wasm memory; read `.array` again after
  // each call (memory may grow).
  const xb = wasm.alloc(w.x.length);
  xb.array.set(w.x);
  const ob = wasm.alloc(outLen);
  const tb = op === 'crossEntropy' || op === 'crossEntropyGrad' ? wasm.alloc(w.rows, 'int32') : null;
  tb?.array.set(w.target);
  const wb = tb ? { classes: w.classes, target: tb } : w;
  list.push({
    impl: 'logitkit wasm buffers',
    copies: 'none',
    run: () => {
      callLogitkit(wasm, op, xb, wb, ob);
      return ob.array;
    },
    dispose: () => {
      xb.free();
      ob.free();
      tb?.free();
    },
  });
  return list;
}

async function timeGroup(op: BenchOp, w: Workload, wasm: Engine, js: Engine, settings: (typeof SETTINGS)['full'], batch = 1): Promise<Row[]> {
  const prepared = prepare(op, w, wasm, js);
  const reference = Float32Array.from(prepared[0]!.run());
  const bench = new Bench({
    time: batch > 1 ? settings.time / 2 : settings.time,
    // Per-call batches are cheap: sample and warm them well, since the first few thousand calls of
    // a tiny op run in V8's baseline tier and would otherwise dominate the median.
    iterations: batch > 1 ? Math.max(30, settings.iterations) : settings.iterations,
    warmupTime: 0,
    warmupIterations: batch > 1 ? Math.max(20, settings.warmupIterations) : settings.warmupIterations,
    throws: false,
  });
  const rows: Row[] = [];
  for (const p of prepared) {
    const row: Row = { op, workload: w.id, rows: w.rows, classes: w.classes, impl: p.impl, copies: p.copies };
    rows.push(row);
    try {
      Object.assign(row, checkAccuracy(op, p.run(), reference, w));
      row.verified = row.worstVsBound! <= 1;
    } catch (err) {
      row.error = (err as Error).message;
      continue;
    }
    const run = p.run;
    bench.add(p.impl, batch > 1 ? () => { for (let i = 0; i < batch; i++) run(); } : run);
  }
  await bench.run();
  const elems = w.rows * w.classes;
  for (const task of bench.tasks) {
    const row = rows.find((r) => r.impl === task.name)!;
    const result = task.result;
    if (!result || result.error) {
      row.error = result?.error?.message ?? 'no timing result';
      continue;
    }
    const s = Float64Array.from(result.latency.samples, (ms) => ms / batch).sort();
    row.medianMs = quantile(s, 0.5);
    row.p25Ms = quantile(s, 0.25);
    row.p75Ms = quantile(s, 0.75);
    row.melemPerSec = elems / (row.medianMs * 1e3);
  }
  const base = rows[0]!.medianMs;
  for (const r of rows) if (base && r.medianMs) r.vsNaive = base / r.medianMs;
  for (const p of prepared) p.dispose?.();
  return rows;
}

function fmt(v: number | undefined): string {
  if (v === undefined || !Number.isFinite(v)) return '—';
  return v >= 100 ? v.toFixed(0) : v.toPrecision(3);
}

/** One line per op × workload: Melem/s of each implementation, then wasm's speed-up over naive. */
function formatTable(rows: Row[]): string {
  const impls = ['naive JS', 'logitkit js', 'logitkit wasm', 'logitkit wasm buffers'];
  const head = ['op', 'workload', ...impls.map((i) => `${i} Melem/s`), 'wasm ×naive', 'buffers ×naive'];
  const lines: string[][] = [head];
  const groups = new Map<string, Row[]>();
  for (const r of rows) {
    const key = `${r.op} ${r.workload}`;
    if (!groups.has(key)) groups.set(key, []);
    groups.get(key)!.push(r);
  }
  for (const [, g] of groups) {
    const by = (impl: string) => g.find((r) => r.impl === impl);
    const cell = (impl: string) => {
      const r = by(impl);
      if (!r) return '—';
      if (r.error) return 'error';
      const value = g[0].workload === '1x32' ? `${fmt((r.medianMs ?? NaN) * 1e6)} ns/call` : fmt(r.melemPerSec);
      return r.verified === false ? `${value} ✗` : value;
    };
    lines.push([
      g[0].op,
      g[0].workload.replace('x', '×'),
      ...impls.map(cell),
      `×${fmt(by('logitkit wasm')?.vsNaive)}`,
      `×${fmt(by('logitkit wasm buffers')?.vsNaive)}`,
    ]);
  }
  const widths = head.map((_, c) => Math.max(...lines.map((l) => l[c].length)));
  const text = lines.map((l) => l.map((v, c) => (c < 2 ? v.padEnd(widths[c]) : v.padStart(widths[c]))).join('  '));
  const failed = rows.filter((r) => r.error || r.verified === false);
  const notes = failed.map((r) => `  ${r.op} ${r.workload} ${r.impl}: ${r.error ?? `error ${r.worstVsBound}× its §11 bound vs naive JS`}`);
  return [text[0], '-'.repeat(text[0].length), ...text.slice(1), ...(notes.length ? ['problems:', ...notes] : [])].join('\n');
}
