import * as tf from '@tensorflow/tfjs';
import { FlowSegLayer } from '../layers/FlowSegLayer.js';
import { LayerNorm } from '../layers/LayerNorm.js';
import { MultiHeadAttention } from './MultiHeadAttention.js';
import { ValueError } from '../errors/FlowSegError.js';

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

/** @internal Validates the shared block options; returns the dropout rate. */
export function validateBlockConfig(config: AttentionBlockConfig): number {
  const dropout = config.dropout ?? 0;
  if (!(dropout >= 0 && dropout < 1)) {
    throw new ValueError(`dropout: expected a rate in [0, 1), received ${dropout}`, 'dropout');
  }
  return dropout;
}

/**
 * Mask2Former's post-norm cross-attention layer (`CrossAttentionLayer.forward_post`):
 * `norm(q + dropout(MHA(q + q_pos, m + m_pos, m, mask)))`. Child names `multihead_attn` and
 * `norm` follow the PyTorch module so checkpoints map one-to-one.
 */
export class CrossAttentionBlock extends FlowSegLayer {
  /** @internal */
  static readonly className = 'FlowSegCrossAttentionBlock';
  /** Width of queries and memory (`channels`). */
  readonly dim: number;
  /** Number of attention heads. */
  readonly numHeads: number;
  /** Dropout rate before the residual, in training. */
  readonly dropout: number;
  /** The attention (`multihead_attn`). */
  attention!: MultiHeadAttention;
  /** The post-norm (`norm`). */
  norm!: LayerNorm;

  constructor(config: AttentionBlockConfig) {
    super({ name: config.name });
    this.dropout = validateBlockConfig(config);
    this.dim = config.dim;
    this.numHeads = config.numHeads;
    // Validates dim/numHeads eagerly.
    this.attention = new MultiHeadAttention({ embedDim: this.dim, numHeads: this.numHeads, seed: config.seed });
  }

  override build(): void {
    if (this.built) return;
    this.addChild('multihead_attn', this.attention);
    this.norm = this.addChild('norm', new LayerNorm({ features: this.dim }));
    this.attention.ensureBuilt();
    this.norm.ensureBuilt();
    super.build([]);
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
      const dropped = inputs.training && this.dropout > 0 ? tf.dropout(output, this.dropout) : output;
      return this.norm.forward(tf.add(inputs.queries, dropped) as tf.Tensor3D);
    });
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    const [queries, memory] = (Array.isArray(inputs) ? inputs : [inputs]) as tf.Tensor3D[];
    return this.forward({ queries: queries!, memory: memory ?? queries! });
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
tf.serialization.registerClass(CrossAttentionBlock);
