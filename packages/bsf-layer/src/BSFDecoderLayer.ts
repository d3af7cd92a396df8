import * as tf from '@tensorflow/tfjs';
import {
  CrossAttentionBlock,
  FeedForwardBlock,
  FlowSegLayer,
  SelfAttentionBlock,
  ValueError,
  checkShapes,
  decoderLayerInputSpecs,
  deriveSeed,
  requireFinite,
  requirePositiveInt,
  tidy,
  type ConditionState,
  type DecoderLayer,
  type DecoderLayerContext,
  type DecoderLayerInputs,
} from '@flowseg/core';
import { SemanticCrossAttention } from './SemanticCrossAttention.js';
import { ConditionRefinement } from './ConditionRefinement.js';
import { resolveBSFLayerOptions, type BSFLayerOptions, type ConditionRefinementSource } from './options.js';
import { DEFAULT_GATE_BIAS_INIT } from './SemanticGate.js';

/** Configuration of {@link BSFDecoderLayer}: sizes plus the BSF switches. */
export interface BSFDecoderLayerConfig extends BSFLayerOptions {
  /** Width of queries, memory and conditions (`channels`). */
  hiddenDim: number;
  /** Attention heads; must divide `hiddenDim`. */
  numHeads: number;
  /** Hidden width of the FFN (Mask2Former: 2048). */
  ffnDim: number;
  /** Dropout of the three Mask2Former blocks in training (default 0; SR and CR have none). */
  dropout?: number;
  /**
   * Seed of every initializer (default: unseeded). Children get `deriveSeed(seed, i)` with
   * i = 0 `cross_attn`, 1 `self_attn`, 2 `ffn` (the standard layer's convention), 3 SR, 4 CR.
   */
  seed?: number;
  /** Layer name. */
  name?: string;
}

/** Inputs of {@link BSFDecoderLayer.forward}: the decoder layer inputs plus the condition state. */
export interface BSFDecoderLayerInputs extends DecoderLayerInputs {
  /**
   * Conditions `C⁽ˡ⁻¹⁾` (`conditions [batch, conditions, channels]`, `conditionMask
   * [batch, conditions]`); `null`/absent = no conditions (SR and CR are skipped).
   */
  readonly conditions?: ConditionState | null;
  /** Training mode (dropout of the Mask2Former blocks active). */
  readonly training?: boolean;
}

/** Outputs of {@link BSFDecoderLayer.forward}. */
export interface BSFDecoderLayerOutputs {
  /** Updated queries `Q⁽ˡ⁾` `[batch, queries, channels]`. */
  readonly queries: tf.Tensor3D;
  /**
   * Conditions after this layer: with CR on (and conditions given), a new state whose
   * `conditions [batch, conditions, channels]` is a new tensor and whose `conditionMask` is the
   * input mask object itself; otherwise the input state object, unchanged.
   */
  readonly conditions: ConditionState | null;
}

/**
 * A Mask2Former decoder layer with FlowSeg's Bidirectional Semantic Flow, implementing core's
 * {@link DecoderLayer} so any Mask2Former-style decoder can swap it in:
 *
 * 1. `cross_attn`: masked visual cross-attention (post-norm) → `Q_vis`
 * 2. `semantic_attn` (SR): `Q_fused = g⊙Q_vis + (1−g)⊙MHA(Q_vis, C, C)`
 * 3. `self_attn`: self-attention (post-norm)
 * 4. `ffn`: feed-forward (post-norm) → `Q⁽ˡ⁾`
 * 5. `condition_refinement` (CR): `C⁽ˡ⁾ = C⁽ˡ⁻¹⁾ + MHA(C⁽ˡ⁻¹⁾, Q_s, Q_s)`
 *
 * Reading of `Q_s` ("the fused query after self-attention"): by default `Q_s` is the layer's
 * output after self-attention **and** FFN (`crSource: 'ffn'`), i.e. the query state this layer
 * hands on; `crSource: 'self_attn'` reads the self-attention block's output instead.
 *
 * Switches: `semanticRefinement` and `conditionRefinement` (both default on). With both off
 * this is exactly the standard Mask2Former layer (cross → self → FFN) with the same child
 * names, so baseline checkpoints load into it; a switched-off part has no parameters.
 * SR's gate starts at `σ(gateBiasInit)` (default `σ(2) ≈ 0.88`) towards the visual path, zero kernel, so
 * a pretrained visual decoder is mostly undisturbed at step 0 (enhancement, not replacement).
 *
 * Conditions travel in the decoder context (`context.conditions`): {@link BSFDecoderLayer.forwardLayer} reads
 * them, and with CR on replaces them with the refined state (new tensors created in the
 * caller's `tf.tidy` scope; the replaced state is never disposed). Without conditions
 * (`null`, or a 0-sized `conditions` axis) SR and CR are skipped and the layer acts as the
 * standard layer.
 */
