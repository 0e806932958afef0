/**
 * One page API over three browser engines, so each browser test is written once and run in each:
 *
 *   chromium  Debian's chromium, driven by playwright-core (Chrome DevTools Protocol)
 *   firefox   Debian's firefox-esr, driven by puppeteer-core over WebDriver BiDi
 *   webkit    Debian's webkit2gtk-driver (WebKitWebDriver + MiniBrowser, JavaScriptCore: Safari's
 *             engine), driven by selenium-webdriver through classic WebDriver, on an Xvfb display
 *             this module starts
 *
 * Every engine is a system package; nothing here downloads a browser or a driver (selenium is given
 * the running WebKitWebDriver's URL, so its driver manager never runs). `npm test` installs missing
 * ones first (scripts/browsers.js, its pretest); a binary missing here makes launch() throw with the
 * apt-get line that installs it.
 *
 * Classic WebDriver has no preload scripts and no console or page-error events, so for WebKit the
 * test server injects PAGE_CAPTURE (and the test's `before` script) as the first script of every
 * HTML page it serves (`injectsScripts`); the adapter then reads what it recorded.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { chromium } from 'playwright-core';
import puppeteer from 'puppeteer-core';
import { Builder, type WebDriver } from 'selenium-webdriver';
import { BROWSERS } from '../../scripts/browsers.js';

export type EngineName = 'chromium' | 'firefox' | 'webkit';

export interface OpenOptions {
  /** Runs in the page before any of its own scripts (e.g. to wrap Worker or WebAssembly). */
  before?: () => void;
}

/** A page, whatever drives it. Console lines are "<type>: <text>" with Chromium's type names (log, warning, error). */
export interface TestPage {
  readonly console: string[];
  /** Uncaught exceptions in the page. */
  readonly errors: string[];
  evaluate<R, A = undefined>(fn: (arg: A) => R | Promise<R>, arg?: A): Promise<Awaited<R>>;
  setViewport(width: number, height: number): Promise<void>;
  /** A PNG of the viewport, or of the first element matching `selector` (WebKit: the viewport scrolled to it). */
  screenshot(path: string, selector?: string): Promise<void>;
  close(): Promise<void>;
}

export interface Engine {
  readonly name: EngineName;
  /** Whether `open` needs the server to inject PAGE_CAPTURE and the `before` script (see above). */
  readonly injectsScripts: boolean;
  open(url: string, options?: OpenOptions): Promise<TestPage>;
  /** Browser name and version as the engine reports it. */
  version(): Promise<string>;
  close(): Promise<void>;
}

/** The files each engine starts: one table, shared with scripts/browsers.js (npm test's pretest installs them). */
export const BINARIES = BROWSERS;

function requireBinaries(name: EngineName): void {
  const missing = BINARIES[name].paths.filter((p) => !existsSync(p));
  // pretest (scripts/browsers.js) installed them or stopped the run: reaching this means they went
  // away since, or the tests were started without `npm test`.
  if (missing.length)
    throw new Error(`${missing.join(', ')} not found: the ${name} tests need Debian's packages (apt-get install -y ${BINARIES[name].packages.join(' ')}; \`node scripts/browsers.js\` installs them as root); they never download a browser`);
}

export async function launch(name: EngineName): Promise<Engine> {
  requireBinaries(name);
  if (name === 'chromium') return launchChromium();
  if (name === 'firefox') return launchFirefox();
  return launchWebKit();
}

// ---------------------------------------------------------------- Chromium (playwright-core)

