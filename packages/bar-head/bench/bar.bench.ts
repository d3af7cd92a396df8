/**
 * `npm run bench:bar`: BAR forward latency on wasm, default config (D = 256, Cc = 32,
 * hidden = 32, 3×3 convs, ε = 0.1, 3×3 band; 18,050 parameters).
 *
 * - 200 masks × 64²: `F_pix [1, 64, 64, 256]` at the mask resolution (Mask2Former's masks
 *   live on F_pix's grid: stride 4 of a 256² image).
 * - 1 mask × 256²: `F_pix [1, 64, 64, 256]` at stride 4, compressed at 64² and resized
 *   bilinearly to 256² inside BAR (also timed with F_pix already at 256²).
 *
 * Masks are soft ellipses of random size (3–20 px radii at 64², 40–90 px at 256², 30 % of the
 * 200 queries empty); the band fraction is printed. Same-run references:
 * `evaluation: 'dense'` (f_refine everywhere, as convs), the band alone, forward+backward,
 * and a naive formulation that concatenates N copies of F_comp before one full conv.
 * The five forward cases run interleaved (one run of each in turn) so that they see the same
 * machine state. Wall time is the figure; process CPU time (all threads: the wasm backend may run XNNPACK on
 * several) is printed next to it to show when a shared machine's load inflated the wall time.
 */
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '@flowseg/core';
import { BoundaryAwareRefinement, boundaryBand, type BoundaryAwareRefinementOutputs } from '@flowseg/bar-head';
import { measure, measureInterleaved, printTable, type Timing } from './benchUtil.js';

const D = 256;
const selection = await selectBackend('wasm');
const bar = new BoundaryAwareRefinement({ featureChannels: D, seed: 0 });
const dense = new BoundaryAwareRefinement({ featureChannels: D, seed: 0, evaluation: 'dense' });
const params = bar.countParams();

/** Soft elliptical blobs `[1, n, size, size]` (logit slope ≈ 2 per pixel at the edge); 30 % of n > 1 masks empty. */
function blobLogits(n: number, size: number, minR: number, maxR: number, seed: number): tf.Tensor4D {
  let s = seed;
  const rand = () => (s = (s * 1103515245 + 12345) % 2147483648) / 2147483648;
  const v = new Float32Array(n * size * size);
  for (let m = 0; m < n; m++) {
    const empty = n > 1 && rand() < 0.3;
    const cy = size * (0.2 + 0.6 * rand());
    const cx = size * (0.2 + 0.6 * rand());
    const ry = minR + (maxR - minR) * rand();
    const rx = minR + (maxR - minR) * rand();
    for (let y = 0; y < size; y++) {
      for (let x = 0; x < size; x++) {
        const d = Math.hypot((y - cy) / ry, (x - cx) / rx);
        v[(m * size + y) * size + x] = empty ? -4 - 2 * rand() : 2 * Math.min(ry, rx) * (1 - d);
      }
    }
  }
  return tf.tensor4d(v, [1, n, size, size]);
}

const m200 = blobLogits(200, 64, 3, 20, 1);
const f64 = tf.randomNormal([1, 64, 64, D], 0, 1, 'float32', 2) as tf.Tensor4D;
const m1 = blobLogits(1, 256, 40, 90, 3);
const f256 = tf.randomNormal([1, 256, 256, D], 0, 1, 'float32', 4) as tf.Tensor4D;
const fraction = (m: tf.Tensor4D) => tf.tidy(() => tf.mean(boundaryBand(tf.sigmoid(m) as tf.Tensor4D)).dataSync()[0]!);
const band200Fraction = fraction(m200);
const band1Fraction = fraction(m1);

const outputs = (o: BoundaryAwareRefinementOutputs) => [o.refinedLogits, o.band, o.delta];
const main = measureInterleaved(
  {
    band200: () => outputs(bar.forward({ maskLogits: m200, pixelFeatures: f64 })),
    dense200: () => outputs(dense.forward({ maskLogits: m200, pixelFeatures: f64 })),
    band1: () => outputs(bar.forward({ maskLogits: m1, pixelFeatures: f64 })),
    dense1: () => outputs(dense.forward({ maskLogits: m1, pixelFeatures: f64 })),
    band1Full: () => outputs(bar.forward({ maskLogits: m1, pixelFeatures: f256 })),
  },
  9,
  3,
);
const { band200: t200, dense200: t200Dense, band1: t1, dense1: t1Dense, band1Full: t1Full } = main;
const tBand = measure(() => tf.tidy(() => boundaryBand(tf.sigmoid(m200) as tf.Tensor4D)), 9);

