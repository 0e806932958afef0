// The timing loop of every engine's run: bench/run.js in Node and bench/browser/page.js in a
// browser page call runGroup() on the same adapters (peers/index.js documents their shape), so a
// number means the same thing on every engine. No Node APIs here: the clock is performance.now()
// unless the caller passes a CPU clock (Node on a busy machine).
import { Bench } from 'tinybench';
import { checkAccuracy, quantile, WRONG_FACTOR } from './workloads.js';

/** Timing settings of every engine's run (--quick: an eighth of the big workloads' rows). */
export const SETTINGS = {
  full: { time: 600, iterations: 8, warmupTime: 150, warmupIterations: 2, perCallBatch: 500, rounds: 2 },
  // Quick: an eighth of the rows (same row lengths, so the same kernels run), the accuracy check
  // as the only warm-up, then two timed calls per implementation.
  quick: { time: 0, iterations: 2, warmupTime: 0, warmupIterations: 0, perCallBatch: 100, rowsDivisor: 8, rounds: 1 },
};

/** Shortest sample worth timing; shorter calls are batched. */
const MIN_SAMPLE_MS = 1;

/** The shortest of `n` timed calls, in ms (wall clock). */
async function timeCalls(run, isAsync, n) {
  let best = Infinity;
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    if (isAsync) await run();
    else run();
    best = Math.min(best, performance.now() - t0);
  }
  return best;
}

function batched(run, isAsync, calls) {
  if (calls === 1) return run;
  return isAsync
    ? async () => {
        for (let i = 0; i < calls; i++) await run();
      }
    : () => {
        for (let i = 0; i < calls; i++) run();
      };
}

const isThenable = (v) => v !== null && typeof v === 'object' && typeof v.then === 'function';

/**
 * Prepares, verifies and times every adapter on one (op, workload).
 * @returns {Promise<object[]>} one row per adapter
 */
export async function runGroup(adapters, op, w, settings, { batch = 1, clock = 'wall', cpuNow = null } = {}) {
  const naive = adapters.find((a) => a.id === 'naive-js');
  const reference = Float32Array.from(naive.prepare(op, w).run());
  const rows = [];
  const prepared = [];
  const tasks = [];
  for (const a of adapters) {
    const row = {
      op,
      workload: w.id,
      rows: w.rows,
      classes: w.classes,
      impl: a.id,
      label: a.label,
      kind: a.kind,
      copies: a.copiesFor ? a.copiesFor(op) : a.copies,
    };
    row.includesCopy = row.copies !== 'none';
    let p;
    try {
      p = a.prepare(op, w);
    } catch (err) {
      rows.push({ ...row, error: `prepare: ${err.message}` });
      continue;
    }
    if (!p) continue; // the implementation has no such op
    prepared.push(p);
    // The accuracy check doubles as the first (cold) call, which is not timed.
    let isAsync = false;
    let coldMs;
    try {
      const t0 = performance.now();
      let out = p.run();
      if (isThenable(out)) {
        isAsync = true;
        out = await out;
      }
      coldMs = performance.now() - t0;
      // An implementation whose timed call leaves the result where the reader cannot see it
      // (tfjs-wasm-kernel) provides an untimed verify() that returns the same computation.
      if (p.verify) out = await p.verify();
      Object.assign(row, checkAccuracy(op, out, reference, w));
      row.verified = row.worstVsBound <= 1; // within SEMANTICS.md §11 of the float64 reference
    } catch (err) {
      rows.push({ ...row, error: `run: ${String(err.message).split('\n')[0]}` });
      continue;
    }
    // Calls shorter than MIN_SAMPLE_MS are timed in batches (the sample is the batch's time
    // divided by its size), so clock resolution and the clock's own cost do not distort them.
    let calls = batch;
    try {
      // A cold call over 20 ms will not warm up to under 1 ms: skip the estimate (and its calls).
      const estimate = coldMs > 20 ? coldMs : await timeCalls(p.run, isAsync, 2);
      if (estimate * calls < MIN_SAMPLE_MS) calls = Math.min(20_000, Math.ceil(MIN_SAMPLE_MS / Math.max(estimate, 1e-5)));
    } catch (err) {
      rows.push({ ...row, error: `run: ${String(err.message).split('\n')[0]}` });
      continue;
    }
    row.callsPerSample = calls;
    row.clock = a.clock ?? clock;
    tasks.push({ row, fn: batched(p.run, isAsync, calls), calls, samples: [] });
    rows.push(row);
  }
  // Rounds: each implementation is timed in every round, in turn, and the samples are pooled, so a
  // change in machine load during the group hits every implementation rather than one of them.
  for (let round = 0; round < settings.rounds; round++) {
    for (const t of tasks) {
      if (t.row.error) continue;
      const bench = new Bench({
        time: settings.time / settings.rounds,
        iterations: Math.ceil(settings.iterations / settings.rounds),
        warmupTime: round === 0 ? settings.warmupTime : 0,
        warmupIterations: round === 0 ? Math.max(settings.warmupIterations, t.calls > 1 ? 2 : 0) : 1,
        throws: false,
        ...(t.row.clock === 'cpu' && cpuNow ? { now: cpuNow } : {}),
      });
      bench.add(t.row.impl, t.fn);
      await bench.run();
      const result = bench.tasks[0].result;
      if (!result || result.error) t.row.error = `timing: ${result?.error?.message ?? 'no result'}`;
      else t.samples.push(...result.latency.samples.map((ms) => ms / t.calls));
    }
  }
  for (const { row, samples: pooled } of tasks) {
    if (row.error) continue;
    const samples = Float64Array.from(pooled).sort();
    row.samples = samples.length;
    row.medianMs = quantile(samples, 0.5);
    row.p25Ms = quantile(samples, 0.25);
    row.p75Ms = quantile(samples, 0.75);
    // Relative spread: interquartile range over the median (robust where rme is not: it assumes
    // normal samples, and timing samples have a long right tail).
    row.iqrPct = ((row.p75Ms - row.p25Ms) / row.medianMs) * 100;
    const elems = w.rows * w.classes;
    row.melemPerSec = elems / (row.medianMs * 1e3);
    // Throughput spread: the fast quartile of times is the high end of throughput.
    row.melemP25 = elems / (row.p75Ms * 1e3);
    row.melemP75 = elems / (row.p25Ms * 1e3);
  }
  for (const p of prepared) p.dispose?.();
  addRatios(rows);
  return rows;
}

