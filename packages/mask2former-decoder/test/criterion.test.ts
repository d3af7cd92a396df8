import { describe, it, expect, beforeAll } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { ShapeError, ValueError, selectBackend } from '@flowseg/core';
import { expectNoLeaks } from '@flowseg/core/testing';
import { HungarianMatcher, SetCriterion, type SegmentationTarget } from '@flowseg/mask2former-decoder';

beforeAll(async () => {
  await selectBackend('wasm');
});

const LN2 = Math.log(2);

/** −log softmax(row)[t], in float64. */
function nll(row: number[], t: number): number {
  const m = Math.max(...row);
  const lse = m + Math.log(row.reduce((s, v) => s + Math.exp(v - m), 0));
  return lse - row[t]!;
}

/**
 * Batch of 2 images, 3 queries, K = 2 classes (+ no object). Mask logits are all 0, so every
 * sampled logit is exactly 0 whatever the points (zero padding keeps 0): BCE = ln 2 and, with
 * all-zero target masks, dice = 1 − 1/(P/2 + 1) exactly. Image 0 has targets with labels
 * [1, 0]; image 1 has none. Class logits make query 2 confident in class 1 and query 0 in class 0.
 */
function tinyCase() {
  const logitsValues = [
    [
      [4, 0, 0],
      [0, 0, 3],
      [0, 5, 0],
    ],
    [
      [1, 0, 0],
      [0, 2, 0],
      [0, 0, 1],
    ],
  ];
  const prediction = {
    predLogits: tf.tensor3d(logitsValues),
    predMasks: tf.zeros([2, 3, 6, 6]) as tf.Tensor4D,
  };
  const targets: SegmentationTarget[] = [
    { labels: tf.tensor1d([1, 0], 'int32'), masks: tf.zeros([2, 10, 10]) as tf.Tensor3D },
    { labels: tf.tensor1d([], 'int32'), masks: tf.zeros([0, 10, 10]) as tf.Tensor3D },
  ];
  return { logitsValues, prediction, targets };
}

describe('HungarianMatcher', () => {
  it('builds Mask2Former costs (hand-computed) and matches by them', () => {
    const { logitsValues, prediction, targets } = tinyCase();
    const P = 16;
    const matcher = new HungarianMatcher({ numPoints: P });
    const [c0, c1] = matcher.costMatrices(prediction, targets);
    expect(c1!.shape).toEqual([3, 0]);
    const cost = c0!.arraySync();
    const dice = 1 - 1 / (P / 2 + 1);
    logitsValues[0]!.forEach((row, q) => {
      const denom = row.reduce((s, v) => s + Math.exp(v), 0);
      [1, 0].forEach((label, t) => {
        const p = Math.exp(row[label]!) / denom;
        expect(cost[q]![t]!).toBeCloseTo(5 * LN2 + 2 * -p + 5 * dice, 5);
      });
    });
    const matches = expectNoLeaks(() => matcher.match(prediction, targets));
    expect(Array.from(matches[0]!.queryIndices)).toEqual([0, 2]);
    expect(Array.from(matches[0]!.targetIndices)).toEqual([1, 0]);
    expect(matches[1]!.queryIndices.length).toBe(0);
    tf.dispose([c0!, c1!, prediction, targets] as unknown as tf.TensorContainer);
  });

  it('matches by mask overlap when classes are uninformative', async () => {
    const left = Array.from({ length: 64 }, (_, i) => (i % 8 < 4 ? 10 : -10));
    const right = left.map((v) => -v);
    const prediction = {
      predLogits: tf.zeros([1, 2, 2]) as tf.Tensor3D,
      predMasks: tf.tensor4d([...left, ...right], [1, 2, 8, 8]),
    };
    const leftT = left.map((v) => (v > 0 ? 1 : 0));
    const rightT = right.map((v) => (v > 0 ? 1 : 0));
    const targets = [{ labels: tf.tensor1d([0, 0], 'int32'), masks: tf.tensor3d([...rightT, ...leftT], [2, 8, 8]) }];
    const matcher = new HungarianMatcher({ numPoints: 64, seed: 3 });
    const [m] = await matcher.matchAsync(prediction, targets);
    expect(Array.from(m!.queryIndices)).toEqual([0, 1]);
    expect(Array.from(m!.targetIndices)).toEqual([1, 0]);
    tf.dispose([prediction, targets] as unknown as tf.TensorContainer);
  });
});

