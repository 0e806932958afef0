// One instantiation path: the main thread (through @assemblyscript/loader) and every pool worker
// (WORKER_SOURCE, a string) build the kernels' imports with the same function, kernelImports,
// which the worker gets as source text. It must therefore run from its text alone.
import { describe, it, expect } from 'vitest';
import { readFileSync } from 'node:fs';
import { kernelImports } from '../src/backends/instantiate.js';
import { WORKER_SOURCE } from '../src/backends/worker.js';

const buildDir = new URL('../build/', import.meta.url);

/** kernelImports rebuilt from its text in a scope that has nothing but globals. */
function fromText(): typeof kernelImports {
  return new Function(`'use strict'; return (${kernelImports.toString()});`)() as typeof kernelImports;
}

describe('kernelImports: one import object for the main thread and the workers', () => {
  it('the worker source embeds its text', () => {
    expect(WORKER_SOURCE).toContain(kernelImports.toString());
    expect(WORKER_SOURCE).toMatch(/new WebAssembly\.Instance\(module, kernelImports\(module, memory\)\)/);
  });

  it('runs from its text alone and instantiates every build this runtime compiles', () => {
    const f = fromText();
    for (const file of ['logitkit.wasm', 'logitkit-relaxed.wasm', 'logitkit-threads.wasm', 'logitkit-threads-relaxed.wasm']) {
      const bytes = readFileSync(new URL(file, buildDir));
      if (!WebAssembly.validate(bytes)) continue;
      const module = new WebAssembly.Module(bytes);
      const shared = file.includes('threads');
      const memory = new WebAssembly.Memory({ initial: 16, maximum: 256, shared } as WebAssembly.MemoryDescriptor);
      const imports = f(module, memory);
      expect(imports).toEqual(kernelImports(module, memory));
      expect(Object.keys(imports)).toEqual(['env']);
      expect(imports.env!.memory).toBe(memory);
      const instance = new WebAssembly.Instance(module, imports);
      expect(typeof (instance.exports.softmax as unknown)).toBe('function');
    }
  });

  it('an import other than the memory becomes a function that throws, naming it', () => {
    // (module (import "env" "abort" (func)) (import "env" "memory" (memory 1)))
    const bytes = new Uint8Array([
      0, 0x61, 0x73, 0x6d, 1, 0, 0, 0,
      1, 4, 1, 0x60, 0, 0,
      2, 27, 2, 3, 0x65, 0x6e, 0x76, 5, 0x61, 0x62, 0x6f, 0x72, 0x74, 0, 0, 3, 0x65, 0x6e, 0x76, 6, 0x6d, 0x65, 0x6d, 0x6f, 0x72, 0x79, 2, 0, 1,
    ]);
    expect(WebAssembly.validate(bytes)).toBe(true);
    const module = new WebAssembly.Module(bytes);
    const memory = new WebAssembly.Memory({ initial: 1 });
    const imports = fromText()(module, memory);
    expect(imports.env!.memory).toBe(memory);
    expect(() => (imports.env!.abort as () => void)()).toThrow(/wasm import env\.abort is not available/);
  });
});
