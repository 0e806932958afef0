/**
 * Issue 24's commands: `logitkit conformal` (calibrate a split-conformal model), `logitkit ood`
 * (how well each OOD score separates in- from out-of-distribution logits) and `logitkit predict`
 * (one line per row: prediction, confidence, conformal set, OOD score — streamed). Each streams its
 * files block by block through the public Engine API; only one float per row is kept where a
 * figure needs every row (the conformal scores, the OOD scores).
 */
import type { Engine } from '../engine.js';
import { AtomicFile, writeFailure } from '../io/atomic.js';
import { NpyShardSource, type Shard } from '../io/npy-source.js';
import type { BlockSource } from '../io/stream.js';
import type { OodMethodName } from '../backends/backend.js';
import { calibrate, checkAlpha, conformalModelToJSON, conformalSettings, CONFORMAL_METHODS, type ConformalModel } from '../metrics/conformal.js';
import { fpr95Threshold, oodMetrics } from '../metrics/ood.js';
import { parsePositive, reportKind, startEngine } from './args.js';
import { loadMapFile, mappedSource } from './correction.js';
import { readClassNames } from './inputs.js';
import { renderOodHtml, renderOodMarkdown, type OodResult } from './report-uncertainty.js';
import { readConformalModelFile } from './score-uncertainty.js';
import { fmt, parseCommandArgs, pct, table, UsageError, writeFileAtomic } from './ui.js';

const engineFlags = {
  backend: { type: 'string' },
  threads: { type: 'string' },
  debug: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

export const OOD_METHOD_NAMES: readonly OodMethodName[] = ['energy', 'msp', 'maxLogit', 'entropy', 'margin', 'gen'];

/** --apply MAP.json (a map from fit / shift) or --temperature T: the source to read and the temperature left to apply. */
function corrected(lk: Engine, src: BlockSource, apply: string | undefined): BlockSource {
  return apply === undefined ? src : mappedSource(lk, src, loadMapFile(apply, src.classes).map);
}

// ---------------------------------------------------------------- conformal

export const CONFORMAL_HELP = `usage: logitkit conformal CALIB.npy --labels Y.npy [--method lac|aps|raps] [--alpha 0.1]
                          [--class-conditional] [--temperature T | --apply MAP.json] -o MODEL.json
                          [--json] [--backend wasm|js] [--debug]

Split conformal prediction: calibrates q̂ on held-out labelled logits so that the prediction sets of
'logitkit predict --conformal MODEL.json' (and lk.predictSets) contain the true class with probability
at least 1 − alpha. Methods: aps (default, randomized), raps (lambda 0.01, kReg 5), lac. With
--class-conditional, one q̂ per class (coverage per class). --temperature or --apply MAP.json (from
'logitkit fit') recalibrate the logits first; predict must then get the same --apply. The model is
JSON ("logitkit": "conformal-model"; +∞ written as null). A summary goes to stderr (--json: stdout).
`;

export async function conformalCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs('conformal', argv, {
    labels: { type: 'string' },
    method: { type: 'string' },
    alpha: { type: 'string' },
    'class-conditional': { type: 'boolean' },
    temperature: { type: 'string' },
    apply: { type: 'string' },
    output: { type: 'string', short: 'o' },
    json: { type: 'boolean' },
    ...engineFlags,
  });
  if (values.help) {
    process.stdout.write(CONFORMAL_HELP);
    return 0;
  }
  if (positionals.length !== 1) throw new UsageError(positionals.length === 0 ? 'conformal: missing CALIB.npy' : 'conformal: give one CALIB.npy');
  if (values.labels === undefined) throw new UsageError('conformal: missing --labels Y.npy');
  if (values.output === undefined) throw new UsageError('conformal: missing -o MODEL.json');
  const method = values.method ?? 'aps';
  if (!(CONFORMAL_METHODS as readonly string[]).includes(method)) throw new UsageError(`--method ${method}: expected lac, aps or raps`);
  let alpha = 0.1;
  if (values.alpha !== undefined) {
    alpha = Number(values.alpha);
    if (values.alpha.trim() === '' || !(alpha > 0 && alpha < 1)) throw new UsageError(`--alpha ${values.alpha}: expected a number in (0, 1)`);
  }
  checkAlpha(alpha);
  const temperature = parsePositive('temperature', values.temperature);
  if (temperature !== undefined && values.apply !== undefined) throw new UsageError('--temperature and --apply are mutually exclusive (a map carries its own temperature)');
  const settings = conformalSettings({ method: method as ConformalModel['method'], alpha, classConditional: values['class-conditional'] ?? false }, temperature ?? 1);
  const shard: Shard = { logits: positionals[0]!, labels: values.labels };
  const src = await NpyShardSource.open([shard]);
  try {
    const lk = await startEngine(values, src.rows * src.classes * 4);
    const C = src.classes;
    const scores = new Float64Array(src.rows);
    const labels = new Int32Array(src.rows);
    for (const b of corrected(lk, src, values.apply).blocks()) {
      const y = b.labels!;
      const s = lk.conformalScores(b.x, C, y, { method: settings.method, temperature: settings.temperature, randomized: settings.randomized, lambda: settings.lambda, kReg: settings.kReg, seed: settings.seed, firstRow: b.start });
      scores.set(s, b.start);
      labels.set(y, b.start);
    }
    const model = calibrate(scores, labels, C, settings);
    const json = { ...conformalModelToJSON(model), calibration: { logits: shard.logits, labels: shard.labels, ...(values.apply !== undefined ? { apply: values.apply } : {}) } };
    writeFileAtomic(values.output, JSON.stringify(json, null, 1) + '\n');
    const q = typeof model.qhat === 'number' ? [model.qhat] : model.qhat;
    if (values.json) process.stdout.write(JSON.stringify(json, null, 2) + '\n');
    else
      process.stderr.write(
        `logitkit conformal: ${model.n.toLocaleString('en-US')} calibration rows × ${C} classes, ${model.method}${model.randomized && model.method !== 'lac' ? ' (randomized)' : ''}, alpha ${alpha}` +
          `${model.classConditional ? ', class-conditional' : ''}\n` +
          `  q̂ ${q.length === 1 ? fmt(q[0]!, 6) : `per class, ${fmt(Math.min(...q), 4)} … ${fmt(Math.max(...q), 4)}${q.includes(Infinity) ? ' (+∞ for a class with too few rows)' : ''}`}` +
          `${q.length === 1 && q[0] === Infinity ? ` (too few rows for alpha ${alpha}: every set is the full set; need n ≥ ${Math.ceil(1 / alpha - 1)})` : ''}\n` +
          `  model written to ${values.output}\n`,
      );
    return 0;
  } finally {
    src.close();
  }
}

