import { describe, it, expect, beforeAll } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { ShapeError, ValueError, selectBackend } from '@flowseg/core';
import { expectNoLeaks } from '@flowseg/core/testing';
import {
  CandidateRegionEncoder,
  candidateCrops,
  disposeFlowSegOutputs,
  regionBoxes,
  resolveFlowSegConfig,
  extendFlowSegModel,
  type FlowSegModel,
} from '../../src/index.js';
import { cropImageRegions } from '../../src/model/region/cropRegions.js';
import { expectSameWeights, reloadThroughCheckpoint } from '../support/checkpointRoundTrip.js';
import { tinyModel } from '../support/tinyFlowSeg.js';

/** Plain-JS bilinear sampler (zero outside), written from the definition, not from the code under test. */
function referenceCrop(image: number[][], cy: number, cx: number, half: number, size: number): number[][] {
  const h = image.length;
  const w = image[0]!.length;
  const at = (y: number, x: number) => (y >= 0 && y < h && x >= 0 && x < w ? image[y]![x]! : 0);
  return Array.from({ length: size }, (_, j) =>
    Array.from({ length: size }, (_, i) => {
      const u = (cy - half + ((j + 0.5) / size) * 2 * half) * h - 0.5;
      const v = (cx - half + ((i + 0.5) / size) * 2 * half) * w - 0.5;
      const y0 = Math.floor(u);
      const x0 = Math.floor(v);
      const fy = u - y0;
      const fx = v - x0;
      return (
        (1 - fy) * (1 - fx) * at(y0, x0) + (1 - fy) * fx * at(y0, x0 + 1) + fy * (1 - fx) * at(y0 + 1, x0) + fy * fx * at(y0 + 1, x0 + 1)
      );
    }),
  );
}

function maskOf(size: number, pixels: readonly [number, number][]): number[][] {
  const m = Array.from({ length: size }, () => new Array<number>(size).fill(0));
  for (const [y, x] of pixels) m[y]![x] = 1;
  return m;
}

