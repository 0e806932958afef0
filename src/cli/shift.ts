/**
 * `logitkit shift`: estimates the class priors of unlabelled deployment logits (EM or BBSE, after a
 * calibration map fitted on the labelled source) and writes the correcting map for `score --apply`.
 */
import { parseArgs } from 'node:util';
import { init } from '../index.js';
import { readNpyFloat32, readNpyInt32 } from '../io/npy.js';
import { calibrationMapToJSON } from '../metrics/recalibration.js';
import type { LabelShiftOptions } from '../metrics/label-shift.js';
import { engineOptions } from './args.js';
import { fmt, pct, table, UsageError, writeFileAtomic } from './ui.js';

export const SHIFT_HELP = `usage: logitkit shift SOURCE.npy --labels SOURCE_LABELS.npy --target TARGET.npy
                      [--method em|bbse] [--calibrate bcts|temperature|vector|matrix|none]
                      [-o MAP.json] [--json] [--backend wasm|js] [--debug]

Label shift: the class mix of TARGET (unlabelled logits) differs from SOURCE's. Fits --calibrate
(default bcts) on SOURCE, estimates TARGET's class priors by EM (Saerens et al. 2002; default) or
BBSE (Lipton et al. 2018), and writes the map z' = calibrated(z) + log(π_target / π_source) to -o
for 'logitkit score TARGET.npy --labels ... --apply MAP.json'. Prints both priors per class.
`;

function loadLogits(path: string, what: string): { x: Float32Array; classes: number } {
  const { data, shape } = readNpyFloat32(path);
  if (shape.length !== 2) throw new Error(`${path}: ${what} must be a 2-D array (rows × classes), got shape (${shape.join(', ')})`);
  return { x: data, classes: shape[1]! };
}

export async function shiftCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      labels: { type: 'string' },
      target: { type: 'string' },
      method: { type: 'string' },
      calibrate: { type: 'string' },
      output: { type: 'string', short: 'o' },
      json: { type: 'boolean' },
      backend: { type: 'string' },
      threads: { type: 'string' },
      debug: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(SHIFT_HELP);
    return 0;
  }
  if (positionals.length !== 1) throw new UsageError(positionals.length === 0 ? 'shift: missing SOURCE.npy' : 'shift: give one SOURCE.npy');
  if (values.labels === undefined) throw new UsageError('shift: missing --labels SOURCE_LABELS.npy');
  if (values.target === undefined) throw new UsageError('shift: missing --target TARGET.npy');
  const method = values.method ?? 'em';
  if (method !== 'em' && method !== 'bbse') throw new UsageError(`--method ${method}: expected em or bbse`);
  const calibrate = values.calibrate ?? 'bcts';
  if (!['bcts', 'temperature', 'vector', 'matrix', 'none'].includes(calibrate)) throw new UsageError(`--calibrate ${calibrate}: expected bcts, temperature, vector, matrix or none`);
  const eo = engineOptions(values);
  const src = loadLogits(positionals[0]!, 'the source logits');
  const tgt = loadLogits(values.target, 'the target logits');
  if (tgt.classes !== src.classes) throw new Error(`${values.target}: ${tgt.classes} classes, but ${positionals[0]} has ${src.classes}`);
  const y = readNpyInt32(values.labels).data;
  const lk = await init(eo);
  try {
    const r = lk.estimateLabelShift(src.x, src.classes, y, tgt.x, { method, calibrate: calibrate as LabelShiftOptions['calibrate'] });
    const extra = {
      estimator: method,
      calibration: r.calibration.method === 'custom' ? 'none' : r.calibration.method,
      sourcePriors: Array.from(r.sourcePriors),
      targetPriors: Array.from(r.targetPriors),
      priorBias: Array.from(r.bias),
      inputs: { source: positionals[0], labels: values.labels, target: values.target },
    };
    const json = calibrationMapToJSON(r.map, extra);
    const text = JSON.stringify(json, null, 1) + '\n';
    if (values.output !== undefined) writeFileAtomic(values.output, text);
    if (values.json) process.stdout.write(JSON.stringify({ ...extra, iterations: r.iterations, map: values.output ?? null, backend: lk.backend }, null, 2) + '\n');
    else {
      if (values.output === undefined) process.stdout.write(text);
      const rows = Array.from(r.sourcePriors, (p, j) => [String(j), pct(p, 2), pct(r.targetPriors[j]!, 2), fmt(r.bias[j]!, 4)]);
      process.stderr.write(
        `logitkit shift: ${method.toUpperCase()} after ${extra.calibration} calibration; source ${(src.x.length / src.classes).toLocaleString('en-US')} rows, ` +
          `target ${(tgt.x.length / tgt.classes).toLocaleString('en-US')} rows × ${src.classes} classes` +
          (method === 'em' ? ` (${r.iterations} EM iterations)` : '') +
          '\n' +
          table(['class', 'source prior', 'target prior (est.)', 'log ratio'], rows)
            .split('\n')
            .map((l) => `  ${l}`)
            .join('\n') +
          '\n' +
          (values.output !== undefined ? `  map written to ${values.output}\n` : ''),
      );
    }
    return 0;
  } finally {
    lk.dispose();
  }
}
