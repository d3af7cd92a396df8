import { describe, it, expect } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { MultiHeadAttention, selectBackend } from '@flowseg/core';
import { expectNoLeaks } from '@flowseg/core/testing';

describe('smoke', () => {
  it('runs MHA on wasm', async () => {
    const sel = await selectBackend('wasm');
    expect(sel.backend).toBe('wasm');
    const mha = new MultiHeadAttention({ embedDim: 16, numHeads: 4 });
    const q = tf.randomNormal([2, 5, 16]) as tf.Tensor3D;
    const out = expectNoLeaks(() => mha.forward({ query: q, key: q, value: q }), { warmup: true });
    expect(out.output.shape).toEqual([2, 5, 16]);
    expect([...mha.namedWeights().keys()]).toContain('q_proj.kernel');
  });
});
