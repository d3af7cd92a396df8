import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { CrossAttentionBlock, FeedForwardBlock, SelfAttentionBlock, selectBackend } from '@flowseg/core';
import { copyWeights, expectClose } from './helpers.js';
import { SIZES, disposeInputs, makeInputs, makeLayer } from './layerFixtures.js';

beforeAll(async () => {
  await selectBackend('wasm');
});

describe('BSFDecoderLayer with both switches off', () => {
  it("is the standard Mask2Former layer: core's cross → self → FFN blocks with the same weights", () => {
    const layer = makeLayer({ semanticRefinement: false, conditionRefinement: false });
    const { D, H, F } = SIZES;
    // The standard layer, re-derived from core's blocks, weights shared by name.
    const cross = new CrossAttentionBlock({ dim: D, numHeads: H });
    const self = new SelfAttentionBlock({ dim: D, numHeads: H });
    const ffn = new FeedForwardBlock({ dim: D, hiddenDim: F });
    copyWeights(layer, cross, 'cross_attn.');
    copyWeights(layer, self, 'self_attn.');
    copyWeights(layer, ffn, 'ffn.');
    const standardNames = [
      ...[...cross.namedWeights('cross_attn.').keys()],
      ...[...self.namedWeights('self_attn.').keys()],
      ...[...ffn.namedWeights('ffn.').keys()],
    ];
    expect([...layer.namedWeights().keys()]).toEqual(standardNames);

    const x = makeInputs([2, 0], 3);
    const want = tf.tidy(() => {
      const q1 = cross.forward({
        queries: x.queries,
        queryPos: x.queryPos,
        memory: x.memory,
        memoryPos: x.memoryPos,
        attentionMask: x.attentionMask,
      });
      const q2 = self.forward({ queries: q1, queryPos: x.queryPos });
      return ffn.forward(q2);
    });
    // Conditions given or not: with both switches off they play no part.
    const withConditions = layer.forward(x);
    const without = layer.forward({ ...x, conditions: null });
    expectClose(withConditions.queries, want.arraySync(), 0);
    expectClose(without.queries, want.arraySync(), 0);
    expect(withConditions.conditions).toBe(x.conditions);
    tf.dispose([want, withConditions.queries, without.queries]);
    disposeInputs(x);
  });
});
