import * as tf from '@tensorflow/tfjs';
import { ValueError, type DecoderLayer, type DecoderLayerFactory } from '@flowseg/core';
import type { ResolvedMask2FormerDecoderConfig, SerializedDecoderLayer } from '../config/decoderConfig.js';

/** A decoder layer as the decoder holds it: the typed interface plus TF.js layer bookkeeping. */
export type DecoderLayerInstance = DecoderLayer & tf.layers.Layer;

function checkLayer(layer: unknown, index: number, hiddenDim: number, field: string): DecoderLayerInstance {
  if (!(layer instanceof tf.layers.Layer)) {
    throw new ValueError(`${field}: layer ${index} is not a tf.layers.Layer`, field);
  }
  const candidate = layer as Partial<DecoderLayer> & tf.layers.Layer;
  if (typeof candidate.forwardLayer !== 'function') {
    throw new ValueError(`${field}: layer ${index} (${layer.getClassName()}) has no forwardLayer method`, field);
  }
  if (candidate.hiddenDim !== hiddenDim) {
    throw new ValueError(
      `${field}: layer ${index} (${layer.getClassName()}) has hiddenDim ${String(candidate.hiddenDim)}, the decoder ${hiddenDim}`,
      field,
    );
  }
  return candidate as DecoderLayerInstance;
}

/** @internal Builds the layers from serialized configs or a factory, checking each. */
export function buildDecoderLayers(
  config: ResolvedMask2FormerDecoderConfig,
  factory: DecoderLayerFactory,
  serialized: readonly SerializedDecoderLayer[] | undefined,
): DecoderLayerInstance[] {
  const { numLayers, hiddenDim, numHeads, ffnDim, dropout } = config;
  if (serialized !== undefined) {
    if (!Array.isArray(serialized) || serialized.length !== numLayers) {
      throw new ValueError(
        `layerConfigs: expected ${numLayers} entries (numLayers), received ${Array.isArray(serialized) ? serialized.length : typeof serialized}`,
        'layerConfigs',
      );
    }
    const registry = tf.serialization.SerializationMap.getMap().classNameMap;
    return serialized.map((entry, i) => {
      const registered = registry[entry?.className];
      if (!registered) {
        throw new ValueError(
          `layerConfigs: layer ${i} has class "${String(entry?.className)}", which is not registered (import the package that defines it)`,
          'layerConfigs',
        );
      }
      const [cls, fromConfig] = registered;
      return checkLayer(fromConfig(cls, entry.config), i, hiddenDim, 'layerConfigs');
    });
  }
  return Array.from({ length: numLayers }, (_, index) =>
    checkLayer(factory({ index, hiddenDim, numHeads, ffnDim, dropout }), index, hiddenDim, 'layerFactory'),
  );
}
