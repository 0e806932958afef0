#!/usr/bin/env node
// The documentation's generated regions: figures and usage texts that have one source elsewhere, copied
// into README.md and docs/*.md so that a reader finds them where they are explained, and never typed in
// by hand (a hand copy goes stale the day the source changes).
//
// A region is
//   <!-- generated:KIND:ARG -->
//   …
//   <!-- generated:end -->
// with KIND
//   cli-help:COMMAND   the output of `logitkit COMMAND --help` (`cli-help:` alone: `logitkit --help`);
//   results:HEADING    the section of bench/RESULTS.md under the first heading that starts with HEADING,
//                      up to the next heading or HTML comment;
//   bench-summary      a per-engine table computed from RESULTS.md's every-engine section and the
//                      machine it ran on.
//
// `node scripts/docs-sync.js` rewrites every region (needs `npm run build`: the help texts come from the
// built CLI); `--check` only lists the stale ones and exits 1 if there are any. test/docs.test.ts runs
// the check in `npm test`.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** README.md and every docs/*.md, as paths relative to the repository. */
export function documents(root = ROOT) {
  const docs = existsSync(join(root, 'docs'))
    ? readdirSync(join(root, 'docs'))
        .filter((f) => f.endsWith('.md'))
        .sort()
        .map((f) => `docs/${f}`)
    : [];
  return ['README.md', ...docs];
}

const REGION = /<!-- generated:([\w-]+):?(.*?) -->\n([\s\S]*?)<!-- generated:end -->/g;

/** The sources every region is computed from, read once. */
export function sources(root = ROOT) {
  const help = new Map();
  return {
    results: readFileSync(join(root, 'bench', 'RESULTS.md'), 'utf8'),
    help(command) {
      if (!help.has(command)) {
        const args = command ? [command, '--help'] : ['--help'];
        help.set(command, execFileSync(process.execPath, [join(root, 'bin', 'logitkit.js'), ...args], { encoding: 'utf8' }));
      }
      return help.get(command);
    },
  };
}

