import { readFileSync } from 'node:fs';
/**
 * Terminal plumbing for the CLI: usage errors, a progress bar that only appears on an interactive
 * stderr for long work, number formatting for human tables, and atomic file writes.
 */
import { writeFailure, writeFileAtomic as writeAtomic } from '../io/atomic.js';
import { parseArgs, type ParseArgsConfig } from 'node:util';

/** A mistake in the command line itself: exit code 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** Edit distance with adjacent transpositions (optimal string alignment), for option suggestions. */
function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [i, ...new Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0][j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[a.length][b.length];
}

/** The known option closest to a mistyped one: a prefix of it, or within a third of its length in edits. */
export function closestOption(given: string, known: readonly string[]): string | null {
  const g = given.replace(/^-+/, '').split('=')[0];
  if (g.length === 0) return null;
  let best: string | null = null;
  let bestD = Infinity;
  for (const k of known) {
    const d = k.startsWith(g) && g.length >= 2 ? 0.5 : editDistance(g, k);
    if (d < bestD) [best, bestD] = [k, d];
  }
  return best !== null && bestD <= Math.max(1, Math.floor(g.length / 3)) ? best : null;
}

/**
 * node:util parseArgs with the command's own wording for its errors: node's unknown-option text ends
 * in an unbalanced quote and never says which command or what was meant.
 */
type CommandArgs<O extends Options> = ReturnType<typeof parseArgs<{ args: string[]; allowPositionals: true; options: O; strict: true }>>;
type Options = NonNullable<ParseArgsConfig['options']>;

export function parseCommandArgs<O extends Options>(command: string, args: string[], options: O): CommandArgs<O> {
  try {
    return parseArgs({ args, allowPositionals: true, options, strict: true });
  } catch (e) {
    const err = e as Error & { code?: string };
    if (err.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
      const given = /'([^']*)'/.exec(err.message)?.[1] ?? '?';
      const near = closestOption(given, Object.keys(options));
      throw new UsageError(
        near
          ? `${command}: unknown option '${given}' (did you mean '--${near}'?)`
          : `${command}: unknown option '${given}'; 'logitkit ${command} --help' lists the options (a file name starting with '-' goes after '--': logitkit ${command} -- ${given})`,
      );
    }
    if (typeof err.code === 'string' && err.code.startsWith('ERR_PARSE_ARGS')) throw new UsageError(`${command}: ${err.message.split('\n')[0]}`);
    throw e;
  }
}

/**
 * Progress on stderr: drawn only when stderr is a TTY, not in --json mode, and once the work has run
 * for more than `delayMs` (short jobs stay silent). Redraws at most every 100 ms.
 */
export class Progress {
  private readonly enabled: boolean;
  private readonly started = Date.now();
  private lastDraw = 0;
  private drawn = false;

  private readonly delayMs: number;

  constructor(enabled: boolean) {
    this.enabled = enabled && process.stderr.isTTY === true;
    // Jobs shorter than a second stay silent; LOGITKIT_PROGRESS_DELAY_MS overrides that (tests use 0).
    const env = Number(process.env.LOGITKIT_PROGRESS_DELAY_MS);
    this.delayMs = Number.isFinite(env) && env >= 0 ? env : 1000;
  }

  update(label: string, done: number, total: number): void {
    if (!this.enabled) return;
    const now = Date.now();
    if (now - this.started < this.delayMs || now - this.lastDraw < 100) return;
    this.lastDraw = now;
    const width = 30;
    const frac = total > 0 ? Math.min(1, done / total) : 1;
    const filled = Math.round(frac * width);
    const bar = '█'.repeat(filled) + '░'.repeat(width - filled);
    process.stderr.write(`\r${label.padEnd(22)} ${bar} ${(frac * 100).toFixed(0).padStart(3)}%  ${done.toLocaleString('en-US')}/${total.toLocaleString('en-US')} rows`);
    this.drawn = true;
  }

  finish(): void {
    if (this.drawn) process.stderr.write('\r\x1b[2K');
    this.drawn = false;
  }
}

/** Writes a text output (JSON, report, map) atomically (io/atomic.ts), with the CLI's wording on failure. */
export function writeFileAtomic(path: string, text: string): void {
  try {
    writeAtomic(path, text);
  } catch (e) {
    throw new Error(`${path}: cannot write (${writeFailure(e)})`);
  }
}

/** Human formatting: fixed significant digits, NaN shown as "nan". */
export function fmt(v: number | null | undefined, digits = 4): string {
  if (v === null || v === undefined || Number.isNaN(v)) return 'nan';
  if (!Number.isFinite(v)) return v > 0 ? 'inf' : '-inf';
  if (v !== 0 && (Math.abs(v) >= 1e6 || Math.abs(v) < 1e-4)) return v.toExponential(digits - 1);
  return Number(v.toPrecision(digits)).toString();
}

export function pct(v: number | null | undefined, digits = 2): string {
  if (v === null || v === undefined || Number.isNaN(v)) return 'nan';
  return `${(v * 100).toFixed(digits)}%`;
}

/** Left-aligned first column, right-aligned others. */
export function table(header: string[], rows: string[][]): string {
  const w = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (r: string[]) => r.map((c, i) => (i === 0 ? c.padEnd(w[i]) : c.padStart(w[i]))).join('  ');
  return [line(header), ...rows.map(line)].join('\n');
}

/** A text file the user named (a map, a model): an unreadable one is a runtime error naming it. */
export function readTextFile(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (e) {
    throw new Error(`${file}: cannot read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
}
