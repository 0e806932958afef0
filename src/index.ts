/**
 * Every name the package exports: `init()` starts an {@link Engine}, whose methods are the ops; the rest
 * are free functions, errors and the option and result types. The guides explain them by job.
 *
 * (This is the Node entry: `init()` reads the .wasm beside this module with fs. Its browser twin,
 * index.browser.ts, fetches it instead; both export the same API.)
 *
 * @module API reference
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

/**
 * A build's bytes from beside this module (dist/), or from build/ when running
 * from the TypeScript sources (tests, development).
 */
async function wasmFile(file: string): Promise<BufferSource> {
  try {
    return await readFile(new URL(`./${file}`, import.meta.url));
  } catch (e) {
    try {
      return await readFile(new URL(`../build/${file}`, import.meta.url));
    } catch {
      throw e;
    }
  }
}

const defaultWasm = (): Promise<BufferSource> => wasmFile('logitkit.wasm');

/** Start an engine: wasm SIMD when it validates here, else the JS backend (see `lk.backend`). */
export const init: (options?: InitOptions) => Promise<Engine> = makeInit({ defaultWasm, fetchUrl, wasmFile });
