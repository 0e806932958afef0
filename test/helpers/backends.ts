/**
 * The spec suite is written once and run against every backend. Each run
 * asserts which backend is really computing, so a silent fallback to JS can
 * never make the wasm column pass by accident.
 */
import { beforeAll, describe, expect } from 'vitest';
import { init, type Engine } from '../../src/index.js';

export const BACKEND_NAMES = ['wasm', 'js'] as const;
export type BackendName = (typeof BACKEND_NAMES)[number];

const engines = new Map<BackendName, Promise<Engine>>();
/** One engine per backend per test file (engines are independent; this only saves start-up). */
export function engineFor(name: BackendName): Promise<Engine> {
  let p = engines.get(name);
  if (!p) engines.set(name, (p = init({ backend: name })));
  return p;
}

export function describeEachBackend(title: string, body: (lk: () => Engine, backend: BackendName) => void): void {
  for (const name of BACKEND_NAMES) {
    describe(`${title} [${name}]`, () => {
      let lk: Engine;
      beforeAll(async () => {
        lk = await engineFor(name);
        expect(lk.backend).toBe(name);
      });
      body(() => lk, name);
    });
  }
}
