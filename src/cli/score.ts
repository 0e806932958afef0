/**
 * `logitkit score` and `logitkit calibrate` (merge is in merge.ts, the printed outputs in output.ts,
 * shared flags in args.ts).
 *
 * score streams one or more (logits, labels) shards through a ScoreAccumulator. With
 * `--fit-temperature` it first fits T over all shards (one pass per Newton step), then scores at T;
 * with a report and no temperature it also fits T, but only for the "after" reliability diagram. The
 * JSON carries `stats`: the raw sums that `merge` adds up to reproduce a single run over all rows.
 */
import type { Engine } from '../index.js';
import { namingFile, NpyShardSource } from '../io/npy-source.js';
import { fitTemperatureSource, type TemperatureFit } from '../metrics/calibration.js';
import { DEFAULT_REPLICATES, MAX_REPLICATES } from '../metrics/bootstrap.js';
import { ScoreAccumulator, withClassNames } from '../metrics/summary.js';
import { common, debugStats, engineOptions, fitProgress, parseBins, parseIntOption, parsePositive, reportKind, startEngine, warnOffRows } from './args.js';
import { applyMapArgs, correctionJson, correctionLine, loadMapFile, mappedSource } from './correction.js';
import { FingerprintingSource, fingerprintOf } from './fingerprint.js';
import { INPUT_HELP, inputChoice, inputOptions, readClassNames, resolveInput, shardsOf } from './inputs.js';
import { checkMultilabelFlags, multilabelScore } from './multilabel.js';
import { humanSummary, stdoutJson, summaryJson, writeReport } from './output.js';
import { fmt, parseCommandArgs, pct, Progress, table, UsageError } from './ui.js';
import { ScoreUncertainty, scoreUncertaintyArgs } from './score-uncertainty.js';
import { parseThreshold, THRESHOLD_HELP, thresholdNotForSoftmax } from './threshold.js';

// Kept so that code importing these from score.js keeps working.
export { engineOptions, parseIntOption, parsePositive, startEngine } from './args.js';
export { CONFUSION_JSON_MAX, formatJson, summaryJson } from './output.js';
export { mergeCommand, MERGE_HELP } from './merge.js';

// --------------------------------------------------------------------------------------------- score

export const SCORE_HELP = `usage: logitkit score LOGITS.npy [MORE.npy ...] --labels LABELS.npy [--labels MORE.npy ...]
       logitkit score RUN.npz|RUN.safetensors [--logits-key K] [--labels-key K]
                      [--input auto|logits|probs|logprobs] [--class-names FILE] [--groups FILE|KEY]
                      [--json] [--bins 15] [--topk 5] [--temperature T | --fit-temperature]
                      [--apply MAP.json] [--report FILE.html|FILE.md] [--confusion] [--intervals 200] [--seed 0]
                      [--multilabel] [--conformal MODEL.json]
                      [--multilabel] [--no-stats] [--threshold 0.5]
                      [--backend wasm|js] [--threads N] [--debug]

With --apply, the logits are first corrected by a map from 'logitkit fit' or 'logitkit shift'; the
figures are those of the corrected logits, with the raw ones alongside ("correction").
Scores classifier logits against labels, streaming the files in blocks of rows. Several logits files
(shards of one dataset) are scored as one dataset; give one --labels per logits file, in order.
Human output goes to stderr; --json prints one JSON object on stdout (with "stats" for logitkit merge).
Always adds "selective" (AURC, E-AURC, AUGRC, risk at coverage 50-100% of abstaining on low max p);
--conformal MODEL.json (from 'logitkit conformal') adds "conformal" (coverage, set sizes per bucket).
--no-stats (with --json): the figures without "stats", the sums merge adds up (most of the file at
many classes). Such a file has "statsOmitted": true and cannot be merged.
--intervals N: 90% Poisson-bootstrap intervals of accuracy, NLL and ECE from N replicates (0: off).
One logit per row ((N,) or (N, 1) logits, labels 0/1) is a binary (sigmoid) model: BCE, Brier, AUROC; its
ece, mce and reliability are of p(y = 1) against the label ("topLabel" keeps the top-label ones). With
--input probs (or logprobs) that column is p(y = 1) (or ln p), scored as the logit ln p − ln(1 − p).
--multilabel: logits (N, C), one sigmoid per label, against targets (N, C) of 0/1 given as the labels
(--labels T.npy, or --labels-key in a container; bool, uint8, int or float): per-label BCE, AUROC, F1,
precision and recall at p >= 0.5 (z >= 0), micro/macro averages, subset accuracy, Hamming loss.
With --input probs (or logprobs) the file holds each label's p (or ln p), scored from p itself.
Average precision (PR-AUC, as sklearn's average_precision_score) is given per class, per label and
macro ("classification.averagePrecision", "binary.averagePrecision", "multilabel.*.averagePrecision").
${THRESHOLD_HELP}

${INPUT_HELP}`;

