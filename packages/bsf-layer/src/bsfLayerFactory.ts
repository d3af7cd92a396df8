import { deriveSeed, requireFinite, type DecoderLayerFactory, type DecoderLayerSpec } from '@flowseg/core';
import { BSFDecoderLayer } from './BSFDecoderLayer.js';
import { resolveBSFLayerOptions, type BSFLayerFactoryOptions } from './options.js';

/**
 * A {@link DecoderLayerFactory} that builds {@link BSFDecoderLayer}s sized by the decoder's
 * {@link DecoderLayerSpec} (width, heads, FFN width, dropout) with the given BSF switches;
 * with `seed`, layer `index` is seeded with `deriveSeed(seed, index)`. Options are validated
 * here, once, so a bad option fails before any decoder is built.
 *
 * @example
 * ```ts
 * // baseline, +SR, +SR+CR: one flag each
 * const full = bsfLayerFactory();
 * const srOnly = bsfLayerFactory({ conditionRefinement: false });
 * const baseline = bsfLayerFactory({ semanticRefinement: false, conditionRefinement: false });
 * const layers = [0, 1, 2].map((index) => full({ index, hiddenDim: 256, numHeads: 8, ffnDim: 2048, dropout: 0 }));
 * ```
 */
export function bsfLayerFactory(options: BSFLayerFactoryOptions = {}): DecoderLayerFactory {
  const opts = resolveBSFLayerOptions(options);
  const seed = options.seed === undefined ? undefined : requireFinite(options.seed, 'seed');
  return (spec: DecoderLayerSpec) =>
    new BSFDecoderLayer({
      hiddenDim: spec.hiddenDim,
      numHeads: spec.numHeads,
      ffnDim: spec.ffnDim,
      dropout: spec.dropout,
      semanticRefinement: opts.semanticRefinement,
      conditionRefinement: opts.conditionRefinement,
      crSource: opts.crSource,
      gateBiasInit: opts.gateBiasInit,
      seed: deriveSeed(seed, spec.index),
    });
}