describe('SetCriterion', () => {
  it('equals hand-computed losses on a tiny case, summed over deep supervision', () => {
    const { logitsValues, prediction, targets } = tinyCase();
    const P = 16;
    const criterion = new SetCriterion({ numClasses: 2, numPoints: P });
    const outputs = { ...prediction, auxOutputs: [{ predLogits: tf.mul(prediction.predLogits, 0.5) as tf.Tensor3D, predMasks: prediction.predMasks }] };
    const losses = expectNoLeaks(() => criterion.compute(outputs, targets));
    expect(losses.numMasks).toBe(2);
    expect(losses.perOutput.length).toBe(2);
    const dice = 1 - 1 / (P / 2 + 1);
    let expectedTotal = 0;
    [0.5, 1].forEach((scale, o) => {
      const m = losses.matches[o]!;
      expect(Array.from(m[0]!.queryIndices)).toEqual([0, 2]);
      expect(Array.from(m[0]!.targetIndices)).toEqual([1, 0]);
      // Targets per query: image 0: q0 → class 0, q1 → no object (2), q2 → class 1; image 1: no object.
      const rows = logitsValues.flat().map((r) => r.map((v) => v * scale));
      const classes = [0, 2, 1, 2, 2, 2];
      const weights: number[] = classes.map((c) => (c === 2 ? 0.1 : 1));
      const ce = rows.reduce((s, r, i) => s + weights[i]! * nll(r, classes[i]!), 0) / weights.reduce((a, b) => a + b);
      const terms = losses.perOutput[o]!;
      expect(terms.classification.dataSync()[0]).toBeCloseTo(ce, 5);
      // Two matched masks, each: BCE ln 2, dice 1 − 1/(P/2 + 1); normalized by numMasks = 2.
      expect(terms.mask.dataSync()[0]).toBeCloseTo((2 * LN2) / 2, 5);
      expect(terms.dice.dataSync()[0]).toBeCloseTo((2 * dice) / 2, 5);
      expectedTotal += 2 * ce + 5 * LN2 + 5 * dice;
    });
    expect(losses.total.dataSync()[0]).toBeCloseTo(expectedTotal, 4);
    tf.dispose([losses.total, losses.perOutput as unknown as tf.TensorContainer, outputs.auxOutputs, prediction, targets] as unknown as tf.TensorContainer);
  });

  it('handles a batch without any target (only no-object CE, gradients defined)', () => {
    const predLogits = tf.variable(tf.randomNormal([2, 4, 3], 0, 1, 'float32', 1));
    const predMasks = tf.variable(tf.randomNormal([2, 4, 5, 5], 0, 1, 'float32', 2));
    const targets = [0, 1].map(() => ({ labels: tf.tensor1d([], 'int32'), masks: tf.zeros([0, 5, 5]) as tf.Tensor3D }));
    const criterion = new SetCriterion({ numClasses: 2, numPoints: 8 });
    const losses = criterion.compute({ predLogits: predLogits as tf.Tensor3D, predMasks: predMasks as tf.Tensor4D }, targets);
    expect(losses.numMasks).toBe(1);
    expect(losses.perOutput[0]!.mask.dataSync()[0]).toBe(0);
    expect(losses.perOutput[0]!.dice.dataSync()[0]).toBe(0);
    const rows = (predLogits.arraySync() as number[][][]).flat();
    const ce = rows.reduce((s, r) => s + nll(r, 2), 0) / rows.length; // all weights equal → plain mean
    expect(losses.total.dataSync()[0]).toBeCloseTo(2 * ce, 5);
    const { grads, value } = tf.variableGrads(
      () => criterion.compute({ predLogits: predLogits as tf.Tensor3D, predMasks: predMasks as tf.Tensor4D }, targets).total,
      [predLogits, predMasks],
    );
    expect(tf.sum(tf.abs(grads[predLogits.name]!)).dataSync()[0]).toBeGreaterThan(0);
    expect(tf.sum(tf.abs(grads[predMasks.name]!)).dataSync()[0]).toBe(0);
    tf.dispose([losses.total, value, grads as unknown as tf.TensorContainer, predLogits, predMasks, targets] as unknown as tf.TensorContainer);
  });

  it('accepts precomputed matches (matchAll) and validates them', async () => {
    const { prediction, targets } = tinyCase();
    const a = new SetCriterion({ numClasses: 2, numPoints: 16, seed: 4 });
    const b = new SetCriterion({ numClasses: 2, numPoints: 16, seed: 4 });
    const matches = await a.matchAll(prediction, targets);
    const withGiven = a.compute(prediction, targets, { matches });
    const own = b.compute(prediction, targets);
    expect(withGiven.total.dataSync()[0]).toBeCloseTo(own.total.dataSync()[0]!, 6);
    const bad = [[{ queryIndices: Int32Array.from([0, 0]), targetIndices: Int32Array.from([0, 1]) }, matches[0]![1]!]];
    expect(() => a.compute(prediction, targets, { matches: bad })).toThrow(ValueError);
    expect(() => a.compute(prediction, targets, { matches: [] })).toThrow(ValueError);
    tf.dispose([withGiven.total, own.total, prediction, targets] as unknown as tf.TensorContainer);
  });

  it('validates targets and config', () => {
    const { prediction, targets } = tinyCase();
    const criterion = new SetCriterion({ numClasses: 2, numPoints: 4 });
    expect(() => criterion.compute(prediction, targets.slice(0, 1))).toThrow(ShapeError);
    const badLabel = [{ labels: tf.tensor1d([5], 'int32'), masks: tf.zeros([1, 4, 4]) as tf.Tensor3D }, targets[1]!];
    expect(() => criterion.compute(prediction, badLabel)).toThrow(/targets\[0\]\.labels/);
    const badMasks = [{ labels: tf.tensor1d([1], 'int32'), masks: tf.zeros([2, 4, 4]) as tf.Tensor3D }, targets[1]!];
    expect(() => criterion.compute(prediction, badMasks)).toThrow(ShapeError);
    expect(() => new SetCriterion({ numClasses: 3 }).compute(prediction, targets)).toThrow(/classes/);
    for (const [cfg, field] of [
      [{ noObjectWeight: -1 }, 'noObjectWeight'],
      [{ importanceSampleRatio: 1.5 }, 'importanceSampleRatio'],
      [{ oversampleRatio: 0.5 }, 'oversampleRatio'],
      [{ numPoints: 0 }, 'numPoints'],
      [{ matcher: { costDice: -2 } }, 'costDice'],
    ] as const) {
      expect(() => new SetCriterion(cfg as never), field).toThrow(expect.objectContaining({ argument: field }));
    }
    tf.dispose([prediction, targets, badLabel[0]!, badMasks[0]!] as unknown as tf.TensorContainer);
  });
});
