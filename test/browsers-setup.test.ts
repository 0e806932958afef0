// npm test provides its own browsers (issue 22 item 1): scripts/browsers.js, run as pretest, installs
// what is missing from Debian's packages when it can, and otherwise stops at once naming the command.
// Nothing is uninstalled here: the file system, root and apt-get are injected.
import { readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { ALL_PACKAGES, BROWSERS, ensureBrowsers, INSTALL_COMMAND, missingBrowsers } from '../scripts/browsers.js';

const ROOT = new URL('..', import.meta.url);
const allPaths = Object.values(BROWSERS).flatMap((b) => b.paths);

/** A machine where `gone` files are missing until apt-get install runs (then whatever it installs appears). */
function machine(gone: string[], { root = true, apt = true, installWorks = true } = {}) {
  const missing = new Set(gone);
  const runs: string[][] = [];
  const io = {
    exists: (p: string) => !missing.has(p),
    isRoot: () => root,
    hasAptGet: () => apt,
    run: (command: string, args: string[], env: Record<string, string>) => {
      runs.push([command, ...args, `DEBIAN_FRONTEND=${env.DEBIAN_FRONTEND}`]);
      if (args[0] !== 'install') return;
      if (!installWorks) throw new Error('E: Unable to locate package chromium');
      for (const [, b] of Object.entries(BROWSERS)) if (b.packages.some((p) => args.includes(p))) for (const f of b.paths) missing.delete(f);
    },
    log: () => {},
  };
  return { io, runs };
}

describe('scripts/browsers.js', () => {
  it('does nothing when every browser is there', () => {
    const m = machine([]);
    expect(ensureBrowsers(m.io)).toEqual([]);
    expect(m.runs).toEqual([]);
  });

  it('installs every package on a fresh machine as root, non-interactively, after apt-get update', () => {
    const m = machine(allPaths);
    expect(ensureBrowsers(m.io)).toEqual(['chromium', 'firefox-esr', 'webkit2gtk-driver', 'xvfb']);
    expect(m.runs[0]).toEqual(['apt-get', 'update', '-qq', 'DEBIAN_FRONTEND=noninteractive']);
    expect(m.runs[1]!.slice(0, 3)).toEqual(['apt-get', 'install', '-y']);
    expect(m.runs[1]).toEqual(expect.arrayContaining(['chromium', 'firefox-esr', 'webkit2gtk-driver', 'xvfb', 'DEBIAN_FRONTEND=noninteractive']));
    expect(m.runs).toHaveLength(2);
  });

  it('installs only what is missing', () => {
    const m = machine(['/usr/bin/Xvfb']);
    expect(ensureBrowsers(m.io)).toEqual(['webkit2gtk-driver', 'xvfb']);
    expect(m.runs[1]).not.toContain('chromium');
    expect(missingBrowsers((p) => p !== '/usr/bin/firefox-esr')).toEqual({ engines: ['firefox'], files: ['/usr/bin/firefox-esr'], packages: ['firefox-esr'] });
  });

  it('not root: fails at once, naming the exact command, and runs nothing', () => {
    const m = machine(['/usr/bin/chromium'], { root: false });
    expect(() => ensureBrowsers(m.io)).toThrow("sudo sh -c 'apt-get update && apt-get install -y chromium'");
    expect(m.runs).toEqual([]);
  });

  it('no apt-get: fails at once, naming the packages', () => {
    const m = machine(allPaths, { apt: false });
    expect(() => ensureBrowsers(m.io)).toThrow(/apt-get is not on PATH.*apt-get install -y chromium firefox-esr webkit2gtk-driver xvfb/);
    expect(m.runs).toEqual([]);
  });

  it('a failing apt-get, or an install that leaves a file missing, is an error with the command', () => {
    expect(() => ensureBrowsers(machine(['/usr/bin/chromium'], { installWorks: false }).io)).toThrow(/apt-get install -y chromium` failed \(E: Unable to locate/);
    const m = machine(['/usr/bin/chromium']);
    const stubborn = { ...m.io, exists: (p: string) => p !== '/usr/bin/chromium' };
    expect(() => ensureBrowsers(stubborn)).toThrow('/usr/bin/chromium still missing');
  });

  it('is npm test\'s first step, and .ci/run has no install step of its own', () => {
    const pkg = JSON.parse(readFileSync(new URL('package.json', ROOT), 'utf8')) as { scripts: Record<string, string> };
    expect(pkg.scripts.pretest!.startsWith('node scripts/browsers.js && ')).toBe(true);
    const ci = readFileSync(new URL('.ci/run', ROOT), 'utf8');
    expect(ci).not.toMatch(/apt-get (update|install)/);
    expect(ci).toMatch(/^npm test /m);
    expect(INSTALL_COMMAND).toBe(`apt-get update && apt-get install -y ${ALL_PACKAGES.join(' ')}`);
  });

  it('as a script on this machine (the browsers are there after pretest): exits 0 silently', () => {
    const out = execFileSync(process.execPath, ['scripts/browsers.js'], { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    expect(out).toBe('');
  });
});
