// The ABI declaration (src/backends/abi.ts) against every build: each .wasm's exported
// functions are read from the binary itself (type, import, function and export sections), so
// names, parameter counts and parameter/result types are checked on every build, including the
// relaxed ones a Node 20 cannot compile.
import { describe, it, expect } from 'vitest';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ABI, KERNEL_NAMES, NON_KERNEL_EXPORTS, type ExportDecl } from '../src/backends/abi.js';
import { MAX_ARGS } from '../src/backends/worker.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const BUILDS = ['logitkit.wasm', 'logitkit-relaxed.wasm', 'logitkit-threads.wasm', 'logitkit-threads-relaxed.wasm'];

type ValType = 'i32' | 'i64' | 'f32' | 'f64' | 'v128';
const VALTYPES: Record<number, ValType> = { 0x7f: 'i32', 0x7e: 'i64', 0x7d: 'f32', 0x7c: 'f64', 0x7b: 'v128' };

interface ExportedFunction {
  params: ValType[];
  results: ValType[];
}

/** Exported functions of a wasm binary with their types; other exports by kind. */
export function readExports(bytes: Uint8Array): { functions: Map<string, ExportedFunction>; others: Map<string, number> } {
  let at = 8;
  const u8 = (): number => bytes[at++]!;
  const leb = (): number => {
    let result = 0;
    let shift = 0;
    for (;;) {
      const b = u8();
      result |= (b & 0x7f) << shift;
      if ((b & 0x80) === 0) return result >>> 0;
      shift += 7;
    }
  };
  const name = (): string => {
    const n = leb();
    const s = new TextDecoder().decode(bytes.subarray(at, at + n));
    at += n;
    return s;
  };
  const valtype = (): ValType => {
    const t = VALTYPES[u8()];
    if (t === undefined) throw new Error(`unknown value type at byte ${at - 1}`);
    return t;
  };
  expect([...bytes.subarray(0, 4)]).toEqual([0, 0x61, 0x73, 0x6d]);
  const types: ExportedFunction[] = [];
  const funcTypes: number[] = []; // imported functions first, then defined ones
  const exports: { name: string; kind: number; index: number }[] = [];
  while (at < bytes.length) {
    const id = u8();
    const size = leb();
    const end = at + size;
    if (id === 1) {
      for (let n = leb(); n > 0; n--) {
        expect(u8()).toBe(0x60);
        const params = Array.from({ length: leb() }, valtype);
        const results = Array.from({ length: leb() }, valtype);
        types.push({ params, results });
      }
    } else if (id === 2) {
      for (let n = leb(); n > 0; n--) {
        name();
        name();
        const kind = u8();
        if (kind === 0) funcTypes.push(leb());
        else if (kind === 1) (u8(), limits());
        else if (kind === 2) limits();
        else if (kind === 3) (u8(), u8());
        else throw new Error(`import kind ${kind}`);
      }
    } else if (id === 3) {
      for (let n = leb(); n > 0; n--) funcTypes.push(leb());
    } else if (id === 7) {
      for (let n = leb(); n > 0; n--) exports.push({ name: name(), kind: u8(), index: leb() });
    }
    at = end;
  }
  function limits(): void {
    const flags = u8();
    leb();
    if (flags & 1) leb();
  }
  const functions = new Map<string, ExportedFunction>();
  const others = new Map<string, number>();
  for (const e of exports) {
    if (e.kind === 0) functions.set(e.name, types[funcTypes[e.index]!]!);
    else others.set(e.name, e.kind);
  }
  return { functions, others };
}

/** The wasm types a declaration stands for. */
function declaredParams(d: ExportDecl): ValType[] {
  return Object.values(d.params).map((p) => (p.kind === 'f64' ? 'f64' : 'i32'));
}

/** Parameters whose TypeScript name spells out the assembly's abbreviation. */
const RENAMED: Record<string, Record<string, string>> = {
  bceWithLogits: { tPtr: 'target' },
  adjustLogits: { t: 'temperature' },
  sampleRows: { editPtr: 'edits' },
  sampleRowsTypical: { editPtr: 'edits' },
};

