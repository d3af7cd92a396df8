import * as tf from '@tensorflow/tfjs';
import {
  FeedForward,
  FlowSegLayer,
  LayerNorm,
  MultiHeadAttention,
  ValueError,
  deriveSeed,
  requirePositiveInt,
} from '@flowseg/core';

/** Configuration of {@link PreNormTransformerBlock}. */
export interface PreNormTransformerBlockConfig {
  /** Width of the token states (`channels`). */
  dim: number;
  /** Attention heads; must divide `dim`. */
  numHeads: number;
  /** Hidden width of the feed-forward network. */
  ffnDim: number;
  /** Seed of the initializers (default: unseeded); `self_attn` gets `deriveSeed(seed, 0)`, `mlp` `deriveSeed(seed, 1)`. */
  seed?: number;
  /** Layer name. */
  name?: string;
}

/** Inputs of {@link PreNormTransformerBlock.forward}. */
export interface PreNormTransformerBlockInputs {
  /** Token states `[batch, tokens, channels]`. */
  readonly x: tf.Tensor3D;
  /** Bool attention mask `[batch | 1, 1, tokens, tokens]`, `true` = blocked (e.g. causal). */
  readonly attentionMask?: tf.Tensor4D | null;
  /** Bool key padding mask `[batch, tokens]`, `true` = padding (never attended). */
  readonly keyPaddingMask?: tf.Tensor2D | null;
}

/**
 * Pre-norm Transformer block (GPT-2 / ViT / Qwen layout):
 * `x ← x + SelfAttn(LN₁(x))`, then `x ← x + FFN(LN₂(x))`.
 *
 * Children (checkpoint names): `input_layernorm`, `self_attn` (q/k/v/out projections),
 * `post_attention_layernorm`, `mlp` (`linear1`, `linear2`, ReLU).
 */
export class PreNormTransformerBlock extends FlowSegLayer {
  /** @internal */
  static readonly className = 'FlowSegPreNormTransformerBlock';
  /** Width of the token states. */
  readonly dim: number;
  /** Attention heads. */
  readonly numHeads: number;
  /** Hidden width of the feed-forward network. */
  readonly ffnDim: number;
  /** Initializer seed, if any. */
  readonly seed: number | undefined;
  private norm1!: LayerNorm;
  private attn!: MultiHeadAttention;
  private norm2!: LayerNorm;
  private mlp!: FeedForward;

  constructor(config: PreNormTransformerBlockConfig) {
    super({ name: config.name });
    for (const k of ['dim', 'numHeads', 'ffnDim'] as const) requirePositiveInt(config[k], k);
    if (config.dim % config.numHeads !== 0) {
      throw new ValueError(`numHeads: ${config.numHeads} does not divide dim=${config.dim}`, 'numHeads');
    }
    this.dim = config.dim;
    this.numHeads = config.numHeads;
    this.ffnDim = config.ffnDim;
    this.seed = config.seed;
  }

  override build(): void {
    if (this.built) return;
    this.norm1 = this.addChild('input_layernorm', new LayerNorm({ features: this.dim }));
    this.attn = this.addChild('self_attn', new MultiHeadAttention({ embedDim: this.dim, numHeads: this.numHeads, seed: deriveSeed(this.seed, 0) }));
    this.norm2 = this.addChild('post_attention_layernorm', new LayerNorm({ features: this.dim }));
    this.mlp = this.addChild('mlp', new FeedForward({ dim: this.dim, hiddenDim: this.ffnDim, seed: deriveSeed(this.seed, 1) }));
    for (const c of this.children()) (c as FlowSegLayer).ensureBuilt();
    super.build([]);
  }

  /**
   * Run the block (shapes are checked by the attention layer).
   * @returns updated token states `[batch, tokens, channels]`.
   */
  forward(inputs: PreNormTransformerBlockInputs): tf.Tensor3D {
    return tf.tidy(() => this.forwardIncremental({ ...inputs, past: null }).output);
  }

  /**
   * The block on new rows `x` that also attend to earlier rows whose normed inputs `LN₁(x)` are
   * `past` (incremental decoding: keys and values are projected from `[past ; LN₁(x)]`).
   * `attentionMask` is over the new rows' queries and all keys, `keyPaddingMask` over all keys.
   * @returns `output` (updated new rows `[batch, new, channels]`) and `keys` (`[past ; LN₁(x)]`
   *   `[batch, past + new, channels]`, what the next call takes as `past`).
   */
  forwardIncremental(inputs: PreNormTransformerBlockInputs & { readonly past: tf.Tensor3D | null }): {
    output: tf.Tensor3D;
    keys: tf.Tensor3D;
  } {
    this.ensureBuilt();
    return tf.tidy(() => {
      const normed = this.norm1.forward(inputs.x);
      const keys = inputs.past ? (tf.concat([inputs.past, normed], 1) as tf.Tensor3D) : normed;
      const attended = this.attn.forward({
        query: normed,
        key: keys,
        value: keys,
        attentionMask: inputs.attentionMask ?? null,
        keyPaddingMask: inputs.keyPaddingMask ?? null,
      }).output;
      const x = tf.add(inputs.x, attended) as tf.Tensor3D;
      return { output: tf.add(x, this.mlp.forward(this.norm2.forward(x))) as tf.Tensor3D, keys };
    });
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return this.forward({ x: (Array.isArray(inputs) ? inputs[0]! : inputs) as tf.Tensor3D });
  }

  override computeOutputShape(inputShape: tf.Shape): tf.Shape {
    return inputShape;
  }

  override getConfig(): tf.serialization.ConfigDict {
    return {
      ...super.getConfig(),
      dim: this.dim,
      numHeads: this.numHeads,
      ffnDim: this.ffnDim,
      ...(this.seed === undefined ? {} : { seed: this.seed }),
    };
  }
}
tf.serialization.registerClass(PreNormTransformerBlock);
