// One engine's copy of a bench-core workload for the op-level scripts (op-gap.js,
// micro/op-instructions.js): x, a rows × classes out, a per-row out and the targets, each an
// lk.alloc() buffer (the lab bench's zero-copy cells).
export function workloadBuffers(lk, w) {
  const xb = lk.alloc(w.x.length);
  xb.array.set(w.x);
  const tb = lk.alloc(w.rows, 'int32');
  tb.array.set(w.target);
  return { xb, ob: lk.alloc(w.x.length), rb: lk.alloc(w.rows), tb };
}
