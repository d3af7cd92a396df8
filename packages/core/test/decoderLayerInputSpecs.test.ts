import { describe, it, expect, beforeAll } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { DTypeError, ShapeError, checkShapes, decoderLayerInputSpecs, selectBackend, type DecoderLayerInputs } from '@flowseg/core';

beforeAll(async () => {
  await selectBackend('wasm');
});

describe('decoderLayerInputSpecs', () => {
  it('binds batch, queries, pixels and channels across the decoder layer inputs', () => {
    const q = tf.zeros([2, 3, 8]) as tf.Tensor3D;
    const m = tf.zeros([2, 5, 8]) as tf.Tensor3D;
    const mask = tf.zeros([2, 3, 5], 'bool') as tf.Tensor3D;
    const inputs: DecoderLayerInputs = { queries: q, queryPos: q, memory: m, memoryPos: m, attentionMask: null };
    expect(checkShapes(decoderLayerInputSpecs(inputs), { channels: 8 })).toMatchObject({ batch: 2, queries: 3, pixels: 5, channels: 8 });
    expect(() => checkShapes(decoderLayerInputSpecs({ ...inputs, attentionMask: mask }), { channels: 8 })).not.toThrow();
    expect(() => checkShapes(decoderLayerInputSpecs(inputs), { channels: 4 })).toThrow(ShapeError);
    const wrongPixels = tf.zeros([2, 4, 8]) as tf.Tensor3D;
    expect(() => checkShapes(decoderLayerInputSpecs({ ...inputs, memoryPos: wrongPixels }))).toThrow(/memoryPos/);
    const floatMask = tf.zeros([2, 3, 5]) as tf.Tensor3D;
    expect(() => checkShapes(decoderLayerInputSpecs({ ...inputs, attentionMask: floatMask }))).toThrow(DTypeError);
    tf.dispose([q, m, mask, wrongPixels, floatMask]);
  });
});
