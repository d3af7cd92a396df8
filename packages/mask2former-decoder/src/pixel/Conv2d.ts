import * as tf from '@tensorflow/tfjs';
import { FlowSegLayer, ValueError, checkShapes, deriveSeed, requirePositiveInt } from '@flowseg/core';

/** Configuration of {@link Conv2d}. */
export interface Conv2dConfig {
  /** Input channels. */
  inChannels: number;
  /** Output channels. */
  outChannels: number;
  /** Square kernel size (odd; padding keeps the spatial size; default 3). */
  kernelSize?: number;
  /** Add a bias (default true). */
  useBias?: boolean;
  /** Seed of the initializers (default: unseeded). */
  seed?: number;
  /** Layer name. */
  name?: string;
}

/**
 * Stride-1 "same" 2-D convolution on NHWC maps, with stable weight names `kernel`
 * `[kernelSize, kernelSize, inChannels, outChannels]` (TF layout; PyTorch's is
 * `[out, in, kh, kw]`) and `bias [outChannels]`. Trains on wasm (core registers the conv
 * gradient kernels). Initialized like PyTorch's `nn.Conv2d`: `U(±1/√(in·k²))`.
 */
export class Conv2d extends FlowSegLayer {
  /** @internal */
  static readonly className: string = 'FlowSegConv2d';
  /** Input channels. */
  readonly inChannels: number;
  /** Output channels. */
  readonly outChannels: number;
  /** Kernel size. */
  readonly kernelSize: number;
  /** Whether a bias is added. */
  readonly useBias: boolean;
  /** Initializer seed, if any. */
  readonly seed: number | undefined;
  private kernel!: tf.LayerVariable;
  private bias: tf.LayerVariable | null = null;

  /** @throws ValueError naming the offending field. */
  constructor(config: Conv2dConfig) {
    super({ name: config.name });
    this.inChannels = requirePositiveInt(config.inChannels, 'inChannels');
    this.outChannels = requirePositiveInt(config.outChannels, 'outChannels');
    this.kernelSize = requirePositiveInt(config.kernelSize ?? 3, 'kernelSize');
    if (this.kernelSize % 2 !== 1) {
      throw new ValueError(`kernelSize: expected an odd size, received ${this.kernelSize}`, 'kernelSize');
    }
    this.useBias = config.useBias ?? true;
    this.seed = config.seed;
  }

  /** Creates `kernel` and `bias`. */
  override build(): void {
    if (this.built) return;
    const bound = 1 / Math.sqrt(this.inChannels * this.kernelSize * this.kernelSize);
    const init = (i: number) => tf.initializers.randomUniform({ minval: -bound, maxval: bound, seed: deriveSeed(this.seed, i) });
    const k = this.kernelSize;
    this.kernel = this.addParam('kernel', [k, k, this.inChannels, this.outChannels], init(0));
    if (this.useBias) this.bias = this.addParam('bias', [this.outChannels], init(1));
    super.build([]);
  }

  /**
   * @param x - `[batch, height, width, inChannels]`.
   * @returns `[batch, height, width, outChannels]`.
   */
  forward(x: tf.Tensor4D): tf.Tensor4D {
    this.ensureBuilt();
    checkShapes({ x: { tensor: x, axes: ['batch', 'height', 'width', this.inChannels], dtypes: ['float32'] } });
    return tf.tidy(() => {
      const y = tf.conv2d(x, this.kernel.read() as tf.Tensor4D, 1, 'same');
      return (this.bias ? tf.add(y, this.bias.read()) : y) as tf.Tensor4D;
    });
  }

  /** Applies {@link Conv2d.forward}. */
  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return this.forward((Array.isArray(inputs) ? inputs[0] : inputs) as tf.Tensor4D);
  }

  /** Last axis becomes `outChannels`. */
  override computeOutputShape(inputShape: tf.Shape): tf.Shape {
    return [...inputShape.slice(0, -1), this.outChannels];
  }

  /** Serializable config. */
  override getConfig(): tf.serialization.ConfigDict {
    return {
      ...super.getConfig(),
      inChannels: this.inChannels,
      outChannels: this.outChannels,
      kernelSize: this.kernelSize,
      useBias: this.useBias,
      ...(this.seed === undefined ? {} : { seed: this.seed }),
    };
  }
}
tf.serialization.registerClass(Conv2d);
