/**
 * `logitkit score`, `logitkit calibrate` and `logitkit merge`.
 *
 * score streams one or more (logits, labels) shards through a ScoreAccumulator. With
 * `--fit-temperature` it first fits T over all shards (one pass per Newton step), then scores at T;
 * with a report and no temperature it also fits T, but only for the "after" reliability diagram. The
 * JSON carries `stats`: the raw sums that `merge` adds up to reproduce a single run over all rows.
 */
import { readFileSync } from 'node:fs';
import { init, type Engine } from '../index.js';
import { namingFile, NpyShardSource, PROB_SUM_TOLERANCE, type Shard } from '../io/npy-source.js';
import { checkRegularFile, NpyError } from '../io/npy.js';
import { MAX_BINS } from '../limits.js';
import { fitTemperatureSource, type TemperatureFit } from '../metrics/calibration.js';
import { DEFAULT_REPLICATES, MAX_REPLICATES } from '../metrics/bootstrap.js';
import { classLabel, ScoreAccumulator, withClassNames, type ScoreStats, type ScoreSummary } from '../metrics/summary.js';
import { applyMapArgs, correctionJson, correctionLine, loadMapFile, mappedSource } from './correction.js';
import { FingerprintingSource, fingerprintOf } from './fingerprint.js';
import { INPUT_HELP, inputKind, inputOptions, readClassNames, shardsOf } from './inputs.js';
import { renderHtmlReport, renderMarkdownReport, type ReportInput } from './report.js';
import { fmt, parseCommandArgs, pct, Progress, table, UsageError, writeFileAtomic } from './ui.js';

const common = {
  json: { type: 'boolean' },
  backend: { type: 'string' },
  threads: { type: 'string' },
  debug: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
  'block-mb': { type: 'string' },
} as const;

export function parseIntOption(name: string, v: string | undefined, dflt: number, min = 1): number {
  if (v === undefined) return dflt;
  if (!/^\d+$/.test(v.trim()) || Number(v) < min) throw new UsageError(`--${name} ${v}: expected an integer >= ${min}`);
  return Number(v);
}

/** --bins, bounded like the API's options.bins before any file is opened. */
function parseBins(v: string | undefined): number {
  const bins = parseIntOption('bins', v, 15);
  if (bins > MAX_BINS) throw new UsageError(`--bins ${v}: expected an integer from 1 to ${MAX_BINS}`);
  return bins;
}

export function parsePositive(name: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const t = Number(v);
  if (v.trim() === '' || !Number.isFinite(t) || t <= 0) throw new UsageError(`--${name} ${v}: expected a finite number > 0`);
  return t;
}

/** Validates --backend and --threads (usage errors, so call it before touching any file). */
export function engineOptions(values: { backend?: string; threads?: string }): { backend?: 'wasm' | 'js'; threads?: number | 'auto' } {
  const backend = values.backend;
  if (backend !== undefined && backend !== 'wasm' && backend !== 'js') throw new UsageError(`--backend ${backend}: expected wasm or js`);
  let threads: number | 'auto' | undefined;
  if (values.threads !== undefined) threads = values.threads === 'auto' ? 'auto' : parseIntOption('threads', values.threads, 1);
  return { ...(backend ? { backend } : {}), ...(threads !== undefined ? { threads } : {}) };
}

export async function startEngine(values: { backend?: string; threads?: string }): Promise<Engine> {
  return init(engineOptions(values));
}

/** One warning per run for --input probs rows that do not sum to 1 (they are used as given). */
function warnOffRows(src: NpyShardSource): void {
  if (src.offRows > 0) {
    process.stderr.write(
      `warning: ${src.offRows.toLocaleString('en-US')} of ${src.rows.toLocaleString('en-US')} probability rows sum to more than ${PROB_SUM_TOLERANCE} away from 1; they are scored as softmax(ln p), i.e. renormalised\n`,
    );
  }
}

function reportKind(path: string | undefined): 'html' | 'md' | null {
  if (path === undefined) return null;
  if (/\.html?$/i.test(path)) return 'html';
  if (/\.(md|markdown)$/i.test(path)) return 'md';
  throw new UsageError(`--report ${path}: expected a file ending in .html or .md`);
}

