import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { DTypeError, LayerNorm, ShapeError, ValueError, layerNormalization, selectBackend } from '@flowseg/core';
import { expectNoLeaks } from '@flowseg/core/testing';
import { setWasmKernelsEnabled } from '../src/backend/wasm/flowSegWasmKernels.js';
import { FUSED_ADD_LAYER_NORM, FUSED_LAYER_NORM } from '../src/backend/wasm/layerNormKernel.js';
import { layerNormVec, maxAbsDiff, seededRandom } from './support/reference.js';

/**
 * Layer normalization: the fused wasm kernel and the composed ops against a float64
 * re-derivation, the fused kernel's registered gradient against autodiff of the composed ops
 * (cpu), the layer's choice of path, and no leaks.
 */

function values(n: number, seed: number, lo = -2, hi = 3): number[] {
  const rand = seededRandom(seed);
  return Array.from({ length: n }, () => lo + rand() * (hi - lo));
}

/** Names of the kernels `fn` runs. */
async function kernelsRun(fn: () => tf.Tensor): Promise<string[]> {
  const info = await tf.profile(() => fn());
  return info.kernels.map((k) => k.name);
}

beforeAll(async () => {
  await selectBackend('wasm', { wasmThreads: 1 });
});
afterAll(async () => {
  setWasmKernelsEnabled(true);
  await tf.setBackend('wasm');
});

const SHAPES: number[][] = [
  [3, 1], // one feature: variance 0, the output is β
  [4, 7], // not whole SIMD steps
  [2, 3, 256],
  [2, 2, 2, 13],
  [0, 5], // empty
];

