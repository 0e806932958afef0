/**
 * `--threshold T` of score (issue 22): the probability above which a binary model predicts class 1,
 * and at or above which a multi-label model predicts a label. Parsed and checked here so that score,
 * score --multilabel and their help say the same thing.
 */
import { UsageError } from './ui.js';

export const THRESHOLD_HELP = `--threshold T (default 0.5, T in (0, 1)): the decision of binary and multi-label models: a binary model
predicts class 1 when p(y = 1) > T (z > ln(T / (1 - T)); at 0.5 a row with z = 0 is class 0, argmax's
rule), a multi-label model predicts a label when p >= T. It decides accuracy, F1, precision, recall,
the confusion matrix, the groups' rates (and subset accuracy, Hamming loss); AUROC, average precision,
NLL and calibration do not depend on it. At T other than 0.5 the bootstrap intervals are left out
(not computed there yet). Not for softmax (multi-class) models, which predict their argmax.`;

/** The threshold given with --threshold, or undefined; a usage error unless it is a number in (0, 1). */
export function parseThreshold(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const t = /^\s*$/.test(text) ? NaN : Number(text);
  if (!(t > 0 && t < 1)) throw new UsageError(`--threshold ${text}: expected a probability strictly between 0 and 1 (e.g. 0.3)`);
  return t;
}

/** A usage error for --threshold on a softmax model (more than one logit per row, without --multilabel). */
export function thresholdNotForSoftmax(classes: number): UsageError {
  return new UsageError(
    `--threshold: not for a softmax model (${classes} classes, which predicts its argmax); it applies to binary models (one logit or p(y = 1) per row) and to --multilabel`,
  );
}
