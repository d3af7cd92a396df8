import { beforeAll, describe, it, expect } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { ValueError, getLayerWeights, selectBackend } from '@flowseg/core';
import { disposeFlowSegOutputs, extendFlowSegModel } from '../../src/index.js';
import { reloadThroughCheckpoint } from '../support/checkpointRoundTrip.js';
import { gradientMagnitudes } from '../support/layers.js';
import { tinyModel } from '../support/tinyFlowSeg.js';

const BLOCK_WEIGHTS = [
  'input_layernorm.weight',
  'input_layernorm.bias',
  'self_attn.q_proj.kernel',
  'self_attn.q_proj.bias',
  'self_attn.k_proj.kernel',
  'self_attn.k_proj.bias',
  'self_attn.v_proj.kernel',
  'self_attn.v_proj.bias',
  'self_attn.out_proj.kernel',
  'self_attn.out_proj.bias',
  'post_attention_layernorm.weight',
  'post_attention_layernorm.bias',
  'mlp.linear1.kernel',
  'mlp.linear1.bias',
  'mlp.linear2.kernel',
  'mlp.linear2.bias',
];

describe('extendFlowSegModel: more language-model blocks', () => {
  beforeAll(async () => {
    await selectBackend('wasm', { wasmThreads: 1 });
  });

  it('appends blocks that start as the identity, train, and survive a checkpoint round trip', async () => {
    const plain = tinyModel({ seed: 4 });
    const tokenizer = plain.tokenizer;
    const ids = [[...tokenizer.encode('find the shape with the most corners', { addBos: true }), ...tokenizer.encode('<p> the star </p> <SEG>', { addEos: true })]];
    const images = tf.randomUniform([1, 32, 32, 3], 0, 1, 'float32', 5) as tf.Tensor4D;
    const before = tf.memory().numTensors;
    const { model, added } = extendFlowSegModel(plain, { languageModel: { numLayers: 3 } });
    expect(model.config.languageModel.numLayers).toBe(3);
    expect([...added].sort()).toEqual([1, 2].flatMap((l) => BLOCK_WEIGHTS.map((w) => `language_model.layers.${l}.${w}`)).sort());

    // Zero residual outputs, random insides: each appended block adds exactly 0 to its input.
    const weights = getLayerWeights(model);
    for (const name of added) {
      const zero = /(out_proj|linear2)\./.test(name);
      const absMax = tf.tidy(() => tf.max(tf.abs(weights.get(name)!)).dataSync()[0]!);
      if (zero) expect(absMax, name).toBe(0);
      else if (name.endsWith('kernel')) expect(absMax, name).toBeGreaterThan(0);
    }
    tf.dispose([...weights.values()]);
    const a = plain.forward({ images, tokenIds: ids });
    const b = model.forward({ images, tokenIds: ids });
    expect(Array.from(b.lmLogits.dataSync())).toEqual(Array.from(a.lmLogits.dataSync()));

    // The next-token loss reaches the appended blocks' output projections at once.
    const magnitudes = gradientMagnitudes(model.languageModel, () =>
      tf.tidy(() => {
        const out = model.forward({ images, tokenIds: ids });
        const loss = tf.mean(tf.square(out.lmLogits)) as tf.Scalar;
        disposeFlowSegOutputs(out);
        return loss;
      }),
    );
    expect(magnitudes.get('layers.2.self_attn.out_proj.kernel')).toBeGreaterThan(0);
    expect(magnitudes.get('layers.2.mlp.linear2.kernel')).toBeGreaterThan(0);
    const outProj = model.languageModel.namedWeights().get('layers.2.self_attn.out_proj.kernel')!;

    // Once trained away from zero the block changes the logits, and a checkpoint keeps it.
    const trained = tf.fill(outProj.shape as number[], 0.05);
    outProj.write(trained);
    trained.dispose();
    const c = model.forward({ images, tokenIds: ids });
    expect(Array.from(c.lmLogits.dataSync())).not.toEqual(Array.from(a.lmLogits.dataSync()));
    const loaded = await reloadThroughCheckpoint(model);
    expect(loaded.config.languageModel.numLayers).toBe(3);
    const d = loaded.forward({ images, tokenIds: ids });
    expect(Array.from(d.lmLogits.dataSync())).toEqual(Array.from(c.lmLogits.dataSync()));
    for (const out of [a, b, c, d]) disposeFlowSegOutputs(out);
    model.dispose();
    loaded.dispose();
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose(images);
    plain.dispose();
  });

  it('refuses to drop blocks', () => {
    const deep = tinyModel({ seed: 4, languageModel: { numLayers: 2 } });
    expect(() => extendFlowSegModel(deep, { languageModel: { numLayers: 1 } })).toThrow(ValueError);
    expect(() => extendFlowSegModel(deep, { languageModel: { numLayers: 1 } })).toThrow(
      /overrides: the copy would lose weights of the original: language_model\.layers\.1\./,
    );
    deep.dispose();
  });
});
