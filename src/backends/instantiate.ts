/**
 * The import object of a kernel build, the one thing the main thread and the pool's workers must
 * agree on to instantiate the same module over the same memory.
 *
 * The main thread instantiates through @assemblyscript/loader (the project's chosen stack); a
 * worker runs WORKER_SOURCE, a string (no module, no bundler, no file next to the bundle: see
 * worker.ts), where the loader cannot be imported. So both sides build their imports with this
 * one function — the worker gets its source text (Function.prototype.toString) — and the loader
 * adds nothing on top: it only fills env.abort / env.trace / env.seed when absent, and this
 * function provides every import the module declares. Hence it must stay self-contained: no
 * reference to anything outside its body (test/instantiate.test.ts runs it from its text).
 */
export function kernelImports(module: WebAssembly.Module, memory: WebAssembly.Memory): WebAssembly.Imports {
  const imports: Record<string, Record<string, WebAssembly.ImportValue>> = {};
  for (const imp of WebAssembly.Module.imports(module)) {
    const ns = imports[imp.module] || (imports[imp.module] = {});
    // The builds import their memory only (the kernels never abort: noAssert, no runtime);
    // anything else a future build imports fails loudly when called, never silently.
    ns[imp.name] =
      imp.kind === 'memory'
        ? memory
        : () => {
            throw new Error('logitkit: wasm import ' + imp.module + '.' + imp.name + ' is not available');
          };
  }
  return imports;
}