describe('candidate region crops', () => {
  beforeAll(async () => {
    await selectBackend('wasm', { wasmThreads: 1 });
  });

  it('boxes: centre = mean pixel centre, half = 2.5σ of the wider axis, clamped; empty masks get the whole image', () => {
    const block = maskOf(8, [[2, 4], [2, 5], [3, 4], [3, 5]]);
    const single = maskOf(8, [[0, 7]]);
    const full = Array.from({ length: 8 }, () => new Array<number>(8).fill(1));
    const empty = maskOf(8, []);
    const wide = maskOf(8, [[4, 0], [4, 1], [4, 2], [4, 3]]); // σ_x = √(5/4)/8, σ_y = 0
    const boxes = regionBoxes(tf.tensor3d([block, single, full, empty, wide]));
    const cy = Array.from(boxes.centerY.dataSync());
    const cx = Array.from(boxes.centerX.dataSync());
    const half = Array.from(boxes.half.dataSync());
    const expected = [
      [3 / 8, 5 / 8, 2.5 * (0.5 / 8)],
      [0.5 / 8, 7.5 / 8, 1 / 8], // σ = 0: one mask pixel
      [0.5, 0.5, 0.5], // 2.5σ = 0.72 > ½: the whole image
      [0.5, 0.5, 0.5],
      [4.5 / 8, 2 / 8, (2.5 * Math.sqrt(5 / 4)) / 8],
    ];
    expected.forEach(([y, x, s], k) => {
      expect(cy[k]).toBeCloseTo(y!, 6);
      expect(cx[k]).toBeCloseTo(x!, 6);
      expect(half[k]).toBeCloseTo(s!, 6);
    });
    tf.dispose([boxes.centerY, boxes.centerX, boxes.half]);
  });

  it('image crops equal a plain bilinear sampler, per region and row; the whole-image box at full size is the identity', () => {
    const h = 6;
    const w = 6;
    const pixel = (b: number, y: number, x: number, c: number) => Math.sin(1.3 * y + 0.7 * x + 2.1 * c + 5 * b);
    const data = [0, 1].map((b) => Array.from({ length: h }, (_, y) => Array.from({ length: w }, (_, x) => [0, 1].map((c) => pixel(b, y, x, c)))));
    const images = tf.tensor4d(data);
    // Two regions per row: one inside, one hanging over the border (zero padding).
    const boxes = [
      [0.4, 0.5, 0.2],
      [0.9, 0.1, 0.3],
      [0.5, 0.5, 0.5],
      [0.3, 0.6, 0.15],
    ];
    const t = (i: number) => tf.tensor1d(boxes.map((b) => b[i]!));
    const crops = cropImageRegions(images, { centerY: t(0), centerX: t(1), half: t(2) }, 2, 4);
    expect(crops.shape).toEqual([4, 4, 4, 2]);
    const got = crops.arraySync() as number[][][][];
    boxes.forEach(([cy, cx, half], k) => {
      const row = Math.floor(k / 2);
      for (let c = 0; c < 2; c++) {
        const plane = data[row]!.map((r) => r.map((p) => p[c]!));
        const ref = referenceCrop(plane, cy!, cx!, half!, 4);
        ref.forEach((line, j) => line.forEach((v, i) => expect(got[k]![j]![i]![c]).toBeCloseTo(v, 5)));
      }
    });
    const whole = (v: number) => tf.tensor1d([v, v]);
    const same = cropImageRegions(tf.slice(images, [0], [1]) as tf.Tensor4D, { centerY: whole(0.5), centerX: whole(0.5), half: whole(0.5) }, 2, 6);
    const first = tf.slice(images, [0], [1]).arraySync() as number[][][][];
    (same.arraySync() as number[][][][]).forEach((crop) => crop.forEach((r, y) => r.forEach((p, x) => p.forEach((v, c) => expect(v).toBeCloseTo(first[0]![y]![x]![c]!, 5)))));
    tf.dispose([images, crops, same]);
  });

  it('candidateCrops: RGB crop around the binary mask + σ(logits) channel; zero gradient to masks and images; leak-free', () => {
    const images = tf.randomUniform([2, 16, 16, 3], 0, 1, 'float32', 3) as tf.Tensor4D;
    const logits = tf.randomNormal([2, 3, 8, 8], -1, 2, 'float32', 4) as tf.Tensor4D;
    const crops = expectNoLeaks(() => candidateCrops(images, logits, 8), { warmup: true });
    expect(crops.shape).toEqual([6, 8, 8, 4]);
    // Mask channel of candidate (1, 2) against the plain sampler on σ(logits), box from the binary mask.
    const k = 5;
    const logit = (logits.arraySync() as number[][][][])[1]![2]!;
    const binary = logit.map((r) => r.map((v) => (v > 0 ? 1 : 0)));
    const box = regionBoxes(tf.tensor3d([binary]));
    const [cy, cx, half] = [box.centerY, box.centerX, box.half].map((t) => t.dataSync()[0]!);
    const ref = referenceCrop(logit.map((r) => r.map((v) => 1 / (1 + Math.exp(-v)))), cy!, cx!, half!, 8);
    const got = crops.arraySync() as number[][][][];
    ref.forEach((line, j) => line.forEach((v, i) => expect(got[k]![j]![i]![3]).toBeCloseTo(v, 5)));
    const grads = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(candidateCrops(a as tf.Tensor4D, b as tf.Tensor4D, 8)))([images, logits]);
    grads.forEach((g) => expect(Math.max(...Array.from(tf.abs(g).dataSync()))).toBe(0));
    tf.dispose([images, logits, crops, box.centerY, box.centerX, box.half, ...grads]);
  });
});

