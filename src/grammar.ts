/**
 * logitkit/grammar — JSON-schema (and EBNF) constrained decoding: XGrammar
 * (`@mlc-ai/web-xgrammar`, an optional peer dependency, wasm) compiles the grammar for a tokenizer
 * vocabulary and fills one token bitmask per step; logitkit applies it (`tokenBitmask`, the
 * XGrammar / llguidance layout every sampling call already accepts) and draws the token.
 *
 * The vocabulary is given as each token's bytes, so any byte-level BPE tokenizer fits (o200k,
 * cl100k, Llama 3, Qwen, …): the bytes are spelled in GPT-2's byte-to-unicode alphabet and handed
 * to XGrammar as a 'byte_level' vocabulary, which decodes them back to bytes. A token without
 * bytes (a special token, a hole in the id space) is never allowed by the grammar; the stop
 * tokens are allowed exactly where the document may end.
 *
 * This file imports nothing of XGrammar until `loadXGrammar` runs, and only types of logitkit, so
 * the main entry never pulls in either.
 */
import type { Engine, SampleOptions, SamplerCreateOptions } from './engine.js';
import type { Sampler, SamplerState } from './sampler.js';
import { describeValue as describe, fail } from './errors.js';

/** The parts of `@mlc-ai/web-xgrammar` this entry uses (structural, so its types are not needed to compile against this one). */
export interface XGrammarModule {
  TokenizerInfo: {
    createTokenizerInfo(encodedVocab: string[], vocabType?: string, prependSpace?: boolean, vocabSize?: number, stopTokenIds?: number[] | number): Promise<XGrammarHandle & { getVocabSize(): number }>;
  };
  GrammarCompiler: {
    createGrammarCompiler(tokenizerInfo: XGrammarHandle, cacheEnabled?: boolean): Promise<XGrammarCompiler>;
  };
  GrammarMatcher: {
    createGrammarMatcher(compiled: XGrammarHandle, overrideStopTokens?: number[] | number, terminateWithoutStopToken?: boolean): Promise<XGrammarMatcher>;
  };
}
export interface XGrammarHandle {
  dispose(): void;
}
export interface XGrammarCompiler extends XGrammarHandle {
  compileJSONSchema(schema: string, anyWhitespace?: boolean, indent?: number, separators?: [string, string], strictMode?: boolean, maxWhitespaceCnt?: number): Promise<XGrammarHandle>;
  compileBuiltinJSONGrammar(): Promise<XGrammarHandle>;
  compileGrammar(ebnf: string, rootRule?: string): Promise<XGrammarHandle>;
}
export interface XGrammarMatcher extends XGrammarHandle {
  acceptToken(token: number): boolean;
  getNextTokenBitmask(): Promise<Int32Array>;
  isTerminated(): boolean;
  reset(): void;
  rollBack(tokens: number): void;
}

let loading: Promise<XGrammarModule> | null = null;

/**
 * Loads `@mlc-ai/web-xgrammar` once. Its 0.1.x build is an Emscripten UMD script inside a
 * `"type": "module"` package: imported as ESM under Node it throws at load (`require is not
 * defined in ES module scope`, from its `require('url').pathToFileURL(__filename)`) and exports
 * nothing. Under Node it is therefore run as the CommonJS script it is — compiled with `vm`, given
 * `require`, `module` and `__filename` — which is what its own Node branch expects; in a browser
 * (where it takes its `document` branch) the bundler's module or the `xgrammar` global it sets is
 * used.
 */
