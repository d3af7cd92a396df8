import * as tf from '@tensorflow/tfjs';
import { FlowSegLayer } from './FlowSegLayer.js';
import { LayerNorm } from './LayerNorm.js';
import { FeedForward } from './FeedForward.js';
import { requireRate } from '../errors/requireValue.js';

/** Configuration of {@link FeedForwardBlock}. */
export interface FeedForwardBlockConfig {
  /** Input and output width (`channels`). */
  dim: number;
  /** Hidden width (Mask2Former: 2048). */
  hiddenDim: number;
  /** Dropout inside the FFN and before the residual, in training (default 0). */
  dropout?: number;
  /** Seed for the FFN's initializers (default: unseeded). */
  seed?: number;
  /** Layer name. */
  name?: string;
}

/**
 * Mask2Former's post-norm FFN layer (`FFNLayer.forward_post`):
 * `norm(x + dropout(linear2(dropout(relu(linear1(x))))))`. Children `linear1`, `linear2`
 * (inside `ffn`) and `norm`.
 */
export class FeedForwardBlock extends FlowSegLayer {
  /** @internal */
  static readonly className = 'FlowSegFeedForwardBlock';
  /** Input and output width (`channels`). */
  readonly dim: number;
  /** Hidden width. */
  readonly hiddenDim: number;
  /** Dropout rate in training. */
  readonly dropout: number;
  /** The position-wise FFN (`ffn`). */
  ffn!: FeedForward;
  /** The post-norm (`norm`). */
  norm!: LayerNorm;

  constructor(config: FeedForwardBlockConfig) {
    super({ name: config.name });
    const dropout = requireRate(config.dropout ?? 0, 'dropout');
    this.dim = config.dim;
    this.hiddenDim = config.hiddenDim;
    this.dropout = dropout;
    this.ffn = new FeedForward({ dim: this.dim, hiddenDim: this.hiddenDim, dropout, seed: config.seed });
  }

  override build(): void {
    if (this.built) return;
    this.addChild('ffn', this.ffn);
    this.norm = this.addChild('norm', new LayerNorm({ features: this.dim }));
    this.ffn.ensureBuilt();
    this.norm.ensureBuilt();
    super.build([]);
  }

  /**
   * @param x - `[batch, queries, channels]`.
   * @returns `[batch, queries, channels]`.
   */
  forward(x: tf.Tensor3D, training = false): tf.Tensor3D {
    this.ensureBuilt();
    return tf.tidy(() => {
      const y = this.ffn.forward(x, training);
      const dropped = training && this.dropout > 0 ? tf.dropout(y, this.dropout) : y;
      return this.norm.forward(x, dropped as tf.Tensor3D);
    });
  }

  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: { training?: boolean }): tf.Tensor {
    return this.forward((Array.isArray(inputs) ? inputs[0] : inputs) as tf.Tensor3D, kwargs?.training ?? false);
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
      ...(this.ffn.seed === undefined ? {} : { seed: this.ffn.seed }),
    };
  }
}
tf.serialization.registerClass(FeedForwardBlock);
