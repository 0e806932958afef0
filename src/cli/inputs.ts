/**
 * Which files a scoring command reads, from its positionals and flags: one (logits, labels) shard
 * per LOGITS file, where each file may be an .npy, an .npz or a .safetensors (src/io/arrays.ts).
 * A container given without --labels supplies its own labels (np.savez(logits=…, labels=…), netcal's
 * records); --logits-key / --labels-key pick other arrays. Usage errors only: no file is read here
 * beyond the first bytes that say what kind of file it is.
 */
import { readFileSync, statSync } from 'node:fs';
import { arrayNames, containerOf, type Container } from '../io/arrays.js';
import { PROB_SUM_TOLERANCE, type InputKind, type NpyShardSource, type Shard } from '../io/npy-source.js';
import { UsageError } from './ui.js';

/** parseArgs options shared by the commands that read logits and labels. */
export const inputOptions = {
  labels: { type: 'string', multiple: true },
  'logits-key': { type: 'string' },
  'labels-key': { type: 'string' },
  input: { type: 'string' },
  'class-names': { type: 'string' },
  groups: { type: 'string', multiple: true },
} as const;

export const INPUT_HELP = `Inputs: each LOGITS file is an .npy, an .npz (np.savez / np.savez_compressed) or a .safetensors
file. An .npz or .safetensors without --labels holds its own labels. Arrays are found by
--logits-key / --labels-key, else by the first pair present of logits/labels, predictions/ground_truth,
arr_0/arr_1. --input probs reads probabilities (z = ln p), --input logprobs log-probabilities,
--input logits logits; the default, --input auto, reads probabilities when every row of the first
block is in [0, 1] and sums to 1 (± 0.001), log-probabilities when their exp does, else logits, and
says so on stderr and in the JSON ("input", "inputDetected"). --multilabel takes logits unless told.
--class-names FILE names the classes (one per line, or a JSON array) in every table and the JSON.
--groups FILE|KEY gives each row an integer group id (slices: figures per group and their gaps): an
.npy per logits file, or the name of an array inside each .npz / .safetensors.
`;

interface InputValues {
  labels?: string[];
  groups?: string[];
  'logits-key'?: string;
  'labels-key'?: string;
  input?: string;
}

/** --input where it cannot be detected (--multilabel: a label's p looks like a logit): what the files hold. */
export function inputKind(values: InputValues): InputKind {
  const v = values.input ?? 'logits';
  if (v === 'auto') throw new UsageError('--input auto: not with --multilabel (per-label probabilities have no row sum to be told from logits by); give --input probs, logprobs or logits');
  if (v !== 'logits' && v !== 'probs' && v !== 'logprobs') throw new UsageError(`--input ${v}: expected logits, probs or logprobs`);
  return v;
}

/** --input for score and calibrate: 'auto' (the default) detects probabilities and log-probabilities. */
export function inputChoice(values: InputValues): InputKind | 'auto' {
  const v = values.input ?? 'auto';
  if (v !== 'auto' && v !== 'logits' && v !== 'probs' && v !== 'logprobs') throw new UsageError(`--input ${v}: expected auto, logits, probs or logprobs`);
  return v;
}

const KIND_NAMES: Record<InputKind, string> = { logits: 'logits', probs: 'probabilities', logprobs: 'log-probabilities' };

/**
 * Opens the source as `choice` says; for 'auto', detects what the first block holds and says so
 * on stderr when it is not logits. Returns what the rows are scored as, and whether it was detected.
 */
export function resolveInput(src: NpyShardSource, choice: InputKind | 'auto', command: string): { kind: InputKind; detected: boolean } {
  if (choice !== 'auto') return { kind: choice, detected: false };
  const kind = src.detectInput();
  if (kind !== 'logits') {
    process.stderr.write(
      `${command}: ${src.shards[0]!.logits.path} holds ${KIND_NAMES[kind]} (every row of its first 4 MiB ${kind === 'probs' ? 'in [0, 1], summing' : '≤ 0, its exp summing'} to 1 ± ${PROB_SUM_TOLERANCE}); scored as --input ${kind}${kind === 'probs' ? '. --input logits reads them as logits' : ' (log-probabilities are logits: the figures are the same)'}\n`,
    );
  }
  return { kind, detected: true };
}

export function shardsOf(positionals: string[], values: InputValues, command: string): Shard[] {
  if (positionals.length === 0) throw new UsageError(`${command}: missing LOGITS.npy (or an .npz / .safetensors file)`);
  const ls = values.labels ?? [];
  const logitsKey = values['logits-key'];
  const labelsKey = values['labels-key'];
  const kinds: Container[] = positionals.map((p) => containerOf(p));
  if (ls.length === 0) {
    const npy = positionals.filter((_, i) => kinds[i] === 'npy');
    if (npy.length > 0) {
      throw new UsageError(`${command}: missing --labels LABELS.npy for ${npy.join(', ')} (only an .npz or .safetensors file can hold its own labels)`);
    }
    return withGroups(positionals.map((logits) => ({ logits, labels: logits, logitsKey, labelsKey })), values.groups, command);
  }
  if (ls.length !== positionals.length) {
    throw new UsageError(`${command}: ${positionals.length} logits files but ${ls.length} --labels; give one --labels per logits file, in the same order`);
  }
  return withGroups(positionals.map((logits, i) => ({ logits, labels: ls[i], logitsKey, labelsKey })), values.groups, command);
}

function isFile(p: string): boolean {
  try {
    return statSync(p).isFile();
  } catch {
    return false;
  }
}

/** --groups: a file per shard, or the name of an array inside each shard's own container. */
function withGroups(shards: Shard[], groups: string[] | undefined, command: string): Shard[] {
  if (!groups || groups.length === 0) return shards;
  if (groups.length !== 1 && groups.length !== shards.length) {
    throw new UsageError(`${command}: ${shards.length} logits files but ${groups.length} --groups; give one --groups file per logits file, or one array name`);
  }
  return shards.map((s, i) => {
    const g = groups.length === 1 ? groups[0] : groups[i];
    if (groups.length === shards.length && isFile(g)) return { ...s, groups: g };
    if (containerOf(s.logits) !== 'npy' && arrayNames(s.logits).includes(g)) return { ...s, groups: s.logits, groupsKey: g };
    if (isFile(g)) throw new UsageError(`${command}: --groups ${g} is one file for ${shards.length} logits files; give one --groups file per logits file`);
    throw new UsageError(`${command}: --groups ${g}: no such file, and ${s.logits} holds no array '${g}'`);
  });
}

/**
 * --class-names FILE: one name per line (a trailing empty line is ignored), or a JSON array of
 * strings. There must be exactly one name per class.
 */
export function readClassNames(file: string, classes: number): string[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new Error(`${file}: cannot read the class names (${code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory' : (code ?? String(e))})`);
  }
  let names: unknown;
  if (text.trimStart().startsWith('[')) {
    try {
      names = JSON.parse(text);
    } catch (e) {
      throw new Error(`${file}: class names look like a JSON array but do not parse (${(e as Error).message})`);
    }
    if (!Array.isArray(names) || !names.every((n) => typeof n === 'string')) throw new Error(`${file}: the JSON must be an array of strings`);
  } else {
    names = text.replace(/\r\n/g, '\n').replace(/\n$/, '').split('\n');
  }
  const list = names as string[];
  if (list.length !== classes) throw new Error(`${file}: ${list.length} class names, but the logits have ${classes} classes`);
  return list;
}
