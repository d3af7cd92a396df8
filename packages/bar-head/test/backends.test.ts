import { afterAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '@flowseg/core';
import { BoundaryAwareRefinement } from '@flowseg/bar-head';

afterAll(async () => {
  await selectBackend('wasm');
});

interface Result {
  refined: Float32Array;
  band: Float32Array;
  dLogits: Float32Array;
  dWeights: Float32Array[];
}

/** Forward + gradients (masks and every weight) of one small BAR case on the active backend. */
function run(bar: BoundaryAwareRefinement, m: tf.Tensor4D, f: tf.Tensor4D, w: tf.Tensor): Result {
  return tf.tidy(() => {
    const out = bar.forward({ maskLogits: m, pixelFeatures: f });
    const dLogits = tf.grad((x: tf.Tensor) =>
      tf.sum(tf.mul(bar.forward({ maskLogits: x as tf.Tensor4D, pixelFeatures: f }).refinedLogits, w)),
    )(m);
    const vars = bar.trainableWeights.map((v) => v.read() as tf.Variable);
    const { grads } = tf.variableGrads(
      () => tf.sum(tf.mul(bar.forward({ maskLogits: m, pixelFeatures: f }).refinedLogits, w)) as tf.Scalar,
      vars,
    );
    return {
      refined: out.refinedLogits.dataSync() as Float32Array,
      band: out.band.dataSync() as Float32Array,
      dLogits: dLogits.dataSync() as Float32Array,
      dWeights: vars.map((v) => grads[v.name]!.dataSync() as Float32Array),
    };
  });
}

function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i]! - b[i]!));
  return d;
}

describe('cpu and wasm agree', () => {
  it('on the forward pass and on every gradient, for each threshold mode and evaluation', async () => {
    for (const [adaptiveThreshold, evaluation] of [
      ['off', 'band'],
      ['relative', 'band'],
      ['off', 'dense'],
      ['learned', 'dense'],
    ] as const) {
      await selectBackend('wasm');
      const bar = new BoundaryAwareRefinement({
        featureChannels: 6,
        compChannels: 3,
        hiddenChannels: 4,
        alphaInit: 1,
        adaptiveThreshold,
        evaluation,
        seed: 8,
      });
      bar.ensureBuilt();
      const m = tf.tidy(() => tf.mul(tf.randomNormal([1, 2, 10, 10], 0, 1, 'float32', 1), 2)) as tf.Tensor4D;
      const f = tf.randomNormal([1, 5, 5, 6], 0, 1, 'float32', 2) as tf.Tensor4D;
      const w = tf.randomNormal([1, 2, 10, 10], 0, 1, 'float32', 3);
      const onWasm = run(bar, m, f, w);
      await selectBackend('cpu');
      const onCpu = run(bar, m, f, w);
      expect(Array.from(onCpu.band)).toEqual(Array.from(onWasm.band));
      expect(maxDiff(onCpu.refined, onWasm.refined)).toBeLessThan(1e-5);
      expect(maxDiff(onCpu.dLogits, onWasm.dLogits)).toBeLessThan(1e-5);
      onCpu.dWeights.forEach((g, i) => {
        const scale = Math.max(1, ...Array.from(g, Math.abs));
        expect(maxDiff(g, onWasm.dWeights[i]!) / scale).toBeLessThan(1e-4);
      });
      await selectBackend('wasm');
      tf.dispose([m, f, w]);
      bar.dispose();
    }
  });
});
