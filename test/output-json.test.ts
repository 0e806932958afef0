// The score JSON is written in pieces (src/cli/output.ts writeJson): the joined pieces must be the
// text the one-string formatter gave — indented figures, `stats` compact on one line — byte for byte,
// whatever the stats hold (long strings cut in slices, surrogate pairs at a slice's edge, values
// JSON.stringify drops or turns into null, long arrays in runs, strings streamed as they are made:
// the AUROC bins). stdoutJson waits for a slow pipe instead of queueing the text.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { formatJson, writeJson } from '../src/cli/output.js';
import { addAurocStats, AUROC_BINS, AurocCounts, aurocStats, type AurocBinsText } from '../src/metrics/auroc.js';
import { rng } from './helpers/random.js';

const root = join(import.meta.dirname, '..');

/** The formatter as it was: the whole text as one string. */
function oneString(o: Record<string, unknown>, opts: { stats?: boolean } = {}): string {
  const { stats: full, ...figures } = o;
  const stats = opts.stats === false ? undefined : full;
  const rest = opts.stats === false && full !== undefined ? { ...figures, statsOmitted: true } : figures;
  const head = JSON.stringify(rest, null, 2);
  if (stats === undefined) return head + '\n';
  return `${head.slice(0, -2)},\n  "stats": ${JSON.stringify(stats)}\n}\n`;
}

const MB = 1 << 20;

describe('writeJson', () => {
  const big = 'QUJD'.repeat(MB); // 4 MiB of base64, as stats.auroc.bins is at 1000 classes
  // a surrogate pair across the 1 MiB slice edge, quotes, backslashes, control characters
  const awkward = 'a'.repeat(MB - 1) + '😀' + '"\\\n\u0001' + 'b'.repeat(MB + 3) + '\ud800';
  const obj = {
    rows: 3,
    nll: NaN,
    accuracy: 0.5,
    list: [1, NaN, Infinity, null, undefined, 'x'],
    nested: { a: undefined, b: () => 1, c: { d: [] }, e: {} },
    stats: {
      version: 1,
      auroc: { resolution: 'f32-m8-q4', bins: big, nanRows: 0 },
      awkward,
      typed: new Float64Array([1.5, NaN]),
      dropped: undefined,
      fn: () => 2,
      date: new Date(0),
      withToJson: { toJSON: () => 'custom' },
      empty: {},
      arr: [{ a: 1 }, [2, { b: undefined }]],
      nullProto: Object.assign(Object.create(null) as object, { z: 1, y: big.slice(0, 10) }),
    },
  };

  it('joins to the one-string text, byte for byte', () => {
    const pieces: string[] = [];
    writeJson(obj, (s) => pieces.push(s));
    expect(pieces.length).toBeGreaterThan(8); // it really is in pieces
    expect(Math.max(...pieces.map((p) => p.length))).toBeLessThanOrEqual(MB + 8);
    const text = pieces.join('');
    expect(text).toBe(oneString(obj));
    expect(formatJson(obj)).toBe(text);
    const back = JSON.parse(text);
    expect(back.stats.awkward).toBe(JSON.parse(JSON.stringify(awkward)));
    expect(back.stats.auroc.bins.length).toBe(big.length);
  });

  it('--no-stats and an object without stats', () => {
    expect(formatJson(obj, { stats: false })).toBe(oneString(obj, { stats: false }));
    expect(JSON.parse(formatJson(obj, { stats: false })).statsOmitted).toBe(true);
    const { stats: _s, ...noStats } = obj;
    expect(formatJson(noStats)).toBe(oneString(noStats));
    expect(formatJson({ ...noStats, stats: 'short' })).toBe(oneString({ ...noStats, stats: 'short' }));
  });
});

