/**
 * The transformers.js processor inside transformers.js' own generate() loop: @huggingface/transformers
 * (onnxruntime-node underneath) runs a tiny causal LM written by test/helpers/tiny-lm.ts into a temp
 * folder — no download (env.allowRemoteModels = false) — with createLogitsProcessor in its
 * logits_processor list. 'sample' mode must give lk.sampler's tokens step for step (lk.sampler fed
 * the same model's logits, computed by a separate forward pass), with every issue-25 option on;
 * 'filter' mode under transformers.js' greedy search must give argmax of lk.filterLogits with the
 * history.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeEachBackend } from './helpers/backends.js';
import { writeTinyLm } from './helpers/tiny-lm.js';
import { createLogitsProcessor, type LogitsProcessorOptions } from '../src/interop.js';

const VOCAB = 96;
const PROMPT = [1, 5, 9, 5, 9, 5];
const NEW = 14;
const root = mkdtempSync(join(tmpdir(), 'logitkit-tiny-lm-'));
const modelDir = writeTinyLm(join(root, 'tiny-lm'), { vocab: VOCAB });
afterAll(() => rmSync(root, { recursive: true, force: true }));

type TF = typeof import('@huggingface/transformers');
let tf: TF;
let model: Awaited<ReturnType<TF['AutoModelForCausalLM']['from_pretrained']>>;
let tokenizer: Awaited<ReturnType<TF['AutoTokenizer']['from_pretrained']>>;
beforeAll(async () => {
  tf = await import('@huggingface/transformers');
  tf.env.allowRemoteModels = false;
  tf.env.localModelPath = dirname(modelDir) + '/';
  tokenizer = await tf.AutoTokenizer.from_pretrained(basename(modelDir));
  model = await tf.AutoModelForCausalLM.from_pretrained(basename(modelDir), { dtype: 'fp32', device: 'cpu' });
}, 60_000);

/** The model's next-token logits after `history`, by a forward pass of its own (not generate()'s). */
async function nextLogits(history: number[]): Promise<Float32Array> {
  const ids = new tf.Tensor('int64', BigInt64Array.from(history.map(BigInt)), [1, history.length]);
  const mask = new tf.Tensor('int64', new BigInt64Array(history.length).fill(1n), [1, history.length]);
  const { logits } = (await model({ input_ids: ids, attention_mask: mask })) as { logits: { data: Float32Array; dims: number[] } };
  const V = logits.dims.at(-1)!;
  return logits.data.slice(logits.data.length - V);
}

async function generate(processor: unknown, prompt: number[]): Promise<number[]> {
  const input_ids = new tf.Tensor('int64', BigInt64Array.from(prompt.map(BigInt)), [1, prompt.length]);
  const attention_mask = new tf.Tensor('int64', new BigInt64Array(prompt.length).fill(1n), [1, prompt.length]);
  const out = (await model.generate({ input_ids, attention_mask, max_new_tokens: NEW, do_sample: false, logits_processor: [processor] } as never)) as { tolist(): bigint[][] };
  return out.tolist()[0]!.map(Number).slice(prompt.length);
}

const unconditional = (h: Int32Array): Float32Array => {
  // A history-dependent "unconditional" row: cheap, deterministic, different from the model's.
  const u = new Float32Array(VOCAB);
  for (let j = 0; j < VOCAB; j++) u[j] = Math.sin(j * 0.7 + h.length);
  return u;
};

/** Every issue-25 option at once (mirostat separately: it is the draw). */
const ALL: LogitsProcessorOptions = {
  seed: 2024,
  temperature: 0.9,
  topK: 40,
  topP: 0.95,
  repetitionPenalty: 1.1,
  frequencyPenalty: 0.2,
  dry: { multiplier: 0.8, base: 1.75, allowedLength: 2, sequenceBreakers: Int32Array.of(3) },
  noRepeatNgramSize: 3,
  badWords: [Int32Array.of(7), Int32Array.of(9, 11)],
  sequenceBias: [[Int32Array.of(12), 1.5], [Int32Array.of(5, 13), -2]],
  minTokens: { count: 6, stopTokens: Int32Array.of(0) },
  thinkingBudget: { start: Int32Array.of(20), end: Int32Array.of(21, 22), budget: 3 },
  dynamicTemperature: { range: 0.3 },
  softCap: 30,
  guidance: { scale: 1.5, unconditional },
};

