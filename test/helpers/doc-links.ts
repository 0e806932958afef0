/**
 * Links between the Markdown documents: every relative link must name a file of the repository, and
 * every `#anchor` a heading of its target as GitHub renders it (the same ids TypeDoc gives the guides),
 * so a reader who clicks lands where the text promised.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, normalize } from 'node:path';

/** The id GitHub gives a heading: lower case, punctuation dropped, spaces as hyphens (github-slugger). */
export function slug(heading: string): string {
  const text = heading
    .replace(/`([^`]*)`/g, '$1')
    .replace(/\[([^\]]*)\]\([^)]*\)/g, '$1')
    .replace(/<[^>]+>/g, '')
    .trim()
    .toLowerCase();
  return text.replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, '').replace(/ /g, '-');
}

/** The lines of a document outside fenced code blocks, with their 1-based numbers. */
function prose(text: string): Array<[number, string]> {
  const out: Array<[number, string]> = [];
  let fenced = false;
  for (const [i, line] of text.split('\n').entries()) {
    if (/^```/.test(line)) fenced = !fenced;
    else if (!fenced) out.push([i + 1, line]);
  }
  return out;
}

/** Every anchor id of a document's headings (numbered as GitHub numbers repeated ones), to its heading. */
export function headings(text: string): Map<string, string> {
  const seen = new Map<string, number>();
  const ids = new Map<string, string>();
  for (const [, line] of prose(text)) {
    const m = /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(line);
    if (!m) continue;
    const base = slug(m[1]!);
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    ids.set(n === 0 ? base : `${base}-${n}`, m[1]!);
  }
  return ids;
}

/** Every anchor id of a document's headings. */
export function anchors(text: string): Set<string> {
  return new Set(headings(text).keys());
}

/**
 * File names ending in `.md` written as plain prose (outside code, links and HTML comments): the docs
 * site's Markdown renderer turns `RESULTS.md` into a link to http://RESULTS.md (.md is a web domain).
 */
export function bareMarkdownNames(text: string): Array<{ line: number; name: string }> {
  const out: Array<{ line: number; name: string }> = [];
  for (const [line, raw] of prose(text)) {
    if (/^\s*<!--/.test(raw)) continue;
    const s = raw.replace(/`[^`]*`/g, '').replace(/\[[^\]]*\]\([^)]*\)/g, '');
    for (const m of s.matchAll(/(?<![\w/.-])[\w-]+\.md\b/g)) out.push({ line, name: m[0] });
  }
  return out;
}

/** `[text](target)` links of a document, outside code blocks and code spans. */
export function links(text: string): Array<{ line: number; target: string }> {
  const out: Array<{ line: number; target: string }> = [];
  for (const [line, raw] of prose(text)) {
    const s = raw.replace(/`[^`]*`/g, '');
    for (const m of s.matchAll(/\[[^\]]*\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)) out.push({ line, target: m[1]! });
  }
  return out;
}

/**
 * Problems with the links of `doc` (a path relative to `root`), as `doc:line: message`. Targets in
 * `pending` (repository paths of documents other branches add) may be missing; when present they are
 * checked like any other.
 */
export function checkLinks(root: string, doc: string, text: string, pending: ReadonlySet<string> = new Set()): string[] {
  const problems: string[] = [];
  const cache = new Map<string, Map<string, string>>();
  const anchorsOf = (path: string): Map<string, string> => {
    if (!cache.has(path)) cache.set(path, headings(path === doc ? text : readFileSync(join(root, path), 'utf8')));
    return cache.get(path)!;
  };
  for (const { line, name } of bareMarkdownNames(text))
    problems.push(`${doc}:${line}: ${name} as plain text becomes a link to a web address on the docs site: write it as \`${name}\` or link it`);
  for (const { line, target } of links(text)) {
    if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue; // http:, https:, mailto:
    const [pathPart, anchor] = target.split('#', 2) as [string, string | undefined];
    const path = pathPart === '' ? doc : normalize(join(dirname(doc), decodeURIComponent(pathPart)));
    if (path.startsWith('..')) {
      problems.push(`${doc}:${line}: ${target} leaves the repository`);
      continue;
    }
    if (!existsSync(join(root, path))) {
      if (!pending.has(path)) problems.push(`${doc}:${line}: ${target}: ${path} does not exist`);
      continue;
    }
    if (anchor === undefined || anchor === '') continue;
    if (!path.endsWith('.md') || statSync(join(root, path)).isDirectory()) {
      problems.push(`${doc}:${line}: ${target}: an anchor into a file that is not Markdown`);
      continue;
    }
    const heading = anchorsOf(path).get(anchor);
    if (heading === undefined) problems.push(`${doc}:${line}: ${target}: ${path} has no heading with the id '${anchor}'`);
    // TypeDoc's ids leave code spans out, GitHub's keep their text: a heading of a page the docs site
    // renders (README.md, docs/*.md) that is a link target has none, so that the link lands on both.
    else if (heading.includes('`') && (path === 'README.md' || path.startsWith('docs/'))) problems.push(`${doc}:${line}: ${target}: the heading '${heading}' has a code span; the docs site would give it another id`);
  }
  return problems;
}
