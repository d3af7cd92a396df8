import { resolveFlowSegConfig, type FlowSegConfig } from '@flowseg/flowseg-model';

/**
 * A reduced `small` configuration for many repeated runs (the GPU memory check): every part of
 * the model is present (BAR, SR, CR, selection), at 32×32 with 4 queries and 1 decoder layer.
 */
export const TINY_CONFIG: FlowSegConfig = resolveFlowSegConfig({
  image: { height: 32, width: 32 },
  segmentationEncoder: { stageChannels: [8, 16, 16, 16], blocksPerStage: [0, 1, 1, 1] },
  pixelDecoder: { convDim: 16, maskDim: 16, groups: 4 },
  visionEncoder: { patchSize: 8, width: 16, depth: 1, numHeads: 2, mergeSize: 2 },
  languageModel: { hiddenSize: 32, numLayers: 1, numHeads: 2, ffnSize: 64, maxPositions: 48 },
  adapter: { projectionHiddenDim: 32 },
  decoder: { numQueries: 4, numLayers: 1, hiddenDim: 16, numHeads: 2, ffnDim: 32 },
  bar: { compChannels: 4, hiddenChannels: 8 },
  selection: { projectionDim: 16 },
});
