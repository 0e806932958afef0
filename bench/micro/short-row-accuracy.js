// Worst error of log_softmax and cross-entropy 'none' on short rows, against a float64 reference
// computed here from the same float32 logits, as a fraction of its SEMANTICS §11 bound
// (log domain: atol 1e-6 + 4u·S + 4u·√C, rtol 2e-6 + 4u√C; u = 2^−24, S the row's spread) and in
// absolute terms, for each wasm build given (e.g. the build before and after a kernel change).
// Rows: N(0, σ²) logits, σ = 1 and 4, plus offsets of 1e4 (shift invariance), widths 1..32.
//   node bench/micro/short-row-accuracy.js A.wasm [B.wasm …] [--rows 4096]
import { load } from './load.js';

const args = process.argv.slice(2);
const opt = (k, d) => { const i = args.indexOf(k); return i < 0 ? d : args[i + 1]; };
const files = args.filter((a, i) => a.endsWith('.wasm') && !args[i - 1]?.startsWith('--'));
const R = +opt('--rows', 4096);
const U = 2 ** -24;

let seed = 99;
const rand = () => { seed = (seed * 1664525 + 1013904223) >>> 0; return seed / 2 ** 32; };
const gauss = () => Math.sqrt(-2 * Math.log(rand() + 1e-12)) * Math.cos(2 * Math.PI * rand());

const cases = [];
for (let C = 1; C <= 32; C++) {
  for (const [sigma, offset] of [[1, 0], [4, 0], [4, 1e4]]) {
    const x = new Float32Array(R * C);
    for (let i = 0; i < x.length; i++) x[i] = offset + sigma * gauss();
    const t = Int32Array.from({ length: R }, () => Math.floor(rand() * C));
    cases.push({ C, sigma, offset, x, t });
  }
}

/** Per row: f64 log-softmax of the float32 row, and its spread. */
function reference(x, C, r) {
  let m = -Infinity, lo = Infinity;
  for (let j = 0; j < C; j++) { m = Math.max(m, x[r * C + j]); lo = Math.min(lo, x[r * C + j]); }
  let s = 0;
  for (let j = 0; j < C; j++) s += Math.exp(x[r * C + j] - m);
  const ls = Math.log(s);
  return { lp: (j) => x[r * C + j] - m - ls, spread: m - lo };
}

console.log(`rows ${R} per case, widths 1..32, σ = 1, 4 and 4 + 1e4: worst |err| / §11 bound (worst |err|)`);
for (const file of files) {
  const { e, memory } = load(file, Math.ceil((R * 32 * 4 * 2 + R * 8 + 1e6) / 65536));
  const base = (Number(e.heapBase()) + 63) & ~63;
  const f = new Float32Array(memory.buffer);
  const i32 = new Int32Array(memory.buffer);
  for (const shifted of [false, true]) {
  let worstLp = 0, worstLpAbs = 0, worstCe = 0, worstCeAbs = 0, where = '';
  for (const { C, sigma, offset, x, t } of cases) {
    if ((offset !== 0) !== shifted) continue;
    const xp = base, op = xp + R * C * 4 + 64, tp = op + R * C * 4 + 64, cp = tp + R * 4 + 64;
    f.set(x, xp / 4);
    i32.set(t, tp / 4);
    e.logSoftmax(xp, R, C, 1.0, op);
    e.crossEntropyClass(xp, R, C, tp, -100, 0, 0, 0, C, cp, 0, 1);
    for (let r = 0; r < R; r++) {
      const ref = reference(x, C, r);
      const atol = 1e-6 + 4 * U * ref.spread + 4 * U * Math.sqrt(C);
      const rtol = 2e-6 + 4 * U * Math.sqrt(C);
      for (let j = 0; j < C; j++) {
        const exp = ref.lp(j);
        const err = Math.abs(f[op / 4 + r * C + j] - exp);
        const frac = err / (atol + rtol * Math.abs(exp));
        if (frac > worstLp) { worstLp = frac; where = `C=${C} σ=${sigma} +${offset}`; }
        worstLpAbs = Math.max(worstLpAbs, err);
      }
      const nll = -ref.lp(t[r]);
      const err = Math.abs(f[cp / 4 + r] - nll);
      worstCe = Math.max(worstCe, err / (atol + rtol * Math.abs(nll)));
      worstCeAbs = Math.max(worstCeAbs, err);
    }
  }
  console.log(`${file} ${shifted ? 'offset 1e4' : 'offset 0  '}: logSoftmax ${worstLp.toFixed(3)} (${worstLpAbs.toExponential(2)}; worst at ${where}), crossEntropy 'none' ${worstCe.toFixed(3)} (${worstCeAbs.toExponential(2)})`);
  }
}
