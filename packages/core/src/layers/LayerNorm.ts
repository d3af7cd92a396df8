import * as tf from '@tensorflow/tfjs';
import { FlowSegLayer } from './FlowSegLayer.js';
import { requirePositiveInt } from '../errors/requireValue.js';
import { checkLastAxis } from '../shapes/checkLastAxis.js';
import { checkResidual, normalizeLastAxis } from './layerNormalization.js';

/** Configuration of {@link LayerNorm}. */
export interface LayerNormConfig {
  /** Size of the normalized (last) axis. */
  features: number;
  /** Added to the variance (default 1e-5, PyTorch's). */
  epsilon?: number;
  /** Layer name. */
  name?: string;
}

/**
 * Layer normalization over the last axis with learned `weight` (γ, init 1) and `bias`
 * (β, init 0), sized from config so it can be built before it sees an input. On wasm it runs
 * as one fused kernel (see {@link layerNormalization}).
 */
export class LayerNorm extends FlowSegLayer {
  /** @internal */
  static readonly className = 'FlowSegLayerNorm';
  /** Size of the normalized (last) axis. */
  readonly features: number;
  /** Added to the variance. */
  readonly epsilon: number;
  private gamma!: tf.LayerVariable;
  private beta!: tf.LayerVariable;

  constructor(config: LayerNormConfig) {
    super({ name: config.name });
    this.features = requirePositiveInt(config.features, 'features');
    this.epsilon = config.epsilon ?? 1e-5;
  }

  override build(): void {
    if (this.built) return;
    this.gamma = this.addParam('weight', [this.features], tf.initializers.ones());
    this.beta = this.addParam('bias', [this.features], tf.initializers.zeros());
    super.build([]);
  }

  /**
   * Normalize `x`, or `x + residual` (a post-norm block's sum, added inside the fused kernel
   * on wasm).
   * @param x - `[..., features]`.
   * @param residual - the shape of `x`.
   * @returns same shape as `x`.
   */
  forward<R extends tf.Rank>(x: tf.Tensor<R>, residual?: tf.Tensor<R> | null): tf.Tensor<R> {
    this.ensureBuilt();
    checkLastAxis('x', x, this.features, 'features');
    if (residual) checkResidual(x, residual);
    return normalizeLastAxis(x, this.gamma.read() as tf.Tensor1D, this.beta.read() as tf.Tensor1D, this.epsilon, residual);
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return this.forward(Array.isArray(inputs) ? inputs[0]! : inputs);
  }

  override computeOutputShape(inputShape: tf.Shape): tf.Shape {
    return inputShape;
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), features: this.features, epsilon: this.epsilon };
  }
}
tf.serialization.registerClass(LayerNorm);
