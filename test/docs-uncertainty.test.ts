/**
 * docs/uncertainty.md's code is tested like README.md's (test/helpers/markdown-blocks.ts): every
 * ```js / ```ts block is type-checked against the built dist/*.d.ts and run against the built package.
 */
import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { checkDocuments } from './helpers/markdown-blocks.js';

describe('docs/uncertainty.md code blocks', () => {
  it('every js/ts block type-checks and runs', async () => {
    const text = await readFile(new URL('../docs/uncertainty.md', import.meta.url), 'utf8');
    const result = (await checkDocuments([{ name: 'docs/uncertainty.md', text }])).get('docs/uncertainty.md')!;
    expect(result.problems).toEqual([]);
    expect(result.blocks).toBeGreaterThanOrEqual(3);
    expect(result.programsRun).toBe(result.blocks);
  }, 180_000);
});
