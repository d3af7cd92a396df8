import * as tf from '@tensorflow/tfjs';

/**
 * Key padding mask for attention over conditions: bool `[batch, conditions]`, `true` where
 * `conditionMask ≤ 0` (padding; a mask entry counts as a real condition when it is > 0).
 */
export function conditionPaddingMask(conditionMask: tf.Tensor2D): tf.Tensor2D {
  return tf.lessEqual(conditionMask, 0);
}

/**
 * Which batch items have at least one real condition: bool `[batch, 1, 1]`, ready to
 * broadcast over `[batch, rows, channels]`.
 */
export function itemHasConditions(conditionMask: tf.Tensor2D): tf.Tensor3D {
  return tf.tidy(() => {
    const [b] = conditionMask.shape;
    return tf.reshape(tf.greater(tf.max(conditionMask, 1), 0), [b, 1, 1]) as tf.Tensor3D;
  });
}
