import { describe, it, expect, beforeAll } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { FeedForward, LayerNorm, Linear, selectBackend, ValueError } from '@flowseg/core';
import { expectNoLeaks } from '@flowseg/core/testing';
import { feedForwardVec, layerNormVec, matVec, maxAbsDiff, randomArray, randomizeWeights, releaseWeights, weightsOf, type Mat, type Vec } from './support/reference.js';

beforeAll(async () => {
  await selectBackend('wasm');
});

describe('Linear', () => {
  it('computes x·W + b over the last axis of a rank-3 input', () => {
    const layer = new Linear({ inFeatures: 5, outFeatures: 3 });
    const x = randomArray([2, 4, 5], 1) as number[][][];
    const xt = tf.tensor3d(x);
    const y = expectNoLeaks(() => layer.forward(xt), { warmup: true });
    const w = weightsOf(layer);
    expect(y.shape).toEqual([2, 4, 3]);
    const ref = x.map((rows) => rows.map((r) => matVec(r, w.get('kernel') as Mat, w.get('bias') as Vec)));
    expect(maxAbsDiff(y.arraySync(), ref)).toBeLessThan(1e-5);
    releaseWeights(layer);
  });

  it('has kernel [in, out] and bias [out] initialised U(-1/√in, 1/√in); no bias when useBias=false', () => {
    const layer = new Linear({ inFeatures: 16, outFeatures: 32 });
    const named = layer.namedWeights();
    expect([...named.keys()]).toEqual(['kernel', 'bias']);
    expect(named.get('kernel')!.shape).toEqual([16, 32]);
    expect(named.get('bias')!.shape).toEqual([32]);
    const k = [...named.get('kernel')!.read().dataSync()];
    expect(Math.max(...k.map(Math.abs))).toBeLessThanOrEqual(0.25);
    expect(Math.max(...k.map(Math.abs))).toBeGreaterThan(0.2); // 512 draws fill the range
    const noBias = new Linear({ inFeatures: 2, outFeatures: 2, useBias: false });
    expect([...noBias.namedWeights().keys()]).toEqual(['kernel']);
    const x = tf.tensor2d([[1, 2]]);
    const w = weightsOf(noBias).get('kernel') as Mat;
    expect(maxAbsDiff(noBias.forward(x).arraySync(), [matVec([1, 2], w)])).toBeLessThan(1e-6);
    releaseWeights(layer);
    releaseWeights(noBias);
  });

  it('rejects invalid configs', () => {
    expect(() => new Linear({ inFeatures: 0, outFeatures: 2 })).toThrow(ValueError);
    expect(() => new Linear({ inFeatures: 2, outFeatures: 1.5 })).toThrow(/outFeatures: expected a positive integer, received 1.5/);
  });
});

describe('LayerNorm', () => {
  it('normalizes the last axis with biased variance, ε = 1e-5, then γ·x̂ + β', () => {
    const layer = new LayerNorm({ features: 6 });
    randomizeWeights(layer, 3);
    const x = randomArray([2, 3, 6], 4) as number[][][];
    const xt = tf.tensor3d(x);
      const y = expectNoLeaks(() => layer.forward(xt));
    const w = weightsOf(layer);
    const ref = x.map((rows) => rows.map((r) => layerNormVec(r, w.get('weight') as Vec, w.get('bias') as Vec)));
    expect(maxAbsDiff(y.arraySync(), ref)).toBeLessThan(1e-5);
    releaseWeights(layer);
  });

  it('initialises weight = 1, bias = 0 and honours a custom epsilon', () => {
    const layer = new LayerNorm({ features: 2, epsilon: 1 });
    expect([...layer.namedWeights().keys()]).toEqual(['weight', 'bias']);
    expect([...layer.namedWeights().get('weight')!.read().dataSync()]).toEqual([1, 1]);
    expect([...layer.namedWeights().get('bias')!.read().dataSync()]).toEqual([0, 0]);
    // x = [1, 3]: mean 2, variance 1 → (x − 2)/√(1 + 1).
    const y = layer.forward(tf.tensor2d([[1, 3]]));
    expect(maxAbsDiff(y.arraySync(), [[-1 / Math.SQRT2, 1 / Math.SQRT2]])).toBeLessThan(1e-6);
    expect(() => new LayerNorm({ features: -1 })).toThrow(/features/);
    releaseWeights(layer);
  });
});

describe('FeedForward', () => {
  for (const activation of ['relu', 'gelu'] as const) {
    it(`computes linear2(${activation}(linear1(x)))`, () => {
      const layer = new FeedForward({ dim: 4, hiddenDim: 7, activation });
      randomizeWeights(layer, 5);
      const x = randomArray([2, 3, 4], 6) as number[][][];
      const xt = tf.tensor3d(x);
      const y = expectNoLeaks(() => layer.forward(xt));
      const w = weightsOf(layer);
      const ref = x.map((rows) => rows.map((r) => feedForwardVec(r, w, '', activation)));
      expect(maxAbsDiff(y.arraySync(), ref)).toBeLessThan(1e-5);
      expect([...w.keys()]).toEqual(['linear1.kernel', 'linear1.bias', 'linear2.kernel', 'linear2.bias']);
      releaseWeights(layer);
    });
  }

  it('applies dropout only in training', () => {
    const layer = new FeedForward({ dim: 4, hiddenDim: 32, dropout: 0.5 });
    randomizeWeights(layer, 7);
    const x = tf.tensor2d(randomArray([8, 4], 8) as number[][]);
    const evalOut = layer.forward(x).arraySync();
    expect(maxAbsDiff(evalOut, layer.forward(x, false).arraySync())).toBe(0);
    const trainOut = expectNoLeaks(() => layer.forward(x, true));
    expect(maxAbsDiff(trainOut.arraySync(), evalOut)).toBeGreaterThan(1e-3);
    releaseWeights(layer);
  });

  it('rejects invalid configs', () => {
    expect(() => new FeedForward({ dim: 4, hiddenDim: 0 })).toThrow(/hiddenDim/);
    expect(() => new FeedForward({ dim: 4, hiddenDim: 4, dropout: 1.5 })).toThrow(/dropout/);
    expect(() => new FeedForward({ dim: 4, hiddenDim: 4, activation: 'tanh' as 'relu' })).toThrow(/activation: expected 'relu' or 'gelu'/);
  });
});
