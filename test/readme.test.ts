/**
 * The documentation's code is tested: every ```js / ```ts block of README.md and of every docs/*.md
 * (whoever adds the file) is type-checked with `tsc --strict` against the built dist/*.d.ts and run
 * against the built package, imported as `logitkit` (rules in test/helpers/markdown-blocks.ts). A document with known faults goes through the same check, so a
 * checker that silently stopped checking would fail here too.
 */
import { readdir, readFile } from 'node:fs/promises';
import { beforeAll, describe, expect, it } from 'vitest';
import { checkDocuments, type DocResult } from './helpers/markdown-blocks.js';

/** One fault of each kind the checker must catch, each on a known line. */
const BROKEN = [
  '# broken', //                                                            1
  '```js', //                                                               2
  "import { init } from 'logitkit';", //                                    3
  'const lk = await init();', //                                            4
  'const best: string = lk.argmax(new Float32Array(3), 3);', //             5  TS2322 (runs fine)
  '```', //                                                                 6
  '```js', //                                                               7
  'lk.topk(new Float32Array(4), 2, 3);', //                                 8  continues the block above; throws invalid_k
  '```', //                                                                 9
  '<!-- readme-test: typecheck-only: would need a model; assumes: model -->', // 10
  '```js', //                                                               11
  "import { init as start } from 'logitkit';", //                           12
  'model.run(await start());', //                                           13 fine: checked, not run
  '```', //                                                                 14
  '```js', //                                                               15
  'undefinedName;', //                                                      16 continues a typecheck-only block
  '```', //                                                                 17
  '<!-- readme-test: typecheck-olny: typo -->', //                          18 unknown marker
  '```ts', //                                                               19
  "import { LogitkitError } from 'logitkit';", //                           20
  "const e: LogitkitError = new Error('x');", //                            21 TS2741
  '```', //                                                                 22
  '```javascript', //                                                       23 unknown fence language
  'oops', //                                                                24
  '```', //                                                                 25
  '```sh', //                                                               26
  'npm test', //                                                            27 never run
  '```', //                                                                 28
].join('\n');

/**
 * What a TypeScript user writes to annotate results and options: every type an op takes or returns
 * has a name at the package root. Checked against dist/*.d.ts in the same tsc program, and run.
 */
const PUBLIC_TYPES = [
  '```ts',
  "import { init, LogitkitError } from 'logitkit';",
  'import type {',
  '  Engine, InitOptions, Features, BackendName, LogitsInput, TensorLike, TargetInput, OutArray, LkBuffer, BufferType,',
  '  RowOpOptions, ElementwiseOptions, DTypeOption, HalfDType, CrossEntropyOptions, CrossEntropyGradOptions, BceOptions,',
  '  KlDivOptions, PerplexityOptions, BinsOptions, FitTemperatureOptions, SampleOptions, LogitsProcessorOptions,',
  '  TopK, LossWithGrad, Reliability, ReliabilityBin, TemperatureFit, MemoryStats, ErrorCode, Reduction,',
  "} from 'logitkit';",
  "const lk: Engine = await init({ backend: 'js' } satisfies InitOptions);",
  'const x: LogitsInput = new Float32Array([1, 2, 3, 0, 0, 0]);',
  'const t: TensorLike = { data: new Float32Array([1, 2, 3, 0, 0, 0]), dims: [2, 3] };',
  'const y: TargetInput = new Int32Array([2, 0]);',
  'const labels = new Int32Array([2, 0]);',
  'const out: OutArray = new Float32Array(6);',
  "const half: HalfDType = 'float16';",
  "const reduction: Reduction = 'sum';",
  'const probs: Float32Array = lk.softmax(t, { temperature: 2, out } satisfies RowOpOptions);',
  'const sig: Float32Array = lk.sigmoid(x, {} satisfies ElementwiseOptions);',
  'const top: TopK = lk.topk(t, 2, {} satisfies DTypeOption);',
  'const loss: number = lk.crossEntropy(t, y, { reduction, labelSmoothing: 0.1 } satisfies CrossEntropyOptions);',
  "const lg: LossWithGrad = lk.crossEntropyWithGrad(t, y, { reduction: 'sum' } satisfies CrossEntropyGradOptions);",
  'const bce: number = lk.bceWithLogits(new Float32Array(6), new Float32Array(6), { classes: 3 } satisfies BceOptions);',
  "const kl: number = lk.klDiv(t, x, { reduction: 'batchmean' } satisfies KlDivOptions);",
  'const ppl: number = lk.perplexity(t, labels, { ignoreIndex: -100 } satisfies PerplexityOptions);',
  'const rel: Reliability = lk.reliability(t, labels, { bins: 5 } satisfies BinsOptions);',
  'const bin: ReliabilityBin | undefined = rel.bins[0];',
  'const fit: TemperatureFit = lk.fitTemperature(t, labels, { min: 0.1 } satisfies FitTemperatureOptions);',
  'const tokens: Int32Array = lk.sample(t, { seed: 1, topK: 2 } satisfies SampleOptions);',
  'const processorOptions: LogitsProcessorOptions = { topP: 0.9 };',
  'const stats: MemoryStats = lk.memoryStats();',
  'const features: Features = lk.features;',
  'const backend: BackendName = lk.backend;',
  "const kind: BufferType = 'int32';",
  "const buf: LkBuffer<'int32'> = lk.alloc(2, kind);",
  'buf.free();',
  'try { lk.softmax(x, 4); } catch (e) { if (e instanceof LogitkitError) { const code: ErrorCode = e.code; } }',
  'console.log(probs, sig, top, loss, lg, bce, kl, ppl, bin, fit, tokens, processorOptions, stats, features, backend, half);',
  '```',
].join('\n');

