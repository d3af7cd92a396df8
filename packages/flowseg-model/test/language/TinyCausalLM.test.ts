import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { DTypeError, ShapeError, ValueError, selectBackend } from '@flowseg/core';
import { expectNoLeaks } from '@flowseg/core/testing';
import { TinyCausalLM, WordTokenizer } from '../../src/components.js';
import { gradientMagnitudes, maxAbsDiff, roundTrip, weightValues } from '../support/layers.js';

const V = 20;
const D = 32;

function smallLM(extra: Partial<ConstructorParameters<typeof TinyCausalLM>[0]> = {}): TinyCausalLM {
  return new TinyCausalLM({ vocabSize: V, hiddenSize: D, numLayers: 2, numHeads: 4, maxPositions: 24, seed: 3, ...extra });
}

function ids(rows: number[][]): tf.Tensor2D {
  return tf.tensor2d(rows, undefined, 'int32');
}

describe('TinyCausalLM', () => {
  let image: tf.Tensor3D;
  beforeAll(async () => {
    await selectBackend('wasm');
    image = tf.randomNormal([2, 3, D], 0, 1, 'float32', 11) as tf.Tensor3D;
  });
  afterAll(() => image.dispose());

  it('returns hidden states and logits aligned to the text tokens', () => {
    const lm = smallLM();
    const tokenIds = ids([
      [1, 5, 6, 7, 2],
      [1, 8, 9, 2, 0],
    ]);
    const out = expectNoLeaks(() => lm.forward({ imageTokens: image, tokenIds }), { warmup: true });
    expect(out.hiddenStates.shape).toEqual([2, 5, D]);
    expect(out.hiddenStates.dtype).toBe('float32');
    expect(out.logits.shape).toEqual([2, 5, V]);
    expect(out.logits.dtype).toBe('float32');
    const hidden = expectNoLeaks(() => lm.hiddenStates({ imageTokens: image, tokenIds }));
    const logits = expectNoLeaks(() => lm.logits({ imageTokens: image, tokenIds }));
    expect(maxAbsDiff(hidden, out.hiddenStates)).toBe(0);
    expect(maxAbsDiff(logits, out.logits)).toBe(0);
    // Tied head: logits = hidden · Eᵀ, re-derived here from the named weight.
    const table = lm.namedWeights().get('embed_tokens.weight')!.read();
    const ref = tf.tidy(() => tf.reshape(tf.matMul(tf.reshape(hidden, [10, D]), tf.transpose(table)), [2, 5, V]));
    expect(maxAbsDiff(ref, logits)).toBeLessThan(1e-5);
    // Final norm: every hidden row has mean 0 and unit variance (γ=1, β=0 at init).
    const rowMean = tf.tidy(() => tf.max(tf.abs(tf.mean(hidden, -1))).dataSync()[0]!);
    expect(rowMean).toBeLessThan(1e-5);
    tf.dispose([out.hiddenStates, out.logits, hidden, logits, ref, tokenIds]);
  });

  it('is causal: a later token never changes an earlier position', () => {
    const lm = smallLM();
    const a = ids([[1, 5, 6, 7, 8, 2]]);
    const b = ids([[1, 5, 6, 12, 8, 2]]); // differs at t = 3
    const img = tf.slice(image, [0, 0, 0], [1, 3, D]) as tf.Tensor3D;
    const ha = lm.hiddenStates({ imageTokens: img, tokenIds: a });
    const hb = lm.hiddenStates({ imageTokens: img, tokenIds: b });
    const diffAt = (t: number) =>
      maxAbsDiff(tf.slice(ha, [0, t, 0], [1, 1, D]), tf.slice(hb, [0, t, 0], [1, 1, D]));
    for (const t of [0, 1, 2]) expect(diffAt(t)).toBeLessThan(1e-6);
    for (const t of [3, 4, 5]) expect(diffAt(t)).toBeGreaterThan(1e-3);
    // The image prefix is visible to every text position.
    const img2 = tf.add(img, tf.randomNormal(img.shape, 0, 1, 'float32', 4)) as tf.Tensor3D;
    const hc = lm.hiddenStates({ imageTokens: img2, tokenIds: a });
    expect(maxAbsDiff(tf.slice(ha, [0, 0, 0], [1, 1, D]), tf.slice(hc, [0, 0, 0], [1, 1, D]))).toBeGreaterThan(1e-3);
    tf.dispose([a, b, img, img2, ha, hb, hc]);
  });

  it('treats a left-padded row exactly like the unpadded sequence', () => {
    const lm = smallLM();
    const img = tf.slice(image, [0, 0, 0], [1, 3, D]) as tf.Tensor3D;
    const alone = lm.hiddenStates({ imageTokens: img, tokenIds: ids([[1, 5, 6]]) });
    const padded = lm.hiddenStates({
      imageTokens: img,
      tokenIds: ids([[0, 0, 1, 5, 6]]),
      attentionMask: ids([[0, 0, 1, 1, 1]]),
    });
    expect(maxAbsDiff(alone, tf.slice(padded, [0, 2, 0], [1, 3, D]))).toBeLessThan(1e-5);
    // Text-only and right padding: real positions are untouched by the pads.
    const right = lm.hiddenStates({ tokenIds: ids([[1, 5, 6, 0, 0]]), attentionMask: ids([[1, 1, 1, 0, 0]]) });
    const short = lm.hiddenStates({ tokenIds: ids([[1, 5, 6]]) });
    expect(maxAbsDiff(short, tf.slice(right, [0, 0, 0], [1, 3, D]))).toBeLessThan(1e-5);
    tf.dispose([img, alone, padded, right, short]);
  });

  it('lets gradients of the next-token loss reach every weight on wasm (tied and untied)', () => {
    for (const tieEmbeddings of [true, false]) {
      const lm = smallLM({ tieEmbeddings });
      const tokenIds = ids([
        [1, 5, 6, 7],
        [1, 8, 9, 2],
      ]);
      const lossMask = tf.tensor2d([
        [0, 0, 1, 1],
        [0, 1, 1, 1],
      ]);
      const mags = gradientMagnitudes(lm, () => lm.nextTokenLoss({ imageTokens: image, tokenIds, lossMask }));
      expect(mags.has('lm_head.kernel')).toBe(!tieEmbeddings);
      expect(mags.size).toBe(2 + 2 * 16 + 2 + (tieEmbeddings ? 0 : 2));
      for (const [name, g] of mags) expect(g, name).toBeGreaterThan(0);
      tf.dispose([tokenIds, lossMask]);
    }
  });

  it('computes the loss as the masked cross-entropy of its own logits, leak-free', () => {
    const lm = smallLM();
    const tokenIds = ids([[1, 5, 6, 7]]);
    const lossMask = tf.tensor2d([[0, 0, 1, 1]]);
    const loss = expectNoLeaks(() => lm.nextTokenLoss({ tokenIds, lossMask }), { warmup: true });
    const logits = lm.logits({ tokenIds });
    const rows = logits.arraySync()[0]!;
    const nll = (row: number[], target: number) => Math.log(row.reduce((s, v) => s + Math.exp(v), 0)) - row[target]!;
    expect(loss.dataSync()[0]).toBeCloseTo((nll(rows[1]!, 6) + nll(rows[2]!, 7)) / 2, 5);
    // The attention mask also removes targets.
    const masked = lm.nextTokenLoss({ tokenIds, lossMask, attentionMask: ids([[1, 1, 1, 0]]) });
    expect(masked.dataSync()[0]).toBeCloseTo(nll(rows[1]!, 6), 5);
    tf.dispose([tokenIds, lossMask, loss, logits, masked]);
  });

  it('learns: the next-token loss falls on a small batch', () => {
    const lm = smallLM({ seed: 5 });
    const tokenIds = ids([
      [1, 4, 7, 8, 5, 6, 2],
      [1, 4, 9, 10, 5, 6, 2],
      [1, 4, 11, 12, 5, 6, 2],
    ]);
    const lossMask = tf.ones([3, 7]) as tf.Tensor2D;
    const imageTokens = tf.randomNormal([3, 2, D], 0, 1, 'float32', 2) as tf.Tensor3D;
    const opt = tf.train.adam(3e-3);
    const vars = lm.trainableWeights.map((w) => w.read() as tf.Variable);
    const losses: number[] = [];
    for (let step = 0; step < 40; step++) {
      const loss = opt.minimize(() => lm.nextTokenLoss({ imageTokens, tokenIds, lossMask }), true, vars)!;
      losses.push(loss.dataSync()[0]!);
      loss.dispose();
    }
    expect(losses[0]).toBeGreaterThan(Math.log(V) * 0.8);
    expect(losses[39]).toBeLessThan(losses[0]! * 0.5);
    opt.dispose();
    tf.dispose([tokenIds, lossMask, imageTokens]);
  });

  it('memorises one example and greedy decoding reproduces it (synchronously and asynchronously), leak-free', async () => {
    const tok = new WordTokenizer(['segment', 'the', 'red', 'ball', 'blue', 'cube', 'here', 'is', 'it']);
    const prompt = tok.encode('segment the red ball', { addBos: true });
    const answer = tok.encode('here is <p> the red ball </p> <SEG>', { addEos: true });
    const lm = new TinyCausalLM({ vocabSize: tok.vocabSize, hiddenSize: 64, numLayers: 2, numHeads: 4, maxPositions: 32, seed: 1 });
    const full = [...prompt, ...answer];
    const tokenIds = ids([full]);
    const lossMask = tf.tensor2d([full.map((_, i) => (i >= prompt.length ? 1 : 0))]);
    const imageTokens = tf.randomNormal([1, 4, 64], 0, 1, 'float32', 9) as tf.Tensor3D;
    const opt = tf.train.adam(1e-2);
    const vars = lm.trainableWeights.map((w) => w.read() as tf.Variable);
    let last = Infinity;
    for (let step = 0; step < 150 && last > 0.01; step++) {
      const loss = opt.minimize(() => lm.nextTokenLoss({ imageTokens, tokenIds, lossMask }), true, vars)!;
      last = loss.dataSync()[0]!;
      loss.dispose();
    }
    expect(last).toBeLessThan(0.05);
    const promptIds = ids([prompt]);
    const generated = expectNoLeaks(() =>
      lm.generate(imageTokens, promptIds, { maxNewTokens: answer.length + 3, eosId: tok.eosId }),
    );
    expect(generated).toEqual([answer]);
    expect(tok.decode(generated[0]!, { skipSpecialTokens: true })).toBe('here is <p> the red ball </p> <SEG>');
    const before = tf.memory().numTensors;
    expect(await lm.generateAsync(imageTokens, promptIds, { maxNewTokens: answer.length + 3, eosId: tok.eosId })).toEqual([answer]);
    expect(tf.memory().numTensors).toBe(before);
    opt.dispose();
    tf.dispose([tokenIds, lossMask, imageTokens, promptIds]);
  });

  it('round-trips through getConfig / registerClass with the same outputs', () => {
    const lm = smallLM({ tieEmbeddings: false, ffnSize: 48 });
    const tokenIds = ids([[1, 5, 6, 7]]);
    const before = lm.logits({ tokenIds });
    const clone = roundTrip(lm);
    expect(clone).toBeInstanceOf(TinyCausalLM);
    expect(clone.getConfig()).toMatchObject({
      vocabSize: V,
      hiddenSize: D,
      numLayers: 2,
      numHeads: 4,
      ffnSize: 48,
      maxPositions: 24,
      tieEmbeddings: false,
      seed: 3,
    });
    const after = clone.logits({ tokenIds });
    expect(maxAbsDiff(before, after)).toBe(0);
    expect([...lm.namedWeights().keys()]).toContain('layers.1.self_attn.q_proj.kernel');
    expect([...lm.namedWeights().keys()]).toContain('embed_positions.weight');
    tf.dispose([tokenIds, before, after]);
  });

  it('derives its weights from the seed alone', () => {
    const a = weightValues(smallLM({ seed: 7 }));
    tf.randomNormal([100]).dispose(); // disturb the global RNG
    const b = weightValues(smallLM({ seed: 7 }));
    const c = weightValues(smallLM({ seed: 8 }));
    for (const [name, values] of a) {
      expect(Array.from(b.get(name)!), name).toEqual(Array.from(values));
    }
    const differs = [...a].filter(([name, v]) => v.some((x, i) => x !== c.get(name)![i]));
    // Everything random differs; only LayerNorm's ones/zeros agree.
    expect(differs.map(([n]) => n).filter((n) => n.includes('norm'))).toEqual([]);
    expect(differs.length).toBe([...a.keys()].filter((n) => !n.includes('norm')).length);
  });

  it('holds exactly its weights and frees them all on dispose after eager use', () => {
    const before = tf.memory().numTensors;
    const lm = smallLM({ tieEmbeddings: false });
    expect(tf.memory().numTensors - before).toBe(lm.weights.length);
    const tokenIds = ids([[1, 2, 3]]);
    lm.logits({ tokenIds }).dispose();
    const result = lm.dispose();
    expect(result.numDisposedVariables).toBe(2 + 2 * 16 + 2 + 2);
    expect(tf.memory().numTensors).toBe(before + 1);
    tokenIds.dispose();
  });

  it('validates config, shapes and dtypes', () => {
    expect(() => new TinyCausalLM({ vocabSize: 0 })).toThrow(ValueError);
    expect(() => new TinyCausalLM({ vocabSize: 10, hiddenSize: 30, numHeads: 4 })).toThrow(/numHeads/);
    expect(() => new TinyCausalLM({ vocabSize: 10, seed: 1.5 })).toThrow(ValueError);
    const lm = smallLM();
    const good = ids([[1, 2, 3]]);
    expect(() => lm.forward({ tokenIds: tf.zeros([1, 3]) as tf.Tensor2D })).toThrow(DTypeError);
    expect(() => lm.forward({ tokenIds: tf.zeros([3], 'int32') as unknown as tf.Tensor2D })).toThrow(ShapeError);
    expect(() => lm.forward({ imageTokens: tf.zeros([1, 2, D + 1]) as tf.Tensor3D, tokenIds: good })).toThrow(
      /imageTokens/,
    );
    expect(() => lm.forward({ imageTokens: tf.zeros([2, 2, D]) as tf.Tensor3D, tokenIds: good })).toThrow(ShapeError);
    expect(() => lm.forward({ tokenIds: good, attentionMask: ids([[1, 1]]) })).toThrow(/attentionMask/);
    expect(() => lm.forward({ tokenIds: good, attentionMask: tf.ones([1, 3]) as tf.Tensor2D })).toThrow(DTypeError);
    expect(() => lm.forward({ tokenIds: ids([new Array<number>(25).fill(1)]) })).toThrow(/maxPositions=24/);
    expect(() =>
      lm.nextTokenLoss({ tokenIds: good, lossMask: tf.ones([1, 4]) as tf.Tensor2D }),
    ).toThrow(/lossMask/);
    good.dispose();
  });

  it('agrees between the cpu and wasm backends', async () => {
    const lm = smallLM({ numLayers: 1 });
    const tokenIds = ids([
      [1, 5, 6, 7],
      [0, 1, 8, 9],
    ]);
    const attentionMask = ids([
      [1, 1, 1, 1],
      [0, 1, 1, 1],
    ]);
    const img = tf.slice(image, [0, 0, 0], [2, 2, D]) as tf.Tensor3D;
    const onWasm = lm.logits({ imageTokens: img, tokenIds, attentionMask }).arraySync();
    await selectBackend('cpu');
    try {
      const onCpu = lm.logits({ imageTokens: img, tokenIds, attentionMask });
      const ref = tf.tensor3d(onWasm);
      expect(maxAbsDiff(onCpu, ref)).toBeLessThan(1e-4);
      tf.dispose([onCpu, ref]);
    } finally {
      await selectBackend('wasm');
    }
    tf.dispose([tokenIds, attentionMask, img]);
  });
});
