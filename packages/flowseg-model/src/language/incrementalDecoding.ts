import type * as tf from '@tensorflow/tfjs';
import type { ConditionLanguageModel, LanguageModelInputs } from './ConditionLanguageModel.js';

/**
 * What a language model keeps between greedy-decoding steps so that a step processes only the
 * new token instead of the whole sequence. Opaque to callers: pass it back to
 * {@link IncrementalLanguageModel.continueDecoding} and dispose it when done (each call returns a
 * new cache; the previous one stays valid until disposed).
 */
export interface DecodingCache {
  /** Sequence positions (image + text tokens) the cache covers. */
  readonly length: number;
  /** Frees the cache's tensors. */
  dispose(): void;
}

/** Next-token logits at the last position and the cache that continues from it. */
export interface DecodingStep {
  /** Next-token logits of the last token of every row `[batch, vocab]`. */
  readonly logits: tf.Tensor2D;
  /** The state after the last token (caller disposes). */
  readonly cache: DecodingCache;
}

/**
 * A {@link ConditionLanguageModel} that can decode incrementally: the logits of each step equal
 * (up to float rounding) the last row of `logits()` over the whole sequence so far.
 */
export interface IncrementalLanguageModel extends ConditionLanguageModel {
  /**
   * Run the prompt (`inputs` as for `logits`, left-padded with an `attentionMask` when rows differ)
   * and return its last position's logits with a cache.
   */
  startDecoding(inputs: LanguageModelInputs): DecodingStep;
  /**
   * Append one token per row to the sequence `cache` holds.
   * @param cache - from `startDecoding` or an earlier `continueDecoding` (not disposed by this call).
   * @param tokenIds - the next token of every row `[batch, 1]` int32.
   */
  continueDecoding(cache: DecodingCache, tokenIds: tf.Tensor2D): DecodingStep;
}

/** Whether `model` decodes incrementally (has `startDecoding` and `continueDecoding`). */
export function isIncrementalLanguageModel(model: ConditionLanguageModel): model is IncrementalLanguageModel {
  const m = model as Partial<IncrementalLanguageModel>;
  return typeof m.startDecoding === 'function' && typeof m.continueDecoding === 'function';
}
