import * as tf from '@tensorflow/tfjs';
import {
  affine,
  FlowSegLayer,
  ValueError,
  checkShapes,
  deriveSeed,
  requireInt,
  requirePositiveInt,
  tidy,
  type WeightInitializer,
} from '@flowseg/core';
import type { BandIndices } from './bandIndices.js';
import { gatherRows } from './gatherRows.js';
import { requireOddKernel } from './validation.js';

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
    this.conv1Kernel = this.addParam('conv1.kernel', [k, k, inC, hid], convInit(fan1, deriveSeed(this.seed, 0)!));
    this.conv1Bias = this.addParam('conv1.bias', [hid], convInit(fan1, deriveSeed(this.seed, 1)!));
    this.conv2Kernel = this.addParam('conv2.kernel', [k, k, hid, 1], convInit(fan2, deriveSeed(this.seed, 2)!));
    this.conv2Bias = this.addParam('conv2.bias', [1], convInit(fan2, deriveSeed(this.seed, 3)!));
    super.build([]);
  }

  /**
   * Pre-activation refinement `f_refine([M_raw ‖ F_comp])` for every mask.
   * @throws ShapeError / DTypeError when an input does not match its documented axes or is not float32.
   * @returns `[batch, masks, height, width]`.
   */
  forward(inputs: BoundaryRefineNetInputs): tf.Tensor4D {
    this.ensureBuilt();
    this.checkInputs(inputs);
    const { maskLogits, compFeatures } = inputs;
    const [b, n, h, w] = maskLogits.shape;
    const k = this.kernelSize;
    const cc = this.compChannels;
    const hid = this.hiddenChannels;
    return tidy(() => {
      const w1 = this.conv1Kernel.read();
      const maskKernel = tf.slice(w1, [0, 0, 0, 0], [k, k, 1, hid]) as tf.Tensor4D;
      const featKernel = tf.slice(w1, [0, 0, 1, 0], [k, k, cc, hid]) as tf.Tensor4D;
      // Per image, once: conv(F_comp, W₁[:, :, 1:]) + b₁ → [b, h, w, hid].
      const featTerm = tf.add(tf.conv2d(compFeatures, featKernel, 1, 'same'), this.conv1Bias.read());
      // Per mask: conv(M, W₁[:, :, :1]) → [b, n, h, w, hid].
      const maskTerm = tf.conv2d(tf.reshape(maskLogits, [b * n, h, w, 1]) as tf.Tensor4D, maskKernel, 1, 'same');
      // Broadcast the feature term over the masks: [b, n, h, w, hid] + [b, 1, h, w, hid].
      const hidden = tf.relu(tf.add(tf.reshape(maskTerm, [b, n, h, w, hid]), tf.expandDims(featTerm, 1)));
      const out = tf.add(
        tf.conv2d(
          tf.reshape(hidden, [b * n, h, w, hid]) as tf.Tensor4D,
          this.conv2Kernel.read() as tf.Tensor4D,
          1,
          'same',
        ),
        this.conv2Bias.read(),
      );
      return tf.reshape(out, [b, n, h, w]) as tf.Tensor4D;
    });
  }

  /**
   * The same pre-activation, evaluated only at the band pixels P of `indices` (see
   * {@link buildBandIndices}): every conv becomes a row gather of its taps
   * ({@link gatherRows}) followed by one 2-D matmul — the first conv's mask taps
   * `[|Q|, k²] × [k², hidden]`, its feature taps once per image pixel
   * `[|U|, k²·Cc] × [k²·Cc, hidden]`, and the second conv as `[|Q|, hidden] × [hidden, k²]`
   * whose per-tap products are gathered back onto P and summed. Equal to
   * {@link BoundaryRefineNet.forward} at P up to float rounding, and differentiable.
   *
   * @param inputs - as for {@link BoundaryRefineNet.forward}.
   * @param indices - built from the band of the same `maskLogits` with this net's kernel size.
   * @throws ValueError when `indices` were built for another shape or kernel size.
   * @returns `[bandCount]`, band pixels in flat `[batch, masks, height, width]` order.
   */
  forwardAtBand(inputs: BoundaryRefineNetInputs, indices: BandIndices): tf.Tensor1D {
    this.ensureBuilt();
    this.checkInputs(inputs);
    const [b, , h, w] = inputs.maskLogits.shape;
    return tidy(() => {
      const compRows = tf.reshape(inputs.compFeatures, [b * h * w, this.compChannels]) as tf.Tensor2D;
      return this.forwardAtBandRows(inputs.maskLogits, compRows, indices);
    });
  }

  /**
   * {@link BoundaryRefineNet.forwardAtBand} with `F_comp` given as rows: `indices.featureTaps`
   * index the rows of `compRows` (−1 = outside the image). Lets a caller compute `F_comp` only
   * at the pixels the taps read (see {@link compactFeatureTaps}) instead of at every pixel.
   *
   * @param maskLogits - `M_raw` `[batch, masks, height, width]`, float32.
   * @param compRows - `F_comp` rows `[rows, compChannels]`, float32.
   * @param indices - built from the band of the same `maskLogits` with this net's kernel size;
   *   its `featureTaps` index `compRows`.
   * @throws ValueError when `indices` do not fit `maskLogits`, this kernel size or `compRows`.
   * @returns `[bandCount]`, band pixels in flat `[batch, masks, height, width]` order.
   */
  forwardAtBandRows(maskLogits: tf.Tensor4D, compRows: tf.Tensor2D, indices: BandIndices): tf.Tensor1D {
    this.ensureBuilt();
    checkShapes({
      maskLogits: { tensor: maskLogits, axes: ['batch', 'masks', 'height', 'width'], dtypes: ['float32'] },
      compRows: { tensor: compRows, axes: ['rows', { name: 'compChannels', size: this.compChannels }], dtypes: ['float32'] },
    });
    const [b, n, h, w] = maskLogits.shape;
    const k = this.kernelSize;
    const taps = k * k;
    const lastPixel = indices.bandPixels[indices.bandCount - 1] ?? -1;
    if (indices.maskTaps.length !== indices.hiddenCount * taps || lastPixel >= b * n * h * w) {
      throw new ValueError(
        `indices: not built for maskLogits [${maskLogits.shape.join(', ')}] and kernel ${k} (use buildBandIndices)`,
        'indices',
      );
    }
    if (indices.featureTaps.length !== indices.imageCount * taps) {
      throw new ValueError(`indices: featureTaps must hold imageCount × ${taps} entries`, 'indices');
    }
    const rows = compRows.shape[0];
    for (const t of indices.featureTaps) {
      if (t >= rows) throw new ValueError(`indices: a feature tap reads row ${t} of compRows, which has ${rows}`, 'indices');
    }
    const cc = this.compChannels;
    const hid = this.hiddenChannels;
    const { bandCount, hiddenCount, imageCount } = indices;
    return tidy(() => {
      const w1 = this.conv1Kernel.read();
      const maskKernel = tf.reshape(tf.slice(w1, [0, 0, 0, 0], [k, k, 1, hid]), [taps, hid]);
      const featKernel = tf.reshape(tf.slice(w1, [0, 0, 1, 0], [k, k, cc, hid]), [taps * cc, hid]);
      // Conv 1, mask taps: [|Q|, k²] × [k², hidden].
      const maskPixels = tf.reshape(maskLogits, [b * n * h * w, 1]) as tf.Tensor2D;
      const maskCols = tf.reshape(gatherRows(maskPixels, indices.maskTaps), [hiddenCount, taps]);
      const maskTerm = tf.matMul(maskCols, maskKernel);
      // Conv 1, feature taps, once per image pixel: [|U|, k²·Cc] × [k²·Cc, hidden] + b₁.
      const featCols = tf.reshape(gatherRows(compRows, indices.featureTaps), [imageCount, taps * cc]);
      const featTerm = affine(featCols as tf.Tensor2D, featKernel as tf.Tensor2D, this.conv1Bias.read() as tf.Tensor1D);
      const hidden = tf.relu(tf.add(maskTerm, gatherRows(featTerm, indices.hiddenToImage)));
      // Conv 2: per-tap products [|Q|, hidden] × [hidden, k²], gathered onto P and summed.
      const perTap = tf.matMul(hidden, tf.transpose(tf.reshape(this.conv2Kernel.read(), [taps, hid])));
      const perTapFlat = tf.reshape(perTap, [hiddenCount * taps, 1]) as tf.Tensor2D;
      const gathered = tf.reshape(gatherRows(perTapFlat, indices.outputTaps), [bandCount, taps]);
      return tf.add(tf.sum(gathered, 1), this.conv2Bias.read()) as tf.Tensor1D;
    });
  }

  private checkInputs(inputs: BoundaryRefineNetInputs): void {
    checkShapes({
      maskLogits: { tensor: inputs.maskLogits, axes: ['batch', 'masks', 'height', 'width'], dtypes: ['float32'] },
      compFeatures: {
        tensor: inputs.compFeatures,
        axes: ['batch', 'height', 'width', { name: 'compChannels', size: this.compChannels }],
        dtypes: ['float32'],
      },
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
