// The inline entry carries the wasm bytes inside the JavaScript, for hosts that cannot serve
// a .wasm file (some CDNs, file://, extension pages, single-file bundles). Same API otherwise.
import * as logitkit from 'logitkit/inline';
import { show } from './show.js';

(window as unknown as { logitkit: typeof logitkit }).logitkit = logitkit;

logitkit
  .init()
  .then((lk) => show(lk))
  .catch((e: Error) => {
    document.getElementById('backend')!.textContent = `failed: ${e.message}`;
  });