// ---------------------------------------------------------------------- ood

export const OOD_HELP = `usage: logitkit ood ID.npy --ood OOD.npy [--method energy,msp,maxLogit,entropy,margin,gen]
                    [--temperature T] [--json] [--report FILE.html|FILE.md] [--backend wasm|js] [--debug]

How well each OOD score (higher = more likely out of distribution) separates the rows of ID.npy
(in-distribution logits) from those of OOD.npy: AUROC, AUPR-In, AUPR-Out and FPR@95 (the fraction of
OOD rows scored at or below the threshold that keeps 95% of the ID rows), and that threshold. Default:
every method. --json prints { methods: { energy: { auroc, auprIn, auprOut, fpr95, threshold }, … } }.
--report draws the ID and OOD score histograms with the FPR@95 threshold.
`;

function allScores(lk: Engine, src: BlockSource, methods: readonly OodMethodName[], temperature: number): Float32Array[] {
  const out = methods.map(() => new Float32Array(src.rows));
  for (const b of src.blocks()) methods.forEach((method, k) => out[k]!.set(lk.oodScore(b.x, src.classes, { method, temperature }), b.start));
  return out;
}

export async function oodCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs('ood', argv, {
    ood: { type: 'string' },
    method: { type: 'string' },
    temperature: { type: 'string' },
    json: { type: 'boolean' },
    report: { type: 'string' },
    ...engineFlags,
  });
  if (values.help) {
    process.stdout.write(OOD_HELP);
    return 0;
  }
  if (positionals.length !== 1) throw new UsageError(positionals.length === 0 ? 'ood: missing ID.npy' : 'ood: give one ID.npy');
  if (values.ood === undefined) throw new UsageError('ood: missing --ood OOD.npy');
  const methods = (values.method ?? OOD_METHOD_NAMES.join(',')).split(',').map((m) => m.trim());
  for (const m of methods) if (!(OOD_METHOD_NAMES as readonly string[]).includes(m)) throw new UsageError(`--method ${m}: expected a comma-separated list of ${OOD_METHOD_NAMES.join(', ')}`);
  const temperature = parsePositive('temperature', values.temperature) ?? 1;
  const kind = reportKind(values.report);
  const idSrc = await NpyShardSource.open([{ logits: positionals[0]! }]);
  let oodSrc: NpyShardSource | undefined;
  try {
    oodSrc = await NpyShardSource.open([{ logits: values.ood }]);
    if (oodSrc.classes !== idSrc.classes) throw new Error(`${values.ood}: ${oodSrc.classes} classes, but ${positionals[0]} has ${idSrc.classes}`);
    if (idSrc.rows === 0 || oodSrc.rows === 0) throw new Error(`${idSrc.rows === 0 ? positionals[0] : values.ood}: no rows`);
    const lk = await startEngine(values, (idSrc.rows + oodSrc.rows) * idSrc.classes * 4);
    const list = methods as OodMethodName[];
    const id = allScores(lk, idSrc, list, temperature);
    const ood = allScores(lk, oodSrc, list, temperature);
    const result: OodResult = { idFile: positionals[0]!, oodFile: values.ood, idRows: idSrc.rows, oodRows: oodSrc.rows, classes: idSrc.classes, temperature, methods: {}, scores: {} };
    list.forEach((m, k) => {
      for (const [file, s] of [[positionals[0]!, id[k]!], [values.ood!, ood[k]!]] as const) {
        const bad = s.findIndex((v) => v !== v);
        if (bad >= 0) throw new Error(`${file}: row ${bad} has no ${m} score (NaN, +inf or all −inf logits)`);
      }
      result.methods[m] = { ...oodMetrics(id[k]!, ood[k]!), threshold: fpr95Threshold(id[k]!) };
      result.scores[m] = { id: id[k]!, ood: ood[k]! };
    });
    if (values.report !== undefined) writeFileAtomic(values.report, kind === 'html' ? renderOodHtml(result) : renderOodMarkdown(result));
    if (values.json) {
      const { scores: _, ...rest } = result;
      process.stdout.write(JSON.stringify(rest, null, 2) + '\n');
    } else {
      process.stderr.write(
        `logitkit ood: ${result.idRows.toLocaleString('en-US')} ID rows, ${result.oodRows.toLocaleString('en-US')} OOD rows, ${result.classes} classes${temperature !== 1 ? `, T = ${fmt(temperature)}` : ''}\n` +
          table(
            ['method', 'AUROC', 'AUPR-In', 'AUPR-Out', 'FPR@95', 'threshold'],
            list.map((m) => {
              const r = result.methods[m]!;
              return [m, pct(r.auroc), pct(r.auprIn), pct(r.auprOut), pct(r.fpr95), fmt(r.threshold, 6)];
            }),
          ) +
          '\n' +
          (values.report !== undefined ? `report written to ${values.report}\n` : ''),
      );
    }
    return 0;
  } finally {
    idSrc.close();
    oodSrc?.close();
  }
}

