/**
 * What relaxed.test.ts checks about the relaxed-SIMD build, computed in whichever Node can run it:
 * this process on Node ≥ 22 (relaxed SIMD validates without a flag), or a child Node 20 started
 * with --experimental-wasm-relaxed-simd, which bundles this module with src/init.ts and hands the
 * arrays back as files. One code path for both, so the two runtimes are checked the same way.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { featuresOf, makeInit, relaxedSimdSupported } from '../../src/init.js';

export const OPS = ['softmax', 'logSoftmax', 'logsumexp', 'sigmoid', 'logSigmoid'] as const;
export type Op = (typeof OPS)[number];
export const TAGS = ['relaxed', 'plain'] as const;
export type Tag = (typeof TAGS)[number];
export const SWEEP_FILES = ['logitkit-relaxed.wasm', 'logitkit.wasm'] as const;

export interface ProbeCase {
  classes: number;
  T: number;
  x: Float32Array;
}

export interface ProbeReport {
  probe: boolean;
  relaxed: unknown;
  relaxed2: unknown;
  plain: unknown;
  sameAcrossThreads: boolean;
  differingBits: number;
}

export interface ProbeResult {
  report: ProbeReport;
  /** outputs[case][`${op}.${tag}`] */
  outputs: Record<string, Float32Array>[];
  /** The vector exp of each build on the sweep, by build file. */
  sweep: Record<(typeof SWEEP_FILES)[number], Float32Array>;
}

const bitsEqual = (a: Float32Array, b: Float32Array) =>
  a.length === b.length && Buffer.compare(Buffer.from(a.buffer, a.byteOffset, a.byteLength), Buffer.from(b.buffer, b.byteOffset, b.byteLength)) === 0;

/** Runs both builds on every case and the raw vector exp of both builds on `sweep`. */
export async function probeRelaxed(buildDir: string, cases: readonly ProbeCase[], sweep: Float32Array): Promise<ProbeResult> {
  const init = makeInit({
    defaultWasm: () => readFile(join(buildDir, 'logitkit.wasm')),
    fetchUrl: (u) => readFile(u),
    wasmFile: (f) => readFile(join(buildDir, f)),
  });
  const relaxed = await init();
  const relaxed2 = await init({ threads: 2 });
  const plain = await init({ wasm: await readFile(join(buildDir, 'logitkit.wasm')) });
  try {
    const report: ProbeReport = {
      probe: relaxedSimdSupported(),
      relaxed: featuresOf(relaxed),
      relaxed2: featuresOf(relaxed2),
      plain: featuresOf(plain),
      sameAcrossThreads: true,
      differingBits: 0,
    };
    const outputs: Record<string, Float32Array>[] = [];
    for (const c of cases) {
      const out: Record<string, Float32Array> = {};
      for (const [tag, lk] of [['relaxed', relaxed], ['plain', plain]] as const) {
        const o = { temperature: c.T };
        out[`softmax.${tag}`] = lk.softmax(c.x, c.classes, o);
        out[`logSoftmax.${tag}`] = lk.logSoftmax(c.x, c.classes, o);
        out[`logsumexp.${tag}`] = lk.logsumexp(c.x, c.classes, o);
        out[`sigmoid.${tag}`] = lk.sigmoid(c.x);
        out[`logSigmoid.${tag}`] = lk.logSigmoid(c.x);
      }
      if (!bitsEqual(relaxed2.softmax(c.x, c.classes, { temperature: c.T }), out['softmax.relaxed']!)) report.sameAcrossThreads = false;
      outputs.push(out);
    }
    // The vector exp itself, straight from each build's expArray export.
    const exps = {} as ProbeResult['sweep'];
    for (const file of SWEEP_FILES) {
      const memory = new WebAssembly.Memory({ initial: 256, maximum: 1024 });
      const { instance } = await WebAssembly.instantiate(await readFile(join(buildDir, file)), {
        env: { memory, abort: () => { throw new Error('abort'); } },
      });
      const k = instance.exports as { heapBase(): number; expArray(x: number, n: number, out: number): void };
      const p = k.heapBase();
      new Float32Array(memory.buffer, p, sweep.length).set(sweep);
      k.expArray(p, sweep.length, p);
      exps[file] = new Float32Array(memory.buffer, p, sweep.length).slice();
    }
    const a = new Uint32Array(exps['logitkit-relaxed.wasm'].buffer);
    const b = new Uint32Array(exps['logitkit.wasm'].buffer);
    for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) report.differingBits++;
    return { report, outputs, sweep: exps };
  } finally {
    relaxed.dispose();
    relaxed2.dispose();
    plain.dispose();
  }
}
