import { describe, it, expect, beforeAll } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { ShapeError, ValueError, DTypeError, selectBackend, type DecoderLayerSpec } from '@flowseg/core';
import { expectNoLeaks } from '@flowseg/core/testing';
import { Mask2FormerDecoder, Mask2FormerDecoderLayer, MASK2FORMER_DECODER_DEFAULTS } from '@flowseg/mask2former-decoder';
import { TINY, maxAbsDiff, tinyInputs } from './helpers.js';
import { referenceDecoderForward } from './decoderReference.js';
import { RecordingLayer } from './recordingLayer.js';

beforeAll(async () => {
  await selectBackend('wasm');
});

function copyWeights(from: Mask2FormerDecoder, to: Mask2FormerDecoder): void {
  const src = from.namedWeights();
  const dst = to.namedWeights();
  expect([...dst.keys()]).toEqual([...src.keys()]);
  for (const [k, v] of src) dst.get(k)!.write(v.read());
}

function deserialize(decoder: Mask2FormerDecoder): Mask2FormerDecoder {
  const json = JSON.parse(JSON.stringify({ className: decoder.getClassName(), config: decoder.getConfig() }));
  const [cls, fromConfig] = tf.serialization.SerializationMap.getMap().classNameMap[json.className]!;
  return fromConfig(cls, json.config) as Mask2FormerDecoder;
}

