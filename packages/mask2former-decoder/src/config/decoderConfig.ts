import * as tf from '@tensorflow/tfjs';
import { ValueError, requireBoolean, requireFinite, requirePositiveInt, requireRate, type DecoderLayerFactory } from '@flowseg/core';

/** Number of feature scales the decoder attends, round robin (fixed by Mask2Former). */
export const NUM_FEATURE_LEVELS = 3;

/** A decoder layer as stored in a decoder's config: its registered class name and config. */
export interface SerializedDecoderLayer {
  /** Class name registered with `tf.serialization.registerClass`. */
  readonly className: string;
  /** The layer's `getConfig()`. */
  readonly config: tf.serialization.ConfigDict;
}

/**
 * Configuration of {@link Mask2FormerDecoder}. Every field is optional; the defaults are the
 * FlowSeg paper's decoder (Mask2Former's with N = 200 queries).
 */
export interface Mask2FormerDecoderConfig {
  /** Object classes `K`, without "no object" (default 1: FlowSeg segments one referred target; COCO panoptic uses 133). */
  numClasses?: number;
  /** Learned queries `N` (default 200, the paper's). */
  numQueries?: number;
  /** Decoder layers `L` (default 9 = 3 rounds × 3 scales). */
  numLayers?: number;
  /** Query / memory width `D` (default 256). */
  hiddenDim?: number;
  /** Attention heads (default 8). */
  numHeads?: number;
  /** FFN hidden width (default 2048). */
  ffnDim?: number;
  /** Dropout in training (default 0, as Mask2Former). */
  dropout?: number;
  /** Width of the per-pixel mask features and mask embeddings (default 256). */
  maskDim?: number;
  /**
   * Channel widths of the 3 input feature scales, coarsest first, or one width for all
   * (default `hiddenDim`). A scale whose width differs from `hiddenDim` gets a 1×1 input
   * projection (Mask2Former's `input_proj`).
   */
  featureChannels?: number | readonly number[];
  /** Give every scale an input projection even when widths match (Mask2Former's `enforce_input_project`; default false). */
  enforceInputProjection?: boolean;
  /**
   * Seed of every initializer of the decoder and its standard layers (default: unseeded).
   * Layers from a custom `layerFactory` are seeded by the factory.
   */
  seed?: number;
  /**
   * Builds the decoder layers (default: {@link Mask2FormerDecoderLayer.factory}). Not
   * serialized: `getConfig()` stores the built layers as `layerConfigs` instead.
   */
  layerFactory?: DecoderLayerFactory;
  /**
   * Layers to rebuild by registered class name (written by `getConfig()` when a custom factory
   * was used; takes precedence over `layerFactory`).
   */
  layerConfigs?: readonly SerializedDecoderLayer[];
  /** Layer name. */
  name?: string;
}

/** A {@link Mask2FormerDecoderConfig} with every default applied and validated. */
export interface ResolvedMask2FormerDecoderConfig {
  /** Object classes `K`. */
  readonly numClasses: number;
  /** Learned queries `N`. */
  readonly numQueries: number;
  /** Decoder layers `L`. */
  readonly numLayers: number;
  /** Query / memory width `D`. */
  readonly hiddenDim: number;
  /** Attention heads. */
  readonly numHeads: number;
  /** FFN hidden width. */
  readonly ffnDim: number;
  /** Dropout in training. */
  readonly dropout: number;
  /** Mask-feature width. */
  readonly maskDim: number;
  /** Widths of the 3 scales, coarsest first. */
  readonly featureChannels: readonly [number, number, number];
  /** Input projections even when widths match. */
  readonly enforceInputProjection: boolean;
  /** Initializer seed, if any. */
  readonly seed: number | undefined;
}

/** The FlowSeg paper's decoder configuration (Mask2Former's, N = 200). */
export const MASK2FORMER_DECODER_DEFAULTS: Readonly<Omit<ResolvedMask2FormerDecoderConfig, 'featureChannels' | 'seed'>> = {
  numClasses: 1,
  numQueries: 200,
  numLayers: 9,
  hiddenDim: 256,
  numHeads: 8,
  ffnDim: 2048,
  dropout: 0,
  maskDim: 256,
  enforceInputProjection: false,
};

/**
 * Apply defaults and validate.
 * @throws ValueError naming the offending field.
 */
export function resolveDecoderConfig(config: Mask2FormerDecoderConfig): ResolvedMask2FormerDecoderConfig {
  const d = MASK2FORMER_DECODER_DEFAULTS;
  const hiddenDim = requirePositiveInt(config.hiddenDim ?? d.hiddenDim, 'hiddenDim');
  const numHeads = requirePositiveInt(config.numHeads ?? d.numHeads, 'numHeads');
  if (hiddenDim % numHeads !== 0) {
    throw new ValueError(`numHeads: expected a divisor of hiddenDim=${hiddenDim}, received ${numHeads}`, 'numHeads');
  }
  if (hiddenDim % 2 !== 0) {
    // The sine position encoding splits channels into y and x halves.
    throw new ValueError(`hiddenDim: expected an even width, received ${hiddenDim}`, 'hiddenDim');
  }
  const rawChannels = config.featureChannels ?? hiddenDim;
  let featureChannels: [number, number, number];
  if (typeof rawChannels === 'number') {
    const c = requirePositiveInt(rawChannels, 'featureChannels');
    featureChannels = [c, c, c];
  } else {
    if (!Array.isArray(rawChannels) || rawChannels.length !== NUM_FEATURE_LEVELS) {
      throw new ValueError(
        `featureChannels: expected one width or ${NUM_FEATURE_LEVELS} widths (coarsest first), received ${JSON.stringify(rawChannels)}`,
        'featureChannels',
      );
    }
    featureChannels = rawChannels.map((c: unknown) => requirePositiveInt(c, 'featureChannels')) as [number, number, number];
  }
  return {
    numClasses: requirePositiveInt(config.numClasses ?? d.numClasses, 'numClasses'),
    numQueries: requirePositiveInt(config.numQueries ?? d.numQueries, 'numQueries'),
    numLayers: requirePositiveInt(config.numLayers ?? d.numLayers, 'numLayers'),
    hiddenDim,
    numHeads,
    ffnDim: requirePositiveInt(config.ffnDim ?? d.ffnDim, 'ffnDim'),
    dropout: requireRate(config.dropout ?? d.dropout, 'dropout'),
    maskDim: requirePositiveInt(config.maskDim ?? d.maskDim, 'maskDim'),
    featureChannels,
    enforceInputProjection: requireBoolean(config.enforceInputProjection ?? d.enforceInputProjection, 'enforceInputProjection'),
    seed: config.seed === undefined ? undefined : requireFinite(config.seed, 'seed'),
  };
}
