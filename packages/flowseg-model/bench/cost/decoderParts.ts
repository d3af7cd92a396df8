import { Mask2FormerDecoder } from '@flowseg/mask2former-decoder';
import { bsfLayerFactory } from '@flowseg/bsf-layer';
import { BoundaryAwareRefinement, type RefineEvaluation } from '@flowseg/bar-head';
import { backendReadsSynchronously } from '@flowseg/core';
import { FlowSegModel, type FlowSegConfig, type WordTokenizer } from '../../src/index.js';

/** The decoder-side parts whose overhead the paper reports, built as `FlowSegModel` builds them. */
export interface DecoderParts {
  /** Baseline: Mask2Former's decoder with its standard layers. */
  readonly standard: Mask2FormerDecoder;
  /** The same decoder with BSF layers (switches from the config). */
  readonly bsf: Mask2FormerDecoder;
  /** BAR on the final masks. */
  readonly bar: BoundaryAwareRefinement;
  /** Free every weight. */
  dispose(): void;
}

/**
 * BAR's evaluation on the active backend: `'band'` (its default) reads the band back to the
 * CPU, which backends that cannot read synchronously (WebGPU) refuse; they get `'dense'`.
 */
export function barEvaluation(): RefineEvaluation {
  return backendReadsSynchronously() ? 'band' : 'dense';
}

/** Standard decoder, BSF decoder and BAR for `config`, with `numQueries` queries (default the config's). */
export function buildDecoderParts(config: FlowSegConfig, numQueries = config.decoder.numQueries): DecoderParts {
  const d = config.decoder;
  const sizes = {
    numClasses: 1,
    numQueries,
    numLayers: d.numLayers,
    hiddenDim: d.hiddenDim,
    numHeads: d.numHeads,
    ffnDim: d.ffnDim,
    maskDim: config.pixelDecoder.maskDim,
    featureChannels: config.pixelDecoder.convDim,
    seed: 5,
  };
  const standard = new Mask2FormerDecoder(sizes);
  const bsf = new Mask2FormerDecoder({
    ...sizes,
    layerFactory: bsfLayerFactory({
      semanticRefinement: config.bsf.semanticRefinement,
      conditionRefinement: config.bsf.conditionRefinement,
      crSource: config.bsf.crSource,
      seed: 6,
    }),
  });
  const bar = new BoundaryAwareRefinement({
    featureChannels: config.pixelDecoder.maskDim,
    compChannels: config.bar.compChannels,
    hiddenChannels: config.bar.hiddenChannels,
    epsilon: config.bar.epsilon,
    bandKernel: config.bar.bandKernel,
    adaptiveThreshold: config.bar.adaptiveThreshold,
    evaluation: barEvaluation(),
    seed: 7,
  });
  for (const part of [standard, bsf, bar]) part.ensureBuilt();
  return {
    standard,
    bsf,
    bar,
    dispose: () => {
      for (const part of [standard, bsf, bar]) part.dispose();
    },
  };
}

/**
 * A `FlowSegModel` for the benchmark: as built from `config`, with BAR switched to the
 * evaluation the backend supports (see {@link barEvaluation}; `FlowSegConfig` has no field
 * for it, so the frozen settings are replaced, as `backends.bench.ts` does).
 */
export function buildBenchModel(config: FlowSegConfig, tokenizer: WordTokenizer): FlowSegModel {
  const model = new FlowSegModel({ config, tokenizer });
  if (model.bar && model.bar.settings.evaluation !== barEvaluation()) {
    Object.defineProperty(model.bar, 'settings', { value: Object.freeze({ ...model.bar.settings, evaluation: barEvaluation() }) });
  }
  return model;
}
