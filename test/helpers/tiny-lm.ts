/**
 * A tiny causal language model written from scratch for transformers.js tests — no download:
 * an ONNX graph of two layers (embedding Gather → tanh → MatMul to the vocabulary), encoded here as
 * protobuf by hand, plus config.json, generation_config.json, tokenizer.json and
 * tokenizer_config.json, in a folder laid out as the Hugging Face hub would serve it
 * (`onnx/model.onnx`). The next-token logits depend on the last token only, which is all
 * transformers.js feeds a model without a key-value cache after the first step.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { rng } from './random.js';

// ---- protobuf, the few wire types ONNX needs ----
type Field = Uint8Array;
function varint(v: number | bigint): number[] {
  let n = BigInt(v);
  if (n < 0n) n += 1n << 64n;
  const out: number[] = [];
  do {
    let b = Number(n & 0x7fn);
    n >>= 7n;
    if (n > 0n) b |= 0x80;
    out.push(b);
  } while (n > 0n);
  return out;
}
const cat = (parts: Field[]): Uint8Array => {
  const out = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
  let o = 0;
  for (const p of parts) out.set(p, o), (o += p.length);
  return out;
};
const int = (field: number, v: number | bigint): Field => Uint8Array.from([...varint(field << 3), ...varint(v)]);
const bytes = (field: number, b: Uint8Array): Field => cat([Uint8Array.from([...varint((field << 3) | 2), ...varint(b.length)]), b]);
const str = (field: number, s: string): Field => bytes(field, new TextEncoder().encode(s));
const msg = (field: number, parts: Field[]): Field => bytes(field, cat(parts));

const FLOAT = 1;
const INT64 = 7;
/** ValueInfoProto with a tensor type; a string dim is symbolic. */
const valueInfo = (field: number, name: string, elem: number, dims: (number | string)[]): Field =>
  msg(field, [
    str(1, name),
    msg(2, [msg(1, [int(1, elem), msg(2, dims.map((d) => msg(1, [typeof d === 'number' ? int(1, d) : str(2, d)])))])]),
  ]);
const tensor = (name: string, dims: number[], data: Float32Array): Field =>
  msg(5, [...dims.map((d) => int(1, d)), int(2, FLOAT), str(8, name), bytes(9, new Uint8Array(data.buffer, data.byteOffset, data.byteLength))]);
const node = (op: string, inputs: string[], outputs: string[]): Field =>
  msg(1, [...inputs.map((i) => str(1, i)), ...outputs.map((o) => str(2, o)), str(3, `${op}_0`), str(4, op)]);

/** ModelProto bytes: logits[b, s, V] = tanh(E[input_ids]) · W, E: V×H, W: H×V seeded. */
export function tinyLmOnnx(vocab: number, hidden: number, seed: number): Uint8Array {
  const r = rng(seed);
  const E = Float32Array.from({ length: vocab * hidden }, () => (r() - 0.5) * 4);
  const W = Float32Array.from({ length: hidden * vocab }, () => (r() - 0.5) * 4);
  const graph = msg(7, [
    node('Gather', ['embed', 'input_ids'], ['h0']),
    node('Tanh', ['h0'], ['h1']),
    node('MatMul', ['h1', 'lm_head'], ['logits']),
    str(2, 'tiny-lm'),
    tensor('embed', [vocab, hidden], E),
    tensor('lm_head', [hidden, vocab], W),
    valueInfo(11, 'input_ids', INT64, ['batch', 'sequence']),
    valueInfo(11, 'attention_mask', INT64, ['batch', 'sequence']),
    valueInfo(12, 'logits', FLOAT, ['batch', 'sequence', vocab]),
  ]);
  return cat([int(1, 8), str(2, 'logitkit-test'), graph, msg(8, [str(1, ''), int(2, 17)])]);
}

/** Token i is the word `w<i>`, except 0 = <eos> and 1 = <bos>. */
export function tinyLmWords(vocab: number): string[] {
  return Array.from({ length: vocab }, (_, i) => (i === 0 ? '<eos>' : i === 1 ? '<bos>' : `w${i}`));
}

/** Writes the model folder; returns its path. */
export function writeTinyLm(dir: string, { vocab = 96, hidden = 8, seed = 7 } = {}): string {
  mkdirSync(join(dir, 'onnx'), { recursive: true });
  writeFileSync(join(dir, 'onnx', 'model.onnx'), tinyLmOnnx(vocab, hidden, seed));
  const json = (name: string, v: unknown): void => writeFileSync(join(dir, name), JSON.stringify(v, null, 2));
  json('config.json', {
    model_type: 'llama',
    architectures: ['LlamaForCausalLM'],
    vocab_size: vocab,
    hidden_size: hidden,
    num_hidden_layers: 0,
    num_attention_heads: 1,
    num_key_value_heads: 1,
    bos_token_id: 1,
    eos_token_id: 0,
    use_cache: false,
  });
  json('generation_config.json', { bos_token_id: 1, eos_token_id: 0, do_sample: false, max_new_tokens: 16 });
  const words = tinyLmWords(vocab);
  json('tokenizer.json', {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: [
      { id: 0, content: '<eos>', single_word: false, lstrip: false, rstrip: false, normalized: false, special: true },
      { id: 1, content: '<bos>', single_word: false, lstrip: false, rstrip: false, normalized: false, special: true },
    ],
    normalizer: null,
    pre_tokenizer: { type: 'Whitespace' },
    post_processor: null,
    decoder: { type: 'WordPiece', prefix: '##', cleanup: true },
    model: { type: 'WordLevel', vocab: Object.fromEntries(words.map((w, i) => [w, i])), unk_token: '<eos>' },
  });
  json('tokenizer_config.json', { tokenizer_class: 'PreTrainedTokenizerFast', bos_token: '<bos>', eos_token: '<eos>', unk_token: '<eos>', model_max_length: 1024 });
  return dir;
}
