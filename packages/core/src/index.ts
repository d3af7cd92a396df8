/**
 * `@flowseg/core`: typed tensor contracts, shape checking, attention and shared layers,
 * backend selection and weights I/O used by every FlowSeg package.
 * @packageDocumentation
 * @module @flowseg/core
 */
import { installWasmKernels } from './backend/wasm/installWasmKernels.js';
import { installCpuKernels } from './backend/cpu/installCpuKernels.js';

// Importing core makes wasm's batched/transposed matmuls fast and its missing training
// kernels available, and fixes a wrong cpu gradient kernel, for FlowSeg and for any other
// model in the same process.
installWasmKernels();
installCpuKernels();

export { installWasmKernels, uninstallWasmKernels, WASM_KERNEL_PATCHES } from './backend/wasm/installWasmKernels.js';
export { installCpuKernels, CPU_KERNEL_PATCHES } from './backend/cpu/installCpuKernels.js';
export { FlowSegError, ValueError, DTypeError, WeightsError } from './errors/FlowSegError.js';
export { requirePositiveInt, requireInt, requireFinite, requireRate, requireBoolean } from './errors/requireValue.js';
export { ShapeError } from './shapes/ShapeError.js';
export { checkLastAxis } from './shapes/checkLastAxis.js';
export { decoderLayerInputSpecs } from './shapes/decoderLayerInputSpecs.js';
export { checkShapes, type AxisSpec, type NamedAxisSize, type TensorSpec, type AxisBindings } from './shapes/checkShapes.js';
export { FlowSegLayer, type WeightInitializer } from './layers/FlowSegLayer.js';
export { tidy } from './tensor/tidy.js';
export { tanhViaSigmoid } from './tensor/tanhViaSigmoid.js';
export { affine, type AffineActivation } from './tensor/affine.js';
export { deriveSeed } from './random/deriveSeed.js';
export { Linear, type LinearConfig } from './layers/Linear.js';
export { LayerNorm, type LayerNormConfig } from './layers/LayerNorm.js';
export { layerNormalization } from './layers/layerNormalization.js';
export { FeedForward, type FeedForwardConfig } from './layers/FeedForward.js';
export {
  MultiHeadAttention,
  type MultiHeadAttentionConfig,
  type AttentionInputs,
  type AttentionOutputs,
} from './attention/MultiHeadAttention.js';
export {
  attentionLayout,
  attentionLayoutFlops,
  type AttentionLayout,
  type AttentionLayoutOptions,
} from './attention/attentionLayout.js';
export {
  CrossAttentionBlock,
  type AttentionBlockConfig,
  type CrossAttentionBlockInputs,
} from './attention/CrossAttentionBlock.js';
export { SelfAttentionBlock, type SelfAttentionBlockInputs } from './attention/SelfAttentionBlock.js';
export { PostNormAttentionBlock } from './attention/PostNormAttentionBlock.js';
export { FeedForwardBlock, type FeedForwardBlockConfig } from './layers/FeedForwardBlock.js';
export { sinePositionEncoding2d, type SinePositionEncodingOptions } from './encoding/sinePositionEncoding2d.js';
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
  type SelectBackendOptions,
} from './backend/selectBackend.js';
export { ensureNodeWebGpu, type NodeWebGpuAdapter } from './backend/nodeWebGpu.js';
export { backendReadsSynchronously } from './backend/webGpuSyncRead.js';
export { backendKeepsDataOnHost } from './backend/hostMemoryBackend.js';
export {
  parseSafetensors,
  readSafetensors,
  SafetensorsFile,
  MAX_SAFETENSORS_HEADER_BYTES,
  type SafetensorsTensorInfo,
} from './weights/parseSafetensors.js';
export { serializeSafetensors, type NamedTensors } from './weights/serializeSafetensors.js';
export {
  SAFETENSORS_DTYPES,
  SAFETENSORS_BYTES_PER_ELEMENT,
  SAFETENSORS_DECODED_DTYPE,
  type SafetensorsDType,
} from './weights/safetensorsDTypes.js';
export type { DecodedTensorData } from './weights/decodeSafetensorsData.js';
export {
  getLayerWeights,
  setLayerWeights,
  WeightsMismatchError,
  type SetLayerWeightsOptions,
  type SetLayerWeightsResult,
} from './weights/layerWeights.js';
export { AdamW, type AdamWConfig } from './training/AdamW.js';
export { clipByGlobalNorm, type ClippedGradients } from './training/clipByGlobalNorm.js';
export { warmupCosineSchedule, type WarmupCosineOptions } from './training/warmupCosineSchedule.js';
