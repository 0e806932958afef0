#!/usr/bin/env node
// The digits demo's fitted artifacts, made from the committed logits (scripts/train-digits.py) with
// logitkit's own CLI, as a user would make them:
//
//   data/digits/calibration-map.json  logitkit fit       calib-logits.npy --labels calib-labels.npy (BCTS)
//   data/digits/conformal.json        logitkit conformal calib-logits.npy --labels … --apply calibration-map.json
//                                     (APS, alpha 0.1: sets that hold the true digit 90% of the time)
//   data/digits/ood.json              logitkit ood calib-logits.npy --ood ood-logits.npy --method energy --json:
//                                     its metrics and the threshold the demo flags against
//
// The threshold is the CLI's: the t of FPR@95 (issue 24), the ⌈0.95·n⌉-th smallest energy score of
// the calibration digits — 95% of held-out digits score at or below it; above it, "not a digit". It
// is recomputed here with lk.oodScore and checked against the CLI's threshold and fpr95, so a change
// to either shows up as a failure here, not as a silently different demo.
//
//   npm run build && node scripts/digits-artifacts.js
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const DIR = join(ROOT, 'data', 'digits');
const at = (f) => join(DIR, f);
const CLI = join(ROOT, 'bin', 'logitkit.js');
export const ALPHA = 0.1;
export const OOD_TPR = 0.95;

function logitkit(...args) {
  return execFileSync(process.execPath, [CLI, ...args], { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
}

async function main() {
  // Relative paths in the commands, so the JSON files name no machine's directories.
  const rel = (f) => `data/digits/${f}`;
  logitkit('fit', rel('calib-logits.npy'), '--labels', rel('calib-labels.npy'), '--method', 'bcts', '-o', rel('calibration-map.json'));
  logitkit('conformal', rel('calib-logits.npy'), '--labels', rel('calib-labels.npy'), '--method', 'aps', '--alpha', String(ALPHA), '--apply', rel('calibration-map.json'), '-o', rel('conformal.json'));
  const metrics = JSON.parse(logitkit('ood', rel('calib-logits.npy'), '--ood', rel('ood-logits.npy'), '--method', 'energy', '--json'));
  const energy = metrics.methods?.energy;
  if (!energy) throw new Error(`logitkit ood --json gave no methods.energy: ${JSON.stringify(metrics)}`);

  const logitkitLib = await import(join(ROOT, 'dist', 'index.js'));
  const { readNpyFloat32: readNpy } = await import(join(ROOT, 'dist', 'io', 'npy.js'));
  const lk = await logitkitLib.init({ backend: 'js' });
  const id = readNpy(at('calib-logits.npy'));
  const ood = readNpy(at('ood-logits.npy'));
  const classes = id.shape[1];
  const idScores = Float64Array.from(lk.oodScore(id.data, classes, { method: 'energy' })).sort();
  const k = Math.ceil(OOD_TPR * idScores.length);
  const threshold = energy.threshold;
  if (threshold !== idScores[k - 1]) throw new Error(`logitkit ood's threshold ${threshold} is not the ${k}-th smallest calibration energy score ${idScores[k - 1]}`);
  const oodScores = lk.oodScore(ood.data, classes, { method: 'energy' });
  const below = oodScores.filter((s) => s <= threshold).length / oodScores.length;
  if (Math.abs(below - energy.fpr95) > 1e-12)
    throw new Error(`threshold ${threshold} leaves ${below} of the OOD rows at or below it, but logitkit ood reports fpr95 = ${energy.fpr95}`);
  const out = {
    logitkit: 'ood-threshold',
    method: 'energy',
    temperature: 1,
    threshold,
    rule: 'score > threshold: not a digit',
    tpr: OOD_TPR,
    idRows: idScores.length,
    oodRows: oodScores.length,
    metrics: energy,
    command: `logitkit ood ${rel('calib-logits.npy')} --ood ${rel('ood-logits.npy')} --method energy --json`,
  };
  writeFileSync(at('ood.json'), `${JSON.stringify(out, null, 2)}\n`);
  const conformal = JSON.parse(readFileSync(at('conformal.json'), 'utf8'));
  console.log(`calibration-map.json, conformal.json (qhat ${JSON.stringify(conformal.qhat)}), ood.json (energy threshold ${threshold.toFixed(4)}, AUROC ${energy.auroc.toFixed(4)}, FPR@95 ${energy.fpr95})`);
}

await main();
