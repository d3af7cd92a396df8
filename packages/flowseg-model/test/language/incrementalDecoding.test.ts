import { describe, it, expect, beforeAll } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { DTypeError, ShapeError, ValueError, selectBackend } from '@flowseg/core';
import { TinyCausalLM, greedyGenerate, greedyGenerateAsync, type ConditionLanguageModel } from '../../src/components.js';
import { isIncrementalLanguageModel } from '../../src/language/incrementalDecoding.js';
import { maxAbsDiff } from '../support/layers.js';

const V = 20;
const D = 32;

/** A language model with every optional part in play: untied head, copy head with a non-zero strength. */
function fullLM(): TinyCausalLM {
  const lm = new TinyCausalLM({ vocabSize: V, hiddenSize: D, numLayers: 2, numHeads: 4, maxPositions: 24, tieEmbeddings: false, copyHeadDim: 8, seed: 5 });
  const w = lm.namedWeights();
  // The copy head starts silent (strength 0); give it a say so the incremental path must get it right.
  w.get('copy_head.strength_kernel')!.write(tf.randomNormal([D, 1], 0, 1, 'float32', 3));
  w.get('copy_head.strength_bias')!.write(tf.tensor1d([1.5]));
  return lm;
}

/** The same model seen through the plain interface only: greedy decoding re-runs the whole sequence. */
function wholeSequence(lm: TinyCausalLM): ConditionLanguageModel {
  return {
    hiddenSize: lm.hiddenSize,
    vocabSize: lm.vocabSize,
    maxPositions: lm.maxPositions,
    trainableWeights: lm.trainableWeights,
    forward: (inputs) => lm.forward(inputs),
    hiddenStates: (inputs) => lm.hiddenStates(inputs),
    logits: (inputs) => lm.logits(inputs),
  };
}

function lastRow(logits: tf.Tensor3D): tf.Tensor2D {
  const [b, t, v] = logits.shape;
  return tf.reshape(tf.slice(logits, [0, t - 1, 0], [b, 1, v]), [b, v]);
}

