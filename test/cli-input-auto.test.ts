// score / calibrate --input auto, the default (issue 22 item 2): probabilities and log-probabilities
// are detected from the first block and said on stderr and in the JSON; --input logits forces the old
// reading. The LeNet record holds softmax rows: read as logits it gave NLL 1.976 and ECE 36%.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { detectInput } from '../src/io/npy-source.js';
import { writeNpy } from '../src/io/npy.js';
import { cliSandbox, ROOT } from './helpers/cli.js';
import { rng } from './helpers/random.js';

const { dir, exec } = cliSandbox('input-auto');
const lenet = join(ROOT, 'data', 'sample', 'lenet-5-cifar-10.npz');

describe('detectInput', () => {
  const p = new Float32Array([0.2, 0.3, 0.5, 1, 0, 0]);
  it('probabilities, log-probabilities, logits', () => {
    expect(detectInput(p, 3)).toBe('probs');
    expect(detectInput(p.map(Math.log), 3)).toBe('logprobs');
    expect(detectInput(new Float32Array([0.2, 0.3, 0.5, 0.5, 0.2, 0.2]), 3)).toBe('logits'); // a row sums to 0.9
    expect(detectInput(new Float32Array([2, -1, 0.5, 0, 1, 3]), 3)).toBe('logits');
    expect(detectInput(new Float32Array([0.2, 0.3, 0.5005]), 3)).toBe('probs'); // within 1e-3
    expect(detectInput(new Float32Array([0.2, 0.3, 0.502]), 3)).toBe('logits');
  });
  it('NaN, one column, no rows: logits', () => {
    expect(detectInput(new Float32Array([0.5, NaN, 0.5, 0, 1, 0]), 3)).toBe('logits');
    expect(detectInput(new Float32Array([0.2, 0.9, 0.1]), 1)).toBe('logits');
    expect(detectInput(new Float32Array(0), 3)).toBe('logits');
  });
});

describe('score and calibrate without --input', () => {
  it('the LeNet record (softmax rows): detected, scored as probabilities, said on stderr and in the JSON', async () => {
    const auto = await exec('score', lenet, '--json', '--intervals', '0');
    expect(auto.code, auto.stderr).toBe(0);
    expect(auto.stderr).toMatch(/holds probabilities .*scored as --input probs/);
    const a = JSON.parse(auto.stdout);
    expect(a.input).toBe('probs');
    expect(a.inputDetected).toBe(true);
    expect(a.nll).toBeCloseTo(1.370, 3);
    expect(a.ece).toBeCloseTo(0.108, 3);
    const given = JSON.parse((await exec('score', lenet, '--json', '--intervals', '0', '--input', 'probs')).stdout);
    expect(given.inputDetected).toBe(false);
    const { inputDetected: _a, fingerprint: _f, inputs: _i, ...figures } = a;
    const { inputDetected: _b, fingerprint: _g, inputs: _j, ...givenFigures } = given;
    expect(figures).toEqual(givenFigures);
    const forced = await exec('score', lenet, '--json', '--intervals', '0', '--input', 'logits');
    const f = JSON.parse(forced.stdout);
    expect(forced.stderr).not.toMatch(/holds/);
    expect(f.input).toBe('logits');
    expect(f.nll).toBeCloseTo(1.976, 3);
  });

  it('log-probabilities (the sample logits.npy is float32(log p)) are detected; scored as logits are', async () => {
    const s = (f: string) => join(ROOT, 'data', 'sample', f);
    const auto = await exec('score', s('logits.npy'), '--labels', s('labels.npy'), '--json', '--intervals', '0');
    expect(auto.stderr).toMatch(/holds log-probabilities/);
    const a = JSON.parse(auto.stdout);
    expect(a.input).toBe('logprobs');
    const l = JSON.parse((await exec('score', s('logits.npy'), '--labels', s('labels.npy'), '--json', '--intervals', '0', '--input', 'logits')).stdout);
    expect(a.nll).toBe(l.nll);
    expect(a.ece).toBe(l.ece);
  });

  it('logits: no note, "input": "logits"; calibrate detects too', async () => {
    const r = rng(9);
    const N = 200;
    const C = 4;
    writeNpy(join(dir, 'z.npy'), new Float32Array(N * C).map(() => (r() - 0.5) * 6), [N, C]);
    writeNpy(join(dir, 'y.npy'), new Int32Array(N).map(() => Math.floor(r() * C)), [N]);
    const z = await exec('score', 'z.npy', '--labels', 'y.npy', '--json', '--intervals', '0');
    expect(z.stderr).toBe('');
    expect(JSON.parse(z.stdout)).toMatchObject({ input: 'logits', inputDetected: true });
    const c = await exec('calibrate', lenet, '--json');
    expect(c.stderr).toMatch(/calibrate: .* holds probabilities/);
    expect(JSON.parse(c.stdout)).toMatchObject({ input: 'probs', inputDetected: true });
    expect(JSON.parse(c.stdout).nllBefore).toBeCloseTo(1.370, 3);
  });

  it('--input auto with --multilabel, and an unknown --input, are usage errors', async () => {
    const m = await exec('score', 'z.npy', '--labels', 'y.npy', '--multilabel', '--input', 'auto');
    expect(m.code).toBe(2);
    expect(m.stderr).toMatch(/--input auto: not with --multilabel/);
    const u = await exec('score', 'z.npy', '--labels', 'y.npy', '--input', 'odds');
    expect(u.code).toBe(2);
    expect(u.stderr).toMatch(/expected auto, logits, probs or logprobs/);
  });

  it('the first 4 MiB decide, for every command and any --block-mb (score reads 8 MiB blocks)', async () => {
    // 1 MiB rows of probabilities (C = 8: 32 bytes a row), then one logits row at 3 MiB or at 6 MiB
    const C = 8;
    const rows = (7 << 20) / (4 * C);
    const r = rng(5);
    const make = (badAt: number) => {
      const x = new Float32Array(rows * C);
      for (let i = 0; i < rows; i++) {
        let s = 0;
        for (let j = 0; j < C; j++) s += x[i * C + j] = 0.05 + r();
        for (let j = 0; j < C; j++) x[i * C + j] = Math.fround(x[i * C + j]! / s);
      }
      const i = Math.floor(badAt / (4 * C));
      for (let j = 0; j < C; j++) x[i * C + j] = 3 - j; // logits: not a probability row
      return x;
    };
    const y = new Int32Array(rows).map(() => Math.floor(r() * C));
    writeNpy(join(dir, 'wy.npy'), y, [rows]);
    for (const [name, badAt, kind] of [['w3.npy', 3 << 20, 'logits'], ['w6.npy', 6 << 20, 'probs']] as const) {
      writeNpy(join(dir, name), make(badAt), [rows, C]);
      for (const args of [['score', '--intervals', '0'], ['score', '--intervals', '0', '--block-mb', '1'], ['calibrate'], ['calibrate', '--block-mb', '16']]) {
        const run = await exec(args[0]!, name, '--labels', 'wy.npy', '--json', ...args.slice(1));
        const what = `${name} ${args.join(' ')}: ${run.stderr}`;
        if (kind === 'logits') {
          expect(run.code, what).toBe(0);
          expect(JSON.parse(run.stdout).input, what).toBe('logits');
        } else {
          // read as probabilities, the logits row past the first 4 MiB is then an error naming it
          expect(run.stderr, what).toMatch(/holds probabilities/);
          expect(run.code, what).toBe(1);
          expect(run.stderr, what).toMatch(/row 196608: probability 3 at class 0 is not in \[0, 1\]/);
        }
      }
    }
  });
});
