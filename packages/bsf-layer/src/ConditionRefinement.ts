import * as tf from '@tensorflow/tfjs';
import { FlowSegLayer, MultiHeadAttention, checkShapes } from '@flowseg/core';
import { conditionsKnownAllReal } from './conditionMask.js';

/** Configuration of {@link ConditionRefinement}. */
export interface ConditionRefinementConfig {
  /** Width of conditions and queries (`channels`). */
  dim: number;
  /** Attention heads; must divide `dim`. */
  numHeads: number;
  /** Seed of the attention's initializers (default: unseeded). */
  seed?: number;
  /** Layer name. */
  name?: string;
}

/** Inputs of {@link ConditionRefinement.forward}. */
export interface ConditionRefinementInputs {
  /** Condition embeddings `C⁽ˡ⁻¹⁾` `[batch, conditions, channels]`. */
  readonly conditions: tf.Tensor3D;
  /** Validity mask `[batch, conditions]`, float32, 1 = real condition, 0 = padding. */
  readonly conditionMask: tf.Tensor2D;
  /** Refined queries `Q_s` (keys and values) `[batch, queries, channels]`. */
  readonly queries: tf.Tensor3D;
  /** Query positional embeddings `[batch, queries, channels]`, added to the keys only. */
  readonly queryPos?: tf.Tensor3D | null;
}

/**
 * FlowSeg's condition refinement (CR): the conditions read the refined queries,
 * `C⁽ˡ⁾ = C⁽ˡ⁻¹⁾ + MHA(C⁽ˡ⁻¹⁾, Q_s + pos, Q_s)`, a residual update that never overwrites `C`.
 * Child: `multihead_attn` ({@link MultiHeadAttention}).
 *
 * No norm, deliberately: the paper's update is the bare residual, which keeps `C` on the
 * scale the language-model projection gave it (SR's keys/values and the final
 * query–condition selection read that scale), and each update is bounded anyway, because its
 * values are `Q_s`, a LayerNorm output of Mask2Former's post-norm blocks, mapped by one linear
 * layer. The query positional embedding is added to the keys, as in every Mask2Former
 * attention over queries (never to values).
 *
 * Ragged conditions: padded rows (`conditionMask = 0`) are left exactly as they came in
 * (`C + 0·update`; padding may hold any finite values), so a batch item with no real
 * condition is unchanged.
 */
export class ConditionRefinement extends FlowSegLayer {
  /** @internal */
  static readonly className = 'FlowSegConditionRefinement';
  /** Width of conditions and queries (`channels`). */
  readonly dim: number;
  /** Attention heads. */
  readonly numHeads: number;
  /** The condition-to-query attention (`multihead_attn`). */
  readonly attention: MultiHeadAttention;

  constructor(config: ConditionRefinementConfig) {
    super({ name: config.name });
    this.attention = new MultiHeadAttention({ embedDim: config.dim, numHeads: config.numHeads, seed: config.seed });
    this.dim = config.dim;
    this.numHeads = config.numHeads;
  }

  /** Initializer seed, if any. */
  get seed(): number | undefined {
    return this.attention.seed;
  }

  override build(): void {
    if (this.built) return;
    this.addChild('multihead_attn', this.attention);
    this.attention.ensureBuilt();
    super.build([]);
  }

  /**
   * Refine the conditions; see {@link ConditionRefinementInputs} for shapes.
   * @returns `C⁽ˡ⁾` `[batch, conditions, channels]` (a new tensor; padded rows equal their input).
   */
  forward(inputs: ConditionRefinementInputs): tf.Tensor3D {
    this.ensureBuilt();
    const { conditions, conditionMask, queries } = inputs;
    checkShapes(
      {
        conditions: { tensor: conditions, axes: ['batch', 'conditions', 'channels'], dtypes: ['float32'] },
        conditionMask: { tensor: conditionMask, axes: ['batch', 'conditions'], dtypes: ['float32'] },
        queries: { tensor: queries, axes: ['batch', 'queries', 'channels'], dtypes: ['float32'] },
        queryPos: { tensor: inputs.queryPos, axes: ['batch', 'queries', 'channels'], dtypes: ['float32'], optional: true },
      },
      { channels: this.dim },
    );
    return tf.tidy(() => {
      const [b, t] = conditions.shape;
      if (t === 0) return tf.clone(conditions);
      const { output } = this.attention.forward({
        query: conditions,
        key: queries,
        value: queries,
        keyPos: inputs.queryPos ?? null,
      });
      if (conditionsKnownAllReal(conditionMask)) return tf.add(conditions, output) as tf.Tensor3D;
      // Padded rows: C + 0·update = C exactly (a 0/1 factor, not a broadcast tf.where: see SR).
      const real = tf.reshape(tf.cast(tf.greater(conditionMask, 0), 'float32'), [b, t, 1]);
      return tf.add(conditions, tf.mul(real, output)) as tf.Tensor3D;
    });
  }

  /** Symbolic use: inputs `[conditions, conditionMask, queries]`; returns `C⁽ˡ⁾`. */
  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    const [conditions, conditionMask, queries] = (Array.isArray(inputs) ? inputs : [inputs]) as tf.Tensor[];
    return this.forward({
      conditions: conditions as tf.Tensor3D,
      conditionMask: conditionMask as tf.Tensor2D,
      queries: queries as tf.Tensor3D,
    });
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
    return (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tf.Shape;
  }

  override getConfig(): tf.serialization.ConfigDict {
    return {
      ...super.getConfig(),
      dim: this.dim,
      numHeads: this.numHeads,
      ...(this.seed === undefined ? {} : { seed: this.seed }),
    };
  }
}
tf.serialization.registerClass(ConditionRefinement);
