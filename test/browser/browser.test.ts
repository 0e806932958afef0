/**
 * logitkit in real browsers: Chromium (playwright-core), Firefox ESR (puppeteer-core over WebDriver
 * BiDi) and WebKitGTK (selenium-webdriver and WebKitWebDriver, on an Xvfb display), all Debian's
 * packages, behind one page API (engines.ts). Every browser test below is written once and runs in
 * each engine; where an engine cannot do something (threads in WebKitGTK), its test asserts what
 * happens there instead.
 *
 * The pages are built once, the way a user builds them — Vite's programmatic build() of
 * examples/vite (no config file) and of demo/ — into a temp dir, served from 127.0.0.1 on a random
 * port by scripts/serve.js, which can also misbehave on purpose (wrong MIME type, HTML 404, SPA
 * fallback, CSP, COOP/COEP). Vite's dev server, rolldown IIFE bundles and the `npm pack` tarball
 * unpacked into node_modules cover the other ways users load it. Needs `npm run build` first (npm test
 * runs it as pretest) and the three browsers (apt-get install -y chromium firefox-esr
 * webkit2gtk-driver xvfb); without one, that engine's tests fail with a message saying so.
 */
import { cpSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { builtinModules } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { build, createLogger, createServer, type InlineConfig, type Plugin, type ViteDevServer } from 'vite';
import { rolldown } from 'rolldown';
import { launch, PAGE_CAPTURE, type Engine, type EngineName, type TestPage } from './engines.js';
import { serve, type ServeOptions, type Served } from '../../scripts/serve.js';
import { closeEnough, logTol, probTol, spreadOf, FLT_MIN, type Tol } from '../helpers/tolerance.js';
import { PEN, scribble, speckle, traceDigit, type Stroke } from './digit-strokes.js';
import { readNpyFloat32, readNpyInt32 } from '../../src/io/npy.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const EXAMPLE = join(ROOT, 'examples', 'vite');
const ARTIFACTS = join(ROOT, 'test-artifacts');

/**
 * What each engine runs, asserted below and listed in the README's "Supported runtimes" table.
 * WebKitGTK reports crossOriginIsolated but has no SharedArrayBuffer and refuses to post shared
 * wasm memory to a worker (DataCloneError): the GLib ports of WebKit do not enable it. So threads
 * there are one thread, with the reason in lk.features.threadsUnavailable and the warning.
 */
const ENGINES: { name: EngineName; relaxedSimd: boolean; threads: boolean }[] = [
  { name: 'chromium', relaxedSimd: true, threads: true },
  // Firefox validates relaxed SIMD but runs it slower: init() picks SIMD128 there (src/build-choice.ts).
  { name: 'firefox', relaxedSimd: true, threads: true },
  { name: 'webkit', relaxedSimd: false, threads: false },
];

/** The engine the current describe.each block drives (undefined between blocks and when it failed to start). */
let engine: Engine | undefined;
let work: string;
const servers: Served[] = [];
const devServers: ViteDevServer[] = [];
const out = { example: '', inline: '', demo: '', installed: '' };
const warnings: Record<keyof typeof out, string[]> = { example: [], inline: [], demo: [], installed: [] };
/** A copy of the example whose node_modules/logitkit is a real directory, as after installing from the registry. */
let installedApp = '';
/** What the server injects into HTML pages for engines without preload scripts (WebKit), or null. */
let preload: string | null = null;
/** Per engine: what init() picked, and how long its tests took (printed at the end). */
const report: Record<string, unknown> = {};


/** Vite's build(), quiet, with every warning kept for the assertions below. */
async function viteBuild(name: keyof typeof out, config: InlineConfig): Promise<void> {
  const logger = createLogger('warn', { allowClearScreen: false });
  const keep = (msg: string) => warnings[name].push(msg);
  logger.warn = keep;
  logger.warnOnce = keep;
  logger.error = keep;
  out[name] = join(work, name);
  // Every import of a Node built-in, seen at resolution (Vite only warns about them outside NODE_ENV=test).
  const builtins: Plugin = {
    name: 'record-node-builtins',
    enforce: 'pre',
    resolveId(source, importer) {
      if (source.startsWith('node:') || builtinModules.includes(source)) keep(`${source} imported by ${importer ? relative(ROOT, importer) : '?'}`);
      return null;
    },
  };
  await build({
    ...config,
    plugins: [builtins],
    logLevel: 'warn',
    customLogger: logger,
    build: {
      ...config.build,
      outDir: out[name],
      emptyOutDir: true,
      // Bundler warnings (e.g. "Module "node:fs" has been externalized") arrive here, not at the logger.
      rollupOptions: { ...config.build?.rollupOptions, onLog: (level, log) => void (level === 'warn' && keep(log.message)) },
    },
  });
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((d) => d.isFile())
    .map((d) => join(d.parentPath, d.name));
}

async function served(options: ServeOptions): Promise<Served> {
  const s = await serve({ ...options, preload: () => preload });
  servers.push(s);
  return s;
}

/** Opens a page in the current engine; `before` runs before the page's own scripts. */
async function open(url: string, before?: () => void): Promise<TestPage> {
  if (!engine) throw new Error('no browser is running');
  preload = engine.injectsScripts ? PAGE_CAPTURE + (before ? `\n(${before.toString()})();` : '') : null;
  return engine.open(url, before ? { before } : {});
}

const text = (page: TestPage, selector: string) => page.evaluate((s) => document.querySelector(s)?.textContent ?? null, selector);

/** Polls `condition` in the page until it is true. */
async function waitFor(page: TestPage, condition: () => boolean, what: string, timeout = 15_000): Promise<void> {
  for (const t0 = Date.now(); Date.now() - t0 < timeout; await new Promise((ok) => setTimeout(ok, 50))) {
    if (page.errors.length) throw new Error(`the page threw while waiting for ${what}: ${page.errors.join(' | ')}`);
    if (await page.evaluate(condition)) return;
  }
  throw new Error(`timed out after ${timeout} ms waiting for ${what}`);
}

/** Sets a form control as a user would change it: the value, then 'input' and 'change'. */
async function setControl(page: TestPage, selector: string, value: string): Promise<void> {
  await page.evaluate(
    ([s, v]) => {
      const el = document.querySelector(s) as HTMLInputElement | HTMLSelectElement;
      el.value = v;
      el.dispatchEvent(new Event('input', { bubbles: true }));
      el.dispatchEvent(new Event('change', { bubbles: true }));
    },
    [selector, value] as const,
  );
}

/** The text of #backend once the example app has started (or failed); fails fast if the page throws. */
async function backendShown(page: TestPage): Promise<string> {
  await waitFor(page, () => document.querySelector('#backend')?.textContent !== 'loading…', 'the example to show its backend');
  return (await text(page, '#backend')) ?? '';
}


/** A browser whose wasm has no SIMD (Safari before 16.4): logitkit's build neither validates nor compiles. */
function withoutWasmSimd(): void {
  const refuse = () => Promise.reject(new WebAssembly.CompileError('WebAssembly.compile(): invalid SIMD opcode (simulated: no wasm SIMD)'));
  WebAssembly.validate = () => false;
  WebAssembly.compile = refuse;
  WebAssembly.compileStreaming = refuse;
  WebAssembly.instantiate = refuse as typeof WebAssembly.instantiate;
  WebAssembly.instantiateStreaming = refuse;
}

/** The example plus the package installed from its packed tarball, as `npm install logitkit` would. */
function makeInstalledApp(): string {
  const app = join(work, 'installed-app');
  for (const f of ['index.html', 'inline.html', 'src']) cpSync(join(EXAMPLE, f), join(app, f), { recursive: true });
  const manifest = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { dependencies?: Record<string, string> };
  // The tarball `npm publish` would upload, unpacked where `npm install` puts it: what "files" leaves out is missing here too.
  const tarball = execFileSync('npm', ['pack', '--silent', '--ignore-scripts', '--pack-destination', work], { cwd: ROOT, encoding: 'utf8' }).trim().split('\n').pop()!;
  const pkg = join(app, 'node_modules', 'logitkit');
  mkdirSync(pkg, { recursive: true });
  execFileSync('tar', ['-xzf', join(work, tarball), '-C', pkg, '--strip-components=1']);
  // Its dependencies, hoisted beside it as npm does (linked to ours rather than copied).
  for (const dep of Object.keys(manifest.dependencies ?? {})) {
    mkdirSync(dirname(join(app, 'node_modules', dep)), { recursive: true });
    symlinkSync(join(ROOT, 'node_modules', dep), join(app, 'node_modules', dep), 'dir');
  }
  return app;
}

/** `vite` (the dev server) in a folder with no config file, on a random port. */
async function viteDev(root: string, allow?: string[]): Promise<string> {
  const server = await createServer({
    root,
    configFile: false,
    logLevel: 'silent',
    cacheDir: join(work, `vite-cache-${devServers.length}`),
    server: { host: '127.0.0.1', port: 0, ...(allow ? { fs: { allow } } : {}) },
    // The dev server's pages get the engine's preload too (the static server injects it itself).
    plugins: [{ name: 'preload', transformIndexHtml: () => (preload === null ? [] : [{ tag: 'script', children: preload, injectTo: 'head-prepend' }]) }],
  });
  devServers.push(server);
  await server.listen();
  return server.resolvedUrls!.local[0]!;
}

/** dist/<entry> bundled by rolldown as a classic script (IIFE), which has no top-level await and no import.meta. */
async function iife(entry: string): Promise<{ code: string; logs: string[] }> {
  const logs: string[] = [];
  const bundle = await rolldown({ input: join(ROOT, 'dist', entry), platform: 'browser', logLevel: 'warn', onLog: (_level, log) => void logs.push(`${log.code}: ${log.message}`) });
  try {
    // Throws INVALID_TLA_FORMAT if any module of the graph has a top-level await.
    const { output } = await bundle.generate({ format: 'iife', name: 'logitkit' });
    return { code: output[0].code, logs };
  } finally {
    await bundle.close();
  }
}

beforeAll(async () => {
  for (const f of ['index.browser.js', 'index.inline.js', 'logitkit.inline-wasm.js', 'logitkit.wasm'])
    if (!existsSync(join(ROOT, 'dist', f))) throw new Error(`dist/${f} is missing: run \`npm run build\` before the browser tests`);

  // What `npm install` does for the example's "logitkit": "file:../.." dependency: a symlink.
  const link = join(EXAMPLE, 'node_modules', 'logitkit');
  if (!existsSync(link)) {
    mkdirSync(join(EXAMPLE, 'node_modules'), { recursive: true });
    try {
      if (lstatSync(link).isSymbolicLink()) rmSync(link); // a dangling link
    } catch {
      /* no link at all */
    }
    symlinkSync(relative(join(EXAMPLE, 'node_modules'), ROOT), link, 'dir');
  }

  // Built once, served to every engine.
  work = mkdtempSync(join(tmpdir(), 'logitkit-browser-'));
  // The example exactly as a user builds it: `vite build` in its folder, no config file.
  await viteBuild('example', { root: EXAMPLE, configFile: false });
  // Its second page, on the inline entry, built alone: the output must then hold no .wasm at all.
  await viteBuild('inline', { root: EXAMPLE, configFile: false, build: { rollupOptions: { input: join(EXAMPLE, 'inline.html') } } });
  await viteBuild('demo', { configFile: join(ROOT, 'demo', 'vite.config.ts') });
  installedApp = makeInstalledApp();
  await viteBuild('installed', { root: installedApp, configFile: false });
  mkdirSync(ARTIFACTS, { recursive: true });
}, 120_000);

afterAll(async () => {
  await Promise.all(devServers.map((d) => d.close()));
  await Promise.all(servers.map((s) => s.close()));
  if (work) rmSync(work, { recursive: true, force: true });
  if (Object.keys(report).length) console.log(`browser engines:\n${Object.entries(report).map(([k, v]) => `  ${k}: ${JSON.stringify(v)}`).join('\n')}`);
});

describe('bundling with Vite, no configuration', () => {
  it('the example has no Vite config, and its build emits every wasm build of dist/, byte-identical', () => {
    expect(readdirSync(EXAMPLE).filter((f) => f.startsWith('vite.config'))).toEqual([]);
    const builds = readdirSync(join(ROOT, 'dist')).filter((f) => f.endsWith('.wasm'));
    expect(builds).toContain('logitkit.wasm');
    const emitted = filesUnder(out.example).filter((f) => f.endsWith('.wasm'));
    // Vite names each asset <name>-<hash>.wasm; match them to dist/ by content.
    const copied = emitted.map((f) => builds.find((b) => readFileSync(f).equals(readFileSync(join(ROOT, 'dist', b)))) ?? `unknown: ${f}`);
    expect(copied.sort()).toEqual([...builds].sort());
  });

  it('the inline build emits no .wasm file', () => {
    expect(filesUnder(out.inline).filter((f) => f.endsWith('.wasm'))).toEqual([]);
    expect(existsSync(join(out.inline, 'inline.html'))).toBe(true);
  });

  it.each(['example', 'inline', 'demo', 'installed'] as const)('no Node built-in reaches the %s bundle (build warnings and output)', (name) => {
    // Vite "externalizes" a node: import with a warning and an empty stub; webpack 5 fails outright.
    expect(warnings[name].filter((w) => /externali[sz]ed for browser|node:|__vite-browser-external|imported by/.test(w))).toEqual([]);
    const js = filesUnder(out[name]).filter((f) => f.endsWith('.js'));
    expect(js.length).toBeGreaterThan(0);
    for (const f of js) {
      const text = readFileSync(f, 'utf8');
      expect(text.match(/["'`]node:[a-z_/]+/g) ?? [], f).toEqual([]);
      expect(text.includes('__vite-browser-external'), f).toBe(false);
    }
  });

  it.each(['index.browser.js', 'index.inline.js'])('dist/%s bundles to a classic script with rolldown: no top-level await, no Node built-in', async (entry) => {
    const { code, logs } = await iife(entry);
    expect(code.length).toBeGreaterThan(1000);
    expect(logs.filter((l) => /UNRESOLVED_IMPORT|node:/.test(l))).toEqual([]);
    // The inline entry needs no import.meta at all, so it also works where import.meta is unavailable.
    if (entry === 'index.inline.js') expect(logs.filter((l) => /IMPORT_META/.test(l))).toEqual([]);
  });
});

// ---------------------------------------------------------------- spec parity

interface Case {
  name: string;
  classes: number;
  values: number[];
  temperature?: number;
}

/** Edge rows of SEMANTICS.md (±inf, NaN, huge, single class) plus random blocks that cross SIMD lanes and tails. */
function specCases(): Case[] {
  let s = 12345;
  const rand = () => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 2 ** 32) * 2 - 1;
  const random = (rows: number, classes: number, scale: number) => Array.from({ length: rows * classes }, () => Math.fround(rand() * scale));
  return [
    { name: 'ordinary', classes: 4, values: [1, 2, 3, 4, -1, 0, 0.5, 2] },
    { name: 'masked -inf entries', classes: 4, values: [-Infinity, 0, 1, -Infinity, 3, -Infinity, -Infinity, -Infinity] },
    { name: 'all -inf row', classes: 3, values: [-Infinity, -Infinity, -Infinity, 1, 2, 3] },
    { name: 'NaN in a row', classes: 3, values: [1, NaN, 2, 0, 0, 0] },
    { name: '+inf in a row', classes: 3, values: [Infinity, 1, 2, Infinity, Infinity, 0, Infinity, -Infinity, 0] },
    { name: 'huge logits', classes: 3, values: [1000, 999, -1000, -3e38, 3e38, 0] },
    { name: 'one class', classes: 1, values: [5, -Infinity, NaN, 0] },
    { name: 'ties', classes: 5, values: [2, 7, 7, 1, 7] },
    { name: 'random 37×129', classes: 129, values: random(37, 129, 8) },
    { name: 'random 3×5000', classes: 5000, values: random(3, 5000, 20) },
    { name: 'temperature 0.5', classes: 7, values: random(9, 7, 4), temperature: 0.5 },
  ];
}

type Outputs = Record<string, number[]>;

/** Runs every op of one case on one backend in the page (the example app exposes the package as window.logitkit). */
async function runInPage(page: TestPage, backend: 'wasm' | 'js', cases: Case[]): Promise<{ backend: string; results: Outputs[] }> {
  return page.evaluate(
    async ({ backend, cases }) => {
      const logitkit = (window as unknown as { logitkit: typeof import('logitkit') }).logitkit;
      const lk = await logitkit.init({ backend });
      const results = cases.map(({ classes, values, temperature }) => {
        const x = Float32Array.from(values);
        const o = temperature === undefined ? {} : { temperature };
        const k = Math.min(3, classes);
        const top = lk.topk(x, classes, k);
        return {
          softmax: Array.from(lk.softmax(x, classes, o)),
          logSoftmax: Array.from(lk.logSoftmax(x, classes, o)),
          logsumexp: Array.from(lk.logsumexp(x, classes, o)),
          sigmoid: Array.from(lk.sigmoid(x)),
          argmax: Array.from(lk.argmax(x, classes)),
          topkValues: Array.from(top.values),
          topkIndices: Array.from(top.indices),
        };
      });
      return { backend: lk.backend, results };
    },
    { backend, cases },
  );
}

function expectParity(cases: Case[], wasm: Outputs[], js: Outputs[], reference = 'js'): void {
  const bad: string[] = [];
  cases.forEach((c, i) => {
    const { S, zmax } = spreadOf(c.values, c.classes, c.temperature ?? 1);
    const T = c.temperature;
    const tol: Record<string, Tol | 'exact'> = {
      softmax: probTol({ C: c.classes, S, zmax, ...(T !== undefined ? { T } : {}) }),
      logSoftmax: logTol({ C: c.classes, S, zmax, ...(T !== undefined ? { T } : {}) }),
      logsumexp: logTol({ C: c.classes, S, zmax, ...(T !== undefined ? { T } : {}) }),
      sigmoid: { rtol: probTol({ C: 1, S: 0 }).rtol, atol: FLT_MIN },
      argmax: 'exact',
      topkValues: 'exact',
      topkIndices: 'exact',
    };
    for (const [op, t] of Object.entries(tol)) {
      const got = wasm[i]![op]!;
      const want = js[i]![op]!;
      if (got.length !== want.length) {
        bad.push(`${c.name} ${op}: length ${got.length} vs ${want.length}`);
        continue;
      }
      for (let j = 0; j < want.length; j++) {
        const ok = t === 'exact' ? Object.is(got[j], want[j]) || (got[j] === 0 && want[j] === 0) : closeEnough(got[j]!, want[j]!, t);
        if (!ok) {
          bad.push(`${c.name} ${op}[${j}]: ${got[j]} vs ${reference} ${want[j]}`);
          break;
        }
      }
    }
  });
  expect(bad).toEqual([]);
}

/** The same ops on Node's JS backend (dist/, as built): the reference every engine's page must agree with. */
async function runInNode(cases: Case[]): Promise<Outputs[]> {
  const logitkit = (await import(join(ROOT, 'dist', 'index.js'))) as typeof import('logitkit');
  const lk = await logitkit.init({ backend: 'js' });
  return cases.map(({ classes, values, temperature }) => {
    const x = Float32Array.from(values);
    const o = temperature === undefined ? {} : { temperature };
    const top = lk.topk(x, classes, Math.min(3, classes));
    return {
      softmax: Array.from(lk.softmax(x, classes, o)),
      logSoftmax: Array.from(lk.logSoftmax(x, classes, o)),
      logsumexp: Array.from(lk.logsumexp(x, classes, o)),
      sigmoid: Array.from(lk.sigmoid(x)),
      argmax: Array.from(lk.argmax(x, classes)),
      topkValues: Array.from(top.values),
      topkIndices: Array.from(top.indices),
    };
  });
}

// ---------------------------------------------------------------- threads

/** Counts the Workers the page starts (logitkit's pool starts its workers from a Blob URL). */
function countWorkers(): void {
  const Base = window.Worker;
  const w = window as unknown as { workersStarted: number };
  w.workersStarted = 0;
  window.Worker = class extends Base {
    constructor(url: string | URL, options?: WorkerOptions) {
      super(url, options);
      w.workersStarted++;
    }
  };
}

/** init({ threads }) twice, one big batch on it and on a one-thread engine; what happened. */
async function threadRun(page: TestPage, threads: number) {
  return page.evaluate(async (threads) => {
    const logitkit = (window as unknown as { logitkit: typeof import('logitkit') }).logitkit;
    const rows = 512;
    const classes = 2048;
    const x = new Float32Array(rows * classes);
    let s = 7;
    for (let i = 0; i < x.length; i++) x[i] = ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 2 ** 32) * 16 - 8;
    const many = await logitkit.init({ backend: 'wasm', threads });
    await logitkit.init({ backend: 'wasm', threads }); // a second engine: still one warning at most
    const one = await logitkit.init({ backend: 'wasm', threads: 1 });
    const same = (a: Float32Array, b: Float32Array) => a.length === b.length && a.every((v, i) => Object.is(v, b[i]));
    const identical =
      same(many.softmax(x, classes), one.softmax(x, classes)) &&
      same(many.logSoftmax(x, classes), one.logSoftmax(x, classes)) &&
      same(many.logsumexp(x, classes), one.logsumexp(x, classes));
    return { identical, threads: many.features.threads, workersStarted: (window as unknown as { workersStarted: number }).workersStarted, isolated: crossOriginIsolated };
  }, threads);
}


describe.each(ENGINES)('in $name', ({ name, relaxedSimd, threads: threadsWork }) => {
  let started = 0;
  let setupError: unknown = null;
  beforeAll(async () => {
    started = Date.now();
    engine = undefined;
    try {
      engine = await launch(name);
    } catch (e) {
      setupError = e;
    }
  }, 60_000);
  // A browser that did not start fails every test of its engine by name (a failing beforeAll alone
  // would count them as skipped).
  beforeEach(() => {
    if (setupError !== null) throw setupError;
  });
  afterAll(async () => {
    await engine?.close();
    engine = undefined;
    preload = null;
    (report[name] as Record<string, unknown> | undefined) ??= {};
    (report[name] as Record<string, unknown>).seconds = Math.round((Date.now() - started) / 100) / 10;
  });
  const oneThreadWarnings = (console: string[]) => console.filter((m) => m.startsWith('warning: ') && /one thread/.test(m));
  const shot = (file: string) => join(ARTIFACTS, file.replace('.png', `-${name}.png`));

  it(`init() picks the ${relaxedSimd ? 'relaxed-SIMD' : 'SIMD'} build${threadsWork ? ' and starts threads' : ''}; lk.features says so (printed)`, async () => {
    const s = await served({ root: out.example, isolated: true });
    const page = await open(s.url);
    expect(await backendShown(page)).toBe('wasm');
    const seen = await page.evaluate(async () => {
      const logitkit = (window as unknown as { logitkit: typeof import('logitkit') }).logitkit;
      const one = await logitkit.init();
      const two = await logitkit.init({ threads: 2 });
      const features = { ...one.features };
      const threaded = { ...two.features };
      two.dispose();
      return { features, threaded, float16Array: typeof (globalThis as { Float16Array?: unknown }).Float16Array === 'function', isolated: crossOriginIsolated, userAgent: navigator.userAgent };
    });
    report[name] = { version: await engine!.version(), ...seen };
    console.log(`${name}: ${JSON.stringify(report[name])}`);
    expect(seen.isolated).toBe(true);
    expect(seen.features).toMatchObject({ simd: true, relaxedSimd, threads: 1 });
    // Every engine says why it runs the build it runs, in the words of the per-engine rule.
    expect(seen.features.buildReason).toMatch(relaxedSimd ? /^relaxed SIMD: it validates on .* measured faster/ : /^SIMD128: /);
    expect(Object.keys(seen.features).sort()).toEqual(['buildReason', 'relaxedSimd', 'simd', 'threads']);
    if (threadsWork) {
      expect(seen.threaded).toMatchObject({ simd: true, relaxedSimd, threads: 2, buildReason: seen.features.buildReason });
      expect('threadsUnavailable' in seen.threaded).toBe(false);
      expect(oneThreadWarnings(page.console)).toEqual([]);
    } else {
      // Never silent: the engine says why it runs on one thread, and so does the one-time warning.
      expect(seen.threaded).toMatchObject({ simd: true, relaxedSimd, threads: 1 });
      expect(seen.threaded.threadsUnavailable).toMatch(/SharedArrayBuffer/);
      expect(oneThreadWarnings(page.console)).toEqual([`warning: logitkit: init({ threads: 2 }) runs on one thread: ${seen.threaded.threadsUnavailable}.`]);
    }
    expect(page.errors).toEqual([]);
    await page.close();
  });

  describe('the example app', () => {
    it("loads logitkit with backend 'wasm'; wasm, the page's JS backend and Node's JS backend agree on the spec cases", async () => {
      const s = await served({ root: out.example });
      const page = await open(s.url);
      expect(await backendShown(page)).toBe('wasm');
      expect(await text(page, '#output')).toMatch(/softmax\s+0\.6\d+/);
      const cases = specCases();
      const wasm = await runInPage(page, 'wasm', cases);
      const js = await runInPage(page, 'js', cases);
      expect([wasm.backend, js.backend]).toEqual(['wasm', 'js']);
      expectParity(cases, wasm.results, js.results);
      const node = await runInNode(cases);
      expectParity(cases, wasm.results, node, 'node js');
      expectParity(cases, js.results, node, 'node js');
      const wasmRequests = s.requests.filter((p) => p.endsWith('.wasm'));
      expect(wasmRequests.length).toBeGreaterThan(0);
      expect(new Set(wasmRequests).size, 'each build is fetched once (compilation is memoised)').toBe(wasmRequests.length);
      expect(s.misses.filter((p) => p.endsWith('.wasm')), 'a .wasm the package asked for was not in the build').toEqual([]);
      expect(page.errors).toEqual([]);
      await page.close();
    });

    it('a .wasm served as text/plain still loads (compileStreaming rejects it; the arrayBuffer fallback does not)', async () => {
      const s = await served({ root: out.example, mime: { '.wasm': 'text/plain' } });
      const page = await open(s.url);
      expect(await backendShown(page)).toBe('wasm');
      const explicit = await page.evaluate(async () => {
        const logitkit = (window as unknown as { logitkit: typeof import('logitkit') }).logitkit;
        const lk = await logitkit.init({ backend: 'wasm' });
        return { backend: lk.backend, argmax: Array.from(lk.argmax(new Float32Array([0, 5, 1]), 3)) };
      });
      expect(explicit).toEqual({ backend: 'wasm', argmax: [1] });
      expect(page.errors).toEqual([]);
      await page.close();
    });

    it.each([
      { what: 'an HTML 404 page', fallback: '404' as const, message: /HTTP 404/ },
      { what: 'index.html with status 200 (SPA fallback)', fallback: 'spa' as const, message: /not a wasm binary \(starts with 3c 21 .*expected 00 61 73 6d\).*HTML/ },
    ])('given $what instead of the wasm: init() falls back to JS and says why; backend "wasm" throws a clear error', async ({ fallback, message }) => {
      const s = await served({ root: out.example, hide: /\.wasm$/, fallback });
      const page = await open(s.url);
      expect(await backendShown(page)).toMatch(/^js \(fell back: /);
      const outcome = await page.evaluate(async () => {
        const logitkit = (window as unknown as { logitkit: typeof import('logitkit') }).logitkit;
        const lk = await logitkit.init();
        const fallback = { backend: lk.backend, reason: logitkit.fallbackReason(lk) ?? '' };
        try {
          await logitkit.init({ backend: 'wasm' });
          return { fallback, error: null };
        } catch (e) {
          const err = e as InstanceType<typeof logitkit.LogitkitError>;
          return { fallback, error: { isLogitkitError: err instanceof logitkit.LogitkitError, code: err.code, message: err.message } };
        }
      });
      expect(outcome.fallback.backend).toBe('js');
      expect(outcome.fallback.reason).toMatch(message);
      expect(outcome.error).toMatchObject({ isLogitkitError: true, code: 'wasm_unavailable' });
      expect(outcome.error!.message).toMatch(message);
      expect(page.errors).toEqual([]);
      await page.close();
    });

    it.each([
      // Chromium names the directive ('wasm-unsafe-eval'); Firefox says "call to WebAssembly.compile() blocked by CSP".
      { policy: "script-src 'self'", backend: /^js \(fell back: .*(Content Security Policy|wasm-unsafe-eval|blocked by CSP)/ },
      { policy: "script-src 'self' 'wasm-unsafe-eval'", backend: /^wasm$/ },
    ])('under the CSP "$policy" the backend is $backend', async ({ policy, backend }) => {
      const s = await served({ root: out.example, headers: { 'content-security-policy': `default-src 'self'; ${policy}` } });
      const page = await open(s.url);
      expect(await backendShown(page)).toMatch(backend);
      expect(page.errors).toEqual([]);
      await page.close();
    });

    it('init({ wasm }) takes a URL string, a URL, bytes, a Response and a compiled Module (for files you serve yourself)', async () => {
      mkdirSync(join(out.example, 'static'), { recursive: true });
      cpSync(join(ROOT, 'dist', 'logitkit.wasm'), join(out.example, 'static', 'logitkit.wasm'));
      // The bundler's copy is gone: only the file at /static/ exists.
      const s = await served({ root: out.example, hide: /^\/assets\/.*\.wasm$/ });
      const page = await open(s.url);
      await backendShown(page);
      const backends = await page.evaluate(async () => {
        const logitkit = (window as unknown as { logitkit: typeof import('logitkit') }).logitkit;
        const url = '/static/logitkit.wasm';
        const bytes = await (await fetch(url)).arrayBuffer();
        const sources = {
          string: url,
          url: new URL(url, location.href),
          bytes: new Uint8Array(bytes),
          response: fetch(url),
          module: await WebAssembly.compile(bytes),
        };
        const out: Record<string, string> = {};
        for (const [name, wasm] of Object.entries(sources)) {
          const lk = await logitkit.init({ backend: 'wasm', wasm });
          out[name] = `${lk.backend} ${lk.argmax(new Float32Array([1, 4, 2]), 3)[0]}`;
        }
        return out;
      });
      expect(backends).toEqual({ string: 'wasm 1', url: 'wasm 1', bytes: 'wasm 1', response: 'wasm 1', module: 'wasm 1' });
      expect(page.errors).toEqual([]);
      await page.close();
    });
  });

  describe('threads in the page', () => {
    it(
      threadsWork
        ? 'with COOP/COEP, init({ threads: 2 }) starts workers and gives results bit-identical to one thread'
        : 'with COOP/COEP, init({ threads: 2 }) runs on one thread (no SharedArrayBuffer here) and warns once saying so',
      async () => {
        const s = await served({ root: out.example, isolated: true });
        const page = await open(s.url, countWorkers);
        await backendShown(page);
        const run = await threadRun(page, 2);
        expect(run.isolated).toBe(true);
        expect(run.identical).toBe(true);
        if (threadsWork) {
          expect(oneThreadWarnings(page.console)).toEqual([]);
          expect(run.workersStarted).toBeGreaterThanOrEqual(1);
          expect(run.threads).toBe(2);
        } else {
          expect(run.workersStarted).toBe(0);
          expect(run.threads).toBe(1);
          expect(oneThreadWarnings(page.console)).toHaveLength(1);
          expect(oneThreadWarnings(page.console)[0]).toMatch(/cross-origin isolated, but this browser has no SharedArrayBuffer/);
        }
        expect(s.misses.filter((p) => p.endsWith('.wasm'))).toEqual([]);
        expect(page.errors).toEqual([]);
        await page.close();
      },
    );

    it('without COOP/COEP it runs on one thread and warns once, naming the headers', async () => {
      const s = await served({ root: out.example });
      const page = await open(s.url, countWorkers);
      await backendShown(page);
      const run = await threadRun(page, 2);
      expect(run.isolated).toBe(false);
      expect(run.identical).toBe(true);
      expect(run.workersStarted).toBe(0);
      const warnings = oneThreadWarnings(page.console);
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toMatch(/Cross-Origin-Opener-Policy.*Cross-Origin-Embedder-Policy/);
      expect(page.errors).toEqual([]);
      await page.close();
    });

    it.each([
      { csp: "script-src 'self' 'wasm-unsafe-eval'; worker-src blob:", pool: true },
      { csp: "script-src 'self' 'wasm-unsafe-eval'", pool: false },
    ])('with COOP/COEP and the CSP "$csp": worker pool $pool (where the engine has threads)', async ({ csp, pool }) => {
      const s = await served({ root: out.example, isolated: true, headers: { 'content-security-policy': `default-src 'self'; ${csp}` } });
      const page = await open(s.url, countWorkers);
      expect(await backendShown(page)).toBe('wasm');
      const run = await threadRun(page, 2);
      expect(run.identical).toBe(true);
      // Without worker-src blob: the pool cannot start; one thread, and the warning says so.
      const started = pool && threadsWork;
      expect(oneThreadWarnings(page.console)).toHaveLength(started ? 0 : 1);
      expect(run.threads).toBe(started ? 2 : 1);
      if (started) expect(run.workersStarted).toBeGreaterThanOrEqual(1);
      expect(page.errors).toEqual([]);
      await page.close();
    });

    it('the inline entry (no shared-memory build inside) with COOP/COEP: one thread, and a warning that says so', async () => {
      const s = await served({ root: out.inline, isolated: true, hide: /\.wasm$/ });
      const page = await open(`${s.url}inline.html`, countWorkers);
      await backendShown(page);
      const run = await threadRun(page, 2);
      expect(run.identical).toBe(true);
      expect(run.workersStarted).toBe(0);
      expect(run.threads).toBe(1);
      expect(oneThreadWarnings(page.console)).toHaveLength(1);
      expect(page.errors).toEqual([]);
      await page.close();
    });
  });

  describe('the inline entry (logitkit/inline)', () => {
    it('starts the wasm backend from a page that serves no .wasm, and matches the JS backend', async () => {
      const s = await served({ root: out.inline, hide: /\.wasm$/ });
      const page = await open(`${s.url}inline.html`);
      expect(await backendShown(page)).toBe('wasm');
      const cases = specCases().slice(0, 9);
      const wasm = await runInPage(page, 'wasm', cases);
      const js = await runInPage(page, 'js', cases);
      expect(wasm.backend).toBe('wasm');
      expectParity(cases, wasm.results, js.results);
      expect(s.requests.filter((p) => p.endsWith('.wasm'))).toEqual([]);
      expect(page.errors).toEqual([]);
      await page.close();
    });

    it('as a classic <script> (rolldown IIFE) on a page that serves no .wasm, starts the wasm backend', async () => {
      const dir = join(work, 'classic-script');
      if (!existsSync(join(dir, 'index.html'))) {
        const { code } = await iife('index.inline.js');
        mkdirSync(dir, { recursive: true });
        writeFileSync(join(dir, 'logitkit.js'), code);
        writeFileSync(
          join(dir, 'index.html'),
          '<!doctype html><meta charset="utf-8"><script src="logitkit.js"></script>' +
            '<script>logitkit.init().then((lk) => { document.title = lk.backend + " " + lk.argmax(new Float32Array([3, 9, 1, 9]), 4)[0]; }, (e) => { document.title = "failed: " + e.message; });</script>',
        );
      }
      const s = await served({ root: dir, hide: /\.wasm$/ });
      const page = await open(s.url);
      await waitFor(page, () => document.title !== '', 'the page title', 10_000);
      expect(await page.evaluate(() => document.title)).toBe('wasm 1');
      expect(s.requests.filter((p) => p.endsWith('.wasm'))).toEqual([]);
      expect(page.errors).toEqual([]);
      await page.close();
    });
  });

  describe('the Vite dev server (`vite`), no configuration', () => {
    it.each([
      { layout: 'the example with the packed tarball installed in node_modules (as from the registry; pre-bundled by the dep optimizer)', root: () => installedApp },
      // A linked package (file:, npm link) lives outside the project, and Vite's dev server refuses
      // files outside server.fs.allow that no module imports — the .wasm is fetched, not imported,
      // so it would get a 403 and init() would fall back to JS. That is Vite's rule for every linked
      // package; the docs say to allow the package's folder, as here.
      { layout: 'the example as it is (file:../.. dependency, a symlink) with server.fs.allow', root: () => EXAMPLE, allow: () => [EXAMPLE, ROOT] },
    ])('serves $layout with the wasm backend, on both entries', async ({ root, allow }) => {
      const url = await viteDev(root(), allow?.());
      for (const path of ['', 'inline.html']) {
        const page = await open(url + path);
        expect(await backendShown(page), path || 'index.html').toBe('wasm');
        expect(page.errors).toEqual([]);
        await page.close();
      }
    });

    it('a build of the installed copy loads with the wasm backend too', async () => {
      const s = await served({ root: out.installed });
      const page = await open(s.url);
      expect(await backendShown(page)).toBe('wasm');
      expect(page.errors).toEqual([]);
      await page.close();
    });
  });

  describe('a browser without wasm SIMD (simulated: validate false, compile rejects)', () => {
    it('init() falls back to JS and says why; backend "wasm" throws wasm_unavailable; results stay right', async () => {
      const s = await served({ root: out.example });
      const page = await open(s.url, withoutWasmSimd);
      expect(await backendShown(page)).toMatch(/^js \(fell back: .*SIMD/);
      const outcome = await page.evaluate(async () => {
        const logitkit = (window as unknown as { logitkit: typeof import('logitkit') }).logitkit;
        const lk = await logitkit.init();
        const softmax = Array.from(lk.softmax(new Float32Array([0, Math.log(3)]), 2));
        try {
          await logitkit.init({ backend: 'wasm' });
          return { backend: lk.backend, softmax, error: null };
        } catch (e) {
          return { backend: lk.backend, softmax, error: { code: (e as { code: string }).code, message: (e as Error).message } };
        }
      });
      expect(outcome.backend).toBe('js');
      expect(outcome.softmax[0]).toBeCloseTo(0.25, 6);
      expect(outcome.softmax[1]).toBeCloseTo(0.75, 6);
      expect(outcome.error?.code).toBe('wasm_unavailable');
      expect(outcome.error?.message).toMatch(/SIMD/);
      expect(page.errors).toEqual([]);
      await page.close();
    });
  });

  describe('the demo page', () => {
    interface BarState {
      value: number;
      kept: boolean;
    }
    const bars = (page: TestPage) =>
      page.evaluate(() => Array.from(document.querySelectorAll('#chart g.bar'), (g) => ({ value: Number(g.getAttribute('data-value')), kept: g.getAttribute('data-kept') === 'true' })));
    const keptCount = (b: BarState[]) => b.filter((x) => x.kept).length;
    const ready = (page: TestPage) => waitFor(page, () => document.body.dataset.ready === 'true', 'the demo to be ready');

    it('renders, reports what it detected, and its controls change the chart (screenshots in test-artifacts/)', async () => {
      const s = await served({ root: out.demo, isolated: true });
      const page = await open(`${s.url}?budget=150`);
      await ready(page);
      await page.setViewport(1100, 1300);
      expect(await text(page, '#st-backend')).toMatch(/^wasm \(/);
      expect(await text(page, '#st-simd')).toBe('yes');
      expect(await text(page, '#st-threads')).toMatch(threadsWork ? /^shared memory available/ : /^no shared wasm memory in this browser/);

      const before = await bars(page);
      expect(before.length).toBe(12);
      expect(keptCount(before)).toBe(12); // no filter yet
      const sum = before.reduce((a, b) => a + b.value, 0);
      expect(sum).toBeCloseTo(1, 5);

      // Hotter: the distribution flattens (top probability falls, the last one rises).
      await setControl(page, '#temperature', '1.2');
      const hot = await bars(page);
      expect(hot[0]!.value).toBeLessThan(before[0]!.value);
      expect(hot[11]!.value).toBeGreaterThan(before[11]!.value);

      await setControl(page, '#topk', '3');
      const top3 = await bars(page);
      expect(top3.map((b) => b.kept)).toEqual([true, true, true, ...new Array(9).fill(false)]);
      expect(await text(page, '#kept')).toMatch(/^kept set: 3 of 12 \(the, a, his\)/);

      await setControl(page, '#topk', '0');
      await setControl(page, '#temperature', '0');
      await setControl(page, '#topp', '0.5');
      const nucleus = await bars(page);
      // softmax(the=4.1, a=3.6, …): p(the) ≈ 0.45 < 0.5, so the nucleus is {the, a}.
      expect(nucleus.map((b) => b.kept).slice(0, 3)).toEqual([true, true, false]);
      expect(keptCount(nucleus)).toBe(2);
      await page.screenshot(shot('demo-playground.png'));

      await setControl(page, '#view', 'logSoftmax');
      const logs = await bars(page);
      expect(logs.every((b) => b.value <= 0)).toBe(true);
      expect(Math.exp(logs[0]!.value)).toBeCloseTo(nucleus[0]!.value, 5);

      // Masked tokens draw as −∞ markers, not bars.
      await setControl(page, '#preset', 'masked tokens (-inf) and a tie');
      expect(await page.evaluate(() => document.querySelectorAll('#chart text.special').length)).toBe(2);

      // The benchmark, on the small workload with a short time budget.
      await setControl(page, '#bench-op', 'softmax');
      await setControl(page, '#bench-workload', '256x32');
      await page.evaluate(() => (document.getElementById('bench-run') as HTMLButtonElement).click());
      await waitFor(page, () => /^softmax on 256x32/.test(document.getElementById('bench-progress')!.textContent!), 'the benchmark to finish', 30_000);
      const series = await page.evaluate(() => Array.from(document.querySelectorAll('#bench-chart g.series'), (g) => [g.getAttribute('data-name'), Number(g.getAttribute('data-value'))] as const));
      // Cross-origin isolated with shared memory: the worker-pool engine is timed too.
      expect(series.map(([n]) => n?.replace(/threads: .*/, 'threads'))).toEqual([
        'logitkit wasm',
        ...(threadsWork ? ['logitkit wasm, threads'] : []),
        'logitkit js',
        'naive JS',
      ]);
      for (const [, ms] of series) expect(ms).toBeGreaterThan(0);
      await page.screenshot(shot('demo-bench.png'), '#bench');
      expect(page.errors).toEqual([]);
      await page.close();
    });

    it('without COOP/COEP it says threads need cross-origin isolation', async () => {
      const s = await served({ root: out.demo });
      const page = await open(s.url);
      await ready(page);
      expect(await text(page, '#st-threads')).toMatch(/not cross-origin isolated.*COOP\/COEP/);
      expect(await text(page, '#st-backend')).toMatch(/^wasm \(/);
      expect(page.errors).toEqual([]);
      await page.close();
    });

    it('without wasm SIMD the demo says so, runs on the JS backend and still draws the chart', async () => {
      const s = await served({ root: out.demo });
      const page = await open(s.url, withoutWasmSimd);
      await ready(page);
      expect(await text(page, '#st-backend')).toMatch(/^js — .*SIMD/);
      expect(await text(page, '#st-simd')).toMatch(/^no/);
      expect(await page.evaluate(() => document.querySelectorAll('#chart g.bar').length)).toBe(12);
      // onnxruntime-web needs wasm SIMD: the digits section says the model did not load, and nothing throws.
      await waitFor(page, () => document.getElementById('digits')?.dataset.state === 'error', 'the digits section to report its model failed to load', 30_000);
      expect(await text(page, '#digit-status')).toMatch(/^the model did not load: /);
      expect(page.errors).toEqual([]);
      await page.close();
    });
  });

  describe('the digits model in the demo (onnxruntime-web, then logitkit)', () => {
    interface Verdict {
      state: string;
      prediction: number;
      set: number[];
      ood: boolean;
      energy: number;
      pixels: number[];
    }
    const loaded = (page: TestPage) =>
      waitFor(page, () => ['ready', 'error'].includes(document.getElementById('digits')?.dataset.state ?? ''), 'the digits model to load', 30_000);

    /** Draws the strokes with pointer events on the demo's canvas (after Clear) and waits for its verdict. */
    async function draw(page: TestPage, strokes: Stroke[]): Promise<Verdict> {
      await page.evaluate((strokes) => {
        (document.getElementById('digit-clear') as HTMLButtonElement).click();
        const canvas = document.getElementById('digit-canvas') as HTMLCanvasElement;
        const r = canvas.getBoundingClientRect();
        const fire = (type: string, p: { x: number; y: number }, buttons: number) =>
          canvas.dispatchEvent(
            new PointerEvent(type, {
              bubbles: true,
              cancelable: true,
              pointerId: 1,
              pointerType: 'mouse',
              isPrimary: true,
              button: type === 'pointermove' ? -1 : 0,
              buttons,
              clientX: r.left + (p.x * r.width) / canvas.width,
              clientY: r.top + (p.y * r.height) / canvas.height,
            }),
          );
        for (const s of strokes) {
          fire('pointerdown', s[0]!, 1);
          for (const p of s.slice(1)) fire('pointermove', p, 1);
          fire('pointerup', s[s.length - 1]!, 0);
        }
      }, strokes);
      await waitFor(page, () => document.getElementById('digits')!.dataset.state !== 'running', 'the drawing to be classified');
      return page.evaluate(() => {
        const d = document.getElementById('digits')!.dataset;
        const list = (v: string | undefined) => (v ? v.split(',').map(Number) : []);
        return { state: d.state ?? '', prediction: Number(d.prediction), set: list(d.set), ood: d.ood === 'true', energy: Number(d.energy), pixels: list(d.pixels) };
      });
    }

    // One held-out test digit per class: the first the model gets right, and does not flag, from
    // its own pixels (committed logits), so a miss here is the drawing path's, not the model's (5%
    // of digits score above the threshold by its definition); and one whose ink
    // has equal margins left and right, since the demo centres what is drawn (a digit off to one
    // side in its 8×8 would come back shifted, no longer the pixels it was drawn from).
    const images = readNpyInt32(join(ROOT, 'data', 'digits', 'test-images.npy')).data; // uint8, 0–16
    const labels = readNpyInt32(join(ROOT, 'data', 'digits', 'test-labels.npy')).data;
    const logits = readNpyFloat32(join(ROOT, 'data', 'digits', 'test-logits.npy')).data;
    const centred = (img: ArrayLike<number>) => {
      const inked = Array.from({ length: 8 }, (_, c) => Array.from({ length: 8 }, (_, r) => img[r * 8 + c]!).some((v) => v > 0));
      return inked.indexOf(true) === 7 - inked.lastIndexOf(true);
    };
    const threshold = (JSON.parse(readFileSync(join(ROOT, 'data', 'digits', 'ood.json'), 'utf8')) as { threshold: number }).threshold;
    const energy = (z: Float32Array) => {
      const m = Math.max(...z);
      return -(m + Math.log(z.reduce((a, v) => a + Math.exp(v - m), 0)));
    };
    const heldOut = Array.from({ length: 10 }, (_, digit) => {
      const row = Array.from(labels.keys()).find((i) => {
        const z = logits.subarray(i * 10, i * 10 + 10);
        return labels[i] === digit && z.indexOf(Math.max(...z)) === digit && energy(z) <= threshold && centred(images.subarray(i * 64, i * 64 + 64));
      })!;
      return { digit, row, pixels: Array.from(images.subarray(row * 64, row * 64 + 64)) };
    });

    it('held-out digits drawn with pointer events are recognised, kept in their 90% set, and not flagged (screenshot)', async () => {
      const s = await served({ root: out.demo, isolated: true });
      const page = await open(`${s.url}?budget=150`);
      await page.setViewport(1100, 1300);
      await loaded(page);
      expect(await page.evaluate(() => document.getElementById('digits')!.dataset.state)).toBe('ready');
      await setControl(page, '#digit-pen', String(PEN));
      const misses: string[] = [];
      for (const { digit, row, pixels } of heldOut) {
        const v = await draw(page, traceDigit(pixels));
        expect(v.state).toBe('done');
        // The 8×8 the model saw is the drawing downsampled: close to the digit it was drawn from.
        expect(v.pixels.length).toBe(64);
        // Each pixel counts 16 bitmap pixels; the pen's round ends and anti-aliasing move a count by
        // a fraction, so on average well under one count per pixel.
        const off = v.pixels.reduce((a, p, i) => a + Math.abs(p - pixels[i]!), 0) / 64;
        expect(off, `test row ${row}: mean |seen − original| over the 64 pixels`).toBeLessThan(0.5);
        if (v.prediction !== digit || !v.set.includes(digit) || v.ood)
          misses.push(`test row ${row} (a ${digit}): predicted ${v.prediction}, set {${v.set}}, energy ${v.energy.toFixed(2)}${v.ood ? ' flagged' : ''}`);
        if (digit === 7) await page.screenshot(shot('demo-digits.png'), '#digits');
      }
      expect(misses).toEqual([]);
      expect(page.errors).toEqual([]);
      await page.close();
    });

    it('speckle and scribbles drawn with pointer events are flagged "not a digit" (screenshot)', async () => {
      const s = await served({ root: out.demo, isolated: true });
      const page = await open(s.url);
      await page.setViewport(1100, 1300);
      await loaded(page);
      for (const [what, strokes] of [
        ['speckle', speckle(1)],
        ['speckle', speckle(2)],
        ['scribble', scribble(3)],
        ['scribble', scribble(4)],
        ['scribble', scribble(5)],
        ['scribble', scribble(6)],
      ] as const) {
        const v = await draw(page, strokes as Stroke[]);
        expect(v.state, what).toBe('done');
        expect(v.ood, `${what}: energy ${v.energy}`).toBe(true);
        expect(await text(page, '#digit-prediction'), what).toMatch(/^not a digit/);
      }
      await page.screenshot(shot('demo-digits-noise.png'), '#digits');
      // Clear empties the verdict.
      await page.evaluate(() => (document.getElementById('digit-clear') as HTMLButtonElement).click());
      expect(await page.evaluate(() => document.getElementById('digits')!.dataset.state)).toBe('ready');
      expect(await text(page, '#digit-prediction')).toBe('draw a digit');
      expect(page.errors).toEqual([]);
      await page.close();
    });
  });
});
