import * as tf from '@tensorflow/tfjs';
import { detached } from '../util/detached.js';

/**
 * Mask2Former's masked-attention mask from predicted mask logits, off the gradient tape:
 * resize bilinearly to the attended scale (`F.interpolate(..., align_corners=False)`, i.e.
 * half-pixel centres), block where `sigmoid(logit) < 0.5`, then unblock every query row that
 * would be blocked everywhere (so it attends the whole scale instead of nothing).
 *
 * @param maskLogits - `[batch, queries, maskHeight, maskWidth]`.
 * @param size - `[height, width]` of the attended scale.
 * @returns bool `[batch, queries, height·width]`, `true` = blocked.
 */
export function maskedAttentionMask(maskLogits: tf.Tensor4D, size: readonly [number, number]): tf.Tensor3D {
  const [batch, queries, maskHeight, maskWidth] = maskLogits.shape;
  const [height, width] = size;
  return detached(() =>
    tf.tidy(() => {
      const images = tf.reshape(maskLogits, [batch * queries, maskHeight, maskWidth, 1]) as tf.Tensor4D;
      const resized =
        height === maskHeight && width === maskWidth
          ? images
          : tf.image.resizeBilinear(images, [height, width], false, true);
      const blocked = tf.less(tf.sigmoid(tf.reshape(resized, [batch, queries, height * width])), 0.5);
      const rowFullyBlocked = tf.all(blocked, -1, true);
      return tf.logicalAnd(blocked, tf.logicalNot(rowFullyBlocked)) as tf.Tensor3D;
    }),
  );
}