/** Progress of a temperature fit: one bar per pass over the data. */
function fitProgress(progress: Progress): (done: number, total: number) => void {
  let pass = 1;
  return (done, total) => {
    progress.update(`fitting T (pass ${pass})`, done, total);
    if (done === total) pass++;
  };
}

/** The JSON object of score / merge (DESIGN.md "The command line" keys, plus stats for merging). */
/**
 * The score JSON as people read it: indented, except `stats` (the sums merge reads: histograms,
 * bootstrap replicates…), which stays on one line instead of one line per number.
 */
export function formatJson(o: Record<string, unknown>): string {
  const { stats, ...rest } = o;
  const head = JSON.stringify(rest, null, 2);
  if (stats === undefined) return head + '\n';
  return `${head.slice(0, -2)},\n  "stats": ${JSON.stringify(stats)}\n}\n`;
}

/** Above this many classes the K × K confusion matrix is left out of the JSON unless --confusion asks for it. */
export const CONFUSION_JSON_MAX = 256;

export function summaryJson(s: ScoreSummary, extra: Record<string, unknown>, stats: ScoreStats, opts: { confusion?: boolean } = {}): Record<string, unknown> {
  const c = s.classification;
  const out: Record<string, unknown> = {
    rows: s.rows,
    classes: s.classes,
    nll: s.nll,
    accuracy: s.accuracy,
    topk: s.topk,
    perplexity: s.perplexity,
    ece: s.ece,
    mce: s.mce,
    brier: s.brier,
    meanEntropy: s.meanEntropy,
    bins: s.bins,
    nanRows: s.nanRows,
    ...(s.classNames ? { classNames: s.classNames } : {}),
    ...extra,
    reliability: s.reliability.bins,
    perClass: s.perClass,
    calibration: s.calibration,
    classification: {
      perClass: c.perClass,
      macro: c.macro,
      weighted: c.weighted,
      balancedAccuracy: c.balancedAccuracy,
      zeroDivision: c.zeroDivision,
    },
    ...(s.auroc ? { auroc: s.auroc } : {}),
    ...(s.intervals ? { intervals: s.intervals } : {}),
    ...(s.binary ? { binary: { bce: s.binary.bce, accuracy: s.binary.accuracy, auroc: s.binary.auroc, ece: s.binary.ece, mce: s.binary.mce, reliability: s.binary.reliability.bins } } : {}),
    ...(s.confusion && (s.classes <= CONFUSION_JSON_MAX || opts.confusion) ? { confusion: s.confusion.matrix() } : {}),
    ...(s.slices ? { groups: s.slices.groups, groupGaps: s.slices.groupGaps, ...(s.slices.fairness ? { fairness: s.slices.fairness } : {}) } : {}),
    stats,
  };
  return out;
}

/** The per-group table (the 20 lowest-accuracy groups when there are more) and the gaps. */
function groupLines(s: ScoreSummary): string[] {
  const sl = s.slices!;
  const ids = Object.keys(sl.groups);
  const shown = ids.length <= 20 ? ids : [...ids].sort((a, b) => sl.groups[a].accuracy - sl.groups[b].accuracy).slice(0, 20);
  const body = shown.map((g) => {
    const f = sl.groups[g];
    return [g, String(f.rows), pct(f.accuracy, 1), fmt(f.nll), pct(f.ece)];
  });
  const gaps = sl.groupGaps;
  const out = [
    ids.length <= 20 ? 'per group:' : `per group (the 20 least accurate of ${ids.length}):`,
    ...table(['group', 'rows', 'accuracy', 'NLL', 'ECE'], body)
      .split('\n')
      .map((l) => `  ${l}`.trimEnd()),
    `  gaps: accuracy ${pct(gaps.accuracy.gap)} (group ${gaps.accuracy.worstGroup} is ${pct(gaps.accuracy.worstVsOverall)} below overall)  ECE ${pct(gaps.ece.gap)} (group ${gaps.ece.worstGroup} is ${pct(gaps.ece.worstVsOverall)} above)`,
  ];
  if (sl.fairness) {
    out.push(`  demographic parity difference ${fmt(sl.fairness.demographicParityDifference)}  equalized odds difference ${fmt(sl.fairness.equalizedOddsDifference)}`);
  }
  return out;
}

