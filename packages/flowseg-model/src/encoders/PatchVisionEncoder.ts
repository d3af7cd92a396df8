import * as tf from '@tensorflow/tfjs';
import { FlowSegLayer, LayerNorm, Linear, ValueError, checkShapes, deriveSeed, requireInt, requirePositiveInt } from '@flowseg/core';
import type { VisionEncoder, VisionTokens } from './VisionEncoder.js';
import { spaceToDepth } from './spaceToDepth.js';
import { PreNormTransformerBlock } from '../language/PreNormTransformerBlock.js';
import { Embedding } from '../language/Embedding.js';

/** Configuration of {@link PatchVisionEncoder}. */
export interface PatchVisionEncoderConfig {
  /** Width of the output tokens, the language model's `hiddenSize` (default 128). */
  tokenDim?: number;
  /** Input image height (default 64); the position embeddings are learned for this size. */
  imageHeight?: number;
  /** Input image width (default 64). */
  imageWidth?: number;
  /** Side of the square patches (default 8). */
  patchSize?: number;
  /** Width of the encoder's own tokens (default 64). */
  width?: number;
  /** Transformer blocks (default 2). */
  depth?: number;
  /** Attention heads (default 4; must divide `width`). */
  numHeads?: number;
  /** Hidden width of the blocks' feed-forward networks (default `2·width`). */
  ffnDim?: number;
  /**
   * Merge `mergeSize×mergeSize` neighbouring patch tokens into one output token before the
   * projection (Qwen2-VL's patch merger; default 2), dividing the token count by `mergeSize²`.
   */
  mergeSize?: number;
  /**
   * Seed of every weight's init (default 0). Children get `deriveSeed(seed, i)`: i = 0
   * `patch_embed`, 1 `pos_embed`, 2 `projector.linear1`, 3 `projector.linear2`, 4 + k `layers.<k>`.
   */
  seed?: number;
  /** Layer name. */
  name?: string;
}

/**
 * FlowSeg's built-in {@link VisionEncoder}: a small ViT, trainable from scratch on a CPU
 * (the paper uses SigLIP2).
 *
 * `patchify` (`spaceToDepth` + `Linear`, one 2-D matmul) → `+` learned positions → `depth`
 * pre-norm Transformer blocks → LayerNorm → merge `mergeSize×mergeSize` neighbours →
 * projector `Linear → ReLU → Linear` to `tokenDim`. Defaults: 64×64 images, 8×8 patches
 * (64 tokens inside the encoder), 2×2 merge → 16 image tokens of width 128.
 *
 * Weights (checkpoint names): `patch_embed`, `pos_embed.weight`, `layers.<i>.…`, `norm`,
 * `projector.{linear1,linear2}`.
 */
export class PatchVisionEncoder extends FlowSegLayer implements VisionEncoder {
  /** @internal */
  static readonly className = 'FlowSegPatchVisionEncoder';
  /** Width of the output tokens. */
  readonly tokenDim: number;
  /** Input image height. */
  readonly imageHeight: number;
  /** Input image width. */
  readonly imageWidth: number;
  /** Patch side. */
  readonly patchSize: number;
  /** Width inside the encoder. */
  readonly width: number;
  /** Transformer blocks. */
  readonly depth: number;
  /** Attention heads. */
  readonly numHeads: number;
  /** Feed-forward hidden width. */
  readonly ffnDim: number;
  /** Patch-merge factor per side. */
  readonly mergeSize: number;
  /** Tokens per image: `(imageHeight/(patchSize·mergeSize))·(imageWidth/(patchSize·mergeSize))`. */
  readonly numImageTokens: number;
  /** Seed of the init. */
  readonly seed: number;
  private patchEmbed!: Linear;
  private posEmbed!: Embedding;
  private blocks: PreNormTransformerBlock[] = [];
  private norm!: LayerNorm;
  private proj1!: Linear;
  private proj2!: Linear;

