// merge reads AUROC statistics without expanding them (auroc.ts AurocCounts.addEncoded / merge): the
// varints of each shard stay as they are and are summed one class at a time when read. Whatever the
// order of the reads and whatever is mixed in (counts added by hand, expanded cells, another
// statistics-only merge), the figures, the re-encoded statistics and the dense counts must be those
// of adding every shard's counts into cells, and counts past 2^32 must survive.
import { describe, expect, it } from 'vitest';
import { averagePrecisionReport } from '../src/metrics/average-precision.js';
import { addAurocStats, AUROC_BINS, AurocCounts, aurocStats } from '../src/metrics/auroc.js';
import { rng } from './helpers/random.js';

const K = 7;

/** Counts with random bins (a few per class, some positives, some all-negative). */
function shard(seed: number): AurocCounts {
  const r = rng(seed);
  const a = new AurocCounts(K);
  for (let n = 0; n < 3000; n++) {
    const i = Math.floor(r() * K * AUROC_BINS);
    const p = r() < 0.3 ? 1 + Math.floor(r() * 4) : 0;
    const m = Math.floor(r() * 6);
    if (p + m === 0) continue;
    a.addCount(i, p, m, Math.floor(r() * (15 * p + 1)), Math.floor(r() * (15 * m + 1)));
  }
  return a;
}

/** A statistics-only copy, as merge builds it from a score file. */
function fromText(a: AurocCounts): AurocCounts {
  const b = new AurocCounts(K);
  expect(addAurocStats(b, JSON.parse(JSON.stringify(aurocStats(a))), 'x.json')).toBe(true);
  return b;
}

/** The reference: every shard's counts added into cells (addCount over the dense figures). */
function addedInCells(parts: AurocCounts[]): AurocCounts {
  const out = new AurocCounts(K);
  for (const p of parts) {
    const d = p.dense();
    for (let i = 0; i < K * AUROC_BINS; i++) if (d.pos[i] + d.neg[i] > 0) out.addCount(i, d.pos[i], d.neg[i], d.posQ[i], d.negQ[i]);
  }
  return out;
}

describe('AUROC statistics merged without expanding them', () => {
  const parts = [shard(1), shard(2), shard(3)];
  const support = Array.from({ length: K }, () => 1);

  it('figures, encoding and dense counts equal the cells-added merge, classes read in any order', () => {
    const want = addedInCells(parts);
    const lazy = parts.map(fromText).reduce((a, b) => (a.merge(b), a));
    // out of order first (each read restarts the streams where needed), then in order, twice
    for (const k of [5, 2, 6, 0, 3]) expect(lazy.classAuroc(k)).toEqual(want.classAuroc(k));
    expect(lazy.report(support)).toEqual(want.report(support));
    expect(averagePrecisionReport(lazy)).toEqual(averagePrecisionReport(want));
    expect(lazy.encode()).toBe(want.encode());
    expect(lazy.report(support)).toEqual(want.report(support));
    expect(lazy.dense()).toEqual(want.dense()); // expands them into cells
    expect(lazy.encode()).toBe(want.encode());
  });

  it('mixed with counts in cells, on either side of the merge', () => {
    const want = addedInCells(parts);
    const a = fromText(parts[0]);
    a.addCount(0, 0, 0); // expands a's statistics into cells
    a.merge(fromText(parts[1])); // statistics into cells
    const b = fromText(parts[2]);
    const c = new AurocCounts(K);
    c.merge(b); // statistics-only into an empty one
    c.merge(a); // cells into statistics-only: expanded first
    expect(c.encode()).toBe(want.encode());
    expect(c.report(support)).toEqual(want.report(support));
  });

  it('counts past 2^32 over shards: read as float64, promoted when expanded', () => {
    const big = new AurocCounts(K);
    big.addCount(AUROC_BINS + 9, 2 ** 31 + 5, 2 ** 31 + 7, 0, 0);
    const lazy = fromText(big);
    lazy.merge(fromText(big));
    expect(lazy.neg(AUROC_BINS + 9)).toBe(2 ** 32 + 14);
    expect(lazy.pos(AUROC_BINS + 9)).toBe(2 ** 32 + 10);
    const d = lazy.dense();
    expect(d.neg[AUROC_BINS + 9]).toBe(2 ** 32 + 14);
    expect(lazy.encode()).toBe(fromText(addedInCells([big, big])).encode());
  });

  it('malformed statistics add nothing', () => {
    const a = fromText(parts[0]);
    const before = a.encode();
    const text = parts[1].encode();
    // valid varints, then a bin past the last class (a gap of 2^35)
    expect(a.addEncoded(Buffer.concat([Buffer.from(text, 'base64'), Buffer.from([0x80, 0x80, 0x80, 0x80, 0x80, 0x01, 0, 0, 0, 0])]).toString('base64'))).toBe(false);
    expect(a.encode()).toBe(before);
  });
});
