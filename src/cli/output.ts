/**
 * What score and merge print: the JSON object (DESIGN.md "The command line" keys, plus the `stats`
 * that merge adds up), the human summary on stderr, and the HTML/Markdown report file.
 */
import { once } from 'node:events';
import { classLabel, type ScoreStats, type ScoreSummary } from '../metrics/summary.js';
import { renderHtmlReport, renderMarkdownReport, type ReportInput } from './report.js';
import { fmt, pct, table, writeFileAtomic } from './ui.js';

/**
 * The score JSON as people read it: indented, except `stats` (the sums merge reads: histograms,
 * bootstrap replicates…), which stays on one line instead of one line per number.
 */
export function formatJson(o: Record<string, unknown>, opts: { stats?: boolean } = {}): string {
  const parts: string[] = [];
  writeJson(o, (s) => parts.push(s), opts);
  return parts.join('');
}

/**
 * formatJson's text, handed to `write` in pieces: at 1000 classes `stats` holds a base64 string of
 * tens of MB, and building the whole text first (then its UTF-8 copy for stdout) held three more copies
 * of it at the end of the run — the peak of `score`'s memory.
 */
export function writeJson(o: Record<string, unknown>, write: (s: string) => void, opts: { stats?: boolean } = {}): void {
  const ascii = new TextDecoder();
  for (const piece of jsonPieces(o, opts)) write(typeof piece === 'string' ? piece : ascii.decode(piece));
}

/**
 * formatJson's text in pieces, made as they are asked for: strings, and the ASCII bytes of streamed
 * strings (see StreamedString; valid until the next piece is asked for).
 */
function* jsonPieces(o: Record<string, unknown>, opts: { stats?: boolean }): Generator<string | Uint8Array, void, undefined> {
  const { stats: full, ...figures } = o;
  // --no-stats: the figures only (at 1000 classes the stats are most of a 15 MB file). The flag left
  // in their place is what merge reads to refuse the file with a reason instead of "no stats".
  const stats = opts.stats === false ? undefined : full;
  const rest = opts.stats === false && full !== undefined ? { ...figures, statsOmitted: true } : figures;
  const head = JSON.stringify(rest, null, 2);
  if (stats === undefined) {
    yield head + '\n';
    return;
  }
  yield `${head.slice(0, -2)},\n  "stats": `;
  yield* compactPieces(stats);
  yield '\n}\n';
}

/** Strings longer than this are written in slices of it, arrays of more elements in runs of ARRAY_RUN. */
const SLICE = 1 << 20;
const ARRAY_RUN = 1 << 14;

/**
 * A string value that writes itself in pieces, as it is made: `jsonAsciiPieces` gives its contents as
 * ASCII bytes that need no JSON escapes (so they are their own UTF-8 and JSON text), without the
 * quotes, each array valid until the next is asked for; `toJSON` gives the whole string, for
 * JSON.stringify. (stats.auroc.bins: src/metrics/auroc.ts AurocBinsText, encoded as it is written.)
 */
interface StreamedString {
  toJSON(): string;
  jsonAsciiPieces(): Iterable<Uint8Array>;
}

function isStreamedString(v: unknown): v is StreamedString {
  return v !== null && typeof v === 'object' && typeof (v as StreamedString).jsonAsciiPieces === 'function' && typeof (v as StreamedString).toJSON === 'function';
}

/**
 * JSON.stringify(v)'s text in pieces: plain objects key by key, long strings in slices, long arrays in
 * runs of elements, streamed strings as they are made.
 */
