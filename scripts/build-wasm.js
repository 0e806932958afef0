// Compiles every wasm target of asconfig.json: the plain SIMD build, the
// relaxed-SIMD build (fused multiply-add) and their shared-memory twins for the
// worker pool. Kept as a script (not one asc call in package.json) so a target is
// one asconfig entry. Targets compile two at a time (asc is single-threaded and
// the variants only differ in flags); `node scripts/build-wasm.js simd` builds one.
// A target whose .wasm is newer than every file under assembly/, asconfig.json and
// this script is up to date and skipped (most builds only change TypeScript);
// `--force` rebuilds anyway.
import { spawn } from 'node:child_process';
import { readFileSync, mkdirSync, readdirSync, statSync, existsSync, renameSync, rmSync, utimesSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join, basename } from 'node:path';
import { availableParallelism } from 'node:os';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const config = JSON.parse(readFileSync(join(root, 'asconfig.json'), 'utf8'));
const asc = join(root, 'node_modules', 'assemblyscript', 'bin', 'asc.js');
mkdirSync(join(root, 'build'), { recursive: true });
const force = process.argv.includes('--force');
const only = process.argv.slice(2).filter((a) => a !== '--force');
const unknown = only.filter((t) => !(t in config.targets));
if (unknown.length) {
  console.error(`build-wasm: unknown target(s) ${unknown.join(', ')}; asconfig.json has ${Object.keys(config.targets).join(', ')}`);
  process.exit(2);
}

function newestInput() {
  let newest = Math.max(statSync(join(root, 'asconfig.json')).mtimeMs, statSync(fileURLToPath(import.meta.url)).mtimeMs);
  const walk = (dir) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else newest = Math.max(newest, statSync(p).mtimeMs);
    }
  };
  walk(join(root, 'assembly'));
  return newest;
}

const inputsChanged = newestInput();
const upToDate = (target) => {
  const out = join(root, config.targets[target].outFile);
  return !force && existsSync(out) && statSync(out).mtimeMs > inputsChanged;
};
const queue = Object.keys(config.targets).filter((t) => (!only.length || only.includes(t)) && !upToDate(t));

// Targets compile into build/.staging-<pid>/ and move into place together once all
// succeeded, so the builds in build/ always come from the same sources (tests
// compare them bit for bit) and a failed build leaves the previous ones intact.
const staging = join(root, 'build', `.staging-${process.pid}`); // one per build: others may build at the same time
rmSync(staging, { recursive: true, force: true });
mkdirSync(staging, { recursive: true });
const staged = (file) => join(staging, basename(file));

function compile(target) {
  return new Promise((resolve, reject) => {
    const t = config.targets[target];
    const args = [asc, ...config.entries, '--config', 'asconfig.json', '--target', target, '--outFile', staged(t.outFile)];
    if (t.textFile) args.push('--textFile', staged(t.textFile));
    const child = spawn(process.execPath, args, { cwd: root, stdio: ['ignore', 'inherit', 'pipe'] });
    let err = '';
    // asc prints "Last converge was suboptimal." on every -O3 --converge run: noise, not a problem.
    child.stderr.on('data', (d) => (err += d));
    child.on('error', reject);
    child.on('close', (code) => {
      const shown = err.split('\n').filter((l) => l.trim() && !l.includes('Last converge was suboptimal')).join('\n');
      if (shown) process.stderr.write(`[${target}] ${shown}\n`);
      if (code === 0) resolve();
      else reject(new Error(`asc failed for target '${target}' (exit code ${code})`));
    });
  });
}

const built = [...queue];
const startedAt = new Date();
async function worker() {
  for (let t = queue.shift(); t !== undefined; t = queue.shift()) await compile(t);
}

const lanes = Math.max(1, Math.min(2, availableParallelism()));
try {
  await Promise.all(Array.from({ length: lanes }, worker));
  for (const target of built) {
    const t = config.targets[target];
    for (const file of [t.outFile, t.textFile]) {
      if (!file) continue;
      renameSync(staged(file), join(root, file));
      // Stamped with the build's start: a source saved while asc ran is newer, so it is rebuilt next time.
      utimesSync(join(root, file), startedAt, startedAt);
    }
  }
  if (built.length > 1 && newestInput() > startedAt.getTime())
    console.error('build-wasm: sources changed while compiling; the builds may differ from each other: run it again');
} catch (e) {
  console.error(`build-wasm: ${e.message}`);
  process.exitCode = 1;
} finally {
  rmSync(staging, { recursive: true, force: true });
}
