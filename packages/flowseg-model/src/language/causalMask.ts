import * as tf from '@tensorflow/tfjs';

/**
 * Bool causal attention mask `[1, 1, length, length]`, `true` = blocked: position `i` may
 * attend to `j ≤ i` only.
 */
export function causalMask(length: number): tf.Tensor4D {
  return tf.tidy(() => {
    const pos = tf.range(0, length, 1, 'int32');
    // blocked[i, j] = j > i
    const blocked = tf.greater(tf.reshape(pos, [1, length]), tf.reshape(pos, [length, 1]));
    return tf.reshape(blocked, [1, 1, length, length]) as tf.Tensor4D;
  });
}
