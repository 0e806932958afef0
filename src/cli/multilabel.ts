/**
 * `logitkit score --multilabel`: logits (N, C), one sigmoid per label, against targets (N, C) in {0, 1}
 * (metrics/multilabel.ts), streamed in row blocks from .npy / .npz / .safetensors files, and the merge
 * of such runs' JSON. Targets may be stored as bool, uint8, any integer or float type holding 0 and 1;
 * any other value is an error naming its file, row and label.
 */
import { ExtractedMembers, containerOf, openArray, pickKey, prepareArray } from '../io/arrays.js';
import { blockBuffer, type Shard } from '../io/npy-source.js';
import { NpyError, type NpyFile } from '../io/npy.js';
import { checkTargets, firstBadProb, MultilabelAccumulator, type MultilabelReport } from '../metrics/multilabel.js';
import { debugStats, startEngine } from './args.js';
import { fingerprintOf, multilabelFingerprint } from './fingerprint.js';
import { inputKind, readClassNames } from './inputs.js';
import { stdoutJson } from './output.js';
import { renderMultilabelHtml, renderMultilabelMarkdown } from './report.js';
import { fmt, pct, Progress, table, UsageError, writeFileAtomic } from './ui.js';

/** The flags of score that have no meaning for a multi-label model (each a usage error with --multilabel). */
const NOT_FOR_MULTILABEL = ['temperature', 'fit-temperature', 'apply', 'groups', 'intervals', 'topk', 'confusion', 'bins'] as const;

export function checkMultilabelFlags(values: Record<string, unknown>): void {
  for (const f of NOT_FOR_MULTILABEL) {
    if (values[f] !== undefined) throw new UsageError(`--${f}: not for --multilabel (per-label BCE, AUROC and F1 at p >= 0.5 take no ${f})`);
  }
}

const FLOAT = new Set(['f2', 'f4', 'f8', 'bf16']);
interface OpenShard {
  logits: NpyFile;
  targets: NpyFile;
}

/** Opens each shard's logits and targets (same shape), inflating deflated .npz members first. */
async function openShards(shards: readonly Shard[], extracted: ExtractedMembers): Promise<OpenShard[]> {
  const out: OpenShard[] = [];
  try {
    for (const s of shards) {
      const logitsKey = containerOf(s.logits) === 'npy' ? s.logitsKey : pickKey(s.logits, 'logits', s.logitsKey);
      const tPath = s.labels ?? s.logits;
      const sameFile = tPath === s.logits && s.labelsKey === undefined;
      const targetsKey = containerOf(tPath) === 'npy' ? s.labelsKey : pickKey(tPath, 'labels', s.labelsKey, sameFile ? logitsKey : undefined);
      if (logitsKey !== undefined) await prepareArray(s.logits, logitsKey, extracted);
      if (targetsKey !== undefined) await prepareArray(tPath, targetsKey, extracted);
      const logits = openArray(s.logits, 'logits', logitsKey, extracted);
      let targets: NpyFile;
      try {
        targets = openArray(tPath, 'any', targetsKey, extracted);
      } catch (e) {
        logits.close();
        throw e;
      }
      out.push({ logits, targets });
      const ls = logits.header.shape;
      const ts = targets.header.shape;
      if (ls.length !== 2) throw new NpyError(logits.path, `--multilabel needs 2-D (rows, labels) logits; got shape (${ls.join(', ')}) (one logit per row is a binary model: score it without --multilabel)`);
      if (ts.length !== 2 || ts[0] !== ls[0] || ts[1] !== ls[1]) {
        throw new NpyError(targets.path, `multi-label targets must have the logits' shape (${ls.join(', ')}); got (${ts.join(', ')})`);
      }
      if (logits.cols !== out[0].logits.cols) throw new NpyError(logits.path, `has ${logits.cols} labels but ${out[0].logits.path} has ${out[0].logits.cols}`);
    }
  } catch (e) {
    for (const o of out) {
      o.logits.close();
      o.targets.close();
    }
    throw e;
  }
  return out;
}

