/**
 * Scoring summaries that stream and merge exactly.
 *
 * A ScoreAccumulator takes blocks of (logits, labels) and keeps only float64 sums and integer counts:
 * Σ NLL, #correct, #top-k correct, Σ Brier, Σ entropy, reliability bin sums, and per class: support,
 * #correct, #predicted, Σ p_c and Σ x_c over all rows. Every reported figure is a ratio of these sums,
 * so two accumulators over disjoint rows merge by adding their sums and give the figures of one run over
 * all rows (up to the order of float64 additions, ~1e-15 relative).
 *
 * What merge cannot recompute: anything that needs the logits again. A fitted temperature is a property
 * of all rows together; shards scored at different temperatures cannot be merged (it would mix
 * distributions), and merge cannot refit T. To score shards with a temperature fitted on all of them, fit
 * once (`logitkit calibrate` over all shards, or on a held-out set) and score every shard with
 * `--temperature T`. The optional second temperature ("alt", used for before/after reliability diagrams)
 * merges the same way when all shards used the same alt temperature.
 *
 * Per row, with p = softmax(x / T) and lp = logSoftmax(x / T) from the engine (float32), pred = argmax(x)
 * (ties to the lowest index, SEMANTICS §8), y the label:
 *   NLL = −lp_y; correct = [pred = y]; top-k correct = [y among topk(x, k) indices];
 *   Brier = Σ_j (p_j − [j = y])² (range [0, 2]); entropy = −Σ_j p_j lp_j (0·log 0 = 0);
 *   confidence = p_pred for the reliability bins.
 * Per-class mean logit is of the raw logits x (before any temperature).
 */
import { LogitkitError } from '../errors.js';
import type { BlockSource, RowBlock } from '../io/stream.js';
import type { RowScoreAccumulator } from '../accumulators.js';
import type { LkBuffer } from '../buffers.js';
import { checkBins, checkLabelBlock, ReliabilityBins, type MetricsEngine, type Reliability } from './calibration.js';
import { classificationReport, ConfusionCounts, type ClassificationReport } from './classification.js';
import { binnedErrors, ClasswiseBins, FINE_BINS, FineConfidenceBins } from './calibration-errors.js';
import { BootstrapSums, type Intervals } from './bootstrap.js';
import { averagePrecisionReport, type AveragePrecisionReport } from './average-precision.js';
import { addAurocStats, AUROC_MAX_CLASSES, AurocCounts, type AurocEngine, aurocStats, type AurocReport, type AurocStats } from './auroc.js';
import { GroupAccumulator, GroupSums, type GroupReport } from './groups.js';
import { overlapped } from './overlap.js';

export const STATS_FORMAT = 'logitkit-score-stats/1';

export interface ScoreOptions {
  bins?: number;
  /** k of top-k accuracy; clamped to the number of classes. */
  topk?: number;
  /** Temperature of the main figures (1 = unscaled). */
  temperature?: number;
  /** Optional second temperature: NLL and reliability bins only (for before/after diagrams). */
  altTemperature?: number | null;
  /** Keep per-group sums (the blocks carry group ids). */
  groups?: boolean;
  /**
   * One logit z per row, labels in {0, 1} (a sigmoid model): the accumulator has 2 classes and scores
   * the row as the 2-class logits [0, z] (softmax([0, z]) = [1 − σ(z), σ(z)]), so every figure, the
   * groups and fairness apply; `binary` adds BCE (lk.bceWithLogits) and the ECE of p = σ(z) (lk.sigmoid)
   * against the label.
   */
  binary?: boolean;
  /**
   * Binary models only: predict class 1 when p(y = 1) > threshold, i.e. z / T > ln(t / (1 − t)) (default
   * ½: z > 0, argmax's rule). Decides accuracy, the per-class and decision figures, the confusion
   * matrix and the groups' rates; the top-label calibration stays that of max(p, 1 − p).
   */
  threshold?: number;
  /** Poisson-bootstrap replicates for 90% intervals of accuracy, NLL and ECE (bootstrap.ts); 0 = none (default). */
  intervals?: number;
  /** Seed of the bootstrap weights (default 0). */
  seed?: number;
}

/** The figures of a binary (sigmoid) model, p = σ(z / T) the probability of class 1. */
export interface BinarySummary {
  /** Mean binary cross-entropy −[y ln p + (1 − y) ln(1 − p)] (lk.bceWithLogits). */
  bce: number;
  /** Share of rows with [p > ½] = y (z = 0 predicts 0, as argmax ties go to the lowest index). */
  accuracy: number;
  /** AUROC of p against y (auroc.ts); null without both labels. */
  auroc: number | null;
  /** Average precision of p(y = 1) against y (average-precision.ts); null without positives. */
  averagePrecision: number | null;
  /** The decision threshold on p(y = 1) of accuracy, F1, precision, recall and the confusion matrix. */
  threshold: number;
  /** Equal-width ECE of p against y (not of the top-label confidence), the same bins; and its MCE. */
  ece: number;
  mce: number;
  reliability: Reliability;
  /** Brier score as sklearn.metrics.brier_score_loss: mean (p − y)² (half the two-class `brier`). */
  brier: number;
}

export interface PerClassEntry {
  class: number;
  /** The class's name, when names were given (--class-names). */
  name?: string;
  support: number;
  /** Accuracy on rows whose label is this class (recall); null when support is 0. */
  accuracy: number | null;
  /** Rows predicted as this class. */
  predicted: number;
  /** Mean over all rows of softmax probability of this class. */
  meanProb: number;
  /** Mean over all rows of this class's raw logit. */
  meanLogit: number;
  /** support / rows. */
  frequency: number;
  /** 'over' | 'under' when the model predicts this class clearly more / less often than it occurs. */
  flag: 'over' | 'under' | null;
}

