// Row building blocks shared by the kernel families: z = x (or x / t when scaled) and
// the NaN-skipping row maximum. The callers decide what a NaN or infinite max means.

// @ts-ignore: decorator
@inline
export function loadZ(p: usize, offset: usize, scaled: bool, tv: v128): v128 {
  let v = v128.load(p + offset);
  return scaled ? f32x4.div(v, tv) : v;
}

// @ts-ignore: decorator
@inline
export function loadZScalar(p: usize, scaled: bool, t: f32): f32 {
  let v = load<f32>(p);
  return scaled ? v / t : v;
}

/** Row max skipping NaN (pmax(acc, x) keeps acc when x is NaN); -inf for an all-NaN row. */
// @ts-ignore: decorator
@inline
export function rowMax(p: usize, n: i32, scaled: bool, t: f32): f32 {
  let tv = f32x4.splat(t);
  let m0 = f32x4.splat(-Infinity);
  let m1 = m0;
  let m2 = m0;
  let m3 = m0;
  let i = 0;
  for (; i + 16 <= n; i += 16) {
    let q = p + (<usize>i << 2);
    m0 = f32x4.pmax(m0, loadZ(q, 0, scaled, tv));
    m1 = f32x4.pmax(m1, loadZ(q, 16, scaled, tv));
    m2 = f32x4.pmax(m2, loadZ(q, 32, scaled, tv));
    m3 = f32x4.pmax(m3, loadZ(q, 48, scaled, tv));
  }
  for (; i + 4 <= n; i += 4) m0 = f32x4.pmax(m0, loadZ(p + (<usize>i << 2), 0, scaled, tv));
  if (i < n && n >= 4) {
    // max is idempotent: the overlapping last vector needs no mask
    m1 = f32x4.pmax(m1, loadZ(p + (<usize>(n - 4) << 2), 0, scaled, tv));
    i = n;
  }
  m0 = f32x4.pmax(f32x4.pmax(m0, m1), f32x4.pmax(m2, m3));
  m0 = f32x4.pmax(m0, v128.shuffle<f32>(m0, m0, 2, 3, 0, 1));
  m0 = f32x4.pmax(m0, v128.shuffle<f32>(m0, m0, 1, 0, 3, 2));
  let m = f32x4.extract_lane(m0, 0);
  for (; i < n; i++) {
    let v = loadZScalar(p + (<usize>i << 2), scaled, t);
    if (m < v) m = v;
  }
  return m;
}

