import { describe, it, expect, beforeAll } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { serializeSafetensors, selectBackend, type DecoderLayerSpec } from '@flowseg/core';
import {
  HuggingFaceWeightsError,
  Mask2FormerDecoder,
  Mask2FormerDecoderLayer,
  loadHuggingFaceDecoderSafetensors,
  loadHuggingFaceDecoderWeights,
} from '@flowseg/mask2former-decoder';
import { maxAbsDiff } from './helpers.js';

beforeAll(async () => {
  await selectBackend('wasm');
});

const [N, D, F, DM, K, L] = [5, 16, 24, 8, 3, 3];
const CONFIG = { numQueries: N, hiddenDim: D, ffnDim: F, maskDim: DM, numClasses: K, numLayers: L, numHeads: 4, seed: 7 };

/**
 * A Hugging Face `Mask2FormerForUniversalSegmentation` state dict, written out by hand from
 * its module tree (key names and PyTorch shapes), with seeded random values.
 */
function hfStateDict(options: { inputProjection?: number[] } = {}): Map<string, tf.Tensor> {
  const m = 'model.transformer_module.';
  let seed = 100;
  const shapes: Record<string, number[]> = {
    [`${m}queries_features.weight`]: [N, D],
    [`${m}queries_embedder.weight`]: [N, D],
    [`${m}level_embed.weight`]: [3, D],
    [`${m}decoder.layernorm.weight`]: [D],
    [`${m}decoder.layernorm.bias`]: [D],
    [`${m}decoder.mask_predictor.mask_embedder.0.0.weight`]: [D, D],
    [`${m}decoder.mask_predictor.mask_embedder.0.0.bias`]: [D],
    [`${m}decoder.mask_predictor.mask_embedder.1.0.weight`]: [D, D],
    [`${m}decoder.mask_predictor.mask_embedder.1.0.bias`]: [D],
    [`${m}decoder.mask_predictor.mask_embedder.2.0.weight`]: [DM, D],
    [`${m}decoder.mask_predictor.mask_embedder.2.0.bias`]: [DM],
    'class_predictor.weight': [K + 1, D],
    'class_predictor.bias': [K + 1],
    // Outside the transformer decoder: ignored.
    'model.pixel_level_module.decoder.mask_projection.weight': [D, D, 1, 1],
    'model.pixel_level_module.encoder.embeddings.norm.weight': [7],
    'criterion.empty_weight': [K + 1],
  };
  for (let l = 0; l < L; l++) {
    const p = `${m}decoder.layers.${l}.`;
    for (const proj of ['q', 'k', 'v', 'out']) {
      shapes[`${p}self_attn.${proj}_proj.weight`] = [D, D];
      shapes[`${p}self_attn.${proj}_proj.bias`] = [D];
    }
    Object.assign(shapes, {
      [`${p}self_attn_layer_norm.weight`]: [D],
      [`${p}self_attn_layer_norm.bias`]: [D],
      [`${p}cross_attn.in_proj_weight`]: [3 * D, D],
      [`${p}cross_attn.in_proj_bias`]: [3 * D],
      [`${p}cross_attn.out_proj.weight`]: [D, D],
      [`${p}cross_attn.out_proj.bias`]: [D],
      [`${p}cross_attn_layer_norm.weight`]: [D],
      [`${p}cross_attn_layer_norm.bias`]: [D],
      [`${p}fc1.weight`]: [F, D],
      [`${p}fc1.bias`]: [F],
      [`${p}fc2.weight`]: [D, F],
      [`${p}fc2.bias`]: [D],
      [`${p}final_layer_norm.weight`]: [D],
      [`${p}final_layer_norm.bias`]: [D],
    });
  }
  for (const [i, cin] of (options.inputProjection ?? []).entries()) {
    if (!cin) continue;
    shapes[`${m}input_projections.${i}.weight`] = [D, cin, 1, 1];
    shapes[`${m}input_projections.${i}.bias`] = [D];
  }
  return new Map(Object.entries(shapes).map(([k, s]) => [k, tf.randomNormal(s, 0, 1, 'float32', seed++)]));
}

