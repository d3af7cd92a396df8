/**
 * `@flowseg/core`: typed tensor contracts, shape checking, attention and shared layers,
 * backend selection and weights I/O used by every FlowSeg package.
 * @packageDocumentation
 */
export { FlowSegError, ValueError, DTypeError, WeightsError } from './errors/FlowSegError.js';
export { ShapeError } from './shapes/ShapeError.js';
export { checkShapes, type AxisSpec, type TensorSpec, type AxisBindings } from './shapes/checkShapes.js';
export { FlowSegLayer, type WeightInitializer } from './layers/FlowSegLayer.js';
export { tidy } from './tensor/tidy.js';
export { Linear, type LinearConfig } from './layers/Linear.js';
export { LayerNorm, type LayerNormConfig } from './layers/LayerNorm.js';
export { FeedForward, type FeedForwardConfig } from './layers/FeedForward.js';
export {
  MultiHeadAttention,
  type MultiHeadAttentionConfig,
  type AttentionInputs,
  type AttentionOutputs,
} from './attention/MultiHeadAttention.js';
export type {
  DecoderLayer,
  DecoderLayerInputs,
  DecoderLayerContext,
  DecoderLayerSpec,
  DecoderLayerFactory,
  ConditionState,
} from './decoder/DecoderLayer.js';
export {
  selectBackend,
  onBackendStarted,
  isNode,
  BACKEND_NAMES,
  type BackendName,
  type BackendSelection,
  type BackendAttempt,
} from './backend/selectBackend.js';
