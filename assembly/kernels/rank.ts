// The per-row ranking that the OOD scores and conformal prediction share (issue 24): the
// class probabilities p = softmax(x / T) of one row, each rounded once to float32, and the
// classes in rank order (p descending, ties to the lower class index). Everything computed
// from p afterwards is float64.
//
// p_j = f32(exp(z_j − m) / s) with z_j = f32(x_j / T) (z = x when T = 1), m the NaN-propagating
// row max and s = Σ exp(z_j − m) in f64 — the float32 rounding of the float64 softmax, so
// this kernel and the JS reference (src/backends/js-uncertainty.ts) agree bit for bit unless
// the two runtimes' f64 exp differ in the last bit right at a float32 rounding boundary.
// Special rows follow SEMANTICS §2 literally: NaN, +inf or all −inf make every p NaN.
//
// The rank order is a heap sort of the class indices (O(C log C), in place, no allocation)
// under the strict total order "j before k" = p_j > p_k, or neither is greater (equal, or a
// NaN row) and j < k. Cost per row: C exp + C log C comparisons; rows are independent.

/** p of one row into probs (f64 slots holding float32 values); returns false for a NaN row. */
export function rowProbabilities(xPtr: usize, classes: i32, temperature: f64, probs: usize): bool {
  let m: f32 = -Infinity;
  let scaled = temperature != 1.0;
  for (let j = 0; j < classes; j++) {
    let v = load<f32>(xPtr + (<usize>j << 2));
    if (scaled) v = <f32>(<f64>v / temperature);
    if (v != v) {
      m = NaN;
      break;
    }
    if (v > m) m = v;
  }
  let s: f64 = 0.0;
  for (let j = 0; j < classes; j++) {
    let v = load<f32>(xPtr + (<usize>j << 2));
    if (scaled) v = <f32>(<f64>v / temperature);
    let e = Math.exp(<f64>v - <f64>m);
    store<f64>(probs + (<usize>j << 3), e);
    s += e;
  }
  for (let j = 0; j < classes; j++) {
    let a = probs + (<usize>j << 3);
    store<f64>(a, <f64><f32>(load<f64>(a) / s));
  }
  return s == s;
}

// @ts-ignore: decorator
@inline
function before(probs: usize, j: i32, k: i32): bool {
  let pj = load<f64>(probs + (<usize>j << 3));
  let pk = load<f64>(probs + (<usize>k << 3));
  if (pj > pk) return true;
  if (pj < pk) return false;
  return j < k;
}

/** order[0..classes) = the class indices in rank order (heap sort under `before`). */
export function rankOrder(probs: usize, classes: i32, order: usize): void {
  for (let j = 0; j < classes; j++) store<i32>(order + (<usize>j << 2), j);
  // A max-heap under "after": its root is the last class in rank order.
  for (let i = (classes >> 1) - 1; i >= 0; i--) siftDown(probs, order, i, classes);
  for (let end = classes - 1; end > 0; end--) {
    let a = load<i32>(order);
    store<i32>(order, load<i32>(order + (<usize>end << 2)));
    store<i32>(order + (<usize>end << 2), a);
    siftDown(probs, order, 0, end);
  }
}

function siftDown(probs: usize, order: usize, i: i32, n: i32): void {
  let v = load<i32>(order + (<usize>i << 2));
  while (true) {
    let c = 2 * i + 1;
    if (c >= n) break;
    let cv = load<i32>(order + (<usize>c << 2));
    if (c + 1 < n) {
      let rv = load<i32>(order + (<usize>(c + 1) << 2));
      if (before(probs, cv, rv)) {
        c++;
        cv = rv;
      }
    }
    if (!before(probs, v, cv)) break;
    store<i32>(order + (<usize>i << 2), cv);
    i = c;
  }
  store<i32>(order + (<usize>i << 2), v);
}
