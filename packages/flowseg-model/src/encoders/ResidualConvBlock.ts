import * as tf from '@tensorflow/tfjs';
import { FlowSegLayer, LayerNorm, Linear, deriveSeed, requirePositiveInt } from '@flowseg/core';
import { Conv2d } from '@flowseg/mask2former-decoder';

/** Configuration of {@link ResidualConvBlock}. */
export interface ResidualConvBlockConfig {
  /** Channels in and out. */
  channels: number;
  /** Seed of the initializers (default: unseeded); `conv` gets `deriveSeed(seed, 0)`, `proj` `deriveSeed(seed, 1)`. */
  seed?: number;
  /** Layer name. */
  name?: string;
}

/**
 * Pre-norm residual conv block `x + proj(relu(conv3×3(LN(x))))` on NHWC tensors (LN over
 * channels, as in ConvNeXt; `proj` is a 1×1 conv as a `Linear`). Children: `norm`, `conv`,
 * `proj`.
 */
export class ResidualConvBlock extends FlowSegLayer {
  /** @internal */
  static readonly className = 'FlowSegResidualConvBlock';
  /** Channels in and out. */
  readonly channels: number;
  /** Initializer seed, if any. */
  readonly seed: number | undefined;
  private norm!: LayerNorm;
  private conv!: Conv2d;
  private proj!: Linear;

  constructor(config: ResidualConvBlockConfig) {
    super({ name: config.name });
    this.channels = requirePositiveInt(config.channels, 'channels');
    this.seed = config.seed;
  }

  override build(): void {
    if (this.built) return;
    const c = this.channels;
    this.norm = this.addChild('norm', new LayerNorm({ features: c }));
    this.conv = this.addChild('conv', new Conv2d({ inChannels: c, outChannels: c, kernelSize: 3, seed: deriveSeed(this.seed, 0) }));
    this.proj = this.addChild('proj', new Linear({ inFeatures: c, outFeatures: c, seed: deriveSeed(this.seed, 1) }));
    for (const child of this.children()) (child as FlowSegLayer).ensureBuilt();
    super.build([]);
  }

  /**
   * @param x - `[batch, height, width, channels]` float32.
   * @returns `[batch, height, width, channels]`.
   */
  forward(x: tf.Tensor4D): tf.Tensor4D {
    this.ensureBuilt();
    return tf.tidy(() => tf.add(x, this.proj.forward(tf.relu(this.conv.forward(this.norm.forward(x))))) as tf.Tensor4D);
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return this.forward((Array.isArray(inputs) ? inputs[0]! : inputs) as tf.Tensor4D);
  }

  override computeOutputShape(inputShape: tf.Shape): tf.Shape {
    return inputShape;
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), channels: this.channels, ...(this.seed === undefined ? {} : { seed: this.seed }) };
  }
}
tf.serialization.registerClass(ResidualConvBlock);