/** Expected value of each of our weights, derived from the HF tensors by hand. */
function expectEveryWeightLanded(decoder: Mask2FormerDecoder, dict: Map<string, tf.Tensor>): void {
  const ours = decoder.namedWeights();
  const m = 'model.transformer_module.';
  const T = (k: string) => tf.transpose(dict.get(k)!);
  const checks: Array<[string, tf.Tensor]> = [
    ['query_feat.weight', dict.get(`${m}queries_features.weight`)!],
    ['query_embed.weight', dict.get(`${m}queries_embedder.weight`)!],
    ['level_embed.weight', dict.get(`${m}level_embed.weight`)!],
    ['decoder_norm.weight', dict.get(`${m}decoder.layernorm.weight`)!],
    ['decoder_norm.bias', dict.get(`${m}decoder.layernorm.bias`)!],
    ['class_embed.kernel', T('class_predictor.weight')],
    ['class_embed.bias', dict.get('class_predictor.bias')!],
  ];
  for (let j = 0; j < 3; j++) {
    checks.push([`mask_embed.layers.${j}.kernel`, T(`${m}decoder.mask_predictor.mask_embedder.${j}.0.weight`)]);
    checks.push([`mask_embed.layers.${j}.bias`, dict.get(`${m}decoder.mask_predictor.mask_embedder.${j}.0.bias`)!]);
  }
  for (let l = 0; l < L; l++) {
    const h = `${m}decoder.layers.${l}.`;
    const o = `layers.${l}.`;
    const inW = dict.get(`${h}cross_attn.in_proj_weight`)!;
    const inB = dict.get(`${h}cross_attn.in_proj_bias`)!;
    ['q', 'k', 'v'].forEach((p, i) => {
      checks.push([`${o}cross_attn.multihead_attn.${p}_proj.kernel`, tf.transpose(tf.slice(inW, [i * D, 0], [D, D]))]);
      checks.push([`${o}cross_attn.multihead_attn.${p}_proj.bias`, tf.slice(inB, [i * D], [D])]);
    });
    checks.push([`${o}cross_attn.multihead_attn.out_proj.kernel`, T(`${h}cross_attn.out_proj.weight`)]);
    checks.push([`${o}cross_attn.multihead_attn.out_proj.bias`, dict.get(`${h}cross_attn.out_proj.bias`)!]);
    for (const p of ['q', 'k', 'v', 'out']) {
      checks.push([`${o}self_attn.self_attn.${p}_proj.kernel`, T(`${h}self_attn.${p}_proj.weight`)]);
      checks.push([`${o}self_attn.self_attn.${p}_proj.bias`, dict.get(`${h}self_attn.${p}_proj.bias`)!]);
    }
    for (const [ours2, theirs] of [
      ['cross_attn.norm', 'cross_attn_layer_norm'],
      ['self_attn.norm', 'self_attn_layer_norm'],
      ['ffn.norm', 'final_layer_norm'],
    ]) {
      checks.push([`${o}${ours2}.weight`, dict.get(`${h}${theirs}.weight`)!]);
      checks.push([`${o}${ours2}.bias`, dict.get(`${h}${theirs}.bias`)!]);
    }
    checks.push([`${o}ffn.ffn.linear1.kernel`, T(`${h}fc1.weight`)]);
    checks.push([`${o}ffn.ffn.linear1.bias`, dict.get(`${h}fc1.bias`)!]);
    checks.push([`${o}ffn.ffn.linear2.kernel`, T(`${h}fc2.weight`)]);
    checks.push([`${o}ffn.ffn.linear2.bias`, dict.get(`${h}fc2.bias`)!]);
  }
  for (const [i] of [...ours.keys()].map((k) => /^input_proj\.(\d+)\.kernel$/.exec(k)).filter(Boolean).map((r) => [Number(r![1])])) {
    const w = dict.get(`${m}input_projections.${i}.weight`)!;
    checks.push([`input_proj.${i}.kernel`, tf.transpose(tf.reshape(w, w.shape.slice(0, 2)))]);
    checks.push([`input_proj.${i}.bias`, dict.get(`${m}input_projections.${i}.bias`)!]);
  }
  // Every one of our weights is checked exactly once.
  expect(checks.map(([k]) => k).sort()).toEqual([...ours.keys()].sort());
  for (const [name, expected] of checks) expect(maxAbsDiff(ours.get(name)!.read(), expected), name).toBe(0);
}

