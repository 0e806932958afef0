/**
 * logitkit, Node entry. `init()` reads the .wasm beside this module with fs.
 * (Its browser twin, index.browser.ts, fetches it instead; both export the same API.)
 */
import { readFile } from 'node:fs/promises';
import { makeInit, type InitOptions } from './init.js';
import type { Engine } from './engine.js';

export * from './public.js';

async function fetchUrl(url: URL | string): Promise<Response | BufferSource> {
  const u = url instanceof URL ? url : new URL(url, `file://${process.cwd()}/`);
  if (u.protocol === 'file:') return (await readFile(u)) as Uint8Array<ArrayBuffer>;
  return fetch(u);
}

async function defaultWasm(): Promise<BufferSource> {
  try {
    return await readFile(new URL('./logitkit.wasm', import.meta.url));
  } catch (e) {
    // Running from the TypeScript sources (tests, dev): the build output lives in build/.
    try {
      return await readFile(new URL('../build/logitkit.wasm', import.meta.url));
    } catch {
      throw e;
    }
  }
}

/** Start an engine: wasm SIMD when it validates here, else the JS backend (see `lk.backend`). */
export const init: (options?: InitOptions) => Promise<Engine> = makeInit({ defaultWasm, fetchUrl });