export function loadXGrammar(): Promise<XGrammarModule> {
  loading ??= (async () => {
    const spec = '@mlc-ai/web-xgrammar';
    const g = globalThis as { process?: { versions?: { node?: string } }; xgrammar?: XGrammarModule };
    let mod: XGrammarModule | undefined;
    try {
      if (typeof g.process?.versions?.node === 'string') mod = await loadInNode(spec);
      else {
        const ns = (await import(/* @vite-ignore */ spec)) as Partial<XGrammarModule> & { default?: XGrammarModule };
        mod = ns.GrammarMatcher !== undefined ? (ns as XGrammarModule) : (ns.default ?? g.xgrammar);
      }
    } catch (e) {
      loading = null;
      fail('invalid_argument', `logitkit/grammar needs the optional peer dependency ${spec} (npm install ${spec}): ${(e as Error).message}`, 'grammar');
    }
    if (mod?.GrammarMatcher === undefined) {
      loading = null;
      fail('invalid_argument', `${spec} loaded but exports no GrammarMatcher; logitkit/grammar is tested with its 0.1.x builds`, 'grammar');
    }
    return mod;
  })();
  return loading;
}

async function loadInNode(spec: string): Promise<XGrammarModule> {
  const [{ createRequire }, vm, { readFileSync }, path] = await Promise.all([import('node:module'), import('node:vm'), import('node:fs'), import('node:path')]);
  const file = createRequire(import.meta.url).resolve(spec);
  // Its Node branch would `await import('module')`, which a vm-compiled script may do only with
  // an experimental loader flag; `process` shadowed as undefined sends it down Emscripten's plain
  // (shell) branch instead, which needs nothing of Node: the wasm is inlined as a data: URL.
  const fn = vm.compileFunction(readFileSync(file, 'utf8'), ['exports', 'require', 'module', '__filename', '__dirname', 'process'], { filename: file });
  const module = { exports: {} as XGrammarModule };
  fn.call(module.exports, module.exports, createRequire(file), module, file, path.dirname(file), undefined);
  return module.exports;
}

/** A token's bytes: a byte array, or its text (encoded as UTF-8); null / undefined / empty = no bytes (special or unused id). */
export type TokenBytes = Uint8Array | readonly number[] | string | null | undefined;

export interface VocabularyOptions {
  /** Every token's bytes, indexed by token id. */
  tokens: ArrayLike<TokenBytes>;
  /** The logits' width, when the model pads its vocabulary (default tokens.length). */
  vocab?: number;
  /** The end-of-sequence token ids, allowed where the document may end. */
  stopTokens: readonly number[];
}

export interface JsonSchemaOptions {
  /** Spaces per level; −1 (default) = one line. */
  indent?: number;
  /** [comma, colon] separators; default (', ', ': ') on one line, (',', ': ') when indented, as Python's json.dumps. */
  separators?: [string, string];
  /** Any whitespace between elements instead of the layout above (default false). */
  anyWhitespace?: boolean;
  /** Forbid properties and items the schema does not name (default true). */
  strict?: boolean;
}

/** GPT-2's byte → printable character table, the alphabet of 'byte_level' vocabularies. */
function byteAlphabet(): string[] {
  const direct: number[] = [];
  for (let b = 33; b <= 126; b++) direct.push(b);
  for (let b = 161; b <= 172; b++) direct.push(b);
  for (let b = 174; b <= 255; b++) direct.push(b);
  const out = new Array<string>(256);
  for (const b of direct) out[b] = String.fromCharCode(b);
  let shifted = 0;
  for (let b = 0; b < 256; b++) if (out[b] === undefined) out[b] = String.fromCharCode(256 + shifted++);
  return out;
}

/**
 * A vocabulary prepared for XGrammar, and its compiler (which caches compiled grammars). Building
 * it walks every token once (o200k: about a second); compile as many schemas against it as needed.
 */
export class GrammarVocabulary {
  readonly vocab: number;
  readonly stopTokens: readonly number[];
  readonly #xg: XGrammarModule;
  readonly #info: XGrammarHandle;
  readonly #compiler: XGrammarCompiler;

  private constructor(xg: XGrammarModule, info: XGrammarHandle, compiler: XGrammarCompiler, vocab: number, stopTokens: readonly number[]) {
    this.#xg = xg;
    this.#info = info;
    this.#compiler = compiler;
    this.vocab = vocab;
    this.stopTokens = stopTokens;
  }

