import { describe, it, expect, beforeAll } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '@flowseg/core';
import { FpnPixelDecoder, Mask2FormerDecoder, SetCriterion, type SegmentationTarget } from '@flowseg/mask2former-decoder';

beforeAll(async () => {
  const sel = await selectBackend('wasm');
  expect(sel.backend).toBe('wasm');
});

/** A square target per image: image 0 top-left, image 1 bottom-right, class 1 / class 0. */
function toyTargets(): SegmentationTarget[] {
  const square = (y0: number, x0: number) =>
    tf.tidy(() => {
      const data = new Float32Array(16 * 16);
      for (let y = y0; y < y0 + 8; y++) for (let x = x0; x < x0 + 8; x++) data[y * 16 + x] = 1;
      return tf.tensor3d(data, [1, 16, 16]);
    });
  return [
    { labels: tf.tensor1d([1], 'int32'), masks: square(0, 0) },
    { labels: tf.tensor1d([0], 'int32'), masks: square(8, 8) },
  ];
}

describe('training on wasm', () => {
  it('Adam steps on a toy target reduce the set loss (FPN + decoder + criterion), all weights get gradients', () => {
    const pixel = new FpnPixelDecoder({ inChannels: [4, 6, 8, 8], convDim: 16, maskDim: 16, norm: 'group', groups: 4, seed: 1 });
    const decoder = new Mask2FormerDecoder({
      numClasses: 2,
      numQueries: 4,
      numLayers: 3,
      hiddenDim: 16,
      numHeads: 2,
      ffnDim: 32,
      maskDim: 16,
      seed: 2,
    });
    const image = [
      tf.randomNormal([2, 16, 16, 4], 0, 1, 'float32', 1),
      tf.randomNormal([2, 8, 8, 6], 0, 1, 'float32', 2),
      tf.randomNormal([2, 4, 4, 8], 0, 1, 'float32', 3),
      tf.randomNormal([2, 2, 2, 8], 0, 1, 'float32', 4),
    ] as tf.Tensor4D[];
    const targets = toyTargets();
    const lossWith = (criterion: SetCriterion) =>
      tf.tidy(() => {
        const { features, maskFeatures } = pixel.forward({ backboneFeatures: image });
        return criterion.compute(decoder.forward({ features, maskFeatures, training: true }), targets).total;
      });
    // The same seed draws the same points, so before/after losses are comparable exactly.
    const evaluate = () => {
      const loss = lossWith(new SetCriterion({ numClasses: 2, numPoints: 128, seed: 11 }));
      const v = loss.dataSync()[0]!;
      loss.dispose();
      return v;
    };
    const before = evaluate();
    pixel.ensureBuilt();
    decoder.ensureBuilt();
    const variables = [...pixel.trainableWeights, ...decoder.trainableWeights].map((v) => v.read() as tf.Variable);
    // Gradient flow: every parameter of both modules is reached.
    const trainCriterion = new SetCriterion({ numClasses: 2, numPoints: 128, seed: 1 });
    const { value, grads } = tf.variableGrads(() => lossWith(trainCriterion), variables);
    for (const v of variables) {
      const g = grads[v.name];
      expect(g, v.name).toBeDefined();
      expect(Number.isFinite(tf.sum(g!).dataSync()[0]!), v.name).toBe(true);
    }
    const zero = variables.filter((v) => tf.sum(tf.abs(grads[v.name]!)).dataSync()[0] === 0).map((v) => v.name);
    expect(zero).toEqual([]);
    tf.dispose([value, grads as unknown as tf.TensorContainer]);

    const optimizer = tf.train.adam(5e-3);
    const history: number[] = [];
    let stable = 0;
    for (let step = 0; step < 12; step++) {
      const loss = optimizer.minimize(() => lossWith(trainCriterion), true, variables)!;
      history.push(loss.dataSync()[0]!);
      loss.dispose();
      // Adam creates its moment variables on the first step; after that a step leaks nothing.
      if (step > 1) expect(tf.memory().numTensors).toBe(stable);
      stable = tf.memory().numTensors;
    }
    const after = evaluate();
    expect(history.every(Number.isFinite)).toBe(true);
    expect(after).toBeLessThan(before * 0.85);
    optimizer.dispose();
    tf.dispose([image, targets] as unknown as tf.TensorContainer);
  });
});
