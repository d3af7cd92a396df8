import * as tf from '@tensorflow/tfjs';
import {
  FlowSegLayer,
  LayerNorm,
  Linear,
  ShapeError,
  ValueError,
  checkShapes,
  deriveSeed,
  requirePositiveInt,
  tidy,
  type TensorSpec,
} from '@flowseg/core';
import { Conv2d } from './Conv2d.js';
import { GroupNorm } from './GroupNorm.js';

/** Normalization after each convolution of {@link FpnPixelDecoder}. */
export type PixelDecoderNorm = 'group' | 'layer' | 'none';

/** Number of backbone maps the FPN takes (strides 4, 8, 16, 32). */
export const FPN_INPUT_LEVELS = 4;

/** Configuration of {@link FpnPixelDecoder}. */
export interface FpnPixelDecoderConfig {
  /** Channel widths of the 4 backbone maps, **finest first** (strides 4, 8, 16, 32). */
  inChannels: readonly number[];
  /** Width of every FPN level (default 256; must match the decoder's `featureChannels`). */
  convDim?: number;
  /** Width of the mask features (default 256; the decoder's `maskDim`). */
  maskDim?: number;
  /**
   * Normalization: `'group'` (GroupNorm, Detectron2's FPN default), `'layer'` (LayerNorm over
   * channels, per pixel) or `'none'` (convs get biases instead). Default `'group'`.
   */
  norm?: PixelDecoderNorm;
  /** GroupNorm groups (default 32; must divide `convDim`). */
  groups?: number;
  /** Seed of the initializers (default: unseeded). */
  seed?: number;
  /** Layer name. */
  name?: string;
}

/** Inputs of {@link FpnPixelDecoder.forward}. */
export interface PixelDecoderInputs {
  /** Backbone maps, finest first: `[batch, height_i, width_i, inChannels_i]` at strides 4, 8, 16, 32. */
  readonly backboneFeatures: readonly tf.Tensor4D[];
}

/** Outputs of {@link FpnPixelDecoder.forward}: exactly what the query decoder takes. */
export interface PixelDecoderOutputs {
  /** The 3 coarsest FPN levels, **coarsest first** (strides 32, 16, 8): `[batch, height_i, width_i, convDim]`. */
  readonly features: tf.Tensor4D[];
  /** Per-pixel mask features at stride 4: `[batch, height_0, width_0, maskDim]`. */
  readonly maskFeatures: tf.Tensor4D;
}

type Norm = GroupNorm | LayerNorm | null;

/**
 * A plain FPN pixel decoder (MaskFormer's `BasePixelDecoder` family): per level a lateral
 * 1×1 conv, top-down nearest-neighbour upsampling (PyTorch `mode="nearest"`) added to the
 * lateral, and a 3×3 output conv with ReLU; normalization after each conv; mask features are a
 * 1×1 projection of the finest level.
 *
 * Honest scope: this is NOT Mask2Former's `MSDeformAttnPixelDecoder` — multi-scale deformable
 * attention is out of scope — so weights of a Mask2Former pixel decoder do not load into it.
 *
 * Weight names: `lateral_convs.{i}.kernel` (1×1 conv as a Linear `[in, convDim]`),
 * `lateral_norms.{i}.*`, `output_convs.{i}.kernel` `[3, 3, convDim, convDim]`,
 * `output_norms.{i}.*`, `mask_features.kernel|bias`; `i` = backbone level, 0 = finest.
 */
export class FpnPixelDecoder extends FlowSegLayer {
  /** @internal */
  static readonly className: string = 'FlowSegFpnPixelDecoder';
  /** Backbone widths, finest first. */
  readonly inChannels: readonly number[];
  /** FPN width. */
  readonly convDim: number;
  /** Mask-feature width. */
  readonly maskDim: number;
  /** Normalization kind. */
  readonly norm: PixelDecoderNorm;
  /** GroupNorm groups. */
  readonly groups: number;
  /** Initializer seed, if any. */
  readonly seed: number | undefined;
  private laterals: Linear[] = [];
  private lateralNorms: Norm[] = [];
  private outputs: Conv2d[] = [];
  private outputNorms: Norm[] = [];
  private maskProjection!: Linear;

  /** @throws ValueError naming the offending field. */
  constructor(config: FpnPixelDecoderConfig) {
    super({ name: config.name });
    if (!Array.isArray(config.inChannels) || config.inChannels.length !== FPN_INPUT_LEVELS) {
      throw new ValueError(
        `inChannels: expected ${FPN_INPUT_LEVELS} widths (strides 4, 8, 16, 32), received ${JSON.stringify(config.inChannels)}`,
        'inChannels',
      );
    }
    this.inChannels = config.inChannels.map((c) => requirePositiveInt(c, 'inChannels'));
    this.convDim = requirePositiveInt(config.convDim ?? 256, 'convDim');
    this.maskDim = requirePositiveInt(config.maskDim ?? 256, 'maskDim');
    const norm = config.norm ?? 'group';
    if (norm !== 'group' && norm !== 'layer' && norm !== 'none') {
      throw new ValueError(`norm: expected 'group', 'layer' or 'none', received ${String(norm)}`, 'norm');
    }
    this.norm = norm;
    this.groups = requirePositiveInt(config.groups ?? 32, 'groups');
    this.seed = config.seed;
    if (norm === 'group' && this.convDim % this.groups !== 0) {
      throw new ValueError(`groups: expected a divisor of convDim=${this.convDim}, received ${this.groups}`, 'groups');
    }
  }

