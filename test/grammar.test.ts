/**
 * logitkit/grammar end to end: JSON schemas compiled by XGrammar for gpt-tokenizer's o200k
 * vocabulary (200 007 ids), documents drawn from random logits under the per-step bitmask, every
 * document decoded, parsed and validated (ajv) against its schema.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { Ajv } from 'ajv';
import ranks from 'gpt-tokenizer/bpeRanks/o200k_base';
import { init, LogitkitError, type Engine } from '../src/index.js';
import { GrammarSampler, GrammarVocabulary, sampleConstrained, type GrammarConstraint } from '../src/grammar.js';
import { splitMix32 } from '../src/engine.js';

/** o200k_base: ranks 0..199997 (199998 unused), then <|endoftext|> = 199999 … <|endofprompt|> = 200006. */
const VOCAB = 200_007;
const EOT = 199_999;

const SCHEMAS = {
  person: {
    type: 'object',
    properties: {
      name: { type: 'string', maxLength: 12 },
      // XGrammar 0.1.27 enforces integer ranges only up to a power of ten: maximum 120 compiles to
      // "1" [0-2] [0-9] and lets 126 through (docs/grammar.md), so this range stays exact.
      age: { type: 'integer', minimum: 0, maximum: 99 },
      tags: { type: 'array', items: { enum: ['a', 'b', 'c'] }, maxItems: 3 },
    },
    required: ['name', 'age', 'tags'],
  },
  nested: {
    type: 'object',
    properties: {
      id: { type: 'integer', minimum: 1, maximum: 9999 },
      active: { type: 'boolean' },
      kind: { enum: ['x', 'y', null] },
      point: {
        type: 'object',
        properties: { x: { type: 'integer', minimum: -50, maximum: 50 }, y: { type: 'integer', minimum: -50, maximum: 50 } },
        required: ['x', 'y'],
      },
    },
    required: ['id', 'active', 'kind', 'point'],
  },
  orders: {
    type: 'array',
    minItems: 1,
    maxItems: 3,
    items: {
      type: 'object',
      properties: { sku: { type: 'string', pattern: '^[A-Z]{3}-[0-9]{2}$' }, qty: { type: 'integer', minimum: 1, maximum: 99 } },
      required: ['sku', 'qty'],
    },
  },
} as const;

const utf8 = new TextEncoder();
function bytesOf(tokens: number[]): Uint8Array {
  const out: number[] = [];
  for (const t of tokens) {
    const r = ranks[t];
    expect(r, `token ${t} has bytes`).toBeDefined();
    out.push(...(typeof r === 'string' ? utf8.encode(r) : r!));
  }
  return Uint8Array.from(out);
}

/**
 * Fresh uniform(−4, 4) logits: xorshift32 inline (a closure call per value would cost more than the
 * step it feeds at 200k values). Returns a function that refills `x` and keeps its state.
 */
function noiseFiller(seed: number): (x: Float32Array) => void {
  let s = seed >>> 0 || 1;
  return (x) => {
    for (let i = 0; i < x.length; i++) {
      s ^= s << 13;
      s ^= s >>> 17;
      s ^= s << 5;
      x[i] = ((s >>> 0) / 4294967296 - 0.5) * 8;
    }
  };
}

/** One document: fresh random logits each step, the grammar's mask, lk.sample. */
async function generate(lk: Engine, c: GrammarConstraint, seed: number, maxTokens = 300): Promise<number[]> {
  const fill = noiseFiller(seed);
  const random = splitMix32(seed);
  const x = new Float32Array(VOCAB);
  const tokens: number[] = [];
  while (!c.done) {
    if (tokens.length === maxTokens) throw new Error(`no stop token after ${maxTokens} tokens: ${new TextDecoder().decode(bytesOf(tokens))}`);
    fill(x);
    tokens.push(await sampleConstrained(lk, c, x, { random }));
  }
  return tokens;
}

