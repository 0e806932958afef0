#!/usr/bin/env node
// A screenshot of the demo's "Draw a digit" section after a freehand 3, drawn with the real mouse
// (playwright's mouse.move: trusted pointer events) in Debian's headless Chromium, with the default
// pen. It builds the demo with Vite into a temp dir and serves it with scripts/serve.js, as the
// browser tests do, and prints what the page concluded.
//
//   npm run build && node scripts/digits-screenshot.js [OUT.png]   (default test-artifacts/demo-digits-freehand-chromium.png)
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'vite';
import { chromium } from 'playwright-core';
import { serve } from './serve.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const out = process.argv[2] ?? join(ROOT, 'test-artifacts', 'demo-digits-freehand-chromium.png');

/** A 3 as two arcs, in canvas pixels (the canvas is 256×256). */
function freehandThree() {
  const points = [];
  const arc = (cx, cy, r, from, to, n) => {
    for (let i = 0; i <= n; i++) {
      const a = from + ((to - from) * i) / n;
      points.push([cx + r * Math.cos(a), cy + r * Math.sin(a)]);
    }
  };
  arc(125, 80, 48, -Math.PI * 0.85, Math.PI * 0.5, 24);
  arc(125, 176, 52, -Math.PI * 0.5, Math.PI * 0.85, 24);
  return points;
}

const work = mkdtempSync(join(tmpdir(), 'logitkit-digits-shot-'));
const server = { close: async () => {} };
let browser;
try {
  await build({ configFile: join(ROOT, 'demo', 'vite.config.ts'), logLevel: 'warn', build: { outDir: work, emptyOutDir: true } });
  Object.assign(server, await serve({ root: work, isolated: true }));
  browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox', '--headless', '--disable-gpu'] });
  const page = await browser.newPage({ viewport: { width: 1100, height: 900 } });
  page.on('pageerror', (e) => console.error(`page error: ${e.message}`));
  await page.goto(server.url);
  await page.waitForFunction(() => document.getElementById('digits')?.dataset.state === 'ready', null, { timeout: 60_000 });
  const box = await page.locator('#digit-canvas').boundingBox();
  const [first, ...rest] = freehandThree();
  await page.mouse.move(box.x + first[0], box.y + first[1]);
  await page.mouse.down();
  for (const [x, y] of rest) await page.mouse.move(box.x + x, box.y + y, { steps: 2 });
  await page.mouse.up();
  await page.waitForFunction(() => document.getElementById('digits')?.dataset.state === 'done', null, { timeout: 30_000 });
  const verdict = await page.evaluate(() => {
    const d = document.getElementById('digits').dataset;
    return { prediction: Number(d.prediction), set: d.set, notADigit: d.ood === 'true', energy: Number(d.energy) };
  });
  mkdirSync(dirname(out), { recursive: true });
  await page.locator('#digits').screenshot({ path: out });
  console.log(`${out}: ${JSON.stringify(verdict)}`);
} finally {
  await browser?.close();
  await server.close();
  rmSync(work, { recursive: true, force: true });
}
