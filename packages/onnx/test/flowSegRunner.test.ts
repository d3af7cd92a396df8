import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { ShapeError, ValueError, selectBackend } from '@flowseg/core';
import { expectNoLeaks, expectNoLeaksAsync } from '@flowseg/core/testing';
import { FlowSegModel, WordTokenizer, resolveFlowSegConfig, withAblation, type FlowSegOutputs } from '@flowseg/flowseg-model';
import { VOCABULARY_WORDS } from '@flowseg/refseg-synth';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { OnnxFlowSegRunner, exportFlowSegOnnx, type FlowSegOnnxModels } from '../src/index.js';
import { readFlowSegOnnx, writeFlowSegOnnx } from '../src/node/index.js';
import { decodeFields, fieldsOf, relativeError, text } from './support.js';

/** Mask logits: max |ORT − TF.js| / max |TF.js| below this. */
const MASK_TOL = 1e-4;
/** Selected masks (logit > 0) must agree on at least this fraction of pixels. */
const MASK_AGREEMENT = 0.995;

const tokenizer = new WordTokenizer([...new Set([...VOCABULARY_WORDS, 'describe', 'image'])]);

/**
 * A tiny random-weight FlowSeg (its own seeded initialisation: mask logits of both signs,
 * spread selection scores): 32×32 images, 16×16 masks, 8 queries, 3 decoder layers. BAR's α
 * is raised from 0.1 to 1 so that its correction is far above the tolerance.
 */
function tinyModel(seed: number, overrides: Parameters<typeof resolveFlowSegConfig>[0] = {}): FlowSegModel {
  const config = resolveFlowSegConfig({
    image: { height: 32, width: 32 },
    segmentationEncoder: { stageChannels: [8, 16, 24, 32], blocksPerStage: [0, 1, 1, 1] },
    pixelDecoder: { convDim: 32, maskDim: 32, groups: 4 },
    visionEncoder: { patchSize: 8, width: 32, depth: 1, numHeads: 2, mergeSize: 2 },
    languageModel: { hiddenSize: 32, numLayers: 2, numHeads: 2, ffnSize: 64, maxPositions: 64 },
    adapter: { projectionHiddenDim: 32 },
    decoder: { numQueries: 8, numLayers: 3, hiddenDim: 32, numHeads: 4, ffnDim: 64 },
    bar: { compChannels: 8, hiddenChannels: 8 },
    selection: { projectionDim: 16, temperature: 0.07 },
    seed,
    ...overrides,
  });
  const model = new FlowSegModel({ config, tokenizer });
  model.namedWeights().get('bar.alpha')?.write(tf.scalar(1));
  return model;
}

function batch(texts: string[], seed: number) {
  const enc = tokenizer.encodeBatch(texts, { addBos: true, addEos: true });
  const images = tf.randomUniform([texts.length, 32, 32, 3], 0, 1, 'float32', seed) as tf.Tensor4D;
  return { images, tokenIds: enc.ids, attentionMask: enc.attentionMask };
}

function disposeOutputs(out: FlowSegOutputs): void {
  tf.dispose([
    out.lmLogits,
    out.classLogits,
    out.rawCandidateLogits,
    out.candidateLogits,
    out.queries,
    out.scores,
    out.selectedIndex,
    out.selectedLogits,
    out.conditions,
    out.conditionMask,
    ...out.auxOutputs.flatMap((p) => [p.predLogits, p.predMasks]),
  ]);
}

/** Fraction of pixels where both selected masks (logit > 0) agree. */
function maskAgreement(a: tf.Tensor, b: tf.Tensor): number {
  const x = a.dataSync();
  const y = b.dataSync();
  let same = 0;
  for (let i = 0; i < x.length; i++) if (x[i]! > 0 === y[i]! > 0) same++;
  return x.length === 0 ? 1 : same / x.length;
}

/** ORT vs TF.js on every output of FlowSegModel.forward. */
function expectParity(out: FlowSegOutputs, ref: FlowSegOutputs): void {
  expect(Array.from(out.batchIndex)).toEqual(Array.from(ref.batchIndex));
  expect(Array.from(out.segIndex)).toEqual(Array.from(ref.segIndex));
  for (const key of ['lmLogits', 'classLogits', 'rawCandidateLogits', 'candidateLogits', 'queries', 'scores', 'selectedLogits', 'conditions'] as const) {
    expect(out[key].shape, key).toEqual(ref[key].shape);
    if (ref[key].size > 0) expect(relativeError(out[key], ref[key]), key).toBeLessThan(MASK_TOL);
  }
  expect(Array.from(out.conditionMask.dataSync())).toEqual(Array.from(ref.conditionMask.dataSync()));
  expect(Array.from(out.selectedIndex.dataSync())).toEqual(Array.from(ref.selectedIndex.dataSync()));
  expect(maskAgreement(out.selectedLogits, ref.selectedLogits)).toBeGreaterThanOrEqual(MASK_AGREEMENT);
}

