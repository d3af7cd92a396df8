import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { ShapeError, ValueError, selectBackend } from '@flowseg/core';
import { BoundaryAwareRefinement, BoundaryRefineNet, buildBandIndices } from '@flowseg/bar-head';
import { blobLogits } from './reference.js';

beforeAll(async () => {
  await selectBackend('wasm');
});

describe('buildBandIndices', () => {
  it('indexes a single band pixel in the corner of a 3×3 mask by hand', () => {
    // One mask, band = pixel (0, 0) only, 3×3 kernel.
    const band = [1, 0, 0, 0, 0, 0, 0, 0, 0];
    const idx = buildBandIndices(band, [1, 1, 3, 3], 3);
    expect(idx.bandCount).toBe(1);
    expect(Array.from(idx.bandPixels)).toEqual([0]);
    // Q = the in-image 3×3 neighbourhood of (0, 0): pixels 0, 1, 3, 4.
    expect(idx.hiddenCount).toBe(4);
    expect(idx.imageCount).toBe(4);
    expect(Array.from(idx.hiddenToImage)).toEqual([0, 1, 2, 3]);
    const Z = -1; // out of the image: read as 0
    // Taps of Q row 0 (pixel (0,0)): rows −1 and column −1 fall outside.
    expect(Array.from(idx.maskTaps.subarray(0, 9))).toEqual([Z, Z, Z, Z, 0, 1, Z, 3, 4]);
    // Q row 3 (pixel (1,1)): the whole image.
    expect(Array.from(idx.maskTaps.subarray(27, 36))).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8]);
    // Output taps of P row 0: tap t of an in-image neighbour q reads qRow·9 + t; else −1.
    const O = -1;
    expect(Array.from(idx.outputTaps)).toEqual([O, O, O, O, 0 * 9 + 4, 1 * 9 + 5, O, 2 * 9 + 7, 3 * 9 + 8]);
  });

  it('shares image pixels between masks of the same image only', () => {
    const band = new Float32Array(2 * 2 * 4 * 4);
    band[5] = 1; // image 0, mask 0, pixel (1, 1)
    band[16 + 5] = 1; // image 0, mask 1, same pixel
    band[32 + 5] = 1; // image 1, mask 0, same pixel
    const idx = buildBandIndices(band, [2, 2, 4, 4], 3);
    expect(idx.bandCount).toBe(3);
    expect(Array.from(idx.bandPixels)).toEqual([5, 21, 37]);
    expect(idx.hiddenCount).toBe(27);
    expect(idx.imageCount).toBe(18); // 9 pixels per image, shared by image 0's two masks
  });
});

