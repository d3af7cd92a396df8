import * as tf from '@tensorflow/tfjs';
import { DTypeError, FlowSegLayer, ShapeError, ValueError } from '@flowseg/core';
import { disposeEagerLayer } from '../language/disposeEagerLayer.js';

/** Configuration of {@link Conv2d}. */
export interface Conv2dConfig {
  /** Input channels. */
  inChannels: number;
  /** Output channels. */
  outChannels: number;
  /** Odd square kernel size (default 3). */
  kernelSize?: number;
  /** Layer name. */
  name?: string;
}

/**
 * Stride-1, `'same'`-padded 2-D convolution on NHWC tensors with `kernel [k, k, in, out]`
 * and `bias [out]` (spatial size is kept; downsampling is done by the callers with
 * `spaceToDepth` + `Linear`). Trains on wasm through the conv2d gradients `@flowseg/core`
 * registers.
 */
export class Conv2d extends FlowSegLayer {
  /** @internal */
  static readonly className = 'FlowSegConv2d';
  /** Input channels. */
  readonly inChannels: number;
  /** Output channels. */
  readonly outChannels: number;
  /** Kernel size. */
  readonly kernelSize: number;
  private kernel!: tf.LayerVariable;
  private bias!: tf.LayerVariable;

  constructor(config: Conv2dConfig) {
    super({ name: config.name });
    for (const k of ['inChannels', 'outChannels'] as const) {
      if (!Number.isInteger(config[k]) || config[k] <= 0) {
        throw new ValueError(`${k}: expected a positive integer, received ${config[k]}`, k);
      }
    }
    const kernelSize = config.kernelSize ?? 3;
    if (!Number.isInteger(kernelSize) || kernelSize <= 0 || kernelSize % 2 === 0) {
      throw new ValueError(`kernelSize: expected an odd positive integer, received ${kernelSize}`, 'kernelSize');
    }
    this.inChannels = config.inChannels;
    this.outChannels = config.outChannels;
    this.kernelSize = kernelSize;
  }

  override build(): void {
    if (this.built) return;
    const k = this.kernelSize;
    // PyTorch nn.Conv2d's default init: U(±1/√fanIn), fanIn = k·k·in.
    const bound = 1 / Math.sqrt(k * k * this.inChannels);
    const init = () => tf.initializers.randomUniform({ minval: -bound, maxval: bound });
    this.kernel = this.addParam('kernel', [k, k, this.inChannels, this.outChannels], init());
    this.bias = this.addParam('bias', [this.outChannels], init());
    super.build([]);
  }

  /**
   * Convolve.
   * @param x - `[batch, height, width, inChannels]` float32.
   * @returns `[batch, height, width, outChannels]`.
   */
  forward(x: tf.Tensor4D): tf.Tensor4D {
    this.ensureBuilt();
    if (x.dtype !== 'float32') throw new DTypeError('x', ['float32'], x.dtype);
    if (x.rank !== 4 || x.shape[3] !== this.inChannels) {
      throw new ShapeError('x', `[batch, height, width, inChannels=${this.inChannels}]`, x.shape, 'rank or channels');
    }
    return tf.tidy(() =>
      tf.add(tf.conv2d(x, this.kernel.read() as tf.Tensor4D, 1, 'same'), this.bias.read()) as tf.Tensor4D,
    );
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return this.forward((Array.isArray(inputs) ? inputs[0]! : inputs) as tf.Tensor4D);
  }

  override computeOutputShape(inputShape: tf.Shape): tf.Shape {
    return [...inputShape.slice(0, 3), this.outChannels];
  }

  /** Release the weights of this layer and its descendants (also after eager-only use). */
  override dispose(): ReturnType<tf.layers.Layer['dispose']> {
    return disposeEagerLayer(this);
  }

  override getConfig(): tf.serialization.ConfigDict {
    return {
      ...super.getConfig(),
      inChannels: this.inChannels,
      outChannels: this.outChannels,
      kernelSize: this.kernelSize,
    };
  }
}
tf.serialization.registerClass(Conv2d);
