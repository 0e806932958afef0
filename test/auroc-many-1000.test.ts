// AUROC above 32 classes at 1000 classes, in its own file so it runs beside auroc-many.test.ts instead
// of after it. On wasm only: the counting is the same JS on both backends, only the softmax differs.
// Two shards rather than three: every encode, parse and merge of 1000 classes handles 13.8 MB of
// statistics, ~0.7 s each. Signal 8, the same regime as 6, was dropped for time.
import { describe, it } from 'vitest';
import { checkAurocMany } from './helpers/auroc-many.js';
import { engineFor } from './helpers/backends.js';

describe('AUROC above 32 classes, 1000 classes [wasm]', () => {
  for (const [signal, noise, tol] of [
    [6, 1, 1e-4],
    [0.2, 0.05, 1e-3],
    [0.01, 0.005, 1e-2],
  ] as const) {
    it(`1000 classes × 20000 rows, signal ${signal}, noise ${noise}: every class within ${tol} of the exact AUROC (and its errorBound); merges exactly in any split`, async () => {
      const lk = await engineFor('wasm'); // started in the test, so a failing start fails it
      checkAurocMany(() => lk, 1000, 20000, signal, noise, tol);
    }, 300_000);
  }
});
