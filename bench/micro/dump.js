// node --no-liftoff --print-wasm-code dump.js <build.wasm> <export> : compiles with the optimising
// tier only and calls one export once, so the optimised code of every function is printed.
import { load } from './load.js';
const [file, name, rows = '8', cols = '1000'] = process.argv.slice(2);
const { e, f32 } = load(file);
const base = e.heapBase ? Number(e.heapBase()) : 65536;
const n = rows * cols;
for (let i = 0; i < n; i++) f32[base / 4 + i] = Math.sin(i) * 3;
e[name](base, +rows, +cols, 1.0, base + n * 4 + 64);
