import { describe, it, expect, beforeAll, vi } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { ShapeError, DTypeError, ValueError, selectBackend, type DecoderLayerContext } from '@flowseg/core';
import { expectNoLeaks } from '@flowseg/core/testing';
import { Mask2FormerDecoderLayer, MaskEmbeddingMlp } from '@flowseg/mask2former-decoder';
import { maxAbsDiff } from './helpers.js';

beforeAll(async () => {
  await selectBackend('wasm');
});

const context = (training = false): DecoderLayerContext => ({
  layerIndex: 0,
  numLayers: 1,
  level: 0,
  training,
  conditions: null,
  extras: new Map(),
});

function layerInputs() {
  return {
    queries: tf.randomNormal([2, 5, 16], 0, 1, 'float32', 1) as tf.Tensor3D,
    queryPos: tf.randomNormal([2, 5, 16], 0, 1, 'float32', 2) as tf.Tensor3D,
    memory: tf.randomNormal([2, 9, 16], 0, 1, 'float32', 3) as tf.Tensor3D,
    memoryPos: tf.randomNormal([2, 9, 16], 0, 1, 'float32', 4) as tf.Tensor3D,
    attentionMask: tf.greater(tf.randomUniform([2, 5, 9], 0, 1, 'float32', 5), 0.6) as tf.Tensor3D,
  };
}

describe('Mask2FormerDecoderLayer', () => {
  it('runs masked cross-attention → self-attention → FFN, each feeding the next', () => {
    const layer = new Mask2FormerDecoderLayer({ hiddenDim: 16, numHeads: 4, ffnDim: 32 });
    layer.ensureBuilt();
    const spies = {
      cross: vi.spyOn(layer.crossAttention, 'forward'),
      self: vi.spyOn(layer.selfAttention, 'forward'),
      ffn: vi.spyOn(layer.feedForward, 'forward'),
    };
    const inputs = layerInputs();
    const out = layer.forwardLayer(inputs, context());
    const calls = Object.entries(spies)
      .map(([name, spy]) => ({ name, at: spy.mock.invocationCallOrder[0]! }))
      .sort((a, b) => a.at - b.at)
      .map((c) => c.name);
    expect(calls).toEqual(['cross', 'self', 'ffn']);
    // The cross-attention got the memory, its positions and the mask; the others got the previous output.
    const crossArgs = spies.cross.mock.calls[0]![0];
    expect(crossArgs.memory).toBe(inputs.memory);
    expect(crossArgs.memoryPos).toBe(inputs.memoryPos);
    expect(crossArgs.attentionMask).toBe(inputs.attentionMask);
    expect(crossArgs.queryPos).toBe(inputs.queryPos);
    expect(spies.self.mock.calls[0]![0].queries).toBe(spies.cross.mock.results[0]!.value);
    expect(spies.ffn.mock.calls[0]![0]).toBe(spies.self.mock.results[0]!.value);
    // And the result is exactly ffn(self(cross(q))).
    const manual = tf.tidy(() => {
      const a = layer.crossAttention.forward({ ...inputs });
      const b = layer.selfAttention.forward({ queries: a, queryPos: inputs.queryPos });
      return layer.feedForward.forward(b);
    });
    expect(maxAbsDiff(out, manual)).toBe(0);
    vi.restoreAllMocks();
    tf.dispose([out, manual, inputs] as unknown as tf.TensorContainer);
  });

  it('has Mask2Former weight names and is leak-free', () => {
    const layer = new Mask2FormerDecoderLayer({ hiddenDim: 16, numHeads: 4, ffnDim: 32 });
    const names = [...layer.namedWeights().keys()];
    expect(names).toContain('cross_attn.multihead_attn.q_proj.kernel');
    expect(names).toContain('cross_attn.norm.weight');
    expect(names).toContain('self_attn.self_attn.out_proj.bias');
    expect(names).toContain('ffn.ffn.linear1.kernel');
    expect(names).toContain('ffn.norm.bias');
    expect(names.length).toBe(2 * (4 * 2 + 2) + 2 * 2 + 2);
    const inputs = layerInputs();
    const out = expectNoLeaks(() => layer.forwardLayer(inputs, context()), { warmup: true });
    expect(out.shape).toEqual([2, 5, 16]);
    tf.dispose([out, inputs] as unknown as tf.TensorContainer);
  });

  it('applies dropout only in training', () => {
    const layer = new Mask2FormerDecoderLayer({ hiddenDim: 16, numHeads: 4, ffnDim: 32, dropout: 0.5 });
    const inputs = layerInputs();
    const a = layer.forwardLayer(inputs, context(false));
    const b = layer.forwardLayer(inputs, context(false));
    const c = layer.forwardLayer(inputs, context(true));
    expect(maxAbsDiff(a, b)).toBe(0);
    expect(maxAbsDiff(a, c)).toBeGreaterThan(1e-3);
    tf.dispose([a, b, c, inputs] as unknown as tf.TensorContainer);
  });

  it('round-trips its config and validates inputs', () => {
    const layer = new Mask2FormerDecoderLayer({ hiddenDim: 16, numHeads: 4, ffnDim: 32, dropout: 0.1 });
    const [cls, fromConfig] = tf.serialization.SerializationMap.getMap().classNameMap['FlowSegMask2FormerDecoderLayer']!;
    const copy = fromConfig(cls, JSON.parse(JSON.stringify(layer.getConfig()))) as Mask2FormerDecoderLayer;
    expect([copy.hiddenDim, copy.numHeads, copy.ffnDim, copy.dropout]).toEqual([16, 4, 32, 0.1]);
    const inputs = layerInputs();
    expect(() => layer.forwardLayer({ ...inputs, memory: tf.zeros([2, 9, 8]) as tf.Tensor3D }, context())).toThrow(ShapeError);
    expect(() =>
      layer.forwardLayer({ ...inputs, attentionMask: tf.zeros([2, 5, 9]) as tf.Tensor3D }, context()),
    ).toThrow(DTypeError);
    expect(() => new Mask2FormerDecoderLayer({ hiddenDim: 16, numHeads: 5, ffnDim: 32 })).toThrow(ValueError);
    tf.dispose(inputs as unknown as tf.TensorContainer);
  });
});

describe('MaskEmbeddingMlp', () => {
  it('is linear → ReLU → linear → ReLU → linear', () => {
    const mlp = new MaskEmbeddingMlp({ inputDim: 4, hiddenDim: 6, outputDim: 3 });
    const x = tf.randomNormal([2, 5, 4], 0, 1, 'float32', 3) as tf.Tensor3D;
    const y = mlp.forward(x);
    const w = mlp.namedWeights();
    const lin = (h: tf.Tensor, i: number) =>
      tf.add(tf.matMul(tf.reshape(h, [-1, h.shape[h.shape.length - 1]!]), w.get(`layers.${i}.kernel`)!.read() as tf.Tensor2D), w.get(`layers.${i}.bias`)!.read());
    const manual = tf.reshape(lin(tf.relu(lin(tf.relu(lin(x, 0)), 1)), 2), [2, 5, 3]);
    expect(maxAbsDiff(y, manual)).toBeLessThan(1e-6);
    expect([...w.keys()]).toEqual(['layers.0.kernel', 'layers.0.bias', 'layers.1.kernel', 'layers.1.bias', 'layers.2.kernel', 'layers.2.bias']);
    tf.dispose([x, y, manual]);
  });
});
