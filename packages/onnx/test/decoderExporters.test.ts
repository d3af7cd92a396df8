import { describe, it, expect, beforeAll } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '@flowseg/core';
import { bsfLayerFactory } from '@flowseg/bsf-layer';
import { Conv2d, FpnPixelDecoder, GroupNorm, Mask2FormerDecoder, Mask2FormerDecoderLayer, MaskEmbeddingMlp, type PixelDecoderNorm } from '@flowseg/mask2former-decoder';
import { exportOnnx, exportOnnxGraph, type OnnxInputSpec } from '../src/index.js';
import { expectOutputsClose, maskOf, randn, randomBool, randomizeWeights, session } from './support.js';

beforeAll(async () => {
  await selectBackend('wasm');
});

describe('GroupNorm, Conv2d and MaskEmbeddingMlp exporters', () => {
  it('GroupNorm equals forward (groups of 3 channels, ε from the layer), any batch and size', async () => {
    const layer = new GroupNorm({ channels: 12, groups: 4, epsilon: 1e-3 });
    randomizeWeights(layer, 1);
    const s = await session(exportOnnx(layer));
    for (const [shape, seed] of [[[2, 5, 3, 12], 1], [[1, 2, 7, 12], 2]] as const) {
      const x = tf.add(randn([...shape], seed), 3); // an offset, so centring matters
      const ref = layer.forward(x as tf.Tensor4D);
      const out = await expectOutputsClose(s, { x }, { output: ref });
      tf.dispose([x, ref, ...Object.values(out)]);
    }
    await s.release();
    layer.dispose();
  });

  it('Conv2d (3×3 and 5×5, with and without bias) equals forward on NHWC maps', async () => {
    for (const [k, useBias] of [[3, true], [5, false]] as const) {
      const layer = new Conv2d({ inChannels: 4, outChannels: 6, kernelSize: k, useBias, seed: k });
      randomizeWeights(layer, k);
      const s = await session(exportOnnx(layer));
      const x = randn([2, 7, 5, 4], k);
      const ref = layer.forward(x as tf.Tensor4D);
      const out = await expectOutputsClose(s, { x }, { output: ref });
      tf.dispose([x, ref, ...Object.values(out)]);
      await s.release();
      layer.dispose();
    }
  });

  it('MaskEmbeddingMlp equals forward (ReLU between layers, none after the last)', async () => {
    const layer = new MaskEmbeddingMlp({ inputDim: 8, hiddenDim: 10, outputDim: 6, numLayers: 3, seed: 1 });
    randomizeWeights(layer, 3);
    const s = await session(exportOnnx(layer));
    const x = randn([2, 5, 8], 4);
    const ref = layer.forward(x);
    const out = await expectOutputsClose(s, { x }, { output: ref });
    tf.dispose([x, ref, ...Object.values(out)]);
    await s.release();
    layer.dispose();
  });
});

describe('Mask2FormerDecoderLayer exporter', () => {
  it('masked cross-attention → self-attention → FFN equals forwardLayer', async () => {
    const layer = new Mask2FormerDecoderLayer({ hiddenDim: 16, numHeads: 4, ffnDim: 24, dropout: 0, seed: 2 });
    randomizeWeights(layer, 2);
    const s = await session(exportOnnx(layer, { inputs: ['queries', 'queryPos', 'memory', 'memoryPos', 'attentionMask'] }));
    const [queries, queryPos, memory, memoryPos] = [randn([2, 5, 16], 1), randn([2, 5, 16], 2), randn([2, 9, 16], 3), randn([2, 9, 16], 4)] as tf.Tensor3D[];
    const attentionMask = randomBool([2, 5, 9], 5, 0.4) as tf.Tensor3D;
    const ref = layer.forwardLayer(
      { queries: queries!, queryPos: queryPos!, memory: memory!, memoryPos: memoryPos!, attentionMask },
      { layerIndex: 0, numLayers: 1, level: 0, training: false, conditions: null, extras: new Map() },
    );
    const out = await expectOutputsClose(s, { queries: queries!, queryPos: queryPos!, memory: memory!, memoryPos: memoryPos!, attentionMask }, { queries_out: ref });
    tf.dispose([queries!, queryPos!, memory!, memoryPos!, attentionMask, ref, ...Object.values(out)]);
    await s.release();
    layer.dispose();
  });
});

