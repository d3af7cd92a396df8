import type * as tf from '@tensorflow/tfjs';

/** Output of a {@link VisionEncoder}. */
export interface VisionTokens {
  /** Image tokens in the language model's width: `[batch, imageTokens, hidden]` float32. */
  readonly tokens: tf.Tensor3D;
}

/**
 * The "vanilla" vision encoder of FlowSeg (the paper uses SigLIP2 plus a projector): image →
 * a short sequence of semantic tokens, already projected to the language model's width, that
 * the language model reads as a prefix.
 *
 * Implement this to plug in another encoder; `PatchVisionEncoder` is the built-in one.
 * `forward` is leak-free and returns tensors the caller owns.
 */
export interface VisionEncoder {
  /** Width of the tokens (`D_llm`, the language model's `hiddenSize`). */
  readonly tokenDim: number;
  /** Tokens per image (`imageTokens`). */
  readonly numImageTokens: number;
  /** Weights an optimizer should update (empty for a frozen encoder). */
  readonly trainableWeights: tf.LayerVariable[];
  /**
   * Encode images.
   * @param image - `[batch, height, width, 3]` float32 RGB in 0..1.
   */
  forward(image: tf.Tensor4D): VisionTokens;
}