function listClasses(ks: number[]): string {
  return ks.length <= 12 ? ks.join(', ') : `${ks.slice(0, 12).join(', ')} and ${ks.length - 12} more`;
}

function humanSummary(s: ScoreSummary, head: string, scaling: Record<string, number> | null, temperatureNote: string | null): string {
  const lines: string[] = [head];
  const rows: string[][] = [
    ['NLL (mean cross-entropy)', fmt(s.nll), 'perplexity', fmt(s.perplexity)],
    ['accuracy', pct(s.accuracy), `top-${s.topk.k} accuracy`, pct(s.topk.accuracy)],
    [`ECE (${s.bins} bins)`, pct(s.ece), 'MCE', pct(s.mce)],
    ['Brier score', fmt(s.brier), 'mean entropy', fmt(s.meanEntropy)],
    ['macro F1', fmt(s.classification.macro.f1), 'balanced accuracy', pct(s.classification.balancedAccuracy)],
  ];
  const w0 = Math.max(...rows.map((r) => r[0].length));
  const w1 = Math.max(...rows.map((r) => r[1].length));
  const w2 = Math.max(...rows.map((r) => r[2].length));
  for (const r of rows) lines.push(`  ${r[0].padEnd(w0)}  ${r[1].padStart(w1)}    ${r[2].padEnd(w2)}  ${r[3]}`);
  const cal = s.calibration;
  if (s.binary) {
    const b = s.binary;
    lines.push(`  binary (sigmoid, p = σ(z)): BCE ${fmt(b.bce)}  accuracy at 0.5 ${pct(b.accuracy)}  AUROC ${fmt(b.auroc, 4)}  ECE of p ${pct(b.ece)}`);
  }
  if (s.intervals) {
    const iv = s.intervals;
    const span = (v: [number, number], f: (x: number) => string) => `[${f(v[0])}, ${f(v[1])}]`;
    lines.push(
      `  90% intervals (Poisson bootstrap, ${iv.replicates} replicates): accuracy ${span(iv.accuracy, (x) => pct(x))}  NLL ${span(iv.nll, (x) => fmt(x))}  ECE ${span(iv.ece, (x) => pct(x))}`,
    );
  }
  if (s.auroc) lines.push(`  AUROC (one-vs-rest): macro ${fmt(s.auroc.macro, 4)}  weighted ${fmt(s.auroc.weighted, 4)}`);
  lines.push(`  calibration: adaptive ECE ${pct(cal.adaptiveEce)}  classwise ECE ${pct(cal.classwiseEce)}  RMSCE ${pct(cal.rmsce)}  debiased L2 ${pct(cal.debiasedL2)}`);
  if (s.nanRows > 0) {
    lines.push(`  note: ${s.nanRows} row${s.nanRows === 1 ? ' has' : 's have'} NaN, +inf or all −inf logits (softmax NaN), so NLL, ECE, Brier and entropy are NaN`);
  }
  if (temperatureNote) lines.push(`  ${temperatureNote}`);
  if (scaling) {
    lines.push(
      `  temperature scaling: T = ${fmt(scaling.temperature)}  NLL ${fmt(scaling.nllBefore)} → ${fmt(scaling.nllAfter)}  ECE ${pct(scaling.eceBefore)} → ${pct(scaling.eceAfter)}`,
    );
  }
  const flagged = s.perClass.filter((c) => c.flag);
  const show = s.classes <= 20 ? s.perClass : flagged.slice(0, 20);
  if (show.length) {
    lines.push('', s.classes <= 20 ? 'per class:' : `per class (${flagged.length} flagged class${flagged.length === 1 ? '' : 'es'}${flagged.length > 20 ? ', first 20' : ''}):`);
    const body = show.map((c) => [
      classLabel(s, c.class),
      String(c.support),
      c.accuracy === null ? '-' : pct(c.accuracy, 1),
      pct(s.classification.perClass[c.class].precision, 1),
      fmt(s.classification.perClass[c.class].f1, 3),
      String(c.predicted),
      pct(c.meanProb, 2),
      pct(c.frequency, 2),
      fmt(c.meanLogit, 3),
      c.flag === 'over' ? 'OVER-predicted' : c.flag === 'under' ? 'under-predicted' : '',
    ]);
    lines.push(
      table(['class', 'support', 'recall', 'precision', 'F1', 'predicted', 'meanProb', 'frequency', 'meanLogit', ''], body)
        .split('\n')
        .map((l) => `  ${l}`.trimEnd())
        .join('\n'),
    );
  } else if (s.classes > 20) lines.push('', `per class: no class is clearly over- or under-predicted (${s.classes} classes; see --json or --report)`);
  if (s.slices) lines.push('', ...groupLines(s));
  const never = s.classification.zeroDivision.precision;
  if (never.length) {
    lines.push(`  note: precision is 0/0, reported as 0, for class${never.length === 1 ? '' : 'es'} never predicted: ${listClasses(never)}`);
  }
  return lines.join('\n') + '\n';
}

