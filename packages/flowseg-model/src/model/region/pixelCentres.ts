import * as tf from '@tensorflow/tfjs';

/**
 * Normalized pixel-centre coordinates `(i + ½)/length`, `i = 0 … length − 1` (as the crop
 * sampler and `tf.image.resizeBilinear` with half-pixel centres place them).
 * @returns `[length]` float32.
 */
export function pixelCentres(length: number): tf.Tensor1D {
  return tf.tidy(() => tf.div(tf.add(tf.range(0, length, 1, 'float32'), 0.5), length));
}