export interface ScoreSummary {
  rows: number;
  classes: number;
  nll: number;
  accuracy: number;
  topk: { k: number; accuracy: number };
  perplexity: number;
  ece: number;
  mce: number;
  brier: number;
  meanEntropy: number;
  bins: number;
  /** Rows whose softmax is NaN (NaN, +inf or all −inf logits): they make NLL, ECE, Brier and entropy NaN. */
  nanRows: number;
  reliability: Reliability;
  perClass: PerClassEntry[];
  /** Precision / recall / F1 per class and averaged, balanced accuracy (scikit-learn's conventions). */
  classification: ClassificationReport;
  /**
   * Top-label ECE and MCE again, with the other calibration errors (calibration-errors.ts); the
   * adaptive and classwise ones are NaN when merged from statistics that did not record them.
   */
  calibration: { ece: number; mce: number; adaptiveEce: number; classwiseEce: number; rmsce: number; debiasedL2: number };
  /** Confusion counts (rows = true class); absent when merged from shards that did not record them. */
  confusion: ConfusionCounts | null;
  /** One-vs-rest AUROC (auroc.ts); null above AUROC_MAX_CLASSES (1024) or merged from shards without it. */
  auroc: AurocReport | null;
  /** One-vs-rest average precision (average-precision.ts), from the AUROC counts: null when they are. */
  averagePrecision: AveragePrecisionReport | null;
  /** Present for a binary (sigmoid) model. */
  binary?: BinarySummary;
  /** 90% Poisson-bootstrap intervals, when kept (options.intervals > 0). */
  intervals?: Intervals;
  /** Figures per group, their gaps and (binary tasks) fairness differences, when scored with groups. */
  slices?: GroupReport;
  /** Names of the classes, when given (withClassNames). */
  classNames?: string[];
  /** Present when the figures are at T ≠ 1 or T was fitted (set by the caller). */
  temperature?: number;
  alt?: { temperature: number; nll: number; ece: number; mce: number; reliability: Reliability } | undefined;
  /**
   * Binary models: the top-label (max(p, 1 − p)) calibration, kept under its own name, since the
   * headline ece / mce / reliability of a binary model are those of p(y = 1) against the label
   * (sklearn.calibration.calibration_curve's reading; issue 22 item 3).
   */
  topLabel?: { ece: number; mce: number; reliability: Reliability };
}

/** a, then b (either may be absent). */
function both(a: (() => void) | null, b: (() => void) | null): (() => void) | null {
  if (a === null || b === null) return a ?? b;
  return () => {
    a();
    b();
  };
}

/** A threshold read from statistics: a number in (0, 1), else invalid_argument naming the file. */
function checkThreshold(t: unknown, name: string): number {
  if (typeof t !== 'number' || !(t > 0 && t < 1)) throw new LogitkitError('invalid_argument', `${name}: stats.binary.threshold must be a number in (0, 1)`, name);
  return t;
}

/** JSON-safe numbers: non-finite values become strings so sums survive a round trip. */
type JsonNum = number | 'NaN' | 'Infinity' | '-Infinity';
const enc = (v: number): JsonNum => (Number.isFinite(v) ? v : (String(v) as JsonNum));
const dec = (v: unknown): number => (typeof v === 'number' ? v : typeof v === 'string' ? Number(v) : NaN);
const encArr = (a: ArrayLike<number>): JsonNum[] => Array.from(a, enc);

export interface ScoreStats {
  format: typeof STATS_FORMAT;
  rows: number;
  classes: number;
  bins: number;
  k: number;
  temperature: number;
  nllSum: JsonNum;
  correct: number;
  topkCorrect: number;
  brierSum: JsonNum;
  entropySum: JsonNum;
  binCount: number[];
  binConf: JsonNum[];
  binCorrect: number[];
  binNaN: number;
  support: number[];
  classCorrect: number[];
  predicted: number[];
  probSum: JsonNum[];
  logitSum: JsonNum[];
  /** Non-zero confusion cells as [true, predicted, count] (absent in statistics from before 0.2). */
  confusion?: [number, number, number][];
  /** Non-empty fine confidence bins as [bin, count, Σ conf, Σ correct] (adaptive ECE). */
  fineBins?: [number, number, JsonNum, number][];
  /** Non-empty classwise bins as [class · bins + bin, count, Σ p, positives], and the NaN rows. */
  classwise?: { cells: [number, number, JsonNum, number][]; nanRows: number };
  /** The AUROC bins (AurocCounts.encode: base64 varints of the non-empty ones), and the NaN rows. */
  auroc?: AurocStats;
  /** Per-group sums, when scored with groups. */
  groups?: { id: number; rows: number; nllSum: JsonNum; correct: number; binCount: number[]; binConf: JsonNum[]; binCorrect: number[]; binNaN: number; predicted: number[]; binary: number[] | null }[];
  /** Bootstrap sums per replicate (bootstrap.ts), when kept; the bins flat as [replicate · bins + bin]. */
  intervals?: { replicates: number; seed: number; nanRows: number; weight: number[]; correct: number[]; nll: JsonNum[]; binWeight: number[]; binConf: JsonNum[]; binCorrect: number[] };
  /** Binary (sigmoid) model: Σ BCE and the bins of p against the label. */
  binary?: { threshold?: number; bceSum: JsonNum; binCount: number[]; binConf: JsonNum[]; binCorrect: number[]; binNaN: number };
  alt: null | { temperature: number; nllSum: JsonNum; binCount: number[]; binConf: JsonNum[]; binCorrect: number[]; binNaN: number };
}

/**
 * Flag rule: a class is over-predicted when it is predicted at least 10% more often than it occurs AND
 * the excess is more than 3·√support (so noise in small classes is not flagged); under-predicted
 * symmetrically. Classes with no support that are predicted ≥ 3 times are flagged 'over'.
 */
export function biasFlag(support: number, predicted: number): 'over' | 'under' | null {
  const diff = predicted - support;
  const noise = 3 * Math.sqrt(Math.max(support, 1));
  if (diff > noise && diff >= 0.1 * support) return 'over';
  if (-diff > noise && -diff >= 0.1 * support) return 'under';
  return null;
}

/** Non-empty cells of three parallel sums as [index, count, Σ value (JSON-safe), Σ other]. */
function sparseCells(count: Float64Array, sum: Float64Array, other: Float64Array): [number, number, JsonNum, number][] {
  const out: [number, number, JsonNum, number][] = [];
  for (let i = 0; i < count.length; i++) if (count[i] !== 0) out.push([i, count[i], enc(sum[i]), other[i]]);
  return out;
}

