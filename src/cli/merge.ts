/**
 * `logitkit merge`: combines the JSON outputs of `logitkit score --json` run on shards of one dataset
 * into exactly the figures one run over all rows gives, from the `stats` sums each shard carries.
 */
import { readFileSync } from 'node:fs';
import type { Shard } from '../io/npy-source.js';
import { checkRegularFile, NpyError } from '../io/npy.js';
import { ScoreAccumulator, withClassNames, type ScoreStats } from '../metrics/summary.js';
import { reportKind } from './args.js';
import { fingerprintOf, fingerprintVersion } from './fingerprint.js';
import { readClassNames } from './inputs.js';
import { mergeMultilabel } from './multilabel.js';
import { MULTILABEL_STATS_FORMAT } from '../metrics/multilabel.js';
import { humanSummary, stdoutJson, summaryJson, writeReport } from './output.js';
import { fmt, parseCommandArgs, UsageError } from './ui.js';
import { LogitkitError } from '../errors.js';
import { mergeUncertainty } from './score-uncertainty.js';

/** --class-names wins; else the shards' own names, which must agree where given. */
function mergedClassNames(parsed: { file: string; obj: { classNames?: unknown } }[], file: string | undefined, classes: number): string[] | null {
  if (file !== undefined) return readClassNames(file, classes);
  let names: string[] | null = null;
  let from = '';
  for (const p of parsed) {
    const n = p.obj.classNames;
    if (n === undefined) continue;
    if (!Array.isArray(n) || n.length !== classes || !n.every((v) => typeof v === 'string')) throw new Error(`${p.file}: "classNames" must be an array of ${classes} strings`);
    if (names && JSON.stringify(names) !== JSON.stringify(n)) throw new Error(`${p.file}: its class names differ from those of ${from}; pass --class-names FILE to choose`);
    if (!names) [names, from] = [n as string[], p.file];
  }
  return names;
}

export const MERGE_HELP = `usage: logitkit merge A.json B.json [...] [--json] [--confusion] [--class-names FILE] [--report FILE.html|FILE.md]

Combines the JSON outputs of 'logitkit score --json' run on shards of one dataset into the figures a
single run over all rows gives. All shards must use the same classes, --bins, --topk and temperature.
Outputs of 'score --multilabel' merge the same way (all shards multi-label, same labels).
A temperature fitted per shard cannot be merged (it depends on all rows): fit T once with
'logitkit calibrate' and score every shard with --temperature T.
`;

/** How merge names a shard in messages: its logits (+ labels) file as recorded by score. */
function shardName(input: unknown): string {
  const i = input as { logits?: unknown; labels?: unknown };
  if (typeof i?.logits !== 'string') return JSON.stringify(input);
  return typeof i.labels === 'string' ? `${i.logits} + ${i.labels}` : i.logits;
}

