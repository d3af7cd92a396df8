import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '@flowseg/core';
import { SMALL_CONFIG } from '../../src/index.js';
import { buildPresetBench } from '../../bench/cost/components.js';
import { benchTokenizer } from '../../bench/cost/fixtures.js';
import { kernelFlops, profileCall } from '../../bench/cost/kernelProfile.js';
import { tensorsOf } from '../../bench/cost/timing.js';
import { attentionFlops, barDenseFlops, blockLayoutZeroFlops, decoderFlops, STANDARD_LAYER } from '../../bench/cost/flops.js';
import { ellipseMaskLogits } from '../../bench/cost/fixtures.js';
import { BoundaryAwareRefinement } from '@flowseg/bar-head';

/**
 * The cost model behind `npm run bench`: every component's analytic FLOP count must equal
 * the FLOPs of the matrix-product and convolution kernels that actually run (counted from
 * `tf.profile`'s kernel shapes), and no measured call may leak tensors.
 */

beforeAll(async () => {
  await selectBackend('wasm', { wasmThreads: 1 });
});

describe('kernelFlops', () => {
  it('counts products of any rank and transpose flags, and convolutions, by hand', () => {
    // [2, 3, 4] × [2, 4, 5]: 2 · 3 · 5 outputs, 4 multiply–adds each.
    expect(kernelFlops('BatchMatMul', [[2, 3, 4], [2, 4, 5]], [[2, 3, 5]])).toBe(2 * 2 * 3 * 5 * 4);
    // a transposed: [2, 4, 3]ᵀ — same contraction size.
    expect(kernelFlops('BatchMatMul', [[2, 4, 3], [2, 4, 5]], [[2, 3, 5]])).toBe(2 * 2 * 3 * 5 * 4);
    // broadcast b: [1, 4, 5].
    expect(kernelFlops('BatchMatMul', [[2, 3, 4], [1, 4, 5]], [[2, 3, 5]])).toBe(2 * 2 * 3 * 5 * 4);
    // 3×3 conv, 8 → 16 channels on 10×10: 100·16 outputs, 9·8 multiply–adds each.
    expect(kernelFlops('Conv2D', [[1, 10, 10, 8], [3, 3, 8, 16]], [[1, 10, 10, 16]])).toBe(2 * 100 * 16 * 72);
    expect(kernelFlops('Add', [[4], [4]], [[4]])).toBe(0);
  });

  it('structural zeros of the block layouts by hand: (heads − 1) × the two attention products, none per head', () => {
    // 16 queries over 8 keys, width 64, 8 heads: few keys (8·8 ≤ 64); two [16,64]×[64,8] products per head block.
    expect(blockLayoutZeroFlops(16, 8, 64, 8)).toBe(7 * 2 * (2 * 16 * 64 * 8));
    expect(blockLayoutZeroFlops(8, 16, 64, 8)).toBe(7 * 2 * (2 * 8 * 64 * 16));
    expect(blockLayoutZeroFlops(200, 200, 256, 8)).toBe(0);
  });

  it('attention count by hand: 4 projections and 2 products', () => {
    expect(attentionFlops(2, 3, 4)).toBe(2 * (2 * 4 * 4 + 2 * 4 * 4 + 3 * 4 * 4 + 3 * 4 * 4 + 2 * 4 * 3 + 2 * 3 * 4));
  });
});

describe('analytic FLOPs of the small preset equal the kernels that ran', () => {
  it('for every component, the whole decoder and the whole model, with no leaks', async () => {
    const bench = buildPresetBench('small', SMALL_CONFIG, benchTokenizer());
    try {
      expect(bench.cases.length).toBeGreaterThan(15);
      for (const c of bench.cases) {
        tf.dispose(tensorsOf(c.run())); // first calls may build caches meant to outlive them
        const p = await profileCall(c.run);
        // The kernels run the analytic FLOPs plus the block layouts' structural zeros, nothing else.
        expect(p.countedFlops, c.key).toBe(c.flops + c.zeroFlops);
        expect(p.leakedTensors, c.key).toBe(0);
      }
      const std = bench.cases.find((c) => c.key === 'small.decoder.standard')!;
      expect(std.flops).toBe(decoderFlops(SMALL_CONFIG, { batch: 1, queries: 16, conditions: 8 }, STANDARD_LAYER));
    } finally {
      bench.dispose();
    }
  }, 120_000);
});

describe("BAR's dense evaluation (used where the band cannot be read back)", () => {
  it('runs exactly the analytic FLOPs', async () => {
    const c = SMALL_CONFIG;
    const bar = new BoundaryAwareRefinement({
      featureChannels: c.pixelDecoder.maskDim,
      compChannels: c.bar.compChannels,
      hiddenChannels: c.bar.hiddenChannels,
      evaluation: 'dense',
      seed: 1,
    });
    const masks = ellipseMaskLogits(1, 5, 12, 10);
    const features = tf.randomNormal([1, 12, 10, c.pixelDecoder.maskDim], 0, 1, 'float32', 3) as tf.Tensor4D;
    const run = () => {
      const out = bar.forward({ maskLogits: masks, pixelFeatures: features });
      return [out.refinedLogits, out.band, out.delta];
    };
    tf.dispose(run());
    const p = await profileCall(run);
    expect(p.countedFlops).toBe(barDenseFlops(c, 5, 120, 120));
    expect(p.leakedTensors).toBe(0);
    tf.dispose([masks, features]);
    bar.dispose();
  });
});
