// The logits playground: one row of logits → softmax or log-softmax as bars, with temperature,
// top-k and top-p controls; the kept set (what sampling could pick) is highlighted, and a thin
// inner bar shows each kept token's probability renormalised over the kept set.
import type { Engine } from 'logitkit';
import { columnChart, type Bar } from './chart.js';

const PRESETS: Record<string, string> = {
  'next token (12 candidates)': 'the:4.1 a:3.6 his:2.2 her:2.0 their:1.7 this:1.2 that:0.9 my:0.4 one:-0.3 every:-0.8 some:-1.1 no:-2.5',
  'confident classifier': 'cat:9.2 dog:4.1 fox:3.3 owl:0.2 car:-1.0 tree:-2.4',
  'masked tokens (-inf) and a tie': '1.5 1.5 -inf 0.3 -inf 2.0 -0.7',
  'huge logits (no overflow)': '1000 999 998 -1000',
  'a NaN poisons the row': '1 2 nan 3',
};

function parseRow(text: string): { labels: string[]; x: Float32Array } {
  const labels: string[] = [];
  const values: number[] = [];
  for (const token of text.split(/[\s,;]+/).filter(Boolean)) {
    const colon = token.lastIndexOf(':');
    const label = colon > 0 ? token.slice(0, colon) : String(values.length);
    const raw = (colon > 0 ? token.slice(colon + 1) : token).toLowerCase();
    const v = /^[+]?inf(inity)?$/.test(raw) ? Infinity : /^-inf(inity)?$/.test(raw) ? -Infinity : raw === 'nan' ? NaN : Number(raw);
    if (Number.isNaN(v) && raw !== 'nan') throw new Error(`"${token}" is not a number`);
    labels.push(label);
    values.push(v);
  }
  if (values.length === 0) throw new Error('type at least one logit');
  return { labels, x: Float32Array.from(values) };
}

/** Slider position → temperature on a log scale: −2…2 ↦ 0.1…10, centre 1. */
export const temperatureAt = (position: number) => 10 ** (position / 2);

interface Kept {
  mask: boolean[];
  source: string;
}

/**
 * The kept set of the sampling filters (temperature → top-k → top-p). logitkit's own
 * filterLogits when this build has it; otherwise the same rule composed from softmax and topk.
 */
function keptSet(lk: Engine, x: Float32Array, probs: Float32Array, temperature: number, topK: number, topP: number): Kept {
  const C = x.length;
  let why: string;
  try {
    const filtered = lk.filterLogits(x, C, { temperature, ...(topK > 0 ? { topK } : {}), ...(topP < 1 ? { topP } : {}) });
    return { mask: Array.from(filtered, (v) => v !== -Infinity), source: 'lk.filterLogits' };
  } catch (e) {
    // Builds without the generation ops (or with a broken one) still get a working playground,
    // and the page says which path drew the kept set.
    why = (e as Error).message;
  }
  // Descending order, ties by lower index (lk.topk's order), then the first k, then the shortest
  // prefix whose renormalised mass reaches p.
  const order = lk.topk(x, C, C).indices;
  const k = topK > 0 ? Math.min(topK, C) : C;
  let mass = 0;
  for (let i = 0; i < k; i++) mass += probs[order[i]!]!;
  const mask = new Array<boolean>(C).fill(false);
  let cumulative = 0;
  for (let i = 0; i < k; i++) {
    const j = order[i]!;
    if (!(probs[j]! > 0)) break; // masked (-inf) tokens are never kept
    mask[j] = true;
    cumulative += probs[j]! / mass;
    if (cumulative >= topP) break;
  }
  return { mask, source: `composed from lk.softmax + lk.topk (lk.filterLogits: ${why})` };
}

export function setupPlayground(lk: Engine): () => void {
  const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
  const textarea = $<HTMLTextAreaElement>('logits');
  const preset = $<HTMLSelectElement>('preset');
  const view = $<HTMLSelectElement>('view');
  const temperature = $<HTMLInputElement>('temperature');
  const topk = $<HTMLInputElement>('topk');
  const topp = $<HTMLInputElement>('topp');
  const chart = $('chart');
  const kept = $('kept');
  const error = $('error');

  for (const name of Object.keys(PRESETS)) preset.add(new Option(name, name));
  textarea.value = PRESETS[preset.value]!;

  function render(): void {
    const T = temperatureAt(Number(temperature.value));
    const k = Number(topk.value);
    const p = Number(topp.value);
    $('temperature-value').textContent = T.toFixed(2);
    $('topk-value').textContent = k === 0 ? 'off' : String(k);
    $('topp-value').textContent = p >= 1 ? 'off' : p.toFixed(2);
    try {
      const { labels, x } = parseRow(textarea.value);
      const C = x.length;
      topk.max = String(C);
      const probs = lk.softmax(x, C, { temperature: T });
      const shown = view.value === 'logSoftmax' ? lk.logSoftmax(x, C, { temperature: T }) : probs;
      const { mask, source } = keptSet(lk, x, probs, T, k, p);
      let keptMass = 0;
      mask.forEach((m, j) => (keptMass += m ? probs[j]! : 0));
      const bars: Bar[] = labels.map((label, j) => ({
        label,
        value: shown[j]!,
        kept: mask[j]!,
        ...(view.value === 'softmax' && mask[j] ? { after: probs[j]! / keptMass } : {}),
      }));
      columnChart(chart, bars, { format: (v) => (Number.isNaN(v) ? 'NaN' : v === -Infinity ? '−∞' : v.toFixed(Math.abs(v) < 10 ? 3 : 1)) });
      const names = labels.filter((_, j) => mask[j]);
      kept.textContent = `kept set: ${names.length} of ${C} (${names.join(', ') || 'none'}), probability mass ${keptMass.toFixed(3)} — ${source}`;
      error.hidden = true;
    } catch (e) {
      error.textContent = (e as Error).message;
      error.hidden = false;
    }
  }

  preset.addEventListener('change', () => {
    textarea.value = PRESETS[preset.value]!;
    render();
  });
  for (const input of [textarea, view, temperature, topk, topp]) input.addEventListener('input', render);
  view.addEventListener('change', render);
  render();
  return render;
}
