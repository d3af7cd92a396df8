import { describe, it, expect, beforeAll } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { ShapeError, selectBackend } from '@flowseg/core';
import { expectNoLeaks } from '@flowseg/core/testing';
import { LexicalSelector, disposeFlowSegOutputs, extendFlowSegModel, resolveFlowSegConfig } from '../../src/index.js';
import { reloadThroughCheckpoint } from '../support/checkpointRoundTrip.js';
import { gradientMagnitudes, roundTrip } from '../support/layers.js';
import { tinyModel } from '../support/tinyFlowSeg.js';

beforeAll(async () => {
  await selectBackend('wasm', { wasmThreads: 1 });
});

describe('LexicalSelector', () => {
  it('(Q·W_q + b_q)·(w̄·W_w)/√P with hand values; zero at init; W_w gets a gradient first; shapes checked; no leaks', () => {
    const sel = new LexicalSelector({ queryDim: 2, wordDim: 3, projectionDim: 4, seed: 1 });
    const queries = tf.tensor3d([[[1, 0], [0, 2], [1, -1]]]); // 1 target, 3 candidates
    const words = tf.tensor2d([[1, 2, -1]]);
    const zero = expectNoLeaks(() => sel.forward({ queries, words }), { warmup: true });
    expect(Array.from(zero.dataSync())).toEqual([0, 0, 0]);
    const first = gradientMagnitudes(sel, () => tf.sum(tf.mul(sel.forward({ queries, words }), tf.tensor1d([1, -2, 0.5]))) as tf.Scalar);
    expect(first.get('word_kernel')).toBeGreaterThan(0);
    expect(first.get('query_proj.kernel')).toBe(0);
    const named = sel.namedWeights();
    const wq = [[1, 0, 2, 0], [0, 1, 0, -1]];
    const bq = [0.5, 0, 0, 1];
    const ww = [[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 1]];
    named.get('query_proj.kernel')!.write(tf.tensor2d(wq));
    named.get('query_proj.bias')!.write(tf.tensor1d(bq));
    named.get('word_kernel')!.write(tf.tensor2d(ww));
    // w̄·W_w = [1, 2, −1, −1]; /√4 = [0.5, 1, −0.5, −0.5].
    // Q·W_q + b: [1,0] → [1.5, 0, 2, 1]; [0,2] → [0.5, 2, 0, −1]; [1,−1] → [1.5, −1, 2, 2].
    // Scores: 0.75 + 0 − 1 − 0.5 = −0.75; 0.25 + 2 + 0 + 0.5 = 2.75; 0.75 − 1 − 1 − 1 = −2.25.
    const y = sel.forward({ queries, words });
    expect(Array.from(y.dataSync())).toEqual([-0.75, 2.75, -2.25]);
    const second = gradientMagnitudes(sel, () => tf.sum(sel.forward({ queries, words })) as tf.Scalar);
    for (const [k, g] of second) expect(g, k).toBeGreaterThan(0);
    const copy = roundTrip(sel);
    expect(copy.getConfig()).toEqual(sel.getConfig());
    const y2 = copy.forward({ queries, words });
    expect(Array.from(y2.dataSync())).toEqual(Array.from(y.dataSync()));
    expect(() => sel.forward({ queries, words: tf.zeros([1, 2]) as tf.Tensor2D })).toThrow(ShapeError);
    expect(() => sel.forward({ queries, words: tf.zeros([2, 3]) as tf.Tensor2D })).toThrow(/targets/);
    expect(() => new LexicalSelector({ queryDim: 2, wordDim: 0, projectionDim: 4 })).toThrow(/wordDim/);
    tf.dispose([queries, words, zero, y, y2]);
    sel.dispose();
    copy.dispose();
  });

  it('in the model: validated; extension selects as before; then scores = selector + lexical score of the mean phrase embedding; round trip', async () => {
    expect(() => resolveFlowSegConfig({ selection: { lexicalSelector: 1 as unknown as boolean } })).toThrow(/selection.lexicalSelector: expected a boolean/);
    const plain = tinyModel({ seed: 5 });
    expect(plain.lexicalSelector).toBeNull();
    const { model, added } = extendFlowSegModel(plain, { selection: { lexicalSelector: true } });
    expect([...added].sort()).toEqual(['lexical_selector.query_proj.bias', 'lexical_selector.query_proj.kernel', 'lexical_selector.word_kernel']);
    const tok = plain.tokenizer;
    // Item 0: one phrase + <SEG>; item 1: <SEG> without a phrase (its lexical score must be 0).
    const ids = [
      [...tok.encode('segment the red circle', { addBos: true }), ...tok.encode('<p> the red circle </p> <SEG>', { addEos: true })],
      [...tok.encode('segment it', { addBos: true }), ...tok.encode('<SEG>', { addEos: true })],
    ];
    const width = Math.max(...ids.map((r) => r.length));
    const padded = ids.map((r) => [...new Array<number>(width - r.length).fill(tok.padId), ...r]);
    const attentionMask = ids.map((r) => [...new Array<number>(width - r.length).fill(0), ...r.map(() => 1)]);
    const images = tf.randomUniform([2, 32, 32, 3], 0, 1, 'float32', 8) as tf.Tensor4D;
    const a = plain.forward({ images, tokenIds: padded, attentionMask });
    const b = model.forward({ images, tokenIds: padded, attentionMask });
    expect(Array.from(b.scores.dataSync())).toEqual(Array.from(a.scores.dataSync()));
    const wk = model.lexicalSelector!.namedWeights().get('word_kernel')!;
    wk.write(tf.randomNormal(wk.shape as number[], 0, 0.5, 'float32', 3));
    const c = model.forward({ images, tokenIds: padded, attentionMask });
    // Re-derive: the phrase "<p> the red circle </p>" pooled like the adapter pools it, over E(tokens).
    const words = tf.tidy(() => {
      const idT = tf.tensor2d(padded, undefined, 'int32');
      const pooled = model.adapter.pool({ tokenIds: idT, hiddenStates: model.languageModel.embedTokens(idT), attentionMask: tf.tensor2d(attentionMask, undefined, 'int32') });
      const w0 = tf.reshape(tf.slice(pooled.phraseStates, [0, 0, 0], [1, 1, -1]), [1, -1]);
      return tf.concat([w0, tf.zerosLike(w0)]) as tf.Tensor2D;
    });
    const lexical = model.lexicalSelector!.forward({ queries: c.queries, words });
    const expected = tf.add(a.scores, lexical);
    expect(tf.tidy(() => tf.max(tf.abs(tf.sub(c.scores, expected))).dataSync()[0])).toBeLessThan(1e-5);
    const lex = lexical.arraySync();
    expect(Math.max(...lex[0]!.map(Math.abs))).toBeGreaterThan(1e-3);
    expect(lex[1]!.every((v) => v === 0)).toBe(true);
    const loaded = await reloadThroughCheckpoint(model);
    expect(loaded.config.selection.lexicalSelector).toBe(true);
    const d = loaded.forward({ images, tokenIds: padded, attentionMask });
    expect(Array.from(d.scores.dataSync())).toEqual(Array.from(c.scores.dataSync()));
    for (const out of [a, b, c, d]) disposeFlowSegOutputs(out);
    tf.dispose([images, words, lexical, expected]);
    for (const m of [plain, model, loaded]) m.dispose();
  });
});
