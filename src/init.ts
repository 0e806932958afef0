/**
 * init(): choose and start a backend. Shared by the Node and browser entries,
 * which differ only in where the .wasm builds come from.
 *
 * Compilation is asynchronous and memoised per source (each default build is
 * compiled once per page/process); each init() gets its own instance and
 * memory, so engines never share state.
 *
 * Which wasm build runs, best first (each step falls through when the build
 * is missing, does not validate here, or its worker pool cannot start):
 *   threads > 1 and threads possible here → logitkit-threads-relaxed, logitkit-threads
 *   relaxed SIMD validates and is faster  → logitkit-relaxed (src/build-choice.ts)
 *   always                                → logitkit (plain SIMD; if that fails: the JS backend)
 * Relaxed SIMD is probed with a 37-byte module before any build is fetched,
 * so runtimes without it (Node 20 without --experimental-wasm-relaxed-simd)
 * never download the relaxed builds. `lk.features` says what was chosen.
 */
import { Engine } from './engine.js';
import { JsBackend } from './backends/js.js';
import { createWasmBackend } from './backends/wasm.js';
import type { Features } from './backends/backend.js';
import { hardwareThreads, threadSupport } from './backends/threads.js';
import { fail, LogitkitError } from './errors.js';
import { checkOptionKeys, INIT_KEYS } from './options.js';
import { buildReason, chooseBuild, describeRuntime, EXPLICIT_BUILD_REASON } from './build-choice.js';

/** What `init({ wasm })` accepts: a URL, the bytes, a compiled module, or a `fetch` Response (or a promise of one). */
export type WasmSource = URL | string | BufferSource | WebAssembly.Module | Response | PromiseLike<Response>;

/** Options of `init()`: backend, wasm source, threads, memory limit, warm-up. */
export interface InitOptions {
  /** 'wasm' (SIMD build; throws if unavailable), 'js', or omitted: wasm when SIMD validates, else js. */
  backend?: 'wasm' | 'js';
  /**
   * Threads for large row-wise calls (wasm only): a count, or 'auto' for one per
   * logical core. Default 1. Needs SharedArrayBuffer: in browsers, a
   * cross-origin-isolated page (COOP/COEP headers); elsewhere one thread and a
   * one-time console warning that says why.
   */
  threads?: number | 'auto';
  /**
   * Where the wasm comes from: a URL, the bytes, a compiled Module, or a fetch
   * Response. That build is used as it is (a shared-memory build gets the
   * worker pool; the others run on one thread).
   */
  wasm?: WasmSource;
  /**
   * Run the hot kernels for a few milliseconds during init() so that the first big call
   * runs V8's optimised code (default true; false makes init() ~20 ms quicker).
   */
  warmup?: boolean;
  /** Upper bound of wasm memory in bytes (default 2 GiB). Calls needing more throw `out_of_memory`. */
  memoryLimit?: number;
}

/** How a platform turns a URL into bytes or a Response, and what its default sources are. */
export interface Platform {
  /** The plain SIMD build (logitkit.wasm). */
  defaultWasm(): WasmSource | Promise<WasmSource>;
  fetchUrl(url: URL | string): Promise<Response | BufferSource>;
  /**
   * Another build by file name (e.g. 'logitkit-relaxed.wasm'), from where the
   * default build lives. Optional: without it the other builds are looked up
   * beside a URL default, and are unavailable when the default is bytes.
   */
  wasmFile?(file: string): WasmSource | Promise<WasmSource>;
}

/** The wasm builds and their files (asconfig.json targets). */
export const BUILD_FILES = {
  'threads-relaxed': 'logitkit-threads-relaxed.wasm',
  threads: 'logitkit-threads.wasm',
  relaxed: 'logitkit-relaxed.wasm',
  simd: 'logitkit.wasm',
} as const;
export type BuildName = keyof typeof BUILD_FILES;

/** The builds to try, best first. */
export function buildOrder(threads: boolean, relaxedSimd: boolean): BuildName[] {
  const order: BuildName[] = [];
  if (threads && relaxedSimd) order.push('threads-relaxed');
  if (threads) order.push('threads');
  if (relaxedSimd) order.push('relaxed');
  order.push('simd');
  return order;
}

/**
 * (func (param v128 v128 v128) (result v128) local.get 0 local.get 1 local.get 2 f32x4.relaxed_madd):
 * validates exactly where the relaxed-SIMD builds do.
 */
const RELAXED_SIMD_PROBE = new Uint8Array([
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, // magic, version
  0x01, 0x08, 0x01, 0x60, 0x03, 0x7b, 0x7b, 0x7b, 0x01, 0x7b, // type section: (v128 v128 v128) → v128
  0x03, 0x02, 0x01, 0x00, // function section: one function of type 0
  0x0a, 0x0d, 0x01, 0x0b, 0x00, 0x20, 0x00, 0x20, 0x01, 0x20, 0x02, 0xfd, 0x85, 0x02, 0x0b, // code: relaxed_madd = 0xfd 0x105
]);

