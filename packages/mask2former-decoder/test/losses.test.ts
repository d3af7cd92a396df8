import { describe, it, expect, beforeAll } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { ValueError, ShapeError, selectBackend } from '@flowseg/core';
import { expectNoLeaks } from '@flowseg/core/testing';
import {
  SeededRandom,
  diceLoss,
  pairwiseDice,
  pairwiseSigmoidCrossEntropy,
  samplePoints,
  sampleSharedPoints,
  sigmoidCrossEntropyLoss,
  uncertaintyPointCoords,
  weightedCrossEntropy,
} from '@flowseg/mask2former-decoder';
import { torchGridSample } from './reference.js';

beforeAll(async () => {
  await selectBackend('wasm');
});

const value = (t: tf.Tensor) => {
  const v = t.dataSync()[0]!;
  t.dispose();
  return v;
};

describe('mask losses on tiny inputs (hand-computed)', () => {
  const logits = () => tf.tensor2d([[0, 2], [-1, 3]]);
  const labels = () => tf.tensor2d([[1, 0], [0, 1]]);

  it('sigmoid BCE: Σ_masks mean_points BCE / numMasks', () => {
    // mask 0: (BCE(0,1) = ln 2 = 0.693147, BCE(2,0) = ln(1+e²) = 2.126928) → mean 1.410038
    // mask 1: (BCE(−1,0) = ln(1+e⁻¹) = 0.313262, BCE(3,1) = ln(1+e⁻³) = 0.048587) → mean 0.180924
    const [x, y] = [logits(), labels()];
    expect(value(sigmoidCrossEntropyLoss(x, y, 2))).toBeCloseTo((1.410038 + 0.180924) / 2, 5);
    expect(value(sigmoidCrossEntropyLoss(x, y, 1))).toBeCloseTo(1.590962, 5);
    tf.dispose([x, y]);
  });

  it('dice: Σ_masks [1 − (2Σpy + 1)/(Σp + Σy + 1)] / numMasks', () => {
    // p = σ(x): mask 0 (0.5, 0.880797): 1 − 2/3.380797 = 0.408424
    //           mask 1 (0.268941, 0.952574): 1 − 2.905148/3.221515 = 0.098205
    const [x, y] = [logits(), labels()];
    expect(value(diceLoss(x, y, 2))).toBeCloseTo((0.408424 + 0.098205) / 2, 5);
    tf.dispose([x, y]);
  });

  it('pairwise costs equal the single losses of each (query, target) pair', () => {
    const x = tf.randomNormal([4, 7], 0, 2, 'float32', 1) as tf.Tensor2D;
    const y = tf.cast(tf.greater(tf.randomUniform([3, 7], 0, 1, 'float32', 2), 0.5), 'float32') as tf.Tensor2D;
    const bce = pairwiseSigmoidCrossEntropy(x, y).arraySync();
    const dice = pairwiseDice(x, y).arraySync();
    for (let q = 0; q < 4; q++) {
      for (let t = 0; t < 3; t++) {
        const xq = tf.slice(x, [q, 0], [1, -1]) as tf.Tensor2D;
        const yt = tf.slice(y, [t, 0], [1, -1]) as tf.Tensor2D;
        expect(bce[q]![t]!).toBeCloseTo(value(sigmoidCrossEntropyLoss(xq, yt, 1)), 5);
        expect(dice[q]![t]!).toBeCloseTo(value(diceLoss(xq, yt, 1)), 5);
        tf.dispose([xq, yt]);
      }
    }
    tf.dispose([x, y]);
  });

  it('weighted class CE is PyTorch cross_entropy(weight=…) (weighted mean)', () => {
    // row 0: −log softmax([1,2,0])[1] = ln(e + e² + 1) − 2 = 0.407606, weight 1
    // row 1: −log softmax([0,0,0])[2] = ln 3 = 1.098612, weight 0.1 ("no object")
    const x = tf.tensor2d([[1, 2, 0], [0, 0, 0]]);
    const ce = weightedCrossEntropy(x, Int32Array.from([1, 2]), Float32Array.from([1, 1, 0.1]));
    expect(value(ce)).toBeCloseTo((0.407606 + 0.1 * 1.098612) / 1.1, 5);
    expect(() => weightedCrossEntropy(x, Int32Array.from([1, 3]), Float32Array.from([1, 1, 0.1]))).toThrow(ValueError);
    expect(() => weightedCrossEntropy(x, Int32Array.from([1]), Float32Array.from([1, 1, 0.1]))).toThrow(ShapeError);
    x.dispose();
  });

  it('losses are leak-free and differentiable', () => {
    const x = tf.variable(tf.randomNormal([3, 5], 0, 1, 'float32', 4));
    const y = tf.cast(tf.greater(tf.randomUniform([3, 5], 0, 1, 'float32', 5), 0.5), 'float32') as tf.Tensor2D;
    expectNoLeaks(() => tf.dispose(sigmoidCrossEntropyLoss(x as tf.Tensor2D, y, 3)));
    const g = tf.grad((v: tf.Tensor) => tf.add(sigmoidCrossEntropyLoss(v as tf.Tensor2D, y, 3), diceLoss(v as tf.Tensor2D, y, 3)))(x);
    expect(Number.isFinite(tf.sum(g).dataSync()[0]!)).toBe(true);
    // d BCE/dx = (σ(x) − y) / (points · numMasks), checked at one entry.
    const gb = tf.grad((v: tf.Tensor) => sigmoidCrossEntropyLoss(v as tf.Tensor2D, y, 3))(x).arraySync() as number[][];
    const xv = x.arraySync() as number[][];
    const yv = y.arraySync();
    expect(gb[1]![2]!).toBeCloseTo((1 / (1 + Math.exp(-xv[1]![2]!)) - yv[1]![2]!) / 15, 6);
    tf.dispose([x, y, g]);
  });
});

