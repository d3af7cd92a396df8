import { describe, it, expect, beforeAll } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { ShapeError, ValueError, selectBackend } from '@flowseg/core';
import { expectNoLeaks } from '@flowseg/core/testing';
import { ObjectTokenEncoder, disposeFlowSegOutputs, extendFlowSegModel, resolveFlowSegConfig, segment } from '../../src/index.js';
import { reloadThroughCheckpoint } from '../support/checkpointRoundTrip.js';
import { gradientMagnitudes, roundTrip } from '../support/layers.js';
import { tinyModel } from '../support/tinyFlowSeg.js';

beforeAll(async () => {
  await selectBackend('wasm', { wasmThreads: 1 });
});

describe('ObjectTokenEncoder', () => {
  it('features = [attribute softmaxes, objectness, centroid, √area] with hand values; gradient; round trip; shape errors; no leaks', () => {
    const enc = new ObjectTokenEncoder({ tokenDim: 8, classes: [2, 2], seed: 3 });
    expect(enc.featureCount).toBe(8);
    // Identity projection: the tokens are the features themselves.
    enc.namedWeights().get('proj.kernel')!.write(tf.eye(8));
    enc.namedWeights().get('proj.bias')!.write(tf.zeros([8]));
    const ln = Math.log;
    const inputs = {
      attributeLogits: [tf.tensor3d([[[0, 0], [ln(3), 0]]]), tf.tensor3d([[[ln(3), 0], [0, 0]]])],
      objectLogits: tf.tensor3d([[[0, 0], [ln(4), 0]]]),
      // Object 0: only the top-right pixel is on; object 1: σ = 0.5 everywhere.
      maskLogits: tf.tensor4d([[[[-40, 40], [-40, -40]], [[0, 0], [0, 0]]]]),
    };
    const y = expectNoLeaks(() => enc.forward(inputs), { warmup: true });
    expect(y.shape).toEqual([1, 2, 8]);
    const [o0, o1] = (y.arraySync() as number[][][])[0]!;
    // Object 0: softmaxes [.5 .5] [.75 .25]; p = .5; centroid of pixel (row 0, col 1) = (0.75, 0.25); √(1/4).
    const want0 = [0.5, 0.5, 0.75, 0.25, 0.5, 0.75, 0.25, 0.5];
    // Object 1: [.75 .25] [.5 .5]; p = 4/5; uniform mask → centroid (0.5, 0.5); √(2/4).
    const want1 = [0.75, 0.25, 0.5, 0.5, 0.8, 0.5, 0.5, Math.SQRT1_2];
    o0!.forEach((v, i) => expect(v, `object 0 feature ${i}`).toBeCloseTo(want0[i]!, 5));
    o1!.forEach((v, i) => expect(v, `object 1 feature ${i}`).toBeCloseTo(want1[i]!, 5));
    const grads = gradientMagnitudes(enc, () => tf.sum(tf.mul(enc.forward(inputs), tf.linspace(-1, 1, 8))) as tf.Scalar);
    for (const [k, g] of grads) expect(g, k).toBeGreaterThan(0);
    const copy = roundTrip(enc);
    expect(copy.getConfig()).toEqual(enc.getConfig());
    const y2 = copy.forward(inputs);
    expect(Array.from(y2.dataSync())).toEqual(Array.from(y.dataSync()));
    expect(() => enc.forward({ ...inputs, attributeLogits: [inputs.attributeLogits[0]!] })).toThrow(/attributeLogits: expected 2 tensors/);
    expect(() => enc.forward({ ...inputs, attributeLogits: [inputs.attributeLogits[0]!, tf.zeros([1, 2, 3]) as tf.Tensor3D] })).toThrow(ShapeError);
    expect(() => enc.forward({ ...inputs, objectLogits: tf.zeros([1, 3, 2]) as tf.Tensor3D })).toThrow(/objects/);
    expect(() => new ObjectTokenEncoder({ tokenDim: 8, classes: [1, 2] })).toThrow(ValueError);
    tf.dispose([y, y2, ...inputs.attributeLogits, inputs.objectLogits, inputs.maskLogits]);
    enc.dispose();
    copy.dispose();
  });

  it('in the model: needs attributeClasses; the prefix is image tokens then the condition-free pass\'s object tokens; forward, segment and a checkpoint round trip use it', async () => {
    expect(() => resolveFlowSegConfig({ languageModel: { objectTokens: true } })).toThrow(/languageModel.objectTokens: .*attributeClasses/);
    expect(() => resolveFlowSegConfig({ languageModel: { objectTokens: 'yes' as unknown as boolean }, attributeClasses: [2, 2] })).toThrow(/expected a boolean/);
    // BAR off: the segmentor's masks are then the raw masks the object tokens read.
    const plain = tinyModel({ seed: 7, attributeClasses: [3, 2], bar: { enabled: false } });
    expect(plain.objectTokens).toBeNull();
    const { model, added } = extendFlowSegModel(plain, { languageModel: { objectTokens: true } });
    expect([...added].sort()).toEqual(['object_tokens.proj.bias', 'object_tokens.proj.kernel']);
    const n = model.config.decoder.numQueries;
    expect(model.numPrefixTokens).toBe(plain.numPrefixTokens + n);
    const images = tf.randomUniform([2, 32, 32, 3], 0, 1, 'float32', 4) as tf.Tensor4D;
    const prefix = expectNoLeaks(() => model.languagePrefix(images), { warmup: true });
    expect(prefix.shape).toEqual([2, model.numPrefixTokens, model.config.languageModel.hiddenSize]);
    // Re-derive: image tokens, then the encoder over the segmentor's (condition-free) outputs.
    const expected = tf.tidy(() => {
      const seg = model.segmentorForward(images);
      const flat = tf.reshape(seg.queries, [2 * n, -1]) as tf.Tensor2D;
      const attributeLogits = model.attributeHead!.forward(flat).map((l) => tf.reshape(l, [2, n, l.shape[1]]) as tf.Tensor3D);
      const objects = model.objectTokens!.forward({ attributeLogits, objectLogits: seg.predLogits, maskLogits: seg.predMasks });
      return tf.concat([model.visionEncoder.forward(images).tokens, objects], 1);
    });
    expect(tf.tidy(() => tf.max(tf.abs(tf.sub(prefix, expected))).dataSync()[0])).toBeLessThan(1e-5);
    // The object tokens change what the language model sees, so the answers' logits move.
    const tok = model.tokenizer;
    const ids = [0, 1].map(() => [...tok.encode('segment the red circle', { addBos: true }), ...tok.encode('<p> the red circle </p> <SEG>', { addEos: true })]);
    const a = plain.forward({ images, tokenIds: ids });
    const b = model.forward({ images, tokenIds: ids });
    expect(tf.tidy(() => tf.max(tf.abs(tf.sub(a.lmLogits, b.lmLogits))).dataSync()[0])).toBeGreaterThan(1e-4);
    // A prefix computed once (as generation does) gives forward's own result.
    const reused = model.forward({ images, tokenIds: ids, languagePrefix: prefix });
    for (const k of ['lmLogits', 'scores', 'candidateLogits'] as const) {
      expect(Array.from(reused[k].dataSync())).toEqual(Array.from(b[k].dataSync()));
    }
    const first = tf.tidy(() => tf.squeeze(tf.slice(images, [0, 0, 0, 0], [1, -1, -1, -1]), [0]) as tf.Tensor3D);
    const before = tf.memory().numTensors;
    const result = await segment(model, first, 'the red circle', { maxNewTokens: 4 });
    expect(tf.memory().numTensors).toBe(before);
    expect(result.answerSource).toBe('generated');
    const loaded = await reloadThroughCheckpoint(model);
    expect(loaded.config.languageModel.objectTokens).toBe(true);
    const reloaded = loaded.languagePrefix(images);
    expect(Array.from(reloaded.dataSync())).toEqual(Array.from(prefix.dataSync()));
    for (const out of [a, b, reused]) disposeFlowSegOutputs(out);
    tf.dispose([images, first, prefix, expected, reloaded]);
    for (const m of [plain, model, loaded]) m.dispose();
  });
});