describeEachBackend('transformers.js generate() with the logitkit processor', (lk) => {
  it("'sample' mode gives lk.sampler's tokens step for step, every new option on", async () => {
    for (const [label, opts] of [
      ['all rules', ALL],
      ['mirostat v2', { seed: 5, mirostat: { version: 2, tau: 3, eta: 0.2 }, dry: { multiplier: 1 }, minTokens: { count: 4, stopTokens: Int32Array.of(0) } }],
      ['mirostat v1', { seed: 6, mirostat: { version: 1, tau: 4 }, noRepeatNgramSize: 2 }],
      // The prompt opens thinking: the budget runs from the prompt's start token.
      ['thinking from the prompt', { seed: 8, thinkingBudget: { start: Int32Array.of(9), end: Int32Array.of(30, 31), budget: 2 }, minTokens: { count: 6, stopTokens: Int32Array.of(0) } }],
    ] as Array<[string, LogitsProcessorOptions]>) {
      const got = await generate(createLogitsProcessor(lk(), { ...opts, mode: 'sample' }), PROMPT);
      const { seed, guidance, ...rest } = opts;
      const sampler = lk().sampler({
        vocab: VOCAB,
        prompt: Int32Array.from(PROMPT),
        seed: seed!,
        ...rest,
        ...(guidance ? { guidance: { scale: guidance.scale, unconditional: (h: Int32Array) => (guidance.unconditional as typeof unconditional)(h) } } : {}),
      } as never);
      const want: number[] = [];
      while (want.length < NEW) {
        const t = sampler.sample(await nextLogits([...PROMPT, ...want]));
        want.push(t);
        if (t === 0) break; // eos: generate() stops there too
      }
      expect(got, label).toEqual(want);
      if (process.env.SHOW_TOKENS) console.log(label, got.join(' '));
      expect(new Set(got).size, `${label}: not one token repeated`).toBeGreaterThan(2);
    }
  }, 120_000);

  it('inside generate(): the thinking budget forces its end sequence, minTokens holds eos back, eos then stops the loop', async () => {
    // The prompt ends with the start token; the end sequence (21, 22) is pushed far down and eos far
    // up, so only the rules can explain the tokens: 3 free, 21 22 forced, eos banned until 6 are out.
    const p = createLogitsProcessor(lk(), {
      mode: 'sample',
      seed: 3,
      logitBias: { 0: 50, 21: -100 },
      thinkingBudget: { start: Int32Array.of(20), end: Int32Array.of(21, 22), budget: 3 },
      minTokens: { count: 6, stopTokens: Int32Array.of(0) },
    });
    const got = await generate(p, [...PROMPT, 20]);
    expect(got.length).toBe(7);
    expect(got.slice(3, 5)).toEqual([21, 22]);
    expect(got.slice(0, 6)).not.toContain(0);
    expect(got[6]).toBe(0);
  }, 60_000);

  it("'filter' mode under transformers.js' greedy search gives argmax of lk.filterLogits with the history", async () => {
    const { seed: _seed, minTokens: _m, ...opts } = ALL;
    const got = await generate(createLogitsProcessor(lk(), { ...opts, topK: 0, topP: 1, temperature: 1 }), PROMPT);
    const want: number[] = [];
    while (want.length < NEW) {
      const history = Int32Array.from([...PROMPT, ...want]);
      const f = lk().filterLogits(await nextLogits(Array.from(history)), VOCAB, { ...opts, topK: 0, topP: 1, temperature: 1, history, guidance: { scale: 1.5, unconditional: unconditional(history) } });
      let best = 0;
      for (let j = 1; j < VOCAB; j++) if (f[j]! > f[best]!) best = j;
      want.push(best);
      if (best === 0) break;
    }
    expect(got).toEqual(want);
    // The tokenizer the folder ships decodes what was generated.
    expect(tokenizer.decode(got.filter((t) => t > 1), { skip_special_tokens: true })).toBe(got.filter((t) => t > 1).map((t) => `w${t}`).join(' '));
  }, 60_000);

  it('mirostat in filter mode is refused at creation', () => {
    expect(() => createLogitsProcessor(lk(), { mirostat: { version: 2 } })).toThrow(expect.objectContaining({ code: 'invalid_argument', argument: 'options.mirostat' }));
  });
});
