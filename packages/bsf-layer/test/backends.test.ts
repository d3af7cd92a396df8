import { afterAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '@flowseg/core';
import { expectNoLeaks } from '@flowseg/core/testing';
import { expectClose, items } from './helpers.js';
import { disposeInputs, makeInputs, makeLayer, referenceOutputs } from './layerFixtures.js';

afterAll(async () => {
  await selectBackend('wasm');
});

describe.each(['wasm', 'cpu'] as const)('on %s', (backend) => {
  it('the full BSF layer (SR+CR, ragged batch with a zero-condition item) equals the re-derivation, leak-free, with gradients', async () => {
    await selectBackend(backend);
    expect(tf.getBackend()).toBe(backend);
    const counts = [2, 0];
    const layer = makeLayer();
    const x = makeInputs(counts, 2);
    const out = expectNoLeaks(() => {
      const r = layer.forward(x);
      return { q: r.queries, c: r.conditions!.conditions };
    }, { warmup: true });
    referenceOutputs(layer, x, counts, { sr: true, cr: true }).forEach((ref, b) => {
      expectClose(items(out.q)[b], ref.queries);
      expectClose(items(out.c)[b], ref.conditions);
    });
    const w = layer.namedWeights();
    const { value, grads } = expectNoLeaks(() =>
      tf.variableGrads(() => tf.tidy(() => {
        const r = layer.forward(x);
        return tf.add(tf.sum(tf.square(r.queries)), tf.sum(r.conditions!.conditions)) as tf.Scalar;
      })),
    );
    const gateGrad = grads[(w.get('semantic_attn.gate.kernel')!.read() as tf.Variable).name]!;
    expect(tf.tidy(() => tf.norm(gateGrad).dataSync()[0])).toBeGreaterThan(1e-6);
    for (const g of Object.values(grads)) expect(tf.tidy(() => tf.all(tf.isFinite(g)).dataSync()[0])).toBe(1);
    tf.dispose([value, ...Object.values(grads), out.q, out.c]);
    disposeInputs(x);
  });
});
