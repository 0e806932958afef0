// Accuracy of assembly/math/log.ts's float32 log (logPositiveF32x4) against Math.log (float64),
// in ulps of the float32-rounded true value, over every float32 in [1, 64] (where the kernels'
// row sums lie: s ∈ [1, C], C ≤ 32) and every 64th float32 in [2^−126, 2^126) (the documented
// domain), plus the special inputs. Builds bench/micro/logs.ts (plain SIMD and relaxed SIMD: the log
// uses no relaxed operation, so both must agree) first. Node ≥ 22 (relaxed SIMD on by default).
//   node bench/micro/log-accuracy.js
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { load } from './load.js';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');
const asc = join(root, 'node_modules', 'assemblyscript', 'bin', 'asc.js');
mkdirSync(join(here, 'build'), { recursive: true });

const CHUNK = 1 << 20;
const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);
/** ulp of the float32 y (> 0 normal): 2^(exponent − 23); subnormal spacing below. */
const ulpOf = (y) => { f32[0] = Math.abs(y); const e = (u32[0] >>> 23) & 0xff; return 2 ** (Math.max(e, 1) - 127 - 23); };

for (const [name, enable] of [['logs', 'simd'], ['logs-relaxed', 'simd,relaxed-simd']]) {
  const out = join(here, 'build', `${name}.wasm`);
  execFileSync(process.execPath, [asc, join(here, 'logs.ts'), '--runtime', 'stub', '--importMemory', '--initialMemory', '1',
    '--maximumMemory', '65536', '--enable', enable, '--noAssert', '-O3', '--outFile', out], { cwd: root, stdio: 'inherit' });
  const { e, memory } = load(out, 200);
  const x = (Number(e.heapBase()) + 63) & ~63;
  const o = x + CHUNK * 4;
  const xs = new Float32Array(memory.buffer, x, CHUNK);
  const xb = new Uint32Array(memory.buffer, x, CHUNK);
  const os = new Float32Array(memory.buffer, o, CHUNK);
  // Sweeps bit patterns lo ≤ b < hi with the given step; returns the worst error in ulps.
  const sweep = (lo, hi, step) => {
    let worst = 0, worstAt = 0, notRounded = 0, count = 0;
    for (let b = lo; b < hi; b += step * CHUNK) {
      const n = Math.min(CHUNK, Math.ceil((hi - b) / step)) & ~3;
      if (n === 0) break;
      for (let i = 0; i < n; i++) xb[i] = b + i * step;
      e.logF32x4(x, n, o);
      for (let i = 0; i < n; i++) {
        const ref = Math.log(xs[i]);
        const err = Math.abs(os[i] - ref) / ulpOf(Math.fround(ref) || ulpOf(ref));
        if (os[i] !== Math.fround(ref)) notRounded++;
        if (err > worst) { worst = err; worstAt = xs[i]; }
      }
      count += n;
    }
    return { worst, worstAt, notRounded, count };
  };
  const bits = (v) => { f32[0] = v; return u32[0]; };
  const a = sweep(bits(1), bits(64), 1);
  const b = sweep(bits(2 ** -126), bits(2 ** 126), 64);
  // Specials: NaN in → NaN out, and exact values.
  const special = [NaN, 1, 2, 0.5, 2 ** 100, 2 ** -100];
  xs.set([...special, 0, 0]);
  e.logF32x4(x, 8, o);
  const got = [...os.slice(0, special.length)];
  const ok = Number.isNaN(got[0]) && got[1] === 0 && got.slice(2).every((v, i) => Math.abs(v - Math.log(special[i + 2])) <= ulpOf(Math.log(special[i + 2])));
  console.log(`${name}: [1, 64] every float32 (${a.count}): max ${a.worst.toFixed(3)} ulp at ${a.worstAt}, ${(100 * a.notRounded / a.count).toFixed(2)}% not correctly rounded`);
  console.log(`${name}: [2^-126, 2^126) every 64th (${b.count}): max ${b.worst.toFixed(3)} ulp at ${b.worstAt}, ${(100 * b.notRounded / b.count).toFixed(2)}% not correctly rounded`);
  console.log(`${name}: NaN → ${got[0]}, log 1 = ${got[1]}, specials ${ok ? 'ok' : 'WRONG ' + got.join(', ')}`);
  if (!ok || a.worst > 1 || b.worst > 1) process.exitCode = 1;
}
