/**
 * `score --apply MAP.json`: loading a map written by `logitkit fit` / `logitkit shift`, scoring the
 * corrected logits block by block, and the before/after figures of the "correction" output.
 */
import type { Engine } from '../engine.js';
import type { BlockSource } from '../io/stream.js';
import { calibrationMapFromJSON, type CalibrationMap } from '../metrics/recalibration.js';
import type { ScoreSummary } from '../metrics/summary.js';
import { fmt, pct, readTextFile } from './ui.js';

export const applyMapArgs = { apply: { type: 'string' } } as const;

export interface Correction {
  file: string;
  /** The map file as parsed (keeps extra keys such as the priors of a label-shift map). */
  json: Record<string, unknown>;
  map: CalibrationMap;
  /** Figures of the raw logits. */
  before: ScoreSummary;
}

/** Reads and checks a map for `classes`; any problem is a runtime error naming the file (exit 1). */
export function loadMapFile(file: string, classes: number): { json: Record<string, unknown>; map: CalibrationMap } {
  const text = readTextFile(file);
  try {
    const json = JSON.parse(text) as Record<string, unknown>;
    return { json, map: calibrationMapFromJSON(json, classes) };
  } catch (e) {
    const msg = e instanceof SyntaxError ? 'not valid JSON (expected a map written by logitkit fit or shift)' : (e as Error).message;
    throw new Error(`--apply ${file}: ${msg}`);
  }
}

/** The source with every block's logits replaced by the map's output. */
export function mappedSource(lk: Engine, src: BlockSource, map: CalibrationMap): BlockSource {
  let out = new Float32Array(0);
  const C = src.classes;
  return {
    rows: src.rows,
    classes: C,
    hasLabels: src.hasLabels,
    ...(src.describeRow ? { describeRow: src.describeRow.bind(src) } : {}),
    ...(src.bootstrapKey ? { bootstrapKey: src.bootstrapKey.bind(src) } : {}),
    *blocks() {
      for (const b of src.blocks()) {
        const n = b.rows * C;
        if (out.length < n) out = new Float32Array(n);
        // The source's work is on the logits as read (a fingerprint): done before the map's call, which
        // may grow engine memory under b.x, and not handed on with the mapped x.
        b.work?.(b.x);
        // A matrix map reads the whole row for every output, so it never writes in place.
        const x = lk.applyCalibration(b.x, C, map, { out: out.subarray(0, n) });
        yield { ...b, x, probs: null, work: null }; // labels, groups and position as read; the map changed the probabilities
      }
    },
  };
}

export function figures(s: ScoreSummary): { nll: number; accuracy: number; balancedAccuracy: number; ece: number } {
  return { nll: s.nll, accuracy: s.accuracy, balancedAccuracy: s.classification.balancedAccuracy, ece: s.ece };
}

export function correctionJson(c: Correction, after: ScoreSummary): Record<string, unknown> {
  return { map: c.file, method: c.map.method, classes: c.map.classes, before: figures(c.before), after: figures(after) };
}

export function correctionLine(c: Correction, after: ScoreSummary): string {
  const b = figures(c.before);
  const a = figures(after);
  return (
    `  correction (${c.map.method} map from ${c.file}): NLL ${fmt(b.nll)} → ${fmt(a.nll)}, accuracy ${pct(b.accuracy)} → ${pct(a.accuracy)}, ` +
    `balanced accuracy ${pct(b.balancedAccuracy)} → ${pct(a.balancedAccuracy)}, ECE ${pct(b.ece)} → ${pct(a.ece)}\n`
  );
}
