import * as tf from '@tensorflow/tfjs';

/**
 * Wrap a tensor function so that its result is cut from the gradient tape: the forward
 * value is `fn(x)`, the gradient with respect to `x` is exactly zero.
 *
 * Why: TF.js has no `stopGradient`, and comparison ops (`tf.greater`) have no gradient at
 * all, so a hard mask computed on the tape makes `tf.grad` throw. Inside `tf.customGrad`
 * the forward ops are not recorded, and the custom backward returns zeros.
 */
export function withoutGradient<T extends tf.Tensor>(fn: (x: tf.Tensor) => T): (x: tf.Tensor) => T {
  const cut = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const x = args[0] as tf.Tensor;
    // The backward needs only x's shape, captured here as plain numbers (no tensor kept).
    const shape = x.shape;
    return { value: fn(x), gradFunc: () => tf.zeros(shape) };
  });
  return (x: tf.Tensor) => cut(x) as T;
}
