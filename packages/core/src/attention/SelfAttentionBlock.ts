import * as tf from '@tensorflow/tfjs';
import { PostNormAttentionBlock, type AttentionBlockConfig } from './PostNormAttentionBlock.js';

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
export class SelfAttentionBlock extends PostNormAttentionBlock {
  /** @internal */
  static readonly className = 'FlowSegSelfAttentionBlock';

  constructor(config: AttentionBlockConfig) {
    super(config, 'self_attn');
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
      return this.addAndNorm(q, output, inputs.training);
    });
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return this.forward({ queries: (Array.isArray(inputs) ? inputs[0] : inputs) as tf.Tensor3D });
  }
}
tf.serialization.registerClass(SelfAttentionBlock);
