import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { DTypeError, ShapeError, ValueError, selectBackend } from '@flowseg/core';
import { expectNoLeaks } from '@flowseg/core/testing';
import { PatchVisionEncoder, TinyCausalLM, type VisionEncoder } from '../../src/components.js';
import { gradientMagnitudes, maxAbsDiff, roundTrip, weightValues } from '../support/layers.js';

const SMALL = { imageHeight: 16, imageWidth: 24, patchSize: 4, width: 16, depth: 1, numHeads: 2, mergeSize: 2, tokenDim: 12 };

describe('PatchVisionEncoder', () => {
  let images: tf.Tensor4D;
  beforeAll(async () => {
    await selectBackend('wasm');
    images = tf.randomUniform([2, 64, 64, 3], 0, 1, 'float32', 1) as tf.Tensor4D;
  });
  afterAll(() => images.dispose());

  it('turns 64×64 images into 16 tokens of the language-model width by default', () => {
    const enc: VisionEncoder = new PatchVisionEncoder({ seed: 1 });
    expect(enc.numImageTokens).toBe(16);
    expect(enc.tokenDim).toBe(128);
    const out = expectNoLeaks(() => enc.forward(images), { warmup: true });
    expect(out.tokens.shape).toEqual([2, 16, 128]);
    expect(out.tokens.dtype).toBe('float32');
    out.tokens.dispose();
  });

  it('handles non-square images and other patch/merge sizes', () => {
    const enc = new PatchVisionEncoder(SMALL);
    // (16/8)·(24/8) = 6 tokens.
    expect(enc.numImageTokens).toBe(6);
    const img = tf.slice(images, [0, 0, 0, 0], [2, 16, 24, 3]) as tf.Tensor4D;
    const { tokens } = enc.forward(img);
    expect(tokens.shape).toEqual([2, 6, 12]);
    const noMerge = new PatchVisionEncoder({ ...SMALL, mergeSize: 1 });
    expect(noMerge.numImageTokens).toBe(24);
    const t2 = noMerge.forward(img).tokens;
    expect(t2.shape).toEqual([2, 24, 12]);
    tf.dispose([img, tokens, t2]);
  });

  it('keeps images independent within a batch', () => {
    const enc = new PatchVisionEncoder(SMALL);
    const img = tf.slice(images, [0, 0, 0, 0], [2, 16, 24, 3]) as tf.Tensor4D;
    const both = enc.forward(img).tokens;
    const second = enc.forward(tf.slice(img, [1, 0, 0, 0], [1, 16, 24, 3]) as tf.Tensor4D).tokens;
    expect(maxAbsDiff(tf.slice(both, [1, 0, 0], [1, 6, 12]), second)).toBeLessThan(1e-5);
    tf.dispose([img, both, second]);
  });

  it('lets gradients reach every weight on wasm', () => {
    const enc = new PatchVisionEncoder(SMALL);
    const img = tf.slice(images, [0, 0, 0, 0], [2, 16, 24, 3]) as tf.Tensor4D;
    const target = tf.randomNormal([2, 6, 12], 0, 1, 'float32', 5);
    const mags = gradientMagnitudes(enc, () => tf.mean(tf.square(tf.sub(enc.forward(img).tokens, target))) as tf.Scalar);
    expect([...mags.keys()]).toEqual(expect.arrayContaining(['patch_embed.kernel', 'pos_embed.weight', 'projector.linear2.bias']));
    expect(mags.size).toBe(2 + 1 + 16 + 2 + 4);
    for (const [name, g] of mags) expect(g, name).toBeGreaterThan(0);
    tf.dispose([img, target]);
  });

  it('feeds TinyCausalLM, and the language-model loss trains the encoder end to end', () => {
    const enc = new PatchVisionEncoder({ ...SMALL, tokenDim: 32 });
    const lm = new TinyCausalLM({ vocabSize: 12, hiddenSize: 32, numLayers: 1, maxPositions: 16 });
    const img = tf.slice(images, [0, 0, 0, 0], [2, 16, 24, 3]) as tf.Tensor4D;
    const tokenIds = tf.tensor2d([[1, 4, 5, 2], [1, 6, 7, 2]], undefined, 'int32');
    const lossMask = tf.ones([2, 4]) as tf.Tensor2D;
    const mags = gradientMagnitudes(enc, () =>
      lm.nextTokenLoss({ imageTokens: enc.forward(img).tokens, tokenIds, lossMask }),
    );
    for (const [name, g] of mags) expect(g, name).toBeGreaterThan(0);
    tf.dispose([img, tokenIds, lossMask]);
  });

  it('round-trips through getConfig / registerClass and is seeded', () => {
    const enc = new PatchVisionEncoder({ ...SMALL, seed: 9 });
    const img = tf.slice(images, [0, 0, 0, 0], [1, 16, 24, 3]) as tf.Tensor4D;
    const a = enc.forward(img).tokens;
    const clone = roundTrip(enc);
    expect(clone.getConfig()).toMatchObject({ ...SMALL, ffnDim: 32, seed: 9 });
    const b = clone.forward(img).tokens;
    expect(maxAbsDiff(a, b)).toBe(0);
    const same = weightValues(new PatchVisionEncoder({ ...SMALL, seed: 9 }));
    for (const [name, v] of weightValues(enc)) expect(Array.from(same.get(name)!), name).toEqual(Array.from(v));
    const other = weightValues(new PatchVisionEncoder({ ...SMALL, seed: 10 }));
    expect(Array.from(other.get('pos_embed.weight')!)).not.toEqual(Array.from(same.get('pos_embed.weight')!));
    tf.dispose([img, a, b]);
  });

  it('derives every random weight from the seed alone', () => {
    const encoders = [new PatchVisionEncoder({ ...SMALL, seed: 11 })];
    tf.randomNormal([100]).dispose(); // disturb the global RNG
    encoders.push(new PatchVisionEncoder({ ...SMALL, seed: 11 }), new PatchVisionEncoder({ ...SMALL, seed: 12 }));
    const [a, b, c] = encoders.map(weightValues) as [Map<string, Float32Array>, Map<string, Float32Array>, Map<string, Float32Array>];
    for (const [name, v] of a) expect(Array.from(b.get(name)!), name).toEqual(Array.from(v));
    // Every weight but the LayerNorms' ones/zeros differs with the seed.
    const differs = [...a].filter(([name, v]) => v.some((x, i) => x !== c.get(name)![i])).map(([n]) => n);
    expect(differs).toEqual([...a.keys()].filter((n) => !n.includes('norm')));
    encoders.forEach((e) => e.dispose());
  });

  it('frees all its weights on dispose after eager use', () => {
    const before = tf.memory().numTensors;
    const enc = new PatchVisionEncoder(SMALL);
    const img = tf.zeros([1, 16, 24, 3]) as tf.Tensor4D;
    enc.forward(img).tokens.dispose();
    expect(enc.dispose().numDisposedVariables).toBe(enc.weights.length);
    expect(tf.memory().numTensors).toBe(before + 1);
    img.dispose();
  });

  it('validates config and input', () => {
    expect(() => new PatchVisionEncoder({ imageHeight: 60 })).toThrow(/imageHeight/);
    expect(() => new PatchVisionEncoder({ width: 30, numHeads: 4 })).toThrow(/numHeads/);
    expect(() => new PatchVisionEncoder({ depth: 0 })).toThrow(ValueError);
    const enc = new PatchVisionEncoder(SMALL);
    expect(() => enc.forward(tf.zeros([1, 24, 16, 3]) as tf.Tensor4D)).toThrow(ShapeError);
    expect(() => enc.forward(tf.zeros([1, 16, 24, 1]) as tf.Tensor4D)).toThrow(/image/);
    expect(() => enc.forward(tf.zeros([1, 16, 24, 3], 'int32') as tf.Tensor4D)).toThrow(DTypeError);
  });

  it('agrees between the cpu and wasm backends', async () => {
    const enc = new PatchVisionEncoder({ ...SMALL, seed: 3 });
    const img = tf.slice(images, [0, 0, 0, 0], [1, 16, 24, 3]) as tf.Tensor4D;
    const onWasm = enc.forward(img).tokens.arraySync();
    await selectBackend('cpu');
    try {
      const onCpu = enc.forward(img).tokens;
      const ref = tf.tensor3d(onWasm);
      expect(maxAbsDiff(onCpu, ref)).toBeLessThan(1e-4);
      tf.dispose([onCpu, ref]);
    } finally {
      await selectBackend('wasm');
    }
    img.dispose();
  });
});
