// Puts the compiled .wasm builds (the asconfig.json targets: plain SIMD, relaxed
// SIMD and their shared-memory twins) beside dist/index.js, where the Node loader
// (fs) and bundlers (new URL('./logitkit.wasm', import.meta.url)) look for them.
// Only the targets' outputs are copied, so stray files in build/ never ship.
import { copyFileSync, readFileSync, mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join, basename } from 'node:path';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const config = JSON.parse(readFileSync(join(root, 'asconfig.json'), 'utf8'));
mkdirSync(join(root, 'dist'), { recursive: true });
for (const target of Object.values(config.targets)) {
  const file = basename(target.outFile);
  copyFileSync(join(root, target.outFile), join(root, 'dist', file));
}
