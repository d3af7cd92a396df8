import * as tf from '@tensorflow/tfjs';
import type { Mask2FormerDecoderConfig } from '@flowseg/mask2former-decoder';

/** A tiny decoder configuration for tests. */
export const TINY: Mask2FormerDecoderConfig = {
  numClasses: 3,
  numQueries: 6,
  numLayers: 4,
  hiddenDim: 16,
  numHeads: 4,
  ffnDim: 32,
  maskDim: 8,
  seed: 1,
};

/** Seeded random decoder inputs: scales 2², 3×4, 4² (coarsest first) and 8² mask features. */
export function tinyInputs(batch = 2, seed = 1, channels = 16, maskDim = 8): { features: tf.Tensor4D[]; maskFeatures: tf.Tensor4D } {
  const sizes: Array<[number, number]> = [
    [2, 2],
    [3, 4],
    [4, 4],
  ];
  const features = sizes.map(([h, w], i) => tf.randomNormal([batch, h, w, channels], 0, 1, 'float32', seed + i) as tf.Tensor4D);
  const maskFeatures = tf.randomNormal([batch, 8, 8, maskDim], 0, 1, 'float32', seed + 10) as tf.Tensor4D;
  return { features, maskFeatures };
}

/** Max |a − b| over all entries. */
export function maxAbsDiff(a: tf.Tensor, b: tf.Tensor): number {
  return tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]!);
}
