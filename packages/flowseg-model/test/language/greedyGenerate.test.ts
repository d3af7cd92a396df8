import { describe, it, expect, beforeAll } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { ShapeError, ValueError, selectBackend } from '@flowseg/core';
import { expectNoLeaks } from '@flowseg/core/testing';
import { withSyncReadsRefused } from '../support/syncReads.js';
import {
  greedyGenerate,
  greedyGenerateAsync,
  type ConditionLanguageModel,
  type LanguageModelInputs,
  type LanguageModelOutputs,
} from '../../src/components.js';

const V = 10;

/**
 * A stand-in language model: the next token is `(token + 1 + step) mod V` where `step` is the
 * number of image tokens, so the image prefix visibly matters. Records the masks it saw.
 */
class CountingModel implements ConditionLanguageModel {
  readonly hiddenSize = 4;
  readonly vocabSize = V;
  readonly maxPositions = 16;
  readonly trainableWeights: tf.LayerVariable[] = [];
  readonly seenMasks: number[][][] = [];

  logits(inputs: LanguageModelInputs): tf.Tensor3D {
    const shift = (inputs.imageTokens?.shape[1] ?? 0) + 1;
    if (inputs.attentionMask) this.seenMasks.push(inputs.attentionMask.arraySync() as number[][]);
    return tf.tidy(() => {
      const next = tf.mod(tf.add(inputs.tokenIds, tf.scalar(shift, "int32")), tf.scalar(V, "int32"));
      return tf.mul(tf.oneHot(next as tf.Tensor2D, V), 5) as tf.Tensor3D;
    });
  }

  hiddenStates(inputs: LanguageModelInputs): tf.Tensor3D {
    const [b, t] = inputs.tokenIds.shape;
    return tf.zeros([b, t, this.hiddenSize]);
  }

  forward(inputs: LanguageModelInputs): LanguageModelOutputs {
    return { hiddenStates: this.hiddenStates(inputs), logits: this.logits(inputs) };
  }
}

