import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '@flowseg/core';
import { disposeInputs, makeInputs, makeLayer } from './layerFixtures.js';

beforeAll(async () => {
  await selectBackend('wasm');
});

function gradNorms(layer: ReturnType<typeof makeLayer>, loss: () => tf.Scalar): Map<string, number> {
  const named = layer.namedWeights();
  const vars = [...named.values()].map((v) => v.read() as tf.Variable);
  const { value, grads } = tf.variableGrads(loss, vars);
  const out = new Map<string, number>();
  for (const [name, v] of named) {
    // No gradient at all (a folded attention drops k_proj.bias, which softmax cancels) counts as 0.
    const g = grads[(v.read() as tf.Variable).name];
    out.set(name, g ? tf.norm(g).dataSync()[0]! : 0);
  }
  tf.dispose([value, ...Object.values(grads)]);
  return out;
}

describe('gradients', () => {
  it("reach W_g (zero-initialised kernel included), SR's and CR's projections: all non-zero", () => {
    const layer = makeLayer();
    // Fresh gate init (kernel exactly 0) as in training from scratch.
    const named = layer.namedWeights();
    named.get('semantic_attn.gate.kernel')!.write(tf.zeros([16, 8]));
    named.get('semantic_attn.gate.bias')!.write(tf.fill([8], 2));
    const x = makeInputs([3, 1], 3);
    const probe = tf.randomNormal([2, 3, 8], 0, 1, 'float32', 5);
    const norms = gradNorms(layer, () =>
      tf.tidy(() => {
        const r = layer.forward(x);
        return tf.add(tf.sum(tf.square(r.queries)), tf.sum(tf.mul(r.conditions!.conditions, probe))) as tf.Scalar;
      }),
    );
    for (const name of [
      'semantic_attn.gate.kernel',
      'semantic_attn.gate.bias',
      ...['q_proj', 'k_proj', 'v_proj', 'out_proj'].flatMap((p) => [
        `semantic_attn.multihead_attn.${p}.kernel`,
        `condition_refinement.multihead_attn.${p}.kernel`,
      ]),
      // (k_proj.bias gets no gradient in any attention: it shifts all of a query's scores equally.)
      ...['q_proj', 'v_proj', 'out_proj'].map((p) => `condition_refinement.multihead_attn.${p}.bias`),
    ]) {
      expect(norms.get(name), name).toBeGreaterThan(1e-6);
    }
    disposeInputs(x);
    probe.dispose();
  });

  it("CR's update reaches the next layer's SR: C⁽¹⁾ carries gradient from layer 2's queries into layer 1's CR", () => {
    const l1 = makeLayer({}, 1);
    const l2 = makeLayer({ conditionRefinement: false }, 2);
    const x = makeInputs([2], 2);
    const norms = gradNorms(l1, () =>
      tf.tidy(() => {
        const r1 = l1.forward(x);
        const r2 = l2.forward({ ...x, queries: r1.queries, conditions: r1.conditions });
        // Only layer 2's queries: layer 1's CR matters only through layer 2's SR.
        return tf.sum(tf.square(r2.queries)) as tf.Scalar;
      }),
    );
    expect(norms.get('condition_refinement.multihead_attn.q_proj.kernel')).toBeGreaterThan(1e-6);
    disposeInputs(x);
  });
});
