// The HTML and Markdown reports: what issue 14 found wrong when the page was looked at, checked in
// the markup (the screenshots themselves are taken by hand; see the closing notes).
import { describe, expect, it } from 'vitest';
import { renderHtmlReport, renderMarkdownReport, type ReportInput } from '../src/cli/report.js';
import { ScoreAccumulator, withClassNames } from '../src/metrics/summary.js';
import { engineFor } from './helpers/backends.js';
import { rng } from './helpers/random.js';

async function summaryOf(R: number, C: number, opts: { skew?: number; alt?: number } = {}) {
  const lk = await engineFor('wasm');
  const rand = rng(R + C);
  const y = Int32Array.from({ length: R }, () => Math.floor(rand() * C));
  const x = Float32Array.from({ length: R * C }, (_, i) => (rand() - 0.5) * 2 + (i % C === y[Math.floor(i / C)] ? (opts.skew ?? 4) : 0));
  const acc = new ScoreAccumulator(C, { altTemperature: opts.alt ?? null });
  acc.addBlock(lk, x, y);
  return acc.summary();
}

const input = (summary: ReportInput['summary'], extra: Partial<ReportInput> = {}): ReportInput => ({
  summary,
  inputs: [{ logits: 'x.npy', labels: 'y.npy' }],
  backend: 'wasm',
  fitted: null,
  ...extra,
});

describe('HTML report', () => {
  it('the histogram axis ends on a labelled tick at or above the tallest bar, whose value is written on it', async () => {
    const s = await summaryOf(3000, 10, { skew: 9 }); // confident: most rows in the top bin
    const html = renderHtmlReport(input(s));
    const hist = html.slice(html.indexOf('aria-label="confidence histogram"'));
    const counts = s.reliability.bins.map((b) => b.count);
    const tallest = Math.max(...counts) / s.rows;
    expect(tallest).toBeGreaterThan(0.75);
    expect(hist).toContain('>100%</text>');
    expect(hist).toContain(`>${Math.round(tallest * 100)}%</text>`);
  });

  it('every non-empty reliability bin shows its row count', async () => {
    const s = await summaryOf(5000, 10, { skew: 3 });
    const html = renderHtmlReport(input(s));
    const rel = html.slice(0, html.indexOf('aria-label="confidence histogram"'));
    for (const b of s.reliability.bins) if (b.count) expect(rel).toContain(`<title>${b.count} rows</title>`);
  });

  it('a merged report says so and names its shards', async () => {
    const s = await summaryOf(200, 4);
    const html = renderHtmlReport(input(s, { merged: ['a.json', 'b.json'], backend: 'merged' }));
    expect(html).toContain('<h1>logitkit merged score report (2 shards)</h1>');
    expect(html).toContain('merged from 2 shards (<code>a.json</code>, <code>b.json</code>)');
    expect(html).not.toContain('backend merged');
    expect(renderMarkdownReport(input(s, { merged: ['a.json', 'b.json'] }))).toMatch(/^# logitkit merged score report \(2 shards\)/);
  });

  it('10 classes: names on the axis, a confusion heatmap, every class in the table', async () => {
    const s = withClassNames(await summaryOf(2000, 10), ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck']);
    const html = renderHtmlReport(input(s));
    expect(html).toContain('aria-label="confusion matrix"');
    expect(html).toContain('>1 automobile</text>');
    const table = html.slice(html.indexOf('<h2>Per-class table</h2>'));
    expect(table.match(/<tr><td>\d+ [a-z]+<\/td>/g)).toHaveLength(10);
    expect(html).toContain('>rows</text>'); // the per-class chart has an axis
  });

  it('1000 classes: the tables collapse to the flagged and the worst, and the confusion becomes a list of pairs', async () => {
    const s = await summaryOf(20000, 1000, { skew: 2.5 });
    const html = renderHtmlReport(input(s));
    expect(html).not.toContain('aria-label="confusion matrix"');
    expect(html).toContain('<h2>Most confused classes</h2>');
    const table = html.slice(html.indexOf('<h2>Per-class table</h2>'));
    const rows = (table.match(/<tr><td>\d+<\/td>/g) ?? []).length;
    const flagged = s.perClass.filter((c) => c.flag).length;
    expect(rows).toBeGreaterThanOrEqual(20);
    expect(rows).toBeLessThanOrEqual(20 + flagged);
    expect(table).toContain(`of 1000 classes: the flagged ones and the 20 with the lowest F1`);
    expect(html.length).toBeLessThan(400_000);
  });
});
