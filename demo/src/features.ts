// What this browser can do, detected by validating two tiny hand-written modules rather than
// by user-agent sniffing (Safari shipped wasm without SIMD for years).

// (module (func (result v128) (v128.const i32x4 0 0 0 0)))
const ZERO16 = new Array<number>(16).fill(0);
const HEADER = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x01, 0x05, 0x01, 0x60, 0x00, 0x01, 0x7b, 0x03, 0x02, 0x01, 0x00];
const SIMD_MODULE = new Uint8Array([...HEADER, 0x0a, 0x16, 0x01, 0x14, 0x00, 0xfd, 0x0c, ...ZERO16, 0x0b]);
// (module (func (result v128) (i8x16.relaxed_swizzle (v128.const …0) (v128.const …0))))
const RELAXED_MODULE = new Uint8Array([
  ...HEADER, 0x0a, 0x2b, 0x01, 0x29, 0x00, 0xfd, 0x0c, ...ZERO16, 0xfd, 0x0c, ...ZERO16, 0xfd, 0x80, 0x02, 0x0b,
]);

export interface Features {
  simd: boolean;
  relaxedSimd: boolean;
  /** SharedArrayBuffer usable and the page cross-origin isolated (COOP/COEP): worker threads can share memory. */
  sharedMemory: boolean;
  crossOriginIsolated: boolean;
  cores: number;
}

function validates(bytes: Uint8Array<ArrayBuffer>): boolean {
  try {
    return typeof WebAssembly === 'object' && WebAssembly.validate(bytes);
  } catch {
    return false;
  }
}

export function detectFeatures(): Features {
  const isolated = globalThis.crossOriginIsolated === true;
  let shared = false;
  try {
    shared = isolated && new WebAssembly.Memory({ initial: 1, maximum: 1, shared: true }).buffer instanceof SharedArrayBuffer;
  } catch {
    shared = false;
  }
  return {
    simd: validates(SIMD_MODULE),
    relaxedSimd: validates(RELAXED_MODULE),
    sharedMemory: shared,
    crossOriginIsolated: isolated,
    cores: navigator.hardwareConcurrency || 1,
  };
}
