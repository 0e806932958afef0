/**
 * Runs and type-checks the JavaScript / TypeScript code blocks of Markdown documents the way a user
 * would meet them: importing `logitkit` from a node_modules folder (a symlink to this repository,
 * so the package's `exports` map, the built dist/ and its .d.ts files are what resolves), type-checked
 * with `tsc --strict` (module and moduleResolution NodeNext, no @types/node: the published types must
 * not need them), then run with the Node that runs the tests.
 *
 * The rules a document follows (README.md is the one that matters; test/readme.test.ts also feeds a
 * deliberately broken document through, so that this checker is known to catch failures):
 *
 * - ```js and ```ts blocks are checked, both as TypeScript. Blocks fenced as ```sh, ```text or with no
 *   language are shell commands and output, never run. Any other language is an error, so that a
 *   block cannot escape the check by being fenced as ```javascript.
 * - A block that imports from `logitkit` (or a subpath) starts a program; any other block continues
 *   the program before it, so a section can build on the variables of earlier blocks (its imports of
 *   other packages are hoisted, as ES modules do). Each program is one module.
 * - An HTML comment on the line just above a fence can mark the block:
 *   `<!-- readme-test: typecheck-only: <reason>; assumes: a, b -->` — typecheck-only says why the block
 *   cannot run here (the reason is required); `assumes` names free variables the block uses that come
 *   from outside (a model, say), declared as `any` for the type check. A program with a typecheck-only
 *   block is not run, and no block may continue it.
 * - Programs run in document order in one Node process; a program that throws is a failure.
 *
 * Everything is one TypeScript program (one type check) and one Node process for all documents.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const CHECKED = new Set(['js', 'ts']);
/** The tree's one strictness setting (tsconfig.base.json): the README's code is held to it too. */
export const STRICTNESS: ts.CompilerOptions = ts.convertCompilerOptionsFromJson(
  (ts.readConfigFile(join(REPO, 'tsconfig.base.json'), ts.sys.readFile).config as { compilerOptions: object }).compilerOptions,
  REPO,
).options;
const NOT_CODE = new Set(['', 'sh', 'text']);

export interface Block {
  lang: string;
  code: string;
  /** 1-based line of the block's first code line in the document. */
  line: number;
  typecheckOnly: string | null;
  assumes: string[];
}

interface Program {
  doc: string;
  index: number;
  blocks: Block[];
  runs: boolean;
  file: string;
  /** Document line of each line of the program file. */
  lines: number[];
}

export interface DocResult {
  /** Every problem found, as `doc:line: message`; empty when all blocks pass. */
  problems: string[];
  blocks: number;
  programsRun: number;
  programsTypecheckOnly: number;
}

/** Code blocks of a document, with marker errors reported into `problems`. */
export function extractBlocks(doc: string, text: string, problems: string[]): Block[] {
  const lines = text.split('\n');
  const blocks: Block[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^```(\S*)\s*$/.exec(lines[i]!);
    if (!open) continue;
    const lang = open[1]!;
    const start = i + 1;
    let end = start;
    while (end < lines.length && !/^```\s*$/.test(lines[end]!)) end++;
    if (end === lines.length) problems.push(`${doc}:${i + 1}: a code fence that is never closed`);
    const markerLine = lines[i - 1] ?? '';
    const marker = /^<!--\s*readme-test:(.*)-->\s*$/.exec(markerLine);
    i = end;
    if (!CHECKED.has(lang)) {
      if (!NOT_CODE.has(lang)) problems.push(`${doc}:${start}: a \`\`\`${lang} block: fence code as js or ts (checked), or sh / text (not run)`);
      if (marker) problems.push(`${doc}:${start - 1}: a readme-test marker above a block that is not checked`);
      continue;
    }
    const block: Block = { lang, code: lines.slice(start, end).join('\n'), line: start + 1, typecheckOnly: null, assumes: [] };
    for (const part of marker ? marker[1]!.split(';') : []) {
      const m = /^\s*([a-z-]+)\s*:\s*(.*?)\s*$/.exec(part);
      if (m?.[1] === 'typecheck-only' && m[2]) block.typecheckOnly = m[2];
      else if (m?.[1] === 'assumes' && m[2]) block.assumes = m[2].split(',').map((s) => s.trim());
      else problems.push(`${doc}:${start - 1}: unknown readme-test marker '${part.trim()}' (typecheck-only: <reason>; assumes: a, b)`);
    }
    blocks.push(block);
  }
  return blocks;
}

function programsOf(doc: string, blocks: Block[], problems: string[]): Program[] {
  const programs: Program[] = [];
  for (const block of blocks) {
    const starts = /^\s*import\s[^;]*?\bfrom\s+'logitkit(\/[^']*)?'/m.test(block.code);
    const last = programs[programs.length - 1];
    if (!starts && last === undefined) {
      problems.push(`${doc}:${block.line}: the first code block must import logitkit`);
      continue;
    }
    if (!starts && !last!.runs) {
      problems.push(`${doc}:${block.line}: continues a typecheck-only block, so it would never run; give it its own imports`);
      continue;
    }
    if (starts) programs.push({ doc, index: programs.length, blocks: [block], runs: block.typecheckOnly === null, file: '', lines: [] });
    else {
      last!.blocks.push(block);
      if (block.typecheckOnly !== null) last!.runs = false;
    }
  }
  return programs;
}