export class BSFDecoderLayer extends FlowSegLayer implements DecoderLayer {
  /** @internal */
  static readonly className = 'FlowSegBSFDecoderLayer';
  /** Width of queries, memory and conditions (`channels`). */
  readonly hiddenDim: number;
  /** Attention heads. */
  readonly numHeads: number;
  /** Hidden width of the FFN. */
  readonly ffnDim: number;
  /** Dropout of the Mask2Former blocks in training. */
  readonly dropout: number;
  /** Whether SR exists. */
  readonly semanticRefinement: boolean;
  /** Whether CR exists. */
  readonly conditionRefinement: boolean;
  /** Which query state CR reads. */
  readonly crSource: ConditionRefinementSource;
  /** Initial bias of SR's gate. */
  readonly gateBiasInit: number;
  /** Initializer seed, if any. */
  readonly seed: number | undefined;
  /** Masked visual cross-attention (`cross_attn`). */
  readonly crossAttention: CrossAttentionBlock;
  /** Semantic refinement (`semantic_attn`), `null` when switched off. */
  readonly semanticAttention: SemanticCrossAttention | null;
  /** Self-attention (`self_attn`). */
  readonly selfAttention: SelfAttentionBlock;
  /** Feed-forward block (`ffn`). */
  readonly feedForward: FeedForwardBlock;
  /** Condition refinement (`condition_refinement`), `null` when switched off. */
  readonly conditionRefiner: ConditionRefinement | null;

  constructor(config: BSFDecoderLayerConfig) {
    super({ name: config.name });
    const opts = resolveBSFLayerOptions(config);
    requirePositiveInt(config.ffnDim, 'ffnDim');
    const dim = config.hiddenDim;
    const numHeads = config.numHeads;
    const dropout = config.dropout ?? 0;
    const seed = config.seed === undefined ? undefined : requireFinite(config.seed, 'seed');
    // Children validate hiddenDim, numHeads, dropout and gateBiasInit eagerly.
    this.crossAttention = new CrossAttentionBlock({ dim, numHeads, dropout, seed: deriveSeed(seed, 0) });
    this.semanticAttention = opts.semanticRefinement
      ? new SemanticCrossAttention({ dim, numHeads, gateBiasInit: opts.gateBiasInit, seed: deriveSeed(seed, 3) })
      : null;
    this.selfAttention = new SelfAttentionBlock({ dim, numHeads, dropout, seed: deriveSeed(seed, 1) });
    this.feedForward = new FeedForwardBlock({ dim, hiddenDim: config.ffnDim, dropout, seed: deriveSeed(seed, 2) });
    this.conditionRefiner = opts.conditionRefinement
      ? new ConditionRefinement({ dim, numHeads, seed: deriveSeed(seed, 4) })
      : null;
    this.seed = seed;
    this.hiddenDim = dim;
    this.numHeads = numHeads;
    this.ffnDim = config.ffnDim;
    this.dropout = dropout;
    this.semanticRefinement = opts.semanticRefinement;
    this.conditionRefinement = opts.conditionRefinement;
    this.crSource = opts.crSource;
    this.gateBiasInit = this.semanticAttention?.gateBiasInit ?? opts.gateBiasInit ?? DEFAULT_GATE_BIAS_INIT;
  }

  override build(): void {
    if (this.built) return;
    // Registration order = execution order = namedWeights order.
    const children: Array<[string, FlowSegLayer | null]> = [
      ['cross_attn', this.crossAttention],
      ['semantic_attn', this.semanticAttention],
      ['self_attn', this.selfAttention],
      ['ffn', this.feedForward],
      ['condition_refinement', this.conditionRefiner],
    ];
    for (const [key, child] of children) {
      if (!child) continue;
      this.addChild(key, child);
      child.ensureBuilt();
    }
    super.build([]);
  }

