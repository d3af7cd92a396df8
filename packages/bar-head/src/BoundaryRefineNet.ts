import * as tf from '@tensorflow/tfjs';
import { FlowSegLayer, tidy, type WeightInitializer } from '@flowseg/core';
import { requireInt, requireOddKernel, requirePositiveInt } from './validation.js';

/** Configuration of {@link BoundaryRefineNet}. */
export interface BoundaryRefineNetConfig {
  /** Channels of the compressed pixel features concatenated after the mask logit. */
  compChannels: number;
  /** Channels of the hidden conv (default 32). */
  hiddenChannels?: number;
  /** Side of both square conv kernels, odd ≥ 3 (default 3). */
  kernelSize?: number;
  /** Seed of the weight initialization (default 0). */
  seed?: number;
  /** Layer name. */
  name?: string;
}

/** Inputs of {@link BoundaryRefineNet.forward}. */
export interface BoundaryRefineNetInputs {
  /** Raw mask logits `[batch, masks, height, width]`. */
  readonly maskLogits: tf.Tensor4D;
  /** Compressed pixel features at the mask resolution `[batch, height, width, compChannels]`. */
  readonly compFeatures: tf.Tensor4D;
}

/** Uniform init bound of PyTorch's `nn.Conv2d` (kaiming-uniform with a = √5): `1/√fan_in`. */
function convInit(fanIn: number, seed: number): WeightInitializer {
  const bound = 1 / Math.sqrt(fanIn);
  return tf.initializers.randomUniform({ minval: -bound, maxval: bound, seed });
}

/**
 * `f_refine` of BAR: `conv_k(ReLU(conv_k([M_raw ‖ F_comp])))` → one channel, both convs
 * stride 1, zero 'same' padding, with bias. Parameters: `conv1.kernel [k, k, 1 + Cc, hidden]`,
 * `conv1.bias [hidden]`, `conv2.kernel [k, k, hidden, 1]`, `conv2.bias [1]` (channel 0 of
 * conv1's input is the mask logit).
 *
 * Why split conv1: the features are shared by every mask of an image, so instead of
 * concatenating N copies, `conv1([M ‖ F]) = conv(M, W₁[:, :, :1]) + conv(F, W₁[:, :, 1:]) + b₁`
 * with the feature term computed once per image and broadcast over the masks — exact, since
 * zero padding of a concatenation is the concatenation of zero paddings.
 */
export class BoundaryRefineNet extends FlowSegLayer {
  /** @internal */
  static readonly className = 'FlowSegBoundaryRefineNet';
  /** Channels of the compressed features. */
  readonly compChannels: number;
  /** Channels of the hidden conv. */
  readonly hiddenChannels: number;
  /** Conv kernel side. */
  readonly kernelSize: number;
  /** Initialization seed. */
  readonly seed: number;
  private conv1Kernel!: tf.LayerVariable;
  private conv1Bias!: tf.LayerVariable;
  private conv2Kernel!: tf.LayerVariable;
  private conv2Bias!: tf.LayerVariable;

  constructor(config: BoundaryRefineNetConfig) {
    super({ name: config.name });
    this.compChannels = requirePositiveInt(config.compChannels, 'compChannels');
    this.hiddenChannels = requirePositiveInt(config.hiddenChannels ?? 32, 'hiddenChannels');
    this.kernelSize = requireOddKernel(config.kernelSize ?? 3, 'kernelSize');
    this.seed = requireInt(config.seed ?? 0, 'seed');
  }

  override build(): void {
    if (this.built) return;
    const k = this.kernelSize;
    const inC = 1 + this.compChannels;
    const hid = this.hiddenChannels;
    const fan1 = k * k * inC;
    const fan2 = k * k * hid;
    this.conv1Kernel = this.addParam('conv1.kernel', [k, k, inC, hid], convInit(fan1, this.seed));
    this.conv1Bias = this.addParam('conv1.bias', [hid], convInit(fan1, this.seed + 1));
    this.conv2Kernel = this.addParam('conv2.kernel', [k, k, hid, 1], convInit(fan2, this.seed + 2));
    this.conv2Bias = this.addParam('conv2.bias', [1], convInit(fan2, this.seed + 3));
    super.build([]);
  }

  /**
   * Pre-activation refinement `f_refine([M_raw ‖ F_comp])` for every mask.
   * Shapes are the caller's responsibility (checked by {@link BoundaryAwareRefinement}).
   * @returns `[batch, masks, height, width]`.
   */
  forward(inputs: BoundaryRefineNetInputs): tf.Tensor4D {
    this.ensureBuilt();
    const { maskLogits, compFeatures } = inputs;
    const [b, n, h, w] = maskLogits.shape;
    const k = this.kernelSize;
    const cc = this.compChannels;
    const hid = this.hiddenChannels;
    return tidy(() => {
      const w1 = this.conv1Kernel.read();
      const maskKernel = tf.slice(w1, [0, 0, 0, 0], [k, k, 1, hid]) as tf.Tensor4D;
      const featKernel = tf.slice(w1, [0, 0, 1, 0], [k, k, cc, hid]) as tf.Tensor4D;
      // Per image, once: conv(F_comp, W₁[:, :, 1:]) + b₁ → [b, 1, h, w, hid].
      const featTerm = tf.add(tf.conv2d(compFeatures, featKernel, 1, 'same'), this.conv1Bias.read());
      // Per mask: conv(M, W₁[:, :, :1]) → [b, n, h, w, hid].
      const maskTerm = tf.conv2d(tf.reshape(maskLogits, [b * n, h, w, 1]) as tf.Tensor4D, maskKernel, 1, 'same');
      const hidden = tf.relu(tf.add(tf.reshape(maskTerm, [b, n, h, w, hid]), tf.expandDims(featTerm, 1)));
      const out = tf.add(
        tf.conv2d(tf.reshape(hidden, [b * n, h, w, hid]) as tf.Tensor4D, this.conv2Kernel.read() as tf.Tensor4D, 1, 'same'),
        this.conv2Bias.read(),
      );
      return tf.reshape(out, [b, n, h, w]) as tf.Tensor4D;
    });
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    const [maskLogits, compFeatures] = inputs as tf.Tensor[];
    return this.forward({ maskLogits: maskLogits as tf.Tensor4D, compFeatures: compFeatures as tf.Tensor4D });
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
    return (inputShape as tf.Shape[])[0]!;
  }

  override getConfig(): tf.serialization.ConfigDict {
    return {
      ...super.getConfig(),
      compChannels: this.compChannels,
      hiddenChannels: this.hiddenChannels,
      kernelSize: this.kernelSize,
      seed: this.seed,
    };
  }
}
tf.serialization.registerClass(BoundaryRefineNet);
