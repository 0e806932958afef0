/**
 * docs/digits-demo.md's code is checked like README.md's (test/helpers/markdown-blocks.ts): its one
 * ```ts block is type-checked against the built dist/*.d.ts; it reads the committed artifacts from
 * data/digits/, so it is marked typecheck-only (test/digits.test.ts runs the same pipeline).
 */
import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { checkDocuments } from './helpers/markdown-blocks.js';

describe('docs/digits-demo.md code blocks', () => {
  it('every js/ts block type-checks', async () => {
    const text = await readFile(new URL('../docs/digits-demo.md', import.meta.url), 'utf8');
    const result = (await checkDocuments([{ name: 'docs/digits-demo.md', text }])).get('docs/digits-demo.md')!;
    expect(result.problems).toEqual([]);
    expect(result.blocks).toBe(1);
  }, 180_000);
});