async function launchChromium(): Promise<Engine> {
  const browser = await chromium.launch({
    executablePath: BINARIES.chromium.paths[0],
    args: [
      '--no-sandbox',
      '--headless',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  return {
    name: 'chromium',
    injectsScripts: false,
    async open(url, { before } = {}) {
      const page = await browser.newPage();
      const console: string[] = [];
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(e.message));
      page.on('console', (m) => console.push(`${m.type()}: ${m.text()}`));
      if (before) await page.addInitScript(before);
      await page.goto(url);
      return {
        console,
        errors,
        evaluate: (fn, arg) => page.evaluate(fn as never, arg) as never,
        setViewport: (width, height) => page.setViewportSize({ width, height }),
        screenshot: async (path, selector) => void (selector ? await page.locator(selector).screenshot({ path }) : await page.screenshot({ path })),
        close: () => page.close(),
      };
    },
    version: async () => `Chromium ${browser.version()}`,
    close: () => browser.close(),
  };
}

// ---------------------------------------------------------------- Firefox ESR (puppeteer-core, WebDriver BiDi)

/** Puppeteer's console type names where they differ from Chromium's (which the tests use). */
const CONSOLE_TYPES: Record<string, string> = { warn: 'warning' };

async function launchFirefox(): Promise<Engine> {
  const browser = await puppeteer.launch({
    browser: 'firefox',
    headless: true,
    executablePath: BINARIES.firefox.paths[0],
    // No update checks, telemetry or remote settings: the tests reach 127.0.0.1 only.
    extraPrefsFirefox: {
      'app.update.enabled': false,
      'browser.safebrowsing.update.enabled': false,
      'datareporting.policy.dataSubmissionEnabled': false,
      'network.captive-portal-service.enabled': false,
      'network.connectivity-service.enabled': false,
      'services.settings.server': 'http://127.0.0.1:9/',
    },
  });
  return {
    name: 'firefox',
    injectsScripts: false,
    async open(url, { before } = {}) {
      const page = await browser.newPage();
      const console: string[] = [];
      const errors: string[] = [];
      page.on('pageerror', (e) => {
        const message = e instanceof Error ? e.message : String(e);
        // Firefox reports CSP violations as script errors; Chromium, as console errors. They are
        // the browser refusing something, not an exception the page threw: filed as Chromium does.
        if (message.startsWith('Content-Security-Policy: ')) console.push(`error: ${message}`);
        else errors.push(message);
      });
      page.on('console', (m) => console.push(`${CONSOLE_TYPES[m.type()] ?? m.type()}: ${m.text()}`));
      if (before) await page.evaluateOnNewDocument(before);
      await page.goto(url);
      return {
        console,
        errors,
        evaluate: (fn, arg) => page.evaluate(fn as never, arg) as never,
        setViewport: (width, height) => page.setViewport({ width, height }),
        screenshot: async (path, selector) => {
          if (!selector) return void (await page.screenshot({ path }));
          const element = await page.$(selector);
          if (!element) throw new Error(`no element matches ${selector}`);
          await element.screenshot({ path });
        },
        close: () => page.close(),
      };
    },
    version: () => browser.version(),
    close: () => browser.close(),
  };
}

// ---------------------------------------------------------------- WebKitGTK (selenium-webdriver, WebKitWebDriver)

/**
 * Injected first into every page for WebKit: records console calls and uncaught errors where the
 * adapter can read them (classic WebDriver reports neither).
 */
export const PAGE_CAPTURE = `(() => {
  const record = { console: [], errors: [] };
  Object.defineProperty(window, '__logitkitCapture', { value: record });
  for (const [method, type] of [['log', 'log'], ['info', 'info'], ['warn', 'warning'], ['error', 'error'], ['debug', 'debug']]) {
    const original = console[method].bind(console);
    console[method] = (...args) => { record.console.push(type + ': ' + args.map(String).join(' ')); original(...args); };
  }
  addEventListener('error', (e) => record.errors.push(e.message));
  addEventListener('unhandledrejection', (e) => record.errors.push(String(e.reason && e.reason.message || e.reason)));
})();`;

/**
 * Classic WebDriver carries JSON, which has no NaN, ±Infinity or −0: both directions tag those
 * numbers, with these two functions (sent to the page as source text).
 */
const encodeSpecial = (_key: string, v: unknown): unknown =>
  typeof v === 'number' && (!Number.isFinite(v) || Object.is(v, -0)) ? { __number: Object.is(v, -0) ? '-0' : String(v) } : v;
const decodeSpecial = (_key: string, v: unknown): unknown =>
  v !== null && typeof v === 'object' && typeof (v as { __number?: unknown }).__number === 'string' && Object.keys(v).length === 1
    ? Number((v as { __number: string }).__number)
    : v;

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

/** Starts Xvfb on a free display (it writes the number to -displayfd once it listens). */
async function startXvfb(): Promise<{ display: string; process: ChildProcess }> {
  const xvfb = spawn(BINARIES.webkit.paths[2]!, ['-displayfd', '1', '-screen', '0', '1280x1400x24', '-nolisten', 'tcp'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  xvfb.stderr!.on('data', (d) => (stderr += d));
  const display = await new Promise<string>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`Xvfb did not start within 10 s: ${stderr}`)), 10_000);
    xvfb.stdout!.on('data', (d) => {
      out += d;
      if (out.includes('\n')) {
        clearTimeout(timer);
        resolve(`:${out.trim()}`);
      }
    });
    xvfb.once('exit', (code) => reject(new Error(`Xvfb exited with ${code}: ${stderr}`)));
  });
  return { display, process: xvfb };
}

