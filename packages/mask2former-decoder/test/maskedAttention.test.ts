import { describe, it, expect, beforeAll } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { MultiHeadAttention, selectBackend } from '@flowseg/core';
import { expectNoLeaks } from '@flowseg/core/testing';
import { Mask2FormerDecoder, maskedAttentionMask } from '@flowseg/mask2former-decoder';
import { TINY, tinyInputs } from './helpers.js';
import { sigmoid, torchBilinearResize } from './reference.js';

beforeAll(async () => {
  await selectBackend('wasm');
});

describe('maskedAttentionMask', () => {
  it('matches Mask2Former: bilinear (align_corners=False) resize, sigmoid < 0.5 blocks', () => {
    const [b, n, h, w] = [2, 3, 7, 5];
    const logits = tf.randomNormal([b, n, h, w], 0, 2, 'float32', 11) as tf.Tensor4D;
    const values = logits.dataSync();
    for (const [oh, ow] of [
      [3, 4],
      [7, 5],
      [2, 2],
      [14, 10],
    ] as const) {
      const mask = expectNoLeaks(() => maskedAttentionMask(logits, [oh, ow]));
      expect(mask.dtype).toBe('bool');
      expect(mask.shape).toEqual([b, n, oh * ow]);
      const got = mask.dataSync();
      for (let r = 0; r < b * n; r++) {
        const resized = torchBilinearResize(values.subarray(r * h * w, (r + 1) * h * w), h, w, oh, ow);
        const blocked = Array.from(resized, (v) => sigmoid(v) < 0.5);
        const expected = blocked.every(Boolean) ? blocked.map(() => false) : blocked;
        expect(Array.from(got.subarray(r * oh * ow, (r + 1) * oh * ow), Boolean)).toEqual(expected);
      }
      mask.dispose();
    }
    logits.dispose();
  });

  it('unblocks a row that would be blocked everywhere, leaves the others', () => {
    const rows = [
      [-1, -2, -3, -4], // all blocked → unblocked
      [1, -1, 1, -1], // partial
      [2, 2, 2, 2], // nothing blocked
    ];
    const logits = tf.tensor4d(rows.flat(), [1, 3, 2, 2]);
    const mask = maskedAttentionMask(logits, [2, 2]);
    expect(Array.from(mask.dataSync(), Boolean)).toEqual([false, false, false, false, false, true, false, true, false, false, false, false]);
    tf.dispose([logits, mask]);
  });

  it('gives blocked keys exactly zero attention weight in the cross-attention', () => {
    const logits = tf.tensor4d([-1, 3, -2, 0.5, -1, -1, -1, -1], [1, 2, 2, 2]);
    const mask = maskedAttentionMask(logits, [2, 2]);
    const mha = new MultiHeadAttention({ embedDim: 8, numHeads: 2 });
    const q = tf.randomNormal([1, 2, 8], 0, 1, 'float32', 1) as tf.Tensor3D;
    const m = tf.randomNormal([1, 4, 8], 0, 1, 'float32', 2) as tf.Tensor3D;
    const { weights } = mha.forward({
      query: q,
      key: m,
      value: m,
      attentionMask: tf.expandDims(mask, 1) as tf.Tensor4D,
      returnWeights: true,
    });
    const wv = weights!.arraySync() as number[][][][];
    for (const head of wv[0]!) {
      // Query 0 sees keys 1 and 3 only; query 1 (all blocked → unblocked) sees all four.
      expect(head[0]![0]).toBe(0);
      expect(head[0]![2]).toBe(0);
      expect(head[0]![1]! + head[0]![3]!).toBeCloseTo(1, 5);
      for (const v of head[1]!) expect(v).toBeGreaterThan(0);
    }
    tf.dispose([logits, mask, q, m, weights!]);
  });

  it('carries no gradient: mask embeddings get gradient only through the mask logits', () => {
    const decoder = new Mask2FormerDecoder({ ...TINY, numLayers: 2 });
    const inputs = tinyInputs(1, 5);
    decoder.ensureBuilt();
    const named = decoder.namedWeights();
    const maskKernel = named.get('mask_embed.layers.2.kernel')!.read() as tf.Variable;
    const queryFeat = named.get('query_feat.weight')!.read() as tf.Variable;
    // The final queries depend on mask_embed only through the (detached) attention masks.
    const { grads, value } = tf.variableGrads(() => tf.sum(decoder.forward(inputs).queries) as tf.Scalar, [maskKernel, queryFeat]);
    expect(grads[maskKernel.name]).toBeUndefined();
    expect(tf.sum(tf.abs(grads[queryFeat.name]!)).dataSync()[0]).toBeGreaterThan(0);
    // Through the mask logits themselves, mask_embed does get a gradient.
    const viaMasks = tf.variableGrads(() => tf.sum(decoder.forward(inputs).predMasks) as tf.Scalar, [maskKernel]);
    expect(tf.sum(tf.abs(viaMasks.grads[maskKernel.name]!)).dataSync()[0]).toBeGreaterThan(0);
    tf.dispose([value, grads as unknown as tf.Tensor[], viaMasks.value, viaMasks.grads as unknown as tf.Tensor[]]);
    tf.dispose([...inputs.features, inputs.maskFeatures]);
    decoder.dispose();
  });
});
