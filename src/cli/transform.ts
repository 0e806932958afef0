/**
 * `logitkit softmax | logsumexp | sigmoid | argmax | topk IN.npy -o OUT.npy`: streamed transforms.
 *
 * The input is read in row blocks (the last axis is the row; any float dtype the reader knows), each
 * block goes through the engine, and the result is appended to a temporary file that is renamed over
 * OUT.npy only when every row has been written. A row wider than a block is read in passes, a block of
 * it at a time (wide-rows.ts), so memory stays bounded for any row width. Outputs are little-endian float32 (int32 for argmax
 * and top-k indices). The input file is only ever opened for reading, and OUT may not be the input.
 */
import { realpathSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Engine } from '../index.js';
import { NpyError, NpyFile, NpyWriter } from '../io/npy.js';
import { blockBuffer, namingFile } from '../io/npy-source.js';
import { WideRows } from './wide-rows.js';
import { engineOptions, parseIntOption, parsePositive, startEngine } from './args.js';
import { parseCommandArgs, Progress, UsageError } from './ui.js';

export const TRANSFORMS = ['softmax', 'logsumexp', 'sigmoid', 'argmax', 'topk'] as const;
export type TransformName = (typeof TRANSFORMS)[number];

/** One usage line per transform: a usage error of `topk` prints the topk line, not the first one. */
export const TRANSFORM_USAGE: Record<TransformName, string> = {
  softmax: 'logitkit softmax   IN.npy -o OUT.npy [--log] [--temperature T]',
  logsumexp: 'logitkit logsumexp IN.npy -o OUT.npy [--temperature T]',
  sigmoid: 'logitkit sigmoid   IN.npy -o OUT.npy [--log]',
  argmax: 'logitkit argmax    IN.npy -o OUT.npy',
  topk: 'logitkit topk      IN.npy -o OUT.npy [--k 5] [--values VALUES.npy]',
};

const NOTES: Record<TransformName, string> = {
  softmax: '',
  logsumexp: 'OUT has the shape of IN without its last axis',
  sigmoid: 'elementwise',
  argmax: 'int32, ties to the lowest index',
  topk: '',
};

export const TRANSFORM_HELP = `${TRANSFORMS.map((t, i) => `${i === 0 ? 'usage: ' : '       '}${NOTES[t] ? TRANSFORM_USAGE[t].padEnd(61) + NOTES[t] : TRANSFORM_USAGE[t]}`).join('\n')}
                          OUT gets the int32 indices (..., k); --values also writes the float32 values
Common: [--backend wasm|js] [--threads N] [--debug]. The last axis of IN is the class axis.
`;

function samePath(a: string, b: string): boolean {
  const real = (p: string) => {
    try {
      return realpathSync(p);
    } catch {
      return resolve(p);
    }
  };
  return real(a) === real(b);
}

