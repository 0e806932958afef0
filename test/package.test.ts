// What `npm pack` ships: every source map in the tarball must resolve to its sources, inside the
// package. The maps point at ../src/*.ts, which the tarball does not ship, so tsconfig.build.json
// inlines the sources into the maps (inlineSources); this packs for real and checks the result.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, normalize, relative, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { documents } from '../scripts/docs-sync.js';
import { checkLinks, links } from './helpers/doc-links.js';

const root = join(import.meta.dirname, '..');
const tmp = mkdtempSync(join(tmpdir(), 'lk-pack-'));
const pkg = join(tmp, 'package');
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function walk(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? walk(p) : [p];
  });
}

/** Packs and unpacks once, on first use: a failed pack fails each test (a beforeAll would skip them). */
let files: string[] | undefined;
function packed(): string[] {
  if (files) return files;
  expect(existsSync(join(root, 'dist', 'index.js')), 'dist/ is built (npm test builds it in pretest)').toBe(true);
  const pack = spawnSync('npm', ['pack', '--json', '--pack-destination', tmp], { cwd: root, encoding: 'utf8' });
  expect(pack.status, pack.stderr).toBe(0);
  const [{ filename }] = JSON.parse(pack.stdout) as { filename: string }[];
  const untar = spawnSync('tar', ['-xzf', join(tmp, filename), '-C', tmp], { encoding: 'utf8' });
  expect(untar.status, untar.stderr).toBe(0);
  return (files = walk(pkg).map((f) => relative(pkg, f)));
}

describe('the packed tarball', { timeout: 60_000 }, () => {
  it('ships a source map for every compiled module, and each names an existing map', () => {
    const js = packed().filter((f) => f.startsWith('dist/') && f.endsWith('.js'));
    const maps = packed().filter((f) => f.endsWith('.js.map'));
    expect(js.length).toBeGreaterThan(20);
    expect(maps.length).toBeGreaterThan(20);
    for (const f of js) {
      const url = /\/\/# sourceMappingURL=(\S+)\s*$/.exec(readFileSync(join(pkg, f), 'utf8'))?.[1];
      if (url === undefined) {
        expect(f, 'only the generated inline-wasm module has no map').toBe('dist/logitkit.inline-wasm.js');
        continue;
      }
      expect(existsSync(resolve(pkg, dirname(f), url)), `${f} → ${url}`).toBe(true);
    }
  });

  it("every map's sources resolve inside the package: shipped, or inlined and equal to the repository's source", () => {
    const maps = packed().filter((f) => f.endsWith('.js.map'));
    for (const m of maps) {
      const map = JSON.parse(readFileSync(join(pkg, m), 'utf8')) as { sources: string[]; sourcesContent?: (string | null)[]; sourceRoot?: string };
      expect(map.sources.length, m).toBeGreaterThan(0);
      map.sources.forEach((source, i) => {
        const inPackage = resolve(pkg, dirname(m), map.sourceRoot ?? '', source);
        const inlined = map.sourcesContent?.[i];
        if (typeof inlined === 'string') {
          // The map was written from these very sources (a stale map would mislead a debugger).
          const inRepo = resolve(root, dirname(m), map.sourceRoot ?? '', source);
          expect(inlined, `${m}: ${source}`).toBe(readFileSync(inRepo, 'utf8'));
        } else {
          expect(existsSync(inPackage) && inPackage.startsWith(pkg + '/'), `${m}: ${source} is neither inlined nor shipped`).toBe(true);
        }
      });
    }
  });

  // The README links to its guides (docs/*.md) and they to the benchmark results: shipped, so the links
  // work where an installed package is read (node_modules/logitkit, a registry's file browser), not only
  // in the repository.
  it('ships README.md and every guide, and every link in them lands on a shipped file and heading', () => {
    const shipped = new Set(packed());
    const docs = documents().filter((d) => existsSync(join(root, d)));
    for (const doc of docs) expect(shipped.has(doc), `${doc} is in the tarball`).toBe(true);
    // A target missing from the repository itself (a guide another branch adds) is test/docs.test.ts's
    // concern; here every target the repository has must be in the tarball too.
    const absentFromRepo = new Set(
      docs.flatMap((doc) => links(readFileSync(join(root, doc), 'utf8')).map(({ target }) => normalize(join(dirname(doc), decodeURIComponent(target.split('#')[0]!))))).filter((p) => !existsSync(join(root, p))),
    );
    const problems = docs.flatMap((doc) => checkLinks(pkg, doc, readFileSync(join(pkg, doc), 'utf8'), absentFromRepo));
    expect(problems).toEqual([]);
  });
});
