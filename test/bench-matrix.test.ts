// The every-engine section of bench/RESULTS.md (bench/matrix.js): which logitkit row each engine's
// cell uses, the ratio it shows, the build-choice check, the same-data check, and that writing the
// section into RESULTS.md replaces only that section.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
// @ts-expect-error bench/ is plain JavaScript without declarations
import { BEGIN, END, cpuCaption, cpuLabel, relaxedSpeedup, renderEngines, spliceSection } from '../bench/matrix.js';
// @ts-expect-error bench/ is plain JavaScript without declarations
import { appendKept, keptSections } from '../bench/report.js';

interface R {
  op: string;
  workload: string;
  rows: number;
  classes: number;
  impl: string;
  medianMs: number;
  melemPerSec: number;
  vsBestPeer?: number;
  bestPeer?: string;
  verified: boolean;
}
const row = (impl: string, medianMs: number, bestMs: number): R => ({
  op: 'softmax', workload: '512x1000', rows: 512, classes: 1000, impl, medianMs, melemPerSec: 512 / medianMs / 1e3,
  vsBestPeer: bestMs / medianMs, bestPeer: 'tfjs-wasm-kernel', verified: true,
});
function run(engine: string, build: string, times: Record<string, number>, checksum = '15a55a49', nodeFlags: string[] = []) {
  const best = times['tfjs-wasm-kernel']!;
  return {
    engine,
    date: '2026-12-02T03:00:00Z',
    durationSec: 1,
    settings: { rowsDivisor: 8 },
    machine: { cores: 2, nodeFlags },
    loadAverage: { start: 0.1 },
    logitkitChoice: { build, reason: `${build}: because` },
    implementations: Object.keys(times).map((id) => ({ id, kind: id.startsWith('lk') ? 'logitkit' : 'peer', version: id })),
    unavailable: [],
    checksums: { '512x1000': checksum },
    results: Object.entries(times).map(([impl, ms]) => row(impl, ms, best)),
    perCall: [],
  };
}

