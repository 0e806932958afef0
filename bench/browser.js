#!/usr/bin/env node
// The benchmark in browser engines: headless Chromium (playwright-core), Firefox ESR (puppeteer-core
// over WebDriver BiDi) and WebKitGTK (selenium-webdriver + WebKitWebDriver under Xvfb), driven by
// the browser suite's own engine adapters (test/browser/engines.ts, bundled here by rolldown, not
// copied). Each engine opens bench/browser/index.html (built by Vite, served cross-origin isolated
// from 127.0.0.1 with logitkit's builds and the peers' .wasm files beside it, all from
// node_modules: nothing is downloaded) and runs the same groups as bench/run.js.
//
//   node bench/browser.js [--engines chromium,firefox,webkit] [--quick] [--only op,op]
//                         [--workloads id,id] [--skip tfjs-wasm,ort-web] [--out-dir DIR]
//
// Writes DIR/<engine>.json (default bench/out/), each in run.js's results shape.
import { cpSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { join } from 'node:path';
import { SETTINGS } from './harness.js';
import { CORE_OPS, PER_CALL, WORKLOADS, scaleWorkload } from './workloads.js';
import { machineInfo, packageVersions } from './machine.js';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
export const BROWSERS = ['chromium', 'firefox', 'webkit'];
const BROWSER_NAMES = { chromium: 'Chromium', firefox: 'Firefox ESR', webkit: 'WebKitGTK' };
const log = (line) => process.stderr.write(`${line}\n`);

/** Vite build of the page, plus the .wasm files the page asks for by URL. */
async function buildPage(outDir) {
  const { build } = await import('vite');
  const page = join(outDir, 'page');
  await build({
    root: join(ROOT, 'bench', 'browser'),
    configFile: false,
    base: './',
    logLevel: 'error',
    build: { outDir: page, emptyOutDir: true, target: 'es2022', chunkSizeWarningLimit: 1e9 },
  });
  mkdirSync(join(page, 'wasm'), { recursive: true });
  for (const f of readdirSync(join(ROOT, 'dist')).filter((f) => f.endsWith('.wasm'))) cpSync(join(ROOT, 'dist', f), join(page, 'wasm', f));
  const tfjs = join(ROOT, 'node_modules', '@tensorflow', 'tfjs-backend-wasm', 'dist');
  mkdirSync(join(page, 'tfjs'), { recursive: true });
  for (const f of readdirSync(tfjs).filter((f) => f.endsWith('.wasm'))) cpSync(join(tfjs, f), join(page, 'tfjs', f));
  // onnxruntime-web's single-threaded wasm EP: the loader module and its binary (shipped in the package).
  const ort = join(ROOT, 'node_modules', 'onnxruntime-web', 'dist');
  mkdirSync(join(page, 'ort'), { recursive: true });
  for (const f of ['ort-wasm-simd-threaded.mjs', 'ort-wasm-simd-threaded.wasm']) cpSync(join(ort, f), join(page, 'ort', f));
  return page;
}

/** test/browser/engines.ts as an ES module Node can import (its packages stay external). */
async function engineAdapters(outDir) {
  const { rolldown } = await import('rolldown');
  const bundle = await rolldown({ input: join(ROOT, 'test', 'browser', 'engines.ts'), platform: 'node', external: (id) => !id.startsWith('.') && !id.startsWith('/'), logLevel: 'silent' });
  const file = join(outDir, 'engines.mjs');
  try {
    await bundle.write({ file, format: 'esm' });
  } finally {
    await bundle.close();
  }
  return import(pathToFileURL(file).href);
}

async function waitFor(page, fn, what, timeoutMs) {
  for (const t0 = Date.now(); Date.now() - t0 < timeoutMs; await new Promise((ok) => setTimeout(ok, 250))) {
    if (page.errors.length) throw new Error(`the page threw while waiting for ${what}: ${page.errors.join(' | ')}`);
    const v = await page.evaluate(fn);
    if (v) return v;
  }
  throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}`);
}

/**
 * Runs the groups in one engine; returns run.js's results object for it.
 * @param {{ launch: Function }} adapters  test/browser/engines.ts
 */
async function runEngine(adapters, name, url, args) {
  const settings = args.quick ? SETTINGS.quick : SETTINGS.full;
  const started = Date.now();
  const loadAtStart = loadavg()[0];
  const engine = await adapters.launch(name);
  try {
    const version = await engine.version();
    const page = await engine.open(url);
    await waitFor(page, () => document.body.dataset.ready === 'true', 'the bench page', 60_000);
    const info = await page.evaluate((skip) => window.benchPage.load({ skip }), [...args.skip]);
    for (const l of info.log) log(`  ${name}: ${l}`);
    log(`${name}: ${version}, ${info.engine}; logitkit init() picks ${info.logitkitChoice?.build} (${info.logitkitChoice?.reason})`);
    const results = [];
    const perCall = [];
    const checksums = {};
    const groups = [];
    for (const spec of WORKLOADS) {
      if (args.workloads && !args.workloads.includes(spec.id)) continue;
      for (const op of args.only ?? CORE_OPS) groups.push({ op, spec: scaleWorkload(spec, settings.rowsDivisor) });
    }
    if ((args.only ?? CORE_OPS).includes('softmax') && (!args.workloads || args.workloads.includes(PER_CALL.id)))
      groups.push({ op: 'softmax', spec: PER_CALL, batch: settings.perCallBatch });
    for (const g of groups) {
      await page.evaluate((group) => window.benchPage.start(group), { ...g, settings });
      // Generous: a group of the full run takes tens of seconds on a busy machine.
      const done = await waitFor(page, () => window.benchPage.poll(), `${g.op} ${g.spec.id}`, 15 * 60_000);
      if (done.error) throw new Error(`${g.op} ${g.spec.id}: ${done.error}`);
      checksums[g.spec.id] = done.checksum;
      log(`${name}: ${g.op} ${g.spec.id}`);
      for (const r of done.rows) {
        if (g.batch) r.nsPerCall = r.medianMs * 1e6;
        log(
          r.error
            ? `  ${r.impl.padEnd(22)} error: ${r.error}`
            : `  ${r.impl.padEnd(22)} ${(r.melemPerSec ?? NaN).toPrecision(3).padStart(7)} Melem/s${r.vsBestPeer ? `  ×${r.vsBestPeer.toPrecision(3)} ${r.bestPeer}` : ''}${r.verified ? '' : `  ✗ ${r.worstVsBound}× the §11 bound`}`,
        );
      }
      (g.batch ? perCall : results).push(...done.rows);
    }
    await page.evaluate(() => window.benchPage.close());
    return {
      schema: 1,
      date: new Date().toISOString(),
      command: `node bench/browser.js --engines ${name}${args.rest.length ? ' ' + args.rest.join(' ') : ''}`,
      partial: args.partial,
      engine: `${BROWSER_NAMES[name]} ${version.match(/[\d.]+/)?.[0] ?? version} (${info.engine.replace(/^.*\(/, '').replace(/\)$/, '')})`,
      browser: { name, version, userAgent: info.userAgent, crossOriginIsolated: info.crossOriginIsolated, cores: info.cores },
      logitkitChoice: info.logitkitChoice,
      durationSec: Math.round((Date.now() - started) / 100) / 10,
      machine: machineInfo(),
      loadAverage: { start: loadAtStart, end: loadavg()[0] },
      versions: packageVersions(),
      settings,
      clock: { kind: 'wall', why: 'a page has no CPU-time clock' },
      implementations: info.implementations,
      unavailable: info.unavailable,
      tolerance: 'docs/spec.md §11 (T = 1) against the naive JS output (float64 arithmetic)',
      checksums,
      results,
      perCall,
    };
  } finally {
    await engine.close();
  }
}

export function parseArgs(argv) {
  const args = { engines: BROWSERS, quick: false, only: null, workloads: null, skip: new Set(), outDir: join(ROOT, 'bench', 'out'), rest: [] };
  const list = (v) => (v ?? '').split(',').map((s) => s.trim()).filter(Boolean);
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--engines') args.engines = list(argv[++i]);
    else if (a === '--quick') (args.quick = true), args.rest.push(a);
    else if (a === '--only') (args.only = list(argv[++i])), args.rest.push(a, argv[i]);
    else if (a === '--workloads') (args.workloads = list(argv[++i])), args.rest.push(a, argv[i]);
    else if (a === '--skip') (args.skip = new Set(list(argv[++i]))), args.rest.push(a, argv[i]);
    else if (a === '--out-dir') args.outDir = argv[++i];
    else throw new Error(`unknown option ${a}`);
  }
  for (const e of args.engines) if (!BROWSERS.includes(e)) throw new Error(`unknown browser engine ${e} (have: ${BROWSERS.join(', ')})`);
  for (const op of args.only ?? []) if (!CORE_OPS.includes(op)) throw new Error(`unknown op ${op} (have: ${CORE_OPS.join(', ')})`);
  args.partial = args.quick || !!args.only || !!args.workloads || args.skip.size > 0;
  return args;
}

/** Runs the browser engines; returns { engine name: results | { error } }. */
export async function runBrowsers(args) {
  mkdirSync(args.outDir, { recursive: true });
  const page = await buildPage(args.outDir);
  const adapters = await engineAdapters(args.outDir);
  const { serve } = await import('../scripts/serve.js');
  // Cross-origin isolated, so logitkit's 2-thread row can run where the engine allows it.
  const server = await serve({ root: page, isolated: true });
  const out = {};
  try {
    for (const name of args.engines) {
      try {
        out[name] = await runEngine(adapters, name, `${server.url}index.html`, args);
        writeFileSync(join(args.outDir, `${name}.json`), JSON.stringify(out[name], null, 1) + '\n');
      } catch (err) {
        out[name] = { error: String(err?.message ?? err).split('\n')[0] };
        log(`${name}: failed: ${err?.stack ?? err}`);
      }
    }
  } finally {
    await server.close();
  }
  return out;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  let args;
  try {
    args = parseArgs(process.argv.slice(2));
  } catch (err) {
    log(`bench/browser.js: ${err.message}`);
    process.exit(2);
  }
  runBrowsers(args).then(
    (out) => process.exit(Object.values(out).some((r) => r.error) ? 1 : 0),
    (err) => {
      log(`bench/browser.js failed: ${err?.stack ?? err}`);
      process.exit(1);
    },
  );
}
