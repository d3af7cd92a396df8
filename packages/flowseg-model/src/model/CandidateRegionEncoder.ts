import * as tf from '@tensorflow/tfjs';
import { FlowSegLayer, Linear, ValueError, checkShapes, deriveSeed, requirePositiveInt } from '@flowseg/core';
import { Conv2d } from '@flowseg/mask2former-decoder';
import { spaceToDepth } from '../encoders/spaceToDepth.js';
import { candidateCrops } from './region/candidateCrops.js';

/** Configuration of {@link CandidateRegionEncoder}. */
export interface CandidateRegionEncoderConfig {
  /** Width of the output queries the embedding is added to (`channels`). */
  hiddenDim: number;
  /** Side of each candidate's crop, a multiple of 4, ≥ 8. */
  cropSize: number;
  /** Channels of the three convolution stages (default `[16, 32, 32]`). */
  convChannels?: readonly [number, number, number];
  /** Initializer seed. */
  seed?: number;
  /** Layer name. */
  name?: string;
}

/** Inputs of {@link CandidateRegionEncoder.forward}. */
export interface CandidateRegionInputs {
  /** The image each row's candidates come from `[rows, height, width, 3]`, float32 in `[0, 1]`. */
  readonly images: tf.Tensor4D;
  /** Candidate mask logits before BAR `[rows, candidates, maskHeight, maskWidth]`. */
  readonly maskLogits: tf.Tensor4D;
}

/** Default channels of the three convolution stages. */
export const DEFAULT_REGION_CONV_CHANNELS: readonly [number, number, number] = [16, 32, 32];

/**
 * Region embedding of each candidate mask, added to its output query before selection:
 * `Q_sel,i = Q_out,i + α · proj(CNN(crop_i))`, where `crop_i` is a `cropSize²` window of the
 * image centred on candidate `i`'s mask, scaled to the mask's extent, with the mask's
 * probability as a fourth channel ({@link candidateCrops}); CNN = three 3×3 conv + ReLU stages
 * with 2×2 space-to-depth between them; `α` is a learned scalar that starts at 0, so adding the
 * encoder to a trained model leaves its outputs unchanged until training moves `α`.
 *
 * Why (beyond the paper): a class-agnostic query knows where its object is, not what shape it
 * has — on the synthetic benchmark the attribute head reads shape from `Q_out` at ~50 %
 * (colour and size at ~99 %). A crop normalized to the object's extent makes shape a
 * translation- and scale-free pattern a small CNN learns quickly. It reads the candidates'
 * masks, so with it selection runs after the decoder's masks exist (still before BAR).
 * Weights: `conv_<s>.kernel|bias` (s = 0..2), `proj.kernel|bias`, `gate`.
 */
export class CandidateRegionEncoder extends FlowSegLayer {
  /** @internal */
  static readonly className = 'FlowSegCandidateRegionEncoder';
  /** Query width. */
  readonly hiddenDim: number;
  /** Crop side. */
  readonly cropSize: number;
  /** Channels of the three convolution stages. */
  readonly convChannels: readonly [number, number, number];
  /** Initializer seed, if any. */
  readonly seed: number | undefined;
  private convs: Conv2d[] = [];
  private proj!: Linear;
  private gate!: tf.LayerVariable;

  constructor(config: CandidateRegionEncoderConfig) {
    super({ name: config.name });
    this.hiddenDim = requirePositiveInt(config.hiddenDim, 'hiddenDim');
    validateCropSize(config.cropSize, 'cropSize');
    this.cropSize = config.cropSize;
    const channels = config.convChannels ?? DEFAULT_REGION_CONV_CHANNELS;
    if (!Array.isArray(channels) || channels.length !== 3) {
      throw new ValueError(`convChannels: expected three channel counts, received ${JSON.stringify(channels)}`, 'convChannels');
    }
    channels.forEach((c, i) => requirePositiveInt(c, `convChannels[${i}]`));
    this.convChannels = [channels[0], channels[1], channels[2]];
    this.seed = config.seed;
    this.build();
  }

  override build(): void {
    if (this.built) return;
    const [c0, c1, c2] = this.convChannels;
    const inputs = [4, 4 * c0, 4 * c1];
    this.convs = [c0, c1, c2].map((out, s) =>
      this.addChild(`conv_${s}`, new Conv2d({ inChannels: inputs[s]!, outChannels: out, kernelSize: 3, seed: deriveSeed(this.seed, s) })),
    );
    const cells = (this.cropSize / 4) ** 2;
    this.proj = this.addChild('proj', new Linear({ inFeatures: cells * c2, outFeatures: this.hiddenDim, seed: deriveSeed(this.seed, 3) }));
    for (const child of [...this.convs, this.proj]) child.ensureBuilt();
    this.gate = this.addParam('gate', [1], tf.initializers.zeros());
    super.build([]);
  }

  /**
   * Region embeddings `α · proj(CNN(crop))`.
   * @returns `[rows, candidates, channels]`.
   */
  forward(inputs: CandidateRegionInputs): tf.Tensor3D {
    const dims = checkShapes({
      images: { tensor: inputs.images, axes: ['rows', 'height', 'width', 3], dtypes: ['float32'] },
      maskLogits: { tensor: inputs.maskLogits, axes: ['rows', 'candidates', 'maskHeight', 'maskWidth'], dtypes: ['float32'] },
    });
    const rows = dims['rows']!;
    const candidates = dims['candidates']!;
    return tf.tidy(() => {
      let x: tf.Tensor4D = candidateCrops(inputs.images, inputs.maskLogits, this.cropSize);
      this.convs.forEach((conv, s) => {
        x = tf.relu(conv.forward(s === 0 ? x : spaceToDepth(x, 2))) as tf.Tensor4D;
      });
      const flat = tf.reshape(x, [rows * candidates, -1]) as tf.Tensor2D;
      const embedding = tf.mul(this.proj.forward(flat), this.gate.read());
      return tf.reshape(embedding, [rows, candidates, this.hiddenDim]) as tf.Tensor3D;
    });
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    if (!Array.isArray(inputs) || inputs.length !== 2) {
      throw new ValueError('inputs: expected [images, maskLogits]', 'inputs');
    }
    return this.forward({ images: inputs[0] as tf.Tensor4D, maskLogits: inputs[1] as tf.Tensor4D });
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
    const masks = (inputShape as tf.Shape[])[1]!;
    return [masks[0]!, masks[1]!, this.hiddenDim];
  }

  override getConfig(): tf.serialization.ConfigDict {
    return {
      ...super.getConfig(),
      hiddenDim: this.hiddenDim,
      cropSize: this.cropSize,
      convChannels: [...this.convChannels],
      ...(this.seed === undefined ? {} : { seed: this.seed }),
    };
  }
}
tf.serialization.registerClass(CandidateRegionEncoder);

/**
 * Check a region crop side (an integer multiple of 4, ≥ 8).
 * @throws ValueError naming `field`.
 */
export function validateCropSize(size: unknown, field: string): void {
  if (typeof size !== 'number' || !Number.isInteger(size) || size < 8 || size % 4 !== 0) {
    throw new ValueError(`${field}: expected an integer multiple of 4, ≥ 8, received ${JSON.stringify(size)}`, field);
  }
}
