// Renders one small worked example, so a person opening the page sees logitkit at work.
import type { Engine } from 'logitkit';

export function show(lk: Engine, note = ''): void {
  const logits = new Float32Array([2.0, 1.0, 0.1, -1.5]);
  const probs = lk.softmax(logits, logits.length);
  const best = lk.argmax(logits, logits.length)[0];
  document.getElementById('backend')!.textContent = lk.backend + note;
  document.getElementById('output')!.textContent = [
    `logits  ${format(logits)}`,
    `softmax ${format(probs)}`,
    `argmax  ${best}`,
  ].join('\n');
}

function format(a: Float32Array): string {
  return Array.from(a, (v) => v.toFixed(4).padStart(8)).join(' ');
}
