import * as tf from '@tensorflow/tfjs';
import { FlowSegLayer } from '../layers/FlowSegLayer.js';
import { LayerNorm } from '../layers/LayerNorm.js';
import { MultiHeadAttention } from './MultiHeadAttention.js';
import { requireRate } from '../errors/requireValue.js';

/** Configuration of {@link CrossAttentionBlock} and {@link SelfAttentionBlock}. */
export interface AttentionBlockConfig {
  /** Width of queries, keys and values (`channels`). */
  dim: number;
  /** Attention heads; must divide `dim`. */
  numHeads: number;
  /** Dropout on the attention output before the residual, in training (default 0). */
  dropout?: number;
  /** Seed for the attention's initializers (default: unseeded). */
  seed?: number;
  /** Layer name. */
  name?: string;
}

/**
 * What Mask2Former's post-norm attention layers share: an attention child and a `norm`
 * child, combined as `norm(q + dropout(attention(…)))`. {@link CrossAttentionBlock} and
 * {@link SelfAttentionBlock} differ only in what they attend to and in the attention child's
 * name (`multihead_attn` / `self_attn`, as in the PyTorch modules).
 */
export abstract class PostNormAttentionBlock extends FlowSegLayer {
  /** Width of the queries (`channels`). */
  readonly dim: number;
  /** Number of attention heads. */
  readonly numHeads: number;
  /** Dropout rate before the residual, in training. */
  readonly dropout: number;
  /** The attention (child `multihead_attn` or `self_attn`). */
  attention: MultiHeadAttention;
  /** The post-norm (`norm`). */
  norm!: LayerNorm;
  private readonly attentionKey: string;

  /**
   * @param config - sizes, dropout and seed.
   * @param attentionKey - the attention child's name in weight paths.
   */
  protected constructor(config: AttentionBlockConfig, attentionKey: string) {
    super({ name: config.name });
    this.dropout = requireRate(config.dropout ?? 0, 'dropout');
    this.dim = config.dim;
    this.numHeads = config.numHeads;
    this.attentionKey = attentionKey;
    // Validates dim/numHeads eagerly.
    this.attention = new MultiHeadAttention({ embedDim: this.dim, numHeads: this.numHeads, seed: config.seed });
  }

  /** Registers the attention and `norm` children. */
  override build(): void {
    if (this.built) return;
    this.addChild(this.attentionKey, this.attention);
    this.norm = this.addChild('norm', new LayerNorm({ features: this.dim }));
    this.attention.ensureBuilt();
    this.norm.ensureBuilt();
    super.build([]);
  }

  /** `norm(queries + dropout(attended))`, dropout only in training. */
  protected addAndNorm(queries: tf.Tensor3D, attended: tf.Tensor3D, training: boolean | undefined): tf.Tensor3D {
    const dropped = training && this.dropout > 0 ? tf.dropout(attended, this.dropout) : attended;
    return this.norm.forward(queries, dropped as tf.Tensor3D);
  }

  /** Output shape equals the queries' shape. */
  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
    return (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tf.Shape;
  }

  /** Serializable config (sizes, dropout, seed if any). */
  override getConfig(): tf.serialization.ConfigDict {
    return {
      ...super.getConfig(),
      dim: this.dim,
      numHeads: this.numHeads,
      dropout: this.dropout,
      ...(this.attention.seed === undefined ? {} : { seed: this.attention.seed }),
    };
  }
}
