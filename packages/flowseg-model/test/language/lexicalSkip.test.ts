import { describe, it, expect, beforeAll } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { ShapeError, selectBackend } from '@flowseg/core';
import { expectNoLeaks } from '@flowseg/core/testing';
import { LexicalSkip, disposeFlowSegOutputs, extendFlowSegModel, resolveFlowSegConfig } from '../../src/index.js';
import { reloadThroughCheckpoint } from '../support/checkpointRoundTrip.js';
import { tinyModel } from '../support/tinyFlowSeg.js';

describe('LexicalSkip', () => {
  beforeAll(async () => {
    await selectBackend('wasm', { wasmThreads: 1 });
  });

  it('H + E·W with hand values; W starts at 0 and gets the gradient Σ_t E_tᵀ ∂L/∂H′_t; shapes checked', () => {
    const skip = new LexicalSkip({ hiddenSize: 2 });
    const h = tf.tensor3d([[[1, 2], [3, 4]]]);
    const e = tf.tensor3d([[[10, 20], [30, 40]]]);
    const zero = expectNoLeaks(() => skip.forward({ hiddenStates: h, tokenEmbeddings: e }), { warmup: true });
    expect(Array.from(zero.dataSync())).toEqual([1, 2, 3, 4]);
    const kernel = skip.namedWeights().get('kernel')!;
    // L = Σ H′ ⇒ ∂L/∂H′ = 1 ⇒ ∂L/∂W[i][j] = Σ_t E_t,i = [40, 60] per row i.
    const g = tf.variableGrads(() => tf.sum(skip.forward({ hiddenStates: h, tokenEmbeddings: e })) as tf.Scalar);
    expect(g.grads[kernel.name]!.arraySync()).toEqual([[40, 40], [60, 60]]);
    kernel.write(tf.tensor2d([[0.5, 0], [1, -1]]));
    const y = skip.forward({ hiddenStates: h, tokenEmbeddings: e });
    // E·W: [10·0.5 + 20·1, −20] = [25, −20]; [30·0.5 + 40·1, −40] = [55, −40].
    expect(Array.from(y.dataSync())).toEqual([1 + 25, 2 - 20, 3 + 55, 4 - 40]);
    const wide = tf.zeros([1, 2, 3]) as tf.Tensor3D;
    expect(() => skip.forward({ hiddenStates: h, tokenEmbeddings: wide })).toThrow(ShapeError);
    expect(skip.getConfig()).toMatchObject({ hiddenSize: 2 });
    tf.dispose([h, e, zero, y, wide, g.value, ...Object.values(g.grads)]);
    skip.dispose();
  });

  it('in the model: off by default, validated; extended model unchanged at W = 0; then only the conditions move; checkpoint round trip', async () => {
    expect(() => resolveFlowSegConfig({ adapter: { lexicalSkip: 'yes' as unknown as boolean } })).toThrow(/adapter.lexicalSkip: expected a boolean/);
    const plain = tinyModel({ seed: 4 });
    expect(plain.lexicalSkip).toBeNull();
    const tokenizer = plain.tokenizer;
    const ids = [[...tokenizer.encode('segment the red circle', { addBos: true }), ...tokenizer.encode('<p> the red circle </p> <SEG>', { addEos: true })]];
    const images = tf.randomUniform([1, 32, 32, 3], 0, 1, 'float32', 8) as tf.Tensor4D;
    const a = plain.forward({ images, tokenIds: ids });
    const { model, added } = extendFlowSegModel(plain, { adapter: { lexicalSkip: true } });
    expect(added).toEqual(['lexical_skip.kernel']);
    const b = model.forward({ images, tokenIds: ids });
    expect(Array.from(b.conditions.dataSync())).toEqual(Array.from(a.conditions.dataSync()));
    expect(Array.from(b.scores.dataSync())).toEqual(Array.from(a.scores.dataSync()));
    const d = model.config.languageModel.hiddenSize;
    const w = tf.randomNormal([d, d], 0, 0.3, 'float32', 9) as tf.Tensor2D;
    model.lexicalSkip!.namedWeights().get('kernel')!.write(w);
    // adapterHiddenStates = H + (embedding rows of the ids)·W, the rows read from the table directly.
    const idTensor = tf.tensor2d(ids, undefined, 'int32');
    const hidden = model.languageModel.hiddenStates({ imageTokens: model.visionEncoder.forward(images).tokens, tokenIds: idTensor });
    const table = model.languageModel.namedWeights().get('embed_tokens.weight')!.read().arraySync() as number[][];
    const expected = tf.add(hidden, tf.expandDims(tf.matMul(tf.tensor2d(ids[0]!.map((id) => table[id]!)), w), 0));
    const got = model.adapterHiddenStates(hidden, idTensor);
    expect(Math.max(...Array.from(tf.abs(tf.sub(got, expected)).dataSync()))).toBeLessThan(1e-5);
    const c = model.forward({ images, tokenIds: ids });
    expect(Array.from(c.lmLogits.dataSync())).toEqual(Array.from(a.lmLogits.dataSync()));
    expect(Array.from(c.conditions.dataSync())).not.toEqual(Array.from(a.conditions.dataSync()));
    const loaded = await reloadThroughCheckpoint(model);
    expect(loaded.config.adapter.lexicalSkip).toBe(true);
    const reloaded = loaded.forward({ images, tokenIds: ids });
    expect(Array.from(reloaded.conditions.dataSync())).toEqual(Array.from(c.conditions.dataSync()));
    disposeFlowSegOutputs(reloaded);
    loaded.dispose();
    for (const out of [a, b, c]) disposeFlowSegOutputs(out);
    tf.dispose([images, idTensor, hidden, expected, got, w]);
    model.dispose();
    plain.dispose();
  });
});