  /** Creates the convolutions and norms. */
  override build(): void {
    if (this.built) return;
    const useBias = this.norm === 'none';
    const makeNorm = (key: string): Norm => {
      if (this.norm === 'none') return null;
      const layer =
        this.norm === 'group'
          ? new GroupNorm({ channels: this.convDim, groups: this.groups })
          : new LayerNorm({ features: this.convDim });
      this.addChild(key, layer).ensureBuilt();
      return layer;
    };
    this.inChannels.forEach((c, i) => {
      this.laterals.push(this.addChild(`lateral_convs.${i}`, new Linear({ inFeatures: c, outFeatures: this.convDim, useBias, seed: deriveSeed(this.seed, 2 * i) })));
      this.laterals[i]!.ensureBuilt();
      this.lateralNorms.push(makeNorm(`lateral_norms.${i}`));
      const conv = new Conv2d({ inChannels: this.convDim, outChannels: this.convDim, kernelSize: 3, useBias, seed: deriveSeed(this.seed, 2 * i + 1) });
      this.outputs.push(this.addChild(`output_convs.${i}`, conv));
      conv.ensureBuilt();
      this.outputNorms.push(makeNorm(`output_norms.${i}`));
    });
    this.maskProjection = this.addChild('mask_features', new Linear({ inFeatures: this.convDim, outFeatures: this.maskDim, seed: deriveSeed(this.seed, 100) }));
    this.maskProjection.ensureBuilt();
    super.build([]);
  }

  /**
   * Run the FPN. See {@link PixelDecoderInputs} / {@link PixelDecoderOutputs} for shapes.
   * @throws ShapeError / DTypeError naming the offending input.
   */
  forward(inputs: PixelDecoderInputs): PixelDecoderOutputs {
    this.ensureBuilt();
    const maps = inputs.backboneFeatures;
    if (!Array.isArray(maps) || maps.length !== FPN_INPUT_LEVELS) {
      throw new ShapeError(
        'backboneFeatures',
        `${FPN_INPUT_LEVELS} maps [batch, height_i, width_i, channels_i], finest first`,
        [Array.isArray(maps) ? maps.length : 0],
        'wrong number of maps',
      );
    }
    const specs: Record<string, TensorSpec> = {};
    maps.forEach((tensor, i) => {
      specs[`backboneFeatures[${i}]`] = {
        tensor,
        axes: ['batch', `height${i}`, `width${i}`, { name: 'channels', size: this.inChannels[i]! }],
        dtypes: ['float32'],
      };
    });
    const b = checkShapes(specs);
    return tidy(() => {
      const levels: tf.Tensor4D[] = new Array(FPN_INPUT_LEVELS);
      let y: tf.Tensor4D | null = null;
      for (let i = FPN_INPUT_LEVELS - 1; i >= 0; i--) {
        let merged = applyNorm(this.lateralNorms[i]!, this.laterals[i]!.forward(maps[i]!));
        if (y) {
          const size: [number, number] = [b[`height${i}`]!, b[`width${i}`]!];
          merged = tf.add(merged, tf.image.resizeNearestNeighbor(y, size, false, false));
        }
        y = tf.relu(applyNorm(this.outputNorms[i]!, this.outputs[i]!.forward(merged)));
        levels[i] = y;
      }
      return {
        features: [levels[3]!, levels[2]!, levels[1]!],
        maskFeatures: this.maskProjection.forward(levels[0]!),
      };
    });
  }

  /** Array use: inputs are the 4 backbone maps; returns `[f32, f16, f8, maskFeatures]`. */
  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor[] {
    const out = this.forward({ backboneFeatures: (Array.isArray(inputs) ? inputs : [inputs]) as tf.Tensor4D[] });
    return [...out.features, out.maskFeatures];
  }

  /** Shapes of `[f32, f16, f8, maskFeatures]`. */
  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape[] {
    const shapes = inputShape as tf.Shape[];
    return [
      ...[3, 2, 1].map((i) => [...shapes[i]!.slice(0, 3), this.convDim]),
      [...shapes[0]!.slice(0, 3), this.maskDim],
    ];
  }

  /** Serializable config. */
  override getConfig(): tf.serialization.ConfigDict {
    return {
      ...super.getConfig(),
      inChannels: [...this.inChannels],
      convDim: this.convDim,
      maskDim: this.maskDim,
      norm: this.norm,
      groups: this.groups,
      ...(this.seed === undefined ? {} : { seed: this.seed }),
    };
  }
}
tf.serialization.registerClass(FpnPixelDecoder);

function applyNorm(norm: Norm, x: tf.Tensor4D): tf.Tensor4D {
  return norm ? norm.forward(x) : x;
}