export async function multilabelScore(
  values: { json?: boolean; 'no-stats'?: boolean; debug?: boolean; report?: string; 'class-names'?: string; 'block-mb'?: string; backend?: string; threads?: string; input?: string; threshold?: number },
  shards: Shard[],
  kind: 'html' | 'md' | null,
  blockBytes: number | undefined,
): Promise<number> {
  const t0 = Date.now();
  const json = values.json === true;
  // probs / logprobs: per-label p (or ln p) of the label being on, scored from p (addProbBlock)
  const input = inputKind(values);
  const extracted = new ExtractedMembers();
  const progress = new Progress(!json);
  let opened: OpenShard[] = [];
  let lk: Awaited<ReturnType<typeof startEngine>> | null = null;
  try {
    opened = await openShards(shards, extracted);
    const C = opened[0].logits.cols;
    const total = opened.reduce((a, o) => a + o.logits.rows, 0);
    if (total === 0) throw new NpyError(opened[0].logits.path, 'has 0 rows: there is nothing to compute');
    const names = values['class-names'] !== undefined ? readClassNames(values['class-names'], C) : null;
    lk = await startEngine(values, total * C * 4);
    const acc = new MultilabelAccumulator(C, { threshold: values.threshold ?? 0.5 });
    const blockRows = Math.max(1, Math.floor((blockBytes ?? 4 << 20) / (4 * C)));
    const xBuf = blockBuffer(blockRows * C, opened[0].logits.path);
    const fBuf = new Float32Array(blockRows * C);
    const iBuf = new Int32Array(blockRows * C);
    const tBuf = new Uint8Array(blockRows * C);
    const fingerprints: string[] = [];
    let done = 0;
    for (const o of opened) {
      // the shard's fingerprint (fingerprint.ts, version 2): its hashers are made here and digested after
      // its last block, never between a block's read and its hashing (an allocation may grow the memory)
      const hx = lk.hasher();
      const ht = lk.hasher();
      const float = FLOAT.has(o.targets.header.dtype);
      for (let r = 0; r < o.logits.rows; r += blockRows) {
        const n = Math.min(blockRows, o.logits.rows - r);
        const x = o.logits.readFloat32(r, n, xBuf);
        const raw = float ? o.targets.readFloat32(r, n, fBuf) : o.targets.readInt32(r, n, iBuf);
        const t = checkTargets(raw, C, (i) => `row ${r + Math.floor(i / C)}, label ${i % C} of ${o.targets.path}`, tBuf);
        hx.update(x);
        // the 0/1 targets as int32 (raw, which iBuf may hold, is not read again)
        const ti = iBuf.subarray(0, t.length);
        for (let i = 0; i < t.length; i++) ti[i] = t[i]!;
        ht.update(ti);
        if (input === 'logits') acc.addBlock(lk, x, t);
        else {
          const log = input === 'logprobs';
          const bad = firstBadProb(x, log);
          if (bad >= 0) {
            const where = `row ${r + Math.floor(bad / C)}, label ${bad % C}`;
            throw new NpyError(o.logits.path, `${where}: ${log ? `log-probability ${x[bad]} is not <= 0` : `probability ${x[bad]} is not in [0, 1]`} (--input ${input})`);
          }
          acc.addProbBlock(x, t, { log });
        }
        done += n;
        progress.update('scoring', done, total);
      }
      fingerprints.push(multilabelFingerprint(o.logits.rows, C, input, hx.digest(), ht.digest()));
    }
    progress.finish();
    const report = acc.report(names);
    const inputs = shards.map((s, i) => ({ ...s, fingerprint: fingerprints[i] }));
    const extra = { backend: lk.backend, fingerprint: fingerprintOf(fingerprints), inputs };
    if (kind) writeMultilabelReport(values.report!, kind, report, { inputs: shards, backend: lk.backend });
    if (json) await stdoutJson(multilabelJson(report, extra, acc), { stats: values['no-stats'] !== true });
    else {
      process.stderr.write(multilabelText(report, `logitkit score --multilabel: ${report.rows.toLocaleString('en-US')} rows × ${C} labels (${lk.backend} backend${shards.length > 1 ? `, ${shards.length} shards` : ''})`));
      if (kind) process.stderr.write(`report written to ${values.report}\n`);
    }
    debugStats(values.debug === true, t0, '', lk);
    return 0;
  } finally {
    progress.finish();
    for (const o of opened) {
      o.logits.close();
      o.targets.close();
    }
    extracted.dispose();
    lk?.dispose();
  }
}

/** The JSON of score --multilabel / merge: `multilabel.{perLabel, micro, macro, …}` and the stats merge adds up. */
export function multilabelJson(r: MultilabelReport, extra: Record<string, unknown>, acc: MultilabelAccumulator): Record<string, unknown> {
  const { labelNames, ...rest } = r;
  return {
    rows: r.rows,
    labels: r.labels,
    ...(labelNames ? { classNames: labelNames } : {}),
    threshold: acc.threshold,
    ...extra,
    multilabel: rest,
    stats: acc.toStats(),
  };
}

const labelName = (r: MultilabelReport, k: number) => (r.labelNames ? `${k} ${r.labelNames[k]}` : String(k));

/** Labels shown in tables: all up to 20, else the 20 with the lowest F1. */
export function shownLabels(r: MultilabelReport): { list: MultilabelReport['perLabel']; note: string } {
  if (r.labels <= 20) return { list: r.perLabel, note: '' };
  const list = [...r.perLabel].sort((a, b) => a.f1 - b.f1 || a.label - b.label).slice(0, 20);
  return { list, note: `the 20 labels with the lowest F1 of ${r.labels}` };
}