  static async create(options: VocabularyOptions): Promise<GrammarVocabulary> {
    if (typeof options !== 'object' || options === null) fail('invalid_argument', `options = ${describe(options)}, expected { tokens, stopTokens, vocab? }`, 'options');
    const { tokens, stopTokens } = options;
    if (typeof tokens !== 'object' || tokens === null || typeof tokens.length !== 'number')
      fail('invalid_argument', `options.tokens = ${describe(tokens)}, expected one entry of bytes per token id`, 'options.tokens');
    const vocab = options.vocab ?? tokens.length;
    if (!Number.isInteger(vocab) || vocab < 1 || vocab < tokens.length)
      fail('shape_mismatch', `options.vocab = ${describe(vocab)}, expected an integer ≥ tokens.length (${tokens.length})`, 'options.vocab');
    if (!Array.isArray(stopTokens) || stopTokens.length === 0)
      fail('invalid_argument', `options.stopTokens = ${describe(stopTokens)}, expected a non-empty array of token ids`, 'options.stopTokens');
    for (const t of stopTokens)
      if (!(Number.isInteger(t) && t >= 0 && t < vocab)) fail('target_out_of_range', `options.stopTokens contains ${describe(t)}, expected token ids 0 ≤ id < ${vocab}`, 'options.stopTokens');
    const alphabet = byteAlphabet();
    const utf8 = new TextEncoder();
    const encoded = new Array<string>(vocab).fill('');
    for (let i = 0; i < tokens.length; i++) {
      const t = tokens[i];
      if (t === null || t === undefined) continue;
      const bytes = typeof t === 'string' ? utf8.encode(t) : t;
      let s = '';
      for (let j = 0; j < bytes.length; j++) {
        const b = bytes[j]!;
        if (!(Number.isInteger(b) && b >= 0 && b <= 255)) fail('invalid_argument', `options.tokens[${i}] has byte ${describe(b)}, expected integers 0..255`, 'options.tokens');
        s += alphabet[b];
      }
      encoded[i] = s;
    }
    const xg = await loadXGrammar();
    const info = await xg.TokenizerInfo.createTokenizerInfo(encoded, 'byte_level', false, vocab, [...stopTokens]);
    const compiler = await xg.GrammarCompiler.createGrammarCompiler(info, true);
    return new GrammarVocabulary(xg, info, compiler, vocab, [...stopTokens]);
  }

