// Bounded memory: the CLI streams a 256 MB logits file with a peak resident set far below the file
// size (the 1.2 GB ≤ 300 MiB target of the issue, scaled down so CI stays fast). The peak RSS is the
// subprocess's own getrusage maxRSS, printed by --debug; /usr/bin/time -v confirms it when present.
import { spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, rmSync, statSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { NpyFile, npyHeaderBytes } from '../src/io/npy.js';
import { rng } from './helpers/random.js';
import { refScore, refSoftmax } from './reference/index.js';

const root = join(import.meta.dirname, '..');
const bin = join(root, 'bin', 'logitkit.js');
const dir = mkdtempSync(join(tmpdir(), 'lk-mem-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const C = 100;
const CHUNK = 10_000; // rows; the file repeats one chunk, so whole-file figures equal the chunk's
const REPEATS = 64; // 640,000 rows × 100 classes × 4 B = 256 MB
const ROWS = CHUNK * REPEATS;
// Well below the 244 MiB file. Node 22 and 24 start 11 MiB higher than 20 with an engine and its
// worker (84 vs 73 MiB) and collect later: score measured 163.6 MiB on Node 22 and 176.7 on 24
// (2026-12-07, with issue 24's per-row selective figures), under 160 on Node 20. After issue 21's
// second round (packed AUROC cells, per-chunk partial sums, the fingerprint thread) five runs read
// 146–148 (Node 20), 168 (22) and 179–183 MiB (24): on Node 24 the end of the run (encoding the AUROC
// statistics) adds 12 MiB that Node 20 collects sooner. Node 24's bound rose from 185 to 192 MiB for
// that. Since the statistics are written as they are encoded (output.ts stdoutJson, auroc.ts
// encodePieces), three runs each read 135–139 (Node 20), 149–151 (22) and 172–173 MiB (24), against
// 148 / 160–161 / 174–181 before (2026-12-07, loaded machine): the bounds are 150 / 165 / 185.
const major = Number(process.versions.node.split('.')[0]);
const BOUND_MIB = major >= 24 ? 185 : major >= 22 ? 165 : 150;
// The transform reuses one 4 MB block for input and result; measured 67 / 75 / 80 MiB on Node 20 /
// 22 / 24 (it was 107 / 117 / 163 when every block allocated a fresh result: see below).
const TRANSFORM_BOUND_MIB = 120;
// Live ArrayBuffers after any block: the reused 4 MB block plus small per-block index arrays. A fresh
// result array per block left 40 MiB (Node 20, 22) to 80 MiB (Node 24) of garbage waiting for a GC.
const TRANSFORM_ARRAYBUFFERS_MIB = 16;

const r = rng(7);
const x = new Float32Array(CHUNK * C);
const y = new Int32Array(CHUNK);
for (let i = 0; i < CHUNK; i++) {
  y[i] = Math.floor(r() * C);
  for (let j = 0; j < C; j++) x[i * C + j] = (r() - 0.5) * 8 + (j === y[i] && r() < 0.6 ? 4 : 0);
}
const logits = join(dir, 'big.npy');
const labels = join(dir, 'big-labels.npy');

function writeRepeated(path: string, descr: string, shape: number[], chunk: Float32Array | Int32Array) {
  const fd = openSync(path, 'w');
  try {
    writeSync(fd, npyHeaderBytes(descr, shape));
    for (let k = 0; k < REPEATS; k++) writeSync(fd, chunk);
  } finally {
    closeSync(fd);
  }
}

function peakMiB(args: string[]): { mib: number; timeMib: number | null; arrayBuffersMib: number; stdout: string; code: number | null; stderr: string } {
  const useTime = existsSync('/usr/bin/time');
  const cmd = useTime ? '/usr/bin/time' : process.execPath;
  const argv = useTime ? ['-v', process.execPath, bin, ...args, '--debug'] : [bin, ...args, '--debug'];
  const p = spawnSync(cmd, argv, { encoding: 'utf8', maxBuffer: 64 << 20, timeout: 120_000 });
  const dbg = /debug: maxRSS ([\d.]+) MiB/.exec(p.stderr);
  const tv = /Maximum resident set size \(kbytes\): (\d+)/.exec(p.stderr);
  const ab = /peak ArrayBuffers ([\d.]+) MiB/.exec(p.stderr);
  return { mib: dbg ? Number(dbg[1]) : NaN, arrayBuffersMib: ab ? Number(ab[1]) : NaN, timeMib: tv ? Number(tv[1]) / 1024 : null, stdout: p.stdout, code: p.status, stderr: p.stderr };
}

// Written on first use by each test (not in a beforeAll): a failed write fails the tests instead of
// leaving them reported as skipped.
let written = false;
function inputs(): void {
  if (written) return;
  writeRepeated(logits, '<f4', [ROWS, C], x);
  writeRepeated(labels, '<i4', [ROWS], y);
  expect(statSync(logits).size).toBeGreaterThan(256e6);
  written = true;
}

describe('bounded memory on a 256 MB file', () => {

  it(`score: peak RSS < ${BOUND_MIB} MiB, and the figures are right`, () => {
    inputs();
    const res = peakMiB(['score', logits, '--labels', labels, '--json']);
    expect(res.code, res.stderr).toBe(0);
    expect(res.mib).toBeGreaterThan(10);
    expect(res.mib).toBeLessThan(BOUND_MIB);
    if (res.timeMib !== null) expect(res.timeMib).toBeLessThan(BOUND_MIB);
    const j = JSON.parse(res.stdout);
    const ref = refScore(x, C, y);
    expect(j.rows).toBe(ROWS);
    expect(j.accuracy).toBe(ref.accuracy);
    expect(Math.abs(j.nll - ref.nll)).toBeLessThan(1e-5);
    expect(Math.abs(j.ece - ref.ece)).toBeLessThan(1e-5);
    expect(j.perClass.map((c: { support: number }) => c.support)).toEqual(ref.support.map((s) => s * REPEATS));
    console.log(`score 256 MB: peak RSS ${res.mib} MiB (debug), ${res.timeMib?.toFixed(1) ?? '-'} MiB (/usr/bin/time)`);
  });

  it(`softmax transform to a 256 MB output: peak RSS < ${TRANSFORM_BOUND_MIB} MiB, live ArrayBuffers < ${TRANSFORM_ARRAYBUFFERS_MIB} MiB`, () => {
    inputs();
    const out = join(dir, 'probs.npy');
    const res = peakMiB(['softmax', logits, '-o', out]);
    expect(res.code, res.stderr).toBe(0);
    expect(res.mib).toBeGreaterThan(10);
    expect(res.mib).toBeLessThan(TRANSFORM_BOUND_MIB);
    if (res.timeMib !== null) expect(res.timeMib).toBeLessThan(TRANSFORM_BOUND_MIB);
    expect(res.arrayBuffersMib).toBeGreaterThanOrEqual(3.8); // the 4 MB block itself: the figure is real
    expect(res.arrayBuffersMib).toBeLessThan(TRANSFORM_ARRAYBUFFERS_MIB);
    const f = NpyFile.open(out, 'logits');
    expect([f.rows, f.cols]).toEqual([ROWS, C]);
    // The result overwrites the block it was read into: check rows on both sides of block edges and
    // in the short last block against the float64 reference (the file repeats one chunk).
    const blockRows = Math.floor((4 << 20) / (4 * C));
    const lastStart = Math.floor(ROWS / blockRows) * blockRows;
    for (const row of [0, blockRows - 1, blockRows, 37 * blockRows + 5, lastStart - 1, lastStart, ROWS - 1]) {
      const got = f.readFloat32(row, 1);
      const i = row % CHUNK;
      const want = refSoftmax(x.subarray(i * C, (i + 1) * C), C);
      for (let j = 0; j < C; j++) expect(Math.abs(got[j] - want[j]), `row ${row}, class ${j}`).toBeLessThanOrEqual(1e-5 * want[j] + 1e-36);
    }
    f.close();
    rmSync(out);
    console.log(`softmax 256 MB → 256 MB: peak RSS ${res.mib} MiB, peak ArrayBuffers ${res.arrayBuffersMib} MiB`);
  });
});
