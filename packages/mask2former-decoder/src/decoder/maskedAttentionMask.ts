import * as tf from '@tensorflow/tfjs';
import { ShapeError, ValueError, checkShapes, requirePositiveInt } from '@flowseg/core';
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
  // Exported for custom decoders: check here, or a wrong rank surfaces as a reshape error.
  checkShapes({ maskLogits: { tensor: maskLogits, axes: ['batch', 'queries', 'maskHeight', 'maskWidth'], dtypes: ['float32'] } });
  const [batch, queries, maskHeight, maskWidth] = maskLogits.shape;
  if (maskHeight === 0 || maskWidth === 0) {
    throw new ShapeError('maskLogits', '[batch, queries, maskHeight ≥ 1, maskWidth ≥ 1]', maskLogits.shape, 'the masks are empty');
  }
  if (!Array.isArray(size) || size.length !== 2) throw new ValueError('size: expected [height, width]', 'size');
  const height = requirePositiveInt(size[0], 'size[0]');
  const width = requirePositiveInt(size[1], 'size[1]');
  return detached(() =>
    tf.tidy(() => {
      const images = tf.reshape(maskLogits, [batch * queries, maskHeight, maskWidth, 1]) as tf.Tensor4D;
      const resized =
        height === maskHeight && width === maskWidth
          ? images
          : tf.image.resizeBilinear(images, [height, width], false, true);
      const probs = tf.sigmoid(tf.reshape(resized, [batch, queries, height * width]));
      // Per row: block below 0.5, or nothing (threshold −1) when no pixel reaches 0.5. Float
      // ops on the full map instead of bool ones: wasm runs broadcast bool ops slowly, and
      // `p − t < 0 ⟺ p < t` holds exactly in floating point (no rounding to 0 for p ≠ t).
      const rowReaches = tf.greaterEqual(tf.max(probs, -1, true), 0.5);
      const threshold = tf.sub(tf.mul(tf.cast(rowReaches, 'float32'), 1.5), 1);
      return tf.less(tf.sub(probs, threshold), 0) as tf.Tensor3D;
    }),
  );
}
