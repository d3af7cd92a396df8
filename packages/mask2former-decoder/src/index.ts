/**
 * `@flowseg/mask2former-decoder`: a faithful Mask2Former query decoder with pluggable layers,
 * an FPN pixel decoder, a Hungarian matcher, Mask2Former's set criterion, and a loader for
 * Hugging Face Mask2Former transformer-decoder weights.
 * @packageDocumentation
 * @module @flowseg/mask2former-decoder
 */
export {
  MASK2FORMER_DECODER_DEFAULTS,
  NUM_FEATURE_LEVELS,
  resolveDecoderConfig,
  type Mask2FormerDecoderConfig,
  type ResolvedMask2FormerDecoderConfig,
  type SerializedDecoderLayer,
} from './config/decoderConfig.js';
export { Mask2FormerDecoderLayer, type Mask2FormerDecoderLayerConfig } from './layers/Mask2FormerDecoderLayer.js';
export { MaskEmbeddingMlp, type MaskEmbeddingMlpConfig } from './layers/MaskEmbeddingMlp.js';
export { Mask2FormerDecoder } from './decoder/Mask2FormerDecoder.js';
export type { DecoderLayerInstance } from './decoder/buildDecoderLayers.js';
export type { DecoderInputs, DecoderOutputs, DecoderPrediction } from './decoder/decoderTypes.js';
export { maskedAttentionMask } from './decoder/maskedAttentionMask.js';
export { FpnPixelDecoder, FPN_INPUT_LEVELS, type FpnPixelDecoderConfig, type PixelDecoderInputs, type PixelDecoderOutputs, type PixelDecoderNorm } from './pixel/FpnPixelDecoder.js';
export { Conv2d, type Conv2dConfig } from './pixel/Conv2d.js';
export { GroupNorm, type GroupNormConfig } from './pixel/GroupNorm.js';
export { linearSumAssignment, type Assignment } from './matching/linearSumAssignment.js';
export { HungarianMatcher, type HungarianMatcherConfig, type ResolvedHungarianMatcherConfig } from './matching/HungarianMatcher.js';
export type { SegmentationTarget, MatchIndices } from './matching/targets.js';
export {
  SetCriterion,
  type SetCriterionConfig,
  type SetCriterionLosses,
  type LossTerms,
  type CriterionInputs,
  type ComputeLossOptions,
} from './losses/SetCriterion.js';
export {
  sigmoidCrossEntropyLoss,
  diceLoss,
  pairwiseSigmoidCrossEntropy,
  pairwiseDice,
  weightedCrossEntropy,
} from './losses/maskLosses.js';
export { samplePoints, sampleSharedPoints } from './sampling/pointSampling.js';
export { uncertaintyPointCoords, uniformPointCoords, type UncertaintySamplingOptions } from './sampling/uncertaintyPoints.js';
export { SeededRandom } from './util/SeededRandom.js';
export {
  huggingFaceKeyMap,
  type HuggingFaceSource,
  type HuggingFaceTransform,
  type PlainHuggingFaceTransform,
  type InProjHuggingFaceTransform,
  type HuggingFaceKeyPrefixes,
  type HuggingFaceKeyMapSizes,
} from './weights/huggingFaceKeyMap.js';
export {
  loadHuggingFaceDecoderWeights,
  loadHuggingFaceDecoderSafetensors,
  HuggingFaceWeightsError,
  type StateDict,
  type HuggingFaceLoadOptions,
  type HuggingFaceLoadReport,
} from './weights/loadHuggingFaceWeights.js';