async function launchWebKit(): Promise<Engine> {
  const [driverPath, miniBrowser] = BINARIES.webkit.paths as [string, string, string];
  const xvfb = await startXvfb();
  const port = await freePort();
  const driver = spawn(driverPath, [`--port=${port}`, '--host=local'], { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, DISPLAY: xvfb.display } });
  let driverLog = '';
  driver.stderr!.on('data', (d) => (driverLog = (driverLog + d).slice(-4000)));
  const stop = () => {
    driver.kill();
    xvfb.process.kill();
  };
  let session: WebDriver;
  try {
    // The driver needs a moment to listen; the first session request retries until it does.
    let lastError: unknown;
    for (const t0 = Date.now(); ; ) {
      try {
        session = await new Builder()
          .disableEnvironmentOverrides() // SELENIUM_REMOTE_URL and friends must not redirect the tests
          .usingServer(`http://127.0.0.1:${port}`)
          .withCapabilities({ browserName: 'MiniBrowser', 'webkitgtk:browserOptions': { binary: miniBrowser, args: ['--automation'] } })
          .build();
        break;
      } catch (e) {
        lastError = e;
        if (driver.exitCode !== null || Date.now() - t0 > 20_000)
          throw new Error(`WebKitWebDriver gave no session: ${(lastError as Error).message}; driver log: ${driverLog}`);
        await new Promise((r) => setTimeout(r, 250));
      }
    }
  } catch (e) {
    stop();
    throw e;
  }
  const d = session!;
  const version = String((await d.getCapabilities()).get('browserVersion') ?? '?');

  async function evaluate<R, A>(fn: (arg: A) => R | Promise<R>, arg?: A): Promise<Awaited<R>> {
    const script = `const done = arguments[arguments.length - 1];
      const encode = ${encodeSpecial.toString()};
      const decode = ${decodeSpecial.toString()};
      Promise.resolve()
        .then(() => (${fn.toString()})(JSON.parse(arguments[0], decode)))
        .then((value) => done(JSON.stringify({ value: value === undefined ? null : value }, encode)),
              (e) => done(JSON.stringify({ error: String(e && e.stack ? e.message + '\\n' + e.stack : e) })));`;
    const text = (await d.executeAsyncScript(script, JSON.stringify(arg ?? null, encodeSpecial))) as string;
    const result = JSON.parse(text, decodeSpecial) as { value?: Awaited<R>; error?: string };
    if (result.error !== undefined) throw new Error(`evaluate failed in WebKit: ${result.error}`);
    return result.value as Awaited<R>;
  }

  return {
    name: 'webkit',
    injectsScripts: true,
    async open(url) {
      // One window, reused for every page. A test that failed before closing its page left it
      // open: navigating away closes it.
      await d.manage().setTimeouts({ script: 60_000, pageLoad: 30_000 });
      await d.get(url);
      const captured = () => evaluate(() => {
        const r = (window as unknown as { __logitkitCapture?: { console: string[]; errors: string[] } }).__logitkitCapture;
        return r ? { console: r.console.slice(), errors: r.errors.slice() } : null;
      });
      // Arrays the tests read synchronously: refreshed after every evaluate.
      const console: string[] = [];
      const errors: string[] = [];
      const refresh = async () => {
        const r = await captured();
        if (r === null) return; // a page nothing was injected into (about:blank)
        console.splice(0, console.length, ...r.console);
        errors.splice(0, errors.length, ...r.errors);
      };
      await refresh();
      const page: TestPage = {
        console,
        errors,
        async evaluate<R, A>(fn: (arg: A) => R | Promise<R>, arg?: A): Promise<Awaited<R>> {
          try {
            return await evaluate(fn, arg);
          } finally {
            await refresh();
          }
        },
        setViewport: async (width, height) => {
          await d.manage().window().setRect({ width, height });
        },
        screenshot: async (path, selector) => {
          // WebKitGTK captures what it last painted: let two frames pass, or the picture can show
          // the page as it was seconds ago. Its element screenshots come out black, so an element
          // is scrolled to the top and the viewport taken.
          await evaluate(
            (s) =>
              new Promise<void>((ok) => {
                if (s) document.querySelector(s)?.scrollIntoView();
                requestAnimationFrame(() => requestAnimationFrame(() => ok()));
              }),
            selector ?? null,
          );
          const png = await d.takeScreenshot();
          writeFileSync(path, Buffer.from(png, 'base64'));
        },
        close: async () => {
          await d.get('about:blank');
        },
      };
      return page;
    },
    version: async () => `WebKitGTK ${version}`,
    close: async () => {
      try {
        await d.quit();
      } finally {
        stop();
      }
    },
  };
}