/** Ratios of speed (time of the other / own time): > 1 means faster than the other. */
export function addRatios(rows) {
  const timed = rows.filter((r) => r.medianMs > 0);
  const naive = timed.find((r) => r.impl === 'naive-js');
  // A peer that is merely less accurate than §11 still counts as the one to beat; a wrong one not.
  const peers = timed.filter((r) => r.kind === 'peer' && r.worstVsBound <= WRONG_FACTOR);
  const best = peers.reduce((b, r) => (!b || r.medianMs < b.medianMs ? r : b), null);
  for (const r of timed) {
    if (naive) r.vsNaive = naive.medianMs / r.medianMs;
    if (best) {
      r.bestPeer = best.impl;
      r.vsBestPeer = best.medianMs / r.medianMs;
    }
  }
}

/**
 * Loads every adapter it can: a loader that throws makes its peer "unavailable" with the reason.
 * @param {{ id: string, kind: string, load: () => Promise<object[]> }[]} loaders  in report order
 * @param {{ skip?: Set<string>, log?: (line: string) => void }} [opts]
 * @returns {Promise<{ adapters: object[], unavailable: { id: string, reason: string }[] }>}
 */
export async function loadAdapters(loaders, { skip = new Set(), log = () => {} } = {}) {
  const adapters = [];
  const unavailable = [];
  for (const loader of loaders) {
    if (skip.has(loader.id)) continue;
    const started = performance.now();
    try {
      const list = await loader.load();
      for (const a of list) adapters.push({ ...a, kind: loader.kind });
      log(`loaded ${loader.id} (${list.map((a) => a.id).join(', ')}) in ${Math.round(performance.now() - started)} ms`);
    } catch (err) {
      const reason = String(err?.message ?? err).split('\n')[0];
      unavailable.push({ id: loader.id, reason });
      log(`unavailable: ${loader.id}: ${reason}`);
    }
  }
  return { adapters, unavailable };
}

/**
 * Seconds per call of fn: doubling the call count until one batch takes at least minSeconds. The
 * interleaved A/B scripts (compare-dist.js, sample.js --sampler) time each side of a round with it.
 */
export function secondsPerCall(fn, minSeconds = 0.02) {
  let n = 1;
  for (;;) {
    const t0 = performance.now();
    for (let i = 0; i < n; i++) fn();
    const s = (performance.now() - t0) / 1000;
    if (s >= minSeconds) return s / n;
    n *= 2;
  }
}
