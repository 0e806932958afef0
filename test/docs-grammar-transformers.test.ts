/**
 * docs/grammar.md and docs/transformers.md: every js/ts block type-checks against the built
 * package and runs (rules in test/helpers/markdown-blocks.ts), as README.md's do.
 */
import { readFile } from 'node:fs/promises';
import { expect, it } from 'vitest';
import { checkDocuments } from './helpers/markdown-blocks.js';

it('docs/grammar.md and docs/transformers.md code blocks type-check and run', async () => {
  const docs = await Promise.all(['docs/grammar.md', 'docs/transformers.md'].map(async (name) => ({ name, text: await readFile(new URL(`../${name}`, import.meta.url), 'utf8') })));
  const results = await checkDocuments(docs);
  const grammar = results.get('docs/grammar.md')!;
  const transformers = results.get('docs/transformers.md')!;
  expect(grammar.problems).toEqual([]);
  expect(transformers.problems).toEqual([]);
  // Not vacuous: the grammar guide's one program runs (vocabulary, schema, both loops); the
  // processor guide runs its tensor example and type-checks the generate() one.
  expect([grammar.blocks, grammar.programsRun, grammar.programsTypecheckOnly]).toEqual([3, 1, 0]);
  expect([transformers.blocks, transformers.programsRun, transformers.programsTypecheckOnly]).toEqual([2, 1, 1]);
}, 300_000);