describe('Hugging Face Mask2Former weights', () => {
  it('puts every weight where it belongs (transposes, fused in_proj split)', () => {
    const decoder = new Mask2FormerDecoder(CONFIG);
    const dict = hfStateDict();
    const report = loadHuggingFaceDecoderWeights(decoder, dict);
    expect(report.loaded.length).toBe(decoder.namedWeights().size);
    expect([...report.ignored].sort()).toEqual([
      'criterion.empty_weight',
      'model.pixel_level_module.decoder.mask_projection.weight',
      'model.pixel_level_module.encoder.embeddings.norm.weight',
    ]);
    expectEveryWeightLanded(decoder, dict);
    tf.dispose([...dict.values()]);
  });

  it('loads input projections (1×1 convs) when the scales need them', () => {
    const decoder = new Mask2FormerDecoder({ ...CONFIG, featureChannels: [12, 16, 6] });
    const dict = hfStateDict({ inputProjection: [12, 0, 6] });
    loadHuggingFaceDecoderWeights(decoder, dict);
    expectEveryWeightLanded(decoder, dict);
    tf.dispose([...dict.values()]);
  });

  it('loads from safetensors bytes', () => {
    const decoder = new Mask2FormerDecoder(CONFIG);
    const dict = hfStateDict();
    const bytes = serializeSafetensors(dict);
    decoder.ensureBuilt();
    const before = tf.memory().numTensors;
    const report = loadHuggingFaceDecoderSafetensors(decoder, bytes);
    expect(tf.memory().numTensors).toBe(before);
    expect(report.ignored.length).toBe(3);
    expectEveryWeightLanded(decoder, dict);
    tf.dispose([...dict.values()]);
  });

  it('reports missing, unexpected and mis-shaped keys by name and loads nothing', () => {
    const decoder = new Mask2FormerDecoder(CONFIG);
    decoder.ensureBuilt();
    const snapshot = new Map([...decoder.namedWeights()].map(([k, v]) => [k, tf.clone(v.read())]));
    const dict = hfStateDict();
    const m = 'model.transformer_module.';
    dict.get(`${m}decoder.layers.1.fc2.bias`)!.dispose();
    dict.delete(`${m}decoder.layers.1.fc2.bias`);
    dict.set(`${m}decoder.layers.3.fc1.weight`, tf.zeros([F, D])); // a 4th layer we do not have
    dict.get('class_predictor.weight')!.dispose();
    dict.set('class_predictor.weight', tf.zeros([K, D])); // one class short
    let caught: HuggingFaceWeightsError | undefined;
    try {
      loadHuggingFaceDecoderWeights(decoder, dict);
    } catch (e) {
      caught = e as HuggingFaceWeightsError;
    }
    expect(caught).toBeInstanceOf(HuggingFaceWeightsError);
    expect(caught!.missing).toEqual([`layers.1.ffn.ffn.linear2.bias ← ${m}decoder.layers.1.fc2.bias`]);
    expect(caught!.unexpected).toEqual([`${m}decoder.layers.3.fc1.weight`]);
    expect(caught!.mismatched).toEqual([
      `shape mismatch: class_predictor.weight (→ class_embed.kernel) expected [4, 16], received [3, 16]`,
    ]);
    expect(caught!.message).toContain('no weight was loaded');
    for (const [k, v] of decoder.namedWeights()) expect(maxAbsDiff(v.read(), snapshot.get(k)!), k).toBe(0);
    // Input projections the decoder needs but the checkpoint lacks are missing too.
    const projected = new Mask2FormerDecoder({ ...CONFIG, featureChannels: [12, 16, 16] });
    expect(() => loadHuggingFaceDecoderWeights(projected, hfStateDict())).toThrow(/input_proj\.0\.kernel ← model\.transformer_module\.input_projections\.0\.weight/);
    tf.dispose([...dict.values(), ...snapshot.values()]);
  });

  it('loads the Mask2Former part of extended layers, keeping allowed extras', () => {
    /** A standard layer plus one extra weight (like a BSF layer's semantic attention). */
    class ExtendedLayer extends Mask2FormerDecoderLayer {
      static override readonly className = 'TestExtendedLayer';
      override build(): void {
        if (this.built) return;
        this.addParam('gate.weight', [this.hiddenDim], tf.initializers.ones());
        super.build();
      }
    }
    tf.serialization.registerClass(ExtendedLayer);
    const factory = (s: DecoderLayerSpec) => new ExtendedLayer({ hiddenDim: s.hiddenDim, numHeads: s.numHeads, ffnDim: s.ffnDim });
    const decoder = new Mask2FormerDecoder({ ...CONFIG, layerFactory: factory });
    const dict = hfStateDict();
    expect(() => loadHuggingFaceDecoderWeights(decoder, dict)).toThrow(/layers\.0\.gate\.weight \(no Hugging Face counterpart\)/);
    const report = loadHuggingFaceDecoderWeights(decoder, dict, { allowMissing: (n) => n.includes('.gate.') });
    expect(report.keptUnloaded).toEqual(['layers.0.gate.weight', 'layers.1.gate.weight', 'layers.2.gate.weight']);
    expect(maxAbsDiff(decoder.namedWeights().get('layers.2.ffn.ffn.linear1.kernel')!.read(), tf.transpose(dict.get('model.transformer_module.decoder.layers.2.fc1.weight')!))).toBe(0);
    tf.dispose([...dict.values()]);
  });
});