function readCells(cells: unknown, length: number, count: Float64Array, sum: Float64Array, other: Float64Array, what: string): void {
  if (!Array.isArray(cells)) throw new LogitkitError('invalid_argument', `${what} must be an array of [index, count, sum, count]`, 'stats');
  for (const cell of cells) {
    const ok =
      Array.isArray(cell) && cell.length === 4 && Number.isSafeInteger(cell[0]) && cell[0] >= 0 && cell[0] < length && Number.isSafeInteger(cell[1]) && Number.isSafeInteger(cell[3]);
    if (!ok) throw new LogitkitError('invalid_argument', `${what} has a malformed cell ${JSON.stringify(cell)}`, 'stats');
    count[cell[0]] += cell[1];
    sum[cell[0]] += dec(cell[2]);
    other[cell[0]] += cell[3];
  }
}

function checkReplicates(v: unknown, name: string): number {
  if (!Number.isInteger(v) || (v as number) < 1) throw new LogitkitError('invalid_argument', `${name}: stats.intervals.replicates must be an integer >= 1`, name);
  return v as number;
}

/** Attaches class names (one per class) to a summary, for every table and the JSON. */
export function withClassNames(s: ScoreSummary, names: readonly string[] | null | undefined): ScoreSummary {
  if (!names) return s;
  if (names.length !== s.classes) throw new LogitkitError('shape_mismatch', `${names.length} class names for ${s.classes} classes`, 'classNames');
  s.classNames = [...names];
  s.perClass.forEach((c) => (c.name = names[c.class]));
  return s;
}

/** How tables name class k: "3 cat" with names, "3" without. */
export function classLabel(s: ScoreSummary, k: number): string {
  return s.classNames ? `${k} ${s.classNames[k]}` : String(k);
}

export class ScoreAccumulator {
  readonly classes: number;
  readonly bins: number;
  readonly k: number;
  readonly temperature: number;
  /** Binary models: the decision threshold on p(y = 1) (ScoreOptions.threshold), and its logit. */
  readonly threshold: number;
  private readonly cut: number;
  readonly altTemperature: number | null;

  rows = 0;
  nllSum = 0;
  correct = 0;
  topkCorrect = 0;
  brierSum = 0;
  entropySum = 0;
  readonly reliability: ReliabilityBins;
  readonly support: Float64Array;
  readonly classCorrect: Float64Array;
  readonly predicted: Float64Array;
  readonly probSum: Float64Array;
  readonly logitSum: Float64Array;
  /** null only when rebuilt from statistics that did not record it. */
  confusion: ConfusionCounts | null;
  /** null only when rebuilt from statistics that did not record them. */
  fine: FineConfidenceBins | null;
  classwise: ClasswiseBins | null;
  auroc: AurocCounts | null;
  groups: GroupAccumulator | null;
  altNllSum = 0;
  readonly altReliability: ReliabilityBins | null;
  /** Binary (sigmoid) model: Σ BCE, and bins of p = σ(z) with "correct" = the label. */
  readonly binary: boolean;
  bceSum = 0;
  readonly positiveBins: ReliabilityBins | null;
  boot: BootstrapSums | null;
  private bootHit = new Uint8Array(0);
  private bootNll = new Float64Array(0);
  private bootConf = new Float32Array(0);
  /** blockTarget's buffer for an engine without lk.alloc. */
  private xPlain = new Float32Array(0);
  /** The view blockTarget handed out last (the block read there is already in engine memory). */
  private handed: Float32Array | null = null;
  /** addSource is reading the next block while a kernel may still read this one's buffers (blockTarget). */
  private prefetching = false;
  /** Each row's argmax of the block (from the row summary's pass). */
  private pred = new Int32Array(0);
  /** Each row's p_y of the block, from the same pass (the AUROC positives read it in row order). */
  private py = new Float32Array(0);
  private x2 = new Float32Array(0);
  private t2 = new Float32Array(0);

  private p = new Float32Array(0);
  private lp = new Float32Array(0);
  /** The block's x, p and lp in engine memory (blockBuffers). */
  private bufs: LkBuffer<'float32'>[] | null = null;
  /** The engine's sums of the rows added since the last sync() (not in the fields above yet). */
  private core: RowScoreAccumulator | null = null;
  /**
   * Called after each block with every row's confidence p_pred (at this accumulator's temperature)
   * and hit (0/1), valid until the next block: selective prediction takes them from here.
   */
  onRows: ((conf: Float32Array, hit: Uint8Array, rows: number) => void) | null = null;

  constructor(classes: number, options: ScoreOptions = {}) {
    if (!Number.isInteger(classes) || classes < 1) throw new LogitkitError('shape_mismatch', `classes = ${classes}, expected an integer >= 1`, 'classes');
    this.classes = classes;
    this.bins = checkBins(options.bins ?? 15);
    const k = options.topk ?? 5;
    if (!Number.isInteger(k) || k < 1) throw new LogitkitError('invalid_k', `topk = ${k}, expected an integer >= 1`, 'options.topk');
    this.k = Math.min(k, classes);
    const T = options.temperature ?? 1;
    if (!(Number.isFinite(T) && T > 0)) throw new LogitkitError('invalid_temperature', `temperature = ${T}, expected a finite number > 0`, 'options.temperature');
    this.temperature = T;
    const alt = options.altTemperature ?? null;
    if (alt !== null && !(Number.isFinite(alt) && alt > 0)) {
      throw new LogitkitError('invalid_temperature', `altTemperature = ${alt}, expected a finite number > 0`, 'options.altTemperature');
    }
    this.altTemperature = alt;
    this.reliability = new ReliabilityBins(this.bins);
    this.altReliability = alt !== null ? new ReliabilityBins(this.bins) : null;
    this.binary = options.binary === true;
    if (this.binary && classes !== 2) throw new LogitkitError('shape_mismatch', `a binary model has 2 classes, not ${classes}`, 'classes');
    this.positiveBins = this.binary ? new ReliabilityBins(this.bins) : null;
    const reps = options.intervals ?? 0;
    // issue 22: --threshold (binary decisions)
    const th = options.threshold ?? 0.5;
    if (!(th > 0 && th < 1)) throw new LogitkitError('invalid_argument', `threshold = ${th}, expected a number in (0, 1)`, 'options.threshold');
    if (th !== 0.5 && !this.binary) throw new LogitkitError('invalid_argument', 'a threshold applies to binary models (one logit per row); a softmax model predicts its argmax', 'options.threshold');
    // the bootstrap keeps one hit per row for both the accuracy and the top-label ECE intervals
    if (th !== 0.5 && reps > 0) throw new LogitkitError('invalid_argument', 'intervals are not computed with a threshold other than 0.5 yet', 'options.intervals');
    this.threshold = th;
    this.cut = Math.log(th / (1 - th));
    this.boot = reps === 0 ? null : new BootstrapSums(reps, this.bins, options.seed ?? 0);
    this.support = new Float64Array(classes);
    this.classCorrect = new Float64Array(classes);
    this.predicted = new Float64Array(classes);
    this.probSum = new Float64Array(classes);
    this.logitSum = new Float64Array(classes);
    this.confusion = new ConfusionCounts(classes);
    this.fine = new FineConfidenceBins();
    this.classwise = new ClasswiseBins(classes, this.bins);
    this.auroc = classes <= AUROC_MAX_CLASSES ? new AurocCounts(classes) : null;
    this.groups = options.groups ? new GroupAccumulator(classes, this.bins) : null;
  }

