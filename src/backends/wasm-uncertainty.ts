/**
 * The uncertainty ops (issue 24) on the wasm backend: OOD scores and conformal scores and sets,
 * each one call of assembly/kernels/ood.ts or conformal.ts with a scratch block sized by the
 * kernel; the JS reference is js-uncertainty.ts.
 */
import type { ConformalArgs, OodArgs } from './backend.js';
import { ConformalMethod, OodMethod } from './abi.js';
import type { WasmRuntime } from './wasm-runtime.js';

export function oodScore(rt: WasmRuntime, x: Float32Array, rows: number, classes: number, a: OodArgs, out: Float32Array): void {
  if (rows === 0) return;
  rt.call('oodScores', {
    x, rows, classes, temperature: a.temperature, method: OodMethod[a.method], gamma: a.gamma, topM: a.topM,
    scratch: rt.call('oodScratchBytes', { classes }), out,
  });
}

function common(rt: WasmRuntime, x: Float32Array, rows: number, classes: number, a: ConformalArgs) {
  return {
    x, rows, classes, temperature: a.temperature, method: ConformalMethod[a.method], uniforms: a.uniforms, lambda: a.lambda, kReg: a.kReg,
    scratch: rt.call('conformalScratchBytes', { classes }),
  };
}

export function conformalLabelScores(rt: WasmRuntime, x: Float32Array, rows: number, classes: number, a: ConformalArgs, labels: Int32Array, out: Float64Array): void {
  if (rows === 0) return;
  rt.call('conformalLabelScores', { ...common(rt, x, rows, classes, a), labels, out });
}

export function conformalSets(
  rt: WasmRuntime, x: Float32Array, rows: number, classes: number, a: ConformalArgs, qhat: Float64Array, perClass: boolean, members: Int32Array, sizes: Int32Array,
): number {
  if (rows === 0) return 0;
  return rt.call('conformalSets', { ...common(rt, x, rows, classes, a), qhat, qhatPerClass: perClass, members, sizes });
}
