/**
 * docs/sampler.md's code is tested like README.md's (rules in test/helpers/markdown-blocks.ts):
 * every js / ts block type-checks against the built dist/*.d.ts with tsc --strict and runs.
 */
import { readFile } from 'node:fs/promises';
import { expect, it } from 'vitest';
import { checkDocuments } from './helpers/markdown-blocks.js';

it('docs/sampler.md: every js/ts block type-checks and runs', async () => {
  const text = await readFile(new URL('../docs/sampler.md', import.meta.url), 'utf8');
  const doc = (await checkDocuments([{ name: 'docs/sampler.md', text }])).get('docs/sampler.md')!;
  expect(doc.problems).toEqual([]);
  // Not vacuous: the blocks are there and they run.
  expect(doc.blocks).toBeGreaterThanOrEqual(3);
  expect(doc.programsRun).toBeGreaterThanOrEqual(1);
  expect(doc.programsTypecheckOnly).toBe(0);
}, 180_000);
