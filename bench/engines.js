#!/usr/bin/env node
// `npm run bench`: the benchmark on every engine — Node 20, 22 and 24 (bench/run.js under each;
// 22 and 24 from the npm registry's node@22 / node@24 packages via scripts/node-runtime.sh) and
// headless Chromium, Firefox ESR and WebKitGTK (bench/browser.js) — then the every-engine section
// of bench/RESULTS.md (bench/matrix.js): the summary matrix, the build-choice check, one table per
// engine. Engines run one after another, never at the same time.
//
//   node bench/engines.js                       the full matrix (long: ~5 min per engine on 2 idle cores)
//   node bench/engines.js --quick               every engine, fewer rows and two timed calls (a few minutes)
//   node bench/engines.js --engines node24,firefox --only softmax --workloads 4096x1000
//                                               a subset: engines, ops, workloads (--skip peer,… too)
//
// A full run (no --quick/--only/--workloads/--skip, every engine) rewrites the every-engine section
// of bench/RESULTS.md in place (the rest of the file is run.js's detailed Node report); any other
// run writes bench/out/ENGINES.md. Per-engine JSON: bench/out/<engine>.json.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BROWSERS, runBrowsers } from './browser.js';
import { renderEngines, spliceSection } from './matrix.js';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const OUT = join(ROOT, 'bench', 'out');
const NODES = ['node20', 'node22', 'node24'];
const ALL = [...NODES, ...BROWSERS];
const log = (line) => process.stderr.write(`${line}\n`);

function usage(problem) {
  log(
    (problem ? `bench/engines.js: ${problem}\n` : '') +
      'usage: node bench/engines.js [--quick] [--engines e,e] [--only op,op] [--workloads id,id] [--skip peer,peer]\n' +
      `  engines: ${ALL.join(', ')}\n  ops: softmax, logSoftmax, logsumexp, crossEntropy\n`,
  );
  process.exit(problem ? 2 : 0);
}

function parseArgs(argv) {
  const args = { engines: ALL, quick: false, pass: [] };
  const list = (v, name) => {
    if (!v || v.startsWith('--')) usage(`${name} needs a comma-separated list`);
    return v.split(',').map((s) => s.trim()).filter(Boolean);
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--engines') args.engines = list(argv[++i], a);
    else if (a === '--quick') (args.quick = true), args.pass.push(a);
    else if (a === '--only' || a === '--workloads' || a === '--skip') args.pass.push(a, list(argv[++i], a).join(','));
    else if (a === '--help' || a === '-h') usage(null);
    else usage(`unknown option ${a}`);
  }
  for (const e of args.engines) if (!ALL.includes(e)) usage(`unknown engine ${e}`);
  args.partial = args.pass.length > 0 || args.engines.length !== ALL.length;
  return args;
}

/** The node binary of a major version: this one if it matches, else scripts/node-runtime.sh's. */
function nodeBinary(major) {
  if (Number(process.versions.node.split('.')[0]) === major) return process.execPath;
  const bin = execFileSync('bash', [join(ROOT, 'scripts', 'node-runtime.sh'), String(major)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim();
  return join(bin, 'node');
}

function runNode(engine, args) {
  const major = Number(engine.slice(4));
  const file = join(OUT, `${engine}.json`);
  let node;
  try {
    node = nodeBinary(major);
  } catch (err) {
    return { error: `no Node ${major}: ${String(err.message).split('\n')[0]}` };
  }
  log(`=== ${engine}: ${node} bench/run.js ${args.pass.join(' ')}`);
  // Each engine's numbers stay in its own file; run.js's own report is left to `node bench/run.js`.
  // The four ops every engine is compared on (run.js alone adds crossEntropyWithGrad).
  const ops = args.pass.includes('--only') ? [] : ['--only', 'softmax,logSoftmax,logsumexp,crossEntropy'];
  const r = spawnSync(node, [join(ROOT, 'bench', 'run.js'), ...args.pass, ...ops, '--no-report', '--out', file], { stdio: ['ignore', 'inherit', 'inherit'] });
  if (r.status !== 0) return { error: `bench/run.js exited with ${r.status ?? r.signal}` };
  return JSON.parse(readFileSync(file, 'utf8'));
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  mkdirSync(OUT, { recursive: true });
  const started = Date.now();
  const runs = [];
  for (const engine of args.engines.filter((e) => NODES.includes(e))) runs.push({ name: engine, data: runNode(engine, args) });
  const browsers = args.engines.filter((e) => BROWSERS.includes(e));
  if (browsers.length) {
    log(`=== browsers: ${browsers.join(', ')}`);
    const pass = { engines: browsers, quick: args.quick, only: null, workloads: null, skip: new Set(), outDir: OUT, rest: args.pass, partial: args.partial };
    for (let i = 0; i < args.pass.length; i++) {
      const [k, v] = [args.pass[i], args.pass[i + 1]];
      if (k === '--only') pass.only = v.split(',');
      else if (k === '--workloads') pass.workloads = v.split(',');
      else if (k === '--skip') pass.skip = new Set(v.split(','));
    }
    let out;
    try {
      out = await runBrowsers(pass);
    } catch (err) {
      out = Object.fromEntries(browsers.map((b) => [b, { error: String(err?.message ?? err).split('\n')[0] }]));
    }
    for (const b of browsers) runs.push({ name: b, data: out[b] });
  }
  const section = renderEngines(runs);
  const results = join(ROOT, 'bench', 'RESULTS.md');
  if (!args.partial && existsSync(results)) {
    writeFileSync(results, spliceSection(readFileSync(results, 'utf8'), section));
    log(`wrote the every-engine section of ${results}`);
  } else {
    writeFileSync(join(OUT, 'ENGINES.md'), section + '\n');
    log(`wrote ${join(OUT, 'ENGINES.md')} (a partial run never touches bench/RESULTS.md)`);
  }
  const failed = runs.filter((r) => !r.data || r.data.error);
  for (const f of failed) log(`not measured: ${f.name}: ${f.data?.error ?? 'no results'}`);
  log(`done in ${Math.round((Date.now() - started) / 1000)} s`);
  return failed.length ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (err) => {
    log(`bench/engines.js failed: ${err?.stack ?? err}`);
    process.exit(1);
  },
);
