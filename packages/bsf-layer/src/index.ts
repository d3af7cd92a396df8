/**
 * `@flowseg/bsf-layer`: FlowSeg's Bidirectional Semantic Flow — semantic refinement (SR),
 * its gate, and condition refinement (CR) — as a drop-in layer for any Mask2Former-style
 * query decoder built on `@flowseg/core`'s `DecoderLayer` interface.
 * @packageDocumentation
 * @module @flowseg/bsf-layer
 */
export {
  SemanticGate,
  DEFAULT_GATE_BIAS_INIT,
  type SemanticGateConfig,
  type SemanticGateInputs,
  type SemanticGateOutputs,
} from './SemanticGate.js';
export {
  SemanticCrossAttention,
  type SemanticCrossAttentionConfig,
  type SemanticCrossAttentionInputs,
  type SemanticCrossAttentionOutputs,
} from './SemanticCrossAttention.js';
export {
  ConditionRefinement,
  type ConditionRefinementConfig,
  type ConditionRefinementInputs,
} from './ConditionRefinement.js';
export {
  BSFDecoderLayer,
  type BSFDecoderLayerConfig,
  type BSFDecoderLayerInputs,
  type BSFDecoderLayerOutputs,
} from './BSFDecoderLayer.js';
export { bsfLayerFactory } from './bsfLayerFactory.js';
export {
  CONDITION_REFINEMENT_SOURCES,
  type BSFLayerOptions,
  type BSFLayerFactoryOptions,
  type ConditionRefinementSource,
} from './options.js';
export { bsfLayerFlops, type BSFLayerFlops, type DecoderLayerSizes } from './flops.js';
