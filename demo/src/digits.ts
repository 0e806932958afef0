// "Draw a digit": the model from scripts/train-digits.py (data/digits/digits-mlp.onnx) runs in
// onnxruntime-web on what is drawn, and logitkit says whether to act on its answer:
//
//   pixels (8×8, 0–16) → onnxruntime-web → logits z
//   z → lk.applyCalibration (calibration-map.json, from `logitkit fit`) → calibrated logits
//     → lk.softmax: the probabilities shown; lk.predictSets (conformal.json, from `logitkit
//       conformal … --apply calibration-map.json`): the digits the 90% prediction set keeps
//   z → lk.oodScore({ method: 'energy' }) against ood.json's threshold (from `logitkit ood`):
//       above it, "not a digit"
//
// onnxruntime-web is loaded as its own file (the wasm-only bundle, emitted by Vite with `?url`), not
// bundled into the demo: its Emscripten glue names node:fs and node:os for its Node path, which a
// browser bundle must not carry (the browser tests check every bundle for Node built-ins). One
// thread: the model is 2,410 weights, so a worker pool would only add start-up time.
import { calibrationMapFromJSON, conformalModelFromJSON, type Engine } from 'logitkit';
import type * as Ort from 'onnxruntime-web';
import mapJson from '../../data/digits/calibration-map.json';
import conformalJson from '../../data/digits/conformal.json';
import oodJson from '../../data/digits/ood.json';
import modelUrl from '../../data/digits/digits-mlp.onnx?url';
import ortUrl from 'onnxruntime-web/wasm?url';
import ortWasmUrl from 'onnxruntime-web/ort-wasm-simd-threaded.wasm?url';
import { columnChart } from './chart.js';
import { digitPixels, GRID } from './digit-pixels.js';

const CLASSES = 10;
const INK = '#1d2330';

export interface DigitVerdict {
  /** Arg-max of the calibrated probabilities. */
  prediction: number;
  probabilities: Float32Array;
  /** The conformal set, most probable first. */
  set: number[];
  energy: number;
  /** energy > the ood threshold: not a digit. */
  ood: boolean;
}

/** The logitkit half of the pipeline: one row of logits → what the page shows. */
export function judge(lk: Engine, logits: Float32Array): DigitVerdict {
  const map = calibrationMapFromJSON(mapJson as unknown as Record<string, unknown>, CLASSES);
  const conformal = conformalModelFromJSON(conformalJson as unknown as Record<string, unknown>);
  const calibrated = lk.applyCalibration(logits, CLASSES, map);
  const probabilities = lk.softmax(calibrated, CLASSES);
  const sets = lk.predictSets(calibrated, CLASSES, conformal, { seed: conformal.seed });
  const energy = lk.oodScore(logits, CLASSES, { method: 'energy', temperature: oodJson.temperature })[0]!;
  return {
    prediction: lk.argmax(calibrated, CLASSES)[0]!,
    probabilities,
    set: Array.from(sets.indices.subarray(sets.offsets[0], sets.offsets[1])),
    energy,
    ood: energy > oodJson.threshold,
  };
}

async function loadModel(): Promise<Ort.InferenceSession> {
  const ort = (await import(/* @vite-ignore */ ortUrl)) as typeof Ort;
  ort.env.wasm.numThreads = 1;
  ort.env.wasm.wasmPaths = { wasm: ortWasmUrl };
  ort.env.logLevel = 'error';
  const bytes = new Uint8Array(await (await fetch(modelUrl)).arrayBuffer());
  return ort.InferenceSession.create(bytes, { executionProviders: ['wasm'] });
}

