import { describe, it, expect } from 'vitest';
import { readFileSync } from 'node:fs';
import { GENERATED, generatedText } from '../scripts/buildWasmKernels.mjs';
import { KERNELS_WASM_PLAIN, KERNELS_WASM_SHARED } from '../src/backend/wasm/generated/kernelsWasm.js';
import { instantiateWasmKernels, WASM_COMPARE_CODES } from '../src/backend/wasm/flowSegWasmKernels.js';
import { layerNormVec, maxAbsDiff, seededRandom } from './support/reference.js';

/**
 * Core's AssemblyScript kernels as shipped: in sync with their source, safe to load into
 * tfjs-backend-wasm's heap (no memory of their own, no data written at load), and correct on
 * both a plain and a shared memory against hand-written references.
 */

/** Ids of the sections in a wasm binary, in order. */
function sectionIds(bytes: Uint8Array): number[] {
  const ids: number[] = [];
  let at = 8; // magic and version
  while (at < bytes.length) {
    ids.push(bytes[at]!);
    at++;
    let size = 0;
    let shift = 0;
    for (;;) {
      const b = bytes[at++]!;
      size |= (b & 0x7f) << shift;
      shift += 7;
      if (!(b & 0x80)) break;
    }
    at += size;
  }
  return ids;
}

const VARIANTS = [
  { name: 'plain', base64: KERNELS_WASM_PLAIN, memory: () => new WebAssembly.Memory({ initial: 4, maximum: 65536 }) },
  { name: 'shared', base64: KERNELS_WASM_SHARED, memory: () => new WebAssembly.Memory({ initial: 4, maximum: 65536, shared: true }) },
];

describe("core's wasm kernel module", () => {
  it('is what assembly/kernels.ts compiles to (run npm run build:wasm-kernels after editing it)', async () => {
    expect(readFileSync(GENERATED, 'utf8')).toBe(await generatedText());
  });

  for (const v of VARIANTS) {
    describe(`${v.name} variant`, () => {
      const bytes = Buffer.from(v.base64, 'base64');
      const module = new WebAssembly.Module(bytes);

      it('imports only the heap and has no data of its own to write into it', () => {
        expect(WebAssembly.Module.imports(module)).toEqual([{ module: 'env', name: 'memory', kind: 'memory' }]);
        expect(WebAssembly.Module.exports(module).map((e) => e.name).sort()).toEqual(['compareF32', 'layerNormF32', 'transposeChunks', 'transposeWords']);
        const ids = sectionIds(bytes);
        expect(ids).toContain(10); // code: the parse found the sections
        expect(ids).not.toContain(11); // data
        expect(ids).not.toContain(8); // start function
        expect(bytes.length).toBeLessThan(8192);
      });

      it('transposes batches of matrices of words and of chunks', () => {
        const memory = v.memory();
        const k = instantiateWasmKernels(memory);
        const f32 = new Float32Array(memory.buffer);
        for (const [batch, rows, cols, inner] of [
          [1, 9, 6, 1],
          [2, 13, 21, 1],
          [1, 70, 5, 1],
          [3, 5, 4, 3],
          [2, 6, 7, 8],
        ] as const) {
          const n = batch * rows * cols * inner;
          for (let i = 0; i < n; i++) f32[i] = i + 0.25;
          const dst = n * 4 + 64;
          if (inner === 1) k.transposeWords(0, dst, batch, rows, cols);
          else k.transposeChunks(0, dst, batch, rows, cols, inner);
          const expected: number[] = [];
          for (let g = 0; g < batch; g++)
            for (let c = 0; c < cols; c++)
              for (let r = 0; r < rows; r++) for (let e = 0; e < inner; e++) expected.push(((g * rows + r) * cols + c) * inner + e + 0.25);
          expect([...f32.subarray(dst / 4, dst / 4 + n)], `[${batch}, ${rows}, ${cols}, ${inner}]`).toEqual(expected);
        }
      });

      it('compares with strides, SIMD steps and tails, NaN as IEEE', () => {
        const memory = v.memory();
        const k = instantiateWasmKernels(memory);
        const f32 = new Float32Array(memory.buffer);
        const u8 = new Uint8Array(memory.buffer);
        const n = 37;
        const a = Array.from({ length: n }, (_, i) => (i % 9 === 0 ? NaN : (i % 5) - 2));
        const b = Array.from({ length: n }, (_, i) => (i % 3) - 1);
        f32.set(a, 0);
        f32.set(b, 64);
        const rules: Record<keyof typeof WASM_COMPARE_CODES, (x: number, y: number) => boolean> = {
          Less: (x, y) => x < y,
          LessEqual: (x, y) => x <= y,
          Greater: (x, y) => x > y,
          GreaterEqual: (x, y) => x >= y,
          Equal: (x, y) => x === y,
          NotEqual: (x, y) => x !== y,
        };
        for (const [name, rule] of Object.entries(rules) as Array<[keyof typeof rules, (x: number, y: number) => boolean]>) {
          const out = 1024;
          // contiguous against contiguous, against a fixed element, and a strided left side
          for (const [sa, sb, count] of [
            [1, 1, n],
            [1, 0, n],
            [2, 1, 18],
          ] as const) {
            k.compareF32(WASM_COMPARE_CODES[name], out, 0, sa, 256, sb, count);
            const expected = Array.from({ length: count }, (_, i) => (rule(a[i * sa]!, b[i * sb]!) ? 1 : 0));
            expect([...u8.subarray(out, out + count)], `${name} sa=${sa} sb=${sb}`).toEqual(expected);
          }
        }
      });

      it('layer-normalizes rows, with or without a residual added first, like a float64 re-derivation', () => {
        const memory = v.memory();
        const k = instantiateWasmKernels(memory);
        const f32 = new Float32Array(memory.buffer);
        const rand = seededRandom(7);
        const f = (v: number[]) => [...Float32Array.from(v)]; // the float32 values the kernel sees
        for (const withResidual of [false, true]) {
          for (const [rows, cols] of [
            [3, 1],
            [4, 7],
            [5, 256],
            [2, 13],
          ] as const) {
            const x = f(Array.from({ length: rows * cols }, () => rand() * 6 - 2));
            const residual = f(Array.from({ length: rows * cols }, () => rand() * 2 - 1));
            const gamma = f(Array.from({ length: cols }, () => rand() + 0.5));
            const beta = f(Array.from({ length: cols }, () => rand() - 0.5));
            const [px, pr, pg, pb, po] = [0, 8192, 16384, 20480, 32768];
            f32.set(x, px / 4);
            f32.set(residual, pr / 4);
            f32.set(gamma, pg / 4);
            f32.set(beta, pb / 4);
            k.layerNormF32(px, pr, withResidual, pg, pb, po, rows, cols, 1e-5);
            const got = f32.subarray(po / 4, po / 4 + rows * cols);
            for (let r = 0; r < rows; r++) {
              const row = x.slice(r * cols, (r + 1) * cols);
              const sum = withResidual ? f(row.map((e, c) => e + residual[r * cols + c]!)) : row;
              const want = layerNormVec(sum, gamma, beta);
              const label = `[${rows}, ${cols}]${withResidual ? ' + residual' : ''} row ${r}`;
              expect(maxAbsDiff([...got.subarray(r * cols, (r + 1) * cols)], want) / (1 + Math.max(...want.map(Math.abs))), label).toBeLessThan(2e-5);
            }
          }
        }
      });
    });
  }
});
