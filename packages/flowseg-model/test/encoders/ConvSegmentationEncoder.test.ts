import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { DTypeError, ShapeError, ValueError, selectBackend } from '@flowseg/core';
import { expectNoLeaks } from '@flowseg/core/testing';
import { ConvSegmentationEncoder, type SegmentationEncoder } from '../../src/components.js';
import { gradientMagnitudes, maxAbsDiff, roundTrip, weightValues } from '../support/layers.js';

const SMALL = { stageChannels: [4, 6, 8], featureStrides: [8, 4, 2] as [number, number, number], pixelStride: 2 };

describe('ConvSegmentationEncoder', () => {
  let images: tf.Tensor4D;
  beforeAll(async () => {
    await selectBackend('wasm');
    images = tf.randomUniform([2, 64, 64, 3], 0, 1, 'float32', 1) as tf.Tensor4D;
  });
  afterAll(() => images.dispose());

  it('gives coarse → fine features and pixel features at the default strides', () => {
    const enc: SegmentationEncoder = new ConvSegmentationEncoder({ seed: 1 });
    expect(enc.featureStrides).toEqual([16, 8, 4]);
    expect(enc.featureChannels).toEqual([96, 64, 32]);
    expect(enc.pixelStride).toBe(2);
    expect(enc.pixelChannels).toBe(16);
    const out = expectNoLeaks(() => enc.forward(images), { warmup: true });
    expect(out.features.map((f) => f.shape)).toEqual([
      [2, 4, 4, 96],
      [2, 8, 8, 64],
      [2, 16, 16, 32],
    ]);
    expect(out.pixel.shape).toEqual([2, 32, 32, 16]);
    expect((enc as ConvSegmentationEncoder).blocksPerStage).toEqual([0, 1, 2, 2]);
    for (const t of [...out.features, out.pixel]) expect(t.dtype).toBe('float32');
    tf.dispose([...out.features, out.pixel]);
  });

  it("follows configured strides (the paper's 1/32, 1/16, 1/8 + 1/4)", () => {
    const enc = new ConvSegmentationEncoder({
      stageChannels: [4, 8, 12, 16, 20],
      blocksPerStage: [0, 0, 1, 1, 1],
      featureStrides: [32, 16, 8],
      pixelStride: 4,
    });
    expect(enc.featureChannels).toEqual([20, 16, 12]);
    const out = enc.forward(images);
    expect(out.features.map((f) => f.shape)).toEqual([
      [2, 2, 2, 20],
      [2, 4, 4, 16],
      [2, 8, 8, 12],
    ]);
    expect(out.pixel.shape).toEqual([2, 16, 16, 8]);
    tf.dispose([...out.features, out.pixel]);
  });

  it('computes its first stage as a 2×2 stride-2 patch embedding', () => {
    const enc = new ConvSegmentationEncoder({ ...SMALL, blocksPerStage: [0, 1, 1], seed: 2 });
    const img = tf.randomUniform([1, 16, 16, 3], 0, 1, 'float32', 3) as tf.Tensor4D;
    const pixel = enc.forward(img).pixel.arraySync()[0]!;
    const w = enc.namedWeights().get('stages.0.downsample.kernel')!.read().arraySync() as number[][];
    const bias = enc.namedWeights().get('stages.0.downsample.bias')!.read().arraySync() as number[];
    const xs = img.arraySync()[0]!;
    for (let i = 0; i < 8; i++)
      for (let j = 0; j < 8; j++)
        for (let o = 0; o < 4; o++) {
          let s = bias[o]!;
          for (let dy = 0; dy < 2; dy++)
            for (let dx = 0; dx < 2; dx++)
              for (let c = 0; c < 3; c++) s += xs[2 * i + dy]![2 * j + dx]![c]! * w[(dy * 2 + dx) * 3 + c]![o]!;
          expect(pixel[i]![j]![o]).toBeCloseTo(s, 4);
        }
    img.dispose();
  });

  it('lets gradients reach every weight on wasm', () => {
    const enc = new ConvSegmentationEncoder({ ...SMALL, blocksPerStage: [1, 1, 2] });
    const img = tf.slice(images, [0, 0, 0, 0], [2, 16, 16, 3]) as tf.Tensor4D;
    const mags = gradientMagnitudes(enc, () => {
      const out = enc.forward(img);
      return tf.addN([...out.features, out.pixel].map((t) => tf.mean(tf.square(t)))) as tf.Scalar;
    });
    expect(mags.size).toBe(3 * 2 + 4 * 6);
    for (const [name, g] of mags) expect(g, name).toBeGreaterThan(0);
    img.dispose();
  });

  it('round-trips through getConfig / registerClass and is seeded', () => {
    const enc = new ConvSegmentationEncoder({ ...SMALL, blocksPerStage: [1, 0, 1], seed: 4 });
    const img = tf.slice(images, [0, 0, 0, 0], [1, 16, 16, 3]) as tf.Tensor4D;
    const a = enc.forward(img);
    const clone = roundTrip(enc);
    expect(clone.getConfig()).toMatchObject({ ...SMALL, blocksPerStage: [1, 0, 1], seed: 4 });
    const b = clone.forward(img);
    [...a.features, a.pixel].forEach((t, i) => expect(maxAbsDiff(t, [...b.features, b.pixel][i]!)).toBe(0));
    const same = weightValues(new ConvSegmentationEncoder({ ...SMALL, blocksPerStage: [1, 0, 1], seed: 4 }));
    for (const [name, v] of weightValues(enc)) expect(Array.from(same.get(name)!), name).toEqual(Array.from(v));
    tf.dispose([img, ...a.features, a.pixel, ...b.features, b.pixel]);
  });

  it('derives every random weight from the seed alone', () => {
    const make = (seed: number) => new ConvSegmentationEncoder({ ...SMALL, blocksPerStage: [1, 0, 1], seed });
    const encoders = [make(6)];
    tf.randomNormal([100]).dispose(); // disturb the global RNG
    encoders.push(make(6), make(7));
    const [a, b, c] = encoders.map(weightValues) as [Map<string, Float32Array>, Map<string, Float32Array>, Map<string, Float32Array>];
    for (const [name, v] of a) expect(Array.from(b.get(name)!), name).toEqual(Array.from(v));
    // Every weight but LayerNorm's ones/zeros differs with the seed (convs included).
    const differs = [...a].filter(([name, v]) => v.some((x, i) => x !== c.get(name)![i])).map(([n]) => n);
    expect(differs).toEqual([...a.keys()].filter((n) => !n.includes('norm')));
    expect(differs).toContain('stages.0.blocks.0.conv.kernel');
    encoders.forEach((e) => e.dispose());
  });

  it('frees all its weights on dispose after eager use', () => {
    const before = tf.memory().numTensors;
    const enc = new ConvSegmentationEncoder(SMALL);
    const img = tf.zeros([1, 16, 16, 3]) as tf.Tensor4D;
    const out = enc.forward(img);
    tf.dispose([...out.features, out.pixel]);
    expect(enc.dispose().numDisposedVariables).toBe(enc.weights.length);
    expect(tf.memory().numTensors).toBe(before + 1);
    img.dispose();
  });

  it('validates config and input', () => {
    expect(() => new ConvSegmentationEncoder({ stageChannels: [] })).toThrow(ValueError);
    expect(() => new ConvSegmentationEncoder({ ...SMALL, featureStrides: [8, 8, 2] })).toThrow(/decreasing/);
    expect(() => new ConvSegmentationEncoder({ ...SMALL, featureStrides: [8, 6, 2] })).toThrow(/not a stage stride/);
    expect(() => new ConvSegmentationEncoder({ ...SMALL, featureStrides: [4, 2, 1] as never })).toThrow(ValueError);
    expect(() => new ConvSegmentationEncoder({ stageChannels: [4, 4, 4, 4], featureStrides: [8, 4, 2] })).toThrow(
      /last stage/,
    );
    expect(() => new ConvSegmentationEncoder({ ...SMALL, pixelStride: 4, featureStrides: [8, 4, 2] })).toThrow(
      /pixelStride/,
    );
    expect(() => new ConvSegmentationEncoder({ ...SMALL, blocksPerStage: [1, 1] })).toThrow(/blocksPerStage/);
    const enc = new ConvSegmentationEncoder(SMALL);
    expect(() => enc.forward(tf.zeros([1, 20, 16, 3]) as tf.Tensor4D)).toThrow(ShapeError);
    expect(() => enc.forward(tf.zeros([1, 16, 16, 4]) as tf.Tensor4D)).toThrow(/image/);
    expect(() => enc.forward(tf.zeros([16, 16, 3]) as unknown as tf.Tensor4D)).toThrow(ShapeError);
    expect(() => enc.forward(tf.zeros([1, 16, 16, 3], 'int32') as tf.Tensor4D)).toThrow(DTypeError);
  });

  it('agrees between the cpu and wasm backends', async () => {
    const enc = new ConvSegmentationEncoder({ ...SMALL, seed: 5 });
    const img = tf.slice(images, [0, 0, 0, 0], [1, 16, 16, 3]) as tf.Tensor4D;
    const onWasm = enc.forward(img);
    const wasmValues = [...onWasm.features, onWasm.pixel].map((t) => t.arraySync());
    tf.dispose([...onWasm.features, onWasm.pixel]);
    await selectBackend('cpu');
    try {
      const onCpu = enc.forward(img);
      [...onCpu.features, onCpu.pixel].forEach((t, i) => {
        const ref = tf.tensor(wasmValues[i]!);
        expect(maxAbsDiff(t, ref)).toBeLessThan(1e-4);
        ref.dispose();
      });
      tf.dispose([...onCpu.features, onCpu.pixel]);
    } finally {
      await selectBackend('wasm');
    }
    img.dispose();
  });
});