/** (func (result v128) v128.const 0): validates wherever WebAssembly SIMD (simd128) does. */
const SIMD_PROBE = new Uint8Array([
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, // magic, version
  0x01, 0x05, 0x01, 0x60, 0x00, 0x01, 0x7b, // type section: () → v128
  0x03, 0x02, 0x01, 0x00, // function section
  0x0a, 0x16, 0x01, 0x14, 0x00, 0xfd, 0x0c, ...new Array<number>(16).fill(0), 0x0b, // code: v128.const 0
]);
/** (memory 1 1 shared): validates wherever the threads builds' shared memory does. */
const SHARED_MEMORY_PROBE = new Uint8Array([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x05, 0x04, 0x01, 0x03, 0x01, 0x01]);

/**
 * Why a build did not validate: WebAssembly.validate gives no reason, so the features the builds
 * need are probed one by one and the missing ones named (a relaxed build on Node 20 without its flag
 * used to be reported as lacking SIMD). `validate` is a parameter so tests can play other runtimes.
 */
export function validationFailure(validate: (bytes: Uint8Array) => boolean = (b) => WebAssembly.validate(b as Uint8Array<ArrayBuffer>)): string {
  const ok = (probe: Uint8Array): boolean => {
    try {
      return validate(probe);
    } catch {
      return false;
    }
  };
  if (!ok(SIMD_PROBE)) return 'the wasm build does not validate here: this runtime lacks WebAssembly SIMD (simd128), which every logitkit build needs';
  const missing: string[] = [];
  if (!ok(RELAXED_SIMD_PROBE))
    missing.push('relaxed SIMD, which logitkit-relaxed*.wasm needs (Node 20 only with --experimental-wasm-relaxed-simd; pass logitkit.wasm instead)');
  if (!ok(SHARED_MEMORY_PROBE)) missing.push('shared memory (WebAssembly threads), which logitkit-threads*.wasm needs');
  if (missing.length > 0) return `the wasm build does not validate here: this runtime has WebAssembly SIMD but lacks ${missing.join(', and ')}`;
  return 'the wasm build does not validate here although this runtime has SIMD, relaxed SIMD and shared memory: the file is damaged or not a logitkit build for this version';
}

let relaxedSupported: boolean | undefined;
/** Whether this runtime validates relaxed SIMD (f32x4.relaxed_madd). */
export function relaxedSimdSupported(): boolean {
  if (relaxedSupported === undefined) {
    try {
      relaxedSupported = typeof WebAssembly === 'object' && WebAssembly.validate(RELAXED_SIMD_PROBE);
    } catch {
      relaxedSupported = false;
    }
  }
  return relaxedSupported;
}

let warnedSingleThread = false;
/** The one-time console warning when threads were asked for but cannot run. Returns whether it printed. */
export function warnSingleThread(requested: number, reason: string): boolean {
  if (warnedSingleThread) return false;
  warnedSingleThread = true;
  console.warn(`logitkit: init({ threads: ${requested} }) runs on one thread: ${reason}.`);
  return true;
}

const compiled = new Map<unknown, Promise<WebAssembly.Module>>();

/** A value for a message: strings quoted, anything else (bigint, symbol…) as String() gives it, never a throw. */
function show(v: unknown): string {
  return typeof v === 'string' ? JSON.stringify(v) : String(v);
}

export function makeInit(platform: Platform): (options?: InitOptions) => Promise<Engine> {
  return async function init(options: InitOptions = {}): Promise<Engine> {
    checkOptionKeys(options, INIT_KEYS);
    const { backend } = options;
    if (backend !== undefined && backend !== 'wasm' && backend !== 'js')
      fail('invalid_argument', `options.backend = ${show(backend)}, expected 'wasm' or 'js'`, 'options.backend');
    if (options.memoryLimit !== undefined && !(Number.isFinite(options.memoryLimit) && options.memoryLimit >= 1 << 20))
      fail('invalid_argument', `options.memoryLimit = ${String(options.memoryLimit)}, expected a number of bytes ≥ 1 MiB`, 'options.memoryLimit');
    const t = options.threads;
    if (t !== undefined && t !== 'auto' && !(typeof t === 'number' && Number.isInteger(t) && t >= 1 && t <= 256))
      fail('invalid_argument', `options.threads = ${show(t)}, expected an integer from 1 to 256 or 'auto'`, 'options.threads');
    if (backend === 'js') return new Engine(new JsBackend(options.memoryLimit));
    try {
      const wasm = await startWasm(options, platform);
      const engine = new Engine(wasm);
      return engine;
    } catch (e) {
      if (backend === 'wasm') {
        if (e instanceof LogitkitError) throw e;
        fail('wasm_unavailable', `could not start the wasm backend: ${(e as Error).message}`, 'options.backend');
      }
      const engine = new Engine(new JsBackend(options.memoryLimit));
      fallbackReasons.set(engine, (e as Error).message);
      return engine;
    }
  };
}

