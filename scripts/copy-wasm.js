// Puts the compiled .wasm files beside dist/index.js, where the Node loader
// (fs) and bundlers (new URL('./logitkit.wasm', import.meta.url)) look for them.
import { copyFileSync, readdirSync, mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
mkdirSync(join(root, 'dist'), { recursive: true });
for (const f of readdirSync(join(root, 'build'))) {
  if (f.endsWith('.wasm')) copyFileSync(join(root, 'build', f), join(root, 'dist', f));
}
