// Measures the accuracy of the wasm vector exp (export expArray of build/logitkit.wasm)
// against Math.exp in float64, over float32 bit patterns.
//
//   node scripts/exp-accuracy.js            # every 7th bit pattern of all 2^32 (~614M inputs)
//   node scripts/exp-accuracy.js --step 1   # every float32 (a few minutes)
//   node scripts/exp-accuracy.js --step 101 # quick look
//   node --experimental-wasm-relaxed-simd scripts/exp-accuracy.js --wasm build/logitkit-relaxed.wasm
//
// Error of one result y for input x, with e = Math.exp(x) (float64, < 1 ulp of float64):
// |y - e| / ulp32(e), where ulp32(e) is the float32 spacing at e (2^-149 for subnormals).
// Reported separately for normal and subnormal results; overflow/underflow/special inputs
// must be exact (exp(-inf) = 0, exp(+inf) = inf, NaN -> NaN, x > ln(FLT_MAX) -> inf).
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const stepArg = process.argv.indexOf('--step');
const step = stepArg > 0 ? Number(process.argv[stepArg + 1]) : 7;
const wasmArg = process.argv.indexOf('--wasm');
const wasmFile = wasmArg > 0 ? process.argv[wasmArg + 1] : join(root, 'build', 'logitkit.wasm');

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
console.log(JSON.stringify({
  wasm: wasmFile, step, checked, seconds: secs,
  maxUlpNormal: +worstNormal.toFixed(4), worstNormalX: worstNormalX,
  maxUlpSubnormal: +worstSub.toFixed(4), worstSubnormalX: worstSubX,
  notCorrectlyRounded, specialFailures,
}, null, 1));
