import * as tf from '@tensorflow/tfjs';
import { FlowSegLayer } from '../layers/FlowSegLayer.js';
import { LayerNorm } from '../layers/LayerNorm.js';
import { MultiHeadAttention } from './MultiHeadAttention.js';
import { validateBlockConfig, type AttentionBlockConfig } from './CrossAttentionBlock.js';

/** Inputs of {@link SelfAttentionBlock.forward}. */
export interface SelfAttentionBlockInputs {
  /** Query states `[batch, queries, channels]`. */
  readonly queries: tf.Tensor3D;
  /** Positional embeddings `[batch, queries, channels]` (added to q and k, not v). */
  readonly queryPos?: tf.Tensor3D | null;
  /** Bool key padding mask `[batch, queries]`, `true` = padding. */
  readonly keyPaddingMask?: tf.Tensor2D | null;
  /** Training mode (dropout active). */
  readonly training?: boolean;
}

/**
 * Mask2Former's post-norm self-attention layer (`SelfAttentionLayer.forward_post`):
 * `norm(q + dropout(MHA(q + pos, q + pos, q)))`. Children `self_attn` and `norm`.
 */
export class SelfAttentionBlock extends FlowSegLayer {
  /** @internal */
  static readonly className = 'FlowSegSelfAttentionBlock';
  /** Width of the queries (`channels`). */
  readonly dim: number;
  /** Number of attention heads. */
  readonly numHeads: number;
  /** Dropout rate before the residual, in training. */
  readonly dropout: number;
  /** The attention (`self_attn`). */
  attention!: MultiHeadAttention;
  /** The post-norm (`norm`). */
  norm!: LayerNorm;

  constructor(config: AttentionBlockConfig) {
    super({ name: config.name });
    this.dropout = validateBlockConfig(config);
    this.dim = config.dim;
    this.numHeads = config.numHeads;
    this.attention = new MultiHeadAttention({ embedDim: this.dim, numHeads: this.numHeads, seed: config.seed });
  }

  override build(): void {
    if (this.built) return;
    this.addChild('self_attn', this.attention);
    this.norm = this.addChild('norm', new LayerNorm({ features: this.dim }));
    this.attention.ensureBuilt();
    this.norm.ensureBuilt();
    super.build([]);
  }

  /** @returns updated queries `[batch, queries, channels]`. */
  forward(inputs: SelfAttentionBlockInputs): tf.Tensor3D {
    this.ensureBuilt();
    return tf.tidy(() => {
      const q = inputs.queries;
      const { output } = this.attention.forward({
        query: q,
        key: q,
        value: q,
        queryPos: inputs.queryPos ?? null,
        keyPos: inputs.queryPos ?? null,
        keyPaddingMask: inputs.keyPaddingMask ?? null,
      });
      const dropped = inputs.training && this.dropout > 0 ? tf.dropout(output, this.dropout) : output;
      return this.norm.forward(tf.add(q, dropped) as tf.Tensor3D);
    });
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return this.forward({ queries: (Array.isArray(inputs) ? inputs[0] : inputs) as tf.Tensor3D });
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
    return (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tf.Shape;
  }

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
tf.serialization.registerClass(SelfAttentionBlock);
