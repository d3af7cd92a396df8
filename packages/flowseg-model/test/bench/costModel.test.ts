import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { MultiHeadAttention, attentionLayout, selectBackend } from '@flowseg/core';
import { SMALL_CONFIG } from '../../src/index.js';
import { buildPresetBench } from '../../bench/cost/components.js';
import { benchTokenizer } from '../../bench/cost/fixtures.js';
import { kernelFlops, profileCall } from '../../bench/cost/kernelProfile.js';
import { tensorsOf } from '../../bench/cost/timing.js';
import {
  attentionFlops,
  barDenseFlops,
  attentionLayoutDeltaFlops,
  decoderFlops,
  decoderLayoutDeltaFlops,
  modelGeometry,
  STANDARD_LAYER,
} from '../../bench/cost/flops.js';
import { buildDecoderParts } from '../../bench/cost/decoderParts.js';
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

  it('layout FLOPs by hand: block zeros, folded projections, none per head', () => {
    // 16 queries over 8 keys, width 64, 8 heads: few keys (8·8 ≤ 64); (heads − 1) zero blocks in each of the two products.
    expect(attentionLayoutDeltaFlops(16, 8, 64, 8)).toBe(7 * 2 * (2 * 16 * 64 * 8));
    expect(attentionLayoutDeltaFlops(8, 16, 64, 8)).toBe(7 * 2 * (2 * 8 * 64 * 16));
    expect(attentionLayoutDeltaFlops(200, 200, 256, 8)).toBe(0);
    // BSF's semantic attention at the paper's size folds: the q and out projections of 200 rows
    // (2 · 2·200·256²) become projections of 8·8 key rows (2 · 2·64·256²) plus the q-bias column (2·64·256),
    // and the two products run over all 8 head blocks (+7 zero blocks each).
    const d = 256;
    expect(attentionLayoutDeltaFlops(200, 8, d, 8)).toBe(
      -2 * 2 * 200 * d * d + 2 * 2 * 64 * d * d + 2 * 64 * d + 7 * 2 * (2 * 200 * d * 8),
    );
    // Executed: 0.57 × the textbook count (which the analytic figures keep).
    expect(attentionFlops(200, 8, d) + attentionLayoutDeltaFlops(200, 8, d, 8)).toBeLessThan(0.6 * attentionFlops(200, 8, d));
  });

  it.each([
    { nq: 40, nk: 4, layout: 'foldedKeys' },
    { nq: 4, nk: 40, layout: 'foldedQueries' },
    { nq: 12, nk: 4, layout: 'fewKeys' },
  ] as const)('$layout: the kernels of one attention call run the textbook count plus its layout delta', async ({ nq, nk, layout }) => {
    const [d, h] = [32, 4];
    expect(attentionLayout(nq, nk, h, d)).toBe(layout);
    const mha = new MultiHeadAttention({ embedDim: d, numHeads: h, seed: 3 });
    const query = tf.randomNormal([1, nq, d], 0, 1, 'float32', 1) as tf.Tensor3D;
    const key = tf.randomNormal([1, nk, d], 0, 1, 'float32', 2) as tf.Tensor3D;
    const run = () => mha.forward({ query, key, value: key }).output;
    tf.dispose(run());
    const p = await profileCall(run);
    expect(p.countedFlops).toBe(attentionFlops(nq, nk, d) + attentionLayoutDeltaFlops(nq, nk, d, h));
    expect(p.leakedTensors).toBe(0);
    tf.dispose([query, key]);
    for (const v of mha.weights) v.dispose();
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
        // The kernels run the analytic FLOPs adjusted by the attention layouts, nothing else.
        expect(p.countedFlops, c.key).toBe(c.flops + c.layoutDeltaFlops);
        expect(p.leakedTensors, c.key).toBe(0);
      }
      const std = bench.cases.find((c) => c.key === 'small.decoder.standard')!;
      expect(std.flops).toBe(decoderFlops(SMALL_CONFIG, { batch: 1, queries: 16, conditions: 8 }, STANDARD_LAYER));
    } finally {
      bench.dispose();
    }
  }, 120_000);
});

describe('the decoder with deep supervision (auxOutputs: true, as training runs it)', () => {
  it('runs exactly the analytic FLOPs: L + 1 full-resolution predictions', async () => {
    const c = SMALL_CONFIG;
    const parts = buildDecoderParts(c);
    const { decoderScales, maskSize } = modelGeometry(c);
    const features = decoderScales.map(({ height, width }, i) => tf.randomNormal([1, height, width, c.pixelDecoder.convDim], 0, 1, 'float32', 30 + i) as tf.Tensor4D);
    const maskFeatures = tf.randomNormal([1, maskSize.height, maskSize.width, c.pixelDecoder.maskDim], 0, 1, 'float32', 33) as tf.Tensor4D;
    const sizes = { batch: 1, queries: c.decoder.numQueries, conditions: 0 };
    const run = () => tensorsOf(parts.standard.forward({ features, maskFeatures, auxOutputs: true }));
    tf.dispose(run());
    const p = await profileCall(run);
    const withAux = decoderFlops(c, sizes, STANDARD_LAYER, true);
    expect(p.countedFlops).toBe(withAux + decoderLayoutDeltaFlops(c, sizes, STANDARD_LAYER));
    // What inference skips: the L intermediate predictions at full resolution.
    expect(withAux).toBeGreaterThan(decoderFlops(c, sizes, STANDARD_LAYER));
    expect(p.leakedTensors).toBe(0);
    tf.dispose([features, maskFeatures]);
    parts.dispose();
  });
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
