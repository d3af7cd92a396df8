import * as tf from '@tensorflow/tfjs';
import { FlowSegLayer, Linear, ShapeError, ValueError, checkShapes, deriveSeed, requireInt } from '@flowseg/core';
import type { SegmentationEncoder, SegmentationFeatures } from './SegmentationEncoder.js';
import { ResidualConvBlock } from './ResidualConvBlock.js';
import { spaceToDepth } from './spaceToDepth.js';

/** Configuration of {@link ConvSegmentationEncoder}. */
export interface ConvSegmentationEncoderConfig {
  /**
   * Output channels of each stage; stage `k` (0-based) has stride `2^(k+1)`
   * (default `[16, 32, 64, 96]`: strides 2, 4, 8, 16).
   */
  stageChannels?: number[];
  /**
   * Residual conv blocks per stage; a single number applies to all. Default: `[0, 1, 2, 2]`
   * with the default stages (at stride 2 a 3×3 block costs more on wasm than all the other
   * stages together, so the stride-2 map is the plain patch embedding and depth goes where the
   * maps are small), 1 per stage when `stageChannels` is given.
   */
  blocksPerStage?: number | number[];
  /**
   * Strides of the three `features` maps, coarse → fine, each a stage's stride; the coarsest
   * must be the last stage's (default `[16, 8, 4]`: 4×4, 8×8, 16×16 maps for 64×64 images,
   * where the paper's `[32, 16, 8]` would leave a 2×2 coarse map).
   */
  featureStrides?: [number, number, number];
  /** Stride of the `pixel` map, a stage's stride (default 2: 32×32 for 64×64 images; paper: 4). */
  pixelStride?: number;
  /**
   * Seed of every weight's init (default 0). Stage `k` draws from `s = deriveSeed(seed, k)`:
   * its downsample from `deriveSeed(s, 0)`, its block `j` from `deriveSeed(s, 1 + j)`.
   */
  seed?: number;
  /** Layer name. */
  name?: string;
}

/**
 * FlowSeg's built-in {@link SegmentationEncoder}: a small hierarchical conv net, trainable
 * from scratch on a CPU (the paper uses SAM-ViT-L).
 *
 * Each stage halves the resolution with a 2×2 stride-2 patch embedding (`spaceToDepth` +
 * `Linear`, one 2-D matmul) and refines with `blocksPerStage` residual blocks
 * `x + proj(relu(conv3×3(LN(x))))`. `features` and `pixel` are the outputs of the stages
 * whose strides the config names.
 *
 * Weights (checkpoint names): `stages.<k>.downsample.{kernel,bias}`,
 * `stages.<k>.blocks.<j>.{norm, conv, proj}.…`.
 *
 * @example
 * ```ts
 * const enc = new ConvSegmentationEncoder({ seed: 1 });
 * const { features: [coarse, mid, fine], pixel } = enc.forward(images); // images [B, 64, 64, 3]
 * ```
 */
export class ConvSegmentationEncoder extends FlowSegLayer implements SegmentationEncoder {
  /** @internal */
  static readonly className = 'FlowSegConvSegmentationEncoder';
  /** Output channels per stage. */
  readonly stageChannels: readonly number[];
  /** Residual blocks per stage. */
  readonly blocksPerStage: readonly number[];
  /** Strides of `features`, coarse → fine. */
  readonly featureStrides: readonly [number, number, number];
  /** Channels of `features`, coarse → fine. */
  readonly featureChannels: readonly [number, number, number];
  /** Stride of `pixel`. */
  readonly pixelStride: number;
  /** Channels of `pixel`. */
  readonly pixelChannels: number;
  /** Seed of the init. */
  readonly seed: number;
  private downsamples: Linear[] = [];
  private blocks: ResidualConvBlock[][] = [];