describe('bench/matrix.js', () => {
  const times = { 'lk-wasm': 4, 'lk-wasm-buffers': 2, 'lk-wasm-relaxed': 1, 'lk-wasm-relaxed-plain': 3, 'tfjs-wasm-kernel': 2 };
  const v8 = run('Node 24.21.0 (V8 13.6)', 'relaxed SIMD, 1 thread', times);
  const sm = run('Firefox ESR 153.8.0 (SpiderMonkey)', 'SIMD128, 1 thread', { ...times, 'lk-wasm-relaxed': 4 });

  it('each cell is the picked build: buffers / plain arrays, as speed ratios to the best peer', () => {
    const md: string = renderEngines([{ name: 'node24', data: v8 }, { name: 'firefox', data: sm }]);
    expect(md.startsWith(BEGIN) && md.endsWith(END)).toBe(true);
    // Node: relaxed picked → lk-wasm-relaxed (2/1) and lk-wasm-relaxed-plain (2/3); Firefox: SIMD128 → 2/2 and 2/4.
    expect(md).toContain('| op | workload | Node 24.21.0 | Firefox ESR 153.8.0 |');
    expect(md).toContain('| softmax | 512×1000 | **2.00×** / 0.667× | **1.00×** / 0.500× |');
    expect(md).toMatch(/identical on every engine/);
    expect(md).toMatch(/--quick/);
  });

  it('every table says which CPU: model, AVX2, AVX-512; hosts that differ are flagged', () => {
    const epyc = { cores: 2, cpu: 'AMD EPYC 9R14', cpuDescription: 'AMD EPYC 9R14 (AVX2 yes, AVX-512 yes: bf16, bw, f, vl)' };
    const md: string = renderEngines([{ name: 'node24', data: { ...v8, machine: epyc } }, { name: 'firefox', data: { ...sm, machine: epyc } }]);
    const tables = md.split('\n').filter((l) => /^\| (op|engine) \|/.test(l)).length;
    const captions = md.split('\n').filter((l) => l.includes('CPU: AMD EPYC 9R14 (AVX2 yes, AVX-512 yes: bf16, bw, f, vl)')).length;
    expect(tables).toBe(4); // summary, build choice, two engines
    expect(captions).toBe(tables);
    expect(md).not.toMatch(/different hosts/);
    // Results recorded before cpuDescription existed: from their flag list, or unknown without one.
    expect(cpuLabel({ cpu: 'Xeon', cpuFeatures: ['avx2', 'fma'] })).toBe('Xeon (AVX2 yes, AVX-512 no)');
    expect(cpuLabel({ cpu: 'Xeon', cpuFeatures: [] })).toBe('Xeon (AVX2 unknown, AVX-512 unknown)');
    expect(cpuCaption([epyc, { cpu: 'Xeon', cpuFeatures: ['avx2'] }])).toMatch(/; Xeon \(AVX2 yes, AVX-512 no\) — \*\*different hosts/);
  });

  it('the build-choice check flags a rule the measurements contradict', () => {
    expect(relaxedSpeedup(v8)).toMatchObject({ geomean: 2, groups: 1 });
    const md: string = renderEngines([{ name: 'node24', data: v8 }, { name: 'firefox', data: sm }]);
    expect(md).toMatch(/\| Node 24\.21\.0 \(V8 13\.6\) \| yes \| 2\.00× \(2\.00–2\.00\) \| relaxed SIMD, 1 thread \| .* \| ✓ \|/);
    expect(md).toMatch(/\| Firefox ESR .* \| yes \| 0\.500× .* \| SIMD128, 1 thread \| .* \| ✓ \|/);
    const wrong = run('Firefox ESR 153.8.0 (SpiderMonkey)', 'relaxed SIMD, 1 thread', { ...times, 'lk-wasm-relaxed': 4 });
    expect(renderEngines([{ name: 'firefox', data: wrong }])).toMatch(/\| ✗ \(0\.500×\) \|/);
  });

  it('Node 20 timed under the relaxed-SIMD flag counts as SIMD128 (what its users get)', () => {
    const n20 = run('Node 20.20.2 (V8 11.3)', 'relaxed SIMD, 1 thread', times, '15a55a49', ['--experimental-wasm-relaxed-simd']);
    expect(renderEngines([{ name: 'node20', data: n20 }])).toContain('| softmax | 512×1000 | **1.00×** / 0.500× |');
  });

  it('different data on two engines and an engine that failed are reported', () => {
    const other = run('Chromium 156 (V8)', 'relaxed SIMD, 1 thread', times, 'deadbeef');
    const md: string = renderEngines([{ name: 'node24', data: v8 }, { name: 'chromium', data: other }, { name: 'webkit', data: { error: 'no Xvfb' } }]);
    expect(md).toMatch(/differ between engines for 512×1000/);
    expect(md).toMatch(/Not measured: webkit \(no Xvfb\)/);
  });

  it('spliceSection replaces the section, or inserts it before the first ## heading', () => {
    const section = `${BEGIN}\nnew\n${END}`;
    const doc = '# Title\n\nintro\n\n## Machine\n\nbody\n';
    const once: string = spliceSection(doc, section);
    expect(once).toBe(`# Title\n\nintro\n\n${section}\n\n## Machine\n\nbody\n`);
    expect(spliceSection(once, `${BEGIN}\nnewer\n${END}`)).toBe(`# Title\n\nintro\n\n${BEGIN}\nnewer\n${END}\n\n## Machine\n\nbody\n`);
  });

  it('a regenerated report keeps the hand-pasted sections (kept:NAME markers) of the old one', () => {
    const sampling = '<!-- kept:sampling:begin (by hand) -->\n## Sampling\n\n| a |\n<!-- kept:sampling:end -->';
    const other = '<!-- kept:x-y:begin -->\nmore\n<!-- kept:x-y:end -->';
    const old = `# Title\n\n${sampling}\n\ntext\n\n${other}\n`;
    const kept: string[] = keptSections(old);
    expect(kept).toEqual([sampling, other]);
    // A fresh report lacks them: they come back at the end, once, in order.
    const fresh = '# Title\n\n## softmax\n\nnew table\n';
    const merged: string = appendKept(fresh, kept);
    expect(merged).toBe(`# Title\n\n## softmax\n\nnew table\n\n${sampling}\n\n${other}\n`);
    expect(appendKept(merged, kept)).toBe(merged);
    // Unterminated or mismatched markers are not a section.
    expect(keptSections('<!-- kept:a:begin -->\nx\n<!-- kept:b:end -->')).toEqual([]);
    // The published RESULTS.md marks its sampling tables so that bench/run.js keeps them.
    const published = readFileSync(new URL('../bench/RESULTS.md', import.meta.url), 'utf8');
    expect(keptSections(published).some((k: string) => k.includes('## Sampling'))).toBe(true);
  });
});