const vars = bar.trainableWeights.map((w) => w.read() as tf.Variable);
const tTrain = measure(
  () =>
    tf.tidy(() => {
      const { grads, value } = tf.variableGrads(
        () => tf.mean(tf.square(bar.forward({ maskLogits: m200, pixelFeatures: f64 }).refinedLogits)) as tf.Scalar,
        vars,
      );
      return [value, ...Object.values(grads)];
    }),
  5,
);

// Naive: N explicit copies of F_comp concatenated with the masks, one full first conv.
const w = bar.namedWeights();
const read = (k: string) => w.get(k)!.read();
const naive200 = () =>
  tf.tidy(() => {
    const [b, n, h, wd] = m200.shape;
    const band = boundaryBand(tf.sigmoid(m200) as tf.Tensor4D);
    const comp = tf.add(tf.matMul(tf.reshape(f64, [-1, D]), read('f_comp.kernel')), read('f_comp.bias'));
    const cc = comp.shape[1]!;
    const tiled = tf.tile(tf.reshape(comp, [b, 1, h, wd, cc]), [1, n, 1, 1, 1]);
    const x = tf.reshape(tf.concat([tf.reshape(m200, [b, n, h, wd, 1]), tiled], 4), [
      b * n,
      h,
      wd,
      1 + cc,
    ]) as tf.Tensor4D;
    const k1 = read('f_refine.conv1.kernel') as tf.Tensor4D;
    const hidden = tf.relu(tf.add(tf.conv2d(x, k1, 1, 'same'), read('f_refine.conv1.bias'))) as tf.Tensor4D;
    const out = tf.add(
      tf.conv2d(hidden, read('f_refine.conv2.kernel') as tf.Tensor4D, 1, 'same'),
      read('f_refine.conv2.bias'),
    );
    const t = tf.sub(tf.mul(tf.sigmoid(tf.mul(out, 2)), 2), 1);
    return tf.add(m200, tf.mul(tf.mul(tf.reshape(t, [b, n, h, wd]), read('alpha')), band));
  });
const tNaive = measure(naive200, 3);

const row = (name: string, t: Timing, ref?: Timing) => ({
  case: name,
  ms: t.ms,
  'cpu ms': t.cpuMs,
  'naive/this': ref ? ref.ms / t.ms : '',
});
printTable([
  row(`200 × 64², F_pix 64², band ${(100 * band200Fraction).toFixed(1)} %`, t200, tNaive),
  row("  evaluation 'dense' (convs everywhere)", t200Dense, tNaive),
  row('  naive: N copies of F_comp, full conv', tNaive, tNaive),
  row('  band only (σ, dilate, erode, > ε)', tBand),
  row('  forward + backward (all weights)', tTrain),
  row(`1 × 256², F_pix 64² (stride 4), band ${(100 * band1Fraction).toFixed(1)} %`, t1),
  row("  evaluation 'dense'", t1Dense),
  row('  F_pix at 256² (mask resolution)', t1Full),
]);
console.log(
  `backend ${tf.getBackend()} (${selection.reason}); params ${params}; ` +
    `dense/band wall time: ${(t200Dense.ms / t200.ms).toFixed(1)}× (200×64²), ${(t1Dense.ms / t1.ms).toFixed(
      1,
    )}× (1×256²)`,
);
console.log(
  JSON.stringify({
    backend: tf.getBackend(),
    params,
    ms_200x64: t200.ms,
    ms_1x256: t1.ms,
    features_200x64: '[1,64,64,256] at mask resolution',
    features_1x256: '[1,64,64,256] at stride 4, resized to 256x256',
    band_fraction_200x64: band200Fraction,
    band_fraction_1x256: band1Fraction,
    cpu_ms_200x64: t200.cpuMs,
    cpu_ms_1x256: t1.cpuMs,
    ms_200x64_dense: t200Dense.ms,
    ms_1x256_dense: t1Dense.ms,
    ms_1x256_features256: t1Full.ms,
    ms_200x64_band_only: tBand.ms,
    ms_200x64_fwdbwd: tTrain.ms,
    ms_200x64_naive: tNaive.ms,
    dense_over_band_200x64: t200Dense.ms / t200.ms,
    dense_over_band_1x256: t1Dense.ms / t1.ms,
    naive_over_band_200x64: tNaive.ms / t200.ms,
  }),
);