function writeReport(path: string, kind: 'html' | 'md', input: ReportInput): void {
  writeFileAtomic(path, kind === 'html' ? renderHtmlReport(input) : renderMarkdownReport(input));
}

function debugStats(debug: boolean, t0: number, extra: string): void {
  if (!debug) return;
  const ru = process.resourceUsage();
  process.stderr.write(`debug: maxRSS ${(ru.maxRSS / 1024).toFixed(1)} MiB, ${((Date.now() - t0) / 1000).toFixed(2)} s${extra}\n`);
}

// --------------------------------------------------------------------------------------------- score

export const SCORE_HELP = `usage: logitkit score LOGITS.npy [MORE.npy ...] --labels LABELS.npy [--labels MORE.npy ...]
       logitkit score RUN.npz|RUN.safetensors [--logits-key K] [--labels-key K]
                      [--input logits|probs|logprobs] [--class-names FILE] [--groups FILE|KEY]
                      [--json] [--bins 15] [--topk 5] [--temperature T | --fit-temperature]
                      [--apply MAP.json] [--report FILE.html|FILE.md] [--confusion] [--intervals 200] [--seed 0]
                      [--backend wasm|js] [--threads N] [--debug]

With --apply, the logits are first corrected by a map from 'logitkit fit' or 'logitkit shift'; the
figures are those of the corrected logits, with the raw ones alongside ("correction").
Scores classifier logits against labels, streaming the files in blocks of rows. Several logits files
(shards of one dataset) are scored as one dataset; give one --labels per logits file, in order.
Human output goes to stderr; --json prints one JSON object on stdout (with "stats" for logitkit merge).
--intervals N: 90% Poisson-bootstrap intervals of accuracy, NLL and ECE from N replicates (0: off).
One logit per row ((N,) or (N, 1) logits, labels 0/1) is a binary (sigmoid) model: BCE, AUROC, ECE of p.

${INPUT_HELP}`;

