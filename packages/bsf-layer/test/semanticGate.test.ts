import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { ShapeError, ValueError, selectBackend } from '@flowseg/core';
import { expectNoLeaks } from '@flowseg/core/testing';
import { DEFAULT_GATE_BIAS_INIT, SemanticGate } from '@flowseg/bsf-layer';
import { gate as refGate, sigmoid } from './reference.js';
import { expectClose, items, rand, seedWeights } from './helpers.js';

beforeAll(async () => {
  await selectBackend('wasm');
});

describe('SemanticGate', () => {
  it('equals σ(W_g[Q_vis ‖ Q_sem] + b) and g⊙Q_vis + (1−g)⊙Q_sem (random weights)', () => {
    const g = new SemanticGate({ dim: 6 });
    g.ensureBuilt();
    seedWeights(g, 11);
    const visual = rand([2, 4, 6], 1) as tf.Tensor3D;
    const semantic = rand([2, 4, 6], 2) as tf.Tensor3D;
    const out = expectNoLeaks(() => g.forward({ visual, semantic }), { warmup: true });
    const w = g.namedWeights();
    const [v, s] = [items(visual), items(semantic)];
    for (let b = 0; b < 2; b++) {
      const ref = refGate(w, '', v[b]!, s[b]!);
      expectClose(items(out.gate)[b], ref.gate);
      expectClose(items(out.fused)[b], ref.fused);
    }
    tf.dispose([visual, semantic, out.gate, out.fused]);
  });

  it('starts with a zero kernel and bias b₀, so every gate is σ(b₀) towards the visual path', () => {
    expect(DEFAULT_GATE_BIAS_INIT).toBe(2);
    for (const biasInit of [undefined, -1, 3.5]) {
      const g = new SemanticGate({ dim: 4, biasInit });
      const b0 = biasInit ?? DEFAULT_GATE_BIAS_INIT;
      const w = g.namedWeights();
      expect([...w.keys()]).toEqual(['kernel', 'bias']);
      expect(w.get('kernel')!.shape).toEqual([8, 4]);
      expect(tf.abs(w.get('kernel')!.read()).max().dataSync()[0]).toBe(0);
      const visual = rand([1, 3, 4], 5) as tf.Tensor3D;
      const semantic = rand([1, 3, 4], 6) as tf.Tensor3D;
      const out = g.forward({ visual, semantic });
      expectClose(out.gate, [[0, 1, 2].map(() => [0, 1, 2, 3].map(() => sigmoid(b0)))], 1e-6);
      tf.dispose([visual, semantic, out.gate, out.fused]);
    }
  });

  it('validates config and shapes', () => {
    expect(() => new SemanticGate({ dim: 0 })).toThrow(ValueError);
    expect(() => new SemanticGate({ dim: 4, biasInit: Number.NaN })).toThrow(ValueError);
    const g = new SemanticGate({ dim: 4 });
    const v = tf.zeros([1, 3, 4]) as tf.Tensor3D;
    const s = tf.zeros([1, 2, 4]) as tf.Tensor3D;
    expect(() => g.forward({ visual: v, semantic: s })).toThrow(ShapeError);
    expect(() => g.forward({ visual: v, semantic: s })).toThrow(/semantic/);
    tf.dispose([v, s]);
  });
});
