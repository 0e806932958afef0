/**
 * init(): choose and start a backend. Shared by the Node and browser entries,
 * which differ only in where the default .wasm comes from.
 *
 * Compilation is asynchronous and memoised per source (the default build is
 * compiled once per page/process); each init() gets its own instance and
 * memory, so engines never share state.
 */
import { Engine } from './engine.js';
import { JsBackend } from './backends/js.js';
import { createWasmBackend } from './backends/wasm.js';
import { fail, LogitkitError } from './errors.js';

export type WasmSource = URL | string | BufferSource | WebAssembly.Module | Response | PromiseLike<Response>;

export interface InitOptions {
  /** 'wasm' (SIMD build; throws if unavailable), 'js', or omitted: wasm when SIMD validates, else js. */
  backend?: 'wasm' | 'js';
  /** Worker threads for large calls (wasm only): a count or 'auto'. */
  threads?: number | 'auto';
  /** Where the wasm comes from: a URL, the bytes, a compiled Module, or a fetch Response. */
  wasm?: WasmSource;
  /** Upper bound of wasm memory in bytes (default 2 GiB). Calls needing more throw `out_of_memory`. */
  memoryLimit?: number;
}

/** How a platform turns a URL into bytes or a Response, and what its default source is. */
export interface Platform {
  defaultWasm(): WasmSource | Promise<WasmSource>;
  fetchUrl(url: URL | string): Promise<Response | BufferSource>;
}

export type LogitkitEngine = Engine;

const compiled = new Map<unknown, Promise<WebAssembly.Module>>();

export function makeInit(platform: Platform): (options?: InitOptions) => Promise<Engine> {
  return async function init(options: InitOptions = {}): Promise<Engine> {
    if (typeof options !== 'object' || options === null)
      fail('invalid_argument', `options = ${String(options)}, expected an options object`, 'options');
    const { backend } = options;
    if (backend !== undefined && backend !== 'wasm' && backend !== 'js')
      fail('invalid_argument', `options.backend = ${JSON.stringify(backend)}, expected 'wasm' or 'js'`, 'options.backend');
    if (options.memoryLimit !== undefined && !(Number.isFinite(options.memoryLimit) && options.memoryLimit >= 1 << 20))
      fail('invalid_argument', `options.memoryLimit = ${String(options.memoryLimit)}, expected a number of bytes ≥ 1 MiB`, 'options.memoryLimit');
    if (backend === 'js') return new Engine(new JsBackend());
    try {
      const module = await compileMemo(options.wasm ?? (await platform.defaultWasm()), platform);
      const wasm = await createWasmBackend(module, { ...(options.memoryLimit !== undefined ? { memoryLimit: options.memoryLimit } : {}) });
      return new Engine(wasm);
    } catch (e) {
      if (backend === 'wasm') {
        if (e instanceof LogitkitError) throw e;
        fail('wasm_unavailable', `could not start the wasm backend: ${(e as Error).message}`, 'options.backend');
      }
      const engine = new Engine(new JsBackend());
      fallbackReasons.set(engine, (e as Error).message);
      return engine;
    }
  };
}

const fallbackReasons = new WeakMap<Engine, string>();
/** Why init() chose the JS backend, when it fell back from wasm (undefined otherwise). */
export function fallbackReason(engine: Engine): string | undefined {
  return fallbackReasons.get(engine);
}

function compileMemo(source: WasmSource, platform: Platform): Promise<WebAssembly.Module> {
  if (typeof WebAssembly !== 'object' || typeof WebAssembly.compile !== 'function')
    return Promise.reject(new LogitkitError('wasm_unavailable', 'this runtime has no WebAssembly'));
  // Module objects and byte buffers are keyed by identity, URLs by their text.
  const key = source instanceof URL ? source.href : source;
  let p = compiled.get(key);
  if (!p) {
    p = compile(source, platform);
    compiled.set(key, p);
    p.catch(() => compiled.delete(key)); // a failed load may succeed later (e.g. a network error)
  }
  return p;
}

async function compile(source: WasmSource, platform: Platform): Promise<WebAssembly.Module> {
  if (source instanceof WebAssembly.Module) return source;
  if (source instanceof URL || typeof source === 'string') return compile(await platform.fetchUrl(source), platform);
  if (ArrayBuffer.isView(source) || source instanceof ArrayBuffer) return compileBytes(source);
  // A Response, or a promise of one: stream-compile, and fall back to bytes when
  // the server sent the wrong MIME type (compileStreaming insists on application/wasm).
  const response = await source;
  if (!response.ok) throw new LogitkitError('wasm_unavailable', `fetching ${response.url || 'the wasm'} failed: HTTP ${response.status}`);
  if (typeof WebAssembly.compileStreaming === 'function') {
    const spare = response.clone();
    try {
      return await WebAssembly.compileStreaming(response);
    } catch {
      return compileBytes(await spare.arrayBuffer());
    }
  }
  return compileBytes(await response.arrayBuffer());
}

async function compileBytes(bytes: BufferSource): Promise<WebAssembly.Module> {
  const b = ArrayBuffer.isView(bytes) ? new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength) : new Uint8Array(bytes);
  if (b.length >= 4 && !(b[0] === 0x00 && b[1] === 0x61 && b[2] === 0x73 && b[3] === 0x6d)) {
    const head = Array.from(b.subarray(0, 4), (v) => v.toString(16).padStart(2, '0')).join(' ');
    throw new LogitkitError('wasm_unavailable', `not a wasm binary (starts with ${head}, expected 00 61 73 6d): the server probably sent an HTML page`);
  }
  if (!WebAssembly.validate(b))
    throw new LogitkitError('wasm_unavailable', 'the wasm build does not validate here (this runtime lacks WebAssembly SIMD)');
  return WebAssembly.compile(b);
}
