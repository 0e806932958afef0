#!/usr/bin/env node
// `npm run bench:score`: the main job, `logitkit score` on a big .npy, against a numpy script that computes
// a subset of its figures (issue 21).
//
// Two workloads, generated once (seeded) into a temp folder and reused: 3,000,000 × 100 and
// 200,000 × 1000 float32 logits (1.2 GB and 800 MB) with int64 labels. Per workload, each timed three
// times and reported as the median, with the peak RSS of the run:
//   - logitkit score --json, default figures (200 bootstrap replicates), --threads auto and --threads 1
//   - logitkit score --json --intervals 0 (threads auto)
//   - where python3 with numpy exists: bench/score-numpy.py (chunked log-softmax, NLL, accuracy, top-5,
//     Brier, entropy, 15-bin ECE, confusion; no AUROC, no intervals)
// Prints a Markdown section for bench/RESULTS.md (and writes it between the "bench:score" markers there
// with --write). Run it on an idle machine: the timings are wall clock.
//
//   node bench/score.js [--quick] [--rows100 N] [--rows1000 N] [--runs 3] [--write] [--dir DIR]
//   --quick: 300,000 × 100 and 20,000 × 1000, one run each (checks that everything works)
import { spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { machineInfo } from './machine.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const args = process.argv.slice(2);
const valued = ['--rows100', '--rows1000', '--runs', '--dir']; // followed by a value
const known = new Set(['--quick', '--write', ...valued]);
const unknown = args.filter((a, i) => a.startsWith('--') && !known.has(a) && !valued.includes(args[i - 1]));
if (args.includes('--help') || args.includes('-h') || unknown.length) {
  // the header comment is the help: a mistyped flag must not start a run of several minutes
  const help = readFileSync(fileURLToPath(import.meta.url), 'utf8').split('\n').slice(1);
  const head = help.slice(0, help.findIndex((l) => !l.startsWith('//'))).map((l) => l.slice(3));
  process.stdout.write(head.join('\n') + '\n');
  if (args.includes('--help') || args.includes('-h')) process.exit(0);
  process.stderr.write(`unknown option ${unknown[0]}\n`);
  process.exit(2);
}
const opt = (name, dflt) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : dflt;
};
const quick = args.includes('--quick');
const rows100 = Number(opt('rows100', quick ? 300_000 : 3_000_000));
const rows1000 = Number(opt('rows1000', quick ? 20_000 : 200_000));
const runs = Number(opt('runs', quick ? 1 : 3));
const dir = opt('dir', join(tmpdir(), 'logitkit-bench-score'));
const bin = join(root, 'bin', 'logitkit.js');
const numpyScript = join(root, 'bench', 'score-numpy.py');

// ---- data -------------------------------------------------------------------------------------------

/** xorshift128+ → uniform [0, 1); Box–Muller normals. Seeded: the same files on every machine. */
function rng(seed) {
  let s0 = BigInt(seed) * 0x9e3779b97f4a7c15n + 1n;
  let s1 = 0x632be59bd9b4e019n ^ BigInt(seed);
  const M = (1n << 64n) - 1n;
  return () => {
    let x = s0;
    const y = s1;
    s0 = y;
    x = (x ^ (x << 23n)) & M;
    s1 = x ^ y ^ (x >> 17n) ^ (y >> 26n);
    return Number(((s1 + y) & M) >> 11n) / 2 ** 53;
  };
}

function npyHeader(descr, shape) {
  let h = `{'descr': '${descr}', 'fortran_order': False, 'shape': (${shape.join(', ')}${shape.length === 1 ? ',' : ''}), }`;
  const total = 10 + h.length + 1;
  h += ' '.repeat((64 - (total % 64)) % 64) + '\n';
  const out = Buffer.alloc(10 + h.length);
  out.write('\x93NUMPY', 0, 'latin1');
  out[6] = 1;
  out[7] = 0;
  out.writeUInt16LE(h.length, 8);
  out.write(h, 10, 'latin1');
  return out;
}

/**
 * Logits of a classifier that is right ~70% of the time and over-confident: N(0, 1.5²) per class, the
 * true class + 2.6. Written in chunks (a few MB of memory whatever the size). A cheap generator (one
 * 32-bit LCG step per value, a sum of uniforms for the normal) keeps 300M values to seconds.
 */
function generate(rows, classes, seed) {
  const sub = join(dir, `${rows}x${classes}-s${seed}`);
  const x = join(sub, 'logits.npy');
  const y = join(sub, 'labels.npy');
  if (existsSync(join(sub, 'done'))) return { x, y };
  rmSync(sub, { recursive: true, force: true });
  mkdirSync(sub, { recursive: true });
  process.stderr.write(`generating ${rows} × ${classes} in ${sub} …\n`);
  const r = rng(seed);
  let s = (r() * 2 ** 32) >>> 0;
  const u = () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32;
  const fx = openSync(x, 'w');
  const fy = openSync(y, 'w');
  writeSync(fx, npyHeader('<f4', [rows, classes]));
  writeSync(fy, npyHeader('<i8', [rows]));
  const chunk = Math.max(1, Math.floor(4_000_000 / classes));
  for (let r0 = 0; r0 < rows; r0 += chunk) {
    const n = Math.min(chunk, rows - r0);
    const xs = new Float32Array(n * classes);
    const ys = new BigInt64Array(n);
    for (let i = 0; i < n; i++) {
      const label = Math.floor(u() * classes);
      ys[i] = BigInt(label);
      for (let j = 0; j < classes; j++) xs[i * classes + j] = 1.5 * (u() + u() + u() + u() - 2) * 1.732 + (j === label ? 2.6 : 0);
    }
    writeSync(fx, new Uint8Array(xs.buffer));
    writeSync(fy, new Uint8Array(ys.buffer));
  }
  closeSync(fx);
  closeSync(fy);
  writeFileSync(join(sub, 'done'), '');
  return { x, y };
}

