import { describe, it, expect, beforeAll } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { selectBackend, tanhViaSigmoid } from '@flowseg/core';
import { expectNoLeaks } from '@flowseg/core/testing';

beforeAll(async () => {
  await selectBackend('wasm');
});

describe('tanhViaSigmoid', () => {
  const xs = [-30, -4, -1.5, -0.3, 0, 0.01, 0.7, 2, 5, 40];

  it('equals Math.tanh, keeps the shape and stays inside [−1, 1]', () => {
    const x = tf.tensor2d(xs, [2, 5]);
    const y = expectNoLeaks(() => tanhViaSigmoid(x), { warmup: true });
    expect(y.shape).toEqual([2, 5]);
    const got = [...y.dataSync()];
    got.forEach((v, i) => {
      expect(Math.abs(v - Math.tanh(xs[i]!))).toBeLessThan(2e-6);
      expect(Math.abs(v)).toBeLessThanOrEqual(1);
    });
    tf.dispose([x, y]);
  });

  it('has the gradient of tanh, 1 − tanh²(x)', () => {
    const x = tf.tensor1d(xs);
    const grad = tf.grad((t: tf.Tensor) => tf.sum(tanhViaSigmoid(t)))(x);
    [...grad.dataSync()].forEach((g, i) => {
      expect(Math.abs(g - (1 - Math.tanh(xs[i]!) ** 2))).toBeLessThan(1e-5);
    });
    tf.dispose([x, grad]);
  });
});
