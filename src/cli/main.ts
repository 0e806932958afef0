/**
 * The `logitkit` command: dispatch, help, and the error → exit-code contract.
 *
 * Exit 0 on success, 2 on a usage error (unknown command or option, missing or malformed argument),
 * 1 on a runtime error (unreadable or malformed file, mismatched shapes, bad labels). Errors print one
 * line, `logitkit: <message>`, on stderr; `--debug` adds the stack trace.
 */
import { mergeCommand, MERGE_HELP } from './merge.js';
import { calibrateCommand, CALIBRATE_HELP, scoreCommand, SCORE_HELP } from './score.js';
import { TRANSFORM_HELP, TRANSFORM_USAGE, transformCommand, TRANSFORMS, type TransformName } from './transform.js';
import { UsageError } from './ui.js';
import { fitCommand, FIT_HELP } from './fit.js';
import { shiftCommand, SHIFT_HELP } from './shift.js';
import { conformalCommand, CONFORMAL_HELP, oodCommand, OOD_HELP, predictCommand, PREDICT_HELP } from './uncertainty.js';

export const HELP = `usage: logitkit <command> [options]

commands:
  score      LOGITS.npy --labels LABELS.npy   accuracy, NLL, ECE, Brier, per-class bias; --json, --report
  calibrate  LOGITS.npy --labels LABELS.npy   fit a temperature; NLL and ECE before and after
  fit        LOGITS.npy --labels LABELS.npy   fit a recalibration map (bcts, vector, matrix, temperature)
  shift      SRC.npy --labels L.npy --target T.npy  estimate the target's class priors; a correcting map
  merge      A.json B.json ...                combine 'score --json' outputs of shards exactly
  conformal  CALIB.npy --labels Y.npy -o M.json  calibrate conformal prediction sets (lac, aps, raps)
  ood        ID.npy --ood OOD.npy             AUROC, AUPR, FPR@95 of OOD scores (energy, msp, …)
  predict    LOGITS.npy -o OUT.jsonl|OUT.csv  per row: prediction, confidence, conformal set, OOD score
  softmax | logsumexp | sigmoid | argmax | topk  IN.npy -o OUT.npy
  bench      [--quick] [--json]               the performance comparison on this machine

Run 'logitkit <command> --help' for the options of a command.
`;

async function runBenchCommand(argv: string[]): Promise<number> {
  let mod: { runBench?: (argv: string[]) => Promise<number> };
  try {
    // A literal specifier, so bundlers see the chunk; lazy, so every other command starts without it.
    mod = await import('./bench.js');
  } catch {
    throw new Error('bench is not available in this build (dist/cli/bench.js is missing)');
  }
  if (typeof mod.runBench !== 'function') throw new Error('bench is not available in this build (no runBench export)');
  return mod.runBench(argv);
}

async function dispatch(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case undefined:
      process.stderr.write(HELP);
      return 2;
    case '-h':
    case '--help':
    case 'help':
      process.stdout.write(HELP);
      return 0;
    case '--version':
    case '-v':
      process.stdout.write('logitkit 0.1.0\n');
      return 0;
    case 'score':
      return scoreCommand(rest);
    case 'calibrate':
      return calibrateCommand(rest);
    case 'merge':
      return mergeCommand(rest);
    case 'fit':
      return fitCommand(rest);
    case 'shift':
      return shiftCommand(rest);
    case 'conformal':
      return conformalCommand(rest);
    case 'ood':
      return oodCommand(rest);
    case 'predict':
      return predictCommand(rest);
    case 'bench':
      return runBenchCommand(rest);
    default:
      if ((TRANSFORMS as readonly string[]).includes(command)) return transformCommand(command as TransformName, rest);
      throw new UsageError(`unknown command '${command}' (expected score, calibrate, fit, shift, merge, conformal, ood, predict, ${TRANSFORMS.join(', ')} or bench)`);
  }
}

function helpFor(command: string | undefined): string {
  if (command === 'score') return SCORE_HELP;
  if (command === 'calibrate') return CALIBRATE_HELP;
  if (command === 'merge') return MERGE_HELP;
  if (command === 'fit') return FIT_HELP;
  if (command === 'shift') return SHIFT_HELP;
  if (command === 'conformal') return CONFORMAL_HELP;
  if (command === 'ood') return OOD_HELP;
  if (command === 'predict') return PREDICT_HELP;
  if (command && (TRANSFORMS as readonly string[]).includes(command)) return TRANSFORM_HELP;
  return HELP;
}

/** The usage line printed under a usage error: the failing command's own. */
function usageLine(command: string | undefined): string {
  if (command && (TRANSFORMS as readonly string[]).includes(command)) return `usage: ${TRANSFORM_USAGE[command as TransformName]}`;
  return helpFor(command).split('\n')[0];
}

/** Runs the CLI; resolves to the process exit code (never throws). */
export async function main(argv: string[]): Promise<number> {
  const debug = argv.includes('--debug');
  try {
    return await dispatch(argv);
  } catch (e) {
    const err = e as Error & { code?: string };
    const isUsage = e instanceof UsageError || (typeof err.code === 'string' && err.code.startsWith('ERR_PARSE_ARGS'));
    const message = String(err?.message ?? e).split('\n')[0];
    process.stderr.write(`logitkit: ${message}\n`);
    if (isUsage) process.stderr.write(`${usageLine(argv[0])}\n`);
    if (debug && err?.stack) process.stderr.write(`${err.stack}\n`);
    return isUsage ? 2 : 1;
  }
}
