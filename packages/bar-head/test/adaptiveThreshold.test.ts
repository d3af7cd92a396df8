import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '@flowseg/core';
import { BoundaryAwareRefinement, boundaryBand, morphologicalGradient } from '@flowseg/bar-head';
import { barWeights, naiveBar } from './reference.js';

beforeAll(async () => {
  await selectBackend('wasm');
});

function softLogits(seed: number): tf.Tensor4D {
  return tf.tidy(() => tf.mul(tf.randomNormal([1, 3, 12, 12], 0, 1, 'float32', seed), 1.5)) as tf.Tensor4D;
}

describe('adaptive band threshold', () => {
  it("'off' is the default and reproduces the fixed-ε band", () => {
    const m = softLogits(1);
    const f = tf.randomNormal([1, 12, 12, 4], 0, 1, 'float32', 2) as tf.Tensor4D;
    const bar = new BoundaryAwareRefinement({ featureChannels: 4 });
    expect(bar.adaptiveThreshold).toBe('off');
    const { band } = bar.forward({ maskLogits: m, pixelFeatures: f });
    const p = tf.sigmoid(m) as tf.Tensor4D;
    const want = boundaryBand(p, { epsilon: 0.1 });
    expect(Array.from(band.dataSync())).toEqual(Array.from(want.dataSync()));
    tf.dispose([m, f, band, p, want]);
    bar.dispose();
  });

  it("'relative' thresholds each mask at ε times its own largest gradient", () => {
    const m = softLogits(3);
    const f = tf.randomNormal([1, 12, 12, 4], 0, 1, 'float32', 4) as tf.Tensor4D;
    const bar = new BoundaryAwareRefinement({ featureChannels: 4, epsilon: 0.5, adaptiveThreshold: 'relative' });
    const { band } = bar.forward({ maskLogits: m, pixelFeatures: f });
    const p = tf.sigmoid(m) as tf.Tensor4D;
    const g = morphologicalGradient(p);
    // Re-derived here: per-mask threshold 0.5·max g.
    const gv = g.arraySync()[0]!;
    const bv = band.arraySync()[0]!;
    for (let n = 0; n < 3; n++) {
      const max = Math.max(...gv[n]!.flat());
      const threshold = Math.fround(Math.fround(0.5) * max);
      for (let y = 0; y < 12; y++)
        for (let x = 0; x < 12; x++) {
          expect(bv[n]![y]![x]).toBe(gv[n]![y]![x]! > threshold ? 1 : 0);
        }
    }
    tf.dispose([m, f, band, p, g]);
    bar.dispose();
  });

  it("'learned' starts at ε, keeps a hard band, and trains θ through the documented surrogate", () => {
    const tau = 0.05;
    const m = softLogits(5);
    const f = tf.randomNormal([1, 6, 6, 4], 0, 1, 'float32', 6) as tf.Tensor4D;
    const w = tf.randomNormal([1, 3, 12, 12], 0, 1, 'float32', 7);
    const bar = new BoundaryAwareRefinement({
      featureChannels: 4,
      adaptiveThreshold: 'learned',
      alphaInit: 3,
      thresholdTemperature: tau,
    });
    expect(bar.currentEpsilon()).toBeCloseTo(0.1, 6);
    const { band } = bar.forward({ maskLogits: m, pixelFeatures: f });
    // ΔM before masking (∂L/∂B = w·ΔM), re-derived with the naive reference and B = 1.
    const ones = tf.onesLike(m) as tf.Tensor4D;
    const naive = naiveBar(m, f, ones, barWeights(bar.namedWeights()));
    const delta = tf.sub(naive, m);
    const p = tf.sigmoid(m) as tf.Tensor4D;
    const fixed = boundaryBand(p);
    expect(Array.from(band.dataSync())).toEqual(Array.from(fixed.dataSync()));
    const theta = bar.namedWeights().get('epsilon_logit')!.read() as tf.Variable;
    expect(theta.shape).toEqual([]);
    const { grads, value } = tf.variableGrads(
      () => tf.sum(tf.mul(bar.forward({ maskLogits: m, pixelFeatures: f }).refinedLogits, w)) as tf.Scalar,
      [theta],
    );
    // dL/dθ = Σ w·ΔM · (−s(1−s)/τ) · ε(1−ε), s = σ((g − ε)/τ), re-derived in plain JS.
    const g = morphologicalGradient(p).dataSync();
    const dv = delta.dataSync();
    const wv = w.dataSync();
    const eps = 0.1;
    let want = 0;
    for (let i = 0; i < g.length; i++) {
      const s = 1 / (1 + Math.exp(-(g[i]! - eps) / tau));
      want += wv[i]! * dv[i]! * (-(s * (1 - s)) / tau);
    }
    want *= eps * (1 - eps);
    const got = grads[theta.name]!.dataSync()[0]!;
    expect(Math.abs(want)).toBeGreaterThan(1e-2);
    expect(Math.abs(got - want)).toBeLessThan(1e-4 * Math.abs(want));
    // A gradient step on θ moves ε away from its initial value.
    tf.tidy(() => theta.assign(tf.sub(theta, tf.mul(grads[theta.name]!, 1))));
    expect(bar.currentEpsilon()).not.toBeCloseTo(0.1, 4);
    tf.dispose([m, f, w, band, ones, naive, delta, p, fixed, value, ...Object.values(grads)]);
    bar.dispose();
  });
});