describe('logitkit/grammar with o200k', () => {
  let vocabulary: GrammarVocabulary;
  let wasm: Engine;
  let js: Engine;
  beforeAll(async () => {
    vocabulary = await GrammarVocabulary.create({ tokens: ranks, vocab: VOCAB, stopTokens: [EOT] });
    wasm = await init({ backend: 'wasm' });
    js = await init({ backend: 'js' });
    expect(wasm.backend).toBe('wasm');
  }, 120_000);

  for (const [name, schema] of Object.entries(SCHEMAS))
    it(`50 documents from random logits for '${name}' all parse and validate`, async () => {
      const validate = new Ajv({ strict: true }).compile(schema);
      const grammar = await vocabulary.jsonSchema(schema);
      const decoder = new TextDecoder('utf-8', { fatal: true });
      const seen = new Set<string>();
      for (let d = 0; d < 50; d++) {
        const c = await grammar.constraint();
        const tokens = await generate(wasm, c, 1000 * d + name.length);
        // The document ends with the stop token and nowhere else.
        expect(tokens.at(-1)).toBe(EOT);
        expect(tokens.slice(0, -1).includes(EOT)).toBe(false);
        const text = decoder.decode(bytesOf(tokens.slice(0, -1)));
        const doc: unknown = JSON.parse(text);
        expect(validate(doc), `${text}: ${JSON.stringify(validate.errors)}`).toBe(true);
        seen.add(text);
        c.dispose();
      }
      // Random logits, not one document 50 times.
      expect(seen.size).toBeGreaterThan(40);
      grammar.dispose();
    }, 300_000);

  it('the js and wasm backends draw the same documents for the same seed', async () => {
    const grammar = await vocabulary.jsonSchema(SCHEMAS.nested);
    for (const seed of [3, 4]) {
      const a = await grammar.constraint();
      const b = await grammar.constraint();
      expect(await generate(js, b, seed)).toEqual(await generate(wasm, a, seed));
    }
  }, 120_000);

  it('the mask allows exactly what the grammar accepts, and a refused token leaves the state unchanged', async () => {
    const grammar = await vocabulary.jsonSchema(SCHEMAS.orders);
    const c = await grammar.constraint();
    const mask = await c.mask();
    expect(mask.length).toBe(Math.ceil(VOCAB / 32));
    const allowed: number[] = [];
    for (let t = 0; t < VOCAB; t++) if ((mask[t >> 5]! >>> (t & 31)) & 1) allowed.push(t);
    // An array of objects starts with '[' — every allowed token's text starts so, and '[' itself is one.
    expect(allowed.length).toBeGreaterThan(0);
    expect(allowed.every((t) => typeof ranks[t] === 'string' && (ranks[t] as string).startsWith('['))).toBe(true);
    expect(allowed).toContain(ranks.indexOf('['));
    expect(allowed).not.toContain(EOT);
    const brace = ranks.indexOf('{');
    expect(() => c.accept(brace)).toThrow(expect.objectContaining({ code: 'invalid_argument', argument: 'token' }));
    expect(() => c.accept(VOCAB)).toThrow(expect.objectContaining({ code: 'target_out_of_range' }));
    expect(await c.mask()).toEqual(mask);
    // A token from the mask is accepted; rollBack returns to the first mask.
    c.accept(ranks.indexOf('['));
    expect(await c.mask()).not.toEqual(mask);
    c.rollBack(1);
    expect(await c.mask()).toEqual(mask);
    expect(() => c.rollBack(1)).toThrow(LogitkitError);
  });

  it('options.tokenBitmask joins the grammar mask: both must allow the token', async () => {
    const grammar = await vocabulary.jsonSchema({ type: 'integer' });
    const c = await grammar.constraint();
    const mask = await c.mask();
    const quote: number[] = [];
    for (let t = 0; t < VOCAB; t++) if ((mask[t >> 5]! >>> (t & 31)) & 1) quote.push(t);
    // '-', the digits and o200k's many-digit tokens.
    expect(quote.length).toBeGreaterThan(10);
    // Allow only one of the grammar's tokens: it must be drawn, whatever the logits say.
    const only = new Int32Array(mask.length);
    const pick = quote.at(-1)!;
    only[pick >> 5] = 1 << (pick & 31);
    const x = new Float32Array(VOCAB);
    x[quote[0]!] = 50;
    expect(await sampleConstrained(wasm, c, x, { seed: 1, tokenBitmask: only })).toBe(pick);
    await expect(sampleConstrained(wasm, c, x, { tokenBitmask: new Int32Array(3) })).rejects.toMatchObject({ code: 'shape_mismatch' });
  });

  it('GrammarSampler: lk.sampler under the grammar equals the one-step loop (history, same stream), and Mirostat documents validate', async () => {
    const grammar = await vocabulary.jsonSchema(SCHEMAS.person);
    const validate = new Ajv().compile(SCHEMAS.person);
    const opts = { topK: 40, repetitionPenalty: 1.2, dry: { multiplier: 0.8 }, noRepeatNgramSize: 3 };
    for (const lk of [wasm, js]) {
      const gs = await GrammarSampler.create(lk, grammar, { vocab: VOCAB, seed: 11, prompt: Int32Array.of(5, 6, 7), ...opts });
      const ref = await grammar.constraint();
      const random = splitMix32(11);
      const fill = noiseFiller(11);
      const x = new Float32Array(VOCAB);
      const history = [5, 6, 7];
      while (!gs.done) {
        expect(history.length).toBeLessThan(300);
        fill(x);
        const want = lk.sample(x, VOCAB, { ...opts, history: Int32Array.from(history), tokenBitmask: await ref.mask(), random })[0]!;
        ref.accept(want);
        expect(await gs.sample(x)).toBe(want);
        history.push(want);
      }
      expect(Array.from(gs.history)).toEqual(history);
      expect(validate(JSON.parse(new TextDecoder().decode(bytesOf(history.slice(3, -1)))))).toBe(true);
    }
    const miro = await GrammarSampler.create(wasm, grammar, { vocab: VOCAB, seed: 2, mirostat: { version: 2, tau: 3 } });
    const fill = noiseFiller(2);
    const x = new Float32Array(VOCAB);
    while (!miro.done) {
      fill(x);
      await miro.sample(x);
    }
    expect(miro.sampler.state.mu).not.toBe(6);
    expect(validate(JSON.parse(new TextDecoder().decode(bytesOf(Array.from(miro.history).slice(0, -1)))))).toBe(true);
    // accept: the grammar must allow the token; a refused one advances neither.
    const g2 = await GrammarSampler.create(wasm, grammar, { vocab: VOCAB, seed: 1 });
    expect(() => g2.accept(ranks.indexOf('['))).toThrow(expect.objectContaining({ code: 'invalid_argument' }));
    expect(g2.history.length).toBe(0);
    g2.accept(ranks.indexOf('{'));
    expect(Array.from(g2.history)).toEqual([ranks.indexOf('{')]);
    await expect(GrammarSampler.create(wasm, grammar, { vocab: 100 })).rejects.toMatchObject({ code: 'shape_mismatch' });
  }, 120_000);

  it('GrammarSampler: a thinking-budget token the grammar refuses leaves sampler and grammar as they were', async () => {
    const grammar = await vocabulary.jsonSchema({ type: 'integer' });
    const end = ranks.indexOf('x');
    // The prompt opened thinking with budget 0: the sampler forces `end`, which an integer cannot start with.
    const gs = await GrammarSampler.create(wasm, grammar, { vocab: VOCAB, seed: 1, prompt: Int32Array.of(7), thinkingBudget: { start: Int32Array.of(7), end: Int32Array.of(end), budget: 0 } });
    const before = gs.sampler.state;
    await expect(gs.sample(new Float32Array(VOCAB))).rejects.toMatchObject({ code: 'invalid_argument' });
    expect(gs.sampler.state).toEqual(before);
    expect(gs.constraint.done).toBe(false);
  });

  it('bad vocabularies and schemas are LogitkitErrors', async () => {
    await expect(GrammarVocabulary.create({ tokens: ['a', 'b'], stopTokens: [] })).rejects.toMatchObject({ code: 'invalid_argument', argument: 'options.stopTokens' });
    await expect(GrammarVocabulary.create({ tokens: ['a', 'b'], stopTokens: [2] })).rejects.toMatchObject({ code: 'target_out_of_range' });
    await expect(GrammarVocabulary.create({ tokens: ['a', [300]], stopTokens: [0] })).rejects.toMatchObject({ code: 'invalid_argument', argument: 'options.tokens' });
    await expect(GrammarVocabulary.create({ tokens: ['a', 'b'], vocab: 1, stopTokens: [0] })).rejects.toMatchObject({ code: 'shape_mismatch' });
    await expect(vocabulary.jsonSchema('{ not json')).rejects.toMatchObject({ code: 'invalid_argument', argument: 'schema' });
    await expect(vocabulary.ebnf('root ::= ')).rejects.toMatchObject({ code: 'invalid_argument' });
  });
});