/** Checks every document; one type check and one Node process for all of them. */
export async function checkDocuments(docs: Array<{ name: string; text: string }>): Promise<Map<string, DocResult>> {
  const dir = await mkdtemp(join(tmpdir(), 'logitkit-docs-'));
  try {
    return await checkIn(dir, docs);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function checkIn(dir: string, docs: Array<{ name: string; text: string }>): Promise<Map<string, DocResult>> {
  // node_modules/logitkit → this repository, as `npm install` of a local folder would link it; other
  // packages the blocks import (e.g. onnxruntime-web) come from the repository's node_modules.
  await mkdir(join(dir, 'node_modules'));
  await symlink(REPO, join(dir, 'node_modules', 'logitkit'), 'dir');
  const results = new Map<string, DocResult>();
  const programs: Program[] = [];
  const linked = new Set<string>(['logitkit']);
  for (const { name, text } of docs) {
    const problems: string[] = [];
    const blocks = extractBlocks(name, text, problems);
    const progs = programsOf(name, blocks, problems);
    for (const p of progs) {
      const out: string[] = [];
      for (const b of p.blocks) {
        if (b.assumes.length) {
          // Reported, should it ever fail, at the marker's line.
          out.push(`declare const ${b.assumes.map((a) => `${a}: any`).join(', ')};`);
          p.lines.push(b.line - 1);
        }
        for (const [k, line] of b.code.split('\n').entries()) {
          out.push(line);
          p.lines.push(b.line + k);
        }
        for (const m of b.code.matchAll(/from\s+'((?:@[^/']+\/)?[^/'.][^/']*)/g)) {
          const pkg = m[1]!;
          if (!linked.has(pkg) && existsSync(join(REPO, 'node_modules', pkg))) {
            linked.add(pkg);
            await mkdir(dirname(join(dir, 'node_modules', pkg)), { recursive: true });
            await symlink(join(REPO, 'node_modules', pkg), join(dir, 'node_modules', pkg), 'dir');
          }
        }
      }
      p.file = join(dir, `${safe(name)}-${String(p.index).padStart(2, '0')}.mts`);
      // `export {}`: every program is a module, so top-level await is allowed and names do not leak.
      await writeFile(p.file, out.join('\n') + '\nexport {};\n');
    }
    programs.push(...progs);
    results.set(name, {
      problems,
      blocks: blocks.length,
      programsRun: progs.filter((p) => p.runs).length,
      programsTypecheckOnly: progs.filter((p) => !p.runs).length,
    });
  }

  const byFile = new Map(programs.map((p) => [p.file, p]));
  const program = ts.createProgram(
    programs.map((p) => p.file),
    {
      ...STRICTNESS,
      target: ts.ScriptTarget.ES2022,
      module: ts.ModuleKind.NodeNext,
      moduleResolution: ts.ModuleResolutionKind.NodeNext,
      lib: ['lib.es2022.d.ts', 'lib.dom.d.ts'],
      types: [],
      skipLibCheck: false,
      outDir: join(dir, 'out'),
      rootDir: dir,
      noEmitOnError: false,
    },
  );
  for (const d of ts.getPreEmitDiagnostics(program)) {
    const text = ts.flattenDiagnosticMessageText(d.messageText, '\n  ');
    const p = d.file ? byFile.get(d.file.fileName) : undefined;
    if (p && d.file && d.start !== undefined) {
      const { line } = d.file.getLineAndCharacterOfPosition(d.start);
      results.get(p.doc)!.problems.push(`${p.doc}:${p.lines[line] ?? p.blocks[0]!.line}: TS${d.code}: ${text}`);
    } else {
      // A problem outside the blocks (e.g. in dist/*.d.ts) concerns every document.
      const where = d.file ? `${d.file.fileName}:${d.file.getLineAndCharacterOfPosition(d.start ?? 0).line + 1}` : 'tsc';
      for (const r of results.values()) r.problems.push(`${where}: TS${d.code}: ${text}`);
    }
  }
  const emitted = program.emit();
  if (emitted.emitSkipped) throw new Error('tsc emitted nothing');

  const runnable = programs.filter((p) => p.runs);
  if (runnable.length > 0) {
    const runner = join(dir, 'run.mjs');
    const resultFile = join(dir, 'results.json');
    await writeFile(
      runner,
      `import { writeFileSync } from 'node:fs';
const results = [];
for (const file of process.argv.slice(3)) {
  try { await import(file); results.push(null); }
  catch (e) { results.push(String(e && e.stack || e)); }
}
writeFileSync(process.argv[2], JSON.stringify(results));
process.exit(0);
`,
    );
    const js = runnable.map((p) => join(dir, 'out', p.file.slice(dir.length + 1).replace(/\.mts$/, '.mjs')));
    const { code, output } = await runNode([runner, resultFile, ...js], dir);
    const errors: Array<string | null> = existsSync(resultFile) ? JSON.parse(await readFile(resultFile, 'utf8')) : [];
    if (errors.length !== runnable.length)
      for (const r of results.values()) r.problems.push(`the blocks' Node process exited with ${code} before finishing:\n${output}`);
    for (const [i, err] of errors.entries()) {
      const p = runnable[i]!;
      const first = p.blocks[0]!.line;
      const last = p.blocks[p.blocks.length - 1]!;
      if (err !== null) results.get(p.doc)!.problems.push(`${p.doc}:${first}-${last.line + last.code.split('\n').length - 1}: threw ${err}`);
    }
  }
  return results;
}

function safe(name: string): string {
  return name.replace(/[^A-Za-z0-9]+/g, '_');
}

function runNode(args: string[], cwd: string): Promise<{ code: number | null; output: string }> {
  return new Promise((resolveRun, reject) => {
    const child = spawn(process.execPath, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolveRun({ code, output });
    });
  });
}
