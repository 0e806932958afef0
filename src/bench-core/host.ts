/**
 * The host CPU, read in Node (Linux /proc/cpuinfo; elsewhere os.cpus()'s model with its flags
 * unknown). Kept out of ./index.ts, which must run in browsers and Vite bundles unchanged.
 */
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { parseCpuinfo, unknownCpu, type CpuInfo } from './index.js';

export function hostCpu(): CpuInfo {
  const model = os.cpus()[0]?.model ?? 'unknown';
  let text: string;
  try {
    text = readFileSync('/proc/cpuinfo', 'utf8');
  } catch {
    return unknownCpu(model);
  }
  return parseCpuinfo(text, model);
}
