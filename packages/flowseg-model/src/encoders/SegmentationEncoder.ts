import type * as tf from '@tensorflow/tfjs';

/**
 * Multi-scale features from a {@link SegmentationEncoder}, NHWC float32.
 *
 * With the paper's encoder (SAM-ViT-L) and an `H×W` image the strides are
 * `features` = 1/32, 1/16, 1/8 and `pixel` = 1/4; small built-in encoders use smaller
 * strides (see `SegmentationEncoder.featureStrides`).
 */
export interface SegmentationFeatures {
  /**
   * Three scales, coarse → fine, the order Mask2Former's decoder attends them in (round
   * robin from the coarsest): `[coarse [batch, H/s₀, W/s₀, C₀], mid [batch, H/s₁, W/s₁, C₁],
   * fine [batch, H/s₂, W/s₂, C₂]]` with `s₀ > s₁ > s₂` = `featureStrides` and `Cᵢ` =
   * `featureChannels`.
   */
  readonly features: readonly [tf.Tensor4D, tf.Tensor4D, tf.Tensor4D];
  /** Per-pixel features for mask logits (`F_pix`): `[batch, H/sₚ, W/sₚ, pixelChannels]`, `sₚ` = `pixelStride`. */
  readonly pixel: tf.Tensor4D;
}

/**
 * The segmentation encoder of FlowSeg (the paper uses SAM-ViT-L): image → multi-scale
 * features for the pixel decoder and per-pixel features for the mask head.
 *
 * Implement this to plug in another backbone; `ConvSegmentationEncoder` is the built-in one.
 * `forward` is leak-free and returns tensors the caller owns.
 */
export interface SegmentationEncoder {
  /** Strides of `features`, coarse → fine (paper: `[32, 16, 8]`). */
  readonly featureStrides: readonly [number, number, number];
  /** Channels of `features`, coarse → fine. */
  readonly featureChannels: readonly [number, number, number];
  /** Stride of `pixel` (paper: 4). */
  readonly pixelStride: number;
  /** Channels of `pixel`. */
  readonly pixelChannels: number;
  /** Weights an optimizer should update (empty for a frozen backbone). */
  readonly trainableWeights: tf.LayerVariable[];
  /**
   * Encode images.
   * @param image - `[batch, height, width, 3]` float32 RGB in 0..1; `height` and `width`
   *   divisible by the coarsest stride.
   */
  forward(image: tf.Tensor4D): SegmentationFeatures;
}
