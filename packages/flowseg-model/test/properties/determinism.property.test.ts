import { describe, it, expect, beforeAll } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import fc from 'fast-check';
import { AdamW, getLayerWeights, selectBackend } from '@flowseg/core';
import { SetCriterion } from '@flowseg/mask2former-decoder';
import { disposeFlowSegOutputs, refsegExamples, stageObjective, stageParameters, trainStep } from '../../src/index.js';
import { tinyModel, tinyTokenizer } from '../support/tinyFlowSeg.js';

beforeAll(async () => {
  await selectBackend('wasm', { wasmThreads: 1 });
});

const tokenizer = tinyTokenizer();
const ids = [[...tokenizer.encode('segment the red circle', { addBos: true }), ...tokenizer.encode('<p> the red circle </p> <SEG>', { addEos: true })]];
const data = (start: number, count: number) => refsegExamples('train', { attribute: 1, multi: 1, empty: 1 }, start, count, { width: 32, height: 32 });

function forwardValues(seed: number, imageSeed: number): number[] {
  const model = tinyModel({ seed });
  const images = tf.randomUniform([1, 32, 32, 3], 0, 1, 'float32', imageSeed) as tf.Tensor4D;
  const out = model.forward({ images, tokenIds: ids });
  const values = [out.lmLogits, out.candidateLogits, out.scores, out.selectedLogits].flatMap((t) => Array.from(t.dataSync()));
  disposeFlowSegOutputs(out);
  images.dispose();
  model.dispose();
  return values;
}

/** Losses of `steps` joint training steps from a fresh model of `seed`, and a weight checksum. */
function trainingCurve(seed: number, steps: number): { losses: number[]; checksum: number } {
  const model = tinyModel({ seed });
  const params = stageParameters(model, 'joint');
  const optimizer = new AdamW({ learningRate: 1e-3 });
  const losses: number[] = [];
  for (let s = 0; s < steps; s++) {
    const objective = stageObjective(model, 'joint', data(s * 2, 2), new SetCriterion({ numClasses: 1, numPoints: 64, seed: s }));
    try {
      losses.push(trainStep(objective, params, optimizer, 1e-3, 1).loss);
    } finally {
      objective.dispose();
    }
  }
  const weights = getLayerWeights(model);
  const checksum = tf.tidy(() => tf.addN([...weights.values()].map((w) => tf.sum(tf.mul(w, tf.range(0, w.size).reshape(w.shape).div(w.size))))).dataSync()[0]!);
  tf.dispose([...weights.values()]);
  optimizer.disposeState();
  model.dispose();
  return { losses, checksum };
}

describe('determinism: same seed + same backend → same numbers', () => {
  it('forward outputs are bit-identical for the same model seed, for any seed and input', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 1000 }), fc.integer({ min: 0, max: 1000 }), (seed, imageSeed) => {
        expect(forwardValues(seed, imageSeed)).toEqual(forwardValues(seed, imageSeed));
      }),
      { numRuns: 2, seed: 71 },
    );
    // And the seed matters (a seed that was silently ignored would pass the check above).
    expect(forwardValues(1, 0)).not.toEqual(forwardValues(2, 0));
  }, 120_000);

  it('training curves (losses of every step) and final weights are identical from the same seed', () => {
    const first = trainingCurve(3, 3);
    const second = trainingCurve(3, 3);
    expect(second.losses).toEqual(first.losses);
    expect(second.checksum).toBe(first.checksum);
    for (const l of first.losses) expect(Number.isFinite(l)).toBe(true);
    expect(trainingCurve(4, 1).losses[0]).not.toBe(first.losses[0]);
  }, 180_000);
});