describe('FpnPixelDecoder exporter', () => {
  const norms: PixelDecoderNorm[] = ['group', 'layer', 'none'];
  for (const norm of norms) {
    it(`norm '${norm}': features and mask features equal forward, sizes that do not halve exactly, two batch sizes`, async () => {
      const fpn = new FpnPixelDecoder({ inChannels: [6, 8, 10, 12], convDim: 16, maskDim: 12, groups: 4, norm, seed: 2 });
      randomizeWeights(fpn, 5);
      const s = await session(exportOnnx(fpn, { outputs: ['features0', 'features1', 'features2', 'maskFeatures'] }));
      for (const [b, seed] of [[2, 10], [1, 20]] as const) {
        const sizes = [[14, 10], [7, 5], [4, 3], [2, 2]];
        const maps = sizes.map(([h, w], i) => randn([b, h!, w!, [6, 8, 10, 12][i]!], seed + i) as tf.Tensor4D);
        const ref = fpn.forward({ backboneFeatures: maps });
        const feeds = Object.fromEntries(maps.map((m, i) => [`backbone${i}`, m]));
        const out = await expectOutputsClose(s, feeds, {
          features0: ref.features[0],
          features1: ref.features[1],
          features2: ref.features[2],
          maskFeatures: ref.maskFeatures,
        });
        tf.dispose([...maps, ...ref.features, ref.maskFeatures, ...Object.values(out)]);
      }
      await s.release();
      fpn.dispose();
    });
  }
});

const D = 16;
const N = 6;
const sizes: Array<[number, number]> = [
  [2, 3],
  [4, 6],
  [8, 12],
];
const maskSize: [number, number] = [16, 24];

function decoderInputs(b: number, seed: number) {
  const features = sizes.map(([h, w], i) => randn([b, h, w, [20, 16, 16][i]!], seed + i) as tf.Tensor4D);
  const maskFeatures = randn([b, ...maskSize, 12], seed + 5) as tf.Tensor4D;
  return { features, maskFeatures };
}

/** Graph input specs fixing every spatial size (positional encodings become constants). */
function fixedSpecs(extra: string[] = []): (OnnxInputSpec | string)[] {
  return [
    ...sizes.map(([h, w], i) => ({ name: `features${i}`, dims: ['batch', h, w, [20, 16, 16][i]!] })),
    { name: 'maskFeatures', dims: ['batch', ...maskSize, 12] },
    ...extra,
  ];
}

function stacked(list: readonly tf.Tensor[]): tf.Tensor {
  return tf.stack(list as tf.Tensor[]);
}

