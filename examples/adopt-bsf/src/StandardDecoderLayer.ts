import * as tf from '@tensorflow/tfjs';
import {
  CrossAttentionBlock,
  FeedForwardBlock,
  FlowSegLayer,
  SelfAttentionBlock,
  deriveSeed,
  type DecoderLayer,
  type DecoderLayerContext,
  type DecoderLayerFactory,
  type DecoderLayerInputs,
  type DecoderLayerSpec,
} from '@flowseg/core';

/**
 * The head's own standard Mask2Former layer (masked cross-attention → self-attention → FFN),
 * written against core's `DecoderLayer` interface. It ignores the conditions in the context.
 */
export class StandardDecoderLayer extends FlowSegLayer implements DecoderLayer {
  static readonly className = 'ExampleStandardDecoderLayer';
  readonly hiddenDim: number;
  private readonly cross: CrossAttentionBlock;
  private readonly self: SelfAttentionBlock;
  private readonly ffn: FeedForwardBlock;

  constructor(spec: DecoderLayerSpec, seed?: number) {
    super({});
    this.hiddenDim = spec.hiddenDim;
    const { hiddenDim: dim, numHeads, dropout } = spec;
    this.cross = new CrossAttentionBlock({ dim, numHeads, dropout, seed: deriveSeed(seed, 0) });
    this.self = new SelfAttentionBlock({ dim, numHeads, dropout, seed: deriveSeed(seed, 1) });
    this.ffn = new FeedForwardBlock({ dim, hiddenDim: spec.ffnDim, dropout, seed: deriveSeed(seed, 2) });
  }

  override build(): void {
    if (this.built) return;
    for (const [key, child] of [['cross_attn', this.cross], ['self_attn', this.self], ['ffn', this.ffn]] as const) {
      this.addChild(key, child).ensureBuilt();
    }
    super.build([]);
  }

  forwardLayer(inputs: DecoderLayerInputs, context: DecoderLayerContext): tf.Tensor3D {
    this.ensureBuilt();
    return tf.tidy(() => {
      const { queries, queryPos, memory, memoryPos, attentionMask } = inputs;
      const q = this.cross.forward({ queries, queryPos, memory, memoryPos, attentionMask, training: context.training });
      return this.ffn.forward(this.self.forward({ queries: q, queryPos, training: context.training }), context.training);
    });
  }
}

/** The head's default layers; layer `index` is seeded with `deriveSeed(seed, index)`. */
export function standardLayerFactory(seed?: number): DecoderLayerFactory {
  return (spec) => new StandardDecoderLayer(spec, deriveSeed(seed, spec.index));
}
