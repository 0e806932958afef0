#!/usr/bin/env node
// The comparison harness: logitkit (wasm with plain arrays, wasm with zero-copy buffers, js) against
// a naive JS baseline and the strongest JS-reachable peers (tfjs-backend-wasm, onnxruntime-node,
// onnxruntime-web), for softmax, logSoftmax, logsumexp and crossEntropy (reduction 'none') on the
// workloads of workloads.js, plus the per-call cost of a 1×32 softmax.
//
// Every implementation's output is checked against the naive JS output once before it is timed.
// Timings are tinybench samples; calls under 1 ms (and the 1×32 suite) are timed in batches and
// divided. Samples come from rounds that take turns and are pooled; we report the median and the
// p25–p75 spread. On a busy machine (--clock auto) samples measure the process's CPU time instead
// of wall time, so other processes' work is not charged to whichever implementation was running.
//
//   node bench/run.js [--quick] [--only softmax,logsumexp] [--json] [--skip tfjs-wasm,ort-web]
//                     [--workloads 4096x1000,256x32] [--clock auto|wall|cpu] [--no-report]
//   node bench/run.js --verify      accuracy check of every implementation, no timing
//
// Writes bench/out/results.json. A full run (no --quick/--only/--skip/--workloads) regenerates
// bench/RESULTS.md and bench/chart.svg; partial runs write their report to bench/out/ instead so
// a quick look never overwrites the published comparison.
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { loadPeers } from './peers/index.js';
import { OPS, PER_CALL, WORKLOADS, WRONG_FACTOR, checkAccuracy, describeEngine, makeWorkload, scaleWorkload as scaled, workloadChecksum } from './workloads.js';
import { SETTINGS, runGroup } from './harness.js';
import { machineInfo, packageVersions } from './machine.js';
import { writeReport } from './report.js';

const HERE = new URL('./', import.meta.url);
const OUT_DIR = new URL('./out/', HERE);


function parseArgs(argv) {
  const args = { quick: false, json: false, verify: false, only: null, skip: new Set(), workloads: null, report: true, clock: 'auto', out: null };
  const list = (v, name) => {
    if (!v || v.startsWith('--')) usage(`${name} needs a comma-separated list`);
    return v.split(',').map((s) => s.trim()).filter(Boolean);
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--quick') args.quick = true;
    else if (a === '--json') args.json = true;
    else if (a === '--no-report') args.report = false;
    else if (a === '--no-relaxed') continue; // handled before parsing (see rerunWithRelaxedSimd)
    else if (a === '--verify') args.verify = true;
    else if (a === '--clock') {
      args.clock = argv[++i];
      if (!['auto', 'wall', 'cpu'].includes(args.clock)) usage('--clock takes auto, wall or cpu');
    }
    else if (a === '--only') args.only = list(argv[++i], '--only');
    else if (a === '--out') {
      args.out = argv[++i];
      if (!args.out || args.out.startsWith('--')) usage('--out needs a file name');
    }
    else if (a === '--skip') args.skip = new Set(list(argv[++i], '--skip'));
    else if (a === '--workloads') args.workloads = list(argv[++i], '--workloads');
    else if (a === '--help' || a === '-h') usage(null);
    else usage(`unknown option ${a}`);
  }
  if (args.only) for (const op of args.only) if (!OPS.includes(op)) usage(`--only: unknown op ${op} (ops: ${OPS.join(', ')})`);
  const ids = WORKLOADS.map((w) => w.id).concat(PER_CALL.id);
  if (args.workloads) for (const w of args.workloads) if (!ids.includes(w)) usage(`--workloads: unknown ${w} (have: ${ids.join(', ')})`);
  return args;
}

function usage(problem) {
  const text =
    'usage: node bench/run.js [--quick] [--only op,op] [--json] [--skip peer,peer] [--workloads id,id] [--no-report]\n' +
    '       node bench/run.js --verify   (check every implementation against naive JS once; no timing)\n' +
    '  --out FILE: write the results JSON there (default bench/out/results.json); engines.js uses it per engine\n' +
    '  --no-relaxed: on Node 20, do not re-run with --experimental-wasm-relaxed-simd (no relaxed-SIMD row)\n' +
    '  --clock auto|wall|cpu: what a sample measures; auto = CPU time when the machine is busy (load > cores/2)\n' +
    `  ops: ${OPS.join(', ')}\n  peers: naive-js is always run; skippable: logitkit, tfjs-wasm, ort-node, ort-web\n`;
  process.stderr.write((problem ? `bench: ${problem}\n` : '') + text);
  process.exit(problem ? 2 : 0);
}

const log = (line) => process.stderr.write(`${line}\n`);

