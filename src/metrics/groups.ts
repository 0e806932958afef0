/**
 * Slices: the scoring figures per group (data source, demographic group, device…), the gaps between
 * groups, and for binary tasks the two fairness differences Fairlearn defines. Every figure is a
 * ratio of per-group sums, so groups stream and merge exactly like the whole-set figures.
 *
 * Per group g: rows, accuracy, mean NLL, ECE (the same bins as the whole set), and the rate at which
 * each class is predicted. Gaps, over the groups: `gap` = max − min, and the worst group against the
 * overall figure (lowest accuracy, highest NLL or ECE).
 *
 * Binary tasks (2 classes; class 1 is the positive one), as fairlearn.metrics:
 *   demographicParityDifference = max_g P(ŷ = 1 | g) − min_g P(ŷ = 1 | g)
 *   equalizedOddsDifference     = max(TPR gap, FPR gap), TPR_g = P(ŷ = 1 | y = 1, g), FPR_g = P(ŷ = 1 | y = 0, g),
 *   each gap the max − min over all groups (Fairlearn's 'between_groups'). Fairlearn reads the rates
 *   off sklearn's confusion matrix normalised by true label, where an empty row is 0: a group without
 *   positives counts with TPR 0, one without negatives with FPR 0. Those groups are listed
 *   (groupsWithoutPositives / groupsWithoutNegatives), since they can make the gap 1 by themselves;
 *   per group, tpr / fpr stay null there (the rate is undefined).
 *
 * Group ids are integers in [0, 2^31); at most MAX_GROUPS distinct ones (a larger count is almost
 * always a wrong column, and each group holds a row of sums per class).
 */
import { LogitkitError } from '../errors.js';
import { ReliabilityBins } from './calibration.js';

export const MAX_GROUPS = 10_000;

export class GroupSums {
  rows = 0;
  nllSum = 0;
  correct = 0;
  readonly reliability: ReliabilityBins;
  readonly predicted: Float64Array;
  /** Binary tasks: [y * 2 + ŷ] counts. */
  readonly binary: Float64Array | null;

  constructor(classes: number, bins: number) {
    this.reliability = new ReliabilityBins(bins);
    this.predicted = new Float64Array(classes);
    this.binary = classes === 2 ? new Float64Array(4) : null;
  }

  merge(o: GroupSums): void {
    this.rows += o.rows;
    this.nllSum += o.nllSum;
    this.correct += o.correct;
    this.reliability.merge(o.reliability);
    for (let c = 0; c < this.predicted.length; c++) this.predicted[c] += o.predicted[c];
    if (this.binary && o.binary) for (let i = 0; i < 4; i++) this.binary[i] += o.binary[i];
  }
}

export interface GroupFigures {
  rows: number;
  accuracy: number;
  nll: number;
  ece: number;
  /** predicted[k] / rows per class k. */
  predictedRates: number[];
  /** Binary tasks: P(ŷ = 1), TPR and FPR in the group (null where undefined). */
  selectionRate?: number;
  tpr?: number | null;
  fpr?: number | null;
}

export interface Gap {
  /** max − min over the groups. */
  gap: number;
  /** The worst group (lowest accuracy; highest NLL or ECE) and how far it is from the overall figure. */
  worstGroup: number;
  worstVsOverall: number;
}

export interface GroupReport {
  groups: Record<string, GroupFigures>;
  groupGaps: { accuracy: Gap; nll: Gap; ece: Gap };
  fairness?: {
    demographicParityDifference: number;
    equalizedOddsDifference: number;
    /** Groups with no y = 1 row (their TPR counts as 0 in equalizedOddsDifference, as in Fairlearn). */
    groupsWithoutPositives: number[];
    /** Groups with no y = 0 row (their FPR counts as 0). */
    groupsWithoutNegatives: number[];
  };
}

export class GroupAccumulator {
  readonly classes: number;
  readonly bins: number;
  readonly byId = new Map<number, GroupSums>();

  constructor(classes: number, bins: number) {
    this.classes = classes;
    this.bins = bins;
  }