describe('greedyGenerate', () => {
  beforeAll(async () => {
    await selectBackend('wasm');
  });

  it('appends the argmax token until eos or maxNewTokens, per row, leak-free', () => {
    const model = new CountingModel();
    const prompt = tf.tensor2d([[0, 3], [1, 7]], undefined, 'int32');
    const out = expectNoLeaks(() => greedyGenerate(model, null, prompt, { maxNewTokens: 5, eosId: 6 }));
    // row 0: 4, 5, 6(eos) stop; row 1: 8, 9, 0, 1, 2 (cap).
    expect(out).toEqual([
      [4, 5, 6],
      [8, 9, 0, 1, 2],
    ]);
    const capped = greedyGenerate(model, null, prompt, { maxNewTokens: 2, eosId: 6 });
    expect(capped).toEqual([
      [4, 5],
      [8, 9],
    ]);
    prompt.dispose();
  });

  it('passes the image prefix through and extends a left-padded mask', () => {
    const model = new CountingModel();
    const image = tf.zeros([1, 2, 4]) as tf.Tensor3D; // shift 3
    const prompt = tf.tensor2d([[0, 1]], undefined, 'int32');
    const mask = tf.tensor2d([[0, 1]], undefined, 'int32');
    const out = greedyGenerate(model, image, prompt, { maxNewTokens: 3, eosId: 7, attentionMask: mask });
    expect(out).toEqual([[4, 7]]);
    expect(model.seenMasks).toEqual([[[0, 1]], [[0, 1, 1]]]);
    tf.dispose([image, prompt, mask]);
  });

  it('validates options, shapes and padding side', () => {
    const model = new CountingModel();
    const prompt = tf.tensor2d([[0, 1]], undefined, 'int32');
    expect(() => greedyGenerate(model, null, prompt, { maxNewTokens: 0, eosId: 1 })).toThrow(ValueError);
    expect(() => greedyGenerate(model, null, prompt, { maxNewTokens: 2, eosId: V })).toThrow(ValueError);
    expect(() => greedyGenerate(model, null, prompt, { maxNewTokens: 15, eosId: 1 })).toThrow(/maxPositions=16/);
    const rightPadded = tf.tensor2d([[1, 0]], undefined, 'int32');
    expect(() => greedyGenerate(model, null, prompt, { maxNewTokens: 2, eosId: 1, attentionMask: rightPadded })).toThrow(
      /left-padded/,
    );
    const wrongWidth = tf.zeros([1, 1, 3]) as tf.Tensor3D;
    expect(() => greedyGenerate(model, wrongWidth, prompt, { maxNewTokens: 2, eosId: 1 })).toThrow(ShapeError);
    const floatPrompt = tf.zeros([1, 2]) as tf.Tensor2D;
    expect(() => greedyGenerate(model, null, floatPrompt, { maxNewTokens: 2, eosId: 1 })).toThrow(/promptIds/);
    tf.dispose([prompt, rightPadded, wrongWidth, floatPrompt]);
  });

  it('greedyGenerateAsync returns the same ids without any synchronous read, leak-free', async () => {
    const model = new CountingModel();
    const prompt = tf.tensor2d([[0, 0, 3], [1, 7, 2]], undefined, 'int32');
    const mask = tf.tensor2d([[0, 1, 1], [1, 1, 1]], undefined, 'bool');
    const image = tf.zeros([2, 1, 4]) as tf.Tensor3D;
    const options = { maxNewTokens: 5, eosId: 6, attentionMask: mask };
    const reference = greedyGenerate(model, image, prompt, options);
    // The stand-in records masks with arraySync, so drop the mask for the refusal run and compare that case too.
    const unmasked = greedyGenerate(model, image, prompt, { maxNewTokens: 5, eosId: 6 });
    const before = tf.memory().numTensors;
    const { result, refused } = await withSyncReadsRefused(() => greedyGenerateAsync(model, image, prompt, { maxNewTokens: 5, eosId: 6 }));
    expect(refused).toBe(0);
    expect(result).toEqual(unmasked);
    expect(tf.memory().numTensors).toBe(before);
    expect(await greedyGenerateAsync(model, image, prompt, options)).toEqual(reference);
    // Shift 2 (one image token): row 0 goes 5, 7, 9, 1, 3; row 1 4, 6 (eos).
    expect(reference).toEqual([
      [5, 7, 9, 1, 3],
      [4, 6],
    ]);
    tf.dispose([prompt, mask, image]);
  });

  it('greedyGenerateAsync rejects what greedyGenerate rejects, with the same typed errors', async () => {
    const model = new CountingModel();
    const prompt = tf.tensor2d([[0, 1]], undefined, 'int32');
    const rightPadded = tf.tensor2d([[1, 0]], undefined, 'int32');
    await expect(greedyGenerateAsync(model, null, prompt, { maxNewTokens: 0, eosId: 1 })).rejects.toThrow(ValueError);
    await expect(greedyGenerateAsync(model, null, prompt, { maxNewTokens: 2, eosId: -1 })).rejects.toThrow(/eosId/);
    await expect(greedyGenerateAsync(model, null, prompt, { maxNewTokens: 15, eosId: 1 })).rejects.toThrow(/maxPositions=16/);
    await expect(greedyGenerateAsync(model, null, prompt, { maxNewTokens: 2, eosId: 1, attentionMask: rightPadded })).rejects.toThrow(
      /left-padded/,
    );
    const wrongWidth = tf.zeros([1, 1, 3]) as tf.Tensor3D;
    await expect(greedyGenerateAsync(model, wrongWidth, prompt, { maxNewTokens: 2, eosId: 1 })).rejects.toThrow(ShapeError);
    tf.dispose([prompt, rightPadded, wrongWidth]);
  });
});
