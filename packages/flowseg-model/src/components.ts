/**
 * FlowSeg's three big parts: the segmentation encoder, the vision encoder and the language
 * model, as interfaces (plug real models in) with small built-in implementations trainable
 * from scratch on a CPU, plus the word-level tokenizer. Re-exported by the package index.
 */
export type { SegmentationEncoder, SegmentationFeatures } from './encoders/SegmentationEncoder.js';
export type { VisionEncoder, VisionTokens } from './encoders/VisionEncoder.js';
export {
  ConvSegmentationEncoder,
  type ConvSegmentationEncoderConfig,
} from './encoders/ConvSegmentationEncoder.js';
export { PatchVisionEncoder, type PatchVisionEncoderConfig } from './encoders/PatchVisionEncoder.js';
// The stride-1 'same' convolution is mask2former-decoder's; re-exported here for compatibility.
export { Conv2d, type Conv2dConfig } from '@flowseg/mask2former-decoder';
export { ResidualConvBlock, type ResidualConvBlockConfig } from './encoders/ResidualConvBlock.js';
export { spaceToDepth } from './encoders/spaceToDepth.js';

export type {
  ConditionLanguageModel,
  LanguageModelInputs,
  LanguageModelOutputs,
} from './language/ConditionLanguageModel.js';
export { TinyCausalLM, type TinyCausalLMConfig, type LanguageModelLossInputs } from './language/TinyCausalLM.js';
export {
  PreNormTransformerBlock,
  type PreNormTransformerBlockConfig,
  type PreNormTransformerBlockInputs,
} from './language/PreNormTransformerBlock.js';
export { Embedding, type EmbeddingConfig } from './language/Embedding.js';
export { causalMask } from './language/causalMask.js';
export { nextTokenCrossEntropy, type NextTokenLossInputs } from './language/nextTokenLoss.js';
export { greedyGenerate, greedyGenerateAsync, type GenerateOptions } from './language/greedyGenerate.js';
export {
  isIncrementalLanguageModel,
  type IncrementalLanguageModel,
  type DecodingCache,
  type DecodingStep,
} from './language/incrementalDecoding.js';

export {
  WordTokenizer,
  type WordTokenizerOptions,
  type FromCorpusOptions,
  type EncodeOptions,
  type EncodeBatchOptions,
  type DecodeOptions,
  type BatchEncoding,
  type TokenBatch,
  type WordTokenizerJSON,
} from './tokenizer/WordTokenizer.js';
export { SPECIAL_TOKENS, SPECIAL_TOKEN_LIST } from './tokenizer/specialTokens.js';
export { pretokenize } from './tokenizer/pretokenize.js';