export async function scoreCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs('score', argv, {
    ...common,
    ...inputOptions,
    bins: { type: 'string' },
    topk: { type: 'string' },
    temperature: { type: 'string' },
    'fit-temperature': { type: 'boolean' },
    confusion: { type: 'boolean' },
    report: { type: 'string' },
    intervals: { type: 'string' },
    seed: { type: 'string' },
    ...applyMapArgs,
  });
  if (values.help) {
    process.stdout.write(SCORE_HELP);
    return 0;
  }
  const t0 = Date.now();
  const shards = shardsOf(positionals, values, 'score');
  const input = inputKind(values);
  const bins = parseBins(values.bins);
  const topk = parseIntOption('topk', values.topk, 5);
  const intervals = parseIntOption('intervals', values.intervals, DEFAULT_REPLICATES, 0);
  if (intervals > MAX_REPLICATES) throw new UsageError(`--intervals ${intervals}: at most ${MAX_REPLICATES} replicates`);
  const seed = parseIntOption('seed', values.seed, 0, 0);
  if (!Number.isSafeInteger(seed)) throw new UsageError(`--seed ${values.seed}: expected an integer below 2^53`);
  const givenT = parsePositive('temperature', values.temperature);
  const fitT = values['fit-temperature'] === true;
  if (givenT !== undefined && fitT) throw new UsageError('--temperature and --fit-temperature are mutually exclusive');
  if (values.apply !== undefined && (givenT !== undefined || fitT)) throw new UsageError('--apply and --temperature / --fit-temperature are mutually exclusive (a map carries its own temperature)');
  const kind = reportKind(values.report);
  const blockBytes = values['block-mb'] !== undefined ? parseIntOption('block-mb', values['block-mb'], 1) << 20 : undefined;
  const json = values.json === true;
  engineOptions(values);

  const src = await NpyShardSource.open(shards, { ...(blockBytes ? { blockBytes } : {}), input });
  const progress = new Progress(!json);
  let lk: Engine | null = null;
  try {
    // One logit per row ((rows,) or (rows, 1)): a sigmoid model, labels in {0, 1}.
    const binary = src.classes === 1;
    if (binary && input !== 'logits') throw new UsageError(`--input ${input}: a binary model (one column) is scored from its logit only`);
    if (binary && fitT) throw new UsageError('--fit-temperature: not for a binary model (one logit per row); use --temperature T');
    if (binary && values.apply !== undefined) throw new UsageError('--apply: not for a binary model (one logit per row) yet; maps are fitted on softmax logits');
    lk = await startEngine(values);
    const map = values.apply !== undefined ? loadMapFile(values.apply, src.classes) : null;
    const before = map ? new ScoreAccumulator(src.classes, { bins, topk }) : null;
    if (map) {
      src.onProgress = (done, total) => progress.update('scoring (raw)', done, total);
      before!.addSource(lk, src);
    }
    let fit: TemperatureFit | null = null;
    if (!map && !binary && (fitT || (kind && givenT === undefined))) {
      src.onProgress = fitProgress(progress);
      fit = fitTemperatureSource(lk, src, { nllBefore: false }); // NLL at T = 1 comes from the scoring pass
    }
    src.onProgress = (done, total) => progress.update('scoring', done, total);
    const T = givenT ?? (fitT ? fit!.temperature : 1);
    const alt = T !== 1 ? 1 : fit ? fit.temperature : null;
    const acc = new ScoreAccumulator(binary ? 2 : src.classes, { bins, topk, temperature: T, altTemperature: alt, groups: src.hasGroups, binary, intervals, seed });
    // The fingerprint is of the data as read; a map, if any, applies after it.
    const scored = new FingerprintingSource(src);
    acc.addSource(lk, map ? mappedSource(lk, scored, map.map) : scored);
    progress.finish();
    warnOffRows(src);
    const s = withClassNames(acc.summary(), values['class-names'] !== undefined ? readClassNames(values['class-names'], binary ? 2 : src.classes) : null);
    const fingerprints = scored.fingerprints();

    const extra: Record<string, unknown> = {};
    const correction = map ? { file: values.apply!, json: map.json, map: map.map, before: before!.summary() } : undefined;
    if (correction) extra.correction = correctionJson(correction, s);
    let scaling: Record<string, number> | null = null;
    if (givenT !== undefined || fitT) extra.temperature = T;
    if (fitT) extra.temperatureFitted = true;
    if (s.alt) {
      // Before/after pair: "before" is always T = 1.
      const before = T === 1 ? { nll: s.nll, ece: s.ece } : { nll: s.alt.nll, ece: s.alt.ece };
      const after = T === 1 ? { nll: s.alt.nll, ece: s.alt.ece, t: s.alt.temperature } : { nll: s.nll, ece: s.ece, t: T };
      scaling = { temperature: after.t, nllBefore: before.nll, nllAfter: after.nll, eceBefore: before.ece, eceAfter: after.ece };
      extra.temperatureScaling = { ...scaling, fitted: fit !== null && after.t === fit.temperature };
    }
    extra.backend = lk.backend;
    extra.fingerprint = fingerprintOf(fingerprints);
    extra.inputs = shards.map((sh, i) => ({ ...sh, fingerprint: fingerprints[i] }));
    if (kind) {
      writeReport(values.report!, kind, { summary: s, inputs: shards, backend: lk.backend, temperature: extra.temperature as number | undefined, fitted: fit, ...(correction ? { correction } : {}) });
    }
    if (json) process.stdout.write(formatJson(summaryJson(s, extra, acc.toStats(), { confusion: values.confusion === true })));
    else {
      const head = `logitkit score: ${s.rows.toLocaleString('en-US')} rows × ${s.classes} classes (${lk.backend} backend${shards.length > 1 ? `, ${shards.length} shards` : ''})`;
      const note = givenT !== undefined ? `figures at temperature T = ${fmt(T)} (given)` : fitT ? `figures at the fitted temperature T = ${fmt(T)}` : null;
      process.stderr.write(humanSummary(s, head, scaling, note));
      if (correction) process.stderr.write(correctionLine(correction, s));
      if (kind) process.stderr.write(`report written to ${values.report}\n`);
    }
    debugStats(values.debug === true, t0, fit ? `, ${fit.passes} fit passes` : '');
    return 0;
  } catch (e) {
    throw namingFile(e, src.current ?? shards[0]!.logits, shards.flatMap((s) => [s.logits, s.labels]));
  } finally {
    progress.finish();
    src.close();
    lk?.dispose();
  }
}