  /** A JSON schema (object or JSON text) as a grammar. */
  async jsonSchema(schema: object | string, options: JsonSchemaOptions = {}): Promise<Grammar> {
    let text: string | undefined;
    try {
      // Parsed here first: XGrammar aborts its wasm on bad JSON with nothing but 'Aborted()' to catch.
      text = typeof schema === 'string' ? (JSON.parse(schema), schema) : JSON.stringify(schema);
    } catch (e) {
      fail('invalid_argument', `schema is not valid JSON: ${(e as Error).message}`, 'schema');
    }
    if (typeof text !== 'string' || (typeof schema !== 'string' && (typeof schema !== 'object' || schema === null)))
      fail('invalid_argument', `schema = ${describe(schema)}, expected a JSON schema object or its JSON text`, 'schema');
    const { indent = -1, anyWhitespace = false, strict = true, separators } = options;
    return new Grammar(this, await this.#compile(() => this.#compiler.compileJSONSchema(text, anyWhitespace, indent, separators, strict)));
  }

  /** Any JSON value. */
  async json(): Promise<Grammar> {
    return new Grammar(this, await this.#compile(() => this.#compiler.compileBuiltinJSONGrammar()));
  }

  /** An EBNF grammar (XGrammar's dialect, GBNF-like). */
  async ebnf(source: string, rootRule = 'root'): Promise<Grammar> {
    if (typeof source !== 'string') fail('invalid_argument', `source = ${describe(source)}, expected an EBNF string`, 'source');
    return new Grammar(this, await this.#compile(() => this.#compiler.compileGrammar(source, rootRule)));
  }

  async #compile(f: () => Promise<XGrammarHandle>): Promise<XGrammarHandle> {
    try {
      return await f();
    } catch (e) {
      // XGrammar aborts its wasm call on a grammar it cannot parse: the reason goes to stderr (its
      // [FATAL] line), the error says only 'Aborted()'. The module stays usable (tested).
      return fail('invalid_argument', `the grammar did not compile (XGrammar printed the reason): ${e instanceof Error ? e.message : String(e)}`, 'schema');
    }
  }

  /** @internal */
  async matcher(compiled: XGrammarHandle): Promise<XGrammarMatcher> {
    return this.#xg.GrammarMatcher.createGrammarMatcher(compiled, [...this.stopTokens], false);
  }

  dispose(): void {
    this.#compiler.dispose();
    this.#info.dispose();
  }
}

/** A compiled grammar; `constraint()` starts a document. */
export class Grammar {
  readonly vocabulary: GrammarVocabulary;
  readonly #compiled: XGrammarHandle;
  constructor(vocabulary: GrammarVocabulary, compiled: XGrammarHandle) {
    this.vocabulary = vocabulary;
    this.#compiled = compiled;
  }
  async constraint(): Promise<GrammarConstraint> {
    return new GrammarConstraint(this.vocabulary.vocab, await this.vocabulary.matcher(this.#compiled));
  }
  dispose(): void {
    this.#compiled.dispose();
  }
}

/**
 * One document's grammar state: `mask()` is the bitmask of the tokens the grammar allows next (the
 * `tokenBitmask` layout: ⌈vocab/32⌉ int32 words, bit j of word j>>5 = allowed), `accept(token)`
 * advances it. `done` is true once a stop token was accepted.
 */
export class GrammarConstraint {
  readonly vocab: number;
  readonly #m: XGrammarMatcher;
  #tokens = 0;
  constructor(vocab: number, matcher: XGrammarMatcher) {
    this.vocab = vocab;
    this.#m = matcher;
  }
  /** The tokens the grammar allows next (fresh array each call). */
  mask(): Promise<Int32Array> {
    if (this.done) fail('invalid_argument', 'the grammar already accepted its stop token: the document is complete', 'grammar');
    return this.#m.getNextTokenBitmask();
  }
  /** Advances the grammar; a token it does not allow → `invalid_argument` (the state is unchanged). */
  accept(token: number): void {
    if (!(Number.isInteger(token) && token >= 0 && token < this.vocab))
      fail('target_out_of_range', `token = ${describe(token)}, expected a token id 0 ≤ id < ${this.vocab}`, 'token');
    if (!this.#m.acceptToken(token)) fail('invalid_argument', `token ${token} is not allowed by the grammar here`, 'token');
    this.#tokens++;
  }
  /** Undoes the last `tokens` accepted tokens (speculative decoding, backtracking). */
  rollBack(tokens: number): void {
    if (!(Number.isInteger(tokens) && tokens >= 0 && tokens <= this.#tokens))
      fail('invalid_argument', `tokens = ${describe(tokens)}, expected an integer in [0, ${this.#tokens}] (the tokens accepted so far)`, 'tokens');
    this.#m.rollBack(tokens);
    this.#tokens -= tokens;
  }
  get done(): boolean {
    return this.#m.isTerminated();
  }
  reset(): void {
    this.#m.reset();
    this.#tokens = 0;
  }
  dispose(): void {
    this.#m.dispose();
  }
}

/**
 * One constrained step with the one-step API: the grammar's mask joined to `options.tokenBitmask`
 * (both must allow a token), `lk.sample` on one row, the token accepted by the grammar.
 */
export async function sampleConstrained(lk: Engine, constraint: GrammarConstraint, logits: Float32Array, options: SampleOptions = {}): Promise<number> {
  const mask = await constraint.mask();
  const own = options.tokenBitmask;
  if (own !== undefined) {
    if (!(own instanceof Int32Array) || own.length !== mask.length)
      fail('shape_mismatch', `options.tokenBitmask = ${describe(own)}, expected an Int32Array of ${mask.length} words (one row) to join with the grammar's`, 'options.tokenBitmask');
    for (let i = 0; i < mask.length; i++) mask[i]! &= own[i]!;
  }
  const token = lk.sample(logits, constraint.vocab, { ...options, tokenBitmask: mask })[0]!;
  constraint.accept(token);
  return token;
}

/**
 * `lk.sampler` under a grammar: each `sample(logits)` asks the grammar for its mask, the sampler
 * draws with it (every sampler option applies: penalties, DRY, Mirostat, …; `options.tokenBitmask`,
 * if given, must allow the token too) and the grammar accepts the token. The sampler reads its
 * `tokenBitmask` at every step, so the mask is one buffer owned here and refilled in place.
 * A token the grammar refuses (from `accept`, or forced by a thinking budget) → `invalid_argument`,
 * with neither the sampler nor the grammar advanced.
 */
export class GrammarSampler {
  #sampler: Sampler;
  readonly constraint: GrammarConstraint;
  readonly #mask: Int32Array;
  readonly #own: Int32Array | null;
  /** Remakes the sampler at a saved state (only with a thinking budget, whose forced tokens skip the mask). */
  readonly #remake: ((state: SamplerState) => Sampler) | null;

  private constructor(sampler: Sampler, constraint: GrammarConstraint, mask: Int32Array, own: Int32Array | null, remake: ((state: SamplerState) => Sampler) | null) {
    this.#sampler = sampler;
    this.constraint = constraint;
    this.#mask = mask;
    this.#own = own;
    this.#remake = remake;
  }

  /** The lk.sampler inside (history, state, …). */
  get sampler(): Sampler {
    return this.#sampler;
  }

  static async create(lk: Engine, grammar: Grammar, options: SamplerCreateOptions): Promise<GrammarSampler> {
    const vocab = grammar.vocabulary.vocab;
    if (typeof options !== 'object' || options === null || options.vocab !== vocab)
      fail('shape_mismatch', `options.vocab = ${describe(options?.vocab)}, expected the grammar vocabulary's ${vocab}`, 'options.vocab');
    const words = Math.ceil(vocab / 32);
    const own = options.tokenBitmask;
    if (own !== undefined && !(own instanceof Int32Array && own.length === words))
      fail('shape_mismatch', `options.tokenBitmask = ${describe(own)}, expected an Int32Array of ⌈vocab/32⌉ = ${words} words`, 'options.tokenBitmask');
    const mask = new Int32Array(words).fill(-1);
    const withMask = { ...options, tokenBitmask: mask };
    const sampler = lk.sampler(withMask);
    const remake = options.thinkingBudget === undefined ? null : (state: SamplerState): Sampler => lk.sampler({ ...withMask, state });
    return new GrammarSampler(sampler, await grammar.constraint(), mask, own === undefined ? null : own.slice(), remake);
  }

  /** One token under the grammar; it joins the sampler's history and advances the grammar. */
  async sample(logits: Float32Array): Promise<number> {
    const m = await this.constraint.mask();
    if (this.#own !== null) for (let i = 0; i < m.length; i++) m[i]! &= this.#own[i]!;
    this.#mask.set(m);
    // A forced token (thinking budget) skips the mask: if the grammar refuses it, the sampler
    // returns to its state before the step (it has no undo; its state round-trips exactly).
    const before = this.#remake === null ? null : this.#sampler.state;
    const token = this.#sampler.sample(logits);
    try {
      this.constraint.accept(token);
    } catch (e) {
      if (before !== null) this.#sampler = this.#remake!(before);
      throw e;
    }
    return token;
  }

  /** A token chosen elsewhere: the grammar must allow it; then both advance. */
  accept(token: number): void {
    this.constraint.accept(token);
    this.#sampler.accept(token);
  }

  get done(): boolean {
    return this.constraint.done;
  }
  get history(): Int32Array {
    return this.#sampler.history;
  }
  reset(): void {
    this.#sampler.reset();
    this.constraint.reset();
  }
  dispose(): void {
    this.constraint.dispose();
  }
}
