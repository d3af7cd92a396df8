import * as tf from '@tensorflow/tfjs';

/**
 * Fold non-overlapping `block×block` patches into channels:
 * `[batch, H, W, C]` → `[batch, H/block, W/block, block·block·C]`, channel order
 * `(row in patch, column in patch, C)`. Followed by a `Linear` this is a `block×block`,
 * stride-`block` convolution (ViT patch embedding) as one fast 2-D matmul.
 * `H` and `W` must be divisible by `block` (the callers check).
 */
export function spaceToDepth(x: tf.Tensor4D, block: number): tf.Tensor4D {
  const [b, h, w, c] = x.shape;
  return tf.tidy(() => {
    const split = tf.reshape(x, [b, h / block, block, w / block, block, c]);
    return tf.reshape(tf.transpose(split, [0, 1, 3, 2, 4, 5]), [b, h / block, w / block, block * block * c]);
  });
}
