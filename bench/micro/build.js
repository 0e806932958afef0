// Compiles bench/micro/passes.ts (plain SIMD and relaxed) into bench/micro/build/. Not part of
// `npm run build`: the shipped builds come from asconfig.json only.
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');
const asc = join(root, 'node_modules', 'assemblyscript', 'bin', 'asc.js');
mkdirSync(join(here, 'build'), { recursive: true });
for (const [name, enable] of [['passes', 'simd'], ['passes-relaxed', 'simd,relaxed-simd']]) {
  execFileSync(process.execPath, [asc, join(here, 'passes.ts'), '--runtime', 'stub', '--importMemory', '--initialMemory', '1',
    '--maximumMemory', '65536', '--enable', enable, '--noAssert', '-O3', '--converge', '--outFile', join(here, 'build', `${name}.wasm`)],
  { cwd: root, stdio: 'inherit' });
}
