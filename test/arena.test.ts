// The arena's zeroed blocks (allocZeroed, backend.alloc(…, zeroed)): zeros whether the block is fresh
// memory (untouched: wasm zeroed it) or reused after a free (cleared), across growth; a block straddling
// the used and the fresh part is cleared in the used part. The AUROC histogram relies on it.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { Arena } from '../src/backends/arena.js';
import { createWasmBackend } from '../src/backends/wasm.js';
import { JsBackend } from '../src/backends/js.js';

const zeros = (m: WebAssembly.Memory, ptr: number, n: number) => new Uint8Array(m.buffer, ptr, n).every((b) => b === 0);

describe('Arena.allocZeroed', () => {
  it('gives zeros for fresh, reused, straddling and grown blocks', () => {
    const memory = new WebAssembly.Memory({ initial: 1, maximum: 64 });
    const arena = new Arena(memory, 1024, 64 * 65536);
    const a = arena.alloc(4096);
    new Uint8Array(memory.buffer, a, 4096).fill(0xab);
    arena.free(a);
    const b = arena.allocZeroed(4096); // the same bytes again: cleared
    expect(b).toBe(a);
    expect(zeros(memory, b, 4096)).toBe(true);
    new Uint8Array(memory.buffer, b, 4096).fill(0xcd);
    arena.free(b);
    const c = arena.allocZeroed(8192); // half used before, half fresh
    expect(c).toBe(a);
    expect(zeros(memory, c, 8192)).toBe(true);
    new Uint8Array(memory.buffer, c, 8192).fill(0xef);
    const d = arena.allocZeroed(200_000); // past the first page: memory grows
    expect(arena.growth).toBeGreaterThan(0);
    expect(zeros(memory, d, 200_000)).toBe(true);
    new Uint8Array(memory.buffer, d, 200_000).fill(1);
    arena.free(c);
    arena.free(d);
    const e = arena.allocZeroed(300_000);
    expect(zeros(memory, e, 300_000)).toBe(true);
  });

  it('backend.alloc(…, zeroed) on wasm and js', async () => {
    const wasm = await createWasmBackend(new WebAssembly.Module(readFileSync(new URL('../build/logitkit.wasm', import.meta.url))));
    try {
      for (const b of [wasm, new JsBackend()]) {
        const dirty = b.alloc(5000, 'int32');
        dirty.array.fill(-1);
        dirty.free();
        const z = b.alloc(5000, 'int32', true);
        expect(z.array.every((v) => v === 0)).toBe(true);
        z.free();
      }
    } finally {
      wasm.dispose();
    }
  });
});
