/**
 * `score`, `calibrate` and `merge` give the figures of the build before the scoring accumulators moved
 * into the core (issue 21): every case of test/fixtures/score-main/cases.json against the output that
 * build printed (captured by test/fixtures/score-main/make.js), every number within 1e-9 relative, every
 * string and count identical. The `-js` cases run the float64 JS backend and are checked everywhere; the
 * others ran the wasm SIMD128 build (Node 20's choice), whose float32 results the relaxed-SIMD build
 * (fused multiply-add, hardware-dependent) changes by ~1e-8, so they are checked where init() picks
 * SIMD128 (the lead's Node 20 run) and reported as skipped elsewhere.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { init } from '../src/index.js';
import { ROOT, runCli } from './helpers/cli.js';

const DIR = join(ROOT, 'test', 'fixtures', 'score-main');
const cases = JSON.parse(readFileSync(join(DIR, 'cases.json'), 'utf8')) as { name: string; args: string[]; before?: { args: string[]; out?: string }[] }[];
const REL = 1e-9;
const simd128 = await (async () => {
  const lk = await init();
  const plain = !lk.features.relaxedSimd;
  lk.dispose();
  return plain;
})();

/**
 * Keys issue 22 added to the output after these fixtures were captured (what --input auto detected;
 * Fairlearn's groups without positives / negatives; the binary figures and the decision metrics):
 * compared when both sides have them, otherwise ignored. A key the fixture has must still be there.
 */
const ADDED = new Set(['input', 'inputDetected', 'groupsWithoutPositives', 'groupsWithoutNegatives', 'decisions', 'threshold', 'brierSklearn', 'topLabel', 'mcc', 'kappa', 'averagePrecision', 'averagePrecisionErrorBound']);

/**
 * The fingerprints changed definition after these fixtures were captured (version 1 `sha256:` →
 * version 2 `lkfp2:`, src/cli/fingerprint.ts). What they must keep is which data they tell apart: over
 * all cases, each fixture fingerprint corresponds to exactly one fingerprint now, and back.
 */
const fingerprintNow = new Map<string, string>();
const fingerprintBefore = new Map<string, string>();
function fingerprintDifference(a: unknown, b: unknown): boolean {
  if (typeof a !== 'string' || typeof b !== 'string' || !a.startsWith('lkfp2:') || !b.startsWith('sha256:')) return a !== b;
  if ((fingerprintNow.get(b) ?? a) !== a || (fingerprintBefore.get(a) ?? b) !== b) return true;
  fingerprintNow.set(b, a);
  fingerprintBefore.set(a, b);
  return false;
}

/** Paths where the two outputs differ beyond REL (empty: equal). */
function differences(a: unknown, b: unknown, path = '$', out: string[] = []): string[] {
  if (out.length > 20) return out;
  if (path.endsWith('.fingerprint')) {
    if (fingerprintDifference(a, b)) out.push(`${path}: ${JSON.stringify(a)} vs ${JSON.stringify(b)} (or not one to one with the other cases)`);
    return out;
  }
  if (a && b && typeof a === 'object' && typeof b === 'object' && !Array.isArray(a) && !Array.isArray(b)) {
    const want = b;
    a = Object.fromEntries(Object.entries(a).filter(([k]) => !(ADDED.has(k) && !(k in want))));
  }
  if (typeof a === 'number' && typeof b === 'number') {
    const same = a === b || (Number.isNaN(a) && Number.isNaN(b)) || Math.abs(a - b) <= REL * Math.max(Math.abs(a), Math.abs(b));
    if (!same) out.push(`${path}: ${a} vs ${b}`);
  } else if (Array.isArray(a) && Array.isArray(b)) {
    if (a.length !== b.length) out.push(`${path}: length ${a.length} vs ${b.length}`);
    else a.forEach((v, i) => differences(v, b[i], `${path}[${i}]`, out));
  } else if (a && b && typeof a === 'object' && typeof b === 'object') {
    const ka = Object.keys(a).sort();
    const kb = Object.keys(b).sort();
    if (ka.join() !== kb.join()) out.push(`${path}: keys ${ka.join()} vs ${kb.join()}`);
    else for (const k of ka) differences((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], `${path}.${k}`, out);
  } else if (a !== b) out.push(`${path}: ${JSON.stringify(a)} vs ${JSON.stringify(b)}`);
  return out;
}

describe('score --json equals the figures of the build before (within 1e-9 relative)', () => {
  it('the comparison itself notices a change beyond 1e-9', () => {
    expect(differences({ x: [1, 2] }, { x: [1, 2 * (1 + 1e-12)] })).toEqual([]);
    expect(differences({ x: [1, 2] }, { x: [1, 2 * (1 + 1e-8)] })).toHaveLength(1);
    expect(differences({ x: 'a' }, { x: 'b' })).toHaveLength(1);
    // fingerprints: version 2 for version 1, one to one
    const [v1, w1] = [`sha256:${'a'.repeat(64)}`, `sha256:${'b'.repeat(64)}`];
    const [v2, w2] = [`lkfp2:${'1'.repeat(32)}`, `lkfp2:${'2'.repeat(32)}`];
    expect(differences({ fingerprint: v2 }, { fingerprint: v1 })).toEqual([]);
    expect(differences({ fingerprint: v2 }, { fingerprint: v1 })).toEqual([]);
    expect(differences({ fingerprint: w2 }, { fingerprint: v1 })).toHaveLength(1);
    expect(differences({ fingerprint: v2 }, { fingerprint: w1 })).toHaveLength(1);
    expect(differences({ fingerprint: 'x' }, { fingerprint: v1 })).toHaveLength(1);
    fingerprintNow.clear();
    fingerprintBefore.clear();
  });
  for (const c of cases) {
    it.skipIf(!c.name.endsWith('-js') && !simd128)(c.name, async () => {
      for (const pre of c.before ?? []) {
        const r = await runCli(pre.args, { cwd: ROOT });
        expect(r.code).toBe(0);
        if (pre.out) writeFileSync(pre.out, r.stdout);
      }
      const r = await runCli(c.args, { cwd: ROOT });
      expect(r.code, r.stderr).toBe(0);
      const want = JSON.parse(gunzipSync(readFileSync(join(DIR, `${c.name}.json.gz`))).toString('utf8'));
      // Issue 24 added `selective` (and `conformal` with --conformal) after these fixtures were made;
      // they are checked in test/score-uncertainty.test.ts.
      const got = JSON.parse(r.stdout) as Record<string, unknown>;
      delete got.selective;
      delete got.conformal;
      expect(differences(got, want)).toEqual([]);
    });
  }
});
