import { describe, it, expect, beforeAll } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '@flowseg/core';
import { LlmConditionAdapter, LlmProjection, buildPoolingPlan, type PhrasePooling } from '@flowseg/llm-condition-adapter';
import {
  CandidateRegionEncoder,
  ConditionQuerySelector,
  ConvSegmentationEncoder,
  Conv2d,
  Embedding,
  PatchVisionEncoder,
  PreNormTransformerBlock,
  ResidualConvBlock,
  TinyCausalLM,
  causalMask,
} from '@flowseg/flowseg-model';
import { exportOnnx } from '../src/index.js';
import { expectOutputsClose, randn, randomizeWeights, session } from './support.js';

beforeAll(async () => {
  await selectBackend('wasm');
});

describe('flowseg-model building blocks', () => {
  it('Conv2d, ResidualConvBlock, Embedding and PreNormTransformerBlock (causal mask + key padding) equal forward', async () => {
    const conv = new Conv2d({ inChannels: 3, outChannels: 5 });
    const block = new ResidualConvBlock({ channels: 5 });
    const embedding = new Embedding({ numEmbeddings: 11, dim: 6, seed: 1 });
    const transformer = new PreNormTransformerBlock({ dim: 8, numHeads: 2, ffnDim: 12 });
    for (const [i, l] of [conv, block, embedding, transformer].entries()) randomizeWeights(l, i + 1);
    const x = randn([2, 6, 5, 3], 1) as tf.Tensor4D;
    const y = randn([2, 6, 5, 5], 2) as tf.Tensor4D;
    const ids = tf.tensor2d([[1, 10, 0], [3, 3, 7]], [2, 3], 'int32');
    const tokens = randn([2, 4, 8], 3) as tf.Tensor3D;
    const attentionMask = causalMask(4);
    const keyPaddingMask = tf.tensor2d([[true, false, false, false], [false, false, false, true]], [2, 4], 'bool');
    const cases: Array<[Uint8Array, Record<string, tf.Tensor>, tf.Tensor]> = [
      [exportOnnx(conv), { x }, conv.forward(x)],
      [exportOnnx(block), { x: y }, block.forward(y)],
      [exportOnnx(embedding, { inputs: [{ name: 'ids', dtype: 'int32' }] }), { ids }, embedding.forward(ids)],
      [
        exportOnnx(transformer, { inputs: ['x', 'attentionMask', 'keyPaddingMask'] }),
        { x: tokens, attentionMask, keyPaddingMask },
        transformer.forward({ x: tokens, attentionMask, keyPaddingMask }),
      ],
    ];
    for (const [bytes, feeds, ref] of cases) {
      const s = await session(bytes);
      const out = await expectOutputsClose(s, feeds, { output: ref });
      tf.dispose([ref, ...Object.values(out)]);
      await s.release();
    }
    tf.dispose([x, y, ids, tokens, attentionMask, keyPaddingMask]);
    for (const l of [conv, block, embedding, transformer]) l.dispose();
  });
});

describe('ConvSegmentationEncoder exporter', () => {
  it('features (coarse → fine) and the pixel map equal forward at two image sizes and batch sizes', async () => {
    const enc = new ConvSegmentationEncoder({ stageChannels: [6, 8, 10, 12], blocksPerStage: [0, 1, 2, 1], seed: 3 });
    const s = await session(exportOnnx(enc, { outputs: ['features0', 'features1', 'features2', 'pixel'] }));
    for (const [b, h, w, seed] of [[2, 32, 32, 1], [1, 16, 48, 2]] as const) {
      const image = tf.randomUniform([b, h, w, 3], 0, 1, 'float32', seed) as tf.Tensor4D;
      const ref = enc.forward(image);
      const out = await expectOutputsClose(s, { image }, { features0: ref.features[0], features1: ref.features[1], features2: ref.features[2], pixel: ref.pixel });
      tf.dispose([image, ...ref.features, ref.pixel, ...Object.values(out)]);
    }
    await s.release();
    enc.dispose();
  });
});

describe('PatchVisionEncoder exporter', () => {
  it('image tokens equal forward (patchify, learned positions, blocks, 2×2 merge, projector), batch 1 and 3', async () => {
    const enc = new PatchVisionEncoder({ tokenDim: 12, imageHeight: 32, imageWidth: 16, patchSize: 4, width: 8, depth: 2, numHeads: 2, seed: 4 });
    randomizeWeights(enc, 4);
    const s = await session(exportOnnx(enc));
    for (const [b, seed] of [[1, 1], [3, 2]] as const) {
      const image = tf.randomUniform([b, 32, 16, 3], 0, 1, 'float32', seed) as tf.Tensor4D;
      const ref = enc.forward(image).tokens;
      expect(ref.shape).toEqual([b, enc.numImageTokens, 12]);
      const out = await expectOutputsClose(s, { image }, { tokens: ref });
      tf.dispose([image, ref, ...Object.values(out)]);
    }
    await s.release();
    enc.dispose();
  });
});

