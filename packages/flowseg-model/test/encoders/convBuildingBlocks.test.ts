import { describe, it, expect, beforeAll } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { DTypeError, ShapeError, ValueError, selectBackend } from '@flowseg/core';
import { expectNoLeaks } from '@flowseg/core/testing';
import { Conv2d, ResidualConvBlock, spaceToDepth } from '../../src/components.js';
import { maxAbsDiff, roundTrip, weightValues } from '../support/layers.js';

describe('spaceToDepth', () => {
  beforeAll(async () => {
    await selectBackend('wasm');
  });

  it('folds block×block patches into channels in (row, column, channel) order', () => {
    const [b, h, w, c, k] = [2, 4, 6, 3, 2];
    const x = tf.range(0, b * h * w * c).reshape([b, h, w, c]) as tf.Tensor4D;
    const xs = x.arraySync();
    const y = expectNoLeaks(() => spaceToDepth(x, k));
    expect(y.shape).toEqual([b, h / k, w / k, k * k * c]);
    const ys = y.arraySync();
    for (let n = 0; n < b; n++)
      for (let i = 0; i < h / k; i++)
        for (let j = 0; j < w / k; j++)
          for (let dy = 0; dy < k; dy++)
            for (let dx = 0; dx < k; dx++)
              for (let ch = 0; ch < c; ch++) {
                expect(ys[n]![i]![j]![(dy * k + dx) * c + ch]).toBe(xs[n]![i * k + dy]![j * k + dx]![ch]);
              }
    tf.dispose([x, y]);
  });
});

describe('Conv2d', () => {
  it("matches a direct 'same' convolution loop", () => {
    const conv = new Conv2d({ inChannels: 2, outChannels: 3 });
    const x = tf.randomNormal([1, 4, 5, 2], 0, 1, 'float32', 1) as tf.Tensor4D;
    const y = expectNoLeaks(() => conv.forward(x), { warmup: true });
    expect(y.shape).toEqual([1, 4, 5, 3]);
    const w = conv.namedWeights().get('kernel')!.read().arraySync() as number[][][][];
    const bias = conv.namedWeights().get('bias')!.read().arraySync() as number[];
    const xs = x.arraySync()[0]!;
    const ys = y.arraySync()[0]!;
    for (let i = 0; i < 4; i++)
      for (let j = 0; j < 5; j++)
        for (let o = 0; o < 3; o++) {
          let s = bias[o]!;
          for (let ky = 0; ky < 3; ky++)
            for (let kx = 0; kx < 3; kx++) {
              const yy = i + ky - 1;
              const xx = j + kx - 1;
              if (yy < 0 || yy >= 4 || xx < 0 || xx >= 5) continue;
              for (let c = 0; c < 2; c++) s += xs[yy]![xx]![c]! * w[ky]![kx]![c]![o]!;
            }
          expect(ys[i]![j]![o]).toBeCloseTo(s, 4);
        }
    tf.dispose([x, y]);
  });

  it('validates config and input', () => {
    expect(() => new Conv2d({ inChannels: 2, outChannels: 3, kernelSize: 2 })).toThrow(ValueError);
    expect(() => new Conv2d({ inChannels: 0, outChannels: 3 })).toThrow(ValueError);
    const conv = new Conv2d({ inChannels: 2, outChannels: 3 });
    expect(() => conv.forward(tf.zeros([1, 4, 4, 3]) as tf.Tensor4D)).toThrow(ShapeError);
    expect(() => conv.forward(tf.zeros([1, 4, 4, 2], 'int32') as tf.Tensor4D)).toThrow(DTypeError);
  });
});

describe('ResidualConvBlock', () => {
  it('computes x + proj(relu(conv(LN(x)))) and round-trips its config', () => {
    const block = new ResidualConvBlock({ channels: 4 });
    const x = tf.randomNormal([2, 3, 3, 4], 0, 1, 'float32', 2) as tf.Tensor4D;
    const y = expectNoLeaks(() => block.forward(x), { warmup: true });
    const weights = block.namedWeights();
    expect([...weights.keys()]).toEqual([
      'norm.weight', 'norm.bias', 'conv.kernel', 'conv.bias', 'proj.kernel', 'proj.bias',
    ]);
    const ref = tf.tidy(() => {
      const { mean, variance } = tf.moments(x, -1, true);
      const normed = tf.div(tf.sub(x, mean), tf.sqrt(tf.add(variance, 1e-5)));
      const conv = tf.add(tf.conv2d(normed as tf.Tensor4D, weights.get('conv.kernel')!.read() as tf.Tensor4D, 1, 'same'), weights.get('conv.bias')!.read());
      const proj = tf.add(tf.matMul(tf.reshape(tf.relu(conv), [18, 4]), weights.get('proj.kernel')!.read() as tf.Tensor2D), weights.get('proj.bias')!.read());
      return tf.add(x, tf.reshape(proj, [2, 3, 3, 4]));
    });
    expect(maxAbsDiff(y, ref)).toBeLessThan(1e-5);
    const clone = roundTrip(block);
    const again = clone.forward(x);
    expect(maxAbsDiff(y, again)).toBe(0);
    tf.dispose([x, y, ref, again]);
  });

  it('is seeded: same seed, same weights; the seed survives getConfig', () => {
    const [a, b, c] = [3, 3, 4].map((seed) => new ResidualConvBlock({ channels: 4, seed }));
    const [wa, wb, wc] = [a, b, c].map((l) => weightValues(l));
    for (const [name, v] of wa!) expect(Array.from(wb!.get(name)!), name).toEqual(Array.from(v));
    expect(Array.from(wc!.get('conv.kernel')!)).not.toEqual(Array.from(wa!.get('conv.kernel')!));
    expect(Array.from(wc!.get('proj.kernel')!)).not.toEqual(Array.from(wa!.get('proj.kernel')!));
    expect(a!.getConfig()['seed']).toBe(3);
    expect(new ResidualConvBlock({ channels: 4 }).getConfig()).not.toHaveProperty('seed');
    [a, b, c].forEach((l) => l!.dispose());
  });
});
