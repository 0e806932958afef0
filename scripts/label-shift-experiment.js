// The "Done when" experiment of issue 15 (README "Recalibration and label shift"): the bundled
// CIFAR-10 sample (data/sample/logits.npy, WideResNet) is shuffled and split into a labelled
// source half and a target pool; the target is resampled from the pool to a skewed class mix
// (TARGET_MIX). `logitkit shift` (EM and BBSE) then estimates the target priors from the target
// logits alone, and `logitkit score --apply` scores the corrected target logits.
//
//   npm run build && node scripts/label-shift-experiment.js [OUT_DIR]     (default /tmp/logitkit-shift)
//
// makeSplit() is also used by test/label-shift.test.ts, so the test checks this exact split.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Target class mix: geometric, 30% down to 1%. */
export const TARGET_MIX = [0.3, 0.2, 0.14, 0.1, 0.08, 0.06, 0.05, 0.035, 0.02, 0.015];
export const TARGET_ROWS = 1500;

function rng(seed) {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return ((z ^ (z >>> 16)) >>> 0) / 4294967296;
  };
}

/**
 * Deterministic split of (x, y): a shuffled half as the source; from the other half, per class
 * round(TARGET_MIX[c] · TARGET_ROWS) rows (without replacement) as the target.
 */
export function makeSplit(x, y, classes, seed = 15) {
  const n = y.length;
  const order = Array.from({ length: n }, (_, i) => i);
  const r = rng(seed);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(r() * (i + 1));
    [order[i], order[j]] = [order[j], order[i]];
  }
  const half = Math.floor(n / 2);
  const sourceIdx = order.slice(0, half);
  const byClass = Array.from({ length: classes }, () => []);
  for (const i of order.slice(half)) byClass[y[i]].push(i);
  const targetIdx = [];
  TARGET_MIX.forEach((p, c) => targetIdx.push(...byClass[c].slice(0, Math.round(p * TARGET_ROWS))));
  const take = (idx) => {
    const xs = new Float32Array(idx.length * classes);
    const ys = new Int32Array(idx.length);
    idx.forEach((i, k) => {
      xs.set(x.subarray(i * classes, (i + 1) * classes), k * classes);
      ys[k] = y[i];
    });
    return { x: xs, y: ys };
  };
  const target = take(targetIdx);
  const truePriors = new Float64Array(classes);
  for (const v of target.y) truePriors[v] += 1 / target.y.length;
  return { source: take(sourceIdx), target, truePriors };
}

async function main() {
  const root = join(dirname(fileURLToPath(import.meta.url)), '..');
  const { readNpyFloat32, readNpyInt32, writeNpy } = await import(join(root, 'dist/io/npy.js'));
  const out = process.argv[2] ?? '/tmp/logitkit-shift';
  mkdirSync(out, { recursive: true });
  const x = readNpyFloat32(join(root, 'data/sample/logits.npy'));
  const y = readNpyInt32(join(root, 'data/sample/labels.npy')).data;
  const C = x.shape[1];
  const { source, target, truePriors } = makeSplit(x.data, y, C);
  writeNpy(join(out, 'source.npy'), source.x, [source.y.length, C]);
  writeNpy(join(out, 'source-labels.npy'), source.y, [source.y.length]);
  writeNpy(join(out, 'target.npy'), target.x, [target.y.length, C]);
  writeNpy(join(out, 'target-labels.npy'), target.y, [target.y.length]);
  const cli = (...args) => execFileSync(process.execPath, [join(root, 'bin/logitkit.js'), ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  console.log(`source ${source.y.length} rows, target ${target.y.length} rows; true target priors ${Array.from(truePriors, (p) => p.toFixed(4)).join(' ')}`);
  const score = (extra) => JSON.parse(cli('score', join(out, 'target.npy'), '--labels', join(out, 'target-labels.npy'), '--json', ...extra));
  const raw = score([]);
  console.log(`target, raw logits: NLL ${raw.nll.toFixed(4)}, accuracy ${(raw.accuracy * 100).toFixed(2)}%, ECE ${(raw.ece * 100).toFixed(2)}%`);
  for (const method of ['em', 'bbse']) {
    const mapFile = join(out, `map-${method}.json`);
    cli('shift', join(out, 'source.npy'), '--labels', join(out, 'source-labels.npy'), '--target', join(out, 'target.npy'), '--method', method, '-o', mapFile, '--json');
    const map = JSON.parse(readFileSync(mapFile, 'utf8'));
    const l1 = map.targetPriors.reduce((s, p, j) => s + Math.abs(p - truePriors[j]), 0);
    const l1Source = map.sourcePriors.reduce((s, p, j) => s + Math.abs(p - truePriors[j]), 0);
    const after = score(['--apply', mapFile, '--report', join(out, `report-${method}.html`)]);
    const c = after.correction;
    console.log(
      `${method.toUpperCase().padEnd(4)} L1 prior error ${l1.toFixed(4)} (source priors: ${l1Source.toFixed(4)}); ` +
        `NLL ${c.before.nll.toFixed(4)} → ${c.after.nll.toFixed(4)}, accuracy ${(c.before.accuracy * 100).toFixed(2)}% → ${(c.after.accuracy * 100).toFixed(2)}%, ` +
        `balanced ${(c.before.balancedAccuracy * 100).toFixed(2)}% → ${(c.after.balancedAccuracy * 100).toFixed(2)}%, ECE ${(c.before.ece * 100).toFixed(2)}% → ${(c.after.ece * 100).toFixed(2)}%`,
    );
  }
  console.log(`files and reports in ${out}`);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) await main();