// ----------------------------------------------------------------------------------------- calibrate

export const CALIBRATE_HELP = `usage: logitkit calibrate LOGITS.npy [MORE.npy ...] --labels LABELS.npy [--labels ...]
                          [--logits-key K] [--labels-key K] [--input logits|probs|logprobs]
                          [--json] [--bins 15] [--min 0.01] [--max 100] [--backend wasm|js] [--debug]

Fits the temperature T that minimises the mean NLL of softmax(logits / T) (SEMANTICS.md §10) and
reports NLL and ECE before (T = 1) and after.

${INPUT_HELP}`;

export async function calibrateCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs('calibrate', argv, { ...common, ...inputOptions, bins: { type: 'string' }, min: { type: 'string' }, max: { type: 'string' } });
  if (values.help) {
    process.stdout.write(CALIBRATE_HELP);
    return 0;
  }
  const t0 = Date.now();
  for (const flag of ['groups', 'class-names'] as const) {
    if (values[flag] !== undefined) throw new UsageError(`calibrate: --${flag} applies to score, not calibrate`);
  }
  const shards = shardsOf(positionals, values, 'calibrate');
  const input = inputKind(values);
  const bins = parseBins(values.bins);
  const min = parsePositive('min', values.min) ?? 0.01;
  const max = parsePositive('max', values.max) ?? 100;
  if (min > max) throw new UsageError(`--min ${min} is larger than --max ${max}`);
  const blockBytes = values['block-mb'] !== undefined ? parseIntOption('block-mb', values['block-mb'], 1) << 20 : undefined;
  const json = values.json === true;
  engineOptions(values);
  const src = await NpyShardSource.open(shards, { ...(blockBytes ? { blockBytes } : {}), input });
  const progress = new Progress(!json);
  src.onProgress = fitProgress(progress);
  let lk: Engine | null = null;
  try {
    lk = await startEngine(values);
    const fit = fitTemperatureSource(lk, src, { min, max, nllBefore: false }); // "before" comes from the scoring pass
    src.onProgress = (done, total) => progress.update('scoring', done, total);
    const acc = new ScoreAccumulator(src.classes, { bins, topk: 1, temperature: fit.temperature, altTemperature: 1 });
    acc.addSource(lk, src);
    progress.finish();
    warnOffRows(src);
    const s = acc.summary();
    const out = {
      temperature: fit.temperature,
      nllBefore: s.alt!.nll,
      nllAfter: s.nll,
      eceBefore: s.alt!.ece,
      eceAfter: s.ece,
      mceBefore: s.alt!.mce,
      mceAfter: s.mce,
      rows: s.rows,
      classes: s.classes,
      bins,
      passes: fit.passes,
      backend: lk.backend,
    };
    if (json) process.stdout.write(JSON.stringify(out, null, 2) + '\n');
    else {
      process.stderr.write(
        `logitkit calibrate: ${s.rows.toLocaleString('en-US')} rows × ${s.classes} classes (${lk.backend} backend)\n` +
          `  fitted temperature  T = ${fmt(fit.temperature, 6)}\n` +
          table(
            ['', 'before (T = 1)', 'after'],
            [
              ['NLL', fmt(out.nllBefore, 6), fmt(out.nllAfter, 6)],
              [`ECE (${bins} bins)`, pct(out.eceBefore), pct(out.eceAfter)],
              ['MCE', pct(out.mceBefore), pct(out.mceAfter)],
            ],
          )
            .split('\n')
            .map((l) => `  ${l}`)
            .join('\n') +
          '\n',
      );
    }
    debugStats(values.debug === true, t0, `, ${fit.passes} passes`);
    return 0;
  } catch (e) {
    throw namingFile(e, src.current ?? shards[0]!.logits, shards.flatMap((s) => [s.logits, s.labels]));
  } finally {
    progress.finish();
    src.close();
    lk?.dispose();
  }
}

