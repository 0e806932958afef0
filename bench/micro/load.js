// Loads one wasm build with an imported memory (as the engine does) — shared by the
// micro-benchmark drivers in this folder.
import { readFileSync } from 'node:fs';
export function load(file, pages = 2048) {
  const memory = new WebAssembly.Memory({ initial: pages, maximum: 65536 });
  const mod = new WebAssembly.Module(readFileSync(file));
  const imports = {};
  for (const imp of WebAssembly.Module.imports(mod)) {
    imports[imp.module] ??= {};
    if (imp.kind === 'memory') imports[imp.module][imp.name] = memory;
    else if (imp.kind === 'function') imports[imp.module][imp.name] = () => { throw new Error(`${imp.module}.${imp.name}`); };
  }
  const inst = new WebAssembly.Instance(mod, imports);
  return { e: inst.exports, memory, f32: new Float32Array(memory.buffer) };
}
