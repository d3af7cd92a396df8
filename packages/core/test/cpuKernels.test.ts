/**
 * Core's cpu kernel fix: `ResizeNearestNeighborGrad`. tfjs-backend-cpu 4.22 reads `dy` at the
 * images' batch stride, so every batch item after the first got a wrong gradient (found when the
 * FPN pixel decoder's gradients on cpu disagreed with wasm and WebGPU on a real GPU).
 */
import { afterAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { CPU_KERNEL_PATCHES, selectBackend } from '@flowseg/core';
import { expectNoLeaks } from '@flowseg/core/testing';
import { randomTensor } from './support/reference.js';

afterAll(async () => {
  await selectBackend('wasm');
});

/** `d/dx Σ resize(x)·dy`, by the kernel under test. */
function kernelGradient(x: tf.Tensor4D, dy: tf.Tensor4D, alignCorners: boolean, halfPixelCenters: boolean): Float32Array {
  const size: [number, number] = [dy.shape[1], dy.shape[2]];
  return tf.tidy(() => {
    const g = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(tf.image.resizeNearestNeighbor(t as tf.Tensor4D, size, alignCorners, halfPixelCenters), dy)))(x);
    return g.dataSync() as Float32Array;
  });
}

/**
 * The same gradient without the gradient kernel: the forward resize is linear, so
 * `dx[k] = Σ resize(e_k)·dy` with `e_k` the k-th basis image (one forward per input element).
 */
function basisGradient(x: tf.Tensor4D, dy: tf.Tensor4D, alignCorners: boolean, halfPixelCenters: boolean): Float32Array {
  const size: [number, number] = [dy.shape[1], dy.shape[2]];
  const out = new Float32Array(x.size);
  for (let k = 0; k < x.size; k++) {
    out[k] = tf.tidy(() => {
      const basis = tf.reshape(tf.oneHot(tf.tensor1d([k], 'int32'), x.size), x.shape) as tf.Tensor4D;
      return tf.sum(tf.mul(tf.image.resizeNearestNeighbor(basis, size, alignCorners, halfPixelCenters), dy)).dataSync()[0]!;
    });
  }
  return out;
}

describe('ResizeNearestNeighborGrad on cpu (FlowSeg kernel)', () => {
  it('is listed as a cpu patch', () => {
    expect(CPU_KERNEL_PATCHES).toContain('ResizeNearestNeighborGrad');
    expect(tf.getKernel('ResizeNearestNeighborGrad', 'cpu')).toBeDefined();
  });

  it('hand-computed: a batch of two 1×2 images upsampled to 2×4 sums each 2×2 block of its own item', async () => {
    await selectBackend('cpu');
    const x = tf.zeros([2, 1, 2, 1]) as tf.Tensor4D;
    // item 0: dy = 1..8, item 1: dy = 10, 20, …, 80 (rows of 4)
    const dy = tf.tensor4d([1, 2, 3, 4, 5, 6, 7, 8, 10, 20, 30, 40, 50, 60, 70, 80], [2, 2, 4, 1]);
    // pixel 0 of item 0 ← columns 0,1 of both rows: 1+2+5+6; pixel 1 ← 3+4+7+8
    expect([...kernelGradient(x, dy, false, false)]).toEqual([14, 22, 140, 220]);
    tf.dispose([x, dy]);
  });

  const cases = [
    { shape: [2, 3, 3, 2], size: [6, 6], alignCorners: false, halfPixelCenters: false },
    { shape: [3, 2, 3, 1], size: [5, 4], alignCorners: false, halfPixelCenters: false },
    { shape: [2, 4, 4, 2], size: [3, 2], alignCorners: false, halfPixelCenters: false },
    { shape: [2, 3, 3, 2], size: [5, 7], alignCorners: true, halfPixelCenters: false },
    { shape: [2, 3, 2, 2], size: [5, 5], alignCorners: false, halfPixelCenters: true },
  ] as const;
  it.each(cases)('equals Σ resize(e_k)·dy for $shape → $size (alignCorners $alignCorners, halfPixelCenters $halfPixelCenters), leak-free', async (c) => {
    await selectBackend('cpu');
    const x = randomTensor<tf.Rank.R4>([...c.shape], 5);
    const dy = randomTensor<tf.Rank.R4>([c.shape[0], c.size[0], c.size[1], c.shape[3]], 6);
    const expected = basisGradient(x, dy, c.alignCorners, c.halfPixelCenters);
    const actual = expectNoLeaks(() => kernelGradient(x, dy, c.alignCorners, c.halfPixelCenters), { warmup: true });
    expect(actual.length).toBe(expected.length);
    actual.forEach((v, i) => expect(v).toBeCloseTo(expected[i]!, 5));
    tf.dispose([x, dy]);
  });

  it('agrees with wasm on the FPN case (batch 2, ×2 upsampling)', async () => {
    const run = async (backend: 'cpu' | 'wasm') => {
      await selectBackend(backend);
      const x = randomTensor<tf.Rank.R4>([2, 4, 4, 3], 7);
      const dy = randomTensor<tf.Rank.R4>([2, 8, 8, 3], 8);
      const g = kernelGradient(x, dy, false, false);
      tf.dispose([x, dy]);
      return g;
    };
    const cpu = await run('cpu');
    const wasm = await run('wasm');
    cpu.forEach((v, i) => expect(v).toBeCloseTo(wasm[i]!, 5));
  });
});
