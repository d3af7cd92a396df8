import { describe, it, expect, beforeAll } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ShapeError, selectBackend } from '@flowseg/core';
import { expectNoLeaks } from '@flowseg/core/testing';
import { LexicalSkip, disposeFlowSegOutputs, extendFlowSegModel, resolveFlowSegConfig } from '../../src/index.js';
import { loadCheckpoint, saveCheckpoint } from '../../src/node/index.js';
import { tinyModel } from '../support/tinyFlowSeg.js';

describe('LexicalSkip', () => {
  beforeAll(async () => {
    await selectBackend('wasm', { wasmThreads: 1 });
  });

  it('H + g ⊙ (√hidden · E) with hand values; g starts at 0 and gets a gradient; shapes checked', () => {
    const skip = new LexicalSkip({ hiddenSize: 2 });
    const h = tf.tensor3d([[[1, 2], [3, 4]]]);
    const e = tf.tensor3d([[[10, 20], [30, 40]]]);
    const zero = expectNoLeaks(() => skip.forward({ hiddenStates: h, tokenEmbeddings: e }), { warmup: true });
    expect(Array.from(zero.dataSync())).toEqual([1, 2, 3, 4]);
    const gate = skip.namedWeights().get('gate')!;
    const g = tf.variableGrads(() => tf.sum(skip.forward({ hiddenStates: h, tokenEmbeddings: e })) as tf.Scalar);
    // d/dg = √2 · Σ_tokens E per channel.
    Array.from(g.grads[gate.name]!.dataSync()).forEach((v, i) => expect(v).toBeCloseTo(Math.SQRT2 * [40, 60][i]!, 4));
    gate.write(tf.tensor1d([0.5, -1]));
    const y = skip.forward({ hiddenStates: h, tokenEmbeddings: e });
    const r = Math.SQRT2;
    Array.from(y.dataSync()).forEach((v, i) => expect(v).toBeCloseTo([1 + 5 * r, 2 - 20 * r, 3 + 15 * r, 4 - 40 * r][i]!, 4));
    const wide = tf.zeros([1, 2, 3]) as tf.Tensor3D;
    expect(() => skip.forward({ hiddenStates: h, tokenEmbeddings: wide })).toThrow(ShapeError);
    expect(skip.getConfig()).toMatchObject({ hiddenSize: 2 });
    tf.dispose([h, e, zero, y, wide, g.value, ...Object.values(g.grads)]);
    skip.dispose();
  });

  it('in the model: off by default, validated; extended model unchanged at g = 0; then only the conditions move; checkpoint round trip', async () => {
    expect(() => resolveFlowSegConfig({ adapter: { lexicalSkip: 'yes' as unknown as boolean } })).toThrow(/adapter.lexicalSkip: expected a boolean/);
    const plain = tinyModel({ seed: 4 });
    expect(plain.lexicalSkip).toBeNull();
    const tokenizer = plain.tokenizer;
    const ids = [[...tokenizer.encode('segment the red circle', { addBos: true }), ...tokenizer.encode('<p> the red circle </p> <SEG>', { addEos: true })]];
    const images = tf.randomUniform([1, 32, 32, 3], 0, 1, 'float32', 8) as tf.Tensor4D;
    const a = plain.forward({ images, tokenIds: ids });
    const { model, added } = extendFlowSegModel(plain, { adapter: { lexicalSkip: true } });
    expect(added).toEqual(['lexical_skip.gate']);
    const b = model.forward({ images, tokenIds: ids });
    expect(Array.from(b.conditions.dataSync())).toEqual(Array.from(a.conditions.dataSync()));
    expect(Array.from(b.scores.dataSync())).toEqual(Array.from(a.scores.dataSync()));
    model.lexicalSkip!.namedWeights().get('gate')!.write(tf.fill([model.config.languageModel.hiddenSize], 0.7));
    // adapterHiddenStates = H + 0.7 · √hidden · (embedding rows of the ids), the rows read from the table directly.
    const idTensor = tf.tensor2d(ids, undefined, 'int32');
    const hidden = model.languageModel.hiddenStates({ imageTokens: model.visionEncoder.forward(images).tokens, tokenIds: idTensor });
    const table = model.languageModel.namedWeights().get('embed_tokens.weight')!.read().arraySync() as number[][];
    const expected = tf.add(hidden, tf.mul(tf.tensor3d([ids[0]!.map((id) => table[id]!)]), 0.7 * Math.sqrt(model.config.languageModel.hiddenSize)));
    const got = model.adapterHiddenStates(hidden, idTensor);
    expect(Math.max(...Array.from(tf.abs(tf.sub(got, expected)).dataSync()))).toBeLessThan(1e-5);
    const c = model.forward({ images, tokenIds: ids });
    expect(Array.from(c.lmLogits.dataSync())).toEqual(Array.from(a.lmLogits.dataSync()));
    expect(Array.from(c.conditions.dataSync())).not.toEqual(Array.from(a.conditions.dataSync()));
    const dir = await mkdtemp(join(tmpdir(), 'flowseg-lexical-'));
    try {
      await saveCheckpoint(model, dir);
      const loaded = await loadCheckpoint(dir);
      expect(loaded.config.adapter.lexicalSkip).toBe(true);
      const d = loaded.forward({ images, tokenIds: ids });
      expect(Array.from(d.conditions.dataSync())).toEqual(Array.from(c.conditions.dataSync()));
      disposeFlowSegOutputs(d);
      loaded.dispose();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
    for (const out of [a, b, c]) disposeFlowSegOutputs(out);
    tf.dispose([images, idTensor, hidden, expected, got]);
    model.dispose();
    plain.dispose();
  });
});