/**
 * CPU time of this process (all its threads) in ms. On a busy machine wall time counts the time
 * other processes held the CPU; CPU time does not. Its resolution is 1 µs and a reading costs
 * ~1.5 µs, which batching to ≥ MIN_SAMPLE_MS per sample makes negligible.
 */
function cpuNow() {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e3;
}


function fmt(v, digits = 3) {
  if (v === undefined || v === null || Number.isNaN(v)) return '—';
  if (v >= 100) return v.toFixed(0);
  return v.toPrecision(digits);
}

function logRow(r) {
  if (r.error) return log(`  ${r.impl.padEnd(22)} error: ${r.error}`);
  const check = r.verified ? '' : `  ✗ error ${fmt(r.worstVsBound)}× the §11 bound`;
  log(
    `  ${r.impl.padEnd(22)} ${fmt(r.melemPerSec).padStart(7)} Melem/s  ${fmt(r.medianMs).padStart(8)} ms` +
      `  [${fmt(r.melemP25)}–${fmt(r.melemP75)}]  ×${fmt(r.vsNaive)} naive` +
      (r.vsBestPeer ? `  ×${fmt(r.vsBestPeer)} ${r.bestPeer}` : '') +
      `  copies: ${r.copies}${check}`,
  );
}

/**
 * --verify: run every implementation once per op and workload (quick sizes) and check it against
 * the naive JS output. Exit code 1 if any output is wrong (above WRONG_FACTOR × the §11 bound) or a
 * loaded implementation throws; "less accurate than §11" is reported but is not a failure for peers.
 */
async function verifyAll(args) {
  const { adapters, unavailable } = await loadPeers({ skip: args.skip, log: (l) => log(`  ${l}`) });
  let bad = 0;
  const specs = WORKLOADS.map((s) => scaled(s, SETTINGS.quick.rowsDivisor)).concat(PER_CALL);
  for (const spec of specs) {
    const w = makeWorkload(spec);
    for (const op of args.only ?? OPS) {
      const reference = Float32Array.from(adapters.find((a) => a.id === 'naive-js').prepare(op, w).run());
      for (const a of adapters) {
        let p;
        try {
          p = a.prepare(op, w);
          if (!p) continue;
          const { maxError, worstVsBound } = checkAccuracy(op, p.verify ? await p.verify() : await p.run(), reference, w);
          const verdict = worstVsBound <= 1 ? 'ok' : worstVsBound <= WRONG_FACTOR ? 'less accurate than §11' : 'WRONG';
          if (verdict === 'WRONG' || (a.kind !== 'peer' && verdict !== 'ok')) bad++;
          log(`${op.padEnd(12)} ${w.id.padEnd(11)} ${a.id.padEnd(22)} max err ${maxError.toExponential(2)}  ${fmt(worstVsBound)}× bound  ${verdict}`);
        } catch (err) {
          bad++;
          log(`${op.padEnd(12)} ${w.id.padEnd(11)} ${a.id.padEnd(22)} threw: ${String(err?.message ?? err).split('\n')[0]}`);
        } finally {
          p?.dispose?.();
        }
      }
    }
  }
  for (const u of unavailable) log(`unavailable: ${u.id}: ${u.reason}`);
  log(bad ? `${bad} problem(s)` : 'every implementation agrees with naive JS');
  return bad ? 1 : 0;
}

/**
 * Node 20 validates relaxed SIMD only behind a V8 flag; without it logitkit's relaxed build (and
 * the issue 5 target about it) cannot be measured. Re-run this script once with the flag, unless
 * --no-relaxed. The flag only lets relaxed-SIMD modules validate: the peers' binaries use none.
 */
function rerunWithRelaxedSimd(argv) {
  if (argv.includes('--no-relaxed') || process.env.LOGITKIT_BENCH_RELAXED_RERUN) return null;
  let relaxedBuild;
  try {
    relaxedBuild = readFileSync(new URL('../dist/logitkit-relaxed.wasm', import.meta.url));
  } catch {
    return null; // no relaxed build to measure
  }
  if (WebAssembly.validate(relaxedBuild)) return null; // this runtime runs it already
  const flag = '--experimental-wasm-relaxed-simd';
  if (process.execArgv.includes(flag) || Number(process.versions.node.split('.')[0]) !== 20) return null;
  const child = spawnSync(process.execPath, [...process.execArgv, flag, ...process.argv.slice(1)], {
    stdio: 'inherit',
    env: { ...process.env, LOGITKIT_BENCH_RELAXED_RERUN: '1' },
  });
  return child.status ?? 1;
}

