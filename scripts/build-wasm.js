// Compiles every wasm target of asconfig.json. Kept as a script (not one asc
// call in package.json) so new targets (threads, relaxed SIMD) are one entry.
import { execFileSync } from 'node:child_process';
import { readFileSync, mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const config = JSON.parse(readFileSync(join(root, 'asconfig.json'), 'utf8'));
const asc = join(root, 'node_modules', 'assemblyscript', 'bin', 'asc.js');
mkdirSync(join(root, 'build'), { recursive: true });
const only = process.argv.slice(2);
for (const target of Object.keys(config.targets)) {
  if (only.length && !only.includes(target)) continue;
  execFileSync(process.execPath, [asc, ...config.entries, '--config', 'asconfig.json', '--target', target], {
    cwd: root,
    stdio: 'inherit',
  });
}