describe('point sampling', () => {
  it('equals grid_sample(bilinear, zeros, align_corners=False), borders included', () => {
    const [r, h, w, p] = [3, 5, 7, 40];
    const maps = tf.randomNormal([r, h, w], 0, 1, 'float32', 6) as tf.Tensor3D;
    const rng = new SeededRandom(1);
    const coordsData = rng.uniform(r * p * 2);
    // Force some points onto the extreme borders and corners.
    coordsData.set([0, 0, 0.999, 0.999, 0.01, 0.5, 0.5, 0.99], 0);
    const coords = tf.tensor3d(coordsData, [r, p, 2]);
    const got = expectNoLeaks(() => samplePoints(maps, coords)).arraySync();
    const mv = maps.dataSync();
    for (let i = 0; i < r; i++) {
      for (let k = 0; k < p; k++) {
        const ref = torchGridSample(mv.subarray(i * h * w, (i + 1) * h * w), h, w, coordsData[(i * p + k) * 2]!, coordsData[(i * p + k) * 2 + 1]!);
        expect(got[i]![k]!).toBeCloseTo(ref, 5);
      }
    }
    const shared = tf.tensor2d(coordsData.subarray(0, p * 2), [p, 2]);
    const gotShared = sampleSharedPoints(maps, shared).arraySync();
    for (let i = 0; i < r; i++) {
      for (let k = 0; k < p; k++) {
        const ref = torchGridSample(mv.subarray(i * h * w, (i + 1) * h * w), h, w, coordsData[k * 2]!, coordsData[k * 2 + 1]!);
        expect(gotShared[i]![k]!).toBeCloseTo(ref, 5);
      }
    }
    tf.dispose([maps, coords, shared]);
  });

  it('passes gradients to the maps (bilinear weights), on wasm', () => {
    const maps = tf.zeros([1, 2, 2]) as tf.Tensor3D;
    // Point at pixel coordinate (x, y) = (0.25, 0.5): taps (0,0) .375, (0,1) .125, (1,0) .375, (1,1) .125.
    const coords = tf.tensor3d([0.375, 0.5], [1, 1, 2]);
    const g = tf.grad((m: tf.Tensor) => tf.sum(samplePoints(m as tf.Tensor3D, coords)))(maps);
    const gv = Array.from(g.dataSync());
    [0.375, 0.125, 0.375, 0.125].forEach((v, i) => expect(gv[i]!).toBeCloseTo(v, 6));
    tf.dispose([maps, coords, g]);
  });

  it('importance sampling keeps the most uncertain candidates, then adds uniform points', () => {
    const [h, w, numPoints] = [6, 8, 20];
    const logits = tf.randomNormal([1, h, w], 0, 3, 'float32', 9) as tf.Tensor3D;
    const options = { numPoints, oversampleRatio: 3, importanceSampleRatio: 0.75 };
    const coords = expectNoLeaks(() => uncertaintyPointCoords(logits, new SeededRandom(5), options));
    expect(coords.shape).toEqual([1, numPoints, 2]);
    const got = Array.from(coords.dataSync());
    // Documented draw order: 60 candidates, then 5 uniform points, from the same generator.
    const rng = new SeededRandom(5);
    const candidates = rng.uniform(60 * 2);
    const uniform = rng.uniform(5 * 2);
    const lv = logits.dataSync();
    const ranked = Array.from({ length: 60 }, (_, i) => ({
      i,
      u: -Math.abs(torchGridSample(lv, h, w, candidates[2 * i]!, candidates[2 * i + 1]!)),
    })).sort((a, b) => b.u - a.u);
    const expected = ranked.slice(0, 15).map(({ i }) => `${candidates[2 * i]},${candidates[2 * i + 1]}`);
    const chosen = Array.from({ length: 15 }, (_, k) => `${got[2 * k]},${got[2 * k + 1]}`);
    expect(new Set(chosen)).toEqual(new Set(expected));
    expect(got.slice(30)).toEqual(Array.from(uniform));
    const again = uncertaintyPointCoords(logits, new SeededRandom(5), options);
    expect(Array.from(again.dataSync())).toEqual(got);
    tf.dispose([logits, coords, again]);
  });
});
