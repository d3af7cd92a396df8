import * as tf from '@tensorflow/tfjs';
import { FlowSegLayer, ValueError, checkShapes, requirePositiveInt } from '@flowseg/core';

/** Configuration of {@link GroupNorm}. */
export interface GroupNormConfig {
  /** Channels `C` (last axis). */
  channels: number;
  /** Groups `G`; must divide `channels` (Detectron2's FPN: 32). */
  groups: number;
  /** Added to the variance (default 1e-5, PyTorch's). */
  epsilon?: number;
  /** Layer name. */
  name?: string;
}

/**
 * Group normalization of NHWC maps (PyTorch `nn.GroupNorm`): channels split into `G` groups,
 * each normalized over `(height, width, C/G)` per image, then `·weight + bias` per channel.
 */
export class GroupNorm extends FlowSegLayer {
  /** @internal */
  static readonly className: string = 'FlowSegGroupNorm';
  /** Channels. */
  readonly channels: number;
  /** Groups. */
  readonly groups: number;
  /** Variance epsilon. */
  readonly epsilon: number;
  private gamma!: tf.LayerVariable;
  private beta!: tf.LayerVariable;

  /** @throws ValueError naming the offending field. */
  constructor(config: GroupNormConfig) {
    super({ name: config.name });
    this.channels = requirePositiveInt(config.channels, 'channels');
    this.groups = requirePositiveInt(config.groups, 'groups');
    if (this.channels % this.groups !== 0) {
      throw new ValueError(`groups: expected a divisor of channels=${this.channels}, received ${this.groups}`, 'groups');
    }
    this.epsilon = config.epsilon ?? 1e-5;
  }

  /** Creates `weight` (γ, 1) and `bias` (β, 0). */
  override build(): void {
    if (this.built) return;
    this.gamma = this.addParam('weight', [this.channels], tf.initializers.ones());
    this.beta = this.addParam('bias', [this.channels], tf.initializers.zeros());
    super.build([]);
  }

  /**
   * @param x - `[batch, height, width, channels]`.
   * @returns same shape.
   */
  forward(x: tf.Tensor4D): tf.Tensor4D {
    this.ensureBuilt();
    const b = checkShapes({ x: { tensor: x, axes: ['batch', 'height', 'width', this.channels], dtypes: ['float32'] } });
    const [batch, h, w] = [b['batch']!, b['height']!, b['width']!];
    const g = this.groups;
    return tf.tidy(() => {
      const grouped = tf.reshape(x, [batch, h * w, g, this.channels / g]);
      const { mean, variance } = tf.moments(grouped, [1, 3], true);
      const normed = tf.mul(tf.sub(grouped, mean), tf.rsqrt(tf.add(variance, this.epsilon)));
      return tf.add(tf.mul(tf.reshape(normed, [batch, h, w, this.channels]), this.gamma.read()), this.beta.read()) as tf.Tensor4D;
    });
  }

  /** Applies {@link GroupNorm.forward}. */
  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return this.forward((Array.isArray(inputs) ? inputs[0] : inputs) as tf.Tensor4D);
  }

  /** Same shape as the input. */
  override computeOutputShape(inputShape: tf.Shape): tf.Shape {
    return inputShape;
  }

  /** Serializable config. */
  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), channels: this.channels, groups: this.groups, epsilon: this.epsilon };
  }
}
tf.serialization.registerClass(GroupNorm);
