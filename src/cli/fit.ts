/**
 * `logitkit fit`: fits a recalibration map (temperature, BCTS, vector or matrix scaling) on labelled
 * logits, streaming the files once per L-BFGS evaluation, and writes it as JSON for `score --apply`.
 */
import { parseArgs } from 'node:util';
import { NpyShardSource } from '../io/npy-source.js';
import { CALIBRATION_METHODS, calibrationMapToJSON, fitCalibrationSource, type CalibrationMethod } from '../metrics/recalibration.js';
import { engineOptions, parseIntOption } from './args.js';
import { fmt, Progress, UsageError, writeFileAtomic } from './ui.js';

export const FIT_HELP = `usage: logitkit fit LOGITS.npy [MORE.npy ...] --labels LABELS.npy [--labels ...]
                    [--method temperature|bcts|vector|matrix] [--l2 1e-3] [--max-iterations 5000]
                    [-o MAP.json] [--json] [--block-mb N] [--debug]

Fits z' = W (z / T) + b minimising the mean NLL on labelled validation logits (float64 L-BFGS;
'matrix' adds the ODIR penalty, strength --l2). Default method: bcts. The map is written to -o as
JSON ("logitkit": "calibration-map") for 'logitkit score --apply MAP.json'; without -o it goes to
stdout. A summary goes to stderr (and --json prints it on stdout instead of the map).
`;

export async function fitCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      labels: { type: 'string', multiple: true },
      method: { type: 'string' },
      l2: { type: 'string' },
      'max-iterations': { type: 'string' },
      output: { type: 'string', short: 'o' },
      json: { type: 'boolean' },
      'block-mb': { type: 'string' },
      backend: { type: 'string' },
      threads: { type: 'string' },
      debug: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(FIT_HELP);
    return 0;
  }
  if (positionals.length === 0) throw new UsageError('fit: missing LOGITS.npy');
  const labels = values.labels ?? [];
  if (labels.length === 0) throw new UsageError('fit: missing --labels LABELS.npy');
  if (labels.length !== positionals.length) throw new UsageError(`fit: ${positionals.length} logits files but ${labels.length} --labels; give one --labels per logits file`);
  const method = (values.method ?? 'bcts') as CalibrationMethod;
  if (!CALIBRATION_METHODS.includes(method)) throw new UsageError(`--method ${values.method}: expected ${CALIBRATION_METHODS.join(', ')}`);
  let l2: number | undefined;
  if (values.l2 !== undefined) {
    if (method !== 'matrix') throw new UsageError('--l2 applies to --method matrix only');
    l2 = Number(values.l2);
    if (values.l2.trim() === '' || !Number.isFinite(l2) || l2 < 0) throw new UsageError(`--l2 ${values.l2}: expected a finite number >= 0`);
  }
  const maxIterations = values['max-iterations'] !== undefined ? parseIntOption('max-iterations', values['max-iterations'], 5000, 0) : undefined;
  const blockBytes = values['block-mb'] !== undefined ? parseIntOption('block-mb', values['block-mb'], 1) << 20 : undefined;
  engineOptions(values); // the fit is float64 JS whatever the backend; the options are still checked
  const shards = positionals.map((logits, i) => ({ logits, labels: labels[i] }));
  const src = new NpyShardSource(shards, blockBytes ? { blockBytes } : {});
  const progress = new Progress(!values.json);
  src.onProgress = (done, total, pass) => progress.update(`fitting (pass ${pass + 1})`, done, total);
  try {
    const map = fitCalibrationSource(src, { method, ...(l2 !== undefined ? { l2 } : {}), ...(maxIterations !== undefined ? { maxIterations } : {}) });
    progress.finish();
    const json = calibrationMapToJSON(map, { inputs: shards });
    const text = JSON.stringify(json, null, 1) + '\n';
    if (values.output !== undefined) writeFileAtomic(values.output, text);
    const summary = { method, classes: map.classes, rows: src.rows, nllBefore: map.nllBefore, nllAfter: map.nllAfter, objective: map.objective, iterations: map.iterations, passes: map.passes, map: values.output ?? null };
    if (values.json) process.stdout.write(JSON.stringify(summary, null, 2) + '\n');
    else {
      if (values.output === undefined) process.stdout.write(text);
      const params = map.method === 'temperature' || map.method === 'bcts' ? `T = ${fmt(map.temperature, 6)}${map.bias ? ', per-class bias' : ''}` : map.method === 'vector' ? 'per-class scale and bias' : `${map.classes}×${map.classes} matrix and bias, l2 = ${map.l2}`;
      process.stderr.write(
        `logitkit fit: ${src.rows.toLocaleString('en-US')} rows × ${map.classes} classes, method ${method} (${params})\n` +
          `  NLL ${fmt(map.nllBefore, 6)} → ${fmt(map.nllAfter, 6)}  (${map.iterations} L-BFGS iterations, ${map.passes} passes)\n` +
          (values.output !== undefined ? `  map written to ${values.output}\n` : ''),
      );
    }
    return 0;
  } finally {
    progress.finish();
    src.close();
  }
}
