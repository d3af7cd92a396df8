import { describe, it, expect, beforeAll } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { FeedForward, FeedForwardBlock, LayerNorm, Linear, selectBackend } from '@flowseg/core';
import { exportOnnx, exportOnnxGraph } from '../src/index.js';
import { randn, randomizeWeights, relativeError, session } from './support.js';

const TOL = 1e-4;

beforeAll(async () => {
  await selectBackend('wasm');
});

/** Run `bytes` on ORT with `x` and compare with the TF.js forward. */
async function expectMatches(bytes: Uint8Array, shapes: number[][], forward: (x: tf.Tensor) => tf.Tensor): Promise<void> {
  const s = await session(bytes);
  for (const [i, shape] of shapes.entries()) {
    const x = randn(shape, 100 + i);
    const { output } = await s.run({ x });
    const ref = forward(x);
    expect(output!.shape).toEqual(ref.shape);
    expect(relativeError(output!, ref)).toBeLessThan(TOL);
    tf.dispose([x, output!, ref]);
  }
  await s.release();
}

describe('Linear exporter', () => {
  it('equals Linear.forward on [batch, sequence, in] at two batch sizes and lengths', async () => {
    const layer = new Linear({ inFeatures: 6, outFeatures: 4, seed: 1 });
    randomizeWeights(layer, 1);
    await expectMatches(exportOnnx(layer), [[2, 3, 6], [5, 1, 6]], (x) => layer.forward(x));
    layer.dispose();
  });

  it('accepts any rank ([..., in]) and layers without bias', async () => {
    const layer = new Linear({ inFeatures: 5, outFeatures: 3, useBias: false, seed: 2 });
    randomizeWeights(layer, 2);
    await expectMatches(exportOnnx(layer, { inputs: [{ name: 'x', dims: ['rows', 5] }] }), [[7, 5], [1, 5]], (x) => layer.forward(x));
    await expectMatches(exportOnnx(layer, { inputs: [{ name: 'x', dims: ['a', 'b', 'c', 5] }] }), [[2, 3, 2, 5]], (x) => layer.forward(x));
    const graph = exportOnnxGraph(layer).toModelProto().graph;
    expect(graph.nodes.map((n) => n.opType)).toEqual(['MatMul', 'Identity']);
    layer.dispose();
  });

  it('names initializers by the layer’s namedWeights and stores its values', () => {
    const layer = new Linear({ inFeatures: 3, outFeatures: 2, seed: 3 });
    const graph = exportOnnxGraph(layer).toModelProto().graph;
    expect(graph.initializers.map((t) => t.name)).toEqual(['kernel', 'bias']);
    const kernel = graph.initializers[0]!;
    expect(kernel.dims).toEqual([3, 2]);
    expect(Array.from(new Float32Array(kernel.rawData.slice().buffer))).toEqual(Array.from(layer.namedWeights().get('kernel')!.read().dataSync()));
    layer.dispose();
  });
});

describe('LayerNorm exporter', () => {
  it('equals LayerNorm.forward (γ, β and ε from the layer)', async () => {
    const layer = new LayerNorm({ features: 8, epsilon: 1e-3 });
    randomizeWeights(layer, 4);
    const bytes = exportOnnx(layer);
    await expectMatches(bytes, [[2, 3, 8], [1, 6, 8]], (x) => layer.forward(x));
    const ln = exportOnnxGraph(layer).toModelProto().graph.nodes[0]!;
    expect(ln.opType).toBe('LayerNormalization');
    expect(ln.attributes).toContainEqual({ name: 'epsilon', kind: 'float', value: 1e-3 });
    layer.dispose();
  });
});

describe('FeedForward exporter', () => {
  it.each(['relu', 'gelu'] as const)('equals FeedForward.forward with %s', async (activation) => {
    const layer = new FeedForward({ dim: 6, hiddenDim: 12, activation, seed: 5 });
    randomizeWeights(layer, 5);
    await expectMatches(exportOnnx(layer), [[2, 4, 6], [3, 1, 6]], (x) => layer.forward(x));
    layer.dispose();
  });

  it('GELU is the exact erf form, not ReLU (the two exports differ)', async () => {
    const relu = new FeedForward({ dim: 4, hiddenDim: 8, activation: 'relu', seed: 6 });
    const gelu = new FeedForward({ dim: 4, hiddenDim: 8, activation: 'gelu', seed: 6 });
    randomizeWeights(relu, 6);
    randomizeWeights(gelu, 6);
    const x = randn([1, 5, 4], 9);
    const [a, b] = await Promise.all([session(exportOnnx(relu)), session(exportOnnx(gelu))]);
    const ya = (await a.run({ x })).output!;
    const yb = (await b.run({ x })).output!;
    expect(relativeError(ya, yb)).toBeGreaterThan(1e-2);
    tf.dispose([x, ya, yb]);
    relu.dispose();
    gelu.dispose();
  });
});

describe('FeedForwardBlock exporter', () => {
  it('equals FeedForwardBlock.forward: norm(x + ffn(x)), weights under ffn.* and norm.*', async () => {
    const block = new FeedForwardBlock({ dim: 8, hiddenDim: 16, seed: 7 });
    randomizeWeights(block, 7);
    await expectMatches(exportOnnx(block), [[2, 5, 8], [1, 3, 8]], (x) => block.forward(x as tf.Tensor3D));
    const names = exportOnnxGraph(block).toModelProto().graph.initializers.map((t) => t.name);
    expect(names.sort()).toEqual([...block.namedWeights().keys()].sort());
    block.dispose();
  });
});
