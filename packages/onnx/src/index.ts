/**
 * `@flowseg/onnx`: export FlowSeg layers to ONNX and run them with ONNX Runtime.
 *
 * TF.js stays the engine for training and authoring; for inference on CPUs, ONNX Runtime
 * runs the same weights several times faster. This package writes ONNX files with no
 * dependencies (a hand-written protobuf encoder and a graph builder), exports core's layers
 * through a registry other packages extend ({@link registerOnnxExporter}), and wraps ONNX
 * Runtime (`onnxruntime-node` / `onnxruntime-web`, optional peers) behind {@link OnnxSession}.
 * @packageDocumentation
 * @module @flowseg/onnx
 */
import { registerCoreOnnxExporters } from './exporters/coreExporters.js';
import { registerFlowSegOnnxExporters } from './exporters/flowSegExporters.js';

registerCoreOnnxExporters();
registerFlowSegOnnxExporters();

export { registerCoreOnnxExporters } from './exporters/coreExporters.js';
export { linearExporter, layerNormExporter, feedForwardExporter } from './exporters/linearExporters.js';
export { multiHeadAttentionExporter } from './exporters/attentionExporter.js';
export { crossAttentionBlockExporter, selfAttentionBlockExporter, feedForwardBlockExporter } from './exporters/blockExporters.js';
export { registerFlowSegOnnxExporters } from './exporters/flowSegExporters.js';
export {
  semanticGateExporter,
  semanticCrossAttentionExporter,
  conditionRefinementExporter,
  bsfDecoderLayerExporter,
  decoderLayerPorts,
} from './exporters/bsfExporters.js';
export { mask2FormerDecoderExporter, mask2FormerDecoderLayerExporter, maskEmbeddingMlpExporter } from './exporters/decoderExporters.js';
export { fpnPixelDecoderExporter, groupNormExporter, pixelConv2dExporter } from './exporters/pixelDecoderExporters.js';
export { boundaryAwareRefinementExporter, boundaryRefineNetExporter } from './exporters/barExporters.js';
export { llmConditionAdapterExporter, llmProjectionExporter } from './exporters/adapterExporters.js';
export {
  conditionQuerySelectorExporter,
  convSegmentationEncoderExporter,
  embeddingExporter,
  patchVisionEncoderExporter,
  preNormTransformerBlockExporter,
  residualConvBlockExporter,
  tinyCausalLMExporter,
} from './exporters/flowSegModelExporters.js';
export {
  exportFlowSegOnnx,
  FLOWSEG_ONNX_GRAPHS,
  type ExportFlowSegOnnxOptions,
  type FlowSegOnnxManifest,
  type FlowSegOnnxModels,
} from './flowseg/exportFlowSegOnnx.js';
export {
  OnnxFlowSegRunner,
  type OnnxFlowSegInputs,
  type OnnxFlowSegTypedOutputs,
  type OnnxDecoderPrediction,
  type OnnxFlowSegRunnerOptions,
} from './flowseg/OnnxFlowSegRunner.js';
export type { TokenRowsInput } from './flowseg/flowSegGlue.js';
export { exportOnnx, exportOnnxGraph, type ExportOnnxOptions, type OnnxInputSpec, type OnnxOutputSpec } from './export/exportOnnx.js';
export {
  registerOnnxExporter,
  unregisterOnnxExporter,
  findOnnxExporter,
  type OnnxLayerExporter,
  type LayerClass,
} from './export/registry.js';
export { OnnxExportContext } from './export/OnnxExportContext.js';
export type { OnnxInputPort, OnnxOutputPort, OnnxLayerSignature, OnnxPortValues } from './export/ports.js';
export {
  OnnxGraphBuilder,
  DEFAULT_OPSET_VERSION,
  DEFAULT_IR_VERSION,
  type OnnxGraphBuilderOptions,
  type OnnxModelOptions,
  type OnnxNodeOptions,
} from './graph/OnnxGraphBuilder.js';
export { onnxAttribute, type OnnxAttributeValue, type OnnxExplicitAttribute } from './graph/attributes.js';
export type { OnnxTypedTensor, OnnxTypedArray } from './graph/tensorData.js';
export {
  ONNX_DATA_TYPES,
  ONNX_ELEMENT_TYPES,
  ONNX_ATTRIBUTE_TYPES,
  ONNX_BYTES_PER_ELEMENT,
  type OnnxElementType,
  type OnnxAttributeKind,
  type OnnxDim,
  type OnnxTensorProto,
  type OnnxValueInfoProto,
  type OnnxAttributeProto,
  type OnnxNodeProto,
  type OnnxGraphProto,
  type OnnxOpsetIdProto,
  type OnnxModelProto,
} from './proto/onnxProto.js';
export { encodeModelProto } from './proto/encodeOnnx.js';
export { encodeVarint } from './proto/varint.js';
export {
  OnnxSession,
  type OnnxSessionOptions,
  type OnnxFeed,
  type OnnxRunOptions,
} from './runtime/OnnxSession.js';
export {
  loadOnnxRuntime,
  defaultOnnxRuntime,
  OnnxRuntimeUnavailableError,
  type OnnxRuntimeName,
  type OnnxRuntimeModule,
  type OrtSessionLike,
  type OrtTensorLike,
} from './runtime/loadOnnxRuntime.js';
