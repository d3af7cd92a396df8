import { VOCABULARY_WORDS } from '@flowseg/refseg-synth';
import { FlowSegModel, resolveFlowSegConfig, WordTokenizer, type FlowSegConfig, type FlowSegConfigOverrides } from '../../src/index.js';

/** The synthetic benchmark's words plus the alignment prompt's. */
export function tinyTokenizer(): WordTokenizer {
  return new WordTokenizer([...VOCABULARY_WORDS, 'describe', 'image']);
}

/**
 * A tiny FlowSeg configuration (32×32 images, 16×16 masks, 4 queries, 3 decoder layers,
 * widths 32): fast enough for many forward passes in a unit test.
 */
export function tinyConfig(overrides: FlowSegConfigOverrides = {}): FlowSegConfig {
  const base = resolveFlowSegConfig({
    image: { height: 32, width: 32 },
    segmentationEncoder: { stageChannels: [8, 16, 16, 32], blocksPerStage: [0, 1, 1, 1] },
    decoder: { numQueries: 4, numLayers: 3, hiddenDim: 32, numHeads: 2, ffnDim: 64 },
    pixelDecoder: { convDim: 32, maskDim: 32, groups: 4 },
    visionEncoder: { width: 32, depth: 1, numHeads: 2 },
    languageModel: { hiddenSize: 32, numLayers: 1, numHeads: 2, ffnSize: 64, maxPositions: 64 },
    adapter: { projectionHiddenDim: 32 },
    selection: { projectionDim: 16 },
  });
  return resolveFlowSegConfig(overrides, base);
}

/** A tiny model (see {@link tinyConfig}). */
export function tinyModel(overrides: FlowSegConfigOverrides = {}): FlowSegModel {
  return new FlowSegModel({ config: tinyConfig(overrides), tokenizer: tinyTokenizer() });
}