export async function transformCommand(name: TransformName, argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs(name, argv, {
    output: { type: 'string', short: 'o' },
    log: { type: 'boolean' },
    temperature: { type: 'string' },
    k: { type: 'string' },
    values: { type: 'string' },
    backend: { type: 'string' },
    threads: { type: 'string' },
    debug: { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
    'block-mb': { type: 'string' },
  });
  if (values.help) {
    process.stdout.write(TRANSFORM_HELP);
    return 0;
  }
  if (positionals.length !== 1) throw new UsageError(`${name}: expected exactly one input file (got ${positionals.length})`);
  const input = positionals[0];
  const output = values.output;
  if (!output) throw new UsageError(`${name}: missing -o OUT.npy`);
  const allowed: Record<TransformName, string[]> = {
    softmax: ['log', 'temperature'],
    logsumexp: ['temperature'],
    sigmoid: ['log'],
    argmax: [],
    topk: ['k', 'values'],
  };
  for (const opt of ['log', 'temperature', 'k', 'values'] as const) {
    if (values[opt] !== undefined && !allowed[name].includes(opt)) throw new UsageError(`${name}: --${opt} does not apply to ${name}`);
  }
  const T = parsePositive('temperature', values.temperature) ?? 1;
  const k = parseIntOption('k', values.k, 5, 0);
  for (const out of [output, values.values]) {
    if (out !== undefined && samePath(out, input)) throw new UsageError(`${name}: output ${out} is the input file; inputs are never overwritten`);
  }
  if (values.values !== undefined && samePath(values.values, output)) throw new UsageError(`${name}: --values and -o are the same file`);

  engineOptions(values);
  const src = NpyFile.open(input, 'any');
  const shape = src.header.shape;
  const lead = shape.slice(0, -1);
  const C = src.cols;
  if (C === 0 && src.rows > 0 && name !== 'sigmoid') {
    src.close();
    throw new NpyError(input, `has 0 classes (shape (${shape.join(', ')})): ${name} needs at least one per row`);
  }
  if (name === 'topk' && k > C) {
    src.close();
    throw new UsageError(`topk: --k ${k} is larger than the ${C} classes of ${input}`);
  }
  const writers: NpyWriter[] = [];
  const progress = new Progress(true);
  let lk: Engine | null = null;
  try {
    lk = await startEngine(values, src.rows * src.cols * 4);
    const main =
      name === 'softmax' || name === 'sigmoid'
        ? new NpyWriter(output, '<f4', shape)
        : name === 'logsumexp'
          ? new NpyWriter(output, '<f4', lead)
          : name === 'argmax'
            ? new NpyWriter(output, '<i4', lead)
            : new NpyWriter(output, '<i4', [...lead, k]);
    writers.push(main);
    const vals = name === 'topk' && values.values !== undefined ? new NpyWriter(values.values, '<f4', [...lead, k]) : null;
    if (vals) writers.push(vals);

    const blockBytes = values['block-mb'] !== undefined ? parseIntOption('block-mb', values['block-mb'], 1) << 20 : 4 << 20;
    // --debug: the largest live ArrayBuffer total seen after a block (the tests bound it).
    let peakArrayBuffers = 0;
    if (C * 4 > blockBytes) {
      // Rows wider than a block: in passes over each row, one block of it at a time (RSS bounded
      // whatever the row width; a 1 GiB row used to be read, and kept, whole).
      const span = blockBytes >> 2;
      if (name === 'topk' && 2 * k > span) throw new UsageError(`topk: --k ${k} needs --block-mb of at least ${Math.ceil((8 * k) / 2 ** 20)} for rows of ${C} classes (each row is read in blocks of ${span} values)`);
      const wide = new WideRows(lk, src, blockBuffer(span, input), span);
      for (let r = 0; r < src.rows; r++) {
        if (name === 'softmax') wide.softmax(r, T, values.log === true, main);
        else if (name === 'sigmoid') wide.sigmoid(r, values.log === true, main);
        else if (name === 'logsumexp') main.write(new Float32Array([wide.logsumexp(r, T)]));
        else if (name === 'argmax') main.write(new Int32Array([wide.argmax(r).index]));
        else {
          const t = wide.topk(r, k);
          main.write(t.indices);
          vals?.write(t.values);
        }
        progress.update(name, r + 1, src.rows);
        if (values.debug) peakArrayBuffers = Math.max(peakArrayBuffers, process.memoryUsage().arrayBuffers);
      }
    }
    const step = src.blockRows(blockBytes);
    // One input block and (for logsumexp) one output block, reused: a fresh multi-MB result per block
    // is garbage that V8 collects late (Node 24 let ~20 of them pile up, 80 MiB of ArrayBuffers), so
    // softmax and sigmoid write their result over the block they read.
    const narrow = C * 4 <= blockBytes;
    const buf = blockBuffer(narrow ? Math.min(step, src.rows) * C : 0, input);
    const lse = name === 'logsumexp' ? new Float32Array(Math.min(step, src.rows)) : null;
    for (let r = 0; narrow && r < src.rows; r += step) {
      const n = Math.min(step, src.rows - r);
      const x = src.readFloat32(r, n, buf);
      switch (name) {
        case 'softmax':
          main.write(values.log ? lk.logSoftmax(x, C, { temperature: T, out: x }) : lk.softmax(x, C, { temperature: T, out: x }));
          break;
        case 'logsumexp':
          main.write(lk.logsumexp(x, C, { temperature: T, out: lse!.subarray(0, n) }));
          break;
        case 'sigmoid':
          main.write(values.log ? lk.logSigmoid(x, { out: x }) : lk.sigmoid(x, { out: x }));
          break;
        case 'argmax':
          main.write(lk.argmax(x, C));
          break;
        case 'topk': {
          const t = lk.topk(x, C, k);
          main.write(t.indices);
          vals?.write(t.values);
          break;
        }
      }
      progress.update(name, r + n, src.rows);
      if (values.debug) peakArrayBuffers = Math.max(peakArrayBuffers, process.memoryUsage().arrayBuffers);
    }
    for (const w of writers) w.commit();
    progress.finish();
    if (values.debug) {
      const mib = (b: number) => (b / 1048576).toFixed(1);
      process.stderr.write(`debug: maxRSS ${mib(process.resourceUsage().maxRSS * 1024)} MiB, peak ArrayBuffers ${mib(peakArrayBuffers)} MiB, ${lk.features.threads} thread(s)\n`);
    }
    return 0;
  } catch (e) {
    for (const w of writers) w.abort();
    throw namingFile(e, input);
  } finally {
    progress.finish();
    src.close();
    lk?.dispose();
  }
}