/** The body of RESULTS.md's section whose heading starts with `heading`. */
export function resultsSection(results, heading) {
  const lines = results.split('\n');
  const start = lines.findIndex((l) => {
    const m = /^#{1,6} (.*)$/.exec(l);
    return m !== null && m[1].startsWith(heading);
  });
  if (start < 0) throw new Error(`bench/RESULTS.md has no heading starting with '${heading}'`);
  let end = start + 1;
  while (end < lines.length && !/^#{1,6} /.test(lines[end]) && !lines[end].startsWith('<!--')) end++;
  return lines.slice(start + 1, end).join('\n').trim();
}

/** Cells of a Markdown table row. */
function cells(line) {
  return line.replace(/^\|/, '').replace(/\|\s*$/, '').split('|').map((c) => c.trim());
}

/** Rows of the first table after line `from`, as objects keyed by the header cells. */
function tableAfter(lines, from) {
  let i = from;
  while (i < lines.length && !lines[i].startsWith('|')) i++;
  const head = cells(lines[i]);
  const rows = [];
  for (i += 2; i < lines.length && lines[i].startsWith('|'); i++) {
    const c = cells(lines[i]);
    rows.push(Object.fromEntries(head.map((h, k) => [h, c[k]])));
  }
  return rows;
}

/**
 * One row per engine: what `init()` picks there, softmax 4096×1000 throughput of logitkit (plain arrays,
 * zero-copy, 2 threads) against naive JS and the best peer, and the range of logitkit's speed ratio to
 * the best peer over every op and workload of the summary matrix. With the machine and date of the run.
 */
export function benchSummary(results) {
  const begin = results.indexOf('<!-- every-engine:begin');
  const end = results.indexOf('<!-- every-engine:end');
  if (begin < 0 || end < 0) throw new Error('bench/RESULTS.md has no every-engine section');
  const section = results.slice(begin, end);
  const lines = section.split('\n');
  const finished = /last engine finished ([^.]+?)\./.exec(section)?.[1] ?? 'unknown';
  const machine = resultsSection(results, 'Machine');
  // The CPU of the every-engine run itself (its "CPU: … (AVX2 yes, AVX-512 yes: …)" line); the Machine
  // section is run.js's detailed Node report, which a full `npm run bench` does not rewrite and may be
  // from another host.
  const own = /^CPU: (.+?) \(AVX2 (yes|no), AVX-512 (yes|no)/m.exec(section);
  const flags = own ? [own[2] === 'yes' ? 'AVX2' : 'no AVX2', own[3] === 'yes' ? 'AVX-512' : 'no AVX-512'].join(', ') : '';
  const cpu = own ? `${own[1]} (${flags})` : (/^\| CPU \| (.*?) \|$/m.exec(machine)?.[1] ?? 'unknown CPU');
  const cores = /^\| cores \| (.*?) \|$/m.exec(machine)?.[1] ?? '?';

  const summaryAt = lines.findIndex((l) => l.startsWith('### Summary'));
  const summary = tableAfter(lines, summaryAt);
  const engines = Object.keys(summary[0]).filter((k) => k !== 'op' && k !== 'workload');
  const out = [
    `Every engine on one machine — **${cpu}, ${cores} cores**, a shared VM — in one run of \`npm run bench\`` +
      ` (last engine finished ${finished}); copied from [bench/RESULTS.md](${'RESULTS_LINK'}) by` +
      ' `node scripts/docs-sync.js`. Throughput in Melem/s (rows × classes per second, higher is faster) of a' +
      ' 4096×1000 softmax, one thread unless marked; the last column is logitkit (zero-copy buffers / plain' +
      ' arrays) as a speed ratio to the fastest peer on that engine, lowest–highest over the four ops' +
      ' (softmax, logSoftmax, logsumexp, crossEntropy) and four workloads.',
    '',
    '| engine | `init()` picks | naive JS | logitkit, plain arrays | logitkit, zero-copy | 2 threads | best peer | logitkit ÷ best peer, all ops |',
    '|---|---|---:|---:|---:|---:|---|---|',
  ];
  for (const engine of engines) {
    const at = lines.findIndex((l) => l.startsWith(`### ${engine} `) || l === `### ${engine}`);
    if (at < 0) throw new Error(`bench/RESULTS.md: no table for ${engine}`);
    const pick = /`init\(\)` picks ([^.]+?)\./.exec(lines[at + 2] ?? '')?.[1] ?? '?';
    const relaxed = pick.startsWith('relaxed');
    const row = tableAfter(lines, at).find((r) => r.op === 'softmax' && r.workload === '4096×1000');
    if (!row) throw new Error(`bench/RESULTS.md: no softmax 4096×1000 row for ${engine}`);
    const peer = row['best peer'];
    const ratios = summary.map((r) => /\*\*([\d.]+)×\*\* \/ ([\d.]+)×/.exec(r[engine])).filter(Boolean);
    // As RESULTS.md prints them (its own rounding), lowest and highest.
    const range = (k) => {
      const sorted = ratios.map((m) => m[k]).sort((a, b) => Number(a) - Number(b));
      return `${sorted[0]}–${sorted[sorted.length - 1]}×`;
    };
    const [zero, plain] = [1, 2];
    out.push(
      `| ${engine} | ${pick} | ${row['naive-js']} | ${relaxed ? row['lk-wasm-relaxed-plain'] : row['lk-wasm']} | ` +
        `**${relaxed ? row['lk-wasm-relaxed'] : row['lk-wasm-buffers']}** | ${row['lk-wasm-threads'] ?? '—'} | ` +
        `${peer} ${row[peer]} | ${range(zero)} / ${range(plain)} |`,
    );
  }
  out.push(
    '',
    'WebKitGTK gives a page no shared memory, so it runs one thread. The per-engine tables, every peer and' +
      ' the accuracy check of each peer are in [bench/RESULTS.md](RESULTS_LINK).',
  );
  return out.join('\n');
}

/** What a region of kind `kind` with argument `arg` holds, in document `doc` (for relative links). */
export function render(kind, arg, src, doc) {
  const toResults = doc.startsWith('docs/') ? '../bench/RESULTS.md' : 'bench/RESULTS.md';
  if (kind === 'cli-help') {
    const text = src.help(arg).replace(/\n+$/, '');
    return ['```text', `$ logitkit ${arg ? `${arg} ` : ''}--help`, text, '```'].join('\n');
  }
  if (kind === 'results') return resultsSection(src.results, arg);
  if (kind === 'bench-summary') return benchSummary(src.results).replaceAll('RESULTS_LINK', `${toResults}#every-engine`);
  throw new Error(`${doc}: unknown generated region kind '${kind}'`);
}

/** `text` with every region recomputed, and the regions that changed. */
export function syncText(text, src, doc) {
  const stale = [];
  const out = text.replace(REGION, (whole, kind, arg, body) => {
    const fresh = render(kind, arg, src, doc) + '\n';
    if (fresh !== body) stale.push(`${doc}: generated:${kind}${arg ? `:${arg}` : ''} differs from its source`);
    return `<!-- generated:${kind}${arg || kind === 'cli-help' ? `:${arg}` : ''} -->\n${fresh}<!-- generated:end -->`;
  });
  return { text: out, stale };
}

/** Rewrites (or with `check`, only compares) every document's regions; returns the stale ones. */
export function syncAll({ check = false, root = ROOT } = {}) {
  const src = sources(root);
  const stale = [];
  for (const doc of documents(root)) {
    const path = join(root, doc);
    const before = readFileSync(path, 'utf8');
    const r = syncText(before, src, doc);
    stale.push(...r.stale);
    if (!check && r.text !== before) writeFileSync(path, r.text);
  }
  return stale;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const check = process.argv.includes('--check');
  const stale = syncAll({ check });
  for (const s of stale) console.log(check ? s : `${s}: rewritten`);
  if (check && stale.length) {
    console.log('run `node scripts/docs-sync.js` (after `npm run build`) to regenerate them');
    process.exit(1);
  }
}
