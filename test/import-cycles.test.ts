// No import cycle anywhere in src/ (issue 11): a cycle makes module evaluation order depend on
// which file is imported first (a top-level table read before its module ran is a temporal-dead-
// zone crash) and hides layering mistakes. Type-only imports count too: they are the same coupling.
import { describe, it, expect } from 'vitest';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const src = join(root, 'src');

function tsFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) return tsFiles(p);
    return p.endsWith('.ts') && !p.endsWith('.d.ts') ? [p] : [];
  });
}

/** Relative specifiers of every static import / re-export in `text` (comments stripped first). */
export function importsOf(text: string): string[] {
  const code = text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '');
  const out: string[] = [];
  const re = /(?:^|;|\n)\s*(?:import|export)\s+(?:type\s+)?(?:[\w*{}\s,$]*?\s+from\s+)?['"]([^'"]+)['"]/g;
  for (let m; (m = re.exec(code)) !== null; ) if (m[1]!.startsWith('.')) out.push(m[1]!);
  return out;
}

function graph(): Map<string, string[]> {
  const files = tsFiles(src);
  const known = new Set(files);
  const g = new Map<string, string[]>();
  for (const f of files) {
    const deps = importsOf(readFileSync(f, 'utf8')).map((s) => resolve(dirname(f), s.replace(/\.js$/, '.ts')));
    g.set(f, deps.filter((d) => known.has(d)));
  }
  return g;
}

/** Every cycle's files, one representative per strongly connected component (Tarjan). */
function cycles(g: Map<string, string[]>): string[][] {
  let index = 0;
  const idx = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const on = new Set<string>();
  const found: string[][] = [];
  const visit = (v: string): void => {
    idx.set(v, index);
    low.set(v, index++);
    stack.push(v);
    on.add(v);
    for (const w of g.get(v) ?? []) {
      if (!idx.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (on.has(w)) low.set(v, Math.min(low.get(v)!, idx.get(w)!));
    }
    if (low.get(v) === idx.get(v)) {
      const comp: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        on.delete(w);
        comp.push(w);
      } while (w !== v);
      if (comp.length > 1 || (g.get(v) ?? []).includes(v)) found.push(comp.map((f) => relative(root, f)).sort());
    }
  };
  for (const v of g.keys()) if (!idx.has(v)) visit(v);
  return found;
}

describe('import graph of src/', () => {
  it('the parser sees static imports, re-exports and type imports, not dynamic ones or comments', () => {
    const text = [
      "import { a } from './a.js';",
      "import type { B } from '../b.js';",
      "export * from './c.js';",
      "export { d } from './d.js';",
      "import './e.js';",
      'import {',
      '  f,',
      '  type G,',
      "} from './f.js';",
      "// import { x } from './commented.js';",
      "const m = await import('./dynamic.js');",
      "import { readFile } from 'node:fs/promises';",
    ].join('\n');
    expect(importsOf(text)).toEqual(['./a.js', '../b.js', './c.js', './d.js', './e.js', './f.js']);
  });

  it('the cycle finder finds a planted cycle', () => {
    const g = new Map([
      ['/r/src/a.ts', ['/r/src/b.ts']],
      ['/r/src/b.ts', ['/r/src/c.ts']],
      ['/r/src/c.ts', ['/r/src/a.ts']],
      ['/r/src/d.ts', ['/r/src/a.ts']],
    ]);
    expect(cycles(g).length).toBe(1);
  });

  it('has no cycle', () => {
    const g = graph();
    expect(g.size).toBeGreaterThan(30);
    expect(g.get(join(src, 'init.ts'))).toContain(join(src, 'engine.ts'));
    expect(cycles(g)).toEqual([]);
  });
});
