import * as tf from '@tensorflow/tfjs';
import {
  CrossAttentionBlock,
  FeedForwardBlock,
  FlowSegLayer,
  SelfAttentionBlock,
  checkShapes,
  decoderLayerInputSpecs,
  deriveSeed,
  type DecoderLayer,
  type DecoderLayerContext,
  type DecoderLayerFactory,
  type DecoderLayerInputs,
  requireFinite,
  requirePositiveInt,
  requireRate,
} from '@flowseg/core';

/** Configuration of {@link Mask2FormerDecoderLayer}. */
export interface Mask2FormerDecoderLayerConfig {
  /** Width of queries and memory (`channels`; Mask2Former: 256). */
  hiddenDim: number;
  /** Attention heads; must divide `hiddenDim` (Mask2Former: 8). */
  numHeads: number;
  /** Hidden width of the feed-forward block (Mask2Former: 2048). */
  ffnDim: number;
  /** Dropout in training (Mask2Former: 0). */
  dropout?: number;
  /** Seed of the initializers (default: unseeded). */
  seed?: number;
  /** Layer name. */
  name?: string;
}

/**
 * One standard Mask2Former decoder layer, post-norm, in Mask2Former's order:
 * masked cross-attention → self-attention → FFN
 * (`q ← norm(q + MHA(q + q_pos, m + m_pos, m, mask))`, `q ← norm(q + MHA(q + q_pos, q + q_pos, q))`,
 * `q ← norm(q + W₂·relu(W₁·q))`).
 *
 * Children (stable weight names): `cross_attn` (`CrossAttentionBlock`: `multihead_attn`,
 * `norm`), `self_attn` (`SelfAttentionBlock`: `self_attn`, `norm`), `ffn`
 * (`FeedForwardBlock`: `ffn.linear1`, `ffn.linear2`, `norm`). It ignores the context's
 * conditions and leaves them untouched.
 */
export class Mask2FormerDecoderLayer extends FlowSegLayer implements DecoderLayer {
  /** @internal */
  static readonly className: string = 'FlowSegMask2FormerDecoderLayer';
  /** Width of queries and memory. */
  readonly hiddenDim: number;
  /** Attention heads. */
  readonly numHeads: number;
  /** Hidden width of the FFN. */
  readonly ffnDim: number;
  /** Dropout rate used in training. */
  readonly dropout: number;
  /** Initializer seed, if any. */
  readonly seed: number | undefined;
  /** Masked cross-attention block (`cross_attn`). */
  readonly crossAttention: CrossAttentionBlock;
  /** Self-attention block (`self_attn`). */
  readonly selfAttention: SelfAttentionBlock;
  /** Feed-forward block (`ffn`). */
  readonly feedForward: FeedForwardBlock;

  /** @throws ValueError naming the offending field. */
  constructor(config: Mask2FormerDecoderLayerConfig) {
    super({ name: config.name });
    this.hiddenDim = requirePositiveInt(config.hiddenDim, 'hiddenDim');
    this.numHeads = requirePositiveInt(config.numHeads, 'numHeads');
    this.ffnDim = requirePositiveInt(config.ffnDim, 'ffnDim');
    this.dropout = requireRate(config.dropout ?? 0, 'dropout');
    this.seed = config.seed === undefined ? undefined : requireFinite(config.seed, 'seed');
    const dim = this.hiddenDim;
    const { numHeads, dropout } = this;
    this.crossAttention = new CrossAttentionBlock({ dim, numHeads, dropout, seed: deriveSeed(this.seed, 0) });
    this.selfAttention = new SelfAttentionBlock({ dim, numHeads, dropout, seed: deriveSeed(this.seed, 1) });
    this.feedForward = new FeedForwardBlock({ dim, hiddenDim: this.ffnDim, dropout, seed: deriveSeed(this.seed, 2) });
  }

  /** The factory that builds standard layers (the decoder's default). */
  static readonly factory: DecoderLayerFactory = (spec) =>
    new Mask2FormerDecoderLayer({
      hiddenDim: spec.hiddenDim,
      numHeads: spec.numHeads,
      ffnDim: spec.ffnDim,
      dropout: spec.dropout,
    });

  /** Creates the children (shape-independent). */
  override build(): void {
    if (this.built) return;
    this.addChild('cross_attn', this.crossAttention).ensureBuilt();
    this.addChild('self_attn', this.selfAttention).ensureBuilt();
    this.addChild('ffn', this.feedForward).ensureBuilt();
    super.build([]);
  }

  /**
   * Run the layer (see `DecoderLayerInputs` for shapes).
   * @returns updated queries `[batch, queries, channels]`.
   * @throws ShapeError / DTypeError naming the offending input.
   */
  forwardLayer(inputs: DecoderLayerInputs, context: DecoderLayerContext): tf.Tensor3D {
    this.ensureBuilt();
    checkShapes(decoderLayerInputSpecs(inputs), { channels: this.hiddenDim });
    const training = context.training;
    return tf.tidy(() => {
      const afterCross = this.crossAttention.forward({
        queries: inputs.queries,
        queryPos: inputs.queryPos,
        memory: inputs.memory,
        memoryPos: inputs.memoryPos,
        attentionMask: inputs.attentionMask,
        training,
      });
      const afterSelf = this.selfAttention.forward({ queries: afterCross, queryPos: inputs.queryPos, training });
      return this.feedForward.forward(afterSelf, training);
    });
  }

  /**
   * Symbolic/array use: inputs `[queries, queryPos, memory, memoryPos]` (no mask, not training).
   */
  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    const list = (Array.isArray(inputs) ? inputs : [inputs]) as tf.Tensor3D[];
    const [queries, queryPos, memory, memoryPos] = list;
    return this.forwardLayer(
      { queries: queries!, queryPos: queryPos!, memory: memory!, memoryPos: memoryPos!, attentionMask: null },
      { layerIndex: 0, numLayers: 1, level: 0, training: false, conditions: null, extras: new Map() },
    );
  }

  /** Output shape equals the queries' shape. */
  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
    return (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tf.Shape;
  }

  /** Serializable config (sizes and dropout). */
  override getConfig(): tf.serialization.ConfigDict {
    return {
      ...super.getConfig(),
      hiddenDim: this.hiddenDim,
      numHeads: this.numHeads,
      ffnDim: this.ffnDim,
      dropout: this.dropout,
      ...(this.seed === undefined ? {} : { seed: this.seed }),
    };
  }
}
tf.serialization.registerClass(Mask2FormerDecoderLayer);
