/**
 * `LogitsInput` is exactly what the ops accept at run time (issue 11 part 7): it used to include any
 * `ArrayLike<number>`, so an Int32Array type-checked and then threw. The `@ts-expect-error` lines are
 * the type-level half of this test — `npm run typecheck` fails if the types start accepting one of
 * them again — and the run-time half checks that the same values are accepted / refused when called.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import ts from 'typescript';
import { expect, it } from 'vitest';
import { describeEachBackend } from './helpers/backends.js';
import { LogitkitError, type Engine, type LkBuffer, type LogitsInput, type ValuesInput } from '../src/index.js';

// Never called: only type-checked.
export function typeLevel(lk: Engine, f32: LkBuffer<'float32'>, u16: LkBuffer<'uint16'>, i32: LkBuffer<'int32'>): void {
  const accepted: LogitsInput[] = [
    new Float32Array(6),
    new Float64Array(6),
    [1, 2, 3, 4, 5, 6],
    [1, 2, 3] as readonly number[],
    new Uint16Array(6),
    f32,
    u16,
    { data: new Float32Array(6), dims: [2, 3] },
  ];
  for (const a of accepted) lk.softmax(a, 3, { dtype: 'float16' });
  const values: ValuesInput[] = [new Float32Array(2), new Float64Array(2), [1, 2], f32];
  for (const v of values) lk.sigmoid(v);

  // @ts-expect-error an Int32Array holds class indices, not logits
  lk.softmax(new Int32Array(6), 3);
  // @ts-expect-error
  lk.argmax(new Uint8Array(6), 3);
  // @ts-expect-error
  lk.crossEntropy(new Int16Array(6), 3, new Int32Array(2));
  // @ts-expect-error
  lk.ece(new Uint32Array(6), 3, new Int32Array(2));
  // @ts-expect-error an 'int32' buffer is not logits either
  lk.logSoftmax(i32, 3);
  // @ts-expect-error strings are never coerced
  lk.entropy(['1', '2', '3'], 3);
  // @ts-expect-error
  lk.klDiv(new Float32Array(3), new Int32Array(3), 3);
  // @ts-expect-error
  lk.sample(new Int8Array(3), 3);
  // @ts-expect-error sigmoid takes float values, not integers
  lk.sigmoid(new Int32Array(3));
  // @ts-expect-error
  lk.logSigmoid(new Uint8Array(3));
  // @ts-expect-error a plain { length } object is not an array of logits
  const notLogits: LogitsInput = { length: 3, 0: 1, 1: 2, 2: 3 };
  void notLogits;
}

describeEachBackend('LogitsInput: the type and the run time agree', (lk) => {
  it('what the type accepts, the ops accept', () => {
    const u16 = lk().alloc(6, 'uint16');
    u16.array.fill(0); // wasm memory is reused, not zeroed
    const f32 = lk().alloc(6);
    f32.array.set([1, 2, 3, 4, 5, 6]);
    const want = lk().argmax(new Float32Array([1, 2, 3, 4, 5, 6]), 3);
    for (const a of [new Float64Array([1, 2, 3, 4, 5, 6]), [1, 2, 3, 4, 5, 6], f32, { data: new Float32Array([1, 2, 3, 4, 5, 6]), dims: [2, 3] }])
      expect(lk().argmax(a, 3)).toEqual(want);
    expect(lk().argmax(new Uint16Array(6), 3, { dtype: 'bfloat16' })).toEqual(new Int32Array([0, 0]));
    expect(lk().argmax(u16, 3, { dtype: 'float16' })).toEqual(new Int32Array([0, 0]));
    u16.free();
    f32.free();
  });

  it('what the type refuses, the ops refuse with invalid_argument', () => {
    const i32 = lk().alloc(6, 'int32');
    for (const a of [new Int32Array(6), new Uint8Array(6), new Int16Array(6), new Uint32Array(6), new Int8Array(6), i32, ['1', '2', '3']]) {
      let err: unknown;
      try {
        lk().softmax(a as never, 3);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(LogitkitError);
      expect((err as LogitkitError).code).toBe('invalid_argument');
      expect((err as LogitkitError).argument).toBe('x');
    }
    i32.free();
  });
});

it('a Float16Array is a LogitsInput where TypeScript knows the type (lib esnext.float16)', () => {
  // A program of its own: the project compiles against ES2022, which has no Float16Array type.
  const dir = mkdtempSync(join(tmpdir(), 'lk-f16-'));
  try {
    const engine = resolve(import.meta.dirname, '../src/engine.js');
    const file = join(dir, 'f16.ts');
    writeFileSync(
      file,
      [
        `import type { LogitsInput } from ${JSON.stringify(engine)};`,
        'declare const h: Float16Array;',
        'export const ok: LogitsInput = h;',
        '// @ts-expect-error',
        'export const no: LogitsInput = new Int32Array(1);',
      ].join('\n'),
    );
    const program = ts.createProgram([file], {
      strict: true,
      noEmit: true,
      target: ts.ScriptTarget.ES2022,
      module: ts.ModuleKind.NodeNext,
      moduleResolution: ts.ModuleResolutionKind.NodeNext,
      lib: ['lib.es2022.d.ts', 'lib.dom.d.ts', 'lib.esnext.float16.d.ts'],
      types: ['node'],
      skipLibCheck: true,
    });
    // This file's own diagnostics (syntax, types, an unused @ts-expect-error): all the check reads.
    // getPreEmitDiagnostics(program) type-checked every file of the program too (src/, 181 files), half
    // of the test's time, for diagnostics the filter then dropped.
    const source = program.getSourceFile(file)!;
    const problems = [...program.getSyntacticDiagnostics(source), ...program.getSemanticDiagnostics(source)]
      .filter((d) => d.file?.fileName === file)
      .map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n'));
    expect(problems).toEqual([]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}, 60_000);