describe('layerNormalization', () => {
  for (const fused of [true, false]) {
    it(`equals a float64 re-derivation row by row (${fused ? 'fused wasm kernel' : 'composed ops'})`, async () => {
      setWasmKernelsEnabled(fused);
      let seed = 1;
      for (const shape of SHAPES) {
        const cols = shape[shape.length - 1]!;
        const n = shape.reduce((a, b) => a * b, 1);
        const x = values(n, seed++);
        const gamma = values(cols, seed++, 0.5, 1.5);
        const beta = values(cols, seed++, -0.5, 0.5);
        const run = () => layerNormalization(tf.tensor(x, shape), tf.tensor1d(gamma), tf.tensor1d(beta), 1e-5);
        const names = await kernelsRun(run);
        expect(names.includes(FUSED_LAYER_NORM), `[${shape}] kernels ${names}`).toBe(fused);
        const y = tf.tidy(run);
        expect(y.shape).toEqual(shape);
        const got = y.dataSync();
        y.dispose();
        const f = (v: number[]) => [...Float32Array.from(v)];
        for (let r = 0; r < n / cols; r++) {
          const want = layerNormVec(f(x.slice(r * cols, (r + 1) * cols)), f(gamma), f(beta));
          expect(maxAbsDiff([...got.subarray(r * cols, (r + 1) * cols)], want), `[${shape}] row ${r}`).toBeLessThan(2e-5);
        }
      }
    });
  }

  for (const fused of [true, false]) {
    it(`normalizes x + residual like the sum normalized on its own (${fused ? 'fused wasm kernel' : 'composed ops'})`, async () => {
      setWasmKernelsEnabled(fused);
      const shape = [2, 3, 21];
      const [x, residual, gamma, beta] = [values(126, 31), values(126, 32), values(21, 33, 0.5, 1.5), values(21, 34)];
      const run = () => layerNormalization(tf.tensor(x, shape), tf.tensor1d(gamma), tf.tensor1d(beta), 1e-5, tf.tensor(residual, shape));
      const names = await kernelsRun(run);
      expect(names.includes(FUSED_ADD_LAYER_NORM)).toBe(fused);
      expect(names.includes('Add')).toBe(!fused); // the sum is formed inside the fused kernel
      const got = tf.tidy(run).arraySync();
      const f = (v: number[]) => [...Float32Array.from(v)];
      const sum = f(x.map((e, i) => Math.fround(e) + Math.fround(residual[i]!)));
      const want = Array.from({ length: 6 }, (_, r) => layerNormVec(sum.slice(r * 21, (r + 1) * 21), f(gamma), f(beta)));
      expect(maxAbsDiff(got, [want.slice(0, 3), want.slice(3)])).toBeLessThan(2e-5);
    });
  }

  it("fused kernel's gradient equals autodiff of the composed ops on cpu (x, γ, β)", async () => {
    setWasmKernelsEnabled(true);
    for (const shape of [
      [5, 9],
      [2, 3, 16],
    ]) {
      const cols = shape[shape.length - 1]!;
      const n = shape.reduce((a, b) => a * b, 1);
      const [x, gamma, beta, dy] = [values(n, 11), values(cols, 12, 0.5, 1.5), values(cols, 13), values(n, 14)];
      const grads = () =>
        tf.tidy(() => {
          const g = tf.grads((a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) => tf.sum(tf.mul(layerNormalization(a, b as tf.Tensor1D, c as tf.Tensor1D, 1e-5), tf.tensor(dy, shape))));
          return g([tf.tensor(x, shape), tf.tensor1d(gamma), tf.tensor1d(beta)]).map((t) => t.arraySync());
        });
      const names = await kernelsRun(() => tf.tidy(() => layerNormalization(tf.tensor(x, shape), tf.tensor1d(gamma), tf.tensor1d(beta), 1e-5)));
      expect(names).toContain(FUSED_LAYER_NORM);
      const onWasm = grads();
      await tf.setBackend('cpu');
      const onCpu = grads();
      await tf.setBackend('wasm');
      for (let i = 0; i < 3; i++) expect(maxAbsDiff(onWasm[i], onCpu[i]), `[${shape}] input ${i}`).toBeLessThan(2e-5);
      // A gradient that can fail: dx sums to 0 along the normalized axis (shifting x changes nothing).
      const dxRows = tf.tidy(() => tf.sum(tf.tensor(onWasm[0] as number[], shape), -1).arraySync()) as number[] | number[][];
      expect(maxAbsDiff(dxRows, tf.tidy(() => tf.zeros(shape.slice(0, -1)).arraySync()))).toBeLessThan(1e-4);
    }
  });

  it("fused kernel's gradient with a residual equals autodiff on cpu, and reaches x and the residual alike", async () => {
    setWasmKernelsEnabled(true);
    const shape = [4, 10];
    const [x, residual, gamma, beta, dy] = [values(40, 41), values(40, 42), values(10, 43, 0.5, 1.5), values(10, 44), values(40, 45)];
    const grads = () =>
      tf.tidy(() => {
        const g = tf.grads((a: tf.Tensor, r: tf.Tensor, b: tf.Tensor, c: tf.Tensor) =>
          tf.sum(tf.mul(layerNormalization(a, b as tf.Tensor1D, c as tf.Tensor1D, 1e-5, r), tf.tensor(dy, shape))),
        );
        return g([tf.tensor(x, shape), tf.tensor(residual, shape), tf.tensor1d(gamma), tf.tensor1d(beta)]).map((t) => t.arraySync());
      });
    const onWasm = grads();
    await tf.setBackend('cpu');
    const onCpu = grads();
    await tf.setBackend('wasm');
    for (let i = 0; i < 4; i++) expect(maxAbsDiff(onWasm[i], onCpu[i]), `input ${i}`).toBeLessThan(2e-5);
    expect(maxAbsDiff(onWasm[0], onWasm[1])).toBe(0);
    // x also feeds an op taped before the residual's: the tape accumulates into x's gradient
    // (disposing the first one) while the residual's is still to be used. No leaks either.
    const shared = () =>
      tf.tidy(() => {
        const [g, b] = [tf.tensor1d(gamma), tf.tensor1d(beta)];
        const f = (a: tf.Tensor) => {
          const u = tf.mul(a, 3);
          const r = tf.mul(a, 2);
          const w = tf.sum(u);
          return tf.add(tf.sum(tf.mul(layerNormalization(u, g, b, 1e-5, r), tf.tensor(dy, shape))), w);
        };
        return tf.grad(f)(tf.tensor(x, shape)).arraySync();
      });
    const sharedWasm = shared();
    expectNoLeaks(() => void shared(), { warmup: true });
    await tf.setBackend('cpu');
    const sharedCpu = shared();
    await tf.setBackend('wasm');
    expect(maxAbsDiff(sharedWasm, sharedCpu)).toBeLessThan(2e-5);
  });

  it('LayerNorm runs the fused kernel on wasm and the composed ops elsewhere, with the same output and no leaks', async () => {
    setWasmKernelsEnabled(true);
    const norm = new LayerNorm({ features: 12 });
    norm.ensureBuilt();
    const x = values(3 * 12, 21);
    const run = () => norm.forward(tf.tensor(x, [3, 12]));
    expect(await kernelsRun(run)).toContain(FUSED_LAYER_NORM);
    const onWasm = tf.tidy(() => run().arraySync());
    expectNoLeaks(() => tf.tidy(() => void run()), { warmup: true });
    expectNoLeaks(() => tf.tidy(() => void tf.grads((a: tf.Tensor) => tf.sum(norm.forward(a)))([tf.tensor(x, [3, 12])])), { warmup: true });
    setWasmKernelsEnabled(false);
    expect(await kernelsRun(run)).not.toContain(FUSED_LAYER_NORM);
    setWasmKernelsEnabled(true);
    await tf.setBackend('cpu');
    expect(await kernelsRun(run)).not.toContain(FUSED_LAYER_NORM);
    const onCpu = tf.tidy(() => run().arraySync());
    await tf.setBackend('wasm');
    expect(maxAbsDiff(onWasm, onCpu)).toBeLessThan(1e-5);
  });

  it('rejects bad arguments with errors naming them', () => {
    const x = tf.zeros([2, 4]);
    const g = tf.ones([4]) as tf.Tensor1D;
    const b = tf.zeros([4]) as tf.Tensor1D;
    expect(() => layerNormalization(tf.scalar(1), g, b, 1e-5)).toThrow(ShapeError);
    expect(() => layerNormalization(tf.zeros([2, 4], 'int32'), g, b, 1e-5)).toThrow(DTypeError);
    expect(() => layerNormalization(x, tf.ones([3]) as tf.Tensor1D, b, 1e-5)).toThrow(/gamma/);
    expect(() => layerNormalization(x, g, tf.zeros([1, 4]) as unknown as tf.Tensor1D, 1e-5)).toThrow(/beta.*rank 2/);
    expect(() => layerNormalization(x, g, b, -1)).toThrow(ValueError);
    expect(() => layerNormalization(x, g, b, Number.NaN)).toThrow(/epsilon/);
    expect(() => layerNormalization(x, g, b, 1e-5, tf.zeros([1, 4]))).toThrow(/^residual: .*no broadcasting/);
    expect(() => new LayerNorm({ features: 4 }).forward(x, tf.zeros([2, 4], 'int32'))).toThrow(DTypeError);
    tf.dispose([x, g, b]);
  });
});
