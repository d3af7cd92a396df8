import * as tf from '@tensorflow/tfjs';
import { PostNormAttentionBlock, type AttentionBlockConfig } from './PostNormAttentionBlock.js';

export type { AttentionBlockConfig } from './PostNormAttentionBlock.js';

/** Inputs of {@link CrossAttentionBlock.forward}. */
export interface CrossAttentionBlockInputs {
  /** Query states `[batch, queries, channels]`. */
  readonly queries: tf.Tensor3D;
  /** Positional embeddings of the queries `[batch, queries, channels]` (added to q only). */
  readonly queryPos?: tf.Tensor3D | null;
  /** Memory attended to `[batch, keys, channels]` (keys and values). */
  readonly memory: tf.Tensor3D;
  /** Positional embeddings of the memory `[batch, keys, channels]` (added to k only). */
  readonly memoryPos?: tf.Tensor3D | null;
  /** Bool mask `[batch, queries, keys]`, `true` = blocked (Mask2Former's masked attention). */
  readonly attentionMask?: tf.Tensor3D | null;
  /** Bool key padding mask `[batch, keys]`, `true` = padding. */
  readonly keyPaddingMask?: tf.Tensor2D | null;
  /** Training mode (dropout active). */
  readonly training?: boolean;
}

/**
 * Mask2Former's post-norm cross-attention layer (`CrossAttentionLayer.forward_post`):
 * `norm(q + dropout(MHA(q + q_pos, m + m_pos, m, mask)))`. Child names `multihead_attn` and
 * `norm` follow the PyTorch module so checkpoints map one-to-one.
 */
export class CrossAttentionBlock extends PostNormAttentionBlock {
  /** @internal */
  static readonly className = 'FlowSegCrossAttentionBlock';

  constructor(config: AttentionBlockConfig) {
    super(config, 'multihead_attn');
  }

  /** @returns updated queries `[batch, queries, channels]`. */
  forward(inputs: CrossAttentionBlockInputs): tf.Tensor3D {
    this.ensureBuilt();
    return tf.tidy(() => {
      const mask = inputs.attentionMask;
      const { output } = this.attention.forward({
        query: inputs.queries,
        key: inputs.memory,
        value: inputs.memory,
        queryPos: inputs.queryPos ?? null,
        keyPos: inputs.memoryPos ?? null,
        attentionMask: mask ? (tf.expandDims(mask, 1) as tf.Tensor4D) : null,
        keyPaddingMask: inputs.keyPaddingMask ?? null,
      });
      return this.addAndNorm(inputs.queries, output, inputs.training);
    });
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    const [queries, memory] = (Array.isArray(inputs) ? inputs : [inputs]) as tf.Tensor3D[];
    return this.forward({ queries: queries!, memory: memory ?? queries! });
  }
}
tf.serialization.registerClass(CrossAttentionBlock);
