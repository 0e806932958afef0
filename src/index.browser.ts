/**
 * logitkit, browser entry. The .wasm is located with `new URL(…, import.meta.url)`
 * — the pattern Vite, webpack 5 and Rollup recognise and copy without configuration —
 * and fetched with compileStreaming (with an arrayBuffer fallback for servers that
 * send the wrong MIME type). No Node built-in and no top-level await here.
 */
import { makeInit, type InitOptions } from './init.js';
import type { Engine } from './engine.js';

export * from './public.js';

/** Start an engine: wasm SIMD when it validates here, else the JS backend (see `lk.backend`). */
export const init: (options?: InitOptions) => Promise<Engine> = makeInit({
  defaultWasm: () => new URL('./logitkit.wasm', import.meta.url),
  fetchUrl: (url) => fetch(url),
  // One literal `new URL` per build, so bundlers see (and copy) every file.
  wasmFile: (file) => {
    switch (file) {
      case 'logitkit-relaxed.wasm':
        return new URL('./logitkit-relaxed.wasm', import.meta.url);
      case 'logitkit-threads.wasm':
        return new URL('./logitkit-threads.wasm', import.meta.url);
      case 'logitkit-threads-relaxed.wasm':
        return new URL('./logitkit-threads-relaxed.wasm', import.meta.url);
      default:
        return new URL(file, new URL('./logitkit.wasm', import.meta.url));
    }
  },
});
