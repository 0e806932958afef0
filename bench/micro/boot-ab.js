// Interleaved CPU-time A/B of the bootstrapSums kernel alone, between wasm builds: R rows of per-row
// hit / NLL / confidence like score's (accuracy ≈ ACC, confidences spread over the bins, a NaN row
// and an infinite NLL every ~50,000 rows for the scalar path), B replicates, 15 bins, the engine's
// 2048-row chunks. Checks first that every build writes the same state bit for bit (the sums' order is
// the kernel's contract), then prints ns per (row, replicate), median and best of 12 rounds after 3
// warm-up rounds.
//   node bench/micro/boot-ab.js /tmp/build-main/logitkit.wasm build/logitkit.wasm
//   R=1000000 B=200 ACC=0.28 node bench/micro/boot-ab.js A.wasm B.wasm
import { load } from './load.js';
const files = process.argv.slice(2);
const R = +(process.env.R ?? 300_000), B = +(process.env.B ?? 200), ACC = +(process.env.ACC ?? 0.28), BINS = 15, CHUNK = 2048;
let s = 12345;
const rnd = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
const hit = new Uint8Array(R), nll = new Float64Array(R), conf = new Float32Array(R);
for (let r = 0; r < R; r++) {
  const c = Math.fround(0.05 + 0.95 * rnd() ** 2);
  hit[r] = rnd() < ACC ? 1 : 0;
  conf[r] = r % 50_021 === 7 ? NaN : c;
  nll[r] = r % 49_999 === 11 ? Infinity : Math.fround(-Math.log(hit[r] ? c : (1 - c) * rnd() + 1e-6));
}
const Rp = (B + 7) & ~7, stateLen = Rp * (3 + 3 * BINS);
const sides = files.map((f) => {
  const { e, memory } = load(f, Math.ceil((R * 13 + stateLen * 8 + 4e6) / 65536) + 16);
  const base = (Number(e.heapBase()) + 63) & ~63;
  const hp = base, np = (hp + R + 63) & ~63, cp = np + R * 8, st = (cp + R * 4 + 63) & ~63, scratch = st + stateLen * 8;
  new Uint8Array(memory.buffer, hp, R).set(hit);
  new Float64Array(memory.buffer, np, R).set(nll);
  new Float32Array(memory.buffer, cp, R).set(conf);
  const run = () => {
    new Float64Array(memory.buffer, st, stateLen).fill(0);
    for (let r = 0; r < R; r += CHUNK) e.bootstrapSums(hp + r, np + r * 8, cp + r * 4, Math.min(CHUNK, R - r), 0x9e3779b9, r, B, BINS, st, scratch);
  };
  return { f, run, state: () => new Float64Array(memory.buffer, st, stateLen).slice(), t: [] };
});
const ref = (sides[0].run(), sides[0].state());
for (const side of sides.slice(1)) {
  side.run();
  const got = side.state();
  const bad = got.findIndex((v, i) => !Object.is(v, ref[i]));
  if (bad >= 0) throw new Error(`${side.f}: state[${bad}] = ${got[bad]}, ${sides[0].f} has ${ref[bad]}`);
}
for (let round = 0; round < 15; round++) for (const side of sides) { const c0 = process.cpuUsage(); side.run(); const c = process.cpuUsage(c0); side.t.push(c.user + c.system); }
for (const side of sides) { const t = side.t.slice(3).sort((a, b) => a - b); console.log(side.f, 'median', (t[t.length >> 1] * 1e3 / (R * B)).toFixed(3), 'ns/(row·replicate), best', (t[0] * 1e3 / (R * B)).toFixed(3)); }