describe('README.md and docs/*.md code blocks', () => {
  let readme: DocResult;
  let guides: Map<string, DocResult>;
  let broken: DocResult;
  let publicTypes: DocResult;
  beforeAll(async () => {
    const docsDir = new URL('../docs/', import.meta.url);
    const names = (await readdir(docsDir)).filter((f) => f.endsWith('.md')).sort();
    const docs = [{ name: 'README.md', text: await readFile(new URL('../README.md', import.meta.url), 'utf8') }];
    for (const f of names) docs.push({ name: `docs/${f}`, text: await readFile(new URL(f, docsDir), 'utf8') });
    const results = await checkDocuments([...docs, { name: 'broken.md', text: BROKEN }, { name: 'public-types.md', text: PUBLIC_TYPES }]);
    publicTypes = results.get('public-types.md')!;
    readme = results.get('README.md')!;
    broken = results.get('broken.md')!;
    guides = new Map(names.map((f) => [`docs/${f}`, results.get(`docs/${f}`)!]));
  }, 300_000);

  it("every js/ts block of the README type-checks (tsc --strict, NodeNext) and runs", () => {
    expect(readme.problems).toEqual([]);
    // Not vacuous: one example per job, and all but the transformers.js one run.
    expect(readme.blocks).toBeGreaterThanOrEqual(5);
    expect(readme.programsRun).toBeGreaterThanOrEqual(4);
    expect(readme.programsTypecheckOnly).toBeLessThanOrEqual(1);
  });

  it('every js/ts block of every guide in docs/ type-checks and runs', () => {
    const problems = [...guides.values()].flatMap((g) => g.problems);
    expect(problems).toEqual([]);
    // The guides with code carry what the README used to: the API tour, sampling, recalibration, browser.
    for (const name of ['docs/api.md', 'docs/sampling.md', 'docs/recalibration.md', 'docs/browser.md']) {
      expect(guides.get(name)?.programsRun, name).toBeGreaterThanOrEqual(1);
    }
    const total = (k: 'blocks' | 'programsRun') => [...guides.values()].reduce((s, g) => s + g[k], 0);
    expect(total('blocks')).toBeGreaterThanOrEqual(12);
    expect(total('programsRun')).toBeGreaterThanOrEqual(5);
  });

  it('the result and option types of every op can be named from the package root', () => {
    expect(publicTypes.problems).toEqual([]);
    expect(publicTypes.programsRun).toBe(1);
  });

  it('a document with broken blocks fails, at the broken lines', () => {
    const p = broken.problems.map((s) => s.replace(/\n[\s\S]*/, ''));
    expect(p).toEqual([
      expect.stringMatching(/^broken\.md:18: unknown readme-test marker 'typecheck-olny: typo'/),
      expect.stringMatching(/^broken\.md:23: a ```javascript block/),
      expect.stringMatching(/^broken\.md:16: continues a typecheck-only block/),
      expect.stringMatching(/^broken\.md:5: TS2322: /),
      expect.stringMatching(/^broken\.md:21: TS2741: /),
      expect.stringMatching(/^broken\.md:3-8: threw LogitkitError: invalid_k: k = 3/),
    ]);
    expect([broken.blocks, broken.programsRun, broken.programsTypecheckOnly]).toEqual([5, 2, 1]);
  });
});
