import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { selectBackend, type FlowSegLayer } from '@flowseg/core';
import { BSFDecoderLayer, ConditionRefinement, SemanticCrossAttention, SemanticGate } from '@flowseg/bsf-layer';
import { copyWeights, expectClose, maskFromCounts, rand, seedWeights } from './helpers.js';
import { disposeInputs, makeInputs, makeLayer } from './layerFixtures.js';

beforeAll(async () => {
  await selectBackend('wasm');
});

/** getConfig → JSON → class registry → fromConfig, as a saved model would be revived. */
function revive<T extends tf.layers.Layer>(layer: T): T {
  const className = (layer.constructor as unknown as { className: string }).className;
  const config = JSON.parse(JSON.stringify(layer.getConfig())) as tf.serialization.ConfigDict;
  const entry = tf.serialization.SerializationMap.getMap().classNameMap[className];
  expect(entry, `${className} is registered`).toBeDefined();
  const [cls, fromConfig] = entry!;
  return fromConfig(cls, config) as T;
}

function roundTrip<T extends FlowSegLayer>(layer: T): T {
  const copy = revive(layer);
  expect(copy.getConfig()).toEqual(layer.getConfig());
  expect([...copy.namedWeights().keys()]).toEqual([...layer.namedWeights().keys()]);
  copyWeights(layer, copy);
  return copy;
}

describe('serialization round-trips (getConfig → registerClass/fromConfig → same output with same weights)', () => {
  it.each([
    { semanticRefinement: false, conditionRefinement: false },
    { conditionRefinement: false },
    { semanticRefinement: false },
    {},
    { crSource: 'self_attn' as const, gateBiasInit: -0.5, dropout: 0.1, seed: 12 },
  ])('BSFDecoderLayer %o', (options) => {
    const layer = makeLayer(options);
    const copy = roundTrip(layer);
    expect(copy).toBeInstanceOf(BSFDecoderLayer);
    for (const k of ['semanticRefinement', 'conditionRefinement', 'crSource', 'gateBiasInit', 'dropout', 'seed'] as const) {
      expect(copy[k]).toBe(layer[k]);
    }
    const x = makeInputs([2, 0], 2);
    const a = layer.forward(x);
    const b = copy.forward(x);
    expectClose(b.queries, a.queries.arraySync(), 0);
    expectClose(b.conditions!.conditions, a.conditions!.conditions.arraySync(), 0);
    disposeInputs(x);
  });

  it('SemanticGate, SemanticCrossAttention, ConditionRefinement', () => {
    const gate = new SemanticGate({ dim: 4, biasInit: 1.25 });
    const sr = new SemanticCrossAttention({ dim: 4, numHeads: 2, gateBiasInit: 0.5, seed: 4 });
    const cr = new ConditionRefinement({ dim: 4, numHeads: 1, seed: 5 });
    for (const [i, l] of [gate, sr, cr].entries()) seedWeights(l, 60 + i);
    const q = rand([2, 3, 4], 1) as tf.Tensor3D;
    const c = rand([2, 2, 4], 2) as tf.Tensor3D;
    const m = maskFromCounts([2, 1], 2);
    const g2 = roundTrip(gate);
    expect(g2.biasInit).toBe(1.25);
    expectClose(g2.forward({ visual: q, semantic: c.pad([[0, 0], [0, 1], [0, 0]]) as tf.Tensor3D }).fused,
      gate.forward({ visual: q, semantic: c.pad([[0, 0], [0, 1], [0, 0]]) as tf.Tensor3D }).fused.arraySync(), 0);
    const sr2 = roundTrip(sr);
    expect([sr2.gateBiasInit, sr2.seed]).toEqual([0.5, 4]);
    expectClose(sr2.forward({ queries: q, conditions: c, conditionMask: m }).fused,
      sr.forward({ queries: q, conditions: c, conditionMask: m }).fused.arraySync(), 0);
    const cr2 = roundTrip(cr);
    expect(cr2.seed).toBe(5);
    expectClose(cr2.forward({ conditions: c, conditionMask: m, queries: q }),
      cr.forward({ conditions: c, conditionMask: m, queries: q }).arraySync(), 0);
  });
});