export function multilabelText(r: MultilabelReport, head: string): string {
  const lines = [head];
  const au = (v: number | null) => (v === null ? '-' : fmt(v, 4));
  lines.push(
    `  mean BCE ${fmt(r.macro.bce)}  subset accuracy ${pct(r.subsetAccuracy)}  Hamming loss ${pct(r.hammingLoss)}  (predicted positive: ${r.threshold})`,
    `  micro: precision ${pct(r.micro.precision)}  recall ${pct(r.micro.recall)}  F1 ${fmt(r.micro.f1)}  AUROC ${au(r.micro.auroc)}  AP ${au(r.micro.averagePrecision)}`,
    `  macro: precision ${pct(r.macro.precision)}  recall ${pct(r.macro.recall)}  F1 ${fmt(r.macro.f1)}  AUROC ${au(r.macro.auroc)}  AP ${au(r.macro.averagePrecision)}`,
  );
  const { list, note } = shownLabels(r);
  lines.push('', note ? `per label (${note}):` : 'per label:');
  const body = list.map((e) => [labelName(r, e.label), String(e.support), String(e.predicted), fmt(e.bce), au(e.auroc), au(e.averagePrecision), pct(e.precision, 1), pct(e.recall, 1), fmt(e.f1, 3)]);
  lines.push(
    ...table(['label', 'support', 'predicted', 'BCE', 'AUROC', 'AP', 'precision', 'recall', 'F1'], body)
      .split('\n')
      .map((l) => `  ${l}`.trimEnd()),
  );
  const list12 = (ks: number[]) => (ks.length <= 12 ? ks.join(', ') : `${ks.slice(0, 12).join(', ')} and ${ks.length - 12} more`);
  if (r.zeroDivision.recall.length) lines.push(`  note: no positive rows, so recall and F1 are 0 (and AUROC undefined), for label${r.zeroDivision.recall.length === 1 ? '' : 's'} ${list12(r.zeroDivision.recall)}`);
  if (r.zeroDivision.precision.length) lines.push(`  note: precision is 0/0, reported as 0, for label${r.zeroDivision.precision.length === 1 ? '' : 's'} never predicted: ${list12(r.zeroDivision.precision)}`);
  if (r.nanRows > 0) lines.push(`  note: ${r.nanRows} row${r.nanRows === 1 ? ' has' : 's have'} a NaN logit, so BCE and AUROC are NaN`);
  return lines.join('\n') + '\n';
}

export function writeMultilabelReport(path: string, kind: 'html' | 'md', r: MultilabelReport, meta: { inputs: Shard[]; backend: string; merged?: string[] }): void {
  writeFileAtomic(path, kind === 'html' ? renderMultilabelHtml(r, meta) : renderMultilabelMarkdown(r, meta));
}

/** merge of score --multilabel JSON outputs (their stats hold integer counts and float64 BCE sums). */
export async function mergeMultilabel(
  parsed: { file: string; obj: { stats?: unknown; inputs?: unknown[]; classNames?: unknown } }[],
  names: (labels: number) => string[] | null,
  values: { json?: boolean; report?: string },
  kind: 'html' | 'md' | null,
  positionals: string[],
): Promise<number> {
  const accs = parsed.map((p) => MultilabelAccumulator.fromStats(p.obj.stats, p.file));
  const acc = accs[0];
  for (let i = 1; i < accs.length; i++) {
    if (accs[i].labels !== acc.labels) throw new Error(`${parsed[i].file}: labels = ${accs[i].labels} but ${parsed[0].file} has ${acc.labels}; shards must have the same labels`);
    if (accs[i].threshold !== acc.threshold) {
      throw new Error(`${parsed[i].file}: scored with --threshold ${accs[i].threshold} but ${parsed[0].file} with ${acc.threshold}; shards must be scored at one threshold`);
    }
    acc.merge(accs[i]);
  }
  const report = acc.report(names(acc.labels));
  const inputs = parsed.flatMap((p) => (Array.isArray(p.obj.inputs) ? p.obj.inputs : [p.file]));
  const fps = inputs.map((i) => (i as { fingerprint?: unknown })?.fingerprint);
  const extra: Record<string, unknown> = {};
  if (fps.every((f): f is string => typeof f === 'string')) extra.fingerprint = fingerprintOf(fps);
  extra.inputs = inputs;
  extra.merged = positionals;
  if (kind) writeMultilabelReport(values.report!, kind, report, { inputs: inputs as Shard[], backend: 'merged', merged: positionals });
  if (values.json) await stdoutJson(multilabelJson(report, extra, acc));
  else {
    process.stderr.write(multilabelText(report, `logitkit merge --multilabel: ${report.rows.toLocaleString('en-US')} rows × ${report.labels} labels from ${inputs.length} shard(s) in ${positionals.length} file(s)`));
    if (kind) process.stderr.write(`report written to ${values.report}\n`);
  }
  return 0;
}