async function startWasm(options: InitOptions, platform: Platform) {
  const backendOptions = { ...(options.memoryLimit !== undefined ? { memoryLimit: options.memoryLimit } : {}), warmup: options.warmup !== false };
  const requested = options.threads === 'auto' ? await hardwareThreads() : (options.threads ?? 1);
  let threads = requested;
  // Every engine that runs on one thread against the request says why in lk.features, not only
  // the first (which also prints the warning): a second init() must not be silent either.
  const single = <B extends { features: Features }>(backend: B, reason: string): B => {
    warnSingleThread(requested, reason);
    backend.features.threadsUnavailable = reason;
    return backend;
  };
  let unsupported: string | undefined;
  if (threads > 1) {
    const support = threadSupport();
    if (!support.ok) {
      unsupported = support.reason;
      threads = 1;
    }
  }
  if (options.wasm !== undefined) {
    const wasm = await createWasmBackend(await compileMemo(options.wasm, platform), { ...backendOptions, threads });
    wasm.features.buildReason = EXPLICIT_BUILD_REASON;
    if (unsupported !== undefined) return single(wasm, unsupported);
    if (threads > 1 && wasm.features.threads === 1)
      return single(wasm, 'the module passed as options.wasm is not the shared-memory build (logitkit-threads*.wasm)');
    return wasm;
  }
  // Best build first; the plain SIMD build comes last and its error is the one reported.
  let lastError: unknown;
  const choice = chooseBuild(relaxedSimdSupported(), describeRuntime()); // validating is not being faster: src/build-choice.ts
  for (const build of buildOrder(threads > 1, choice.relaxed)) {
    try {
      const module = await compileBuild(build, platform);
      const backend = await createWasmBackend(module, { ...backendOptions, threads: build.startsWith('threads') ? threads : 1 });
      backend.features.buildReason = buildReason(choice, backend.features.relaxedSimd);
      if (unsupported !== undefined) return single(backend, unsupported);
      if (threads > 1 && !build.startsWith('threads'))
        return single(backend, `no shared-memory build could be started (${(lastError as Error | undefined)?.message ?? 'unknown reason'})`);
      return backend;
    } catch (e) {
      lastError = e;
    }
  }
  throw lastError;
}

/**
 * What an engine's backend runs: `{ simd, relaxedSimd, threads }` (all off for
 * the JS backend). The same object as `lk.features`.
 */
export function featuresOf(engine: Engine): Features {
  return engine.features;
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
  return memo(compiled, key, () => compile(source, platform));
}

/** The platform's default builds, memoised per platform and build (Node reads fresh bytes each time). */
const compiledDefaults = new WeakMap<Platform, Map<unknown, Promise<WebAssembly.Module>>>();
function compileBuild(build: BuildName, platform: Platform): Promise<WebAssembly.Module> {
  if (typeof WebAssembly !== 'object' || typeof WebAssembly.compile !== 'function')
    return Promise.reject(new LogitkitError('wasm_unavailable', 'this runtime has no WebAssembly'));
  let cache = compiledDefaults.get(platform);
  if (!cache) compiledDefaults.set(platform, (cache = new Map()));
  return memo(cache, build, async () => compile(await buildSource(build, platform), platform));
}

async function buildSource(build: BuildName, platform: Platform): Promise<WasmSource> {
  if (build === 'simd') return platform.defaultWasm();
  const file = BUILD_FILES[build];
  if (platform.wasmFile) return platform.wasmFile(file);
  const main = await platform.defaultWasm();
  if (main instanceof URL) return new URL(file, main);
  if (typeof main === 'string' && /^[a-z][a-z0-9+.-]*:/i.test(main)) return new URL(file, main);
  throw new LogitkitError('wasm_unavailable', `no location is known for ${file} (the default build is not a URL)`);
}

function memo<K>(cache: Map<K, Promise<WebAssembly.Module>>, key: K, make: () => Promise<WebAssembly.Module>): Promise<WebAssembly.Module> {
  let p = cache.get(key);
  if (!p) {
    p = make();
    cache.set(key, p);
    p.catch(() => cache.delete(key)); // a failed load may succeed later (e.g. a network error)
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
    throw new LogitkitError('wasm_unavailable', validationFailure());
  return WebAssembly.compile(b);
}