function* compactPieces(v: unknown): Generator<string | Uint8Array, void, undefined> {
  if (isStreamedString(v)) {
    yield '"';
    yield* v.jsonAsciiPieces();
    yield '"';
    return;
  }
  if (typeof v === 'string' && v.length > SLICE) {
    yield '"';
    for (let i = 0; i < v.length; ) {
      let end = Math.min(v.length, i + SLICE);
      // never split a surrogate pair: JSON.stringify escapes a lone half
      const c = v.charCodeAt(end - 1);
      if (end < v.length && c >= 0xd800 && c <= 0xdbff) end++;
      yield JSON.stringify(v.slice(i, end)).slice(1, -1);
      i = end;
    }
    yield '"';
    return;
  }
  if (Array.isArray(v) && v.length > ARRAY_RUN && typeof (v as { toJSON?: unknown }).toJSON !== 'function') {
    // runs through JSON.stringify, which writes undefined and functions as null inside an array, as it does here
    yield '[';
    for (let i = 0; i < v.length; i += ARRAY_RUN) yield (i > 0 ? ',' : '') + JSON.stringify(v.slice(i, i + ARRAY_RUN)).slice(1, -1);
    yield ']';
    return;
  }
  const plain = v !== null && typeof v === 'object' && !Array.isArray(v) && [Object.prototype, null].includes(Object.getPrototypeOf(v)) && typeof (v as { toJSON?: unknown }).toJSON !== 'function';
  if (!plain) {
    yield JSON.stringify(v) ?? 'null';
    return;
  }
  yield '{';
  let first = true;
  for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
    if (x === undefined || typeof x === 'function' || typeof x === 'symbol') continue; // as JSON.stringify skips them
    yield `${first ? '' : ','}${JSON.stringify(k)}:`;
    first = false;
    yield* compactPieces(x);
  }
  yield '}';
}

/**
 * Writes formatJson's text to stdout through one buffer of 1 MiB, and waits for the stream to drain
 * when it queues a write (a pipe whose reader is slower): at 1000 classes a fresh string and Buffer
 * per piece left ~30 MiB of garbage at the end of score, and a pipe queued the whole 28 MB text.
 * Streamed strings (the AUROC bins) are copied in as the bytes they are made in. Resolves once the
 * last piece is handed to stdout; the statistics are read as they are written, so the caller keeps
 * the accumulator (and its engine) until then.
 */
export async function stdoutJson(o: Record<string, unknown>, opts: { stats?: boolean } = {}): Promise<void> {
  const out = process.stdout;
  let buf = Buffer.allocUnsafe(SLICE);
  let n = 0;
  const flush = async () => {
    if (n === 0) return;
    const queued = !out.write(buf.subarray(0, n));
    n = 0;
    if (queued) await once(out, 'drain'); // rejects on the stream's 'error'
    // files, terminals and /dev/null write at once; a stream still holding the buffer keeps it
    if (out.writableLength > 0) buf = Buffer.allocUnsafe(SLICE);
  };
  for (const piece of jsonPieces(o, opts)) {
    if (typeof piece === 'string') {
      // at most 3 UTF-8 bytes per UTF-16 unit
      if (3 * piece.length > SLICE - n) await flush();
      if (3 * piece.length > SLICE) {
        if (!out.write(piece)) await once(out, 'drain');
      } else n += buf.write(piece, n);
      continue;
    }
    for (let i = 0; i < piece.length; ) {
      if (n === SLICE) await flush();
      const m = Math.min(piece.length - i, SLICE - n);
      buf.set(piece.subarray(i, i + m), n);
      n += m;
      i += m;
    }
  }
  await flush();
}

/** Above this many classes the K × K confusion matrix is left out of the JSON unless --confusion asks for it. */
export const CONFUSION_JSON_MAX = 256;