  /** Adds every block of a source (labels required). */
  addSource(lk: MetricsEngine, src: BlockSource): this {
    const cols = this.binary ? 1 : this.classes;
    if (src.classes !== cols) throw new LogitkitError('shape_mismatch', `source has ${src.classes} classes, expected ${cols}`, 'x');
    // The next block is read while the threads finish this one's last kernel (addBlock's `prefetch`):
    // reading is this thread's alone, and at many classes it is a fifth of the pass.
    const blocks = src.blocks()[Symbol.iterator]();
    let next = blocks.next();
    while (!next.done) {
      const blk = next.value;
      if (!blk.labels) throw new LogitkitError('invalid_argument', 'labels are required', 'labels');
      checkLabelBlock(src, blk.labels, blk.start, this.classes);
      if (this.groups && !blk.groups) throw new LogitkitError('invalid_argument', 'group ids are required (the accumulator keeps groups)', 'groups');
      let fetched: IteratorResult<RowBlock> | null = null;
      this.addBlock(
        lk,
        blk.x,
        blk.labels,
        blk.groups ?? null,
        (row) => (src.describeRow ? src.describeRow(blk.start + row, 'groups') : `groups[${blk.start + row}]`),
        src.bootstrapKey ? src.bootstrapKey(blk.start) : { key: 0, row: blk.start },
        blk.probs ?? null,
        blk.work ?? null,
        () => {
          this.prefetching = true;
          try {
            fetched = blocks.next();
          } finally {
            this.prefetching = false;
          }
        },
      );
      next = fetched ?? blocks.next();
    }
    return this;
  }

