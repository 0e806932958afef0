// helpers/fixture-cache.ts hands back what build() returned, bit for bit, whether it built it or read it;
// other arguments build again (and both stay), edited sources build again (and the old build goes), and
// a damaged file is rebuilt rather than read.
import { afterAll, expect, it } from 'vitest';
import { mkdtempSync, readdirSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { cachedFixture } from './helpers/fixture-cache.js';

const DIR = new URL('../node_modules/.cache/logitkit-tests/', import.meta.url);
const NAME = `fixture-cache-test-${process.pid}`;
const mine = () => readdirSync(DIR).filter((f) => f.startsWith(`${NAME}.`));
const scratch = mkdtempSync(join(tmpdir(), 'lk-fixture-cache-'));
afterAll(() => {
  for (const f of mine()) rmSync(new URL(f, DIR), { force: true });
  rmSync(scratch, { recursive: true, force: true });
});

const build = () => ({
  a: Float32Array.from([1, NaN, -0, 3.5, -Infinity, 2 ** -149]),
  n: 7.25,
  b: new Int32Array([1, -2, 2 ** 31 - 1]),
  c: Float64Array.from([Math.PI, -0, NaN, 5e-324]),
  empty: new Float32Array(0),
  m: -0,
});

it('reads back what it built, bit for bit and in the same order; other arguments, other sources or a damaged file build again', () => {
  const source = join(scratch, 'source.ts');
  writeFileSync(source, 'one');
  const sources = [new URL(import.meta.url), pathToFileURL(source)];
  let builds = 0;
  const counted = () => (builds++, build());
  const first = cachedFixture(NAME, sources, [1], counted);
  const again = cachedFixture(NAME, sources, [1], counted);
  expect(builds).toBe(1);
  expect(again).toEqual(build());
  expect(Object.keys(again)).toEqual(Object.keys(build()));
  expect(Object.is(again.m, -0)).toBe(true);
  expect(again.a).toBeInstanceOf(Float32Array);
  expect(again.a).not.toBe(first.a);

  cachedFixture(NAME, sources, [2], counted);
  expect(builds).toBe(2);
  expect(mine()).toHaveLength(2);
  cachedFixture(NAME, sources, [1], counted);
  expect(builds).toBe(2);

  writeFileSync(source, 'two');
  expect(cachedFixture(NAME, sources, [1], counted)).toEqual(build());
  expect(builds).toBe(3);
  expect(mine()).toHaveLength(1); // the builds of the old source are gone

  truncateSync(new URL(mine()[0]!, DIR), 40);
  expect(cachedFixture(NAME, sources, [1], counted)).toEqual(build());
  expect(builds).toBe(4);
  expect(() => cachedFixture('a/b', sources, [1], counted)).toThrow(/name/);
});
