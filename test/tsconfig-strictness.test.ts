/**
 * One TypeScript strictness setting for the whole tree (issue 11 part 7). tsconfig.base.json holds it;
 * every TypeScript project here must end up with exactly those flags, whether it extends the base
 * (src + test, the build, demo/) or states them itself (examples/vite, a standalone app users copy),
 * and the README's code blocks are type-checked with them. assembly/ is AssemblyScript, compiled by asc
 * with its own std config, and is not a TypeScript project in this sense.
 */
import { join, resolve } from 'node:path';
import ts from 'typescript';
import { expect, it } from 'vitest';
import { STRICTNESS } from './helpers/markdown-blocks.js';

const REPO = resolve(import.meta.dirname, '..');
/** The flags that make up "strictness" (the strict family and the extra checks the base sets). */
const FLAGS = [
  'strict',
  'noImplicitAny',
  'strictNullChecks',
  'strictFunctionTypes',
  'strictBindCallApply',
  'strictPropertyInitialization',
  'noImplicitThis',
  'useUnknownInCatchVariables',
  'alwaysStrict',
  'noImplicitOverride',
  'noFallthroughCasesInSwitch',
  'noUncheckedIndexedAccess',
  'exactOptionalPropertyTypes',
  'noImplicitReturns',
  'noPropertyAccessFromIndexSignature',
] as const;

function flagsOf(options: ts.CompilerOptions): Record<string, unknown> {
  return Object.fromEntries(FLAGS.map((f) => [f, options[f]]));
}

function effective(config: string): Record<string, unknown> {
  const parsed = ts.getParsedCommandLineOfConfigFile(join(REPO, config), {}, {
    ...ts.sys,
    onUnRecoverableConfigFileDiagnostic: (d) => {
      throw new Error(ts.flattenDiagnosticMessageText(d.messageText, '\n'));
    },
  });
  if (!parsed) throw new Error(`${config}: not parsed`);
  return flagsOf(parsed.options);
}

const base = effective('tsconfig.base.json');

it('the base sets strict, noImplicitOverride and noFallthroughCasesInSwitch, and noUncheckedIndexedAccess off', () => {
  expect(base).toMatchObject({ strict: true, noImplicitOverride: true, noFallthroughCasesInSwitch: true, noUncheckedIndexedAccess: false });
});

it.each(['tsconfig.json', 'tsconfig.build.json', 'demo/tsconfig.json', 'examples/vite/tsconfig.json'])('%s has exactly the base strictness', (config) => {
  expect(effective(config)).toEqual(base);
});

it("the README blocks' compiler options carry the same strictness", () => {
  expect(flagsOf(STRICTNESS)).toEqual(base);
});
