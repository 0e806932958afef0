/**
 * Which files a scoring command reads, from its positionals and flags: one (logits, labels) shard
 * per LOGITS file, where each file may be an .npy, an .npz or a .safetensors (src/io/arrays.ts).
 * A container given without --labels supplies its own labels (np.savez(logits=…, labels=…), netcal's
 * records); --logits-key / --labels-key pick other arrays. Usage errors only: no file is read here
 * beyond the first bytes that say what kind of file it is.
 */
import { containerOf, type Container } from '../io/arrays.js';
import type { InputKind } from '../io/npy-source.js';
import type { Shard } from '../io/npy-source.js';
import { UsageError } from './ui.js';

/** parseArgs options shared by the commands that read logits and labels. */
export const inputOptions = {
  labels: { type: 'string', multiple: true },
  'logits-key': { type: 'string' },
  'labels-key': { type: 'string' },
  input: { type: 'string' },
} as const;

export const INPUT_HELP = `Inputs: each LOGITS file is an .npy, an .npz (np.savez / np.savez_compressed) or a .safetensors
file. An .npz or .safetensors without --labels holds its own labels. Arrays are found by
--logits-key / --labels-key, else by the first pair present of logits/labels, predictions/ground_truth,
arr_0/arr_1. --input probs reads probabilities (z = ln p), --input logprobs log-probabilities.
`;

interface InputValues {
  labels?: string[];
  'logits-key'?: string;
  'labels-key'?: string;
  input?: string;
}

/** --input: what the logits files hold. */
export function inputKind(values: InputValues): InputKind {
  const v = values.input ?? 'logits';
  if (v !== 'logits' && v !== 'probs' && v !== 'logprobs') throw new UsageError(`--input ${v}: expected logits, probs or logprobs`);
  return v;
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
    return positionals.map((logits) => ({ logits, labels: logits, logitsKey, labelsKey }));
  }
  if (ls.length !== positionals.length) {
    throw new UsageError(`${command}: ${positionals.length} logits files but ${ls.length} --labels; give one --labels per logits file, in the same order`);
  }
  return positionals.map((logits, i) => ({ logits, labels: ls[i], logitsKey, labelsKey }));
}