// --------------------------------------------------------------------------------------------- merge

/** --class-names wins; else the shards' own names, which must agree where given. */
function mergedClassNames(parsed: { file: string; obj: { classNames?: unknown } }[], file: string | undefined, classes: number): string[] | null {
  if (file !== undefined) return readClassNames(file, classes);
  let names: string[] | null = null;
  let from = '';
  for (const p of parsed) {
    const n = p.obj.classNames;
    if (n === undefined) continue;
    if (!Array.isArray(n) || n.length !== classes || !n.every((v) => typeof v === 'string')) throw new Error(`${p.file}: "classNames" must be an array of ${classes} strings`);
    if (names && JSON.stringify(names) !== JSON.stringify(n)) throw new Error(`${p.file}: its class names differ from those of ${from}; pass --class-names FILE to choose`);
    if (!names) [names, from] = [n as string[], p.file];
  }
  return names;
}

export const MERGE_HELP = `usage: logitkit merge A.json B.json [...] [--json] [--confusion] [--class-names FILE] [--report FILE.html|FILE.md]

Combines the JSON outputs of 'logitkit score --json' run on shards of one dataset into the figures a
single run over all rows gives. All shards must use the same classes, --bins, --topk and temperature.
A temperature fitted per shard cannot be merged (it depends on all rows): fit T once with
'logitkit calibrate' and score every shard with --temperature T.
`;

/** How merge names a shard in messages: its logits (+ labels) file as recorded by score. */
function shardName(input: unknown): string {
  const i = input as { logits?: unknown; labels?: unknown };
  if (typeof i?.logits !== 'string') return JSON.stringify(input);
  return typeof i.labels === 'string' ? `${i.logits} + ${i.labels}` : i.logits;
}

