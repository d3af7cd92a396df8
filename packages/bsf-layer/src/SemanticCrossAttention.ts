import * as tf from '@tensorflow/tfjs';
import { FlowSegLayer, MultiHeadAttention, checkShapes, tidy } from '@flowseg/core';
import { SemanticGate } from './SemanticGate.js';
import { conditionPaddingMask, conditionsKnownAllReal, itemHasConditions } from './conditionMask.js';

/** Configuration of {@link SemanticCrossAttention}. */
export interface SemanticCrossAttentionConfig {
  /** Width of queries and conditions (`channels`). */
  dim: number;
  /** Attention heads; must divide `dim`. */
  numHeads: number;
  /** Initial gate bias (see {@link SemanticGateConfig.biasInit}). */
  gateBiasInit?: number;
  /** Seed of the attention's initializers (default: unseeded; the gate's init is deterministic). */
  seed?: number;
  /** Layer name. */
  name?: string;
}

/** Inputs of {@link SemanticCrossAttention.forward}. */
export interface SemanticCrossAttentionInputs {
  /** Visual queries `Q_vis` (output of the visual cross-attention) `[batch, queries, channels]`. */
  readonly queries: tf.Tensor3D;
  /** Query positional embeddings `[batch, queries, channels]`, added to the attention query only. */
  readonly queryPos?: tf.Tensor3D | null;
  /** Condition embeddings `C` `[batch, conditions, channels]` (keys and values). */
  readonly conditions: tf.Tensor3D;
  /** Validity mask `[batch, conditions]`, float32, 1 = real condition, 0 = padding. */
  readonly conditionMask: tf.Tensor2D;
}

/** Outputs of {@link SemanticCrossAttention.forward}. */
export interface SemanticCrossAttentionOutputs {
  /** Fused queries `Q_fused` `[batch, queries, channels]`; equals `Q_vis` for items without conditions. */
  readonly fused: tf.Tensor3D;
  /** Semantic queries `Q_sem = MHA(Q_vis, C, C)` `[batch, queries, channels]`; 0 for items without conditions. */
  readonly semantic: tf.Tensor3D;
  /** Gate `g` `[batch, queries, channels]`; 1 for items without conditions. */
  readonly gate: tf.Tensor3D;
}

/**
 * FlowSeg's semantic refinement (SR): the visual queries read the condition embeddings,
 * `Q_sem = MHA(Q_vis + pos, C, C)`, and a per-channel gate fuses both,
 * `Q_fused = g⊙Q_vis + (1−g)⊙Q_sem` with `g = σ(W_g [Q_vis ‖ Q_sem])`.
 * Children: `multihead_attn` ({@link MultiHeadAttention}) and `gate` ({@link SemanticGate}).
 *
 * No residual and no norm of its own: the gate *is* the fusion (a convex mix that keeps
 * `Q_vis` whenever `g → 1`), and the decoder layer's next block, Mask2Former's post-norm
 * self-attention, normalises `Q_fused` anyway. The query positional embedding is added to
 * the attention query, as in every Mask2Former attention over queries (never to values).
 *
 * Ragged conditions: padded rows (`conditionMask = 0`) are key-padding and get attention
 * weight 0 (they may hold any finite values). A batch item with no real condition at all has
 * nothing to read: SR contributes nothing there, `Q_fused = Q_vis` exactly (gate reported as
 * 1, `Q_sem` as 0), never NaN.
 */
export class SemanticCrossAttention extends FlowSegLayer {
  /** @internal */
  static readonly className = 'FlowSegSemanticCrossAttention';
  /** Width of queries and conditions (`channels`). */
  readonly dim: number;
  /** Attention heads. */
  readonly numHeads: number;
  /** The semantic attention (`multihead_attn`). */
  readonly attention: MultiHeadAttention;
  /** The gated fusion (`gate`). */
  readonly gate: SemanticGate;

