/**
 * Argument helpers shared by the CLI commands: the common engine flags, integer/positive parsing
 * with usage errors, --bins, --report's kind, progress of a temperature fit, --debug's resource line,
 * and the --input probs warning. Usage errors are raised here before any file is opened.
 */
import { init, type Engine } from '../index.js';
import { PROB_SUM_TOLERANCE, type NpyShardSource } from '../io/npy-source.js';
import { MAX_BINS } from '../limits.js';
import { type Progress, UsageError } from './ui.js';

export const common = {
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
export function parseBins(v: string | undefined): number {
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

/**
 * Without --threads, the wasm engine of a command over at least this many bytes of float32 data runs
 * on every core (threads 'auto'); smaller inputs stay on one thread, where starting the workers would
 * cost more than it saves. Results are bit-identical either way: rows are independent and every
 * row-wise op gives a row the same bits whichever thread or block computes it (test/cli-threads-auto).
 */
export const AUTO_THREADS_MIN_BYTES = 32 << 20;

function autoThreadsMinBytes(): number {
  // LOGITKIT_AUTO_THREADS_MIN_BYTES overrides the threshold (tests use small files).
  const env = Number(process.env.LOGITKIT_AUTO_THREADS_MIN_BYTES);
  return process.env.LOGITKIT_AUTO_THREADS_MIN_BYTES !== undefined && Number.isFinite(env) && env >= 0 ? env : AUTO_THREADS_MIN_BYTES;
}

/**
 * Starts the engine; `dataBytes` (the float32 size of the input) picks threads 'auto' for large inputs.
 * Without init()'s warm-up: it tiers up the row ops for a user's first call, while a command streams
 * blocks through kernels that tier up within the first blocks, and `score`'s fused kernels are not
 * among those it warms. Measured: `score` on the sample 385 → 368 ms (one thread) and 440 → 421 ms (two),
 * medians of 15; on the 3M × 100 bench file 2.58 → 2.57 s (five runs, the noise).
 */
export async function startEngine(values: { backend?: string; threads?: string }, dataBytes?: number): Promise<Engine> {
  const o = engineOptions(values);
  if (o.threads === undefined && o.backend !== 'js' && dataBytes !== undefined && dataBytes >= autoThreadsMinBytes()) o.threads = 'auto';
  return init({ ...o, warmup: false });
}

/** One warning per run for --input probs rows that do not sum to 1 (they are used as given). */
export function warnOffRows(src: NpyShardSource): void {
  if (src.offRows > 0) {
    process.stderr.write(
      `warning: ${src.offRows.toLocaleString('en-US')} of ${src.rows.toLocaleString('en-US')} probability rows sum to more than ${PROB_SUM_TOLERANCE} away from 1; they are scored as softmax(ln p), i.e. renormalised\n`,
    );
  }
}

export function reportKind(path: string | undefined): 'html' | 'md' | null {
  if (path === undefined) return null;
  if (/\.html?$/i.test(path)) return 'html';
  if (/\.(md|markdown)$/i.test(path)) return 'md';
  throw new UsageError(`--report ${path}: expected a file ending in .html or .md`);
}

/** Progress of a temperature fit: one bar per pass over the data. */
export function fitProgress(progress: Progress): (done: number, total: number) => void {
  let pass = 1;
  return (done, total) => {
    progress.update(`fitting T (pass ${pass})`, done, total);
    if (done === total) pass++;
  };
}

export function debugStats(debug: boolean, t0: number, extra: string, lk?: Engine | null): void {
  if (!debug) return;
  const ru = process.resourceUsage();
  const threads = lk ? `, ${lk.features.threads} thread${lk.features.threads === 1 ? '' : 's'}` : '';
  process.stderr.write(`debug: maxRSS ${(ru.maxRSS / 1024).toFixed(1)} MiB, ${((Date.now() - t0) / 1000).toFixed(2)} s${threads}${extra}\n`);
}
