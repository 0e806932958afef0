// Sums vitest's JSON reports (test-artifacts/vitest-*.json, one per Node runtime) into one line per
// runtime and a closing total in the plain 'N passed, N failed, N skipped' form that CI logs read.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const dir = join(import.meta.dirname, '..', 'test-artifacts');
const files = readdirSync(dir).filter((f) => /^vitest-.*\.json$/.test(f)).sort();
if (files.length === 0) {
  console.error('ci-summary: no test-artifacts/vitest-*.json reports');
  process.exit(1);
}
const total = { passed: 0, failed: 0, skipped: 0 };
for (const f of files) {
  const r = JSON.parse(readFileSync(join(dir, f), 'utf8'));
  const skipped = (r.numPendingTests ?? 0) + (r.numTodoTests ?? 0);
  // A file whose setup failed has no failed test of its own (its tests show as skipped): count it too.
  const brokenFiles = r.testResults.filter((t) => t.status === 'failed' && !t.assertionResults.some((a) => a.status === 'failed')).length;
  const failed = r.numFailedTests + brokenFiles;
  console.log(`${f.slice(7, -5)}: ${r.numPassedTests} passed, ${failed} failed, ${skipped} skipped`);
  total.passed += r.numPassedTests;
  total.failed += failed;
  total.skipped += skipped;
}
console.log(`tests: ${total.passed} passed, ${total.failed} failed, ${total.skipped} skipped`);
process.exit(total.failed > 0 ? 1 : 0);