describe('CandidateRegionEncoder', () => {
  beforeAll(async () => {
    await selectBackend('wasm', { wasmThreads: 1 });
  });

  it('starts at zero (gate 0), then trains every weight; shapes, errors and serialization', () => {
    const encoder = new CandidateRegionEncoder({ hiddenDim: 8, cropSize: 8, convChannels: [4, 6, 5], seed: 2 });
    expect([...encoder.namedWeights().keys()].sort()).toEqual(
      ['conv_0.bias', 'conv_0.kernel', 'conv_1.bias', 'conv_1.kernel', 'conv_2.bias', 'conv_2.kernel', 'gate', 'proj.bias', 'proj.kernel'].sort(),
    );
    const images = tf.randomUniform([2, 16, 16, 3], 0, 1, 'float32', 5) as tf.Tensor4D;
    const logits = tf.randomNormal([2, 3, 8, 8], 0, 2, 'float32', 6) as tf.Tensor4D;
    const zero = expectNoLeaks(() => encoder.forward({ images, maskLogits: logits }), { warmup: true });
    expect(zero.shape).toEqual([2, 3, 8]);
    expect(Array.from(zero.dataSync()).every((v) => v === 0)).toBe(true);
    // The gate gets a gradient at 0; once it moves, so does everything behind it.
    const named = encoder.namedWeights();
    const gateGrad = tf.variableGrads(() => tf.sum(tf.square(tf.sub(encoder.forward({ images, maskLogits: logits }), 1))) as tf.Scalar);
    expect(Object.values(gateGrad.grads).length).toBeGreaterThan(0);
    expect(Math.abs(gateGrad.grads[named.get('gate')!.name]!.dataSync()[0]!)).toBeGreaterThan(0);
    named.get('gate')!.write(tf.tensor1d([0.5]));
    const moved = tf.variableGrads(() => tf.sum(tf.square(tf.sub(encoder.forward({ images, maskLogits: logits }), 1))) as tf.Scalar);
    for (const [name, variable] of named) {
      const g = moved.grads[variable.name];
      expect(g, name).toBeDefined();
      expect(Math.max(...Array.from(tf.abs(g!).dataSync())), name).toBeGreaterThan(0);
    }
    tf.dispose([gateGrad.value, ...Object.values(gateGrad.grads), moved.value, ...Object.values(moved.grads)]);

    const fewer = tf.zeros([3, 3, 8, 8]) as tf.Tensor4D;
    expect(() => encoder.forward({ images, maskLogits: fewer })).toThrow(ShapeError);
    expect(() => new CandidateRegionEncoder({ hiddenDim: 8, cropSize: 10 })).toThrow(/cropSize: expected an integer multiple of 4, ≥ 8, received 10/);
    expect(() => new CandidateRegionEncoder({ hiddenDim: 8, cropSize: 4 })).toThrow(ValueError);
    expect(() => new CandidateRegionEncoder({ hiddenDim: 8, cropSize: 8, convChannels: [4, 6] as unknown as [number, number, number] })).toThrow(/convChannels/);

    const config = encoder.getConfig();
    expect(config).toMatchObject({ hiddenDim: 8, cropSize: 8, convChannels: [4, 6, 5], seed: 2 });
    const rebuilt = tf.serialization.SerializationMap.getMap().classNameMap[CandidateRegionEncoder.className]!;
    const copy = rebuilt[1](CandidateRegionEncoder as never, config) as CandidateRegionEncoder;
    expect(copy.cropSize).toBe(8);
    expect(copy.convChannels).toEqual([4, 6, 5]);
    tf.dispose([images, logits, zero, fewer]);
    copy.dispose();
    encoder.dispose();
  });
});