export function setupDigits(lk: Engine): void {
  const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
  const section = $('digits');
  const canvas = $<HTMLCanvasElement>('digit-canvas');
  const seen = $<HTMLCanvasElement>('digit-input');
  const pen = $<HTMLInputElement>('digit-pen');
  const ctx = canvas.getContext('2d', { willReadFrequently: true })!;
  const status = (text: string) => ($('digit-status').textContent = text);
  let session: Ort.InferenceSession | null = null;
  let Tensor: typeof Ort.Tensor | null = null;

  const showPen = () => ($('digit-pen-value').textContent = `${pen.value} px`);
  pen.addEventListener('input', showPen);
  showPen();

  // ---- drawing: pointer events (mouse, pen, touch), a round pen, ink = alpha
  let pointer: number | null = null;
  let last = { x: 0, y: 0 };
  const at = (e: PointerEvent) => {
    const r = canvas.getBoundingClientRect();
    return { x: ((e.clientX - r.left) * canvas.width) / r.width, y: ((e.clientY - r.top) * canvas.height) / r.height };
  };
  const stroke = (from: { x: number; y: number }, to: { x: number; y: number }) => {
    ctx.lineCap = 'round';
    ctx.lineJoin = 'round';
    ctx.lineWidth = Number(pen.value);
    ctx.strokeStyle = INK;
    ctx.beginPath();
    ctx.moveTo(from.x, from.y);
    ctx.lineTo(to.x, to.y);
    ctx.stroke();
  };
  canvas.addEventListener('pointerdown', (e) => {
    if (e.pointerType === 'mouse' && e.button !== 0) return;
    pointer = e.pointerId;
    try {
      canvas.setPointerCapture(e.pointerId);
    } catch {
      /* a pointer the browser no longer tracks: drawing still works while it stays over the canvas */
    }
    last = at(e);
    // A tap leaves a dot (a zero-length line draws nothing in WebKit).
    ctx.fillStyle = INK;
    ctx.beginPath();
    ctx.arc(last.x, last.y, Number(pen.value) / 2, 0, 2 * Math.PI);
    ctx.fill();
    e.preventDefault();
  });
  canvas.addEventListener('pointermove', (e) => {
    if (e.pointerId !== pointer) return;
    const events = typeof e.getCoalescedEvents === 'function' ? e.getCoalescedEvents() : [];
    for (const c of events.length ? events : [e]) {
      const p = at(c);
      stroke(last, p);
      last = p;
    }
  });
  const end = (e: PointerEvent) => {
    if (e.pointerId !== pointer) return;
    pointer = null;
    void classify();
  };
  canvas.addEventListener('pointerup', end);
  canvas.addEventListener('pointercancel', end);
  $('digit-clear').addEventListener('click', () => {
    ctx.clearRect(0, 0, canvas.width, canvas.height);
    seen.getContext('2d')!.clearRect(0, 0, seen.width, seen.height);
    show(null);
  });

  // ---- classification: one run at a time; strokes that end meanwhile are folded into one rerun
  let running: Promise<void> | null = null;
  let again = false;
  async function classify(): Promise<void> {
    if (running) {
      again = true;
      return running;
    }
    running = (async () => {
      do {
        again = false;
        await classifyOnce();
      } while (again);
    })();
    try {
      await running;
    } finally {
      running = null;
    }
  }

  async function classifyOnce(): Promise<void> {
    if (!session || !Tensor) return; // still loading: the drawing is classified once it has loaded
    const { data } = ctx.getImageData(0, 0, canvas.width, canvas.height);
    const ink = new Float32Array(canvas.width * canvas.height);
    for (let i = 0; i < ink.length; i++) ink[i] = data[i * 4 + 3]! / 255;
    const pixels = digitPixels(ink, canvas.width, canvas.height);
    if (!pixels) return show(null);
    drawSeen(pixels);
    section.dataset.state = 'running';
    const out = await session.run({ pixels: new Tensor('float32', pixels, [1, 64]) });
    const logits = out.logits!.data as Float32Array;
    show(judge(lk, logits), pixels);
  }

  function drawSeen(pixels: Float32Array): void {
    const g = seen.getContext('2d')!;
    const cell = seen.width / GRID;
    for (let i = 0; i < pixels.length; i++) {
      const v = Math.round(255 - (pixels[i]! / 16) * 226);
      g.fillStyle = `rgb(${v},${v},${v + Math.round((255 - v) * 0.05)})`;
      g.fillRect((i % GRID) * cell, Math.floor(i / GRID) * cell, cell, cell);
    }
  }

  function show(v: DigitVerdict | null, pixels?: Float32Array): void {
    const prediction = $('digit-prediction');
    const runs = Number(section.dataset.runs ?? 0);
    if (!v) {
      prediction.textContent = 'draw a digit';
      prediction.className = 'prediction';
      $('digit-set').textContent = '—';
      $('digit-energy').textContent = '—';
      $('digit-confidence').textContent = '—';
      $('digit-chart').replaceChildren();
      for (const k of ['prediction', 'set', 'ood', 'energy', 'pixels']) delete section.dataset[k];
      section.dataset.state = 'ready';
      return;
    }
    prediction.textContent = v.ood ? `not a digit (looks most like ${v.prediction})` : String(v.prediction);
    prediction.className = v.ood ? 'prediction ood' : 'prediction';
    $('digit-set').textContent = v.set.length ? `{ ${v.set.join(', ')} }` : '∅ (empty: no digit is plausible enough)';
    const threshold = oodJson.threshold;
    $('digit-energy').textContent = `${v.energy.toFixed(2)} ${v.ood ? '>' : '≤'} ${threshold.toFixed(2)} (threshold): ${v.ood ? 'not a digit' : 'a digit'}`;
    $('digit-confidence').textContent = `${(v.probabilities[v.prediction]! * 100).toFixed(1)}%`;
    columnChart(
      $('digit-chart'),
      Array.from(v.probabilities, (p, i) => ({ label: String(i), value: p, kept: v.set.includes(i) })),
      { format: (p) => p.toFixed(3) },
    );
    // For the browser tests (and anyone scripting the page): the verdict in data-* attributes.
    Object.assign(section.dataset, {
      prediction: String(v.prediction),
      set: v.set.join(','),
      ood: String(v.ood),
      energy: String(v.energy),
      pixels: pixels ? Array.from(pixels).join(',') : '',
      runs: String(runs + 1),
      state: 'done',
    });
  }

  loadModel()
    .then(async (s) => {
      session = s;
      Tensor = ((await import(/* @vite-ignore */ ortUrl)) as typeof Ort).Tensor;
      status(
        `onnxruntime-web (wasm, one thread) runs data/digits/digits-mlp.onnx; calibration map: ${mapJson.method}; ` +
          `conformal: ${conformalJson.method}, α = ${conformalJson.alpha}, ${conformalJson.n} calibration rows; ` +
          `energy threshold ${oodJson.threshold.toFixed(2)} (95% of held-out digits score below it).`,
      );
      show(null);
      await classify(); // anything drawn while loading
    })
    .catch((e: Error) => {
      section.dataset.state = 'error';
      status(`the model did not load: ${e.message}`);
      $('digit-prediction').textContent = '—';
    });
}
