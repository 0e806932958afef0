// The score JSON is written in pieces (src/cli/output.ts writeJson): the joined pieces must be the
// text the one-string formatter gave — indented figures, `stats` compact on one line — byte for byte,
// whatever the stats hold (long strings cut in slices, surrogate pairs at a slice's edge, values
// JSON.stringify drops or turns into null).
import { describe, expect, it } from 'vitest';
import { formatJson, writeJson } from '../src/cli/output.js';

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