describe('region encoder in the model', () => {
  beforeAll(async () => {
    await selectBackend('wasm', { wasmThreads: 1 });
  });

  const prompt = (model: FlowSegModel) => {
    const tokenizer = model.tokenizer;
    const ids = [...tokenizer.encode('segment the red circle', { addBos: true }), ...tokenizer.encode('<p> the red circle </p> <SEG>', { addEos: true })];
    return [ids];
  };

  it('config: validated, off by default; extendFlowSegModel keeps every output until the gate moves, then moves only selection', async () => {
    expect(() => resolveFlowSegConfig({ selection: { regionCropSize: 6 } })).toThrow(/selection.regionCropSize: expected an integer multiple of 4/);
    const plain = tinyModel({ seed: 3 });
    expect(plain.regionEncoder).toBeNull();
    const images = tf.randomUniform([1, 32, 32, 3], 0, 1, 'float32', 7) as tf.Tensor4D;
    const ids = prompt(plain);
    const a = plain.forward({ images, tokenIds: ids });
    const extended = extendFlowSegModel(plain, { selection: { regionCropSize: 8 } });
    const withRegion = extended.model;
    expect(withRegion.config.selection.regionCropSize).toBe(8);
    expect([...extended.added].sort()).toEqual([...withRegion.regionEncoder!.namedWeights().keys()].map((k) => `region_encoder.${k}`).sort());
    // Overrides that would reshape existing weights are refused, and nothing leaks.
    const before = tf.memory().numTensors;
    expect(() => extendFlowSegModel(plain, { selection: { projectionDim: 8 } })).toThrow(/overrides: the original's weights do not fit the copy/);
    expect(tf.memory().numTensors).toBe(before);
    const b = expectNoLeaks(() => withRegion.forward({ images, tokenIds: ids }), { warmup: true });
    expect(Array.from(b.scores.dataSync())).toEqual(Array.from(a.scores.dataSync()));
    expect(Array.from(b.queries.dataSync())).toEqual(Array.from(a.queries.dataSync()));
    // A trained gate: queries = Q_out + region embedding, masks untouched.
    withRegion.regionEncoder!.namedWeights().get('gate')!.write(tf.tensor1d([1]));
    const c = withRegion.forward({ images, tokenIds: ids });
    const embedding = withRegion.regionEncoder!.forward({ images, maskLogits: c.rawCandidateLogits });
    const expected = tf.add(a.queries, embedding);
    expect(Math.max(...Array.from(tf.abs(tf.sub(c.queries, expected)).dataSync()))).toBeLessThan(1e-5);
    expect(Array.from(c.scores.dataSync())).not.toEqual(Array.from(a.scores.dataSync()));
    expect(Array.from(c.rawCandidateLogits.dataSync())).toEqual(Array.from(a.rawCandidateLogits.dataSync()));
    // The segmentor's features (stage 1, what the attribute head reads) get the embedding of its
    // raw masks (BAR off here, so predMasks are the raw ones).
    const plainSegmentor = tinyModel({ seed: 3, bar: { enabled: false } });
    const regionSegmentor = extendFlowSegModel(plainSegmentor, { selection: { regionCropSize: 8 } }).model;
    regionSegmentor.regionEncoder!.namedWeights().get('gate')!.write(tf.tensor1d([1]));
    const seg = regionSegmentor.segmentorForward(images);
    const segPlain = plainSegmentor.segmentorForward(images);
    const segExpected = tf.add(segPlain.queries, regionSegmentor.regionEncoder!.forward({ images, maskLogits: seg.predMasks }));
    expect(Math.max(...Array.from(tf.abs(tf.sub(seg.queries, segExpected)).dataSync()))).toBeLessThan(1e-5);
    expect(Math.max(...Array.from(tf.abs(tf.sub(seg.queries, segPlain.queries)).dataSync()))).toBeGreaterThan(1e-3);

    const loaded = await reloadThroughCheckpoint(withRegion);
    expect(loaded.config.selection.regionCropSize).toBe(8);
    expectSameWeights(loaded.regionEncoder!, withRegion.regionEncoder!);
    loaded.dispose();
    const segmentorTensors = [seg, segPlain].flatMap((o) => [o.predLogits, o.predMasks, o.queries, ...o.auxOutputs.flatMap((x) => [x.predLogits, x.predMasks])]);
    tf.dispose([images, embedding, expected, segExpected, ...segmentorTensors]);
    regionSegmentor.dispose();
    plainSegmentor.dispose();
    for (const out of [a, b, c]) disposeFlowSegOutputs(out);
    withRegion.dispose();
    plain.dispose();
  });
});
