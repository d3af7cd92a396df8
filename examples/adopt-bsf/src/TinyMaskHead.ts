import * as tf from '@tensorflow/tfjs';
import {
  FlowSegLayer,
  LayerNorm,
  Linear,
  deriveSeed,
  sinePositionEncoding2d,
  tidy,
  type ConditionState,
  type DecoderLayer,
  type DecoderLayerContext,
  type DecoderLayerFactory,
} from '@flowseg/core';

/** Sizes of {@link TinyMaskHead} and the factory that builds its decoder layers. */
export interface TinyMaskHeadConfig {
  hiddenDim: number;
  numQueries: number;
  numLayers: number;
  numHeads: number;
  ffnDim: number;
  /** Width of the (stand-in) language model's hidden states. */
  llmDim: number;
  /** Builds each decoder layer: the standard one, or `bsfLayerFactory(...)`. */
  layerFactory: DecoderLayerFactory;
  /** Seed of the head's own initializers (the layers are seeded by their factory). */
  seed: number;
}

/** Outputs of {@link TinyMaskHead.forward}. */
export interface TinyMaskHeadOutputs {
  /** Mask logits per query `[batch, queries, height·width]`. */
  readonly maskLogits: tf.Tensor3D;
  /** Final queries, normalised `[batch, queries, channels]`. */
  readonly queries: tf.Tensor3D;
  /** Conditions after the last layer (refined by BSF layers, untouched by standard ones). */
  readonly conditions: ConditionState;
}

/**
 * A small Mask2Former-style head, written the way a user of `@flowseg/core` would: per-pixel
 * features, learned queries, a stack of pluggable decoder layers with Mask2Former's masked
 * attention (the mask predicted after each layer blocks the next layer's cross-attention),
 * and dot-product mask prediction. Conditions (phrase states projected to the decoder width,
 * FlowSeg's `φ_llm`) travel through the layers in the decoder context.
 */
export class TinyMaskHead extends FlowSegLayer {
  static readonly className = 'ExampleTinyMaskHead';
  readonly config: TinyMaskHeadConfig;
  readonly layers: Array<DecoderLayer & tf.layers.Layer>;
  private pixelProj!: Linear;
  private conditionProj!: Linear;
  private maskProj!: Linear;
  private decoderNorm!: LayerNorm;
  private queryFeat!: tf.LayerVariable;
  private queryEmbed!: tf.LayerVariable;

  constructor(config: TinyMaskHeadConfig) {
    super({});
    this.config = config;
    this.layers = Array.from({ length: config.numLayers }, (_, index) =>
      config.layerFactory({ index, hiddenDim: config.hiddenDim, numHeads: config.numHeads, ffnDim: config.ffnDim, dropout: 0 }),
    );
  }

  override build(): void {
    if (this.built) return;
    const { hiddenDim: d, numQueries: n, llmDim, seed } = this.config;
    this.queryFeat = this.addParam('query_feat', [n, d], tf.initializers.randomNormal({ stddev: 1, seed }));
    this.queryEmbed = this.addParam('query_embed', [n, d], tf.initializers.randomNormal({ stddev: 1, seed: seed + 1 }));
    this.pixelProj = this.addChild('pixel_proj', new Linear({ inFeatures: 3, outFeatures: d, seed: deriveSeed(seed, 2) }));
    this.conditionProj = this.addChild(
      'condition_proj',
      new Linear({ inFeatures: llmDim, outFeatures: d, seed: deriveSeed(seed, 3) }),
    );
    this.layers.forEach((layer, i) => this.addChild(`layers.${i}`, layer));
    this.decoderNorm = this.addChild('decoder_norm', new LayerNorm({ features: d }));
    this.maskProj = this.addChild('mask_embed', new Linear({ inFeatures: d, outFeatures: d, seed: deriveSeed(seed, 4) }));
    for (const child of this.children()) (child as FlowSegLayer).ensureBuilt();
    super.build([]);
  }

  /** Run the head. */
  forward(images: tf.Tensor4D, phraseStates: tf.Tensor3D, phraseMask: tf.Tensor2D, training = false): TinyMaskHeadOutputs {
    this.ensureBuilt();
    return tidy((): TinyMaskHeadOutputs => {
      const [b, h, w] = images.shape;
      const { hiddenDim: d, numQueries: n } = this.config;
      const memory = this.pixelProj.forward(tf.reshape(images, [b, h * w, 3])) as tf.Tensor3D;
      const memoryPos = tf.tile(tf.expandDims(sinePositionEncoding2d(h, w, d), 0), [b, 1, 1]) as tf.Tensor3D;
      let queries = tf.tile(tf.expandDims(this.queryFeat.read(), 0), [b, 1, 1]) as tf.Tensor3D;
      const queryPos = tf.tile(tf.expandDims(this.queryEmbed.read(), 0), [b, 1, 1]) as tf.Tensor3D;
      let conditions: ConditionState | null = {
        conditions: this.conditionProj.forward(phraseStates),
        conditionMask: phraseMask,
      };
      let prediction = this.predict(queries, memory);
      for (const [index, layer] of this.layers.entries()) {
        const context: DecoderLayerContext = {
          layerIndex: index,
          numLayers: this.layers.length,
          level: 0,
          training,
          conditions,
          extras: new Map(),
        };
        const attentionMask = this.attentionMask(prediction.maskLogits);
        queries = layer.forwardLayer({ queries, queryPos, memory, memoryPos, attentionMask }, context);
        conditions = context.conditions;
        prediction = this.predict(queries, memory);
      }
      return { ...prediction, conditions: conditions! };
    });
  }

  /** Mask2Former's prediction: `M = mask_embed(norm(Q)) · F_pixᵀ`. */
  private predict(queries: tf.Tensor3D, memory: tf.Tensor3D): { maskLogits: tf.Tensor3D; queries: tf.Tensor3D } {
    const normed = this.decoderNorm.forward(queries);
    const maskLogits = tf.matMul(this.maskProj.forward(normed), memory, false, true) as tf.Tensor3D;
    return { maskLogits, queries: normed };
  }

  /**
   * Masked attention: block pixels the current mask calls background, unless that blocks them
   * all. Like Mask2Former the mask carries no gradient; TF.js comparisons have none, so the mask
   * is rebuilt from its values, off the gradient tape.
   */
  private attentionMask(maskLogits: tf.Tensor3D): tf.Tensor3D {
    const values = tf.tidy(() => {
      const blocked = tf.less(maskLogits, 0); // σ(x) < 0.5
      return tf.logicalAnd(blocked, tf.logicalNot(tf.all(blocked, -1, true)));
    });
    const mask = tf.tensor3d(values.dataSync() as Uint8Array, maskLogits.shape, 'bool');
    values.dispose();
    return mask;
  }
}
