import * as tf from '@tensorflow/tfjs';
import { FlowSegLayer } from './FlowSegLayer.js';
import { requirePositiveInt } from '../errors/requireValue.js';
import { checkLastAxis } from '../shapes/checkLastAxis.js';
import { deriveSeed } from '../random/deriveSeed.js';
import { affine, type AffineActivation } from '../tensor/affine.js';

/** Configuration of {@link Linear}. */
export interface LinearConfig {
  /** Input features. */
  inFeatures: number;
  /** Output features. */
  outFeatures: number;
  /** Add a bias (default true). */
  useBias?: boolean;
  /** Seed of the initializer (default: unseeded). Set it for reproducible models. */
  seed?: number;
  /** Layer name. */
  name?: string;
}

/**
 * Affine map `y = x·W + b` over the last axis of a tensor of any rank.
 *
 * Why not `tf.layers.dense`: inputs of rank > 2 are folded to one 2-D matmul
 * `[rows, in] × [in, out]` — the fast path of the wasm backend — and the parameters have
 * stable names (`kernel [in, out]`, `bias [out]`) for checkpoints.
 */
export class Linear extends FlowSegLayer {
  /** @internal */
  static readonly className = 'FlowSegLinear';
  /** Input features. */
  readonly inFeatures: number;
  /** Output features. */
  readonly outFeatures: number;
  /** Whether a bias is added. */
  readonly useBias: boolean;
  /** Initializer seed, if any. */
  readonly seed: number | undefined;
  private kernel!: tf.LayerVariable;
  private bias: tf.LayerVariable | null = null;

  constructor(config: LinearConfig) {
    super({ name: config.name });
    this.inFeatures = requirePositiveInt(config.inFeatures, 'inFeatures');
    this.outFeatures = requirePositiveInt(config.outFeatures, 'outFeatures');
    this.useBias = config.useBias ?? true;
    this.seed = config.seed;
  }

  override build(): void {
    if (this.built) return;
    // PyTorch nn.Linear's default init: U(-1/√in, 1/√in) for kernel and bias.
    const bound = 1 / Math.sqrt(this.inFeatures);
    this.kernel = this.addParam(
      'kernel',
      [this.inFeatures, this.outFeatures],
      tf.initializers.randomUniform({ minval: -bound, maxval: bound, seed: this.seed }),
    );
    if (this.useBias) {
      this.bias = this.addParam(
        'bias',
        [this.outFeatures],
        tf.initializers.randomUniform({ minval: -bound, maxval: bound, seed: deriveSeed(this.seed, 1) }),
      );
    }
    super.build([]);
  }

  /**
   * Apply the map, then `activation` (fused into the product; see {@link affine}).
   * @param x - `[..., inFeatures]`.
   * @param activation - `'linear'` (default: none) or `'relu'`.
   * @returns `[..., outFeatures]`.
   */
  forward<R extends tf.Rank>(x: tf.Tensor<R>, activation: AffineActivation = 'linear'): tf.Tensor<R> {
    this.ensureBuilt();
    checkLastAxis('x', x, this.inFeatures, 'inFeatures');
    return tf.tidy(() => {
      const shape: number[] = x.shape;
      const rows = x.size / this.inFeatures;
      const y = affine(
        tf.reshape(x, [rows, this.inFeatures]) as tf.Tensor2D,
        this.kernel.read() as tf.Tensor2D,
        this.bias ? (this.bias.read() as tf.Tensor1D) : null,
        activation,
      );
      const outShape: number[] = [...shape.slice(0, -1), this.outFeatures];
      const out: tf.Tensor = tf.reshape(y, outShape);
      return out as tf.Tensor<R>;
    });
  }

  /**
   * `W` `[inFeatures, outFeatures]` as it stands (on the gradient tape), for callers that fold
   * this map into another product instead of applying it row by row (e.g. the folded
   * layouts of `MultiHeadAttention`).
   */
  kernelTensor(): tf.Tensor2D {
    this.ensureBuilt();
    return this.kernel.read() as tf.Tensor2D;
  }

  /** `b` `[outFeatures]` as it stands (on the gradient tape), or null without a bias. */
  biasTensor(): tf.Tensor1D | null {
    this.ensureBuilt();
    return this.bias ? (this.bias.read() as tf.Tensor1D) : null;
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return this.forward(Array.isArray(inputs) ? inputs[0]! : inputs);
  }

  override computeOutputShape(inputShape: tf.Shape): tf.Shape {
    return [...inputShape.slice(0, -1), this.outFeatures];
  }

  override getConfig(): tf.serialization.ConfigDict {
    return {
      ...super.getConfig(),
      inFeatures: this.inFeatures,
      outFeatures: this.outFeatures,
      useBias: this.useBias,
      ...(this.seed === undefined ? {} : { seed: this.seed }),
    };
  }
}
tf.serialization.registerClass(Linear);
