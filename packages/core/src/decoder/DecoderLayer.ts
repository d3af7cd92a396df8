import type * as tf from '@tensorflow/tfjs';

/**
 * Inputs of one layer of a Mask2Former-style query decoder (post-norm convention).
 * Defined in core so that a decoder (e.g. `@flowseg/mask2former-decoder`) and a layer
 * implementation (e.g. `@flowseg/bsf-layer`) can meet without depending on each other.
 */
export interface DecoderLayerInputs {
  /** Query states `[batch, queries, channels]`. */
  readonly queries: tf.Tensor3D;
  /** Query positional embeddings `[batch, queries, channels]`: added to attention queries/keys, never to values. */
  readonly queryPos: tf.Tensor3D;
  /** Flattened features of the scale this layer attends, level embedding already added: `[batch, pixels, channels]`. */
  readonly memory: tf.Tensor3D;
  /** Positional embeddings of `memory`: `[batch, pixels, channels]`. */
  readonly memoryPos: tf.Tensor3D;
  /**
   * Masked-attention mask `[batch, queries, pixels]`, dtype bool, `true` = blocked
   * (Mask2Former: predicted mask probability < 0.5 at this scale). The decoder has already
   * unblocked rows that would be fully blocked. `null` = no masking.
   */
  readonly attentionMask: tf.Tensor3D | null;
}

/** Condition embeddings carried from layer to layer (FlowSeg's `C⁽ˡ⁾`). */
export interface ConditionState {
  /** Condition embeddings `[batch, conditions, channels]`. */
  readonly conditions: tf.Tensor3D;
  /** Validity mask `[batch, conditions]`, float32, 1 = real condition, 0 = padding. */
  readonly conditionMask: tf.Tensor2D;
}

/**
 * Per-forward context shared by all layers of one decoder pass. The decoder creates it;
 * layers read it and may replace `conditions` with refined state (tensors are never
 * mutated in place). Everything in it lives only for one forward pass.
 *
 * Tensor ownership: the decoder runs a whole pass inside one `tf.tidy` scope and returns the
 * final `conditions`. A layer that replaces `conditions` must create the new tensors in that
 * scope, e.g. by returning them together with its queries from its own `tf.tidy` and then
 * assigning them: `const r = tf.tidy(() => ({ q, c })); context.conditions = r.c; return r.q;`.
 * It must never dispose the state it replaces (the caller may still hold it).
 */
export interface DecoderLayerContext {
  /** Index of the layer being run, 0-based. */
  readonly layerIndex: number;
  /** Number of layers in the decoder. */
  readonly numLayers: number;
  /** Feature scale this layer attends (0 = coarsest in Mask2Former's round robin). */
  readonly level: number;
  /** Training mode (dropout active). */
  readonly training: boolean;
  /** Condition state, `null` when the caller gave no conditions. */
  conditions: ConditionState | null;
  /** Free per-forward state for custom layers, by key. */
  readonly extras: Map<string, tf.Tensor>;
}

/**
 * One layer of a Mask2Former-style query decoder. Implementations are TF.js layers
 * (weights tracked by `trainableWeights`) with this typed eager method.
 */
export interface DecoderLayer {
  /** Width of queries and memory (`channels`). */
  readonly hiddenDim: number;
  /**
   * Run the layer.
   * @returns updated query states `[batch, queries, channels]`.
   */
  forwardLayer(inputs: DecoderLayerInputs, context: DecoderLayerContext): tf.Tensor3D;
}

/** Sizes a decoder hands to a layer factory. */
export interface DecoderLayerSpec {
  /** Layer index, 0-based. */
  readonly index: number;
  /** Width of queries and memory. */
  readonly hiddenDim: number;
  /** Attention heads. */
  readonly numHeads: number;
  /** Hidden width of the feed-forward block. */
  readonly ffnDim: number;
  /** Dropout rate used in training. */
  readonly dropout: number;
}

/** Builds the decoder's layers; lets a decoder swap its standard layers for e.g. BSF layers. */
export type DecoderLayerFactory = (spec: DecoderLayerSpec) => DecoderLayer & tf.layers.Layer;
