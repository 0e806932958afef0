// The demo runs on the package as built (dist/), exactly what `import 'logitkit'` gives a user
// in the browser: the alias points at the browser entry, whose new URL('./logitkit.wasm',
// import.meta.url) Vite copies into demo/dist/assets by itself.
import { defineConfig } from 'vite';
import { fileURLToPath } from 'node:url';

export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: './',
  resolve: {
    alias: { logitkit: fileURLToPath(new URL('../dist/index.browser.js', import.meta.url)) },
  },
  build: { outDir: 'dist', emptyOutDir: true, target: 'es2022' },
  server: {
    // Cross-origin isolation, so SharedArrayBuffer (and logitkit's worker pool) are available.
    headers: { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp' },
  },
});
