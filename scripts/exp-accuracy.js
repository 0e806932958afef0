// Measures the accuracy of the wasm vector exp (export expArray of build/logitkit.wasm)
// against Math.exp in float64, over float32 bit patterns.
//
//   node scripts/exp-accuracy.js            # every 7th bit pattern of all 2^32 (~614M inputs)
//   node scripts/exp-accuracy.js --step 1   # every float32 (a few minutes)
//   node scripts/exp-accuracy.js --step 101 # quick look
//   node scripts/exp-accuracy.js --wasm build/logitkit-relaxed.wasm   # Node 20: add --experimental-wasm-relaxed-simd
//
// The plain build also reports softmaxExp: the degree-5 exp of the softmax/logsumexp hot
// loops, emulated in float32 (see the end of this file).
//
// Error of one result y for input x, with e = Math.exp(x) (float64, < 1 ulp of float64):
// |y - e| / ulp32(e), where ulp32(e) is the float32 spacing at e (2^-149 for subnormals).
// Reported separately for normal and subnormal results; overflow/underflow/special inputs
// must be exact (exp(-inf) = 0, exp(+inf) = inf, NaN -> NaN, x > ln(FLT_MAX) -> inf).
import { readFileSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { dirname, join } from 'node:path';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

/**
 * The measurement as a function, so a test can run it in its own process when that process
 * validates the build (relaxed SIMD: Node ≥ 22) and in a flagged child only where it must (Node 20).
 */
export async function expAccuracy(wasmFile = join(root, 'build', 'logitkit.wasm'), step = 7) {
  const memory = new WebAssembly.Memory({ initial: 256, maximum: 65536 });
  const { instance } = await WebAssembly.instantiate(readFileSync(wasmFile), {
    env: { memory, abort() { throw new Error('abort'); } },
  });
  const { expArray, heapBase } = instance.exports;

  const CHUNK = 1 << 20;
  const base = heapBase();
  const need = base + CHUNK * 8;
  if (memory.buffer.byteLength < need) memory.grow(Math.ceil((need - memory.buffer.byteLength) / 65536));
  const bits = new Uint32Array(memory.buffer, base, CHUNK);
  const xs = new Float32Array(memory.buffer, base, CHUNK);
  const ys = new Float32Array(memory.buffer, base + CHUNK * 4, CHUNK);

  function ulp32(v) {
    // float32 spacing at |v| (v finite, float64)
    const a = Math.abs(v);
    if (a < 2 ** -126) return 2 ** -149;
    return 2 ** (Math.floor(Math.log2(a)) - 23);
  }

  let worstNormal = 0, worstNormalX = 0, worstSub = 0, worstSubX = 0;
  let notCorrectlyRounded = 0, specialFailures = 0, checked = 0;
  const f32 = new Float32Array(1);
  const u32 = new Uint32Array(f32.buffer);
  const t0 = Date.now();
  let pattern = 0;
  while (pattern <= 0xffffffff) {
    let n = 0;
    for (; n < CHUNK && pattern <= 0xffffffff; n++, pattern += step) bits[n] = pattern;
    expArray(base, n, base + CHUNK * 4);
    for (let i = 0; i < n; i++) {
      const x = xs[i];
      const y = ys[i];
      const e = Math.exp(x);
      const r = Math.fround(e);
      checked++;
      if (Number.isNaN(x)) {
        if (!Number.isNaN(y)) specialFailures++;
        continue;
      }
      if (!Number.isFinite(r) || r === 0) {
        // overflow, exp(-inf), or a true result below half the smallest subnormal
        if (y !== r) {
          // a result that rounds to 0 may also come out as the smallest subnormal when e is
          // within one subnormal spacing; anything else is a failure
          if (!(r === 0 && Math.abs(y - e) <= 2 ** -149)) specialFailures++;
        }
        continue;
      }
      if (y !== r) notCorrectlyRounded++;
      const err = Math.abs(y - e) / ulp32(e);
      if (Math.abs(e) >= 2 ** -126) {
        if (err > worstNormal) { worstNormal = err; worstNormalX = x; }
      } else if (err > worstSub) { worstSub = err; worstSubX = x; }
    }
  }
  const secs = (Date.now() - t0) / 1000;
  const report = {
    wasm: wasmFile, step, checked, seconds: secs,
    maxUlpNormal: +worstNormal.toFixed(4), worstNormalX: worstNormalX,
    maxUlpSubnormal: +worstSub.toFixed(4), worstSubnormalX: worstSubX,
    notCorrectlyRounded, specialFailures,
  };

  // ---- the softmax/logsumexp exp (expNonPositiveP5F32x4), emulated --------------------------
  // It is not exported, so it is emulated here op by op in float32 (Math.fround after every
  // operation, as the plain SIMD build computes it: no FMA). The emulation is first checked
  // bit for bit against expArray with the degree-6 polynomial on [-87, 0], where expF32x4
  // runs exactly the same operations, then run with the degree-5 coefficients on every
  // step-th float32 in [-87.68, 0]. Plain build only (the relaxed build fuses madd).
  if (!/relaxed/.test(wasmFile)) {
    const fr = Math.fround;
    const b2f = (b) => { u32[0] = b >>> 0; return f32[0]; };
    const f2b = (v) => { f32[0] = v; return u32[0]; };
    const LOG2E = b2f(0x3FB8AA3B), MAGIC = b2f(0x4B40007F), LN2HI = b2f(0xBF317200), LN2LO = b2f(0xB5BFBE8E);
    const madd = (a, b, c) => fr(fr(a * b) + c);
    const reduce = (input) => {
      const x = input < -88 ? -88 : input; // pmax(input, -88)
      const biased = madd(x, LOG2E, MAGIC);
      const s = b2f(f2b(biased) << 23);
      const n = fr(biased - MAGIC);
      const t = madd(n, LN2LO, madd(n, LN2HI, x));
      return [t, s];
    };
    const C = [1, 0x3EFFFFFE, 0x3E2AAA49, 0x3D2AAC5B, 0x3C091CD1, 0x3AB523A3].map((b, i) => (i ? b2f(b) : 1));
    const exp6 = (input) => {
      const [t, s] = reduce(input);
      let p = madd(C[5], t, C[4]);
      p = madd(p, t, C[3]); p = madd(p, t, C[2]); p = madd(p, t, C[1]); p = madd(p, t, C[0]);
      return madd(fr(t * s), p, s);
    };
    const D = [0x3F7FFFFB, 0x3EFFFEE3, 0x3E2AAD35, 0x3D2B9D2A, 0x3C07D41B].map(b2f);
    const exp5 = (input) => {
      // Estrin: q = (D1 + D2·t) + t²·((D3 + D4·t) + D5·t²) as (D5·t + D4)·t + D3
      const [t, s] = reduce(input);
      const t2 = fr(t * t);
      let hi = madd(D[4], t, D[3]);
      hi = madd(hi, t, D[2]);
      const lo = madd(D[1], t, D[0]);
      const q = madd(hi, t2, lo);
      return madd(fr(t * s), q, s);
    };
    // 1. the emulation against the wasm on [-87, 0]
    let mismatches = 0, compared = 0;
    const lo87 = f2b(-87), n = CHUNK;
    for (let b = 0x80000000; b <= lo87; ) {
      let m = 0;
      for (; m < n && b <= lo87; m++, b += 997) bits[m] = b;
      expArray(base, m, base + CHUNK * 4);
      for (let i = 0; i < m; i++) { compared++; if (f2b(exp6(xs[i])) !== f2b(ys[i])) mismatches++; }
    }
    // 2. the degree-5 exp on [-87.68, 0] (normal results; below, it flushes to 0 by design)
    let worst = 0, worstX = 0, wrong = 0, count = 0;
    const last = f2b(-87.68);
    for (let b = 0x80000000; b <= last; b += step) {
      const x = b2f(b);
      const y = exp5(x), e = Math.exp(x);
      count++;
      if (y !== fr(e)) wrong++;
      const err = Math.abs(y - e) / ulp32(e);
      if (err > worst) { worst = err; worstX = x; }
    }
    let flushFailures = 0;
    for (const x of [-87.69, -88, -100, -1e30, -Infinity]) if (exp5(x) !== 0) flushFailures++;
    if (!Number.isNaN(exp5(NaN))) flushFailures++;
    report.softmaxExp = {
      kernel: 'expNonPositiveP5F32x4 (plain SIMD, emulated)',
      emulationCheckedAgainstWasm: compared, emulationMismatches: mismatches,
      checked: count, maxUlp: +worst.toFixed(4), worstX, notCorrectlyRounded: wrong, flushFailures,
    };
  }
  return report;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const stepArg = process.argv.indexOf('--step');
  const wasmArg = process.argv.indexOf('--wasm');
  const report = await expAccuracy(wasmArg > 0 ? process.argv[wasmArg + 1] : undefined, stepArg > 0 ? Number(process.argv[stepArg + 1]) : undefined);
  console.log(JSON.stringify(report, null, 1));
}