  /**
   * Adds rows = labels.length rows of logits x (labels already validated to lie in [0, classes)); a
   * binary accumulator takes one logit per row. `at` places the rows for the bootstrap weights: the
   * shard's key and the index of the first row in it (default: key 0, the rows added so far).
   * `probs`: the probabilities x = ln p was read from (--input probs); at T = 1 AUROC ranks them.
   * `work`: the source's own work on the block (RowBlock.work, called with x's current view), run
   * while the engine's threads compute the block's first kernel. `prefetch`: reads the source's next
   * block, run while the threads compute this block's last kernel when that kernel reads nothing a read
   * can overwrite (the accumulator's own buffers only), else at the end; the block is then done with x,
   * labels and the rest, and a read that would need larger engine buffers goes to a plain array.
   */
  addBlock(
    lk: MetricsEngine,
    x: Float32Array,
    labels: Int32Array,
    groups: Int32Array | null = null,
    where: (row: number) => string = (r) => `groups[${r}]`,
    at: { key: number; row: number } | null = null,
    probs: Float32Array | null = null,
    work: ((x: Float32Array) => void) | null = null,
    prefetch: (() => void) | null = null,
  ): void {
    const firstRow = at ? at.row : this.rows;
    const given = x; // the block as read (a binary model's z), for the source's work
    if (this.binary) {
      x = this.addBinary(lk, x, labels);
      if (labels.length === 0) return;
    }
    if (this.groups && (!groups || groups.length !== labels.length)) {
      throw new LogitkitError('shape_mismatch', `groups must hold one id per row (${labels.length})`, 'groups');
    }
    const C = this.classes;
    const R = labels.length;
    const n = R * C;
    // x read where blockTarget said: its values are in x's engine buffer already (a view of them taken
    // before the memory grew has no length left: the buffer is viewed again)
    const handed = this.handed;
    this.handed = null;
    const inEngine = handed !== null && this.bufs !== null && !this.bufs[0]!.freed && x.buffer === handed.buffer && x.byteOffset === handed.byteOffset && (x.length === n || x.length === 0);
    if (inEngine) x = this.bufs![0]!.array.subarray(0, n);
    if (x.length !== n) throw new LogitkitError('shape_mismatch', `x has ${x.length} values, expected ${n}`, 'x');
    if (R === 0) {
      work?.(x);
      prefetch?.();
      return;
    }
    if (this.p.length < n) {
      this.p = new Float32Array(n);
      this.lp = new Float32Array(n);
    }
    const T = this.temperature;
    if (!lk.rowScoreAccumulator) throw new LogitkitError('invalid_argument', 'the engine has no rowScoreAccumulator', 'lk');
    // Engine memory first (any allocation may grow it, which detaches views taken before).
    this.core ??= lk.rowScoreAccumulator({ classes: C, bins: this.bins, topk: this.k });
    if (this.auroc) {
      if (!lk.aurocHistogram) throw new LogitkitError('invalid_argument', 'the engine has no aurocHistogram', 'lk');
      this.auroc.prepare(lk as AurocEngine, R);
    }
    // The block stays in engine memory across its ops: x goes in once, p is made there (when AUROC ranks
    // it) and read there by the histogram (copying x in for each op and p out and back in was ~8% of
    // score's time).
    const bufs = this.blockBuffers(lk, n);
    const view = (i: number): Float32Array => (bufs ? bufs[i]!.array.subarray(0, n) : i === 0 ? x : i === 1 ? this.p.subarray(0, n) : this.lp.subarray(0, n));
    if (bufs && !inEngine) view(0).set(x);
    // --input probs at T = 1: AUROC ranks the given p, so softmax's p is not kept
    const aurocProbs = probs && this.temperature === 1 && !this.binary ? probs : null;
    const keepP = this.auroc !== null && aurocProbs === null;
    const boot = this.boot;
    if (this.bootHit.length < R) {
      this.bootHit = new Uint8Array(R);
      this.bootNll = new Float64Array(R);
      this.bootConf = new Float32Array(R);
      this.pred = new Int32Array(R);
      this.py = new Float32Array(R);
    }
    // Every per-row and per-element sum in one engine pass over x, softmax, log-softmax and argmax made
    // in the same pass (wasm: assembly/kernels/score.ts scoreLogitsChunk); its state is added into these
    // fields by sync(), before anything reads them.
    // The source's work on the block (hashing it) runs on this thread while the threads start the pass,
    // on the block as read: where it was read into engine memory, a view taken now (the allocations
    // above may have grown the memory under x).
    const core = this.core;
    const { hit, nll, conf, pred } = overlapped(lk, work && (() => work(inEngine ? view(0) : given)), () =>
      core.add(
        { x: view(0), labels, temperature: T },
        {
          hit: this.bootHit.subarray(0, R),
          nll: this.bootNll.subarray(0, R),
          conf: this.bootConf.subarray(0, R),
          pred: this.pred.subarray(0, R),
          ...(keepP ? { p: view(1), py: this.py.subarray(0, R) } : {}),
        },
      ),
    );
    // binary --threshold: class 1 when z / T > ln(t / (1 − t)); at ½ that is argmax's z > 0 (and, as
    // argmax counts NaN as the maximum, a NaN z is class 1 at any threshold). The core counted the
    // decision-dependent sums (correct, per-class correct, predicted) for argmax; the rows whose decision
    // differs are moved here, while reliability, top-k and the bootstrap keep argmax's hit.
    let decided = pred;
    if (this.binary && this.threshold !== 0.5) {
      decided = pred.map((_, r) => (x[2 * r + 1] / T <= this.cut ? 0 : 1));
      for (let r = 0; r < R; r++) {
        const c = pred[r];
        const d = decided[r];
        if (c === d) continue;
        const y = labels[r];
        const delta = (d === y ? 1 : 0) - (c === y ? 1 : 0);
        this.correct += delta;
        this.classCorrect[y] += delta;
        this.predicted[c] -= 1;
        this.predicted[d] += 1;
      }
    }
    if (this.groups) for (let r = 0; r < R; r++) this.groups.add(groups![r], nll[r], conf[r], labels[r], decided[r], () => where(r), pred[r]);
    this.rows += R;
    // The JavaScript below reads only the pass's outputs and labels, never what the AUROC and bootstrap
    // kernels write: it runs while the threads compute those (lk.overlap). The AUROC positives go beside
    // the AUROC histogram (AurocCounts.addBlock); the rest as said further down.
    const confusion = this.confusion;
    const onRows = this.onRows;
    const rowWork =
      confusion || onRows
        ? (): void => {
            if (confusion) for (let r = 0; r < R; r++) confusion.add(labels[r], decided[r]);
            if (onRows) onRows(conf, hit, R);
          }
        : null;
    const altWork = this.altTemperature !== null ? () => this.addAlternative(lk, view, labels, pred, R) : null;
    // The next block's read (it reuses x's buffer and the labels' array) comes after everything else of
    // this block, beside the longer of the two kernels (the histogram's work is rows × classes, the
    // bootstrap's rows × replicates) among those that read only this accumulator's own buffers (p in
    // view(1) — not --input probs' array, which a read reuses — and the bootstrap's rows); the rest of
    // the JavaScript goes beside that same kernel, before the read (or beside the histogram alone).
    const aurocReads = this.auroc !== null && aurocProbs === null;
    const host = aurocReads && (!boot || C >= boot.replicates) ? 'auroc' : boot ? 'boot' : this.auroc ? 'auroc' : null;
    const readBeside = host === 'boot' || (host === 'auroc' && aurocReads);
    const tail = both(both(rowWork, altWork), readBeside ? prefetch : null);
    if (this.auroc) {
      // Ranking p itself keeps its exact ties (a 1/32 grid was off by 1.2e-4 through softmax(ln p));
      // at T ≠ 1 the scores are softmax(ln p / T), which is what is ranked then.
      this.auroc.addBlock(lk as AurocEngine, aurocProbs ?? view(1), labels, aurocProbs ? undefined : this.py.subarray(0, R), host === 'auroc' ? tail : null);
    }
    if (boot) {
      if (!lk.bootstrapAccumulator) throw new LogitkitError('invalid_argument', 'the engine has no bootstrapAccumulator', 'lk');
      boot.addRows(lk as Required<Pick<MetricsEngine, 'bootstrapAccumulator'>>, at ? at.key : 0, firstRow, this.bootHit, this.bootNll, this.bootConf, R, host === 'boot' ? tail : null);
    }
    if (host === null) tail?.();
    if (!readBeside) prefetch?.();
  }

  /**
   * The alternative temperature's NLL and reliability bins of a block: one engine call (the confidence
   * is exp(log p of the predicted class), a row-sized cost). The block is still in engine memory and
   * lp's buffer is free again (nothing reads it after the core's add).
   */
  private addAlternative(lk: MetricsEngine, view: (i: number) => Float32Array, labels: Int32Array, pred: Int32Array, R: number): void {
    const C = this.classes;
    const lpa = lk.logSoftmax(view(0), C, { temperature: this.altTemperature!, out: view(2) });
    let altNll = 0;
    for (let r = 0; r < R; r++) {
      const o = r * C;
      altNll -= lpa[o + labels[r]];
      // A binary model's bins hold p(y = 1) against the label, like its headline reliability.
      if (this.binary) this.altReliability!.add(Math.exp(lpa[o + 1]), labels[r]);
      else this.altReliability!.add(Math.exp(lpa[o + pred[r]]), pred[r] === labels[r] ? 1 : 0);
    }
    this.altNllSum += altNll;
  }

