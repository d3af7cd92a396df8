import type * as tf from '@tensorflow/tfjs';
import type { DecoderPrediction, PixelDecoderOutputs } from '@flowseg/mask2former-decoder';
import type { CandidateRegionEncoder } from './CandidateRegionEncoder.js';

/** Inputs of {@link FlowSegModel.forward}. */
export interface FlowSegInputs {
  /** RGB images `[batch, height, width, 3]`, float32 in `[0, 1]`, at the config's image size. */
  readonly images: tf.Tensor4D;
  /**
   * Token ids of the whole sequence `[batch, tokens]` (`<bos>` prompt answer `<eos>`; the
   * answer carries `<p>…</p>` phrases and `<SEG>`s): arrays or an int32 tensor.
   */
  readonly tokenIds: readonly (readonly number[])[] | tf.Tensor2D;
  /** `[batch, tokens]` 1 = real token, 0 = padding (arrays or int32 tensor); omitted = all real. */
  readonly attentionMask?: readonly (readonly number[])[] | tf.Tensor2D | null;
  /**
   * The language model's prefix for these images `[batch, numPrefixTokens, lmHidden]`, as
   * {@link FlowSegModel.languagePrefix} returned it, when the caller has it already (answer
   * generation does). `forward` then uses it instead of running the vision encoder (and, with
   * object tokens, the condition-free decoder pass) again; it is not disposed. Gradients reach the
   * encoders through it only when it was computed inside the same gradient function.
   * Omitted = computed here.
   */
  readonly languagePrefix?: tf.Tensor3D;
  /**
   * The pixel decoder's output for these images, as {@link FlowSegModel.pixelFeatures} returned
   * it, when the caller has it already (answer generation computed it for the language prefix):
   * `features` `[batch, height_i, width_i, channels]` (strides 32, 16, 8) and `maskFeatures`
   * `[batch, maskHeight, maskWidth, maskDim]`. `forward` then skips the segmentation encoder and
   * pixel decoder; it is not disposed. Omitted = computed here.
   */
  readonly pixelFeatures?: PixelDecoderOutputs;
  /** Training mode (dropout). */
  readonly training?: boolean;
  /**
   * Which candidates BAR refines (ignored when BAR is off); see {@link BarCandidates}.
   * Default `'all'`. `'selected'` is for inference only: with `training: true` it is refused.
   */
  readonly refine?: BarCandidates;
  /**
   * Return the decoder's deep-supervision predictions in `auxOutputs` (default `true`; the
   * training losses read them). Pass `false` at inference: `auxOutputs` is then empty and the
   * decoder predicts each attention mask at the scale it attends instead of at full resolution
   * (the same masks and outputs, about a fifth less decoder time on wasm; see the decoder's
   * `DecoderInputs.auxOutputs`).
   */
  readonly auxOutputs?: boolean;
}

/**
 * Which candidate masks {@link FlowSegModel.forward} passes through BAR:
 * - `'all'` (default): every candidate, so `candidateLogits` are all refined — what the
 *   training losses and the oracle metrics read;
 * - `'selected'`: only the selected candidate of each target. Selection reads the queries, the
 *   condition and (with a region encoder) the raw masks, never the refined ones, so
 *   `selectedLogits` are identical to `'all'`, at the cost of
 *   BAR on one mask per target instead of `queries` masks; `candidateLogits` then hold the raw
 *   logits except the selected candidate's, which is refined. Inference only.
 */
export type BarCandidates = 'all' | 'selected';

/**
 * Outputs of {@link FlowSegModel.forward}. The model segments one target per `<SEG>` token:
 * row `r` of every per-target tensor belongs to `<SEG>` number `segIndex[r]` of batch item
 * `batchIndex[r]` (items without `<SEG>` contribute no row; `targets` may be 0). The caller
 * owns every tensor.
 */
export interface FlowSegOutputs {
  /** Batch item of each target row. */
  readonly batchIndex: Int32Array;
  /** `<SEG>` ordinal (within its sequence) of each target row. */
  readonly segIndex: Int32Array;
  /** Next-token logits of the language model `[batch, tokens, vocab]`. */
  readonly lmLogits: tf.Tensor3D;
  /** Class logits of the candidates `[targets, queries, 2]` (object, no object). */
  readonly classLogits: tf.Tensor3D;
  /** Candidate mask logits before BAR `[targets, queries, maskHeight, maskWidth]`. */
  readonly rawCandidateLogits: tf.Tensor4D;
  /**
   * Candidate mask logits after BAR `[targets, queries, maskHeight, maskWidth]` (equal to the raw
   * ones when BAR is off; with `refine: 'selected'` only the selected candidate is refined).
   */
  readonly candidateLogits: tf.Tensor4D;
  /**
   * Candidate features `[targets, queries, channels]`: the output queries `Q_out` after the
   * decoder's final norm, plus each candidate's region embedding when the model has a
   * {@link CandidateRegionEncoder} (`config.selection.regionCropSize`). What the selector
   * projects (`scores = cos(W_q Q, W_c c) / τ`) and the attribute head reads; for analysis.
   */
  readonly queries: tf.Tensor3D;
  /**
   * Selection scores `cos(W_q Q, W_c c) / τ` of each candidate `[targets, queries]` (`Q` =
   * {@link FlowSegOutputs.queries}), plus the `LexicalSelector`'s term when the model has one.
   */
  readonly scores: tf.Tensor2D;
  /** Index of the selected candidate per target `[targets]`, int32. */
  readonly selectedIndex: tf.Tensor1D;
  /** Mask logits of the selected candidate `[targets, maskHeight, maskWidth]`. */
  readonly selectedLogits: tf.Tensor3D;
  /** Refined conditions `C⁽ᴸ⁾` of each target `[targets, conditions, channels]`. */
  readonly conditions: tf.Tensor3D;
  /** Which conditions each target reads `[targets, conditions]` (1 = tied phrase). */
  readonly conditionMask: tf.Tensor2D;
  /**
   * Deep-supervision predictions before the final one (initial queries, layers 0 … L−2); empty
   * when the call passed `auxOutputs: false`.
   */
  readonly auxOutputs: readonly DecoderPrediction[];
}

/** Outputs of {@link FlowSegModel.segmentorForward} (what a Mask2Former criterion reads). */
export interface SegmentorOutputs {
  /** Class logits `[batch, queries, 2]`. */
  readonly predLogits: tf.Tensor3D;
  /** Final mask logits (after BAR when enabled) `[batch, queries, maskHeight, maskWidth]`. */
  readonly predMasks: tf.Tensor4D;
  /** Deep-supervision predictions before the final one. */
  readonly auxOutputs: readonly DecoderPrediction[];
  /**
   * Candidate features `[batch, queries, channels]`: output queries `Q_out` after the decoder's
   * final norm, plus the region embedding of each candidate's raw mask when the model has a
   * region encoder (what the attribute head reads; see {@link FlowSegOutputs.queries}).
   */
  readonly queries: tf.Tensor3D;
}
