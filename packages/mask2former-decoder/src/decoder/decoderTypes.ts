import type * as tf from '@tensorflow/tfjs';
import type { ConditionState } from '@flowseg/core';

/** Inputs of {@link Mask2FormerDecoder.forward}. */
export interface DecoderInputs {
  /**
   * The 3 feature scales, **coarsest first** (Mask2Former's order: strides 32, 16, 8), NHWC:
   * `[batch, height_i, width_i, featureChannels_i]`. Layer `l` attends scale `l mod 3`.
   */
  readonly features: readonly tf.Tensor4D[];
  /** Per-pixel mask features (stride 4): `[batch, maskHeight, maskWidth, maskDim]`. */
  readonly maskFeatures: tf.Tensor4D;
  /**
   * Added to the learned query features before the first prediction:
   * `[batch, 1 | queries, hidden]` (FlowSeg: `Q⁽⁰⁾ = Q + S`, S broadcast over the queries).
   */
  readonly queryOffset?: tf.Tensor3D | null;
  /** Condition state handed to the layers through the context, unchanged; the decoder never reads it. */
  readonly conditions?: ConditionState | null;
  /** Training mode (dropout active; default false). */
  readonly training?: boolean;
  /**
   * Return the deep-supervision predictions (default `true`). Pass `false` at inference:
   * `auxOutputs` is then empty and each masked-attention mask is predicted directly at the
   * scale it is used on, from mask features resized once per scale. The masks are the same
   * (bilinear resizing is linear, so `resize(mask_embed(Q)·F) = mask_embed(Q)·resize(F)`), but
   * the L full-resolution mask products are skipped; those are about a fifth of the paper
   * decoder's time on wasm. The final prediction is always at full resolution.
   */
  readonly auxOutputs?: boolean;
}

/** One set of predictions (final or auxiliary). */
export interface DecoderPrediction {
  /** Class logits `[batch, queries, numClasses + 1]`; the last class is "no object". */
  readonly predLogits: tf.Tensor3D;
  /** Mask logits `[batch, queries, maskHeight, maskWidth]` (at the mask features' resolution). */
  readonly predMasks: tf.Tensor4D;
}

/** Outputs of {@link Mask2FormerDecoder.forward}; the caller owns (and disposes) every tensor. */
export interface DecoderOutputs extends DecoderPrediction {
  /**
   * Deep-supervision predictions before the final one, in order: from the initial queries,
   * then after layers 0 … L−2 (`numLayers` entries; with the final one, L + 1 in all).
   */
  readonly auxOutputs: readonly DecoderPrediction[];
  /** Final query states after `decoder_norm`: `[batch, queries, hidden]`. */
  readonly queries: tf.Tensor3D;
  /**
   * The context's condition state after the last layer (e.g. FlowSeg's refined `C⁽ᴸ⁾`), or
   * `null` when none was given. Always fresh tensors: when no layer replaced the input state,
   * these are clones of it.
   */
  readonly conditions: ConditionState | null;
}
