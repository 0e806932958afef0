// What the numbers were measured on: CPU, cores, runtime and the exact package versions.
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { describeCpu } from '../dist/bench-core/index.js';
import { hostCpu } from '../dist/bench-core/host.js';

export function machineInfo() {
  let cpu = os.cpus()[0]?.model ?? 'unknown';
  let flags = '';
  try {
    const info = readFileSync('/proc/cpuinfo', 'utf8');
    cpu = /^model name\s*:\s*(.*)$/m.exec(info)?.[1]?.trim() || cpu;
    flags = /^flags\s*:\s*(.*)$/m.exec(info)?.[1] ?? '';
  } catch {
    // Not Linux: os.cpus() is the best we have.
  }
  const simd = ['avx512f', 'avx2', 'fma', 'sse4_1'].filter((f) => flags.split(' ').includes(f));
  // The same reading as `logitkit bench` (src/bench-core/host.ts): model, AVX2, AVX-512.
  const known = hostCpu();
  return {
    cpu,
    cpuFeatures: simd,
    avx2: known.avx2,
    avx512: known.avx512,
    avx512Subsets: known.avx512Subsets,
    cpuDescription: describeCpu(known),
    cores: os.availableParallelism?.() ?? os.cpus().length,
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    platform: `${os.platform()} ${os.release()}`,
    arch: os.arch(),
    node: process.version,
    v8: process.versions.v8,
  };
}

const PACKAGES = [
  'logitkit',
  'tinybench',
  '@tensorflow/tfjs-core',
  '@tensorflow/tfjs-backend-wasm',
  'onnxruntime-node',
  'onnxruntime-web',
  'assemblyscript',
];

export function packageVersions() {
  const versions = {};
  for (const name of PACKAGES) {
    // onnxruntime-node lives in bench/'s own package (npm run bench:peers), the rest in the root's.
    const url =
      name === 'logitkit'
        ? new URL('../package.json', import.meta.url)
        : name === 'onnxruntime-node'
          ? new URL(`./node_modules/${name}/package.json`, import.meta.url)
          : new URL(`../node_modules/${name}/package.json`, import.meta.url);
    try {
      versions[name] = JSON.parse(readFileSync(url, 'utf8')).version;
    } catch {
      versions[name] = null;
    }
  }
  return versions;
}