describe('TinyCausalLM exporter', () => {
  const lm = (tie: boolean) => {
    const model = new TinyCausalLM({ vocabSize: 13, hiddenSize: 8, numLayers: 2, numHeads: 2, ffnSize: 16, maxPositions: 24, tieEmbeddings: tie, seed: 5 });
    randomizeWeights(model, 5);
    return model;
  };

  it('image prefix + left/right padding: hidden states and logits equal forward at two lengths (tied head)', async () => {
    const model = lm(true);
    const s = await session(exportOnnx(model, { inputs: ['tokenIds', 'imageTokens', 'attentionMask'], outputs: ['hiddenStates', 'logits'] }));
    const cases: Array<[number[][], number[][], number]> = [
      [[[1, 4, 5, 6, 2], [0, 0, 1, 7, 2]], [[1, 1, 1, 1, 1], [0, 0, 1, 1, 1]], 3],
      [[[1, 9, 12], [1, 8, 0], [1, 3, 4]], [[1, 1, 1], [1, 1, 0], [1, 1, 1]], 2],
    ];
    for (const [rows, maskRows, images] of cases) {
      const tokenIds = tf.tensor2d(rows, undefined, 'int32');
      const attentionMask = tf.tensor2d(maskRows, undefined, 'int32');
      const imageTokens = randn([rows.length, images, 8], images) as tf.Tensor3D;
      const ref = model.forward({ imageTokens, tokenIds, attentionMask });
      const out = await expectOutputsClose(s, { tokenIds, imageTokens, attentionMask }, { hiddenStates: ref.hiddenStates, logits: ref.logits });
      tf.dispose([tokenIds, attentionMask, imageTokens, ref.hiddenStates, ref.logits, ...Object.values(out)]);
    }
    await s.release();
    model.dispose();
  });

  it('copy head (all weights random): logits equal forward with image prefix, padding, and without a mask', async () => {
    const model = new TinyCausalLM({ vocabSize: 13, hiddenSize: 8, numLayers: 1, numHeads: 2, ffnSize: 16, maxPositions: 24, copyHeadDim: 4, seed: 6 });
    randomizeWeights(model, 6);
    const masked = await session(exportOnnx(model, { inputs: ['tokenIds', 'imageTokens', 'attentionMask'], outputs: ['logits'] }));
    const tokenIds = tf.tensor2d([[1, 4, 5, 4, 5, 2], [0, 0, 1, 7, 7, 3]], undefined, 'int32');
    const attentionMask = tf.tensor2d([[1, 1, 1, 1, 1, 1], [0, 0, 1, 1, 1, 1]], undefined, 'int32');
    const imageTokens = randn([2, 3, 8], 3) as tf.Tensor3D;
    const ref = model.forward({ imageTokens, tokenIds, attentionMask });
    const out = await expectOutputsClose(masked, { tokenIds, imageTokens, attentionMask }, { logits: ref.logits });
    await masked.release();
    const plain = await session(exportOnnx(model, { outputs: ['logits'] }));
    const refPlain = model.forward({ tokenIds });
    const outPlain = await expectOutputsClose(plain, { tokenIds }, { logits: refPlain.logits });
    await plain.release();
    tf.dispose([tokenIds, attentionMask, imageTokens, ref.hiddenStates, ref.logits, refPlain.hiddenStates, refPlain.logits, ...Object.values(out), ...Object.values(outPlain)]);
    model.dispose();
  });

  it('untied head, no image prefix and no mask (positions 0..T−1)', async () => {
    const model = lm(false);
    const s = await session(exportOnnx(model, { outputs: ['logits'] }));
    const tokenIds = tf.tensor2d([[1, 4, 5, 6], [2, 3, 3, 12]], undefined, 'int32');
    const ref = model.forward({ tokenIds });
    const out = await expectOutputsClose(s, { tokenIds }, { logits: ref.logits });
    tf.dispose([tokenIds, ref.hiddenStates, ref.logits, ...Object.values(out)]);
    await s.release();
    model.dispose();
  });
});