describe('incremental decoding (TinyCausalLM)', () => {
  beforeAll(async () => {
    await selectBackend('wasm');
  });

  it('each step equals the last row of logits() over the whole sequence (image prefix, left padding, copy head), leak-free', () => {
    const lm = fullLM();
    expect(isIncrementalLanguageModel(lm)).toBe(true);
    expect(isIncrementalLanguageModel(wholeSequence(lm))).toBe(false);
    const image = tf.randomNormal([2, 3, D], 0, 1, 'float32', 7) as tf.Tensor3D;
    let rows = [
      [0, 0, 1, 5, 6],
      [1, 8, 9, 4, 3],
    ];
    let mask = [
      [0, 0, 1, 1, 1],
      [1, 1, 1, 1, 1],
    ];
    const before = tf.memory().numTensors;
    const whole = () =>
      tf.tidy(() => lastRow(lm.logits({ imageTokens: image, tokenIds: tf.tensor2d(rows, undefined, 'int32'), attentionMask: tf.tensor2d(mask, undefined, 'int32') })));
    const promptIds = tf.tensor2d(rows, undefined, 'int32');
    const promptMask = tf.tensor2d(mask, undefined, 'int32');
    let step = lm.startDecoding({ imageTokens: image, tokenIds: promptIds, attentionMask: promptMask });
    tf.dispose([promptIds, promptMask]);
    expect(step.cache.length).toBe(3 + 5);
    for (const next of [[7, 2], [11, 5], [3, 3], [19, 0]]) {
      const reference = whole();
      expect(step.logits.shape).toEqual([2, V]);
      expect(maxAbsDiff(step.logits, reference)).toBeLessThan(1e-4);
      reference.dispose();
      step.logits.dispose();
      rows = rows.map((r, i) => [...r, next[i]!]);
      mask = mask.map((m) => [...m, 1]);
      const nextIds = tf.tensor2d(next.map((t) => [t]), undefined, 'int32');
      const following = lm.continueDecoding(step.cache, nextIds);
      nextIds.dispose();
      step.cache.dispose();
      step = following;
    }
    expect(step.cache.length).toBe(3 + 9);
    const reference = whole();
    expect(maxAbsDiff(step.logits, reference)).toBeLessThan(1e-4);
    tf.dispose([reference, step.logits]);
    step.cache.dispose();
    step.cache.dispose(); // twice is harmless
    expect(tf.memory().numTensors).toBe(before);
    image.dispose();
  });

  it('without image tokens or mask, too', () => {
    const lm = fullLM();
    const promptIds = tf.tensor2d([[1, 4, 9]], undefined, 'int32');
    const first = lm.startDecoding({ tokenIds: promptIds });
    const next = tf.tensor2d([[6]], undefined, 'int32');
    const second = lm.continueDecoding(first.cache, next);
    const reference = tf.tidy(() => lastRow(lm.logits({ tokenIds: tf.tensor2d([[1, 4, 9, 6]], undefined, 'int32') })));
    expect(maxAbsDiff(second.logits, reference)).toBeLessThan(1e-4);
    tf.dispose([promptIds, next, reference, first.logits, second.logits]);
    first.cache.dispose();
    second.cache.dispose();
  });

  it('greedy decoding gives the same ids with and without the cache (sync and async, useCache: false)', async () => {
    const lm = fullLM();
    const image = tf.randomNormal([3, 2, D], 0, 1, 'float32', 9) as tf.Tensor3D;
    const prompt = tf.tensor2d([[0, 0, 1, 5], [0, 1, 8, 9], [1, 2, 3, 4]], undefined, 'int32');
    const mask = tf.tensor2d([[0, 0, 1, 1], [0, 1, 1, 1], [1, 1, 1, 1]], undefined, 'int32');
    const options = { maxNewTokens: 12, eosId: 2, attentionMask: mask };
    const before = tf.memory().numTensors;
    const cached = greedyGenerate(lm, image, prompt, options);
    expect(tf.memory().numTensors).toBe(before);
    const plain = greedyGenerate(wholeSequence(lm), image, prompt, options);
    expect(cached).toEqual(plain);
    expect(cached.some((row) => row.length > 3)).toBe(true); // the comparison covers several steps
    expect(greedyGenerate(lm, image, prompt, { ...options, useCache: false })).toEqual(plain);
    expect(await greedyGenerateAsync(lm, image, prompt, options)).toEqual(plain);
    expect(await greedyGenerateAsync(lm, image, prompt, { ...options, useCache: false })).toEqual(plain);
    expect(() => greedyGenerate(lm, image, prompt, { ...options, useCache: 'yes' as unknown as boolean })).toThrow(/useCache: expected a boolean/);
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([image, prompt, mask]);
  });

  it('rejects a foreign or disposed cache, bad next tokens and running past maxPositions', () => {
    const lm = fullLM();
    const other = fullLM();
    const promptIds = tf.tensor2d([[1, 4, 9]], undefined, 'int32');
    const step = lm.startDecoding({ tokenIds: promptIds });
    const next = tf.tensor2d([[6]], undefined, 'int32');
    expect(() => other.continueDecoding(step.cache, next)).toThrow(/cache: expected a cache from this model/);
    const twoTokens = tf.tensor2d([[6, 7]], undefined, 'int32');
    expect(() => lm.continueDecoding(step.cache, twoTokens)).toThrow(ShapeError);
    const floatIds = tf.tensor2d([[6]], undefined, 'float32');
    expect(() => lm.continueDecoding(step.cache, floatIds)).toThrow(DTypeError);
    const twoRows = tf.tensor2d([[6], [7]], undefined, 'int32');
    expect(() => lm.continueDecoding(step.cache, twoRows)).toThrow(ShapeError);
    // Grow to maxPositions (24), then one more is refused.
    let cache = step.cache;
    const grown: typeof cache[] = [];
    while (cache.length < lm.maxPositions) {
      const s = lm.continueDecoding(cache, next);
      s.logits.dispose();
      grown.push(cache);
      cache = s.cache;
    }
    expect(() => lm.continueDecoding(cache, next)).toThrow(ValueError);
    expect(() => lm.continueDecoding(cache, next)).toThrow(/maxPositions=24/);
    cache.dispose();
    expect(() => lm.continueDecoding(cache, next)).toThrow(/disposed/);
    grown.forEach((c) => c.dispose());
    tf.dispose([promptIds, next, twoTokens, floatIds, twoRows, step.logits]);
  });
});
