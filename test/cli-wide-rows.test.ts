// Rows wider than a block (issue 22 item 10): `logitkit softmax -o` and the other transforms read such
// a row in passes, a block of it at a time, so the peak RSS stays far below the row; the results are
// the spec's (float64 reference) including offset rows, NaN / +inf / all −inf rows and a block of −inf
// only. A 1 GiB row used to be read whole (1.5 GB RSS, killed).
import { spawnSync } from 'node:child_process';
import { closeSync, openSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { NpyFile, npyHeaderBytes, readNpyFloat32, readNpyInt32, writeNpy } from '../src/io/npy.js';
import { BIN, cliSandbox } from './helpers/cli.js';
import { rng } from './helpers/random.js';
import { refArgmax, refLogSoftmax, refLogSumExp, refSigmoid, refSoftmax, refTopk } from './reference/index.js';

const { dir, exec } = cliSandbox('wide');

function hugePiece(): Float32Array {
  const piece = new Float32Array(1 << 20);
  for (let i = 0; i < piece.length; i++) piece[i] = ((i * 7919) % 1000) / 100 - 5;
  return piece;
}

/** One row of 64M float32 values (256 MB), written as 64 copies of one 4 MB piece. */
function writeHugeRow(path: string, C: number): void {
  const piece = hugePiece();
  const fd = openSync(path, 'w');
  try {
    writeSync(fd, npyHeaderBytes('<f4', [1, C]));
    for (let done = 0; done < C; done += piece.length) writeSync(fd, piece.subarray(0, Math.min(piece.length, C - done)));
  } finally {
    closeSync(fd);
  }
}

describe('transforms of rows wider than a block', () => {
  it('softmax -o on one 256 MB row: peak RSS well below the row, probabilities summing to 1', () => {
    const C = 64 << 20;
    const input = join(dir, 'huge.npy');
    writeHugeRow(input, C);
    const output = join(dir, 'huge-p.npy');
    const p = spawnSync(process.execPath, [BIN, 'softmax', input, '-o', output, '--debug', '--threads', '1'], { encoding: 'utf8', timeout: 180_000 });
    expect(p.status, p.stderr).toBe(0);
    const rss = Number(/debug: maxRSS ([\d.]+) MiB/.exec(p.stderr)?.[1]);
    expect(rss).toBeGreaterThan(10);
    expect(rss).toBeLessThan(128); // the row is 256 MiB; node + wasm + one 4 MiB block take ~60-80
    // Checked without loading it whole: the row repeats one 4 MB piece 64 times, so its float64
    // softmax is exp(piece − lse) with lse = log(64 Σ exp(piece)); spans at the start, middle and end.
    const piece = hugePiece();
    const m = piece.reduce((a, v) => Math.max(a, v), -Infinity);
    const lse = m + Math.log(64 * piece.reduce((a, v) => a + Math.exp(v - m), 0));
    const out = NpyFile.open(output, 'any');
    try {
      expect(out.cols).toBe(C);
      for (const j of [0, 31 << 20, C - 4096]) {
        const got = out.readSpan(0, j, 4096);
        for (let i = 0; i < 4096; i++) {
          const want = Math.exp(piece[(j + i) % piece.length]! - lse);
          if (!(Math.abs(got[i]! - want) <= 1e-5 * want)) expect.fail(`p[${j + i}] = ${got[i]}, expected ${want}`);
        }
      }
    } finally {
      out.close();
    }
  }, 240_000);

  const r = rng(5);
  const C = 300_000; // --block-mb 1: spans of 262,144 values, so two per row, the second partial
  const rows: number[][] = [
    Array.from({ length: C }, () => (r() - 0.5) * 10),
    Array.from({ length: C }, () => 1e6 + (r() - 0.5) * 4), // offset: error must follow the spread
    Array.from({ length: C }, (_, j) => (j < 262_144 ? -Infinity : (r() - 0.5) * 6)), // first span all −inf
    Array.from({ length: C }, (_, j) => (j === 200_000 ? NaN : r())),
    Array.from({ length: C }, (_, j) => (j === 270_000 ? Infinity : r())),
    Array.from({ length: C }, () => -Infinity),
    Array.from({ length: C }, (_, j) => (j === 5 || j === 280_000 ? 9 : r())), // a tie across spans
  ];
  const x = Float32Array.from(rows.flat());
  const R = rows.length;

  function close(got: Float32Array, want: number[], rtol: number, atol: number): void {
    for (let i = 0; i < want.length; i++) {
      const e = Math.fround(want[i]!);
      const g = got[i]!;
      if (!Number.isFinite(e)) {
        if (Object.is(g, e) || (Number.isNaN(e) && Number.isNaN(g))) continue;
        expect.fail(`entry ${i} (row ${Math.floor(i / C)}): got ${g}, expected ${e}`);
      }
      if (!(Math.abs(g - want[i]!) <= atol + rtol * Math.abs(want[i]!))) expect.fail(`entry ${i} (row ${Math.floor(i / C)}): got ${g}, expected ${want[i]}`);
    }
  }

  it('softmax, log-softmax (T = 1 and 0.7), logsumexp, sigmoid, argmax, topk: the float64 reference', async () => {
    writeNpy(join(dir, 'w.npy'), x, [R, C]);
    const run = async (...args: string[]) => {
      const res = await exec(...args, '--block-mb', '1');
      expect(res.code, res.stderr).toBe(0);
    };
    for (const T of [1, 0.7]) {
      await run('softmax', 'w.npy', '-o', 'p.npy', '--temperature', String(T));
      close(readNpyFloat32(join(dir, 'p.npy')).data, refSoftmax(x, C, T), 1e-4, 1e-36);
      await run('softmax', 'w.npy', '-o', 'lp.npy', '--log', '--temperature', String(T));
      close(readNpyFloat32(join(dir, 'lp.npy')).data, refLogSoftmax(x, C, T), 2e-6, 1e-4 + 4 * 2 ** -24 * (1e6 / T));
      await run('logsumexp', 'w.npy', '-o', 'l.npy', '--temperature', String(T));
      close(readNpyFloat32(join(dir, 'l.npy')).data, refLogSumExp(x, C, T), 2e-6, 1e-4);
    }
    await run('sigmoid', 'w.npy', '-o', 's.npy');
    close(readNpyFloat32(join(dir, 's.npy')).data, refSigmoid(x), 1e-6, 1.2e-38);
    await run('argmax', 'w.npy', '-o', 'a.npy');
    expect(Array.from(readNpyInt32(join(dir, 'a.npy')).data)).toEqual(refArgmax(x, C));
    await run('topk', 'w.npy', '-o', 't.npy', '--k', '3', '--values', 'tv.npy');
    const ref = refTopk(x, C, 3);
    expect(Array.from(readNpyInt32(join(dir, 't.npy')).data)).toEqual(ref.indices);
    close(readNpyFloat32(join(dir, 'tv.npy')).data, ref.values, 0, 0);
  }, 120_000);
});