describe('LlmConditionAdapter exporter (tensor half; parse and pooling plan in JS)', () => {
  const SPECIAL = { phraseStart: 4, phraseEnd: 5, seg: 6 };
  // Item 0: two phrases, one <SEG>; item 1: one phrase, two <SEG>s, padding at the end.
  const rows = [
    [1, 4, 8, 9, 5, 4, 10, 5, 6, 2],
    [1, 4, 11, 5, 6, 6, 2, 0, 0, 0],
  ];
  const maskRows = rows.map((r, b) => r.map((_, t) => (b === 1 && t >= 7 ? 0 : 1)));
  const cases: Array<[PhrasePooling, boolean]> = [
    ['mean', false],
    ['last', true],
    ['attention', false],
  ];
  for (const [pooling, separateProjections] of cases) {
    it(`${pooling} pooling${separateProjections ? ', separate projections' : ''}: conditions and segEmbeddings equal forward (padded rows 0)`, async () => {
      const adapter = new LlmConditionAdapter({ llmDim: 8, decoderDim: 6, projectionHiddenDim: 10, specialTokens: SPECIAL, pooling, separateProjections, seed: 7 });
      adapter.ensureBuilt();
      randomizeWeights(adapter, 7);
      const s = await session(exportOnnx(adapter, { outputs: ['conditions', 'segEmbeddings'] }));
      const hiddenStates = randn([2, 10, 8], 8) as tf.Tensor3D;
      const ref = adapter.forward({ tokenIds: rows, hiddenStates, attentionMask: maskRows });
      const plan = buildPoolingPlan(adapter.parse(rows, maskRows), { pooling, tokens: 10 });
      const feeds = {
        hiddenStates,
        spanWeights: tf.tensor3d(plan.spanWeights, [2, plan.maxSpans, 10]),
        segSelection: tf.tensor3d(plan.segSelection, [2, plan.maxSeg, 10]),
        conditionMask: tf.tensor2d(plan.conditionMask, [2, plan.maxSpans]),
        segMask: tf.tensor2d(plan.segMask, [2, plan.maxSeg]),
      };
      const out = await expectOutputsClose(s, feeds, { conditions: ref.conditions, segEmbeddings: ref.segEmbeddings });
      // Item 1's second phrase slot is padding: exactly 0.
      expect(Array.from(tf.slice(out['conditions']!, [1, 1, 0], [1, 1, 6]).dataSync(), Math.abs)).toEqual(new Array(6).fill(0));
      tf.dispose([...Object.values(feeds), ref.conditions, ref.conditionMask, ref.segEmbeddings, ref.segMask, ref.segConditionMask, ...Object.values(out)]);
      await s.release();
      adapter.dispose();
    });
  }
});

describe('LlmProjection exporter', () => {
  it('φ_llm = linear2(relu(linear1(x))) equals forward on any leading axes', async () => {
    const projection = new LlmProjection({ inFeatures: 8, outFeatures: 6, hiddenDim: 10, seed: 3 });
    randomizeWeights(projection, 3);
    const s = await session(exportOnnx(projection, { inputs: [{ name: 'x', dims: ['a', 'b', 'c', 8] }] }));
    const x = randn([2, 3, 4, 8], 1);
    const ref = projection.forward(x);
    const out = await expectOutputsClose(s, { x }, { output: ref });
    tf.dispose([x, ref, ...Object.values(out)]);
    await s.release();
    projection.dispose();
  });
});

describe('ConditionQuerySelector exporter', () => {
  it('scores cos(W_q Q, W_c c)/τ equal forward', async () => {
    const selector = new ConditionQuerySelector({ hiddenDim: 8, projectionDim: 5, temperature: 0.07, seed: 1 });
    randomizeWeights(selector, 9);
    const s = await session(exportOnnx(selector));
    const queries = randn([3, 7, 8], 1) as tf.Tensor3D;
    const condition = randn([3, 8], 2) as tf.Tensor2D;
    const ref = selector.forward({ queries, condition });
    const out = await expectOutputsClose(s, { queries, condition }, { scores: ref });
    tf.dispose([queries, condition, ref, ...Object.values(out)]);
    await s.release();
    selector.dispose();
  });
});

describe('CandidateRegionEncoder exporter', () => {
  it('region embeddings equal forward (empty, one-pixel, full and ordinary masks; two rows; dynamic sizes)', async () => {
    const encoder = new CandidateRegionEncoder({ hiddenDim: 6, cropSize: 8, convChannels: [3, 4, 5], seed: 2 });
    randomizeWeights(encoder, 11);
    const s = await session(exportOnnx(encoder));
    for (const [mh, ih] of [[8, 16], [6, 12]] as const) {
      const images = tf.randomUniform([2, ih, ih, 3], 0, 1, 'float32', mh) as tf.Tensor4D;
      const logits = tf.tidy(() => {
        const random = tf.randomNormal([2, 4, mh, mh], -0.5, 2, 'float32', 3);
        const onePixel = tf.sub(tf.mul(tf.oneHot(tf.tensor1d([mh + 2], 'int32'), mh * mh), 6), 3).reshape([1, 1, mh, mh]);
        const special = tf.concat([tf.fill([1, 1, mh, mh], -4), onePixel, tf.fill([1, 1, mh, mh], 4), tf.slice(random, [0, 3], [1, 1])], 1);
        return tf.concat([special, tf.slice(random, [1], [1])], 0) as tf.Tensor4D;
      });
      const ref = encoder.forward({ images, maskLogits: logits });
      expect(Math.max(...Array.from(tf.abs(ref).dataSync()))).toBeGreaterThan(0.1);
      const out = await expectOutputsClose(s, { images, maskLogits: logits }, { output: ref });
      tf.dispose([images, logits, ref, ...Object.values(out)]);
    }
    await s.release();
    encoder.dispose();
  });
});