/** Runs `texts` (random images from `seed`) through the runner and through `m.forward`; every output must agree. */
async function expectRunnerMatches(r: OnnxFlowSegRunner, m: FlowSegModel, texts: readonly string[], seed: number): Promise<void> {
  const inputs = batch([...texts], seed);
  const ref = m.forward(inputs);
  const out = await r.forward(inputs);
  expectParity(out, ref);
  disposeOutputs(out);
  disposeOutputs(ref);
  tf.dispose(inputs.images);
}

let model: FlowSegModel;
let models: FlowSegOnnxModels;
let runner: OnnxFlowSegRunner;

beforeAll(async () => {
  await selectBackend('wasm');
  model = tinyModel(3);
  models = exportFlowSegOnnx(model, { auxOutputs: true });
  runner = await OnnxFlowSegRunner.create(models, { intraOpNumThreads: 1 });
});

afterAll(async () => {
  await runner.release();
  model.dispose();
});

describe('exportFlowSegOnnx', () => {
  it('writes five graphs with checkpoint-named initializers and a manifest for the glue', () => {
    const weightNames = new Set(model.namedWeights().keys());
    for (const key of ['vision', 'languageModel', 'adapter', 'segmentor', 'decoder'] as const) {
      const graph = fieldsOf(decodeFields(models[key]), 7)[0]!.value as Uint8Array; // ModelProto.graph
      const initializers = fieldsOf(decodeFields(graph), 5).map((f) => text(fieldsOf(decodeFields(f.value as Uint8Array), 8)[0]));
      const weights = initializers.filter((n) => !n.startsWith('const_') && !n.includes('/'));
      expect(weights.length, key).toBeGreaterThan(0);
      for (const n of weights) expect(weightNames.has(n), `${key}: ${n}`).toBe(true);
    }
    expect(models.manifest).toMatchObject({
      format: 'flowseg-onnx',
      image: { height: 32, width: 32 },
      maskSize: [16, 16],
      numQueries: 8,
      specialTokens: { phraseStart: tokenizer.phraseStartId, phraseEnd: tokenizer.phraseEndId, seg: tokenizer.segId },
      bar: true,
      auxOutputs: true,
    });
    expect(() => exportFlowSegOnnx(model, { auxOutputs: 'yes' as unknown as boolean })).toThrow(ValueError);
  });

  it('is leak-free and deterministic (same weights → same bytes)', () => {
    const again = expectNoLeaks(() => exportFlowSegOnnx(model, { auxOutputs: true }));
    for (const key of ['vision', 'languageModel', 'adapter', 'segmentor', 'decoder'] as const) {
      expect(Buffer.from(again[key]).equals(Buffer.from(models[key])), key).toBe(true);
    }
  });

  it('writes a graph folder atomically and reads it back byte for byte', async () => {
    const root = await mkdtemp(join(tmpdir(), 'flowseg-onnx-'));
    const dir = join(root, 'tiny');
    await writeFlowSegOnnx(dir, models);
    expect((await readdir(dir)).sort()).toEqual(['adapter.onnx', 'decoder.onnx', 'language_model.onnx', 'manifest.json', 'segmentor.onnx', 'vision.onnx']);
    const back = await readFlowSegOnnx(dir);
    expect(back.manifest).toEqual(models.manifest);
    expect(Buffer.from(back.decoder).equals(Buffer.from(models.decoder))).toBe(true);
    await rm(root, { recursive: true, force: true });
  });
});