/**
 * score's blocks (the other streamed commands read 4 MiB): each block is three pool jobs, and each job
 * ends with one thread waiting for the other's last chunk, so fewer, larger blocks waste less. 8 MiB:
 * 3-4% less wall time than 4 MiB on both bench:score files (interleaved runs), 8 MiB more peak RSS at
 * 100 classes and 10 MiB at 1000; 16 MiB went past 200 MiB at 100 classes for about 1% more.
 */
export const SCORE_BLOCK_BYTES = 8 << 20;

export async function scoreCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs('score', argv, {
    ...common,
    ...inputOptions,
    bins: { type: 'string' },
    topk: { type: 'string' },
    temperature: { type: 'string' },
    'fit-temperature': { type: 'boolean' },
    confusion: { type: 'boolean' },
    multilabel: { type: 'boolean' },
    'no-stats': { type: 'boolean' },
    threshold: { type: 'string' },
    report: { type: 'string' },
    intervals: { type: 'string' },
    seed: { type: 'string' },
    ...applyMapArgs,
    ...scoreUncertaintyArgs,
  });
  if (values.help) {
    process.stdout.write(SCORE_HELP);
    return 0;
  }
  if (values['no-stats'] && !values.json) throw new UsageError('--no-stats: applies to --json (it leaves the merge statistics out of it)');
  const threshold = parseThreshold(values.threshold);
  if (values.multilabel) {
    if (values.conformal !== undefined) throw new UsageError('--conformal: not for --multilabel (conformal sets are for softmax classifiers)');
    checkMultilabelFlags(values);
    const shards = shardsOf(positionals, values, 'score');
    const kind = reportKind(values.report);
    const blockBytes = values['block-mb'] !== undefined ? parseIntOption('block-mb', values['block-mb'], 1) << 20 : undefined;
    engineOptions(values);
    return multilabelScore({ ...values, threshold }, shards, kind, blockBytes);
  }
  const t0 = Date.now();
  const shards = shardsOf(positionals, values, 'score');
  const choice = inputChoice(values);
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
  const blockBytes = values['block-mb'] !== undefined ? parseIntOption('block-mb', values['block-mb'], 1) << 20 : SCORE_BLOCK_BYTES;
  const json = values.json === true;
  engineOptions(values);

  const src = await NpyShardSource.open(shards, { blockBytes, input: choice === 'auto' ? 'logits' : choice });
  const progress = new Progress(!json);
  let lk: Engine | null = null;
  try {
    const { kind: input, detected } = resolveInput(src, choice, 'score');
    // One logit per row ((rows,) or (rows, 1)): a sigmoid model, labels in {0, 1}.
    const binary = src.classes === 1;
    if (binary && fitT) throw new UsageError('--fit-temperature: not for a binary model (one logit per row); use --temperature T');
    if (binary && values.apply !== undefined) throw new UsageError('--apply: not for a binary model (one logit per row) yet; maps are fitted on softmax logits');
    if (binary && values.conformal !== undefined) throw new UsageError('--conformal: not for a binary model (one logit per row); calibrate the model on softmax logits');
    if (threshold !== undefined && !binary) throw thresholdNotForSoftmax(src.classes);
    // the bootstrap keeps one hit per row for the accuracy and the top-label ECE intervals alike
    if (threshold !== undefined && threshold !== 0.5 && values.intervals !== undefined && intervals > 0) throw new UsageError('--threshold: --intervals are not computed at a threshold other than 0.5 yet; leave one of them out');
    const kept = threshold !== undefined && threshold !== 0.5 ? 0 : intervals;
    lk = await startEngine(values, src.rows * src.classes * 4);
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
    const acc = new ScoreAccumulator(binary ? 2 : src.classes, { bins, topk, temperature: T, altTemperature: alt, groups: src.hasGroups, binary, intervals: kept, seed, ...(threshold !== undefined ? { threshold } : {}) });
    // The fingerprint is of the data as read; a map, if any, applies after it.
    const scored = new FingerprintingSource(src, lk);
    // Issue 24: selective prediction always, conformal sets with --conformal (score-uncertainty.ts).
    const unc = binary ? null : new ScoreUncertainty(lk, src.rows, src.classes, values.conformal);
    if (unc) acc.onRows = (conf, hit, rows) => unc.addRows(conf, hit, rows);
    const source = map ? mappedSource(lk, scored, map.map) : scored;
    // each block read straight into the accumulator's engine buffer (a binary model's blocks are widened first)
    const engine = lk;
    if (!binary) src.into = (n) => acc.blockTarget(engine, n);
    acc.addSource(lk, unc ? unc.observe(lk, source) : source);
    src.into = null;
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
    if (unc) Object.assign(extra, unc.json());
    extra.input = input;
    extra.inputDetected = detected;
    extra.backend = lk.backend;
    extra.fingerprint = fingerprintOf(fingerprints);
    extra.inputs = shards.map((sh, i) => ({ ...sh, fingerprint: fingerprints[i] }));
    if (kind) {
      writeReport(values.report!, kind, { summary: s, inputs: shards, backend: lk.backend, temperature: extra.temperature as number | undefined, fitted: fit, ...(correction ? { correction } : {}), ...(unc ? { uncertaintyHtml: unc.reportHtml(), uncertaintyMarkdown: unc.reportMarkdown() } : {}) });
    }
    // --no-stats skips the statistics altogether: at 1000 classes encoding the AUROC bins alone is 0.3 s.
    // Awaited before the engine goes (finally): the AUROC bins are encoded from it as they are written.
    if (json) await stdoutJson(summaryJson(s, extra, values['no-stats'] ? undefined : acc.toStats(), { confusion: values.confusion === true }));
    else {
      const head = `logitkit score: ${s.rows.toLocaleString('en-US')} rows × ${s.classes} classes (${lk.backend} backend${shards.length > 1 ? `, ${shards.length} shards` : ''})`;
      const note = givenT !== undefined ? `figures at temperature T = ${fmt(T)} (given)` : fitT ? `figures at the fitted temperature T = ${fmt(T)}` : null;
      process.stderr.write(humanSummary(s, head, scaling, note));
      if (correction) process.stderr.write(correctionLine(correction, s));
      if (unc) process.stderr.write(unc.humanLines());
      if (kind) process.stderr.write(`report written to ${values.report}\n`);
    }
    debugStats(values.debug === true, t0, fit ? `, ${fit.passes} fit passes` : '', lk);
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
                          [--logits-key K] [--labels-key K] [--input auto|logits|probs|logprobs]
                          [--json] [--bins 15] [--min 0.01] [--max 100] [--backend wasm|js] [--debug]

Fits the temperature T that minimises the mean NLL of softmax(logits / T) (docs/spec.md §10) and
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
  const choice = inputChoice(values);
  const bins = parseBins(values.bins);
  const min = parsePositive('min', values.min) ?? 0.01;
  const max = parsePositive('max', values.max) ?? 100;
  if (min > max) throw new UsageError(`--min ${min} is larger than --max ${max}`);
  const blockBytes = values['block-mb'] !== undefined ? parseIntOption('block-mb', values['block-mb'], 1) << 20 : undefined;
  const json = values.json === true;
  engineOptions(values);
  const src = await NpyShardSource.open(shards, { ...(blockBytes ? { blockBytes } : {}), input: choice === 'auto' ? 'logits' : choice });
  const progress = new Progress(!json);
  src.onProgress = fitProgress(progress);
  let lk: Engine | null = null;
  try {
    const { kind: input, detected } = resolveInput(src, choice, 'calibrate');
    lk = await startEngine(values, src.rows * src.classes * 4);
    const fit = fitTemperatureSource(lk, src, { min, max, nllBefore: false }); // "before" comes from the scoring pass
    src.onProgress = (done, total) => progress.update('scoring', done, total);
    const acc = new ScoreAccumulator(src.classes, { bins, topk: 1, temperature: fit.temperature, altTemperature: 1 });
    // each block read straight into the accumulator's engine buffer, as score reads it
    const engine = lk;
    src.into = (n) => acc.blockTarget(engine, n);
    try {
      acc.addSource(lk, src);
    } finally {
      src.into = null;
    }
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
      input,
      inputDetected: detected,
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
    debugStats(values.debug === true, t0, `, ${fit.passes} passes`, lk);
    return 0;
  } catch (e) {
    throw namingFile(e, src.current ?? shards[0]!.logits, shards.flatMap((s) => [s.logits, s.labels]));
  } finally {
    progress.finish();
    src.close();
    lk?.dispose();
  }
}