/** `stats` undefined: left out (--no-stats), with `statsOmitted` in its place for merge to read. */
export function summaryJson(s: ScoreSummary, extra: Record<string, unknown>, stats: ScoreStats | undefined, opts: { confusion?: boolean } = {}): Record<string, unknown> {
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
    ...(s.binary ? { threshold: s.binary.threshold } : {}),
    ...extra,
    reliability: s.reliability.bins,
    perClass: s.perClass,
    calibration: s.calibration,
    classification: {
      perClass: c.perClass,
      macro: c.macro,
      weighted: c.weighted,
      balancedAccuracy: c.balancedAccuracy,
      mcc: c.mcc,
      kappa: c.kappa,
      ...(s.averagePrecision ? { averagePrecision: s.averagePrecision } : {}),
      zeroDivision: c.zeroDivision,
    },
    ...(s.auroc ? { auroc: s.auroc } : {}),
    ...(s.intervals ? { intervals: s.intervals } : {}),
    ...(s.binary ? { binary: { bce: s.binary.bce, brier: s.binary.brier, accuracy: s.binary.accuracy, auroc: s.binary.auroc, averagePrecision: s.binary.averagePrecision, ece: s.binary.ece, mce: s.binary.mce, reliability: s.binary.reliability.bins } } : {}),
    ...(s.topLabel ? { topLabel: { ece: s.topLabel.ece, mce: s.topLabel.mce, reliability: s.topLabel.reliability.bins } } : {}),
    ...(s.confusion && (s.classes <= CONFUSION_JSON_MAX || opts.confusion) ? { confusion: s.confusion.matrix() } : {}),
    ...(s.slices ? { groups: s.slices.groups, groupGaps: s.slices.groupGaps, ...(s.slices.fairness ? { fairness: s.slices.fairness } : {}) } : {}),
    ...(stats ? { stats } : { statsOmitted: true }),
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
    const f = sl.fairness;
    out.push(`  demographic parity difference ${fmt(f.demographicParityDifference)}  equalized odds difference ${fmt(f.equalizedOddsDifference)} (as Fairlearn)`);
    const none = (ids: number[], what: string, rate: string) =>
      ids.length ? [`  note: group${ids.length === 1 ? '' : 's'} ${ids.join(', ')} ha${ids.length === 1 ? 's' : 've'} no ${what}; ${rate} counted as 0 there, as Fairlearn does`] : [];
    out.push(...none(f.groupsWithoutPositives, 'positives (y = 1)', 'TPR'), ...none(f.groupsWithoutNegatives, 'negatives (y = 0)', 'FPR'));
  }
  return out;
}

function listClasses(ks: number[]): string {
  return ks.length <= 12 ? ks.join(', ') : `${ks.slice(0, 12).join(', ')} and ${ks.length - 12} more`;
}

export function humanSummary(s: ScoreSummary, head: string, scaling: Record<string, number> | null, temperatureNote: string | null): string {
  const lines: string[] = [head];
  const rows: string[][] = [
    ['NLL (mean cross-entropy)', fmt(s.nll), 'perplexity', fmt(s.perplexity)],
    ['accuracy', pct(s.accuracy), `top-${s.topk.k} accuracy`, pct(s.topk.accuracy)],
    [`ECE (${s.bins} bins)`, pct(s.ece), 'MCE', pct(s.mce)],
    ['Brier score', fmt(s.brier), 'mean entropy', fmt(s.meanEntropy)],
    ['macro F1', fmt(s.classification.macro.f1), 'balanced accuracy', pct(s.classification.balancedAccuracy)],
    ['Matthews correlation', fmt(s.classification.mcc), "Cohen's kappa", fmt(s.classification.kappa)],
    ...(s.averagePrecision ? [['average precision (macro)', fmt(s.averagePrecision.macro, 4), 'its error bound', fmt(s.averagePrecision.errorBound, 2)]] : []),
  ];
  const w0 = Math.max(...rows.map((r) => r[0].length));
  const w1 = Math.max(...rows.map((r) => r[1].length));
  const w2 = Math.max(...rows.map((r) => r[2].length));
  for (const r of rows) lines.push(`  ${r[0].padEnd(w0)}  ${r[1].padStart(w1)}    ${r[2].padEnd(w2)}  ${r[3]}`);
  const cal = s.calibration;
  if (s.binary) {
    const b = s.binary;
    lines.push(`  binary (sigmoid, p = σ(z)): BCE ${fmt(b.bce)}  Brier of p ${fmt(b.brier)}  accuracy at p > ${b.threshold} ${pct(b.accuracy)}  AUROC ${fmt(b.auroc, 4)}  AP ${fmt(b.averagePrecision, 4)}  ECE of p ${pct(b.ece)}`);
    if (s.topLabel) lines.push(`  ECE and MCE above are of p(y = 1) against the label; top-label (max(p, 1 − p)) ECE ${pct(s.topLabel.ece)}, MCE ${pct(s.topLabel.mce)}`);
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

export function writeReport(path: string, kind: 'html' | 'md', input: ReportInput): void {
  writeFileAtomic(path, kind === 'html' ? renderHtmlReport(input) : renderMarkdownReport(input));
}
