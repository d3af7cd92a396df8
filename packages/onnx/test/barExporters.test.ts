import { describe, it, expect, beforeAll } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '@flowseg/core';
import { BoundaryAwareRefinement, BoundaryRefineNet, type BoundaryAwareRefinementConfig } from '@flowseg/bar-head';
import { exportOnnx, type OnnxInputSpec } from '../src/index.js';
import { expectOutputsClose, randn, randomizeWeights, session } from './support.js';

beforeAll(async () => {
  await selectBackend('wasm');
});

/** Mask logits with real boundaries: smooth blobs (a coarse random map upsampled) scaled to ±6. */
function blobLogits(b: number, n: number, h: number, w: number, seed: number): tf.Tensor4D {
  return tf.tidy(() => {
    const coarse = tf.reshape(randn([b * n, Math.ceil(h / 4), Math.ceil(w / 4), 1], seed), [b * n, Math.ceil(h / 4), Math.ceil(w / 4), 1]) as tf.Tensor4D;
    const up = tf.image.resizeBilinear(coarse, [h, w], false, true);
    return tf.reshape(tf.mul(up, 6), [b, n, h, w]) as tf.Tensor4D;
  });
}

function bar(config: BoundaryAwareRefinementConfig, seed: number): BoundaryAwareRefinement {
  const layer = new BoundaryAwareRefinement({ featureChannels: 12, compChannels: 4, hiddenChannels: 6, seed, ...config });
  randomizeWeights(layer, seed);
  // α from the randomizer is in [−0.5, 0.5); make the correction large enough to see.
  layer.namedWeights().get('alpha')!.write(tf.scalar(0.7));
  if (config.adaptiveThreshold === 'learned') layer.namedWeights().get('epsilon_logit')!.write(tf.scalar(-1.5));
  return layer;
}

describe('BoundaryAwareRefinement exporter', () => {
  it("TF.js's default band evaluation equals the exported dense evaluation; the delta is exactly 0 outside the band", async () => {
    const layer = bar({}, 1); // evaluation 'band', ε = 0.1
    expect(layer.settings.evaluation).toBe('band');
    const s = await session(
      exportOnnx(layer, {
        inputs: ['maskLogits', { name: 'pixelFeatures', dims: ['batch', 12, 10, 12] }],
        outputs: ['refinedLogits', 'band', 'delta'],
      }),
    );
    for (const [b, n, seed] of [[2, 3, 1], [1, 5, 2]] as const) {
      const maskLogits = blobLogits(b, n, 12, 10, seed);
      const pixelFeatures = randn([b, 12, 10, 12], seed + 10) as tf.Tensor4D;
      const ref = layer.forward({ maskLogits, pixelFeatures });
      const bandFraction = tf.mean(ref.band).dataSync()[0]!;
      expect(bandFraction).toBeGreaterThan(0.05);
      expect(bandFraction).toBeLessThan(0.9);
      const out = await expectOutputsClose(s, { maskLogits, pixelFeatures }, { refinedLogits: ref.refinedLogits, band: ref.band, delta: ref.delta });
      // Outside the band the ONNX delta is exactly zero (dense ΔM multiplied by B = 0).
      const outside = tf.tidy(() => tf.max(tf.abs(tf.mul(out['delta']!, tf.sub(1, out['band']!)))).dataSync()[0]);
      expect(outside).toBe(0);
      // The correction is not negligible, so the comparison above could fail.
      expect(tf.max(tf.abs(ref.delta)).dataSync()[0]).toBeGreaterThan(0.05);
      tf.dispose([maskLogits, pixelFeatures, ref.refinedLogits, ref.band, ref.delta, ...Object.values(out)]);
    }
    await s.release();
    layer.dispose();
  });

  const variants: Array<[string, BoundaryAwareRefinementConfig]> = [
    ["dense evaluation, relative threshold, 5×5 kernels", { evaluation: 'dense', adaptiveThreshold: 'relative', epsilon: 0.3, refineKernelSize: 5, bandKernel: 5 }],
    ["learned threshold σ(θ)", { adaptiveThreshold: 'learned' }],
  ];
  for (const [title, config] of variants) {
    it(`${title}: equals forward`, async () => {
      const layer = bar(config, 2);
      const s = await session(exportOnnx(layer, { outputs: ['refinedLogits', 'band'] }));
      const maskLogits = blobLogits(2, 3, 9, 11, 3);
      const pixelFeatures = randn([2, 9, 11, 12], 4) as tf.Tensor4D;
      const ref = layer.forward({ maskLogits, pixelFeatures });
      const out = await expectOutputsClose(s, { maskLogits, pixelFeatures }, { refinedLogits: ref.refinedLogits, band: ref.band });
      tf.dispose([maskLogits, pixelFeatures, ref.refinedLogits, ref.band, ref.delta, ...Object.values(out)]);
      await s.release();
      layer.dispose();
    });
  }

  it('pixel features at another resolution are resized bilinearly to the mask size after f_comp', async () => {
    const layer = bar({}, 3);
    const specs: (OnnxInputSpec | string)[] = ['maskLogits', 'pixelFeatures'];
    const s = await session(exportOnnx(layer, { inputs: specs }));
    const maskLogits = blobLogits(1, 2, 16, 12, 5);
    const pixelFeatures = randn([1, 8, 6, 12], 6) as tf.Tensor4D;
    const ref = layer.forward({ maskLogits, pixelFeatures });
    const out = await expectOutputsClose(s, { maskLogits, pixelFeatures }, { refinedLogits: ref.refinedLogits });
    tf.dispose([maskLogits, pixelFeatures, ref.refinedLogits, ref.band, ref.delta, ...Object.values(out)]);
    await s.release();
    layer.dispose();
  });
});

describe('BoundaryRefineNet exporter', () => {
  it('equals forward (conv1 split into a per-image feature term and a per-mask term)', async () => {
    const net = new BoundaryRefineNet({ compChannels: 3, hiddenChannels: 5, seed: 1 });
    randomizeWeights(net, 9);
    const s = await session(exportOnnx(net));
    const maskLogits = randn([2, 3, 6, 7], 1) as tf.Tensor4D;
    const compFeatures = randn([2, 6, 7, 3], 2) as tf.Tensor4D;
    const ref = net.forward({ maskLogits, compFeatures });
    const out = await expectOutputsClose(s, { maskLogits, compFeatures }, { output: ref });
    tf.dispose([maskLogits, compFeatures, ref, ...Object.values(out)]);
    await s.release();
    net.dispose();
  });
});
