import * as tf from '@tensorflow/tfjs';

/**
 * `tf.tidy` typed by what `fn` returns: tensors reachable from the result (including inside
 * named interfaces such as {@link AttentionOutputs}) survive, every other tensor created in
 * `fn` is disposed.
 */
export function tidy<T>(fn: () => T): T {
  return tf.tidy(fn as () => tf.TensorContainer) as T;
}