async function main() {
  const rerun = rerunWithRelaxedSimd(process.argv.slice(2));
  if (rerun !== null) return rerun;
  const args = parseArgs(process.argv.slice(2));
  if (args.verify) return verifyAll(args);
  const settings = args.quick ? SETTINGS.quick : SETTINGS.full;
  const ops = args.only ?? OPS;
  const started = Date.now();
  const loadAtStart = loadavg()[0];
  const cores = availableParallelism();
  const clock = args.clock === 'auto' ? (loadAtStart > cores / 2 ? 'cpu' : 'wall') : args.clock;
  const clockWhy =
    args.clock !== 'auto'
      ? `--clock ${args.clock}`
      : clock === 'cpu'
        ? `auto: the 1-minute load average was ${loadAtStart.toFixed(1)} on ${cores} cores, so wall time would count other processes`
        : `auto: the machine was idle enough (load ${loadAtStart.toFixed(1)} on ${cores} cores)`;
  const partial = args.quick || !!args.only || args.skip.size > 0 || !!args.workloads;

  log(`logitkit bench${args.quick ? ' (quick)' : ''}: clock ${clock} (${clockWhy}); loading implementations…`);
  const { adapters, unavailable } = await loadPeers({ skip: args.skip, log: (l) => log(`  ${l}`) });

  const results = [];
  // Which data was timed: equal checksums mean equal numbers (logitkit bench --json prints them too).
  const checksums = {};
  for (const spec of WORKLOADS) {
    if (args.workloads && !args.workloads.includes(spec.id)) continue;
    const w = makeWorkload(scaled(spec, settings.rowsDivisor));
    checksums[w.id] = workloadChecksum(w);
    for (const op of ops) {
      log(`${op} ${w.id} (${w.rows}×${w.classes} float32, ${spec.what})`);
      const rows = await runGroup(adapters, op, w, settings, { clock, cpuNow });
      rows.forEach(logRow);
      results.push(...rows);
    }
  }

  const perCall = [];
  if (ops.includes('softmax') && (!args.workloads || args.workloads.includes(PER_CALL.id))) {
    const w = makeWorkload(PER_CALL);
    checksums[w.id] = workloadChecksum(w);
    log(`per-call cost: softmax ${PER_CALL.id} (${settings.perCallBatch} calls per sample)`);
    const rows = await runGroup(adapters, 'softmax', w, settings, { batch: settings.perCallBatch, clock, cpuNow });
    for (const r of rows) {
      if (r.error) log(`  ${r.impl.padEnd(22)} error: ${r.error}`);
      else {
        r.nsPerCall = r.medianMs * 1e6;
        log(`  ${r.impl.padEnd(22)} ${fmt(r.nsPerCall).padStart(7)} ns/call  [${fmt(r.p25Ms * 1e6)}–${fmt(r.p75Ms * 1e6)}]  ${fmt(1 / r.vsNaive)}× naive time`);
      }
    }
    perCall.push(...rows);
  }

  const adapterInfo = adapters.map(({ id, label, version, copies, kind, clock: c }) => ({ id, label, version, copies, kind, clock: c ?? clock }));
  const data = {
    schema: 1,
    date: new Date().toISOString(),
    command: `node bench/run.js${process.argv.length > 2 ? ' ' + process.argv.slice(2).join(' ') : ''}`,
    partial,
    engine: describeEngine(),
    // The build init() picks by itself on this engine and why (src/build-choice.ts).
    logitkitChoice: adapters.find((a) => a.choice)?.choice ?? null,
    durationSec: Math.round((Date.now() - started) / 100) / 10,
    machine: { ...machineInfo(), nodeFlags: process.execArgv },
    // Other processes skew every number; the report warns when the machine was not idle.
    loadAverage: { start: loadAtStart, end: loadavg()[0] },
    versions: packageVersions(),
    settings,
    clock: { kind: clock, why: clockWhy },
    implementations: adapterInfo,
    unavailable,
    tolerance: 'docs/spec.md §11 (T = 1) against the naive JS output (float64 arithmetic)',
    wrongFactor: WRONG_FACTOR,
    checksums,
    results,
    perCall,
  };
  for (const a of adapters) await a.close?.();
  for (const a of adapters) a.dispose?.();

  mkdirSync(OUT_DIR, { recursive: true });
  writeFileSync(args.out ?? new URL('results.json', OUT_DIR), JSON.stringify(data, null, 1) + '\n');
  if (args.report) {
    const target = partial ? OUT_DIR : HERE;
    const where = writeReport(data, target);
    log(`wrote ${fileURLToPath(new URL('results.json', OUT_DIR))}, ${where.map((u) => fileURLToPath(u)).join(', ')}`);
  }
  log(`done in ${data.durationSec} s`);
  if (args.json) process.stdout.write(JSON.stringify(data) + '\n');
}

main().then(
  // Native peers may keep handles open; the run is complete, so leave explicitly.
  (code) => process.exit(code ?? 0),
  (err) => {
    process.stderr.write(`bench failed: ${err?.stack ?? err}\n`);
    process.exit(1);
  },
);
