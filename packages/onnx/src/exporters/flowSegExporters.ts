import { BSFDecoderLayer, ConditionRefinement, SemanticCrossAttention, SemanticGate } from '@flowseg/bsf-layer';
import { BoundaryAwareRefinement, BoundaryRefineNet } from '@flowseg/bar-head';
import { LlmConditionAdapter, LlmProjection } from '@flowseg/llm-condition-adapter';
import { Conv2d, FpnPixelDecoder, GroupNorm, Mask2FormerDecoder, Mask2FormerDecoderLayer, MaskEmbeddingMlp } from '@flowseg/mask2former-decoder';
import {
  CandidateRegionEncoder,
  ObjectTokenEncoder,
  ConditionQuerySelector,
  ConvSegmentationEncoder,
  Embedding,
  PatchVisionEncoder,
  PreNormTransformerBlock,
  ResidualConvBlock,
  TinyCausalLM,
} from '@flowseg/flowseg-model';
import { registerOnnxExporter } from '../export/registry.js';
import { bsfDecoderLayerExporter, conditionRefinementExporter, semanticCrossAttentionExporter, semanticGateExporter } from './bsfExporters.js';
import { boundaryAwareRefinementExporter, boundaryRefineNetExporter } from './barExporters.js';
import { llmConditionAdapterExporter, llmProjectionExporter } from './adapterExporters.js';
import { mask2FormerDecoderExporter, mask2FormerDecoderLayerExporter, maskEmbeddingMlpExporter } from './decoderExporters.js';
import { fpnPixelDecoderExporter, groupNormExporter, pixelConv2dExporter } from './pixelDecoderExporters.js';
import {
  conditionQuerySelectorExporter,
  convSegmentationEncoderExporter,
  embeddingExporter,
  patchVisionEncoderExporter,
  preNormTransformerBlockExporter,
  residualConvBlockExporter,
  tinyCausalLMExporter,
} from './flowSegModelExporters.js';
import { candidateRegionEncoderExporter } from './regionExporters.js';
import { objectTokenEncoderExporter } from './objectTokenExporters.js';

/**
 * Register the exporters of FlowSeg's packages: `@flowseg/bsf-layer` (`SemanticGate`,
 * `SemanticCrossAttention`, `ConditionRefinement`, `BSFDecoderLayer`),
 * `@flowseg/mask2former-decoder` (`Mask2FormerDecoder`, `Mask2FormerDecoderLayer`,
 * `MaskEmbeddingMlp`, `FpnPixelDecoder`, `GroupNorm`, `Conv2d`), `@flowseg/bar-head`
 * (`BoundaryAwareRefinement`, `BoundaryRefineNet`), `@flowseg/llm-condition-adapter`
 * (`LlmConditionAdapter`'s tensor half, `LlmProjection`) and `@flowseg/flowseg-model`
 * (`ConvSegmentationEncoder`, `ResidualConvBlock`, `Conv2d`, `PatchVisionEncoder`,
 * `PreNormTransformerBlock`, `Embedding`, `TinyCausalLM`, `ConditionQuerySelector`,
 * `CandidateRegionEncoder`, `ObjectTokenEncoder`).
 * Importing `@flowseg/onnx` does this; call it again to restore them after replacing one.
 */
export function registerFlowSegOnnxExporters(): void {
  registerOnnxExporter(SemanticGate, semanticGateExporter);
  registerOnnxExporter(SemanticCrossAttention, semanticCrossAttentionExporter);
  registerOnnxExporter(ConditionRefinement, conditionRefinementExporter);
  registerOnnxExporter(BSFDecoderLayer, bsfDecoderLayerExporter);
  registerOnnxExporter(Mask2FormerDecoderLayer, mask2FormerDecoderLayerExporter);
  registerOnnxExporter(MaskEmbeddingMlp, maskEmbeddingMlpExporter);
  registerOnnxExporter(Mask2FormerDecoder, mask2FormerDecoderExporter);
  registerOnnxExporter(GroupNorm, groupNormExporter);
  registerOnnxExporter(Conv2d, pixelConv2dExporter);
  registerOnnxExporter(FpnPixelDecoder, fpnPixelDecoderExporter);
  registerOnnxExporter(BoundaryRefineNet, boundaryRefineNetExporter);
  registerOnnxExporter(BoundaryAwareRefinement, boundaryAwareRefinementExporter);
  registerOnnxExporter(LlmProjection, llmProjectionExporter);
  registerOnnxExporter(LlmConditionAdapter, llmConditionAdapterExporter);
  registerOnnxExporter(ResidualConvBlock, residualConvBlockExporter);
  registerOnnxExporter(ConvSegmentationEncoder, convSegmentationEncoderExporter);
  registerOnnxExporter(PreNormTransformerBlock, preNormTransformerBlockExporter);
  registerOnnxExporter(Embedding, embeddingExporter);
  registerOnnxExporter(PatchVisionEncoder, patchVisionEncoderExporter);
  registerOnnxExporter(TinyCausalLM, tinyCausalLMExporter);
  registerOnnxExporter(ConditionQuerySelector, conditionQuerySelectorExporter);
  registerOnnxExporter(CandidateRegionEncoder, candidateRegionEncoderExporter);
  registerOnnxExporter(ObjectTokenEncoder, objectTokenEncoderExporter);
}