export async function mergeCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs('merge', argv, {
    json: { type: 'boolean' },
    report: { type: 'string' },
    debug: { type: 'boolean' },
    confusion: { type: 'boolean' },
    'class-names': { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  });
  if (values.help) {
    process.stdout.write(MERGE_HELP);
    return 0;
  }
  if (positionals.length === 0) throw new UsageError('merge: give the JSON files written by logitkit score --json');
  const kind = reportKind(values.report);
  const parsed = positionals.map((file) => {
    let text: string;
    try {
      checkRegularFile(file, 'a JSON file', 'merge reads the files written by logitkit score --json');
      text = readFileSync(file, 'utf8');
    } catch (e) {
      if (e instanceof NpyError) throw e;
      throw new Error(`${file}: cannot read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
    }
    let obj: { stats?: ScoreStats; temperature?: number; temperatureFitted?: boolean; inputs?: unknown[]; classNames?: unknown; fingerprint?: unknown };
    try {
      obj = JSON.parse(text);
    } catch {
      throw new Error(`${file}: not valid JSON (expected the output of logitkit score --json)`);
    }
    if (!obj || typeof obj !== 'object' || !obj.stats) throw new Error(`${file}: has no "stats" (expected the output of logitkit score --json)`);
    return { file, obj };
  });
  // A shard counted twice (the same JSON given twice, or a merged JSON and one of its parts) would
  // silently weigh its rows double: refuse it by the fingerprint of its scored data.
  const counted = new Map<string, { file: string; name: string }>();
  for (const p of parsed) {
    const seenHere = new Set<string>();
    for (const input of Array.isArray(p.obj.inputs) ? p.obj.inputs : []) {
      const fp = (input as { fingerprint?: unknown })?.fingerprint;
      if (typeof fp !== 'string') continue; // written before fingerprints: merged as before
      const name = shardName(input);
      const prev = counted.get(fp);
      if (prev && !seenHere.has(fp)) {
        throw new Error(
          prev.file === p.file
            ? `${p.file}: given more than once; its shard ${name} would be counted twice`
            : `${p.file}: shard ${name} is already counted from ${prev.file}${prev.name !== name ? ` (as ${prev.name})` : ''}: same data (fingerprint ${fp.slice(0, 19)}…); give each shard once`,
        );
      }
      counted.set(fp, { file: p.file, name });
      seenHere.add(fp);
    }
  }
  const first = parsed[0];
  for (const p of parsed.slice(1)) {
    const a = first.obj.stats!;
    const b = p.obj.stats!;
    for (const key of ['classes', 'bins', 'k'] as const) {
      if (a[key] !== b[key]) throw new Error(`${p.file}: ${key === 'k' ? 'topk' : key} = ${b[key]} but ${first.file} has ${a[key]}; shards must be scored with the same settings`);
    }
    if (a.temperature !== b.temperature) {
      const fitted = first.obj.temperatureFitted || p.obj.temperatureFitted;
      throw new Error(
        `${p.file}: scored at temperature ${b.temperature} but ${first.file} at ${a.temperature}` +
          (fitted ? '; temperatures fitted per shard cannot be merged: fit T once (logitkit calibrate over all shards) and score each shard with --temperature T' : ''),
      );
    }
  }
  const alts = parsed.map((p) => p.obj.stats!.alt?.temperature ?? null);
  const keepAlt = alts.every((t) => t !== null && t === alts[0]);
  const accs = parsed.map((p) => {
    const st = keepAlt ? p.obj.stats! : { ...p.obj.stats!, alt: null };
    return ScoreAccumulator.fromStats(st, p.file);
  });
  const acc = accs[0];
  for (const o of accs.slice(1)) acc.merge(o);
  const s = withClassNames(acc.summary(), mergedClassNames(parsed, values['class-names'], acc.classes));
  const T = acc.temperature;
  const extra: Record<string, unknown> = {};
  if (first.obj.temperature !== undefined) extra.temperature = T;
  let scaling: Record<string, number> | null = null;
  if (s.alt) {
    const before = T === 1 ? { nll: s.nll, ece: s.ece } : { nll: s.alt.nll, ece: s.alt.ece };
    const after = T === 1 ? { nll: s.alt.nll, ece: s.alt.ece, t: s.alt.temperature } : { nll: s.nll, ece: s.ece, t: T };
    scaling = { temperature: after.t, nllBefore: before.nll, nllAfter: after.nll, eceBefore: before.ece, eceAfter: after.ece };
    extra.temperatureScaling = scaling;
  }
  const inputs = parsed.flatMap((p) => (Array.isArray(p.obj.inputs) ? p.obj.inputs : [p.file]));
  const fps = inputs.map((i) => (i as { fingerprint?: unknown })?.fingerprint);
  if (fps.every((f): f is string => typeof f === 'string')) extra.fingerprint = fingerprintOf(fps);
  extra.inputs = inputs;
  extra.merged = positionals;
  if (kind) writeReport(values.report!, kind, { summary: s, inputs: inputs as Shard[], backend: 'merged', temperature: extra.temperature as number | undefined, fitted: null, merged: positionals });
  if (values.json) process.stdout.write(formatJson(summaryJson(s, extra, acc.toStats(), { confusion: values.confusion === true })));
  else {
    const plural = (n: number, what: string) => `${n} ${what}${n === 1 ? '' : 's'}`;
    const head = `logitkit merge: ${s.rows.toLocaleString('en-US')} rows × ${s.classes} classes from ${plural(inputs.length, 'shard')} in ${plural(positionals.length, 'file')}`;
    process.stderr.write(humanSummary(s, head, scaling, extra.temperature !== undefined ? `figures at temperature T = ${fmt(T)}` : null));
    if (kind) process.stderr.write(`report written to ${values.report}\n`);
  }
  return 0;
}
