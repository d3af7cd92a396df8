import * as tf from '@tensorflow/tfjs';

/**
 * `tf.tidy` typed by what `fn` returns: tensors reachable from the result through arrays and
 * plain objects (such as named interfaces like {@link AttentionOutputs}) survive, every other
 * tensor created in `fn` is disposed. Tensors inside a `Map` or a class instance are NOT seen
 * by `tf.tidy` and are disposed: return plain objects.
 */
export function tidy<T>(fn: () => T): T {
  return tf.tidy(fn as () => tf.TensorContainer) as T;
}
