import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '@flowseg/core';
import { ConditionRefinement, SemanticCrossAttention, SemanticGate } from '@flowseg/bsf-layer';
import { disposeInputs, makeInputs, makeLayer } from './layerFixtures.js';

beforeAll(async () => {
  await selectBackend('wasm');
});

describe('dispose', () => {
  it('frees every weight of a layer that was only run eagerly (forward), exactly once', () => {
    const layer = makeLayer();
    const x = makeInputs([2, 1], 2);
    const r = layer.forward(x);
    tf.dispose([r.queries, r.conditions!.conditions]);
    const weights = layer.weights.length;
    const before = tf.memory().numTensors;
    expect(layer.dispose().numDisposedVariables).toBe(weights);
    expect(tf.memory().numTensors).toBe(before - weights);
    expect(() => layer.dispose()).toThrow();
    disposeInputs(x);
  });

  it('frees SR, CR and the gate', () => {
    for (const l of [new SemanticGate({ dim: 4 }), new SemanticCrossAttention({ dim: 4, numHeads: 2 }), new ConditionRefinement({ dim: 4, numHeads: 2 })]) {
      l.ensureBuilt();
      const n = l.weights.length;
      const before = tf.memory().numTensors;
      expect(l.dispose().numDisposedVariables).toBe(n);
      expect(tf.memory().numTensors).toBe(before - n);
    }
  });
});
