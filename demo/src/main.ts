// Demo entry: start logitkit (wasm when SIMD validates, else JS; a worker pool when the page is
// cross-origin isolated), show what was detected and what runs, then wire the digits model, the
// playground and the benchmark.
import * as logitkit from 'logitkit';
import type { Engine } from 'logitkit';
import { detectFeatures } from './features.js';
import { setupPlayground } from './playground.js';
import { setupBench, type Contender } from './bench.js';
import { setupDigits } from './digits.js';

const $ = (id: string) => document.getElementById(id)!;

function status(id: string, ok: boolean, text: string): void {
  const dd = $(id);
  dd.textContent = text;
  dd.className = ok ? 'yes' : 'no';
}

interface RunningFeatures {
  simd: boolean;
  relaxedSimd: boolean;
  threads: number;
  buildReason?: string;
}
/** What the engine runs, from `lk.features` or `featuresOf(lk)` where this build of logitkit has them. */
function runningFeatures(lk: Engine): RunningFeatures | undefined {
  const own = (lk as { features?: RunningFeatures }).features;
  if (own) return own;
  const featuresOf = (logitkit as { featuresOf?: (e: Engine) => RunningFeatures }).featuresOf;
  return typeof featuresOf === 'function' ? featuresOf(lk) : undefined;
}

async function main(): Promise<void> {
  const detected = detectFeatures();
  status('st-simd', detected.simd, detected.simd ? 'yes' : 'no — logitkit runs its JS backend');
  status('st-relaxed', detected.relaxedSimd, detected.relaxedSimd ? 'yes' : 'no');

  // Threads only where they can run: asking elsewhere would just print logitkit's one-time warning.
  const lk = await logitkit.init(detected.sharedMemory ? { threads: 'auto' } : {});
  const why = logitkit.fallbackReason(lk);
  const running = runningFeatures(lk);
  let backend = lk.backend === 'wasm' ? 'wasm (SIMD)' : `js${why ? ` — ${why}` : ''}`;
  if (lk.backend === 'wasm' && running) backend = `wasm (${running.relaxedSimd ? 'relaxed-SIMD build' : 'SIMD build'}, ${running.threads} thread${running.threads > 1 ? 's' : ''})`;
  status('st-backend', lk.backend === 'wasm', backend);
  if (running?.buildReason) $('st-backend').title = `why this build: ${running.buildReason}`;
  status(
    'st-threads',
    detected.sharedMemory,
    detected.sharedMemory
      ? `shared memory available (cross-origin isolated, ${detected.cores} cores)`
      : detected.crossOriginIsolated
        ? 'no shared wasm memory in this browser'
        : 'one thread: the page is not cross-origin isolated (serve it with COOP/COEP headers)',
  );

  setupPlayground(lk);
  setupDigits(lk);

  const contenders: Contender[] = [];
  if (lk.backend === 'wasm') {
    const single = detected.sharedMemory ? await logitkit.init({ backend: 'wasm', threads: 1 }) : lk;
    contenders.push({ name: 'logitkit wasm', className: 'wasm', lk: single });
    if (single !== lk) contenders.push({ name: `logitkit wasm, threads: ${running?.threads ?? 'auto'}`, className: 'wasm', lk });
  }
  contenders.push({ name: 'logitkit js', className: 'js', lk: lk.backend === 'js' ? lk : await logitkit.init({ backend: 'js' }) });
  // ?budget=MS shortens the benchmark (the browser tests use it).
  const budget = Number(new URLSearchParams(location.search).get('budget')) || 1000;
  setupBench(contenders, budget);
  document.body.dataset.ready = 'true';
}

main().catch((e: Error) => {
  status('st-backend', false, `failed to start: ${e.message}`);
});
