/**
 * Which SIMD build init() runs where more than one validates: relaxed SIMD (fused multiply-add in
 * the exp polynomial) or plain SIMD128. Validating is not the same as being faster, so a per-engine
 * rule decides, backed by the bench: `npm run bench` times both builds on every engine and checks this
 * rule against them ("Build choice" in bench/RESULTS.md). Today every engine that validates relaxed
 * SIMD runs it faster: V8 (Node 20/22/24, Chromium) and, since the exp constants are loaded from a
 * table, SpiderMonkey too (Firefox ESR 153: 1.09×, 1.13× and 1.11–1.33× over three runs on 2026-12-02,
 * where issue 12's first look, before that change and on a busy machine, saw 0.85× and 0.77× on
 * softmax). The reason ends up in `lk.features.buildReason`.
 *
 * Pure functions of what they are given, except describeRuntime(), which reads the environment.
 * An explicit build (`init({ wasm })`) bypasses the rule.
 */

/** The JavaScript engine family; builds are lowered by its wasm compiler. */
export type JsEngine = 'v8' | 'spidermonkey' | 'javascriptcore' | 'unknown';

export interface RuntimeInfo {
  engine: JsEngine;
  /** Human-readable: 'Node 24.1.0 (V8 13.6.233.10)', 'Firefox 140.0 (SpiderMonkey)'. */
  text: string;
}

/** What a runtime says about itself: process.versions (Node, Bun) and/or navigator.userAgent. */
export interface RuntimeClues {
  versions?: Readonly<Record<string, string | undefined>>;
  userAgent?: string;
}

/** The engine from what the runtime says about itself (no sniffing of features: the compiler is what matters). */
export function runtimeFromClues({ versions, userAgent }: RuntimeClues): RuntimeInfo {
  if (versions?.bun) return { engine: 'javascriptcore', text: `Bun ${versions.bun} (JavaScriptCore)` };
  if (versions?.node) return { engine: 'v8', text: `Node ${versions.node}${versions.v8 ? ` (V8 ${versions.v8})` : ''}` };
  const ua = userAgent ?? '';
  let m: RegExpMatchArray | null;
  if ((m = ua.match(/Deno\/([\d.]+)/))) return { engine: 'v8', text: `Deno ${m[1]} (V8)` };
  if ((m = ua.match(/Firefox\/([\d.]+)/))) return { engine: 'spidermonkey', text: `Firefox ${m[1]} (SpiderMonkey)` };
  if ((m = ua.match(/(?:Chrome|Chromium|CriOS)\/([\d.]+)/))) return { engine: 'v8', text: `${/Edg\//.test(ua) ? 'Edge' : 'Chromium'} ${m[1]} (V8)` };
  if (/AppleWebKit\//.test(ua)) {
    const version = ua.match(/Version\/([\d.]+)/)?.[1];
    return { engine: 'javascriptcore', text: `${/Safari\//.test(ua) && !/Linux/.test(ua) ? 'Safari' : 'WebKit'}${version ? ` ${version}` : ''} (JavaScriptCore)` };
  }
  return { engine: 'unknown', text: ua ? `unknown engine (${ua})` : 'unknown engine' };
}

/** This runtime's engine. */
export function describeRuntime(): RuntimeInfo {
  const g = globalThis as { process?: { versions?: Record<string, string> }; navigator?: { userAgent?: string } };
  return runtimeFromClues({ versions: g.process?.versions, userAgent: g.navigator?.userAgent });
}

/**
 * Engines whose relaxed-SIMD lowering was measured not faster than SIMD128, with the measurement (the
 * sentence becomes the buildReason). Empty since SpiderMonkey was re-measured (see above): absent
 * engines run relaxed SIMD where it validates, and JavaScriptCore does not validate it yet. An entry
 * here must cite the bench run that shows it.
 */
export const RELAXED_NOT_FASTER: Partial<Record<JsEngine, string>> = {};

export interface BuildChoice {
  /** Run the relaxed-SIMD build (and its threads twin). */
  relaxed: boolean;
  /** Why, in one sentence: becomes lk.features.buildReason. */
  reason: string;
}

/** The rule: relaxed SIMD where it validates and was not measured slower on this engine. */
export function chooseBuild(relaxedValidates: boolean, runtime: RuntimeInfo, notFaster: Partial<Record<JsEngine, string>> = RELAXED_NOT_FASTER): BuildChoice {
  if (!relaxedValidates) return { relaxed: false, reason: `SIMD128: ${runtime.text} does not validate relaxed SIMD` };
  const slower = notFaster[runtime.engine];
  if (slower) return { relaxed: false, reason: `SIMD128: ${slower}` };
  if (runtime.engine === 'unknown') return { relaxed: true, reason: `relaxed SIMD: it validates on this ${runtime.text} (not measured here; V8 runs it faster)` };
  return { relaxed: true, reason: `relaxed SIMD: it validates on ${runtime.text} and was measured faster than SIMD128 there (bench/RESULTS.md, "Build choice")` };
}

/** lk.features.buildReason once a build is running: the choice, or why the chosen build is not the one running. */
export function buildReason(choice: BuildChoice, runningRelaxed: boolean): string {
  if (choice.relaxed && !runningRelaxed) return `SIMD128: the relaxed-SIMD build was chosen but did not start (${choice.reason})`;
  return choice.reason;
}

/** lk.features.buildReason when the caller passed the build (init({ wasm })): no rule applies. */
export const EXPLICIT_BUILD_REASON = 'the build passed as options.wasm (no choice made)';