  constructor(config: ConvSegmentationEncoderConfig = {}) {
    super({ name: config.name });
    const stageChannels = config.stageChannels ?? [16, 32, 64, 96];
    if (!Array.isArray(stageChannels) || stageChannels.length === 0) {
      throw new ValueError('stageChannels: expected a non-empty array', 'stageChannels');
    }
    stageChannels.forEach((c, k) => {
      if (!Number.isInteger(c) || c <= 0) {
        throw new ValueError(`stageChannels[${k}]: expected a positive integer, received ${c}`, 'stageChannels');
      }
    });
    const numStages = stageChannels.length;
    const rawBlocks = config.blocksPerStage ?? (config.stageChannels ? 1 : [0, 1, 2, 2]);
    const blocksPerStage = Array.isArray(rawBlocks) ? rawBlocks : new Array<number>(numStages).fill(rawBlocks);
    if (blocksPerStage.length !== numStages || blocksPerStage.some((n) => !Number.isInteger(n) || n < 0)) {
      throw new ValueError(
        `blocksPerStage: expected a non-negative integer or ${numStages} of them, received ${JSON.stringify(rawBlocks)}`,
        'blocksPerStage',
      );
    }
    const featureStrides = config.featureStrides ?? [16, 8, 4];
    const pixelStride = config.pixelStride ?? 2;
    const stageOf = (stride: number, argument: string): number => {
      const k = Math.log2(stride) - 1;
      if (!Number.isInteger(k) || k < 0 || k >= numStages) {
        throw new ValueError(
          `${argument}: ${stride} is not a stage stride (2, 4, …, ${2 ** numStages})`,
          argument,
        );
      }
      return k;
    };
    if (!Array.isArray(featureStrides) || featureStrides.length !== 3) {
      throw new ValueError('featureStrides: expected three strides, coarse → fine', 'featureStrides');
    }
    const featureStages = featureStrides.map((s) => stageOf(s, 'featureStrides'));
    if (!(featureStrides[0] > featureStrides[1] && featureStrides[1] > featureStrides[2])) {
      throw new ValueError(
        `featureStrides: expected strictly decreasing (coarse → fine), received [${featureStrides.join(', ')}]`,
        'featureStrides',
      );
    }
    if (featureStages[0] !== numStages - 1) {
      throw new ValueError(
        `featureStrides: the coarsest stride must be the last stage's (${2 ** numStages}), received ${featureStrides[0]}`,
        'featureStrides',
      );
    }
    const pixelStage = stageOf(pixelStride, 'pixelStride');
    if (pixelStride > featureStrides[2]) {
      throw new ValueError(
        `pixelStride: expected ≤ the finest feature stride ${featureStrides[2]}, received ${pixelStride}`,
        'pixelStride',
      );
    }
    const seed = requireInt(config.seed ?? 0, 'seed');
    this.stageChannels = [...stageChannels];
    this.blocksPerStage = [...blocksPerStage];
    this.featureStrides = [featureStrides[0], featureStrides[1], featureStrides[2]];
    this.featureChannels = [
      stageChannels[featureStages[0]!]!,
      stageChannels[featureStages[1]!]!,
      stageChannels[featureStages[2]!]!,
    ];
    this.pixelStride = pixelStride;
    this.pixelChannels = stageChannels[pixelStage]!;
    this.seed = seed;
    // Built on construction, so `trainableWeights` and optimizers see every weight at once.
    this.ensureBuilt();
  }

  override build(): void {
    if (this.built) return;
    let inChannels = 3;
    this.stageChannels.forEach((c, k) => {
      const stageSeed = deriveSeed(this.seed, k);
      this.downsamples.push(
        this.addChild(
          `stages.${k}.downsample`,
          new Linear({ inFeatures: 4 * inChannels, outFeatures: c, seed: deriveSeed(stageSeed, 0) }),
        ),
      );
      const stageBlocks: ResidualConvBlock[] = [];
      for (let j = 0; j < this.blocksPerStage[k]!; j++) {
        stageBlocks.push(
          this.addChild(`stages.${k}.blocks.${j}`, new ResidualConvBlock({ channels: c, seed: deriveSeed(stageSeed, 1 + j) })),
        );
      }
      this.blocks.push(stageBlocks);
      inChannels = c;
    });
    for (const child of this.children()) (child as FlowSegLayer).ensureBuilt();
    super.build([]);
  }

  /**
   * Encode images (see {@link SegmentationFeatures}).
   * @param image - `[batch, height, width, 3]` float32 in 0..1, `height` and `width`
   *   divisible by the coarsest stride.
   */
  forward(image: tf.Tensor4D): SegmentationFeatures {
    this.ensureBuilt();
    const b = checkShapes({ image: { tensor: image, axes: ['batch', 'height', 'width', 3], dtypes: ['float32'] } });
    const coarse = this.featureStrides[0];
    if (b.height! % coarse !== 0 || b.width! % coarse !== 0) {
      throw new ShapeError(
        'image',
        `[batch, height, width, 3] with height and width divisible by ${coarse}`,
        image.shape,
        `${b.height}×${b.width} is not a multiple of the coarsest stride ${coarse}`,
      );
    }
    return tf.tidy(() => {
      const byStride = new Map<number, tf.Tensor4D>();
      let x = image;
      this.stageChannels.forEach((_, k) => {
        x = this.downsamples[k]!.forward(spaceToDepth(x, 2));
        for (const block of this.blocks[k]!) x = block.forward(x);
        byStride.set(2 ** (k + 1), x);
      });
      const [s0, s1, s2] = this.featureStrides;
      return {
        features: [byStride.get(s0)!, byStride.get(s1)!, byStride.get(s2)!] as const,
        // A clone, so that `pixel` stays valid when it shares a stage with a feature map.
        pixel: tf.clone(byStride.get(this.pixelStride)!),
      };
    });
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor[] {
    const out = this.forward((Array.isArray(inputs) ? inputs[0]! : inputs) as tf.Tensor4D);
    return [...out.features, out.pixel];
  }

  override computeOutputShape(inputShape: tf.Shape): tf.Shape[] {
    const [b, h, w] = inputShape;
    const at = (s: number, c: number): tf.Shape => [b!, h == null ? null : h / s, w == null ? null : w / s, c];
    return [
      ...this.featureStrides.map((s, i) => at(s, this.featureChannels[i]!)),
      at(this.pixelStride, this.pixelChannels),
    ];
  }

  override getConfig(): tf.serialization.ConfigDict {
    return {
      ...super.getConfig(),
      stageChannels: [...this.stageChannels],
      blocksPerStage: [...this.blocksPerStage],
      featureStrides: [...this.featureStrides],
      pixelStride: this.pixelStride,
      seed: this.seed,
    };
  }
}
tf.serialization.registerClass(ConvSegmentationEncoder);