  /** The binary figures of a block of z; returns the 2-class logits [0, z] per row for the rest. */
  private addBinary(lk: MetricsEngine, z: Float32Array, labels: Int32Array): Float32Array {
    const R = labels.length;
    if (z.length !== R) throw new LogitkitError('shape_mismatch', `x has ${z.length} values, expected one logit per row (${R})`, 'x');
    if (!lk.sigmoid || !lk.bceWithLogits) throw new LogitkitError('invalid_argument', 'the engine has no sigmoid / bceWithLogits', 'lk');
    if (this.x2.length < 2 * R) {
      this.x2 = new Float32Array(2 * R);
      this.t2 = new Float32Array(R);
    }
    const T = this.temperature;
    const t = this.t2.subarray(0, R);
    const zt = this.x2.subarray(R, 2 * R); // scratch: z / T, overwritten below
    for (let r = 0; r < R; r++) {
      t[r] = labels[r];
      zt[r] = T === 1 ? z[r] : z[r] / T;
    }
    if (R > 0) {
      // per row, summed here in float64: the engine's own sum is float32 and would not merge exactly
      const l = lk.bceWithLogits(zt, t, { reduction: 'none' });
      let sum = 0;
      for (let r = 0; r < R; r++) sum += l[r];
      this.bceSum += sum;
      const p = lk.sigmoid(zt);
      for (let r = 0; r < R; r++) this.positiveBins!.add(p[r], labels[r]);
    }
    const x2 = this.x2.subarray(0, 2 * R); // the z / T scratch is no longer needed
    for (let r = 0; r < R; r++) {
      x2[2 * r] = 0;
      x2[2 * r + 1] = z[r];
    }
    return x2;
  }

  /**
   * Where a source may read the next block of `elements` values (npy-source's `into`): x's buffer in
   * engine memory, so addBlock does not copy the block there (a plain array without lk.alloc).
   */
  blockTarget(lk: MetricsEngine, elements: number): Float32Array {
    // While a kernel still reads this block's buffers (a read beside it, addSource), they are not
    // replaced: a larger block goes to the plain array and is copied in by addBlock.
    const keep = this.prefetching && this.bufs !== null && !this.bufs[0]!.freed && this.bufs[0]!.length < elements;
    const bufs = keep ? null : this.blockBuffers(lk, elements);
    if (!bufs && this.xPlain.length < elements) this.xPlain = new Float32Array(elements);
    const v = bufs ? bufs[0]!.array.subarray(0, elements) : this.xPlain.subarray(0, elements);
    this.handed = bufs ? v : null;
    return v;
  }

  /** x, p (and lp) of a block of n values in engine memory (grown as blocks grow); null without lk.alloc. */
  private blockBuffers(lk: MetricsEngine, n: number): LkBuffer<'float32'>[] | null {
    if (!lk.alloc) return null;
    if (this.bufs && (this.bufs[0]!.length < n || this.bufs[0]!.freed)) this.freeBuffers();
    // lp's buffer is the alternative temperature's only (the row summary keeps lp in its batches)
    this.bufs ??= this.altTemperature !== null ? [lk.alloc(n), lk.alloc(n), lk.alloc(n)] : [lk.alloc(n), lk.alloc(n)];
    return this.bufs;
  }

  private freeBuffers(): void {
    const b = this.bufs;
    this.bufs = null;
    // after the engine was disposed its buffers are gone with it
    if (b) for (const buf of b) if (!buf.freed) try { buf.free(); } catch { /* disposed */ }
  }

  /** Moves the engine's sums into the fields (and frees its state and the block buffers). */
  private sync(): void {
    this.freeBuffers();
    const core = this.core;
    if (!core) return;
    this.core = null;
    const s = core.take();
    const add = (to: Float64Array, from: Float64Array) => {
      for (let i = 0; i < to.length; i++) to[i] += from[i];
    };
    this.nllSum += s.nllSum;
    this.correct += s.correct;
    this.topkCorrect += s.topkCorrect;
    this.brierSum += s.brierSum;
    this.entropySum += s.entropySum;
    const rel = this.reliability;
    add(rel.count, s.binCount);
    add(rel.confSum, s.binConf);
    add(rel.correctSum, s.binCorrect);
    rel.nanRows += s.nanRows;
    if (this.fine) {
      add(this.fine.count, s.fineCount);
      add(this.fine.confSum, s.fineConf);
      add(this.fine.correctSum, s.fineCorrect);
      this.fine.nanRows += s.nanRows;
    }
    add(this.support, s.support);
    add(this.classCorrect, s.classCorrect);
    add(this.predicted, s.predicted);
    add(this.probSum, s.probSum);
    add(this.logitSum, s.logitSum);
    if (this.classwise) {
      add(this.classwise.count, s.classwiseCount);
      add(this.classwise.probSum, s.classwiseProb);
      add(this.classwise.positives, s.classwisePositives);
      this.classwise.rows += s.rows;
      this.classwise.nanRows += s.classwiseNanRows;
    }
  }

  /** Adds another accumulator's sums (same classes, bins, k and temperatures). */
  merge(o: ScoreAccumulator): this {
    this.sync();
    o.sync();
    const same = (what: string, a: unknown, b: unknown) => {
      if (a !== b) throw new LogitkitError('shape_mismatch', `cannot merge: ${what} differ (${String(a)} vs ${String(b)})`, what);
    };
    same('classes', this.classes, o.classes);
    same('bins', this.bins, o.bins);
    same('k', this.k, o.k);
    same('temperature', this.temperature, o.temperature);
    same('altTemperature', this.altTemperature, o.altTemperature);
    same('binary', this.binary, o.binary);
    same('threshold', this.threshold, o.threshold);
    same('intervals', this.boot?.replicates ?? 0, o.boot?.replicates ?? 0);
    if (this.boot && o.boot) this.boot.merge(o.boot);
    if (this.binary) {
      this.bceSum += o.bceSum;
      this.positiveBins!.merge(o.positiveBins!);
    }
    this.rows += o.rows;
    this.nllSum += o.nllSum;
    this.correct += o.correct;
    this.topkCorrect += o.topkCorrect;
    this.brierSum += o.brierSum;
    this.entropySum += o.entropySum;
    this.reliability.merge(o.reliability);
    for (let c = 0; c < this.classes; c++) {
      this.support[c] += o.support[c];
      this.classCorrect[c] += o.classCorrect[c];
      this.predicted[c] += o.predicted[c];
      this.probSum[c] += o.probSum[c];
      this.logitSum[c] += o.logitSum[c];
    }
    if (this.confusion && o.confusion) this.confusion.merge(o.confusion);
    else this.confusion = null; // a shard without counts: no exact matrix for the whole
    if (this.fine && o.fine) this.fine.merge(o.fine);
    else this.fine = null;
    if (this.classwise && o.classwise) this.classwise.merge(o.classwise);
    else this.classwise = null;
    if (this.auroc && o.auroc) this.auroc.merge(o.auroc);
    else this.auroc = null;
    same('groups', this.groups !== null, o.groups !== null);
    if (this.groups && o.groups) this.groups.merge(o.groups);
    if (this.altReliability && o.altReliability) {
      this.altNllSum += o.altNllSum;
      this.altReliability.merge(o.altReliability);
    }
    return this;
  }