describe('Mask2FormerDecoder exporter', () => {
  it('standard layers: final and all L deep-supervision predictions equal forward (fixed sizes; masked attention across 3 scales)', async () => {
    const decoder = new Mask2FormerDecoder({ numQueries: N, numLayers: 4, hiddenDim: D, numHeads: 4, ffnDim: 24, maskDim: 12, numClasses: 2, featureChannels: [20, 16, 16], seed: 3 });
    randomizeWeights(decoder, 6);
    const graph = exportOnnxGraph(decoder, { inputs: fixedSpecs(), outputs: ['predLogits', 'predMasks', 'queries', 'auxPredLogits', 'auxPredMasks'] });
    // The fixed sizes turn the positional encodings into constants: no Sin/Cos in the graph.
    expect(graph.toModelProto().graph.nodes.some((n) => n.opType === 'Sin')).toBe(false);
    const s = await session(graph.serialize());
    for (const [b, seed] of [[2, 10], [1, 20]] as const) {
      const { features, maskFeatures } = decoderInputs(b, seed);
      const ref = decoder.forward({ features, maskFeatures });
      const auxLogits = stacked(ref.auxOutputs.map((p) => p.predLogits));
      const auxMasks = stacked(ref.auxOutputs.map((p) => p.predMasks));
      const feeds = { features0: features[0]!, features1: features[1]!, features2: features[2]!, maskFeatures };
      const out = await expectOutputsClose(s, feeds, {
        predLogits: ref.predLogits,
        predMasks: ref.predMasks,
        queries: ref.queries,
        auxPredLogits: auxLogits,
        auxPredMasks: auxMasks,
      });
      expect(ref.auxOutputs.length).toBe(4);
      tf.dispose([...features, maskFeatures, ref.predLogits, ref.predMasks, ref.queries, auxLogits, auxMasks, ...Object.values(out)]);
      tf.dispose(ref.auxOutputs.flatMap((p) => [p.predLogits, p.predMasks]));
    }
    await s.release();
    decoder.dispose();
  });

  it('dynamic sizes: positional encodings computed in the graph, one model for two feature/mask sizes', async () => {
    const decoder = new Mask2FormerDecoder({ numQueries: N, numLayers: 3, hiddenDim: D, numHeads: 4, ffnDim: 24, maskDim: 12, featureChannels: 16, seed: 4 });
    randomizeWeights(decoder, 7);
    const graph = exportOnnxGraph(decoder);
    expect(graph.toModelProto().graph.nodes.some((n) => n.opType === 'Sin')).toBe(true);
    const s = await session(graph.serialize());
    for (const [scale, b, seed] of [[1, 2, 30], [2, 1, 40]] as const) {
      const features = sizes.map(([h, w], i) => randn([b, h * scale, w * scale, 16], seed + i) as tf.Tensor4D);
      const maskFeatures = randn([b, maskSize[0] * scale, maskSize[1] * scale, 12], seed + 5) as tf.Tensor4D;
      const ref = decoder.forward({ features, maskFeatures });
      const feeds = { features0: features[0]!, features1: features[1]!, features2: features[2]!, maskFeatures };
      const out = await expectOutputsClose(s, feeds, { predLogits: ref.predLogits, predMasks: ref.predMasks });
      tf.dispose([...features, maskFeatures, ref.predLogits, ref.predMasks, ref.queries, ...Object.values(out)]);
      tf.dispose(ref.auxOutputs.flatMap((p) => [p.predLogits, p.predMasks]));
    }
    await s.release();
    decoder.dispose();
  });

  it('BSF layers with a query offset and ragged conditions: predictions and refined conditions equal forward', async () => {
    const decoder = new Mask2FormerDecoder({
      numQueries: N,
      numLayers: 3,
      hiddenDim: D,
      numHeads: 4,
      ffnDim: 24,
      maskDim: 12,
      featureChannels: [20, 16, 16],
      seed: 5,
      layerFactory: bsfLayerFactory({ seed: 9 }),
    });
    randomizeWeights(decoder, 8);
    const s = await session(
      exportOnnx(decoder, {
        inputs: fixedSpecs(['queryOffset', 'conditions', 'conditionMask']),
        outputs: ['predLogits', 'predMasks', 'conditions'],
      }),
    );
    for (const [b, t, seed] of [[3, 2, 50], [1, 3, 60]] as const) {
      const { features, maskFeatures } = decoderInputs(b, seed);
      const queryOffset = randn([b, 1, D], seed + 6) as tf.Tensor3D;
      const conditions = randn([b, t, D], seed + 7) as tf.Tensor3D;
      const conditionMask = maskOf(Array.from({ length: b }, (_, i) => Array.from({ length: t }, (_, j) => (i === 1 ? 0 : j === 0 || i === 2 ? 1 : 0))));
      const ref = decoder.forward({ features, maskFeatures, queryOffset, conditions: { conditions, conditionMask } });
      const feeds = { features0: features[0]!, features1: features[1]!, features2: features[2]!, maskFeatures, queryOffset, conditions, conditionMask };
      const out = await expectOutputsClose(s, feeds, {
        predLogits: ref.predLogits,
        predMasks: ref.predMasks,
        conditions_out: ref.conditions!.conditions,
      });
      tf.dispose([...Object.values(feeds), ref.predLogits, ref.predMasks, ref.queries, ref.conditions!.conditions, ref.conditions!.conditionMask, ...Object.values(out)]);
      tf.dispose(ref.auxOutputs.flatMap((p) => [p.predLogits, p.predMasks]));
    }
    await s.release();
    decoder.dispose();
  });
});
