import { describe, it, expect, beforeAll } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { affine, DTypeError, ShapeError, ValueError, selectBackend } from '@flowseg/core';
import { expectNoLeaks } from '@flowseg/core/testing';

describe.each(['cpu', 'wasm'] as const)('affine on %s', (backend) => {
  beforeAll(async () => {
    expect((await selectBackend(backend)).backend).toBe(backend);
  });

  const x = () => tf.tensor2d([[1, 2], [3, -1], [0, 0.5]]);
  const w = () => tf.tensor2d([[1, 0, -1], [2, 1, 0]]);
  const b = () => tf.tensor1d([0.5, -1, 2]);

  it('computes x·W + b (hand-computed), and x·W without a bias', () => {
    const [xs, ws, bs] = [x(), w(), b()];
    const y = expectNoLeaks(() => affine(xs, ws, bs), { warmup: true });
    // Row 0: [1+4, 2, -1] + b; row 1: [3-2, -1, -3] + b; row 2: [1, 0.5, 0] + b.
    expect(y.arraySync()).toEqual([[5.5, 1, 1], [1.5, -2, -1], [1.5, -0.5, 2]]);
    expect(affine(xs, ws, null).arraySync()).toEqual([[5, 2, -1], [1, -1, -3], [1, 0.5, 0]]);
    tf.dispose([xs, ws, bs, y]);
  });

  it('refuses mismatched shapes and non-float32 inputs, naming the argument', () => {
    const [xs, ws, bs] = [x(), w(), b()];
    expect(() => affine(xs, tf.zeros([3, 3]) as tf.Tensor2D, bs)).toThrow(ShapeError);
    expect(() => affine(xs, tf.zeros([3, 3]) as tf.Tensor2D, bs)).toThrow(/^kernel: .*in: 3 ≠ 2/);
    expect(() => affine(xs, ws, tf.zeros([2]) as tf.Tensor1D)).toThrow(/^bias: .*out: 2 ≠ 3/);
    expect(() => affine(tf.zeros([2, 2, 2]) as unknown as tf.Tensor2D, ws, bs)).toThrow(/^x: .*rank 3/);
    expect(() => affine(tf.zeros([3, 2], 'int32') as tf.Tensor2D, ws, bs)).toThrow(DTypeError);
    tf.dispose([xs, ws, bs]);
  });

  it('takes zero rows, giving [0, out]', () => {
    const [ws, bs] = [w(), b()];
    const y = affine(tf.zeros([0, 2]) as tf.Tensor2D, ws, bs);
    expect(y.shape).toEqual([0, 3]);
    tf.dispose([ws, bs, y]);
  });

  it('sends gradients to x, W and b: dx = dy·Wᵀ, dW = xᵀ·dy, db = Σ_rows dy', () => {
    const [xs, ws, bs] = [x(), w(), b()];
    const dy = tf.tensor2d([[1, 0, 2], [0, -1, 1], [3, 1, 0]]);
    const [dx, dw, db] = tf.grads((a: tf.Tensor, k: tf.Tensor, c: tf.Tensor) => tf.sum(tf.mul(affine(a as tf.Tensor2D, k as tf.Tensor2D, c as tf.Tensor1D), dy)))([xs, ws, bs]);
    expect(dx!.arraySync()).toEqual([[-1, 2], [-1, -1], [3, 7]]);
    expect(dw!.arraySync()).toEqual([[1, -3, 5], [3.5, 1.5, 3]]);
    expect(db!.arraySync()).toEqual([4, 0, 3]);
    tf.dispose([xs, ws, bs, dy, dx!, dw!, db!]);
  });

  it("applies 'relu' in the product (one kernel, no Relu), with and without a bias, on zero rows too", async () => {
    const [xs, ws, bs] = [x(), w(), b()];
    const y = expectNoLeaks(() => affine(xs, ws, bs, 'relu'), { warmup: true });
    expect(y.arraySync()).toEqual([[5.5, 1, 1], [1.5, 0, 0], [1.5, 0, 2]]);
    expect(affine(xs, ws, null, 'relu').arraySync()).toEqual([[5, 2, 0], [1, 0, 0], [1, 0.5, 0]]);
    const kernels = (await tf.profile(() => affine(xs, ws, bs, 'relu'))).kernels.map((k) => k.name);
    expect(kernels).not.toContain('Relu');
    expect(affine(tf.zeros([0, 2]) as tf.Tensor2D, ws, bs, 'relu').shape).toEqual([0, 3]);
    expect(() => affine(xs, ws, bs, 'gelu' as never)).toThrow(ValueError);
    expect(() => affine(xs, ws, bs, 'gelu' as never)).toThrow(/^activation: /);
    tf.dispose([xs, ws, bs, y]);
  });

  it("sends gradients through 'relu' only where the output is positive", () => {
    const [xs, ws, bs] = [x(), w(), b()];
    const dy = tf.tensor2d([[1, 0, 2], [0, -1, 1], [3, 1, 0]]);
    const [dx, dw, db] = tf.grads((a: tf.Tensor, k: tf.Tensor, c: tf.Tensor) => tf.sum(tf.mul(affine(a as tf.Tensor2D, k as tf.Tensor2D, c as tf.Tensor1D, 'relu'), dy)))([xs, ws, bs]);
    // Outputs [[5.5, 1, 1], [1.5, -2, -1], [1.5, -0.5, 2]] before relu: dy masked to [[1, 0, 2], [0, 0, 0], [3, 0, 0]].
    expect(dx!.arraySync()).toEqual([[-1, 2], [0, 0], [3, 6]]);
    expect(dw!.arraySync()).toEqual([[1, 0, 2], [3.5, 0, 4]]);
    expect(db!.arraySync()).toEqual([4, 0, 2]);
    tf.dispose([xs, ws, bs, dy, dx!, dw!, db!]);
  });
});