describe('the ABI declaration matches every build', () => {
  it('the binary reader reads a hand-made module', () => {
    // (func (export "f") (param i32 f64) (result f64)) with an imported memory
    const m = new Uint8Array([
      0, 0x61, 0x73, 0x6d, 1, 0, 0, 0,
      1, 7, 1, 0x60, 2, 0x7f, 0x7c, 1, 0x7c, // type section
      2, 15, 1, 3, 0x65, 0x6e, 0x76, 6, 0x6d, 0x65, 0x6d, 0x6f, 0x72, 0x79, 2, 0, 1, // import env.memory
      3, 2, 1, 0, // function section
      7, 5, 1, 1, 0x66, 0, 0, // export "f"
      10, 6, 1, 4, 0, 0x20, 1, 0x0b, // code: local.get 1
    ]);
    expect(WebAssembly.validate(m)).toBe(true);
    const { functions } = readExports(m);
    expect(functions.get('f')).toEqual({ params: ['i32', 'f64'], results: ['f64'] });
  });

  for (const build of BUILDS) {
    it(build, () => {
      const path = join(root, 'build', build);
      expect(existsSync(path), `${path} (run npm run build)`).toBe(true);
      const bytes = new Uint8Array(readFileSync(path));
      const { functions, others } = readExports(bytes);
      // Every function export is declared, and every declaration is exported, with its exact type.
      const kernels = [...functions.keys()].filter((n) => !(NON_KERNEL_EXPORTS as readonly string[]).includes(n)).sort();
      expect(kernels).toEqual([...KERNEL_NAMES].sort());
      for (const name of KERNEL_NAMES) {
        const d = ABI[name] as ExportDecl;
        const f = functions.get(name)!;
        expect({ name, params: f.params }).toEqual({ name, params: declaredParams(d) });
        expect({ name, results: f.results }).toEqual({ name, results: d.result === 'void' ? [] : [d.result] });
        expect(existsSync(join(root, d.source)), d.source).toBe(true);
        expect(readFileSync(join(root, d.source), 'utf8')).toMatch(new RegExp(`export function ${name}\\b`));
      }
      expect(others.get('memory')).toBe(2);
      // Where this runtime compiles the build, the engine's own reading agrees.
      if (WebAssembly.validate(bytes)) {
        const names = WebAssembly.Module.exports(new WebAssembly.Module(bytes)).map((e) => e.name).sort();
        expect(names).toEqual([...functions.keys(), ...others.keys()].sort());
      }
    });
  }

  it('parameter names follow the assembly/ signatures, in order', () => {
    for (const name of KERNEL_NAMES) {
      const d = ABI[name] as ExportDecl;
      const text = readFileSync(join(root, d.source), 'utf8');
      const m = new RegExp(`export function ${name}\\(([^)]*)\\)`).exec(text);
      expect(m, name).not.toBeNull();
      const asNames = m![1]!.split(',').map((p) => p.trim()).filter((p) => p.length > 0).map((p) => p.split(':')[0]!.trim());
      expect(asNames.length, name).toBe(Object.keys(d.params).length);
      // The TypeScript name is the assembly name without its Ptr suffix (xPtr → x), but for a few
      // spelled out where the assembly abbreviates.
      const renamed: Record<string, string> = { ...RENAMED[name] };
      expect(Object.keys(d.params), name).toEqual(asNames.map((n) => renamed[n] ?? n.replace(/Ptr$/, '')));
    }
  });

  it('row kernels declare a row count and, for each pointer, its bytes per row', () => {
    for (const name of KERNEL_NAMES) {
      const d = ABI[name] as ExportDecl;
      const params = Object.values(d.params);
      if (d.grain === undefined) {
        expect(params.some((p) => p.kind === 'rows'), name).toBe(false);
        continue;
      }
      expect(params.filter((p) => p.kind === 'rows').length, name).toBe(1);
      for (const p of params) if (p.kind === 'ptr') expect(typeof p.perRow, name).toBe('function');
    }
  });
});

describe('pool jobs', () => {
  it('every chunk kernel (begin, end) fits a pool job: one with more than MAX_ARGS parameters would run on one thread without a sign', () => {
    const chunk = KERNEL_NAMES.filter((n) => 'begin' in (ABI[n] as ExportDecl).params && 'end' in (ABI[n] as ExportDecl).params);
    expect(chunk).toContain('scoreLogitsChunk');
    for (const name of chunk) expect(Object.keys((ABI[name] as ExportDecl).params).length, name).toBeLessThanOrEqual(MAX_ARGS);
  });

  it('the row kernels too long for a pool job are the known ones (they run on the calling thread)', () => {
    const long = KERNEL_NAMES.filter((n) => (ABI[n] as ExportDecl).grain !== undefined && Object.keys((ABI[n] as ExportDecl).params).length > MAX_ARGS);
    expect(long).toEqual([]);
  });
});
