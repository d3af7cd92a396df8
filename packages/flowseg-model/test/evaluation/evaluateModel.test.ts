import { describe, it, expect, beforeAll } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '@flowseg/core';
import { refsegExamples, segment, type FlowSegModel } from '../../src/index.js';
import { evaluateModel } from '../../src/evaluation/evaluateModel.js';
import { tinyModel } from '../support/tinyFlowSeg.js';
import { withSyncReadsRefused } from '../support/syncReads.js';

beforeAll(async () => {
  await selectBackend('wasm', { wasmThreads: 1 });
});

/** A tiny model whose language model emits `token` at every step (a constant argmax). */
function modelThatAlwaysSays(token: 'phraseStartId' | 'segId'): FlowSegModel {
  const model = tinyModel();
  const w = model.namedWeights();
  const id = model.tokenizer[token];
  const embed = w.get('language_model.embed_tokens.weight')!;
  const table = embed.read().arraySync() as number[][];
  table[id] = table[id]!.map((v) => v * 10);
  embed.write(tf.tensor2d(table));
  const norm = w.get('language_model.norm.weight')!;
  norm.write(tf.zerosLike(norm.read()));
  w.get('language_model.norm.bias')!.write(tf.tensor1d(table[id]!));
  return model;
}

describe('evaluateModel with generated answers', () => {
  it('scores malformed generated answers (nested, unclosed <p>) as segment() would, without throwing', async () => {
    const model = modelThatAlwaysSays('phraseStartId');
    const examples = refsegExamples('test', { attribute: 1 }, 0, 2, { width: 32, height: 32 });
    const before = tf.memory().numTensors;
    const result = await evaluateModel(model, examples, { maxNewTokens: 3 });
    expect(tf.memory().numTensors).toBe(before);
    // "<p> <p> <p>" repaired: each phrase closed before the next and at the end; no <SEG>, so
    // nothing is predicted and every non-empty target scores 0.
    const expected = (await segment(model, { rgb: examples[0]!.image, width: 32, height: 32 }, examples[0]!.prompt, { maxNewTokens: 3 })).answer;
    expect(result.samples.map((s) => s.answer)).toEqual([expected, expected]);
    expect(expected).toBe('<p> </p> <p> </p> <p> </p>');
    expect(result.samples.every((s) => !s.targetCountCorrect && s.iou === 0)).toBe(true);
    expect(result.metrics.cIoU).toBe(0);
    model.dispose();
  });

  it('a generated <SEG> per step yields one predicted target each (the union is scored)', async () => {
    const model = modelThatAlwaysSays('segId');
    const examples = refsegExamples('test', { attribute: 1 }, 0, 1, { width: 32, height: 32 });
    const result = await evaluateModel(model, examples, { maxNewTokens: 2 });
    expect(result.samples[0]!.answer).toBe('<SEG> <SEG>');
    expect(result.samples[0]!.targetCountCorrect).toBe(false);
    expect(Number.isFinite(result.metrics.cIoU)).toBe(true);
    model.dispose();
  });

  it('never reads a tensor synchronously (as on webgpu in Node), with the same results as before', async () => {
    const model = tinyModel();
    const examples = refsegExamples('test', { attribute: 1, reasoning: 1 }, 0, 2, { width: 32, height: 32 });
    const reference = await evaluateModel(model, examples, { maxNewTokens: 4 });
    const { result, refused } = await withSyncReadsRefused(() => evaluateModel(model, examples, { maxNewTokens: 4 }));
    expect(result.samples.map((s) => s.answer)).toEqual(reference.samples.map((s) => s.answer));
    expect(result.metrics).toEqual(reference.metrics);
    expect(refused).toBe(0);
    await expect(evaluateModel(model, examples, { maxNewTokens: 1000 })).rejects.toThrow(/maxNewTokens: 1000 new tokens .* exceed maxPositions/);
    await expect(evaluateModel(model, examples, { maxNewTokens: 0 })).rejects.toThrow(/maxNewTokens/);
    model.dispose();
  });
});