export async function mergeCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs('merge', argv, {
    json: { type: 'boolean' },
    report: { type: 'string' },
    debug: { type: 'boolean' },
    confusion: { type: 'boolean' },
    'class-names': { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  });
  if (values.help) {
    process.stdout.write(MERGE_HELP);
    return 0;
  }
  if (positionals.length === 0) throw new UsageError('merge: give the JSON files written by logitkit score --json');
  const kind = reportKind(values.report);
  const parsed = positionals.map((file) => {
    let text: string;
    try {
      checkRegularFile(file, 'a JSON file', 'merge reads the files written by logitkit score --json');
      text = readFileSync(file, 'utf8');
    } catch (e) {
      if (e instanceof NpyError) throw e;
      throw new Error(`${file}: cannot read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
    }
    let obj: { stats?: ScoreStats; temperature?: number; temperatureFitted?: boolean; inputs?: unknown[]; classNames?: unknown; fingerprint?: unknown };
    try {
      obj = JSON.parse(text);
    } catch {
      throw new Error(`${file}: not valid JSON (expected the output of logitkit score --json)`);
    }
    if (obj && typeof obj === 'object' && (obj as { statsOmitted?: unknown }).statsOmitted === true && !obj.stats) {
      throw new Error(`${file}: was written with --no-stats (figures only, no "stats"), so it cannot be merged; score that shard again without --no-stats`);
    }
    if (!obj || typeof obj !== 'object' || !obj.stats) throw new Error(`${file}: has no "stats" (expected the output of logitkit score --json)`);
    return { file, obj };
  });
  // A shard counted twice (the same JSON given twice, or a merged JSON and one of its parts) would
  // silently weigh its rows double: refuse it by the fingerprint of its scored data.
  // Fingerprints of different versions (fingerprint.ts) are of different functions: a shard is
  // recognised only against fingerprints of its own version, and a mix is said on stderr.
  const counted = new Map<string, { file: string; name: string }>();
  const versions = new Map<string, string>();
  for (const p of parsed) {
    const seenHere = new Set<string>();
    for (const input of Array.isArray(p.obj.inputs) ? p.obj.inputs : []) {
      const fp = (input as { fingerprint?: unknown })?.fingerprint;
      if (typeof fp !== 'string') continue; // written before fingerprints: merged as before
      if (!versions.has(fingerprintVersion(fp))) versions.set(fingerprintVersion(fp), p.file);
      const name = shardName(input);
      const prev = counted.get(fp);
      if (prev && !seenHere.has(fp)) {
        throw new Error(
          prev.file === p.file
            ? `${p.file}: given more than once; its shard ${name} would be counted twice`
            : `${p.file}: shard ${name} is already counted from ${prev.file}${prev.name !== name ? ` (as ${prev.name})` : ''}: same data (fingerprint ${fp.slice(0, 19)}…); give each shard once`,
        );
      }
      counted.set(fp, { file: p.file, name });
      seenHere.add(fp);
    }
  }
  if (versions.size > 1) {
    const which = [...versions].map(([v, file]) => `${/^\d+$/.test(v) ? `version ${v}` : `"${v}"`} in ${file}`).join(', ');
    process.stderr.write(`note: the shards' fingerprints are of ${versions.size} versions (${which}): a shard given once in each is not recognised as counted twice; score the older files again to have every shard checked\n`);
  }
  // AUROC statistics from before positions were kept cannot be added exactly (auroc.ts addAurocStats):
  // the merge leaves AUROC out and says why
  const old = parsed.filter((p) => {
    const a = (p.obj.stats as { auroc?: { resolution?: unknown } }).auroc;
    return a !== undefined && a !== null && a.resolution === undefined;
  });
  if (old.length > 0) {
    process.stderr.write(`note: AUROC left out: ${old.map((p) => p.file).join(', ')} ${old.length === 1 ? 'was' : 'were'} written by an older logitkit (no stats.auroc.resolution); score again to merge AUROC\n`);
  }
  const multi = parsed.map((p) => (p.obj.stats as { format?: unknown }).format === MULTILABEL_STATS_FORMAT);
  if (multi.some((m) => m)) {
    const odd = parsed.find((_, i) => !multi[i]);
    if (odd) throw new Error(`${odd.file}: is not a --multilabel score but ${parsed[multi.indexOf(true)].file} is; merge shards of one kind`);
    return mergeMultilabel(parsed, (labels) => mergedClassNames(parsed, values['class-names'], labels), values, kind, positionals);
  }
  const first = parsed[0];
  for (const p of parsed.slice(1)) {
    const a = first.obj.stats!;
    const b = p.obj.stats!;
    if (a.bins !== b.bins) throw new LogitkitError('shape_mismatch', `${p.file}: bins = ${b.bins} but ${first.file} has ${a.bins}; shards must be scored with the same --bins`, 'bins');
    for (const key of ['classes', 'k'] as const) {
      if (a[key] !== b[key]) throw new Error(`${p.file}: ${key === 'k' ? 'topk' : key} = ${b[key]} but ${first.file} has ${a[key]}; shards must be scored with the same settings`);
    }
    const ta = a.binary?.threshold ?? 0.5;
    const tb = b.binary?.threshold ?? 0.5;
    if (ta !== tb) throw new Error(`${p.file}: scored with --threshold ${tb} but ${first.file} with ${ta}; shards must be scored at one threshold`);
    if (a.temperature !== b.temperature) {
      const fitted = first.obj.temperatureFitted || p.obj.temperatureFitted;
      throw new Error(
        `${p.file}: scored at temperature ${b.temperature} but ${first.file} at ${a.temperature}` +
          (fitted ? '; temperatures fitted per shard cannot be merged: fit T once (logitkit calibrate over all shards) and score each shard with --temperature T' : ''),
      );
    }
  }
  const alts = parsed.map((p) => p.obj.stats!.alt?.temperature ?? null);
  const keepAlt = alts.every((t) => t !== null && t === alts[0]);
  // One shard's statistics at a time, each let go once read: at 1000 classes its AUROC bins are a
  // ~26 MB string (what is kept of them is their varints, auroc.ts addEncoded)
  let merged: ScoreAccumulator | null = null;
  for (const p of parsed) {
    const o = ScoreAccumulator.fromStats(keepAlt ? p.obj.stats! : { ...p.obj.stats!, alt: null }, p.file);
    p.obj.stats = undefined;
    merged = merged ? merged.merge(o) : o;
  }
  const acc = merged!;
  const s = withClassNames(acc.summary(), mergedClassNames(parsed, values['class-names'], acc.classes));
  const T = acc.temperature;
  const extra: Record<string, unknown> = {};
  if (first.obj.temperature !== undefined) extra.temperature = T;
  let scaling: Record<string, number> | null = null;
  if (s.alt) {
    const before = T === 1 ? { nll: s.nll, ece: s.ece } : { nll: s.alt.nll, ece: s.alt.ece };
    const after = T === 1 ? { nll: s.alt.nll, ece: s.alt.ece, t: s.alt.temperature } : { nll: s.nll, ece: s.ece, t: T };
    scaling = { temperature: after.t, nllBefore: before.nll, nllAfter: after.nll, eceBefore: before.ece, eceAfter: after.ece };
    extra.temperatureScaling = scaling;
  }
  const inputs = parsed.flatMap((p) => (Array.isArray(p.obj.inputs) ? p.obj.inputs : [p.file]));
  const fps = inputs.map((i) => (i as { fingerprint?: unknown })?.fingerprint);
  if (fps.every((f): f is string => typeof f === 'string')) extra.fingerprint = fingerprintOf(fps);
  extra.inputs = inputs;
  extra.merged = positionals;
  // Issue 24: selective (binned, with errorBound) and conformal counts, when every shard has them.
  const unc = mergeUncertainty(parsed as unknown as { file: string; obj: Record<string, unknown> }[], acc.classes);
  if (unc) Object.assign(extra, unc.json);
  if (kind) writeReport(values.report!, kind, { summary: s, inputs: inputs as Shard[], backend: 'merged', temperature: extra.temperature as number | undefined, fitted: null, merged: positionals, ...(unc ? { uncertaintyHtml: unc.html, uncertaintyMarkdown: unc.markdown } : {}) });
  if (values.json) await stdoutJson(summaryJson(s, extra, acc.toStats(), { confusion: values.confusion === true }));
  else {
    const plural = (n: number, what: string) => `${n} ${what}${n === 1 ? '' : 's'}`;
    const head = `logitkit merge: ${s.rows.toLocaleString('en-US')} rows × ${s.classes} classes from ${plural(inputs.length, 'shard')} in ${plural(positionals.length, 'file')}`;
    process.stderr.write(humanSummary(s, head, scaling, extra.temperature !== undefined ? `figures at temperature T = ${fmt(T)}` : null));
    if (kind) process.stderr.write(`report written to ${values.report}\n`);
  }
  return 0;
}
