import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '@flowseg/core';
import { asMatrixTranspose, collapsePermutation } from '../src/backend/wasm/blockedTranspose.js';
import { setWasmKernelsEnabled } from '../src/backend/wasm/flowSegWasmKernels.js';

/** The tiled wasm `Transpose` against a plain-JS index permutation (exact: it only moves bits). */

/** `x` (row-major, `shape`) permuted by `perm`, element by element. */
function referenceTranspose(data: ArrayLike<number>, shape: number[], perm: number[]): number[] {
  const outShape = perm.map((a) => shape[a]!);
  const strides = shape.map((_, i) => shape.slice(i + 1).reduce((a, b) => a * b, 1));
  const total = shape.reduce((a, b) => a * b, 1);
  const out: number[] = [];
  const idx = new Array<number>(outShape.length).fill(0);
  for (let o = 0; o < total; o++) {
    let from = 0;
    for (let d = 0; d < perm.length; d++) from += idx[d]! * strides[perm[d]!]!;
    out.push(data[from]!);
    for (let d = outShape.length - 1; d >= 0; d--) {
      if (++idx[d]! < outShape[d]!) break;
      idx[d] = 0;
    }
  }
  return out;
}

beforeAll(async () => {
  await selectBackend('wasm', { wasmThreads: 1 });
});

describe('collapsePermutation', () => {
  it('drops size-1 axes and merges axes that stay adjacent', () => {
    expect(collapsePermutation([1, 16384, 256], [0, 2, 1])).toEqual({ shape: [16384, 256], perm: [1, 0] });
    expect(collapsePermutation([2, 3, 4, 5], [0, 2, 3, 1])).toEqual({ shape: [2, 3, 20], perm: [0, 2, 1] });
    expect(collapsePermutation([2, 3, 4, 5], [0, 2, 1, 3])).toEqual({ shape: [2, 3, 4, 5], perm: [0, 2, 1, 3] });
    expect(collapsePermutation([2, 3, 4], [0, 1, 2])).toEqual({ shape: [24], perm: [0] });
  });
});

describe('wasm Transpose for matrices of elements or chunks', () => {
  it('is installed on wasm', () => {
    expect(tf.getKernel('Transpose', 'wasm')!.kernelFunc.name).toBe('blockedTranspose');
  });

  for (const kernels of [true, false]) {
    it(`equals an element-by-element permutation (${kernels ? "core's wasm kernels" : 'JS tiles'} and the stock fallbacks)`, () => {
      setWasmKernelsEnabled(kernels);
      const cases: Array<[number[], number[]]> = [
        [[1, 300, 260], [0, 2, 1]], // one matrix, sizes not multiples of the tile
        [[3, 200, 330], [0, 2, 1]], // a batch of matrices
        [[257, 300], [1, 0]],
        [[2, 70, 30, 40], [0, 2, 3, 1]], // [B, N, H, W] → [B, H, W, N]
        [[5, 7], [1, 0]], // small: wasm kernel's edges only, else stock
        [[2, 3, 4, 5], [0, 2, 1, 3]], // small chunks (5 elements, not whole SIMD steps)
        [[1, 30, 8, 32], [0, 2, 1, 3]], // attention's head split: chunks of 32
        [[30, 4, 3], [1, 0, 2]], // chunks of 3
        [[4, 70, 9, 60], [0, 2, 1, 3]], // large chunk transpose
        [[2, 3, 4, 5], [3, 1, 0, 2]], // not a matrix transpose: stock kernel
      ];
      for (const [shape, perm] of cases) {
        const n = shape.reduce((a, b) => a * b, 1);
        const data = Float32Array.from({ length: n }, (_, i) => i * 0.5 - 7);
        const y = tf.transpose(tf.tensor(data, shape), perm);
        expect(y.shape, `[${shape}] by [${perm}]`).toEqual(perm.map((a) => shape[a]!));
        expect([...y.dataSync()], `[${shape}] by [${perm}]`).toEqual(referenceTranspose(data, shape, perm));
        y.dispose();
      }
    });
  }

  afterAll(() => setWasmKernelsEnabled(true));

  it('reads (batched) matrix transposes of elements or chunks off a collapsed permutation', () => {
    expect(asMatrixTranspose({ shape: [4096, 256], perm: [1, 0] })).toEqual({ batch: 1, rows: 4096, cols: 256, inner: 1 });
    expect(asMatrixTranspose({ shape: [2, 3, 4], perm: [0, 2, 1] })).toEqual({ batch: 2, rows: 3, cols: 4, inner: 1 });
    expect(asMatrixTranspose({ shape: [200, 8, 32], perm: [1, 0, 2] })).toEqual({ batch: 1, rows: 200, cols: 8, inner: 32 });
    expect(asMatrixTranspose({ shape: [2, 200, 8, 32], perm: [0, 2, 1, 3] })).toEqual({ batch: 2, rows: 200, cols: 8, inner: 32 });
    expect(asMatrixTranspose({ shape: [2, 3, 4], perm: [2, 0, 1] })).toBeNull();
  });

  it('moves int32 values bit for bit (including patterns that read as NaN in float32)', () => {
    const shape = [300, 257];
    const n = shape[0]! * shape[1]!;
    // 0x7f800001 and 0xffc00001 are signalling/quiet NaN bit patterns as float32.
    const data = Int32Array.from({ length: n }, (_, i) => (i % 3 === 0 ? 0x7f800001 : i % 3 === 1 ? -4194303 : i));
    for (const kernels of [true, false]) {
      setWasmKernelsEnabled(kernels);
      const y = tf.transpose(tf.tensor(data, shape, 'int32'), [1, 0]);
      expect([...y.dataSync()], kernels ? 'wasm kernels' : 'JS tiles').toEqual(referenceTranspose(data, shape, [1, 0]));
      y.dispose();
    }
  });
});