  /** The sums of group `id` (checked), created on first use. */
  of(id: number, where: () => string): GroupSums {
    let g = this.byId.get(id);
    if (g) return g;
    if (!(Number.isInteger(id) && id >= 0)) throw new LogitkitError('invalid_argument', `group ${id} at ${where()}, expected an integer ≥ 0`, 'groups');
    if (this.byId.size >= MAX_GROUPS) throw new LogitkitError('invalid_argument', `more than ${MAX_GROUPS} distinct groups (at ${where()}); is this the right column?`, 'groups');
    g = new GroupSums(this.classes, this.bins);
    this.byId.set(id, g);
    return g;
  }

  /** Adds one row's figures to its group. */
  /** `top`: the argmax whose confidence `conf` is, when the decision `pred` differs (binary --threshold). */
  add(id: number, nll: number, conf: number, y: number, pred: number, where: () => string, top = pred): void {
    const g = this.of(id, where);
    const hit = pred === y ? 1 : 0;
    g.rows++;
    g.nllSum += nll;
    g.correct += hit;
    g.reliability.add(conf, top === y ? 1 : 0);
    g.predicted[pred] += 1;
    if (g.binary) g.binary[y * 2 + pred] += 1;
  }

  merge(o: GroupAccumulator): void {
    for (const [id, sums] of o.byId) this.of(id, () => 'merge').merge(sums);
  }

  report(overall: { accuracy: number; nll: number; ece: number }): GroupReport {
    const ids = [...this.byId.keys()].sort((a, b) => a - b);
    const groups: Record<string, GroupFigures> = {};
    for (const id of ids) {
      const g = this.byId.get(id)!;
      const f: GroupFigures = {
        rows: g.rows,
        accuracy: g.correct / g.rows,
        nll: g.nllSum / g.rows,
        ece: g.reliability.result().ece,
        predictedRates: Array.from(g.predicted, (v) => v / g.rows),
      };
      if (g.binary) {
        const [tn, fp, fn, tp] = g.binary;
        f.selectionRate = (fp + tp) / g.rows;
        f.tpr = tp + fn > 0 ? tp / (tp + fn) : null;
        f.fpr = fp + tn > 0 ? fp / (fp + tn) : null;
      }
      groups[String(id)] = f;
    }
    const gap = (key: 'accuracy' | 'nll' | 'ece', worstIsLow: boolean): Gap => {
      let lo = Infinity;
      let hi = -Infinity;
      let worst = ids[0] ?? -1;
      for (const id of ids) {
        const v = groups[String(id)][key];
        if (v < lo) lo = v;
        if (v > hi) hi = v;
        const w = groups[String(worst)][key];
        if (worstIsLow ? v < w : v > w) worst = id;
      }
      const wv = ids.length ? groups[String(worst)][key] : NaN;
      return { gap: ids.length ? hi - lo : NaN, worstGroup: worst, worstVsOverall: worstIsLow ? overall[key] - wv : wv - overall[key] };
    };
    const out: GroupReport = { groups, groupGaps: { accuracy: gap('accuracy', true), nll: gap('nll', false), ece: gap('ece', false) } };
    if (this.classes === 2 && ids.length) {
      const spread = (v: number[]) => Math.max(...v) - Math.min(...v);
      const fs = ids.map((id) => groups[String(id)]);
      // Fairlearn: an undefined rate is 0 (sklearn's normalised confusion matrix), not left out.
      const rate = (r: number | null | undefined) => r ?? 0;
      out.fairness = {
        demographicParityDifference: spread(fs.map((f) => f.selectionRate!)),
        equalizedOddsDifference: Math.max(spread(fs.map((f) => rate(f.tpr))), spread(fs.map((f) => rate(f.fpr)))),
        groupsWithoutPositives: ids.filter((id) => groups[String(id)].tpr === null),
        groupsWithoutNegatives: ids.filter((id) => groups[String(id)].fpr === null),
      };
    }
    return out;
  }
}
