import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '@flowseg/core';
import { BoundaryAwareRefinement, boundaryBand } from '@flowseg/bar-head';
import { HOST_BAND_MAX_PIXELS, hostBoundaryBand } from '../src/band/hostBoundaryBand.js';
import { blobLogits, jsBand } from './reference.js';

/**
 * The host-side band (used by BAR for a few masks on backends that read back synchronously)
 * must equal the kernel path bit for bit: a one-pixel difference would change which pixels BAR
 * refines.
 */
describe.each(['cpu', 'wasm'] as const)('hostBoundaryBand on %s', (backend) => {
  it.each([
    { b: 2, n: 3, h: 12, w: 10, kernel: 3, epsilon: 0.1, mode: 'off' },
    { b: 1, n: 2, h: 9, w: 13, kernel: 5, epsilon: 0.25, mode: 'off' },
    { b: 1, n: 4, h: 16, w: 16, kernel: 3, epsilon: 0.5, mode: 'relative' },
    { b: 3, n: 1, h: 7, w: 5, kernel: 7, epsilon: 0.05, mode: 'relative' },
  ] as const)('equals boundaryBand and the window-loop reference ($b×$n×$h×$w, kernel $kernel, $mode)', async ({ b, n, h, w, kernel, epsilon, mode }) => {
    expect((await selectBackend(backend)).backend).toBe(backend);
    const logits = blobLogits(b, n, h, w, 21, 0, 1);
    const probs = tf.sigmoid(logits);
    const expected = boundaryBand(probs as tf.Tensor4D, { kernel, epsilon, adaptiveThreshold: mode });
    const host = hostBoundaryBand(probs.dataSync() as Float32Array, [b, n, h, w], kernel, epsilon, mode);
    const kernels = expected.dataSync();
    expect(Array.from(host)).toEqual(Array.from(kernels));
    const ones = host.reduce((s, v) => s + v, 0);
    expect(ones).toBeGreaterThan(0);
    expect(ones).toBeLessThan(host.length);
    // An independent re-derivation (full-window loops per plane) agrees too.
    const p = probs.dataSync() as Float32Array;
    for (let m = 0; m < b * n; m++) {
      const plane = jsBand(p.subarray(m * h * w, (m + 1) * h * w), h, w, kernel, epsilon, mode === 'relative');
      expect(Array.from(host.subarray(m * h * w, (m + 1) * h * w))).toEqual(Array.from(plane));
    }
    tf.dispose([logits, probs, expected]);
  });

  it('decides pixels whose gradient sits exactly at the threshold like the kernels (strict >, float32)', async () => {
    expect((await selectBackend(backend)).backend).toBe(backend);
    // Bands of 5 rows, each with one step of ε, ε + 1 ulp or ε − 1 ulp between its halves: the
    // middle row's window stays inside its band, so g at the step lands on, above or below ε.
    const [h, w, epsilon] = [15, 12, 0.1];
    const values = new Float32Array(h * w);
    const ulp = Math.fround(epsilon * (1 + 2 ** -23)) - Math.fround(epsilon);
    const steps = [epsilon, epsilon + ulp, epsilon - ulp];
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) values[y * w + x] = Math.fround(0.25 + (x >= w / 2 ? Math.fround(steps[Math.floor(y / 5)]!) : 0));
    }
    const probs = tf.tensor4d(values, [1, 1, h, w]);
    for (const mode of ['off', 'relative'] as const) {
      const expected = boundaryBand(probs, { kernel: 3, epsilon, adaptiveThreshold: mode }).dataSync();
      expect(Array.from(hostBoundaryBand(values, [1, 1, h, w], 3, epsilon, mode)), mode).toEqual(Array.from(expected));
    }
    // The threshold decides something here: at the step, some middle-row pixels are in the band and some are not.
    const band = hostBoundaryBand(values, [1, 1, h, w], 3, epsilon, 'off');
    const atStep = [2, 7, 12].flatMap((y) => [band[y * w + w / 2 - 1]!, band[y * w + w / 2]!]);
    expect(atStep).toContain(1);
    expect(atStep).toContain(0);
    probs.dispose();
  });

  it('BAR takes it below HOST_BAND_MAX_PIXELS and the kernels above: same band and refinement either way', async () => {
    expect((await selectBackend(backend)).backend).toBe(backend);
    const bar = new BoundaryAwareRefinement({ featureChannels: 4, compChannels: 3, hiddenChannels: 4, alphaInit: 2, seed: 5 });
    const side = 64;
    const masks = HOST_BAND_MAX_PIXELS / (side * side) + 1; // one mask over the limit
    const logits = blobLogits(1, masks, side, side, 31, 0.2, 0.8);
    const features = tf.randomNormal([1, side, side, 4], 0, 1, 'float32', 32) as tf.Tensor4D;
    const all = bar.forward({ maskLogits: logits, pixelFeatures: features }); // kernels
    const first = tf.slice(logits, [0, 0, 0, 0], [1, 2, side, side]) as tf.Tensor4D;
    const few = bar.forward({ maskLogits: first, pixelFeatures: features }); // host
    const head = (t: tf.Tensor) => Array.from(tf.slice(t, [0, 0, 0, 0], [1, 2, side, side]).dataSync());
    expect(Array.from(few.band.dataSync())).toEqual(head(all.band));
    const a = few.refinedLogits.dataSync();
    const k = head(all.refinedLogits);
    for (let i = 0; i < a.length; i++) expect(Math.abs(a[i]! - k[i]!)).toBeLessThan(1e-5);
    tf.dispose([logits, features, first, all.refinedLogits, all.band, all.delta, few.refinedLogits, few.band, few.delta]);
    bar.dispose();
  });
});
