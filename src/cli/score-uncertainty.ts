/**
 * score's hook for issue 24, kept apart from score.ts and merge.ts: `selective` (AURC, E-AURC,
 * AUGRC, risk at coverage; exact within a run from one confidence per row — the score accumulator's
 * own, handed over per block — binned with an errorBound after merge) always, and `conformal` (coverage and set sizes of a model from `logitkit conformal`)
 * with --conformal MODEL.json. Both see the blocks score scores (after --apply, at its temperature).
 */
import type { Engine } from '../engine.js';
import type { BlockSource } from '../io/stream.js';
import { ConformalAccumulator, conformalModelFromJSON, type ConformalModel } from '../metrics/conformal.js';
import { SelectiveAccumulator, type SelectiveSummary } from '../metrics/selective.js';
import { binnedNote, conformalHtml, selectiveHtml } from './report-uncertainty.js';
import { fmt, pct, readTextFile } from './ui.js';

export const scoreUncertaintyArgs = { conformal: { type: 'string' } } as const;

interface Conformal {
  file: string;
  model: ConformalModel;
  acc: ConformalAccumulator;
}

export class ScoreUncertainty {
  readonly selective: SelectiveAccumulator;
  readonly conformal: Conformal | null;
  #wrong = new Uint8Array(0);

  /**
   * `lk`: the run's engine, which makes the exact selective figures (lk.riskCoverageFrom) when asked
   * for them, so it must still be live then. `rows`: the rows the run will score (the held
   * confidences are sized for them at once). `conformalFile`: --conformal, read and checked against
   * `classes` (a runtime error naming the file).
   */
  constructor(lk: Engine, rows: number, classes: number, conformalFile: string | undefined) {
    this.selective = new SelectiveAccumulator({ engine: lk, rows });
    this.conformal = conformalFile === undefined ? null : { file: conformalFile, model: readConformalModelFile(conformalFile, classes), acc: new ConformalAccumulator(classes) };
  }