describe('streamed strings and long arrays', () => {
  // a string that writes itself in pieces (the protocol of stats.auroc.bins, auroc.ts AurocBinsText):
  // one array reused for every piece, as the AUROC encoder does
  const streamed = (pieces: number, size: number) => ({
    toJSON: () => 'QUJD'.repeat((pieces * size) / 4),
    *jsonAsciiPieces() {
      const b = new Uint8Array(size);
      for (let i = 0; i < pieces; i++) {
        for (let j = 0; j < size; j++) b[j] = 'QUJD'.charCodeAt(j % 4);
        yield b;
        b.fill(0); // a consumer that kept the array instead of copying it would write zeros
      }
    },
  });

  it('joins to the one-string text, byte for byte', () => {
    const long = Array.from({ length: 40_000 }, (_, i) => (i % 7 === 0 ? undefined : i % 11 === 0 ? () => i : i % 13 === 0 ? NaN : [i, i + 1, 2 * i]));
    const obj = { rows: 1, stats: { bins: streamed(5, MB), long, nested: { long, s: streamed(1, 8) }, after: 1 } };
    const pieces: string[] = [];
    writeJson(obj, (s) => pieces.push(s));
    const text = pieces.join('');
    expect(text).toBe(oneString(obj));
    expect(text).toContain('"bins":"QUJDQUJD');
    expect(Math.max(...pieces.map((p) => p.length))).toBeLessThanOrEqual(MB + 8);
    expect(pieces.length).toBeGreaterThan(10);
  });

  it('AurocBinsText: JSON.stringify, the pieces and encode() agree; the pieces are at most 1 MiB', () => {
    const a = new AurocCounts(40);
    const r = rng(3);
    // ~200,000 non-empty bins: more than one 768 KiB piece of varints
    for (let i = 0; i < 40 * AUROC_BINS; i += 1 + Math.floor(r() * 5)) a.addCount(i, Math.floor(r() * 3), 1 + Math.floor(r() * 300), 0, Math.floor(r() * 15));
    const st = aurocStats(a);
    const whole = a.encode();
    expect(JSON.parse(JSON.stringify(st)).bins).toBe(whole);
    const sizes: number[] = [];
    const pieces: string[] = [];
    for (const b of (st.bins as AurocBinsText).jsonAsciiPieces()) {
      sizes.push(b.length);
      pieces.push(Buffer.from(b).toString('latin1'));
    }
    expect(sizes.length).toBeGreaterThan(1);
    expect(Math.max(...sizes)).toBeLessThanOrEqual(MB);
    expect(pieces.join('')).toBe(whole);
    expect(formatJson({ rows: 1, stats: { auroc: st } })).toBe(oneString({ rows: 1, stats: { auroc: st } }));
    // the object form is read back as the string form is
    const back = new AurocCounts(40);
    expect(addAurocStats(back, st, 'x')).toBe(true);
    expect(back.encode()).toBe(whole);
  });

  it('stdoutJson waits for a slow pipe instead of queueing the whole text', async () => {
    // 48 MiB streamed through a pipe read only after a pause: without waiting for 'drain' the child
    // queues all of it (a new 1 MiB buffer per write); with it, one buffer and one piece are live
    const script = `
      import { stdoutJson } from ${JSON.stringify(pathToFileURL(join(root, 'dist', 'cli', 'output.js')).href)};
      const MB = 1 << 20;
      let peak = 0;
      const piece = new Uint8Array(MB).fill(65);
      const bins = { toJSON: () => 'A'.repeat(48 * MB), *jsonAsciiPieces() { for (let i = 0; i < 48; i++) { peak = Math.max(peak, process.memoryUsage().arrayBuffers); yield piece; } } };
      await stdoutJson({ rows: 1, stats: { bins } });
      process.stderr.write('peak ' + peak + '\\n');`;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.pause();
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    await new Promise((r) => setTimeout(r, 800));
    const chunks: Buffer[] = [];
    child.stdout.on('data', (d: Buffer) => chunks.push(d));
    child.stdout.resume();
    const code = await new Promise((r) => child.on('close', r));
    expect(code, stderr).toBe(0);
    const out = Buffer.concat(chunks).toString('latin1');
    expect(out).toBe(`{\n  "rows": 1,\n  "stats": {"bins":"${'A'.repeat(48 * MB)}"}\n}\n`);
    const peak = Number(/peak (\d+)/.exec(stderr)![1]);
    expect(peak).toBeGreaterThan(MB); // the piece itself: the figure is real
    expect(peak).toBeLessThan(8 * MB);
  }, 60_000);
});