  /** Run the layer on explicit inputs; see {@link BSFDecoderLayerInputs} for shapes. */
  forward(inputs: BSFDecoderLayerInputs): BSFDecoderLayerOutputs {
    this.ensureBuilt();
    const state = inputs.conditions ?? null;
    checkShapes(
      {
        ...decoderLayerInputSpecs(inputs),
        'conditions.conditions': {
          tensor: state?.conditions,
          axes: ['batch', 'conditions', 'channels'],
          dtypes: ['float32'],
          optional: state === null,
        },
        'conditions.conditionMask': {
          tensor: state?.conditionMask,
          axes: ['batch', 'conditions'],
          dtypes: ['float32'],
          optional: state === null,
        },
      },
      { channels: this.hiddenDim },
    );
    const training = inputs.training ?? false;
    const hasConditions = state !== null && state.conditions.shape[1] > 0;
    const sr = hasConditions ? this.semanticAttention : null;
    const cr = hasConditions ? this.conditionRefiner : null;
    const out = tidy(() => {
      const visual = this.crossAttention.forward({
        queries: inputs.queries,
        queryPos: inputs.queryPos,
        memory: inputs.memory,
        memoryPos: inputs.memoryPos,
        attentionMask: inputs.attentionMask,
        training,
      });
      const fused = sr
        ? sr.forward({
            queries: visual,
            queryPos: inputs.queryPos,
            conditions: state!.conditions,
            conditionMask: state!.conditionMask,
          }).fused
        : visual;
      const attended = this.selfAttention.forward({ queries: fused, queryPos: inputs.queryPos, training });
      const queries = this.feedForward.forward(attended, training);
      const conditions = cr
        ? cr.forward({
            conditions: state!.conditions,
            conditionMask: state!.conditionMask,
            queries: this.crSource === 'ffn' ? queries : attended,
            queryPos: inputs.queryPos,
          })
        : null;
      return { queries, conditions };
    });
    return {
      queries: out.queries,
      conditions: out.conditions ? { conditions: out.conditions, conditionMask: state!.conditionMask } : state,
    };
  }

  /**
   * {@link DecoderLayer} entry point: reads `context.conditions` and, with CR on, replaces it
   * with the refined state (tensor ownership as documented on {@link DecoderLayerContext}).
   * @returns updated queries `[batch, queries, channels]`.
   */
  forwardLayer(inputs: DecoderLayerInputs, context: DecoderLayerContext): tf.Tensor3D {
    const out = this.forward({ ...inputs, conditions: context.conditions, training: context.training });
    context.conditions = out.conditions;
    return out.queries;
  }

  /**
   * Symbolic use: inputs `[queries, queryPos, memory, memoryPos]`, optionally followed by
   * `[conditions, conditionMask]`; returns the updated queries (refined conditions are
   * dropped: use {@link BSFDecoderLayer.forward} to get them).
   */
  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    const list = (Array.isArray(inputs) ? inputs : [inputs]) as tf.Tensor[];
    if (list.length !== 4 && list.length !== 6) {
      throw new ValueError(
        `inputs: expected [queries, queryPos, memory, memoryPos] or those plus [conditions, conditionMask], received ${list.length} tensor(s)`,
        'inputs',
      );
    }
    const [queries, queryPos, memory, memoryPos, conditions, conditionMask] = list;
    return this.forward({
      queries: queries as tf.Tensor3D,
      queryPos: queryPos as tf.Tensor3D,
      memory: memory as tf.Tensor3D,
      memoryPos: memoryPos as tf.Tensor3D,
      attentionMask: null,
      conditions: conditions
        ? { conditions: conditions as tf.Tensor3D, conditionMask: conditionMask as tf.Tensor2D }
        : null,
    }).queries;
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
    return (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tf.Shape;
  }

  override getConfig(): tf.serialization.ConfigDict {
    return {
      ...super.getConfig(),
      hiddenDim: this.hiddenDim,
      numHeads: this.numHeads,
      ffnDim: this.ffnDim,
      dropout: this.dropout,
      semanticRefinement: this.semanticRefinement,
      conditionRefinement: this.conditionRefinement,
      crSource: this.crSource,
      gateBiasInit: this.gateBiasInit,
      ...(this.seed === undefined ? {} : { seed: this.seed }),
    };
  }
}
tf.serialization.registerClass(BSFDecoderLayer);