  constructor(config: SemanticCrossAttentionConfig) {
    super({ name: config.name });
    // Children validate dim, numHeads and gateBiasInit eagerly.
    this.attention = new MultiHeadAttention({ embedDim: config.dim, numHeads: config.numHeads, seed: config.seed });
    this.gate = new SemanticGate({ dim: config.dim, biasInit: config.gateBiasInit });
    this.dim = config.dim;
    this.numHeads = config.numHeads;
  }

  /** Initial gate bias. */
  get gateBiasInit(): number {
    return this.gate.biasInit;
  }

  /** Initializer seed, if any. */
  get seed(): number | undefined {
    return this.attention.seed;
  }

  override build(): void {
    if (this.built) return;
    this.addChild('multihead_attn', this.attention);
    this.addChild('gate', this.gate);
    this.attention.ensureBuilt();
    this.gate.ensureBuilt();
    super.build([]);
  }

  /** Run SR; see {@link SemanticCrossAttentionInputs} for shapes. */
  forward(inputs: SemanticCrossAttentionInputs): SemanticCrossAttentionOutputs {
    this.ensureBuilt();
    const { queries, conditions, conditionMask } = inputs;
    checkShapes(
      {
        queries: { tensor: queries, axes: ['batch', 'queries', 'channels'], dtypes: ['float32'] },
        queryPos: { tensor: inputs.queryPos, axes: ['batch', 'queries', 'channels'], dtypes: ['float32'], optional: true },
        conditions: { tensor: conditions, axes: ['batch', 'conditions', 'channels'], dtypes: ['float32'] },
        conditionMask: { tensor: conditionMask, axes: ['batch', 'conditions'], dtypes: ['float32'] },
      },
      { channels: this.dim },
    );
    return tidy(() => {
      if (conditions.shape[1] === 0) {
        // No condition slots at all (T = 0): nothing to attend, SR is the identity.
        return {
          fused: tf.clone(queries),
          semantic: tf.zerosLike(queries),
          gate: tf.onesLike(queries),
        };
      }
      const allReal = conditionsKnownAllReal(conditionMask);
      const { output } = this.attention.forward({
        query: queries,
        key: conditions,
        value: conditions,
        queryPos: inputs.queryPos ?? null,
        keyPaddingMask: allReal ? null : conditionPaddingMask(conditionMask),
      });
      const mixed = this.gate.forward({ visual: queries, semantic: output });
      if (allReal) return { fused: mixed.fused, semantic: output, gate: mixed.gate };
      // Items with no real condition: MHA's output there is only its bias; drop it. Blended
      // with a 0/1 factor per item rather than tf.where, whose broadcast condition is tiled
      // element by element on wasm (slower than SR's matmuls); `v + 0·x` is exactly `v`.
      const has = tf.cast(itemHasConditions(conditionMask), 'float32');
      return {
        fused: tf.add(queries, tf.mul(has, tf.sub(mixed.fused, queries))) as tf.Tensor3D,
        semantic: tf.mul(has, output) as tf.Tensor3D,
        gate: tf.sub(1, tf.mul(has, tf.sub(1, mixed.gate))) as tf.Tensor3D,
      };
    });
  }

  /** Symbolic use: inputs `[queries, conditions, conditionMask]`; returns `Q_fused`. */
  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    const [queries, conditions, conditionMask] = (Array.isArray(inputs) ? inputs : [inputs]) as tf.Tensor[];
    return this.forward({
      queries: queries as tf.Tensor3D,
      conditions: conditions as tf.Tensor3D,
      conditionMask: conditionMask as tf.Tensor2D,
    }).fused;
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
    return (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tf.Shape;
  }

  override getConfig(): tf.serialization.ConfigDict {
    return {
      ...super.getConfig(),
      dim: this.dim,
      numHeads: this.numHeads,
      gateBiasInit: this.gateBiasInit,
      ...(this.seed === undefined ? {} : { seed: this.seed }),
    };
  }
}
tf.serialization.registerClass(SemanticCrossAttention);
