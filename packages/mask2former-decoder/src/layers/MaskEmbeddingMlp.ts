import * as tf from '@tensorflow/tfjs';
import { FlowSegLayer, Linear, deriveSeed, requirePositiveInt } from '@flowseg/core';

/** Configuration of {@link MaskEmbeddingMlp}. */
export interface MaskEmbeddingMlpConfig {
  /** Input width (the decoder's hidden width). */
  inputDim: number;
  /** Hidden width of the inner layers. */
  hiddenDim: number;
  /** Output width (the mask-feature width, `maskDim`). */
  outputDim: number;
  /** Number of linear layers (Mask2Former: 3). */
  numLayers?: number;
  /** Seed of the initializers (default: unseeded). */
  seed?: number;
  /** Layer name. */
  name?: string;
}

/**
 * Mask2Former's `MLP` for mask embeddings: `numLayers` linear layers with ReLU between them
 * (none after the last). Children `layers.0`, `layers.1`, … (each a `Linear`).
 */
export class MaskEmbeddingMlp extends FlowSegLayer {
  /** @internal */
  static readonly className: string = 'FlowSegMaskEmbeddingMlp';
  /** Input width. */
  readonly inputDim: number;
  /** Hidden width. */
  readonly hiddenDim: number;
  /** Output width. */
  readonly outputDim: number;
  /** Number of linear layers. */
  readonly numLayers: number;
  /** Initializer seed, if any. */
  readonly seed: number | undefined;
  private linears: Linear[] = [];

  /** @throws ValueError naming the offending field. */
  constructor(config: MaskEmbeddingMlpConfig) {
    super({ name: config.name });
    this.inputDim = requirePositiveInt(config.inputDim, 'inputDim');
    this.hiddenDim = requirePositiveInt(config.hiddenDim, 'hiddenDim');
    this.outputDim = requirePositiveInt(config.outputDim, 'outputDim');
    this.numLayers = requirePositiveInt(config.numLayers ?? 3, 'numLayers');
    this.seed = config.seed;
  }

  /** Creates the linear layers. */
  override build(): void {
    if (this.built) return;
    for (let i = 0; i < this.numLayers; i++) {
      const inFeatures = i === 0 ? this.inputDim : this.hiddenDim;
      const outFeatures = i === this.numLayers - 1 ? this.outputDim : this.hiddenDim;
      const linear = this.addChild(`layers.${i}`, new Linear({ inFeatures, outFeatures, seed: deriveSeed(this.seed, i) }));
      linear.ensureBuilt();
      this.linears.push(linear);
    }
    super.build([]);
  }

  /**
   * @param x - `[..., inputDim]`.
   * @returns `[..., outputDim]`.
   */
  forward<R extends tf.Rank>(x: tf.Tensor<R>): tf.Tensor<R> {
    this.ensureBuilt();
    return tf.tidy(() => {
      let h: tf.Tensor<R> = x;
      this.linears.forEach((linear, i) => {
        h = linear.forward(h, i < this.linears.length - 1 ? 'relu' : 'linear');
      });
      return h;
    });
  }

  /** Applies {@link MaskEmbeddingMlp.forward} to the first input. */
  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return this.forward(Array.isArray(inputs) ? inputs[0]! : inputs);
  }

  /** Last axis becomes `outputDim`. */
  override computeOutputShape(inputShape: tf.Shape): tf.Shape {
    return [...inputShape.slice(0, -1), this.outputDim];
  }

  /** Serializable config. */
  override getConfig(): tf.serialization.ConfigDict {
    return {
      ...super.getConfig(),
      inputDim: this.inputDim,
      hiddenDim: this.hiddenDim,
      outputDim: this.outputDim,
      numLayers: this.numLayers,
      ...(this.seed === undefined ? {} : { seed: this.seed }),
    };
  }
}
tf.serialization.registerClass(MaskEmbeddingMlp);