describe('Mask2FormerDecoder', () => {
  it('has the paper defaults', () => {
    const d = new Mask2FormerDecoder();
    expect(d.config).toMatchObject({ numQueries: 200, numLayers: 9, hiddenDim: 256, numHeads: 8, ffnDim: 2048, maskDim: 256 });
    expect(d.config.featureChannels).toEqual([256, 256, 256]);
    expect(MASK2FORMER_DECODER_DEFAULTS.numLayers).toBe(9);
    expect(d.layers.every((l) => l instanceof Mask2FormerDecoderLayer)).toBe(true);
  });

  it('matches an independent re-derivation of Mask2Former for every deep-supervision output', () => {
    const decoder = new Mask2FormerDecoder({ ...TINY, featureChannels: [12, 16, 10] });
    const { maskFeatures } = tinyInputs(2, 3);
    const features = [
      tf.randomNormal([2, 2, 2, 12], 0, 1, 'float32', 21),
      tf.randomNormal([2, 3, 4, 16], 0, 1, 'float32', 22),
      tf.randomNormal([2, 4, 4, 10], 0, 1, 'float32', 23),
    ] as tf.Tensor4D[];
    const out = decoder.forward({ features, maskFeatures });
    expect([...decoder.namedWeights().keys()].filter((k) => k.startsWith('input_proj'))).toEqual([
      'input_proj.0.kernel',
      'input_proj.0.bias',
      'input_proj.2.kernel',
      'input_proj.2.bias',
    ]);
    const ref = referenceDecoderForward(decoder, features, maskFeatures);
    // The masks really mask: some keys blocked, not all.
    expect(Math.max(...ref.blockedFraction)).toBeGreaterThan(0.1);
    expect(Math.min(...ref.blockedFraction)).toBeLessThan(0.9);
    const all = [...out.auxOutputs, { predLogits: out.predLogits, predMasks: out.predMasks }];
    expect(all.length).toBe(TINY.numLayers! + 1);
    all.forEach((p, i) => {
      expect(maxAbsDiff(p.predLogits, ref.logits[i]!)).toBeLessThan(1e-4);
      expect(maxAbsDiff(p.predMasks, ref.masks[i]!)).toBeLessThan(1e-3);
    });
    expect(maxAbsDiff(out.queries, ref.queries)).toBeLessThan(1e-4);
    // Inference predicts each attention mask at its scale (3×4 is not a whole fraction of the
    // 8×8 masks): the same masks as resizing the full-resolution logits, so the same result.
    const fast = decoder.forward({ features, maskFeatures, auxOutputs: false });
    expect(fast.auxOutputs).toEqual([]);
    expect(maxAbsDiff(fast.predLogits, ref.logits[TINY.numLayers!]!)).toBeLessThan(1e-4);
    expect(maxAbsDiff(fast.predMasks, ref.masks[TINY.numLayers!]!)).toBeLessThan(1e-3);
    expect(maxAbsDiff(fast.queries, ref.queries)).toBeLessThan(1e-4);
    tf.dispose([out as unknown as tf.TensorContainer, fast as unknown as tf.TensorContainer, ref as unknown as tf.TensorContainer, features, maskFeatures]);
  });

  it('auxOutputs: false returns only the final prediction, equal to the full pass, leak-free', () => {
    const decoder = new Mask2FormerDecoder({ ...TINY, numLayers: 5 });
    const inputs = tinyInputs(2, 7);
    const full = decoder.forward(inputs);
    const fast = expectNoLeaks(() => decoder.forward({ ...inputs, auxOutputs: false }), { warmup: true });
    expect(fast.auxOutputs).toEqual([]);
    expect(fast.predMasks.shape).toEqual([2, 6, 8, 8]);
    expect(maxAbsDiff(fast.predMasks, full.predMasks)).toBeLessThan(1e-4);
    expect(maxAbsDiff(fast.predLogits, full.predLogits)).toBeLessThan(1e-5);
    // Gradients reach the same weights as through the full pass's final prediction.
    const gradsOf = (auxOutputs: boolean) =>
      tf.variableGrads(() => tf.sum(decoder.forward({ ...inputs, auxOutputs, training: true }).predMasks) as tf.Scalar);
    const fastGrads = gradsOf(false);
    const fullGrads = gradsOf(true);
    expect(Object.keys(fastGrads.grads).sort()).toEqual(Object.keys(fullGrads.grads).sort());
    expect(Object.keys(fastGrads.grads).length).toBeGreaterThan(100);
    for (const [name, g] of Object.entries(fastGrads.grads)) expect(maxAbsDiff(g, fullGrads.grads[name]!), name).toBeLessThan(1e-3);
    tf.dispose([full as unknown as tf.TensorContainer, fast as unknown as tf.TensorContainer, inputs.features, inputs.maskFeatures]);
    tf.dispose([fastGrads.value, fullGrads.value, Object.values(fastGrads.grads), Object.values(fullGrads.grads)]);
  });

  it('returns L + 1 predictions with documented shapes, leak-free', () => {
    const decoder = new Mask2FormerDecoder({ ...TINY, numLayers: 5 });
    const inputs = tinyInputs(2, 4);
    const out = expectNoLeaks(() => decoder.forward(inputs), { warmup: true });
    expect(out.predLogits.shape).toEqual([2, 6, 4]);
    expect(out.predMasks.shape).toEqual([2, 6, 8, 8]);
    expect(out.queries.shape).toEqual([2, 6, 16]);
    expect(out.auxOutputs.length).toBe(5);
    for (const a of out.auxOutputs) {
      expect(a.predLogits.shape).toEqual([2, 6, 4]);
      expect(a.predMasks.shape).toEqual([2, 6, 8, 8]);
    }
    expect(out.conditions).toBeNull();
    tf.dispose([out as unknown as tf.TensorContainer, inputs.features, inputs.maskFeatures]);
  });

  it('adds queryOffset to the learned query features (Q⁽⁰⁾ = Q + S)', () => {
    const decoder = new Mask2FormerDecoder(TINY);
    const inputs = tinyInputs(1, 8);
    const s = tf.randomNormal([1, 1, 16], 0, 1, 'float32', 9) as tf.Tensor3D;
    const withOffset = decoder.forward({ ...inputs, queryOffset: s });
    const ref = referenceDecoderForward(decoder, inputs.features, inputs.maskFeatures, s);
    expect(maxAbsDiff(withOffset.predMasks, ref.masks[ref.masks.length - 1]!)).toBeLessThan(1e-3);
    expect(maxAbsDiff(withOffset.auxOutputs[0]!.predLogits, ref.logits[0]!)).toBeLessThan(1e-4);
    const plain = decoder.forward(inputs);
    expect(maxAbsDiff(plain.predLogits, withOffset.predLogits)).toBeGreaterThan(1e-3);
    // Per-query offsets are accepted too.
    const perQuery = decoder.forward({ ...inputs, queryOffset: tf.tile(s, [1, 6, 1]) as tf.Tensor3D });
    expect(maxAbsDiff(perQuery.predLogits, withOffset.predLogits)).toBeLessThan(1e-5);
    tf.dispose([withOffset, plain, perQuery, ref, s, inputs.features, inputs.maskFeatures] as unknown as tf.TensorContainer);
  });

  it('uses a custom layer factory and shares one context across layers', () => {
    const specs: DecoderLayerSpec[] = [];
    const made: RecordingLayer[] = [];
    const decoder = new Mask2FormerDecoder({
      ...TINY,
      numLayers: 7,
      dropout: 0.1,
      layerFactory: (spec) => {
        specs.push(spec);
        const layer = new RecordingLayer({ hiddenDim: spec.hiddenDim });
        made.push(layer);
        return layer;
      },
    });
    expect(specs.map((s) => s.index)).toEqual([0, 1, 2, 3, 4, 5, 6]);
    expect(specs[0]).toEqual({ index: 0, hiddenDim: 16, numHeads: 4, ffnDim: 32, dropout: 0.1 });
    expect(decoder.customLayers).toBe(true);
    const inputs = tinyInputs(2, 5);
    const conditions = {
      conditions: tf.zeros([2, 3, 16]) as tf.Tensor3D,
      conditionMask: tf.ones([2, 3]) as tf.Tensor2D,
    };
    decoder.ensureBuilt(); // weights are created lazily; build them outside the leak check
    const out = expectNoLeaks(() => decoder.forward({ ...inputs, conditions, training: true }));
    const calls = made.flatMap((l) => l.calls);
    expect(calls.map((c) => c.layerIndex)).toEqual([0, 1, 2, 3, 4, 5, 6]);
    expect(calls.map((c) => c.level)).toEqual([0, 1, 2, 0, 1, 2, 0]);
    expect(calls.every((c) => c.numLayers === 7 && c.training)).toBe(true);
    const pixels = [4, 12, 16];
    calls.forEach((c) => {
      expect(c.memoryShape).toEqual([2, pixels[c.level]!, 16]);
      expect(c.maskShape).toEqual([2, 6, pixels[c.level]!]);
      expect(c.maskDtype).toBe('bool');
      // Each layer sees the conditions its predecessor wrote, and its predecessors' extras.
      expect(new Set(c.conditionsSeen)).toEqual(new Set([c.layerIndex]));
      expect(c.extrasSeen).toEqual(Array.from({ length: c.layerIndex }, (_, i) => `layer${i}`));
    });
    expect(new Set(out.conditions!.conditions.dataSync())).toEqual(new Set([7]));
    // The unchanged mask comes back as the caller's own copy.
    expect(out.conditions!.conditionMask).not.toBe(conditions.conditionMask);
    expect(Array.from(out.conditions!.conditionMask.dataSync())).toEqual([1, 1, 1, 1, 1, 1]);
    expect([...decoder.namedWeights().keys()]).toContain('layers.6.proj.kernel');
    tf.dispose([out, conditions, inputs.features, inputs.maskFeatures] as unknown as tf.TensorContainer);
  });

  it('returns clones of untouched conditions (standard layers never read them)', () => {
    const decoder = new Mask2FormerDecoder({ ...TINY, numLayers: 2 });
    const inputs = tinyInputs(2, 6);
    const conditions = { conditions: tf.randomNormal([2, 1, 5]) as tf.Tensor3D, conditionMask: tf.ones([2, 1]) as tf.Tensor2D };
    const out = expectNoLeaks(() => decoder.forward({ ...inputs, conditions }), { warmup: true });
    expect(out.conditions!.conditions).not.toBe(conditions.conditions);
    expect(maxAbsDiff(out.conditions!.conditions, conditions.conditions)).toBe(0);
    tf.dispose([out, conditions, inputs.features, inputs.maskFeatures] as unknown as tf.TensorContainer);
  });

  it('round-trips through getConfig / registerClass with standard and custom layers', () => {
    for (const config of [TINY, { ...TINY, layerFactory: (s: DecoderLayerSpec) => new RecordingLayer({ hiddenDim: s.hiddenDim }) }]) {
      const a = new Mask2FormerDecoder({ ...config, featureChannels: [16, 16, 16], seed: 3 });
      a.ensureBuilt();
      const b = deserialize(a);
      expect(b).toBeInstanceOf(Mask2FormerDecoder);
      expect(b.config).toEqual(a.config);
      expect(b.layers.map((l) => l.getClassName())).toEqual(a.layers.map((l) => l.getClassName()));
      b.ensureBuilt();
      copyWeights(a, b);
      const inputs = tinyInputs(2, 7);
      const oa = a.forward(inputs);
      const ob = b.forward(inputs);
      expect(maxAbsDiff(oa.predMasks, ob.predMasks)).toBe(0);
      expect(maxAbsDiff(oa.predLogits, ob.predLogits)).toBe(0);
      tf.dispose([oa, ob, inputs.features, inputs.maskFeatures] as unknown as tf.TensorContainer);
      const numVariables = a.trainableWeights.length;
      expect(a.dispose().numDisposedVariables).toBe(numVariables);
    }
    // The custom layer list is serialized; the standard one is implied by the sizes.
    expect(new Mask2FormerDecoder(TINY).getConfig()['layerConfigs']).toBeUndefined();
  });

  it('seeds every initializer (decoder, input projections, standard layers)', () => {
    const make = (seed?: number) => {
      const d = new Mask2FormerDecoder({ ...TINY, featureChannels: [8, 16, 16], seed });
      d.ensureBuilt();
      return d.namedWeights();
    };
    const [a, b, c] = [make(42), make(42), make(43)];
    for (const [k, v] of a) {
      expect(maxAbsDiff(v.read(), b.get(k)!.read()), k).toBe(0);
      // LayerNorm weights are constant; everything random differs with the seed.
      if (!/norm\.(weight|bias)$/.test(k)) expect(maxAbsDiff(v.read(), c.get(k)!.read()), k).toBeGreaterThan(0);
    }
    expect(maxAbsDiff(a.get('query_feat.weight')!.read(), a.get('query_embed.weight')!.read())).toBeGreaterThan(0);
    expect(maxAbsDiff(a.get('layers.0.ffn.ffn.linear1.kernel')!.read(), a.get('layers.1.ffn.ffn.linear1.kernel')!.read())).toBeGreaterThan(0);
  });

  it('validates its config, naming the field', () => {
    const bad: Array<[Record<string, unknown>, string]> = [
      [{ numHeads: 3 }, 'numHeads'],
      [{ numQueries: 0 }, 'numQueries'],
      [{ numLayers: 2.5 }, 'numLayers'],
      [{ dropout: 1 }, 'dropout'],
      [{ featureChannels: [256, 256] }, 'featureChannels'],
      [{ hiddenDim: 15, numHeads: 3 }, 'hiddenDim'],
      [{ numClasses: -1 }, 'numClasses'],
      [{ enforceInputProjection: 'yes' }, 'enforceInputProjection'],
      [{ layerFactory: () => new RecordingLayer({ hiddenDim: 8 }) }, 'layerFactory'],
      [{ layerConfigs: [{ className: 'NoSuchLayer', config: {} }] }, 'layerConfigs'],
    ];
    for (const [cfg, field] of bad) {
      let caught: unknown;
      try {
        new Mask2FormerDecoder({ ...TINY, ...cfg } as never);
      } catch (e) {
        caught = e;
      }
      expect(caught, field).toBeInstanceOf(ValueError);
      expect((caught as ValueError).argument).toBe(field);
    }
  });

  it('rejects bad inputs with ShapeError / DTypeError naming the argument', () => {
    const decoder = new Mask2FormerDecoder(TINY);
    const { features, maskFeatures } = tinyInputs(2, 2);
    const expectShape = (fn: () => unknown, argument: string) => {
      let caught: unknown;
      try {
        fn();
      } catch (e) {
        caught = e;
      }
      expect(caught, argument).toBeInstanceOf(ShapeError);
      expect((caught as ShapeError).argument).toBe(argument);
    };
    expectShape(() => decoder.forward({ features: features.slice(0, 2), maskFeatures }), 'features');
    const wrongBatch = tf.zeros([1, 4, 4, 16]) as tf.Tensor4D;
    expectShape(() => decoder.forward({ features: [features[0]!, features[1]!, wrongBatch], maskFeatures }), 'features[2]');
    const wrongWidth = tf.zeros([2, 3, 4, 8]) as tf.Tensor4D;
    expectShape(() => decoder.forward({ features: [features[0]!, wrongWidth, features[2]!], maskFeatures }), 'features[1]');
    expectShape(() => decoder.forward({ features, maskFeatures: tf.zeros([2, 8, 8, 4]) as tf.Tensor4D }), 'maskFeatures');
    expectShape(() => decoder.forward({ features, maskFeatures, queryOffset: tf.zeros([2, 3, 16]) as tf.Tensor3D }), 'queryOffset');
    expectShape(() => decoder.forward({ features, maskFeatures, queryOffset: tf.zeros([2, 16]) as unknown as tf.Tensor3D }), 'queryOffset');
    expect(() => decoder.forward({ features, maskFeatures, queryOffset: tf.zeros([2, 1, 16], 'int32') as tf.Tensor3D })).toThrow(DTypeError);
    for (const key of ['auxOutputs', 'training'] as const) {
      expect(() => decoder.forward({ features, maskFeatures, [key]: 'no' as unknown as boolean }), key).toThrow(
        expect.objectContaining({ name: 'ValueError', argument: key }),
      );
    }
    tf.dispose([features, maskFeatures, wrongBatch, wrongWidth]);
  });
});
