import { describe, it, expect, beforeAll } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import {
  Linear,
  LayerNorm,
  MultiHeadAttention,
  CrossAttentionBlock,
  checkShapes,
  deriveSeed,
  selectBackend,
  ShapeError,
} from '@flowseg/core';

beforeAll(async () => {
  await selectBackend('wasm');
});

describe('FlowSegLayer.dispose', () => {
  it('frees the whole weight tree of a layer used only eagerly, once', () => {
    const before = tf.memory().numTensors;
    const block = new CrossAttentionBlock({ dim: 8, numHeads: 2 });
    const q = tf.randomNormal([1, 3, 8]) as tf.Tensor3D;
    tf.dispose(block.forward({ queries: q, memory: q }));
    expect(tf.memory().numTensors).toBeGreaterThan(before + 1);
    const { numDisposedVariables } = block.dispose();
    expect(numDisposedVariables).toBe(10); // 4 projections × (kernel, bias) + norm weight, bias
    q.dispose();
    expect(tf.memory().numTensors).toBe(before);
    expect(() => block.dispose()).toThrow(/already disposed/);
  });

  it('keeps TF.js reference counting for layers used in a tf.model', () => {
    const lin = new Linear({ inFeatures: 4, outFeatures: 2 });
    const input = tf.input({ shape: [4] });
    const model = tf.model({ inputs: input, outputs: lin.apply(input) as tf.SymbolicTensor });
    const y = model.predict(tf.ones([1, 4])) as tf.Tensor;
    expect(y.shape).toEqual([1, 2]);
    y.dispose();
    expect(model.dispose().numDisposedVariables).toBe(2);
  });
});

describe('seeds', () => {
  it('seeded layers are reproducible and their sub-layers differ', () => {
    const a = new MultiHeadAttention({ embedDim: 8, numHeads: 2, seed: 7 });
    const b = new MultiHeadAttention({ embedDim: 8, numHeads: 2, seed: 7 });
    const wa = a.namedWeights();
    const wb = b.namedWeights();
    for (const [name, v] of wa) {
      expect(Array.from(v.read().dataSync()), name).toEqual(Array.from(wb.get(name)!.read().dataSync()));
    }
    expect(Array.from(wa.get('q_proj.kernel')!.read().dataSync())).not.toEqual(
      Array.from(wa.get('k_proj.kernel')!.read().dataSync()),
    );
    expect(a.getConfig()['seed']).toBe(7);
    a.dispose();
    b.dispose();
    expect(deriveSeed(undefined, 3)).toBeUndefined();
    expect(deriveSeed(1, 0)).not.toBe(deriveSeed(1, 1));
    expect(deriveSeed(1, 0)).toBe(deriveSeed(1, 0));
  });
});

describe('last-axis checks', () => {
  it('Linear and LayerNorm name the argument and the expected width', () => {
    const lin = new Linear({ inFeatures: 4, outFeatures: 2 });
    const ln = new LayerNorm({ features: 4 });
    const x = tf.zeros([2, 5]);
    expect(() => lin.forward(x)).toThrow(ShapeError);
    expect(() => lin.forward(x)).toThrow(/x: expected \[\.\.\., inFeatures=4\], received \[2, 5\]/);
    expect(() => ln.forward(x)).toThrow(/features: 5 ≠ 4/);
    expect(() => lin.forward(tf.zeros([2, 4], 'int32'))).toThrow(/dtype/);
    x.dispose();
    lin.dispose();
    ln.dispose();
  });

  it('checkShapes accepts axis names that are Object.prototype keys', () => {
    const t = tf.zeros([2, 3]);
    expect(checkShapes({ x: { tensor: t, axes: ['constructor', 'toString'] } })).toMatchObject({ constructor: 2, toString: 3 });
    t.dispose();
  });
});
