import type * as tf from '@tensorflow/tfjs';

/**
 * Inputs of a {@link ConditionLanguageModel}: an optional image prefix and the text tokens.
 *
 * Sequence layout: the model sees `[imageTokens ; text tokens]`, i.e. the `I` image tokens
 * (if any) come first, at sequence positions `0 … I−1`, followed by the `T` text tokens at
 * positions `I … I+T−1`. Every output is reported for the text positions only, so index `t`
 * of an output always refers to `tokenIds[:, t]`, whatever `I` is.
 */
export interface LanguageModelInputs {
  /**
   * Image tokens already projected to the model width, `[batch, imageTokens, hidden]` float32
   * (e.g. from a `VisionEncoder`); `null`/absent for text-only input.
   */
  readonly imageTokens?: tf.Tensor3D | null;
  /** Text token ids `[batch, tokens]` int32. */
  readonly tokenIds: tf.Tensor2D;
  /**
   * Text attention mask `[batch, tokens]`, int32 or bool, 1/`true` = real token, 0/`false` =
   * padding (Hugging Face convention). Padding is never attended to. Omitted = all real.
   * Image tokens are always real.
   */
  readonly attentionMask?: tf.Tensor2D | null;
}

/** Outputs of {@link ConditionLanguageModel.forward}. */
export interface LanguageModelOutputs {
  /**
   * Last-layer hidden states (after the final norm) at the text positions,
   * `[batch, tokens, hidden]`: row `t` belongs to `tokenIds[:, t]`. FlowSeg reads its condition
   * embeddings (`<p>…</p>` spans) and segmentation embeddings (`<SEG>`) from here. Rows at
   * padding positions are meaningless.
   */
  readonly hiddenStates: tf.Tensor3D;
  /**
   * Next-token logits at the text positions, `[batch, tokens, vocab]`: row `t` scores the
   * token at `t + 1` given the image and `tokenIds[:, 0..t]`.
   */
  readonly logits: tf.Tensor3D;
}

/**
 * The language model of FlowSeg (the paper uses Qwen-3): reads image tokens and an
 * instruction, produces hidden states aligned to the text tokens and next-token logits.
 * Causal: the outputs at text position `t` depend only on the image tokens and
 * `tokenIds[:, 0..t]`.
 *
 * Implement this to plug in another model; `TinyCausalLM` is the built-in one. Implementing
 * `IncrementalLanguageModel` as well (a decoding cache) lets greedy decoding run one token per step.
 * Every method is leak-free and returns tensors the caller owns.
 */
export interface ConditionLanguageModel {
  /** Width of hidden states and of the image tokens it accepts (`D_llm`). */
  readonly hiddenSize: number;
  /** Vocabulary size (last axis of the logits). */
  readonly vocabSize: number;
  /** Longest sequence (image tokens + text tokens) the model accepts. */
  readonly maxPositions: number;
  /** Weights an optimizer should update (empty for a frozen model). */
  readonly trainableWeights: tf.LayerVariable[];
  /** Hidden states and logits in one pass. */
  forward(inputs: LanguageModelInputs): LanguageModelOutputs;
  /** Hidden states only: `[batch, tokens, hidden]` (see {@link LanguageModelOutputs.hiddenStates}). */
  hiddenStates(inputs: LanguageModelInputs): tf.Tensor3D;
  /** Next-token logits only: `[batch, tokens, vocab]` (see {@link LanguageModelOutputs.logits}). */
  logits(inputs: LanguageModelInputs): tf.Tensor3D;
}
