import * as tf from '@tensorflow/tfjs';
import { FlowSegLayer } from './FlowSegLayer.js';
import { Linear } from './Linear.js';
import { ValueError } from '../errors/FlowSegError.js';
import { requirePositiveInt, requireRate } from '../errors/requireValue.js';
import { checkLastAxis } from '../shapes/checkLastAxis.js';
import { deriveSeed } from '../random/deriveSeed.js';

/** Configuration of {@link FeedForward}. */
export interface FeedForwardConfig {
  /** Input and output width (`channels`). */
  dim: number;
  /** Hidden width (Mask2Former: 2048). */
  hiddenDim: number;
  /** Dropout after the activation in training (default 0). */
  dropout?: number;
  /** Hidden activation (default `'relu'`). */
  activation?: 'relu' | 'gelu';
  /** Seed for the linear layers' initializers (default: unseeded). */
  seed?: number;
  /** Layer name. */
  name?: string;
}

/**
 * Position-wise feed-forward block `linear2(dropout(act(linear1(x))))` (Transformer FFN
 * without residual or norm; decoder layers add those in their own order).
 */
export class FeedForward extends FlowSegLayer {
  /** @internal */
  static readonly className = 'FlowSegFeedForward';
  /** Input and output width (`channels`). */
  readonly dim: number;
  /** Hidden width. */
  readonly hiddenDim: number;
  /** Dropout rate after the activation, in training. */
  readonly dropout: number;
  /** Hidden activation. */
  readonly activation: 'relu' | 'gelu';
  /** Initializer seed, if any. */
  readonly seed: number | undefined;
  private linear1!: Linear;
  private linear2!: Linear;

  constructor(config: FeedForwardConfig) {
    super({ name: config.name });
    requirePositiveInt(config.dim, 'dim');
    requirePositiveInt(config.hiddenDim, 'hiddenDim');
    const dropout = requireRate(config.dropout ?? 0, 'dropout');
    const activation = config.activation ?? 'relu';
    if (activation !== 'relu' && activation !== 'gelu') {
      throw new ValueError(`activation: expected 'relu' or 'gelu', received ${String(activation)}`, 'activation');
    }
    this.dim = config.dim;
    this.hiddenDim = config.hiddenDim;
    this.dropout = dropout;
    this.activation = activation;
    this.seed = config.seed;
  }

  override build(): void {
    if (this.built) return;
    this.linear1 = this.addChild('linear1', new Linear({ inFeatures: this.dim, outFeatures: this.hiddenDim, seed: deriveSeed(this.seed, 0) }));
    this.linear2 = this.addChild('linear2', new Linear({ inFeatures: this.hiddenDim, outFeatures: this.dim, seed: deriveSeed(this.seed, 1) }));
    this.linear1.ensureBuilt();
    this.linear2.ensureBuilt();
    super.build([]);
  }

  /**
   * @param x - `[..., dim]`.
   * @param training - dropout active.
   * @returns `[..., dim]`.
   */
  forward<R extends tf.Rank>(x: tf.Tensor<R>, training = false): tf.Tensor<R> {
    this.ensureBuilt();
    checkLastAxis('x', x, this.dim, 'dim');
    return tf.tidy(() => {
      let hidden: tf.Tensor;
      if (this.activation === 'relu') hidden = this.linear1.forward(x, 'relu');
      else {
        const pre = this.linear1.forward(x);
        hidden = tf.mul(tf.mul(pre, 0.5), tf.add(1, tf.erf(tf.mul(pre, Math.SQRT1_2)))); // exact GELU
      }
      if (training && this.dropout > 0) hidden = tf.dropout(hidden, this.dropout);
      return this.linear2.forward(hidden) as tf.Tensor<R>;
    });
  }

  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: { training?: boolean }): tf.Tensor {
    return this.forward(Array.isArray(inputs) ? inputs[0]! : inputs, kwargs?.training ?? false);
  }

  override computeOutputShape(inputShape: tf.Shape): tf.Shape {
    return inputShape;
  }

  override getConfig(): tf.serialization.ConfigDict {
    return {
      ...super.getConfig(),
      dim: this.dim,
      hiddenDim: this.hiddenDim,
      dropout: this.dropout,
      activation: this.activation,
      ...(this.seed === undefined ? {} : { seed: this.seed }),
    };
  }
}
tf.serialization.registerClass(FeedForward);
