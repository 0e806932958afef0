/**
 * logitkit, inline entry (`logitkit/inline`). The same API as the other entries, but
 * the .wasm travels inside the JavaScript as base64, for hosts that cannot serve a
 * separate file: some CDNs and CMSs, file:// pages, browser extensions, single-file
 * bundles. It costs about a third more bytes than the binary and is decoded once,
 * on the first init(), never at import. No Node built-in, no top-level await and no
 * import.meta, so it also bundles to a classic script.
 *
 * Only the plain SIMD build is inlined: the relaxed-SIMD and shared-memory (threads)
 * builds would each add as much again, and threads need COOP/COEP headers anyway,
 * i.e. a server one controls, which can serve the regular entry's files.
 */
import { makeInit, type InitOptions } from './init.js';
import type { Engine } from './engine.js';
import { LogitkitError } from './errors.js';
// Generated into dist/ by scripts/make-inline.js from build/logitkit.wasm; it does not
// exist beside this source file, so the type checker cannot see it.
// @ts-expect-error -- generated module (dist/logitkit.inline-wasm.js)
import { wasmBase64 } from './logitkit.inline-wasm.js';

export * from './public.js';

// One decoded copy per page: init() memoises compilation by the identity of the bytes.
let bytes: Uint8Array<ArrayBuffer> | undefined;
function inlineWasm(): Uint8Array<ArrayBuffer> {
  if (!bytes) {
    const text = atob(wasmBase64 as string);
    bytes = new Uint8Array(text.length);
    for (let i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i);
  }
  return bytes;
}

/** Start an engine: wasm SIMD when it validates here, else the JS backend (see `lk.backend`). */
export const init: (options?: InitOptions) => Promise<Engine> = makeInit({
  defaultWasm: inlineWasm,
  wasmFile: (file) => {
    throw new LogitkitError('wasm_unavailable', `logitkit/inline carries only the plain SIMD build, not ${file}; use the 'logitkit' entry for it`);
  },
  // A URL passed explicitly as `init({ wasm })` is still fetched.
  fetchUrl: (url) => fetch(url),
});