// ------------------------------------------------------------------ predict

export const PREDICT_HELP = `usage: logitkit predict LOGITS.npy [--conformal MODEL.json] [--ood METHOD] [--apply MAP.json]
                        [--class-names F] -o OUT.jsonl|OUT.csv [--backend wasm|js] [--debug]

One line per row, streamed: the prediction (argmax), its confidence (max p), with --conformal the
prediction set of a model from 'logitkit conformal' (classes in rank order), with --ood the score of
METHOD (energy, msp, maxLogit, entropy, margin, gen; higher = more likely out of distribution).
--apply MAP.json corrects the logits first (give the map the model was calibrated with); p and the
OOD score use the model's temperature (1 without --conformal). --class-names names the classes.
JSONL: {"row", "prediction", "confidence", "set", "ood"}; CSV: the same columns, the set as
space-separated classes.
`;

const csvField = (v: string): string => (/[",\n\r]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v);

export async function predictCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs('predict', argv, {
    conformal: { type: 'string' },
    ood: { type: 'string' },
    apply: { type: 'string' },
    'class-names': { type: 'string' },
    output: { type: 'string', short: 'o' },
    ...engineFlags,
  });
  if (values.help) {
    process.stdout.write(PREDICT_HELP);
    return 0;
  }
  if (positionals.length !== 1) throw new UsageError(positionals.length === 0 ? 'predict: missing LOGITS.npy' : 'predict: give one LOGITS.npy');
  const out = values.output;
  if (out === undefined) throw new UsageError('predict: missing -o OUT.jsonl|OUT.csv');
  const csv = /\.csv$/i.test(out);
  if (!csv && !/\.jsonl$/i.test(out)) throw new UsageError(`-o ${out}: expected a file ending in .jsonl or .csv`);
  const oodMethod = values.ood as OodMethodName | undefined;
  if (oodMethod !== undefined && !OOD_METHOD_NAMES.includes(oodMethod)) throw new UsageError(`--ood ${oodMethod}: expected one of ${OOD_METHOD_NAMES.join(', ')}`);
  const src = await NpyShardSource.open([{ logits: positionals[0]! }]);
  let file: AtomicFile | undefined;
  try {
    const C = src.classes;
    const model = values.conformal !== undefined ? readConformalModelFile(values.conformal, C) : null;
    const names = values['class-names'] !== undefined ? readClassNames(values['class-names'], C) : null;
    const lk = await startEngine(values, src.rows * C * 4);
    const T = model?.temperature ?? 1;
    const name = (j: number): string | number => (names ? names[j]! : j);
    try {
      file = new AtomicFile(out);
    } catch (e) {
      throw new Error(`${out}: cannot write (${writeFailure(e)})`);
    }
    if (csv) file.write(['row', 'prediction', 'confidence', ...(model ? ['set'] : []), ...(oodMethod ? ['ood'] : [])].join(',') + '\n');
    for (const b of corrected(lk, src, values.apply).blocks()) {
      // max p as the sets rank it (the float32 rounding of the f64 softmax): −msp, the same on every backend.
      const msp = lk.oodScore(b.x, C, { method: 'msp', temperature: T });
      const pred = lk.argmax(b.x, C);
      const sets = model ? lk.predictSets(b.x, C, model, { firstRow: b.start }) : null;
      const ood = oodMethod ? lk.oodScore(b.x, C, { method: oodMethod, temperature: T }) : null;
      const lines: string[] = [];
      for (let i = 0; i < b.rows; i++) {
        const row = b.start + i;
        const conf = -msp[i]!; // NaN rows: written as null
        const set = sets ? Array.from(sets.indices.subarray(sets.offsets[i]!, sets.offsets[i + 1]!), name) : null;
        const score = ood ? ood[i]! : null;
        const num = (v: number) => (Number.isFinite(v) ? v : null);
        if (csv) {
          lines.push(
            [String(row), csvField(String(name(pred[i]!))), String(num(conf) ?? ''), ...(set ? [csvField(set.join(' '))] : []), ...(score !== null ? [String(num(score) ?? score)] : [])].join(','),
          );
        } else {
          lines.push(JSON.stringify({ row, prediction: name(pred[i]!), confidence: num(conf), ...(set ? { set } : {}), ...(score !== null ? { ood: num(score) ?? String(score) } : {}) }));
        }
      }
      file.write(lines.join('\n') + '\n');
    }
    file.commit();
    file = undefined;
    process.stderr.write(`logitkit predict: ${src.rows.toLocaleString('en-US')} rows written to ${out}\n`);
    return 0;
  } finally {
    file?.abort();
    src.close();
  }
}