describe('OnnxFlowSegRunner', () => {
  it('equals FlowSegModel.forward on the same weights and inputs (batch 2: two phrases, two <SEG>s in one item)', async () => {
    const inputs = batch(['describe image <p> red ball </p> <SEG>', 'describe <p> blue cube </p> <p> small red ball </p> <SEG> <SEG>'], 1);
    const ref = model.forward(inputs);
    const out = await runner.forward(inputs);
    expect(out.candidateLogits.shape).toEqual([3, 8, 16, 16]);
    expectParity(out, ref);
    // Not a trivial agreement: the selected masks have both signs, BAR changed the candidates.
    const positive = tf.tidy(() => tf.mean(tf.cast(tf.greater(ref.selectedLogits, 0), 'float32')).dataSync()[0]!);
    expect(positive).toBeGreaterThan(0.05);
    expect(positive).toBeLessThan(0.95);
    expect(relativeError(ref.candidateLogits, ref.rawCandidateLogits)).toBeGreaterThan(1e-2);
    // Deep supervision: L predictions before the final one.
    expect(out.auxOutputs.length).toBe(3);
    out.auxOutputs.forEach((p, l) => {
      expect(relativeError(p.predLogits, ref.auxOutputs[l]!.predLogits)).toBeLessThan(MASK_TOL);
      expect(relativeError(p.predMasks, ref.auxOutputs[l]!.predMasks)).toBeLessThan(MASK_TOL);
    });
    disposeOutputs(out);
    disposeOutputs(ref);
    tf.dispose(inputs.images);
  });

  it('one runner serves batch sizes 1 and 3, items without <SEG> and without phrases', async () => {
    for (const [texts, seed] of [
      [['image <p> green square </p> <SEG>'], 2],
      [['describe the image', '<SEG>', '<p> red </p> <SEG> and <p> blue cube </p> <SEG>'], 3],
    ] as const) {
      await expectRunnerMatches(runner, model, texts, seed);
    }
  });

  it('a batch without any phrase (0 condition slots) and a batch without any <SEG> (0 targets)', async () => {
    const noPhrase = batch(['describe <SEG>', 'image <SEG> <SEG>'], 4);
    const ref = model.forward(noPhrase);
    const out = await runner.forward(noPhrase);
    expect(out.conditions.shape).toEqual([3, 0, 32]);
    expectParity(out, ref);
    disposeOutputs(out);
    disposeOutputs(ref);
    const noSeg = batch(['describe the image', '<p> red </p>'], 5);
    const ref2 = model.forward(noSeg);
    const out2 = await runner.forward(noSeg);
    expect(out2.candidateLogits.shape).toEqual([0, 8, 16, 16]);
    expect(out2.conditions.shape).toEqual(ref2.conditions.shape);
    expectParity(out2, ref2);
    disposeOutputs(out2);
    disposeOutputs(ref2);
    tf.dispose([noPhrase.images, noSeg.images]);
  });

  it('forward is leak-free; run takes typed images and returns typed arrays', async () => {
    const inputs = batch(['<p> red ball </p> <SEG>'], 6);
    const out = await expectNoLeaksAsync(() => runner.forward(inputs), { warmup: true });
    const typed = await runner.run({
      images: { dtype: 'float32', dims: inputs.images.shape, data: inputs.images.dataSync() as Float32Array },
      tokenIds: inputs.tokenIds,
    });
    expect(typed.selectedLogits.dims).toEqual([1, 16, 16]);
    expect(Array.from(typed.selectedLogits.data as Float32Array)).toEqual(Array.from(out.selectedLogits.dataSync()));
    disposeOutputs(out);
    tf.dispose(inputs.images);
  });

  it('rejects images of another size, out-of-vocabulary ids and a foreign manifest', async () => {
    const wrong = tf.zeros([1, 16, 16, 3]) as tf.Tensor4D;
    await expect(runner.forward({ images: wrong, tokenIds: [[1, 2]] })).rejects.toThrow(ShapeError);
    const images = tf.zeros([1, 32, 32, 3]) as tf.Tensor4D;
    await expect(runner.forward({ images, tokenIds: [[1, tokenizer.vocabSize]] })).rejects.toThrow(/outside \[0, /);
    await expect(runner.forward({ images, tokenIds: [[1, 2], [1, 2]] })).rejects.toThrow(ShapeError);
    await expect(OnnxFlowSegRunner.create({ ...models, manifest: { ...models.manifest, version: 2 as 1 } })).rejects.toThrow(ValueError);
    tf.dispose([wrong, images]);
  });

  it('ablation variant (SR only, no BAR), attention pooling, dynamic spatial axes, 2 threads: equals forward', async () => {
    const base = tinyModel(7, { adapter: { pooling: 'attention', projectionHiddenDim: 32 } });
    const variant = new FlowSegModel({ config: withAblation(base.config, 'sr'), tokenizer });
    base.dispose();
    const exported = exportFlowSegOnnx(variant, { dynamicSpatial: true });
    expect(exported.manifest.bar).toBe(false);
    const r = await OnnxFlowSegRunner.create(exported, { intraOpNumThreads: 2, concurrent: true });
    await expectRunnerMatches(r, variant, ['describe <p> red ball </p> <p> cube </p> <SEG>', '<p> blue </p> <SEG>'], 8);
    await r.release();
    variant.dispose();
  });

  it('a model with a candidate region encoder (images per target) and a lexical skip (token ids), dynamic spatial axes: equals forward', async () => {
    const regional = tinyModel(9, {
      selection: { projectionDim: 16, temperature: 0.07, regionCropSize: 8 },
      adapter: { pooling: 'mean', projectionHiddenDim: 32, separateProjections: false, lexicalSkip: true },
    });
    // Trained-looking gates: both extensions must move the outputs well above the tolerance.
    regional.namedWeights().get('region_encoder.gate')!.write(tf.tensor1d([2]));
    regional.namedWeights().get('lexical_skip.kernel')!.write(tf.randomNormal([32, 32], 0, 0.5, 'float32', 4));
    for (const dynamicSpatial of [false, true]) {
      const exported = exportFlowSegOnnx(regional, { dynamicSpatial });
      expect(exported.manifest.regionEncoder).toBe(true);
      expect(exported.manifest.lexicalSkip).toBe(true);
      const r = await OnnxFlowSegRunner.create(exported, { intraOpNumThreads: 1 });
      await expectRunnerMatches(r, regional, ['describe <p> red ball </p> <SEG>', '<p> blue cube </p> <p> ball </p> <SEG> <SEG>'], 10);
      await r.release();
    }
    expect(models.manifest.regionEncoder).toBe(false);
    expect(models.manifest.lexicalSkip).toBe(false);
    regional.dispose();
  });

  it('a model with a lexical selector and a copy head: scores and LM logits equal forward; attention pooling is refused', async () => {
    const lexical = tinyModel(11, {
      selection: { projectionDim: 16, temperature: 0.07, lexicalSelector: true },
      languageModel: { hiddenSize: 32, numLayers: 1, numHeads: 2, ffnSize: 64, maxPositions: 64, copyHeadDim: 8 },
    });
    // Trained-looking extensions: zero-initialized weights would not move the outputs.
    lexical.namedWeights().get('lexical_selector.word_kernel')!.write(tf.randomNormal([32, 16], 0, 0.5, 'float32', 5));
    lexical.namedWeights().get('language_model.copy_head.strength_bias')!.write(tf.tensor1d([2]));
    const exported = exportFlowSegOnnx(lexical);
    expect(exported.manifest.lexicalSelector).toBe(true);
    const r = await OnnxFlowSegRunner.create(exported, { intraOpNumThreads: 1 });
    await expectRunnerMatches(r, lexical, ['describe <p> red ball </p> <SEG>', '<p> blue cube </p> <p> ball </p> <SEG> <SEG>'], 12);
    await r.release();
    expect(models.manifest.lexicalSelector).toBe(false);
    lexical.dispose();
    const attention = tinyModel(12, { selection: { projectionDim: 16, temperature: 0.07, lexicalSelector: true }, adapter: { pooling: 'attention', projectionHiddenDim: 32, separateProjections: false } });
    expect(() => exportFlowSegOnnx(attention)).toThrow(/lexical selector with 'attention'/);
    attention.dispose();
  });

  it('a model with object tokens (segmentor → object tokens → language model) and a region encoder: equals forward, fixed and dynamic spatial axes', async () => {
    const objects = tinyModel(13, {
      attributeClasses: [3, 2],
      selection: { projectionDim: 16, temperature: 0.07, regionCropSize: 8 },
      languageModel: { hiddenSize: 32, numLayers: 2, numHeads: 2, ffnSize: 64, maxPositions: 64, objectTokens: true },
    });
    objects.namedWeights().get('region_encoder.gate')!.write(tf.tensor1d([2]));
    for (const dynamicSpatial of [false, true]) {
      const exported = exportFlowSegOnnx(objects, { dynamicSpatial });
      expect(exported.manifest.objectTokens).toBe(true);
      const r = await OnnxFlowSegRunner.create(exported, { intraOpNumThreads: 1, concurrent: true });
      await expectRunnerMatches(r, objects, ['describe <p> red ball </p> <SEG>', '<p> blue cube </p> <p> ball </p> <SEG> <SEG>'], 14);
      await r.release();
    }
    expect(models.manifest.objectTokens).toBe(false);
    objects.dispose();
  });

  it('the same API runs on onnxruntime-web (WebAssembly) with the same results', async () => {
    const web = await OnnxFlowSegRunner.create(models, { runtime: 'web', intraOpNumThreads: 1 });
    expect(web.runtime).toBe('web');
    await expectRunnerMatches(web, model, ['describe <p> red ball </p> <SEG>'], 9);
    await web.release();
  });
});