  /**
   * One block's rows for selective prediction: each row's confidence (max p at the scoring
   * temperature) and hit, as the score accumulator computed them (ScoreAccumulator.onRows), so
   * selective prediction costs no pass of its own.
   */
  addRows(conf: Float32Array, hit: Uint8Array, rows: number): void {
    if (this.#wrong.length < rows) this.#wrong = new Uint8Array(rows);
    const wrong = this.#wrong.subarray(0, rows);
    for (let i = 0; i < rows; i++) wrong[i] = 1 - hit[i]!;
    this.selective.add(conf.subarray(0, rows), wrong);
  }

  /** The source, unchanged, feeding every block to the conformal accumulator as score reads it. */
  observe(lk: Engine, src: BlockSource): BlockSource {
    const self = this;
    if (!self.conformal) return src;
    return {
      rows: src.rows,
      classes: src.classes,
      hasLabels: src.hasLabels,
      ...(src.describeRow ? { describeRow: src.describeRow.bind(src) } : {}),
      ...(src.bootstrapKey ? { bootstrapKey: src.bootstrapKey.bind(src) } : {}),
      *blocks() {
        for (const b of src.blocks()) {
          if (b.labels && self.conformal) self.conformal.acc.add(lk.predictSets(b.x, src.classes, self.conformal.model, { firstRow: b.start }), b.labels);
          yield b;
        }
      },
    };
  }

  json(): Record<string, unknown> {
    return uncertaintyJson(this.selective.summary(), this.selective, this.conformal);
  }

  reportHtml(): string {
    return reportHtml(this.selective.summary(), this.conformal);
  }

  reportMarkdown(): string {
    return reportMarkdown(this.selective.summary(), this.conformal);
  }

  /** score's human output: one line each. */
  humanLines(): string {
    const s = this.selective.summary();
    let text = `  selective: AURC ${fmt(s.aurc)}, E-AURC ${fmt(s.eaurc)}, AUGRC ${fmt(s.augrc)}, risk at 90% coverage ${pct(s.riskAtCoverage['0.9'])}\n`;
    // past SELECTIVE_EXACT_ROWS: where the figures come from, worded as in the report
    if (s.errorBound !== undefined) text += `    ${binnedNote(s)}\n`;
    if (this.conformal) {
      const m = this.conformal.acc.summary(this.conformal.model.alpha);
      text += `  conformal (${this.conformal.model.method}, alpha ${this.conformal.model.alpha}, ${this.conformal.file}): coverage ${pct(m.coverage)}, mean set size ${fmt(m.meanSize, 3)}, empty ${pct(m.emptyRate)}\n`;
    }
    return text;
  }
}

/** --conformal MODEL.json (score, predict): read and checked for `classes`; a problem is a runtime error naming the file. */
export function readConformalModelFile(file: string, classes: number): ConformalModel {
  const text = readTextFile(file);
  try {
    return conformalModelFromJSON(text, classes);
  } catch (e) {
    throw new Error(`--conformal ${file}: ${(e as Error).message}`);
  }
}

function uncertaintyJson(s: SelectiveSummary, acc: SelectiveAccumulator, c: { file: string; model: { alpha: number; method: string }; acc: ConformalAccumulator } | null): Record<string, unknown> {
  const { curve: _, ...figures } = s;
  const out: Record<string, unknown> = { selective: { ...figures, stats: acc.toStats() } };
  if (c) out.conformal = { model: c.file, method: c.model.method, alpha: c.model.alpha, ...c.acc.summary(c.model.alpha), stats: c.acc.stats };
  return out;
}

function reportHtml(s: SelectiveSummary, c: Conformal | { file: string; model: { alpha: number }; acc: ConformalAccumulator } | null): string {
  return selectiveHtml(s) + (c ? conformalHtml({ ...c.acc.summary(c.model.alpha), model: c.file }) : '');
}

function reportMarkdown(s: SelectiveSummary, c: { file: string; model: { alpha: number }; acc: ConformalAccumulator } | null): string {
  const lines = ['', '## Selective prediction', '', '| figure | value |', '|---|---:|', `| AURC | ${fmt(s.aurc)} |`, `| E-AURC | ${fmt(s.eaurc)} |`, `| AUGRC | ${fmt(s.augrc)} |`];
  for (const [k, v] of Object.entries(s.riskAtCoverage)) lines.push(`| risk at ${pct(Number(k), 0)} coverage | ${pct(v)} |`);
  if (s.errorBound !== undefined) lines.push('', binnedNote(s));
  if (c) {
    const m = c.acc.summary(c.model.alpha);
    lines.push('', '## Conformal prediction sets', '', `Model ${c.file}: coverage ${pct(m.coverage)}, mean set size ${fmt(m.meanSize, 3)}, empty sets ${pct(m.emptyRate)}, class coverage gap ${pct(m.covGap)}.`, '');
    lines.push('| set size | rows | coverage |', '|---|---:|---:|', ...m.sizeStratified.map((b) => `| ${b.sizes} | ${b.rows} | ${b.coverage === null ? '—' : pct(b.coverage)} |`));
  }
  return lines.join('\n') + '\n';
}

/**
 * merge's side: the shards' `selective` and `conformal` statistics added up. Selective figures come
 * out binned (with errorBound); conformal counts add exactly. A part missing from any shard is left out.
 */
export function mergeUncertainty(objs: { file: string; obj: Record<string, unknown> }[], classes: number): { json: Record<string, unknown>; html: string; markdown: string } | null {
  const sel = objs.map((p) => (p.obj.selective as { stats?: unknown } | undefined)?.stats);
  if (sel.some((s) => s === undefined)) return null;
  const acc = SelectiveAccumulator.fromStats(sel[0], objs[0]!.file);
  objs.slice(1).forEach((p, i) => acc.merge(SelectiveAccumulator.fromStats(sel[i + 1], p.file)));
  const confs = objs.map((p) => p.obj.conformal as { model?: string; method?: string; alpha?: number; stats?: unknown } | undefined);
  let c: { file: string; model: { alpha: number; method: string }; acc: ConformalAccumulator } | null = null;
  const first = confs[0];
  if (first && confs.every((k) => k && k.model === first.model && k.alpha === first.alpha && k.method === first.method)) {
    const cacc = ConformalAccumulator.fromStats(first.stats, classes, objs[0]!.file);
    confs.slice(1).forEach((k, i) => cacc.merge(ConformalAccumulator.fromStats(k!.stats, classes, objs[i + 1]!.file)));
    c = { file: first.model!, model: { alpha: first.alpha!, method: first.method! }, acc: cacc };
  }
  const s = acc.summary();
  return { json: uncertaintyJson(s, acc, c), html: reportHtml(s, c), markdown: reportMarkdown(s, c) };
}
