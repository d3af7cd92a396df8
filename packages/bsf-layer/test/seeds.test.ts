import { beforeAll, describe, expect, it } from 'vitest';
import type * as tf from '@tensorflow/tfjs';
import { CrossAttentionBlock, FeedForwardBlock, SelfAttentionBlock, ValueError, deriveSeed, selectBackend } from '@flowseg/core';
import { BSFDecoderLayer, ConditionRefinement, SemanticCrossAttention, bsfLayerFactory } from '@flowseg/bsf-layer';

beforeAll(async () => {
  await selectBackend('wasm');
});

const values = (l: { namedWeights(): Map<string, tf.LayerVariable> }) =>
  new Map([...l.namedWeights()].map(([k, v]) => [k, Array.from(v.read().dataSync())]));

const spec = { index: 0, hiddenDim: 8, numHeads: 2, ffnDim: 16, dropout: 0 };

describe('seeds', () => {
  it('the same seed gives the same weights; another seed other weights', () => {
    const a = values(new BSFDecoderLayer({ hiddenDim: 8, numHeads: 2, ffnDim: 16, seed: 5 }));
    const b = values(new BSFDecoderLayer({ hiddenDim: 8, numHeads: 2, ffnDim: 16, seed: 5 }));
    const c = values(new BSFDecoderLayer({ hiddenDim: 8, numHeads: 2, ffnDim: 16, seed: 6 }));
    expect(a).toEqual(b);
    expect(a.get('semantic_attn.multihead_attn.q_proj.kernel')).not.toEqual(c.get('semantic_attn.multihead_attn.q_proj.kernel'));
    // Parts differ from each other (derived seeds), e.g. SR's and CR's attention.
    expect(a.get('semantic_attn.multihead_attn.q_proj.kernel')).not.toEqual(a.get('condition_refinement.multihead_attn.q_proj.kernel'));
    expect(values(new SemanticCrossAttention({ dim: 8, numHeads: 2, seed: 1 }))).toEqual(values(new SemanticCrossAttention({ dim: 8, numHeads: 2, seed: 1 })));
    expect(values(new ConditionRefinement({ dim: 8, numHeads: 2, seed: 1 }))).toEqual(values(new ConditionRefinement({ dim: 8, numHeads: 2, seed: 1 })));
  });

  it("standard parts are seeded like core's blocks with deriveSeed(seed, 0 | 1 | 2)", () => {
    const layer = values(new BSFDecoderLayer({ hiddenDim: 8, numHeads: 2, ffnDim: 16, seed: 9 }));
    const blocks = [
      ['cross_attn.', new CrossAttentionBlock({ dim: 8, numHeads: 2, seed: deriveSeed(9, 0) })],
      ['self_attn.', new SelfAttentionBlock({ dim: 8, numHeads: 2, seed: deriveSeed(9, 1) })],
      ['ffn.', new FeedForwardBlock({ dim: 8, hiddenDim: 16, seed: deriveSeed(9, 2) })],
    ] as const;
    for (const [prefix, block] of blocks) {
      for (const [name, v] of values(block)) expect(layer.get(prefix + name), prefix + name).toEqual(v);
    }
  });

  it('bsfLayerFactory seeds layer `index` with deriveSeed(seed, index)', () => {
    const factory = bsfLayerFactory({ seed: 3 });
    const l1 = factory({ ...spec, index: 1 }) as BSFDecoderLayer;
    expect(l1.seed).toBe(deriveSeed(3, 1));
    expect(values(l1)).toEqual(values(new BSFDecoderLayer({ hiddenDim: 8, numHeads: 2, ffnDim: 16, seed: deriveSeed(3, 1) })));
    expect((bsfLayerFactory()(spec) as BSFDecoderLayer).seed).toBeUndefined();
    expect(() => bsfLayerFactory({ seed: Number.NaN })).toThrow(ValueError);
    expect(() => new BSFDecoderLayer({ hiddenDim: 8, numHeads: 2, ffnDim: 16, seed: Infinity })).toThrow(/seed/);
  });
});
