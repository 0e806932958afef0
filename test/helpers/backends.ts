/**
 * The test matrix. The spec suites are written once and run against every
 * configuration of this run; each asserts in beforeAll what is really
 * computing (`lk.backend`, `lk.features`), so a silent fallback — to JS, to the
 * plain SIMD build, to one thread — can never make a column pass by accident.
 *
 * Which configurations a run has is set per vitest project (vitest.config.ts,
 * through LOGITKIT_TEST_CONFIGS): the spec suites run once per configuration,
 * each in its own project; every other file runs once, in the `unit` project,
 * whose describeEachBackend covers `js` and `wasm` (the build init() picks here).
 */
import { readFile } from 'node:fs/promises';
import { beforeAll, beforeEach, describe, expect } from 'vitest';
import { init, type Engine, type Features } from '../../src/index.js';
import { relaxedSimdSupported } from '../../src/init.js';

export const BACKEND_NAMES = ['wasm', 'js'] as const;
export type BackendName = (typeof BACKEND_NAMES)[number];

/**
 * `js`: the float64 reference backend. `wasm`: whatever init() picks here on one thread (relaxed
 * where it validates). `wasm simd128` / `wasm relaxed`: that build, pinned. `threads 2`: init()'s
 * shared-memory build with a pool of two (threads-relaxed where relaxed SIMD validates).
 */
export const CONFIGURATIONS = ['js', 'wasm', 'wasm simd128', 'wasm relaxed', 'threads 2'] as const;
export type Configuration = (typeof CONFIGURATIONS)[number];

/** The configurations of this run: LOGITKIT_TEST_CONFIGS (comma-separated), else `js` and `wasm`. */
export function runConfigurations(): Configuration[] {
  const raw = process.env.LOGITKIT_TEST_CONFIGS ?? 'js,wasm';
  const list = raw.split(',').map((s) => s.trim());
  for (const c of list)
    if (!(CONFIGURATIONS as readonly string[]).includes(c)) throw new Error(`LOGITKIT_TEST_CONFIGS: unknown configuration '${c}' (expected ${CONFIGURATIONS.join(', ')})`);
  return list as Configuration[];
}

export const backendOf = (config: Configuration): BackendName => (config === 'js' ? 'js' : 'wasm');

/** What `lk.features` must say for each configuration (nothing more: no threadsUnavailable). */
export function expectedFeatures(config: Configuration): Features {
  const relaxedHere = relaxedSimdSupported();
  switch (config) {
    case 'js':
      return { simd: false, relaxedSimd: false, threads: 1 };
    case 'wasm':
      return { simd: true, relaxedSimd: relaxedHere, threads: 1 };
    case 'wasm simd128':
      return { simd: true, relaxedSimd: false, threads: 1 };
    case 'wasm relaxed':
      return { simd: true, relaxedSimd: true, threads: 1 };
    case 'threads 2':
      return { simd: true, relaxedSimd: relaxedHere, threads: 2 };
  }
}

const build = (file: string) => readFile(new URL(`../../build/${file}`, import.meta.url));

/** `backend: 'wasm'` throughout: a build that cannot start must throw, never fall back to JS. */
async function start(config: Configuration): Promise<Engine> {
  switch (config) {
    case 'js':
      return init({ backend: 'js' });
    case 'wasm':
      return init({ backend: 'wasm' });
    case 'wasm simd128':
      return init({ backend: 'wasm', wasm: await build('logitkit.wasm') });
    case 'wasm relaxed':
      return init({ backend: 'wasm', wasm: await build('logitkit-relaxed.wasm') });
    case 'threads 2':
      return init({ backend: 'wasm', threads: 2 });
  }
}

const engines = new Map<Configuration, Promise<Engine>>();
/**
 * One engine per configuration per test file (engines are independent; this only saves start-up),
 * checked against the configuration: backend and features.
 */
export function engineOf(config: Configuration): Promise<Engine> {
  let p = engines.get(config);
  if (!p) {
    p = start(config).then((lk) => {
      expect(lk.backend, `[${config}] lk.backend`).toBe(backendOf(config));
      // buildReason is prose (src/build-choice.ts): present on every wasm engine, not compared here.
      const { buildReason, ...features } = lk.features;
      expect(features, `[${config}] lk.features`).toEqual(expectedFeatures(config));
      if (config !== 'js') expect(buildReason, `[${config}] lk.features.buildReason`).toMatch(/\S/);
      return lk;
    });
    engines.set(config, p);
  }
  return p;
}

/**
 * An engine of this backend: for 'wasm', this run's wasm configuration when it has exactly one
 * (so a wasm-vs-js comparison in the `threads 2` project compares the threaded engine), else `wasm`.
 */
export function engineFor(name: BackendName): Promise<Engine> {
  if (name === 'js') return engineOf('js');
  const wasm = runConfigurations().filter((c) => c !== 'js');
  return engineOf(wasm.length === 1 ? wasm[0]! : 'wasm');
}

/**
 * Declares `title` once per configuration of this run, as `${title} [${config}]`. `lk()` is that
 * configuration's engine; `backend` is 'wasm' or 'js'. An engine that fails to start, or is not
 * what the configuration says, fails every test of the block with that error (a failing beforeAll
 * would only mark them skipped).
 */
export function describeEachBackend(title: string, body: (lk: () => Engine, backend: BackendName, config: Configuration) => void): void {
  for (const config of runConfigurations()) {
    describe(`${title} [${config}]`, () => {
      let lk: Engine | undefined;
      let failure: unknown;
      beforeAll(async () => {
        try {
          lk = await engineOf(config);
        } catch (e) {
          failure = e;
        }
      });
      beforeEach(() => {
        if (failure !== undefined) throw failure;
      });
      body(
        () => {
          if (lk) return lk;
          throw failure ?? new Error(`[${config}] the engine is not started yet (lk() called outside a test or hook)`);
        },
        backendOf(config),
        config,
      );
    });
  }
}

/**
 * Declares a describe block only in the runs that have one of `configs`: checks that concern one
 * configuration (threads splitting calls), or none (`describeOnce`), which the spec suites' other
 * projects would only repeat.
 */
export function describeFor(configs: Configuration | readonly Configuration[], title: string, body: () => void): void {
  const wanted: readonly Configuration[] = typeof configs === 'string' ? [configs] : configs;
  if (runConfigurations().some((c) => wanted.includes(c))) describe(title, body);
}

/** A describe block that does not depend on the configuration (the float64 reference against the spec's tables, say): once per run. */
export function describeOnce(title: string, body: () => void): void {
  describeFor('js', title, body);
}

/**
 * A wasm-against-JS comparison (tests that take `engineFor('wasm')` and `engineFor('js')`): declared
 * as `${title} [${config}]` once per wasm configuration of this run, and not at all in the `js`
 * project, where it would only repeat another project's run.
 */
export function describeVsJs(title: string, body: () => void): void {
  for (const config of runConfigurations()) if (config !== 'js') describe(`${title} [${config}]`, body);
}
