// Which SIMD build init() runs (src/build-choice.ts): the per-engine rule, and init()'s use of it
// (lk.features.buildReason). The browser suite checks buildReason on each real engine.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { buildReason, chooseBuild, describeRuntime, EXPLICIT_BUILD_REASON, RELAXED_NOT_FASTER, runtimeFromClues, type RuntimeInfo } from '../src/build-choice.js';
import { init } from '../src/index.js';
import { relaxedSimdSupported } from '../src/init.js';

// User agents as the three browser engines of the browser suite and others send them.
const UA = {
  chromium: 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/156.0.7400.0 Safari/537.36',
  firefox: 'Mozilla/5.0 (X11; Linux x86_64; rv:140.0) Gecko/20100101 Firefox/140.0',
  webkitgtk: 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.0 Safari/605.1.15',
  safari: 'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.2 Safari/605.1.15',
  edge: 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/140.0.0.0 Safari/537.36 Edg/140.0.0.0',
  deno: 'Deno/2.1.4',
};

describe('runtimeFromClues', () => {
  it.each([
    [{ versions: { node: '24.21.0', v8: '13.6.233.17-node.53' }, userAgent: 'Node.js/24' }, 'v8', 'Node 24.21.0 (V8 13.6.233.17-node.53)'],
    [{ versions: { node: '1.2.0', bun: '1.2.0' } }, 'javascriptcore', 'Bun 1.2.0 (JavaScriptCore)'],
    [{ userAgent: UA.chromium }, 'v8', 'Chromium 156.0.7400.0 (V8)'],
    [{ userAgent: UA.edge }, 'v8', 'Edge 140.0.0.0 (V8)'],
    [{ userAgent: UA.deno }, 'v8', 'Deno 2.1.4 (V8)'],
    [{ userAgent: UA.firefox }, 'spidermonkey', 'Firefox 140.0 (SpiderMonkey)'],
    [{ userAgent: UA.webkitgtk }, 'javascriptcore', 'WebKit 18.0 (JavaScriptCore)'],
    [{ userAgent: UA.safari }, 'javascriptcore', 'Safari 18.2 (JavaScriptCore)'],
    [{ userAgent: 'SomethingNew/1' }, 'unknown', 'unknown engine (SomethingNew/1)'],
    [{}, 'unknown', 'unknown engine'],
  ])('%j → %s', (clues, engine, text) => {
    expect(runtimeFromClues(clues)).toEqual({ engine, text });
  });

  it('this process is V8 under Node', () => {
    expect(describeRuntime()).toEqual({ engine: 'v8', text: `Node ${process.versions.node} (V8 ${process.versions.v8})` });
  });
});

describe('chooseBuild', () => {
  const v8: RuntimeInfo = runtimeFromClues({ userAgent: UA.chromium });
  const sm: RuntimeInfo = runtimeFromClues({ userAgent: UA.firefox });
  const jsc: RuntimeInfo = runtimeFromClues({ userAgent: UA.webkitgtk });
  const unknown: RuntimeInfo = runtimeFromClues({});

  it('V8: relaxed SIMD where it validates, saying it was measured faster', () => {
    expect(chooseBuild(true, v8)).toEqual({ relaxed: true, reason: expect.stringMatching(/^relaxed SIMD: it validates on Chromium 156.* measured faster than SIMD128/) });
  });

  it('SpiderMonkey: relaxed SIMD (re-measured faster on Firefox ESR 153), saying so', () => {
    expect(RELAXED_NOT_FASTER).toEqual({});
    expect(chooseBuild(true, sm)).toEqual({ relaxed: true, reason: expect.stringMatching(/^relaxed SIMD: it validates on Firefox 140.* measured faster than SIMD128/) });
  });

  it('an engine listed as not faster keeps SIMD128 although relaxed SIMD validates, with the measurement', () => {
    const table = { spidermonkey: 'SpiderMonkey ran relaxed SIMD at 0.8× SIMD128 (a bench run)' };
    const c = chooseBuild(true, sm, table);
    expect(c).toEqual({ relaxed: false, reason: `SIMD128: ${table.spidermonkey}` });
    expect(buildReason(c, false)).toBe(c.reason);
    // other engines are unaffected by the entry
    expect(chooseBuild(true, v8, table).relaxed).toBe(true);
  });

  it('nowhere relaxed SIMD when it does not validate', () => {
    for (const rt of [v8, sm, jsc, unknown]) expect(chooseBuild(false, rt)).toEqual({ relaxed: false, reason: `SIMD128: ${rt.text} does not validate relaxed SIMD` });
  });

  it('an engine never measured: relaxed SIMD where it validates, and the reason says it was not measured', () => {
    expect(chooseBuild(true, unknown)).toEqual({ relaxed: true, reason: expect.stringMatching(/not measured/) });
  });

  it('buildReason: a chosen relaxed build that did not start says so', () => {
    const c = chooseBuild(true, v8);
    expect(buildReason(c, true)).toBe(c.reason);
    expect(buildReason(c, false)).toMatch(/^SIMD128: the relaxed-SIMD build was chosen but did not start/);
    const plain = chooseBuild(true, sm, { spidermonkey: 'measured slower' });
    expect(buildReason(plain, false)).toBe(plain.reason);
  });
});

describe('init() follows the rule; lk.features.buildReason says why', () => {
  it('the default build: the rule for this Node, and the build it names is the one running', async () => {
    const lk = await init();
    const expected = chooseBuild(relaxedSimdSupported(), describeRuntime());
    expect(lk.features.relaxedSimd).toBe(expected.relaxed);
    expect(lk.features.buildReason).toBe(expected.reason);
    lk.dispose();
  });

  it('an explicit build (init({ wasm })) wins over the rule', async () => {
    const bytes = readFileSync(new URL('../dist/logitkit.wasm', import.meta.url));
    const lk = await init({ wasm: bytes });
    expect(lk.features).toMatchObject({ relaxedSimd: false, buildReason: EXPLICIT_BUILD_REASON });
    lk.dispose();
  });

  it('the JS backend has no build reason', async () => {
    expect((await init({ backend: 'js' })).features.buildReason).toBeUndefined();
  });
});