  summary(): ScoreSummary {
    this.sync();
    const n = this.rows;
    const rel = this.reliability.result();
    const nll = this.nllSum / n;
    const perClass: PerClassEntry[] = [];
    for (let c = 0; c < this.classes; c++) {
      const s = this.support[c];
      perClass.push({
        class: c,
        support: s,
        accuracy: s > 0 ? this.classCorrect[c] / s : null,
        predicted: this.predicted[c],
        meanProb: this.probSum[c] / n,
        meanLogit: this.logitSum[c] / n,
        frequency: s / n,
        flag: biasFlag(s, this.predicted[c]),
      });
    }
    const out: ScoreSummary = {
      rows: n,
      classes: this.classes,
      nll,
      accuracy: this.correct / n,
      topk: { k: this.k, accuracy: this.topkCorrect / n },
      perplexity: Math.exp(nll),
      ece: rel.ece,
      mce: rel.mce,
      brier: this.brierSum / n,
      meanEntropy: this.entropySum / n,
      bins: this.bins,
      nanRows: this.reliability.nanRows,
      reliability: rel,
      perClass,
      calibration: {
        ece: rel.ece,
        mce: rel.mce,
        adaptiveEce: this.fine ? this.fine.adaptiveEce(this.bins) : NaN,
        classwiseEce: this.classwise ? this.classwise.ece() : NaN,
        ...binnedErrors(this.reliability),
      },
      classification: classificationReport(this.classCorrect, this.predicted, this.support),
      confusion: this.confusion,
      auroc: this.auroc ? this.auroc.report(this.support) : null,
      averagePrecision: this.auroc ? averagePrecisionReport(this.auroc) : null,
    };
    if (this.boot) out.intervals = this.boot.result();
    if (this.binary) {
      const pr = this.positiveBins!.result();
      // Two classes: each row's Σ_j (p_j − δ_jy)² is 2 (p − y)², so sklearn's Brier is half of it.
      out.binary = { bce: this.bceSum / n, accuracy: out.accuracy, auroc: out.auroc ? out.auroc.perClass[1] : null, averagePrecision: out.averagePrecision ? out.averagePrecision.perClass[1] : null, threshold: this.threshold, ece: pr.ece, mce: pr.mce, reliability: pr, brier: this.brierSum / n / 2 };
      out.topLabel = { ece: rel.ece, mce: rel.mce, reliability: rel };
      out.ece = pr.ece;
      out.mce = pr.mce;
      out.reliability = pr;
    }
    // Per group the ECE is top-label (group sums bin the top-label confidence), so the overall one is too.
    if (this.groups) out.slices = this.groups.report({ accuracy: out.accuracy, nll: out.nll, ece: rel.ece });
    if (this.altReliability) {
      const ar = this.altReliability.result();
      out.alt = { temperature: this.altTemperature!, nll: this.altNllSum / n, ece: ar.ece, mce: ar.mce, reliability: ar };
    }
    return out;
  }

  toStats(): ScoreStats {
    this.sync();
    const r = this.reliability;
    const a = this.altReliability;
    return {
      format: STATS_FORMAT,
      rows: this.rows,
      classes: this.classes,
      bins: this.bins,
      k: this.k,
      temperature: this.temperature,
      nllSum: enc(this.nllSum),
      correct: this.correct,
      topkCorrect: this.topkCorrect,
      brierSum: enc(this.brierSum),
      entropySum: enc(this.entropySum),
      binCount: Array.from(r.count),
      binConf: encArr(r.confSum),
      binCorrect: Array.from(r.correctSum),
      binNaN: r.nanRows,
      support: Array.from(this.support),
      classCorrect: Array.from(this.classCorrect),
      predicted: Array.from(this.predicted),
      probSum: encArr(this.probSum),
      logitSum: encArr(this.logitSum),
      ...(this.confusion ? { confusion: this.confusion.entries() } : {}),
      ...(this.fine ? { fineBins: sparseCells(this.fine.count, this.fine.confSum, this.fine.correctSum) } : {}),
      ...(this.classwise
        ? { classwise: { cells: sparseCells(this.classwise.count, this.classwise.probSum, this.classwise.positives), nanRows: this.classwise.nanRows } }
        : {}),
      ...(this.auroc ? { auroc: aurocStats(this.auroc) } : {}),
      ...(this.groups
        ? {
            groups: [...this.groups.byId].map(([id, g]) => ({
              id,
              rows: g.rows,
              nllSum: enc(g.nllSum),
              correct: g.correct,
              binCount: Array.from(g.reliability.count),
              binConf: encArr(g.reliability.confSum),
              binCorrect: Array.from(g.reliability.correctSum),
              binNaN: g.reliability.nanRows,
              predicted: Array.from(g.predicted),
              binary: g.binary ? Array.from(g.binary) : null,
            })),
          }
        : {}),
      ...(this.boot?.flush()
        ? {
            intervals: {
              replicates: this.boot.replicates,
              seed: this.boot.seed,
              nanRows: this.boot.nanRows,
              weight: Array.from(this.boot.weight),
              correct: Array.from(this.boot.correct),
              nll: encArr(this.boot.nll),
              binWeight: Array.from(this.boot.binWeight),
              binConf: encArr(this.boot.binConf),
              binCorrect: Array.from(this.boot.binCorrect),
            },
          }
        : {}),
      ...(this.binary
        ? {
            binary: {
              ...(this.threshold !== 0.5 ? { threshold: this.threshold } : {}),
              bceSum: enc(this.bceSum),
              binCount: Array.from(this.positiveBins!.count),
              binConf: encArr(this.positiveBins!.confSum),
              binCorrect: Array.from(this.positiveBins!.correctSum),
              binNaN: this.positiveBins!.nanRows,
            },
          }
        : {}),
      alt: a
        ? {
            temperature: this.altTemperature!,
            nllSum: enc(this.altNllSum),
            binCount: Array.from(a.count),
            binConf: encArr(a.confSum),
            binCorrect: Array.from(a.correctSum),
            binNaN: a.nanRows,
          }
        : null,
    };
  }