  constructor(config: PatchVisionEncoderConfig = {}) {
    super({ name: config.name });
    const width = config.width ?? 64;
    const r = {
      tokenDim: config.tokenDim ?? 128,
      imageHeight: config.imageHeight ?? 64,
      imageWidth: config.imageWidth ?? 64,
      patchSize: config.patchSize ?? 8,
      width,
      depth: config.depth ?? 2,
      numHeads: config.numHeads ?? 4,
      ffnDim: config.ffnDim ?? 2 * width,
      mergeSize: config.mergeSize ?? 2,
    };
    for (const [k, v] of Object.entries(r)) requirePositiveInt(v, k);
    const cell = r.patchSize * r.mergeSize;
    for (const k of ['imageHeight', 'imageWidth'] as const) {
      if (r[k] % cell !== 0) {
        throw new ValueError(`${k}: ${r[k]} is not divisible by patchSize·mergeSize = ${cell}`, k);
      }
    }
    if (width % r.numHeads !== 0) {
      throw new ValueError(`numHeads: ${r.numHeads} does not divide width=${width}`, 'numHeads');
    }
    const seed = requireInt(config.seed ?? 0, 'seed');
    this.tokenDim = r.tokenDim;
    this.imageHeight = r.imageHeight;
    this.imageWidth = r.imageWidth;
    this.patchSize = r.patchSize;
    this.width = width;
    this.depth = r.depth;
    this.numHeads = r.numHeads;
    this.ffnDim = r.ffnDim;
    this.mergeSize = r.mergeSize;
    this.numImageTokens = (r.imageHeight / cell) * (r.imageWidth / cell);
    this.seed = seed;
    // Built on construction, so `trainableWeights` and optimizers see every weight at once.
    this.ensureBuilt();
  }

  override build(): void {
    if (this.built) return;
    const p = this.patchSize;
    const numPatches = (this.imageHeight / p) * (this.imageWidth / p);
    this.patchEmbed = this.addChild('patch_embed', new Linear({ inFeatures: p * p * 3, outFeatures: this.width, seed: deriveSeed(this.seed, 0) }));
    this.posEmbed = this.addChild(
      'pos_embed',
      new Embedding({ numEmbeddings: numPatches, dim: this.width, seed: deriveSeed(this.seed, 1) }),
    );
    for (let i = 0; i < this.depth; i++) {
      this.blocks.push(
        this.addChild(
          `layers.${i}`,
          new PreNormTransformerBlock({
            dim: this.width,
            numHeads: this.numHeads,
            ffnDim: this.ffnDim,
            seed: deriveSeed(this.seed, 4 + i),
          }),
        ),
      );
    }
    this.norm = this.addChild('norm', new LayerNorm({ features: this.width }));
    const merged = this.width * this.mergeSize * this.mergeSize;
    this.proj1 = this.addChild('projector.linear1', new Linear({ inFeatures: merged, outFeatures: merged, seed: deriveSeed(this.seed, 2) }));
    this.proj2 = this.addChild('projector.linear2', new Linear({ inFeatures: merged, outFeatures: this.tokenDim, seed: deriveSeed(this.seed, 3) }));
    for (const child of this.children()) (child as FlowSegLayer).ensureBuilt();
    super.build([]);
  }

  /**
   * Encode images.
   * @param image - `[batch, imageHeight, imageWidth, 3]` float32 RGB in 0..1.
   * @returns tokens `[batch, numImageTokens, tokenDim]`, row-major over the merged grid.
   */
  forward(image: tf.Tensor4D): VisionTokens {
    this.ensureBuilt();
    const { batch } = checkShapes({
      image: {
        tensor: image,
        axes: ['batch', { name: 'height', size: this.imageHeight }, { name: 'width', size: this.imageWidth }, 3],
        dtypes: ['float32'],
      },
    });
    const b = batch!;
    const p = this.patchSize;
    const gh = this.imageHeight / p;
    const gw = this.imageWidth / p;
    return tf.tidy(() => {
      const patches = spaceToDepth(image, p); // [B, gh, gw, p·p·3]
      let x = tf.reshape(this.patchEmbed.forward(patches), [b, gh * gw, this.width]) as tf.Tensor3D;
      x = tf.add(x, this.posEmbed.weight);
      for (const block of this.blocks) x = block.forward({ x });
      const normed = tf.reshape(this.norm.forward(x), [b, gh, gw, this.width]) as tf.Tensor4D;
      const merged = spaceToDepth(normed, this.mergeSize); // [B, gh/m, gw/m, m·m·width]
      const tokens = this.proj2.forward(this.proj1.forward(merged, 'relu'));
      return { tokens: tf.reshape(tokens, [b, this.numImageTokens, this.tokenDim]) as tf.Tensor3D };
    });
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return this.forward((Array.isArray(inputs) ? inputs[0]! : inputs) as tf.Tensor4D).tokens;
  }

  override computeOutputShape(inputShape: tf.Shape): tf.Shape {
    return [inputShape[0]!, this.numImageTokens, this.tokenDim];
  }

  override getConfig(): tf.serialization.ConfigDict {
    return {
      ...super.getConfig(),
      tokenDim: this.tokenDim,
      imageHeight: this.imageHeight,
      imageWidth: this.imageWidth,
      patchSize: this.patchSize,
      width: this.width,
      depth: this.depth,
      numHeads: this.numHeads,
      ffnDim: this.ffnDim,
      mergeSize: this.mergeSize,
      seed: this.seed,
    };
  }
}
tf.serialization.registerClass(PatchVisionEncoder);
