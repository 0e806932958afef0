// A user's app: import logitkit, await init(), call it. No bundler configuration is needed:
// the package's browser entry locates its .wasm with new URL(…, import.meta.url), which Vite
// copies into the build output by itself.
import * as logitkit from 'logitkit';
import { show } from './show.js';

// Exposed for the browser tests and for trying things in the devtools console.
(window as unknown as { logitkit: typeof logitkit }).logitkit = logitkit;

logitkit
  .init()
  .then((lk) => {
    const why = logitkit.fallbackReason(lk);
    show(lk, why ? ` (fell back: ${why})` : '');
  })
  .catch((e: Error) => {
    document.getElementById('backend')!.textContent = `failed: ${e.message}`;
  });