  /** Rebuilds an accumulator from `toStats()` output; throws on anything malformed. */
  static fromStats(s: unknown, name = 'stats'): ScoreAccumulator {
    const o = s as ScoreStats;
    if (!o || typeof o !== 'object' || o.format !== STATS_FORMAT) {
      throw new LogitkitError('invalid_argument', `${name}: not logitkit score statistics (expected "stats.format": "${STATS_FORMAT}")`, name);
    }
    const C = o.classes;
    const M = o.bins;
    const arr = (key: keyof ScoreStats, len: number, v: unknown = o[key]): number[] => {
      if (!Array.isArray(v) || v.length !== len) throw new LogitkitError('invalid_argument', `${name}: stats.${String(key)} must be an array of ${len}`, name);
      return v.map(dec);
    };
    const acc = new ScoreAccumulator(C, { bins: M, topk: o.k, temperature: o.temperature, altTemperature: o.alt ? o.alt.temperature : null, groups: o.groups !== undefined, binary: o.binary !== undefined,
      ...(o.binary?.threshold !== undefined ? { threshold: checkThreshold(o.binary.threshold, name) } : {}),
      ...(o.intervals !== undefined ? { intervals: checkReplicates(o.intervals?.replicates, name), seed: o.intervals.seed } : {}),
    });
    if (o.intervals !== undefined) {
      const b = acc.boot!;
      const R = b.replicates;
      const RM = R * M;
      const v = o.intervals;
      b.weight.set(arr('intervals', R, v.weight));
      b.correct.set(arr('intervals', R, v.correct));
      b.nll.set(arr('intervals', R, v.nll));
      b.binWeight.set(arr('intervals', RM, v.binWeight));
      b.binConf.set(arr('intervals', RM, v.binConf));
      b.binCorrect.set(arr('intervals', RM, v.binCorrect));
      b.nanRows = typeof v.nanRows === 'number' ? v.nanRows : 0;
    }
    if (o.binary !== undefined) {
      const b = o.binary;
      if (!b || typeof b !== 'object') throw new LogitkitError('invalid_argument', `${name}: stats.binary must be an object`, name);
      acc.bceSum = dec(b.bceSum);
      acc.positiveBins!.count.set(arr('binary', M, b.binCount));
      acc.positiveBins!.confSum.set(arr('binary', M, b.binConf));
      acc.positiveBins!.correctSum.set(arr('binary', M, b.binCorrect));
      acc.positiveBins!.nanRows = b.binNaN ?? 0;
    }
    acc.rows = o.rows;
    acc.nllSum = dec(o.nllSum);
    acc.correct = o.correct;
    acc.topkCorrect = o.topkCorrect;
    acc.brierSum = dec(o.brierSum);
    acc.entropySum = dec(o.entropySum);
    acc.reliability.count.set(arr('binCount', M));
    acc.reliability.confSum.set(arr('binConf', M));
    acc.reliability.correctSum.set(arr('binCorrect', M));
    acc.reliability.nanRows = o.binNaN ?? 0;
    acc.support.set(arr('support', C));
    acc.classCorrect.set(arr('classCorrect', C));
    acc.predicted.set(arr('predicted', C));
    acc.probSum.set(arr('probSum', C));
    acc.logitSum.set(arr('logitSum', C));
    acc.fine = null;
    if (o.fineBins !== undefined) {
      acc.fine = new FineConfidenceBins();
      acc.fine.nanRows = acc.reliability.nanRows;
      readCells(o.fineBins, FINE_BINS, acc.fine.count, acc.fine.confSum, acc.fine.correctSum, `${name}: stats.fineBins`);
    }
    acc.classwise = null;
    if (o.classwise !== undefined) {
      acc.classwise = new ClasswiseBins(C, M);
      acc.classwise.rows = o.rows;
      acc.classwise.nanRows = typeof o.classwise?.nanRows === 'number' ? o.classwise.nanRows : 0;
      readCells(o.classwise?.cells, C * M, acc.classwise.count, acc.classwise.probSum, acc.classwise.positives, `${name}: stats.classwise`);
    }
    if (o.auroc === undefined || !acc.auroc || !addAurocStats(acc.auroc, o.auroc, name)) acc.auroc = null;
    if (o.groups !== undefined) {
      if (!Array.isArray(o.groups)) throw new LogitkitError('invalid_argument', `${name}: stats.groups must be an array`, name);
      for (const g of o.groups) {
        const sums: GroupSums = acc.groups!.of(g?.id, () => `${name}: stats.groups`);
        if (sums.rows > 0) throw new LogitkitError('invalid_argument', `${name}: stats.groups lists group ${g.id} twice`, name);
        if (!Number.isSafeInteger(g.rows) || g.rows < 1) throw new LogitkitError('invalid_argument', `${name}: stats.groups[${g.id}].rows must be a positive integer`, name);
        sums.rows += g.rows;
        sums.nllSum += dec(g.nllSum);
        sums.correct += g.correct;
        sums.reliability.count.set(arr('groups', M, g.binCount));
        sums.reliability.confSum.set(arr('groups', M, g.binConf));
        sums.reliability.correctSum.set(arr('groups', M, g.binCorrect));
        sums.reliability.nanRows = g.binNaN ?? 0;
        sums.predicted.set(arr('groups', C, g.predicted));
        if (sums.binary) sums.binary.set(arr('groups', 4, g.binary));
      }
    }
    if (o.confusion === undefined) acc.confusion = null;
    else {
      if (!Array.isArray(o.confusion)) throw new LogitkitError('invalid_argument', `${name}: stats.confusion must be an array of [true, predicted, count]`, name);
      for (const cell of o.confusion) {
        const ok =
          Array.isArray(cell) && cell.length === 3 && cell.every((v) => Number.isSafeInteger(v) && v >= 0) && cell[0] < C && cell[1] < C;
        if (!ok) throw new LogitkitError('invalid_argument', `${name}: stats.confusion has a malformed cell ${JSON.stringify(cell)}`, name);
        acc.confusion!.add(cell[0], cell[1], cell[2]);
      }
    }
    if (o.alt && acc.altReliability) {
      acc.altNllSum = dec(o.alt.nllSum);
      acc.altReliability.count.set(arr('alt', M, o.alt.binCount));
      acc.altReliability.confSum.set(arr('alt', M, o.alt.binConf));
      acc.altReliability.correctSum.set(arr('alt', M, o.alt.binCorrect));
      acc.altReliability.nanRows = o.alt.binNaN ?? 0;
    }
    return acc;
  }
}