// ---- timing -----------------------------------------------------------------------------------------

/** One run: wall seconds and peak RSS (MiB) from /usr/bin/time when present, else the child's own report. */
function timeRun(cmd, argv) {
  const haveTime = existsSync('/usr/bin/time');
  const rssFile = join(dir, 'rss.txt');
  const t0 = process.hrtime.bigint();
  const r = haveTime
    ? spawnSync('/usr/bin/time', ['-f', '%M', '-o', rssFile, cmd, ...argv], { encoding: 'utf8', maxBuffer: 1 << 30 })
    : spawnSync(cmd, argv, { encoding: 'utf8', maxBuffer: 1 << 30 });
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  if (r.status !== 0) throw new Error(`${cmd} ${argv.join(' ')} failed (${r.status}):\n${r.stderr}`);
  const rss = haveTime ? Number(readFileSync(rssFile, 'utf8').trim().split('\n').pop()) / 1024 : NaN;
  return { seconds, rss, stdout: r.stdout };
}

const median = (v) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)];

function measure(label, cmd, argv) {
  const res = [];
  for (let i = 0; i < runs; i++) res.push(timeRun(cmd, argv));
  const m = { label, seconds: median(res.map((r) => r.seconds)), rss: Math.max(...res.map((r) => r.rss)), stdout: res[0].stdout };
  process.stderr.write(`  ${label}: ${m.seconds.toFixed(2)} s, ${m.rss.toFixed(0)} MiB\n`);
  return m;
}

function hasNumpy() {
  const r = spawnSync('python3', ['-c', 'import numpy; print(numpy.__version__)'], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : null;
}

// ---- run --------------------------------------------------------------------------------------------

mkdirSync(dir, { recursive: true });
const numpy = args.includes('--no-numpy') ? null : hasNumpy();
const workloads = [
  { rows: rows100, classes: 100, seed: 1 },
  { rows: rows1000, classes: 1000, seed: 2 },
];
const results = [];
for (const w of workloads) {
  const { x, y } = generate(w.rows, w.classes, w.seed);
  process.stderr.write(`${w.rows} × ${w.classes}:\n`);
  const score = (...extra) => [bin, 'score', x, '--labels', y, '--json', ...extra];
  const row = { ...w, mb: (w.rows * w.classes * 4) / 1e6 };
  row.auto = measure('score, threads auto', process.execPath, score('--threads', 'auto'));
  row.one = measure('score, --threads 1', process.execPath, score('--threads', '1'));
  row.noIntervals = measure('score --intervals 0', process.execPath, score('--threads', 'auto', '--intervals', '0'));
  if (numpy) {
    row.numpy = measure('numpy script', 'python3', [numpyScript, x, y]);
    // The same figures, as a check that both computed the same thing.
    const a = JSON.parse(row.auto.stdout);
    const b = JSON.parse(row.numpy.stdout);
    row.check = { accuracy: [a.accuracy, b.accuracy], nll: [a.nll, b.nll], ece: [a.ece, b.ece] };
    process.stderr.write(`  check (logitkit, numpy): ${JSON.stringify(row.check)}\n`);
  }
  results.push(row);
}

const m = machineInfo();
const f = (s) => `${s.toFixed(2)} s`;
const lines = [
  '<!-- bench:score -->',
  '## `logitkit score` on a big file (`npm run bench:score`)',
  '',
  `${m.cpu} (${m.cpuFeatures.join(', ')}), ${m.cores} cores, ${m.memoryGiB} GiB, ${m.platform}, Node ${m.node}` +
    (numpy ? `, numpy ${numpy}` : ', numpy absent') +
    `; files in the page cache; median of ${runs} run${runs === 1 ? '' : 's'}, peak RSS the largest.` +
    ` Generated ${new Date().toISOString().slice(0, 16)} UTC.`,
  '',
  '| workload | score, threads auto | `--threads 1` | `--intervals 0` | peak RSS (auto) | numpy script, subset | numpy time ÷ logitkit time (auto) |',
  '|---|---:|---:|---:|---:|---:|---:|',
  ...results.map(
    (r) =>
      `| ${r.rows.toLocaleString('en-US')} × ${r.classes} float32 (${r.mb.toFixed(0)} MB) | **${f(r.auto.seconds)}** | ${f(r.one.seconds)} | ${f(r.noIntervals.seconds)} | ${r.auto.rss.toFixed(0)} MiB | ` +
      (r.numpy ? `${f(r.numpy.seconds)} | ${(r.numpy.seconds / r.auto.seconds).toFixed(2)}× |` : '— | — |'),
  ),
  '',
  'The numpy script (bench/score-numpy.py) computes chunked log-softmax, NLL, accuracy, top-5, Brier, entropy, 15-bin ECE',
  'and the confusion matrix; `score` also computes AUROC, the 200-replicate bootstrap intervals, the calibration suite',
  'and the per-class tables.',
  '<!-- /bench:score -->',
];
const section = lines.join('\n') + '\n';
process.stdout.write(section);
if (args.includes('--write')) {
  const path = join(root, 'bench', 'RESULTS.md');
  const text = readFileSync(path, 'utf8');
  const a = text.indexOf('<!-- bench:score -->');
  const b = text.indexOf('<!-- /bench:score -->');
  const next = a >= 0 && b > a ? text.slice(0, a) + section + text.slice(b + '<!-- /bench:score -->\n'.length) : text.trimEnd() + '\n\n' + section;
  writeFileSync(path, next);
  process.stderr.write(`bench/RESULTS.md: section written\n`);
}
