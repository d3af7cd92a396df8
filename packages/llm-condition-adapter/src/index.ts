/**
 * `@flowseg/llm-condition-adapter`: condition (C) and segmentation (S) embeddings for FlowSeg
 * from any language model's token ids and hidden states.
 * @packageDocumentation
 * @module @flowseg/llm-condition-adapter
 */
export {
  TokenSequenceError,
  UnclosedPhraseError,
  UnmatchedPhraseEndError,
  NestedPhraseError,
  EmptyPhraseError,
  SegInsidePhraseError,
  MissingSegError,
  TokenOutOfRangeError,
  type TokenSequenceProblem,
} from './errors/TokenSequenceError.js';
export { validateSpecialTokenIds, type SpecialTokenIds } from './tokens/SpecialTokenIds.js';
export { type TokenIdsInput, type TokenMaskInput } from './tokens/tokenRows.js';
export {
  parseSpecialTokens,
  type ParseSpecialTokensOptions,
  type EmptyPhrasePolicy,
  type PhraseSpan,
  type ParsedSequence,
  type ParsedTokens,
} from './tokens/parseSpecialTokens.js';
export {
  buildPoolingPlan,
  pooledPositions,
  PHRASE_POOLINGS,
  type PhrasePooling,
  type PoolingPlan,
  type PoolingPlanOptions,
} from './pooling/buildPoolingPlan.js';
export { LlmProjection, type LlmProjectionConfig } from './layers/LlmProjection.js';
export {
  LlmConditionAdapter,
  type LlmConditionAdapterConfig,
  type LlmConditionInputs,
  type LlmConditions,
  type PooledLlmStates,
} from './layers/LlmConditionAdapter.js';
