import { describe, it, expect, beforeAll } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import {
  CrossAttentionBlock,
  FeedForward,
  FeedForwardBlock,
  FlowSegLayer,
  getLayerWeights,
  LayerNorm,
  Linear,
  MultiHeadAttention,
  selectBackend,
  SelfAttentionBlock,
  setLayerWeights,
} from '@flowseg/core';
import { maxAbsDiff, randomizeWeights, randomTensor, releaseWeights } from './support/reference.js';

beforeAll(async () => {
  await selectBackend('wasm');
});

/** Rebuild a layer from its class name and JSON config, the way tf.layers deserializes. */
function restore(layer: FlowSegLayer): FlowSegLayer {
  const json = JSON.stringify({ className: layer.getClassName(), config: layer.getConfig() });
  const { className, config } = JSON.parse(json) as { className: string; config: tf.serialization.ConfigDict };
  const entry = tf.serialization.SerializationMap.getMap().classNameMap[className];
  expect(entry, `${className} is registered`).toBeDefined();
  const [cls, fromConfig] = entry!;
  return fromConfig(cls, config) as FlowSegLayer;
}

const x3 = () => randomTensor<tf.Rank.R3>([2, 3, 8], 1);
const m3 = () => randomTensor<tf.Rank.R3>([2, 5, 8], 2);

const cases: { name: string; className: string; make: () => FlowSegLayer; run: (l: FlowSegLayer) => tf.Tensor }[] = [
  { name: 'Linear', className: 'FlowSegLinear', make: () => new Linear({ inFeatures: 8, outFeatures: 4, useBias: false }), run: (l) => (l as Linear).forward(x3()) },
  { name: 'LayerNorm', className: 'FlowSegLayerNorm', make: () => new LayerNorm({ features: 8, epsilon: 1e-3 }), run: (l) => (l as LayerNorm).forward(x3()) },
  {
    name: 'FeedForward',
    className: 'FlowSegFeedForward',
    make: () => new FeedForward({ dim: 8, hiddenDim: 6, activation: 'gelu', dropout: 0.1 }),
    run: (l) => (l as FeedForward).forward(x3()),
  },
  {
    name: 'MultiHeadAttention',
    className: 'FlowSegMultiHeadAttention',
    make: () => new MultiHeadAttention({ embedDim: 8, numHeads: 4, keyDim: 8, valueDim: 8, dropout: 0.25 }),
    run: (l) => (l as MultiHeadAttention).forward({ query: x3(), key: m3(), value: m3() }).output,
  },
  {
    name: 'CrossAttentionBlock',
    className: 'FlowSegCrossAttentionBlock',
    make: () => new CrossAttentionBlock({ dim: 8, numHeads: 2, dropout: 0.1 }),
    run: (l) => (l as CrossAttentionBlock).forward({ queries: x3(), memory: m3() }),
  },
  {
    name: 'SelfAttentionBlock',
    className: 'FlowSegSelfAttentionBlock',
    make: () => new SelfAttentionBlock({ dim: 8, numHeads: 2 }),
    run: (l) => (l as SelfAttentionBlock).forward({ queries: x3() }),
  },
  {
    name: 'FeedForwardBlock',
    className: 'FlowSegFeedForwardBlock',
    make: () => new FeedForwardBlock({ dim: 8, hiddenDim: 16 }),
    run: (l) => (l as FeedForwardBlock).forward(x3()),
  },
];

describe('getConfig → registered class → same output with the same weights', () => {
  for (const c of cases) {
    it(c.name, () => {
      const original = c.make();
      randomizeWeights(original, 7);
      expect(original.getClassName()).toBe(c.className);
      const restored = restore(original);
      expect(restored).toBeInstanceOf(original.constructor);
      expect(restored.getConfig()).toEqual(original.getConfig());
      // Fresh weights differ; after loading the original's weights the outputs agree exactly.
      expect([...restored.namedWeights().keys()]).toEqual([...original.namedWeights().keys()]);
      const weights = getLayerWeights(original);
      setLayerWeights(restored, weights);
      tf.dispose([...weights.values()]);
      const a = tf.tidy(() => c.run(original));
      const b = tf.tidy(() => c.run(restored));
      expect(maxAbsDiff(b.arraySync(), a.arraySync())).toBe(0);
      tf.dispose([a, b]);
      releaseWeights(original);
      releaseWeights(restored);
    });
  }
});

describe('FlowSegLayer structure', () => {
  it('reports children weights through trainableWeights, countParams and trainable', () => {
    const block = new CrossAttentionBlock({ dim: 8, numHeads: 2 });
    block.ensureBuilt();
    const named = block.namedWeights();
    expect(block.trainableWeights).toHaveLength(named.size);
    expect(new Set(block.trainableWeights)).toEqual(new Set(named.values()));
    expect(block.countParams()).toBe(4 * (8 * 8 + 8) + 2 * 8);
    block.trainable = false;
    expect(block.trainableWeights).toHaveLength(0);
    expect(block.nonTrainableWeights).toHaveLength(named.size);
    expect(block.attention.trainable).toBe(false);
    block.trainable = true;
    expect(block.trainableWeights).toHaveLength(named.size);
    releaseWeights(block);
  });

  it('names weights by structure, independent of creation order and TF.js uniquified names', () => {
    new Linear({ inFeatures: 2, outFeatures: 2 }).ensureBuilt(); // shifts TF.js global name counters
    const a = new FeedForwardBlock({ dim: 4, hiddenDim: 8 });
    const b = new FeedForwardBlock({ dim: 4, hiddenDim: 8 });
    expect([...a.namedWeights().keys()]).toEqual([...b.namedWeights().keys()]);
    expect([...a.namedWeights('decoder.layers.3.').keys()][0]).toBe('decoder.layers.3.ffn.linear1.kernel');
    releaseWeights(a);
    releaseWeights(b);
  });

  it('works inside a symbolic tf.model', () => {
    const linear = new Linear({ inFeatures: 8, outFeatures: 4 });
    const norm = new LayerNorm({ features: 4 });
    randomizeWeights(norm, 3);
    const input = tf.input({ shape: [3, 8] });
    const output = norm.apply(linear.apply(input)) as tf.SymbolicTensor;
    expect(output.shape).toEqual([null, 3, 4]);
    const model = tf.model({ inputs: input, outputs: output });
    const x = randomTensor<tf.Rank.R3>([2, 3, 8], 4);
    const viaModel = model.predict(x) as tf.Tensor;
    const eager = norm.forward(linear.forward(x));
    expect(maxAbsDiff(viaModel.arraySync(), eager.arraySync())).toBeLessThan(1e-6);
    expect(model.countParams()).toBe(8 * 4 + 4 + 2 * 4);
    tf.dispose([x, viaModel, eager]);
  });
});
