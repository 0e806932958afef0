#!/usr/bin/env node
/**
 * The browsers `npm test` drives (test/browser/engines.ts), provided by the test command itself:
 * `npm test` runs this first (pretest). Whatever is missing is installed from Debian's packages when
 * this process can (root, apt-get on PATH); otherwise it stops at once with the exact command to run,
 * before the build, so a fresh machine never reaches 66 "not found" browser failures. `.ci/run` has no
 * install step of its own: it runs `npm test`, which comes through here.
 *
 * Nothing is downloaded but Debian's packages; drivers come from npm (devDependencies).
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Per engine: the files its tests start, and the Debian packages that provide them. */
export const BROWSERS = {
  chromium: { paths: ['/usr/bin/chromium'], packages: ['chromium'] },
  firefox: { paths: ['/usr/bin/firefox-esr'], packages: ['firefox-esr'] },
  webkit: {
    paths: ['/usr/bin/WebKitWebDriver', '/usr/lib/x86_64-linux-gnu/webkit2gtk-4.1/MiniBrowser', '/usr/bin/Xvfb'],
    // MiniBrowser comes with webkit2gtk-driver's dependencies; Xvfb is its own package.
    packages: ['webkit2gtk-driver', 'xvfb'],
  },
};

/** Every package, in the order the README's install line names them. */
export const ALL_PACKAGES = Object.values(BROWSERS).flatMap((b) => b.packages);

/** The one line that installs everything, as printed when this script cannot run it. */
export const INSTALL_COMMAND = `apt-get update && apt-get install -y ${ALL_PACKAGES.join(' ')}`;

/** Which engines miss a file, and the packages that would provide those files (deduplicated, table order). */
export function missingBrowsers(exists = existsSync) {
  const engines = [];
  const files = [];
  const packages = [];
  for (const [name, b] of Object.entries(BROWSERS)) {
    const gone = b.paths.filter((p) => !exists(p));
    if (!gone.length) continue;
    engines.push(name);
    files.push(...gone);
    for (const p of b.packages) if (!packages.includes(p)) packages.push(p);
  }
  return { engines, files, packages };
}

function onPath(command, env = process.env) {
  return (env.PATH ?? '').split(delimiter).some((dir) => dir && existsSync(join(dir, command)));
}

/**
 * Makes sure every browser is there. `io` is injectable for tests:
 *   exists(path), isRoot(), hasAptGet(), run(command, args, env), log(line).
 * Resolves to the packages it installed ([] when nothing was missing); throws an Error naming the
 * exact command when something is missing and cannot be installed here, or is still missing after.
 */
export function ensureBrowsers(io = {}) {
  const {
    exists = existsSync,
    isRoot = () => typeof process.getuid === 'function' && process.getuid() === 0,
    hasAptGet = () => onPath('apt-get'),
    run = (command, args, env) => execFileSync(command, args, { stdio: ['ignore', 'inherit', 'inherit'], env: { ...process.env, ...env } }),
    log = (line) => process.stderr.write(`${line}\n`),
  } = io;
  const before = missingBrowsers(exists);
  if (!before.packages.length) return [];
  const command = `apt-get update && apt-get install -y ${before.packages.join(' ')}`;
  const what = `the browser tests need ${before.files.join(', ')} (Debian's ${before.packages.join(', ')})`;
  if (!hasAptGet()) throw new Error(`${what}, and apt-get is not on PATH: install those packages, e.g. \`${command}\` on Debian, then run npm test again`);
  if (!isRoot()) throw new Error(`${what}; installing them needs root: run \`sudo sh -c '${command}'\` (or \`${command}\` as root), then npm test again`);
  log(`logitkit tests: installing ${before.packages.join(' ')} from Debian's packages (missing: ${before.files.join(', ')})`);
  const env = { DEBIAN_FRONTEND: 'noninteractive' };
  try {
    run('apt-get', ['update', '-qq'], env);
    // Another apt run (e.g. unattended upgrades) may hold the lock for a while: wait for it.
    run('apt-get', ['install', '-y', '-qq', '-o', 'DPkg::Lock::Timeout=600', ...before.packages], env);
  } catch (e) {
    throw new Error(`${what}; \`${command}\` failed (${e instanceof Error ? e.message.split('\n')[0] : e}): run it by hand, then npm test again`);
  }
  const after = missingBrowsers(exists);
  if (after.files.length) throw new Error(`installed ${before.packages.join(' ')}, but ${after.files.join(', ')} still missing: the browser tests cannot run`);
  return before.packages;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  try {
    ensureBrowsers();
  } catch (e) {
    process.stderr.write(`npm test: ${e instanceof Error ? e.message : e}\n`);
    process.exit(1);
  }
}