describe("evaluation 'band' equals 'dense'", () => {
  const cases = [
    { b: 2, n: 3, h: 12, w: 10, fh: 6, fw: 5, refineKernelSize: 3, bandKernel: 3 },
    { b: 1, n: 4, h: 9, w: 13, fh: 9, fw: 13, refineKernelSize: 5, bandKernel: 5 },
    { b: 3, n: 1, h: 8, w: 8, fh: 16, fw: 16, refineKernelSize: 3, bandKernel: 3 },
  ];
  it.each(cases)('forward and gradients (%o)', ({ b, n, h, w, fh, fw, refineKernelSize, bandKernel }) => {
    const config = {
      featureChannels: 5,
      compChannels: 3,
      hiddenChannels: 6,
      refineKernelSize,
      bandKernel,
      alphaInit: 2,
      seed: 12,
    };
    const sparse = new BoundaryAwareRefinement({ ...config, evaluation: 'band' });
    const dense = new BoundaryAwareRefinement({ ...config, evaluation: 'dense' });
    // Discs centred anywhere, so that bands also touch the image borders.
    const m = blobLogits(b, n, h, w, 13, 0, 1);
    const f = tf.randomNormal([b, fh, fw, 5], 0, 1, 'float32', 14) as tf.Tensor4D;
    const wt = tf.randomNormal([b, n, h, w], 0, 1, 'float32', 15);
    const run = (bar: BoundaryAwareRefinement) =>
      tf.tidy(() => {
        const out = bar.forward({ maskLogits: m, pixelFeatures: f });
        const vars = bar.trainableWeights.map((v) => v.read() as tf.Variable);
        const loss = () =>
          tf.sum(tf.mul(bar.forward({ maskLogits: m, pixelFeatures: f }).refinedLogits, wt)) as tf.Scalar;
        const { grads } = tf.variableGrads(loss, vars);
        const dm = tf.grad((x: tf.Tensor) =>
          tf.sum(tf.mul(bar.forward({ maskLogits: x as tf.Tensor4D, pixelFeatures: f }).refinedLogits, wt)),
        )(m);
        // Gradient to F_pix too: with F_pix at the mask size, 'band' computes f_comp at the tapped pixels only.
        const df = tf.grad((x: tf.Tensor) =>
          tf.sum(tf.mul(bar.forward({ maskLogits: m, pixelFeatures: x as tf.Tensor4D }).refinedLogits, wt)),
        )(f);
        return [out.refinedLogits, out.band, out.delta, dm, df, ...vars.map((v) => grads[v.name]!)];
      });
    const a = run(sparse);
    const d = run(dense);
    const band = a[1]!.dataSync();
    const fraction = Array.from(band).reduce((s, v) => s + v, 0) / band.length;
    expect(fraction).toBeGreaterThan(0.1);
    expect(fraction).toBeLessThan(0.9);
    expect(Array.from(a[1]!.dataSync())).toEqual(Array.from(d[1]!.dataSync()));
    // Outside the band both are bit-exact copies of the input.
    const mv = m.dataSync();
    const av = a[0]!.dataSync();
    for (let i = 0; i < mv.length; i++) if (band[i] === 0) expect(av[i]).toBe(mv[i]);
    a.forEach((t, i) => {
      const scale = Math.max(1, tf.max(tf.abs(d[i]!)).dataSync()[0]!);
      expect(tf.max(tf.abs(tf.sub(t, d[i]!))).dataSync()[0]! / scale, `output ${i}`).toBeLessThan(1e-5);
    });
    tf.dispose([m, f, wt, ...a, ...d]);
    sparse.dispose();
    dense.dispose();
  });
});

describe('BoundaryRefineNet input checks', () => {
  it('rejects mismatched shapes and indices', () => {
    const net = new BoundaryRefineNet({ compChannels: 3, hiddenChannels: 4 });
    const m = tf.zeros([1, 2, 6, 6]) as tf.Tensor4D;
    const comp = tf.zeros([1, 6, 6, 3]) as tf.Tensor4D;
    expect(() => net.forward({ maskLogits: m, compFeatures: tf.zeros([1, 6, 5, 3]) as tf.Tensor4D })).toThrow(
      /compFeatures: .*width: 5 ≠ 6/,
    );
    expect(() => net.forward({ maskLogits: m, compFeatures: tf.zeros([1, 6, 6, 4]) as tf.Tensor4D })).toThrow(
      ShapeError,
    );
    const band = new Float32Array(72);
    band[7] = 1;
    const wrongKernel = buildBandIndices(band, [1, 2, 6, 6], 5);
    expect(() => net.forwardAtBand({ maskLogits: m, compFeatures: comp }, wrongKernel)).toThrow(ValueError);
    const ok = buildBandIndices(band, [1, 2, 6, 6], 3);
    const out = net.forwardAtBand({ maskLogits: m, compFeatures: comp }, ok);
    expect(out.shape).toEqual([1]);
    // Rows form: the taps must stay inside compRows, whose channels must match.
    const rows = tf.zeros([36, 3]) as tf.Tensor2D;
    const fromRows = net.forwardAtBandRows(m, rows, ok);
    expect(fromRows.dataSync()[0]).toBeCloseTo(out.dataSync()[0]!, 6);
    const shortRows = tf.zeros([4, 3]) as tf.Tensor2D;
    expect(() => net.forwardAtBandRows(m, shortRows, ok)).toThrow(/indices: a feature tap reads row \d+ of compRows, which has 4/);
    const wideRows = tf.zeros([36, 4]) as tf.Tensor2D;
    expect(() => net.forwardAtBandRows(m, wideRows, ok)).toThrow(ShapeError);
    tf.dispose([m, comp, out, rows, fromRows, shortRows, wideRows]);
    net.dispose();
  });
});
