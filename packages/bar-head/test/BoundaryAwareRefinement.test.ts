import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { DTypeError, ShapeError, ValueError, selectBackend } from '@flowseg/core';
import { expectNoLeaks } from '@flowseg/core/testing';
import {
  BoundaryAwareRefinement,
  barParameterBreakdown,
  boundaryBand,
  type BoundaryAwareRefinementOutputs,
} from '@flowseg/bar-head';
import { barWeights, blobLogits, naiveBar } from './reference.js';

beforeAll(async () => {
  await selectBackend('wasm');
});

function outputs(o: BoundaryAwareRefinementOutputs): tf.Tensor[] {
  return [o.refinedLogits, o.band, o.delta];
}

function features(b: number, h: number, w: number, c: number, seed: number): tf.Tensor4D {
  return tf.randomNormal([b, h, w, c], 0, 1, 'float32', seed) as tf.Tensor4D;
}

describe('BoundaryAwareRefinement', () => {
  describe.each(['band', 'dense'] as const)('evaluation %s', (evaluation) => {
    it('returns refined logits, band and delta of the mask shape; leaves the outside of the band bit-exact', () => {
      const bar = new BoundaryAwareRefinement({ evaluation, featureChannels: 8, alphaInit: 3, seed: 1 });
      const m = blobLogits(2, 3, 16, 16, 10);
      const f = features(2, 16, 16, 8, 11);
      const out = bar.forward({ maskLogits: m, pixelFeatures: f });
      for (const t of [out.refinedLogits, out.band, out.delta]) expect(t.shape).toEqual([2, 3, 16, 16]);
      const raw = m.dataSync();
      const ref = out.refinedLogits.dataSync();
      const band = out.band.dataSync();
      let inside = 0;
      let changed = 0;
      for (let i = 0; i < raw.length; i++) {
        if (band[i] === 0) {
          expect(ref[i]).toBe(raw[i]);
        } else {
          inside++;
          const bound = 3 + 4 * Math.abs(raw[i]!) * 2 ** -23; // |α| plus the rounding of the sum
          expect(Math.abs(ref[i]! - raw[i]!)).toBeLessThanOrEqual(bound);
          if (ref[i] !== raw[i]) changed++;
        }
      }
      expect(inside).toBeGreaterThan(50);
      expect(inside).toBeLessThan(raw.length - 200);
      expect(changed).toBeGreaterThan(inside * 0.9);
      // |ΔM| ≤ |α| everywhere, and the band is the function's band of σ(M).
      expect(tf.max(tf.abs(out.delta)).dataSync()[0]).toBeLessThanOrEqual(3);
      const probs = tf.sigmoid(m) as tf.Tensor4D;
      const band2 = boundaryBand(probs);
      expect(Array.from(band2.dataSync())).toEqual(Array.from(band));
      tf.dispose([m, f, ...outputs(out), probs, band2]);
      bar.dispose();
    });

    it('matches a naive re-derivation (N feature copies, full concat conv, tf.tanh), at equal and different resolutions', () => {
      for (const refineKernelSize of [3, 5]) {
        const bar = new BoundaryAwareRefinement({
          evaluation,
          featureChannels: 12,
          compChannels: 5,
          hiddenChannels: 7,
          refineKernelSize,
          alphaInit: 2,
          seed: 3,
        });
        const wts = barWeights(bar.namedWeights());
        for (const [fh, fw] of [
          [16, 12],
          [8, 6],
          [5, 7],
          [24, 20],
        ] as const) {
          const m = blobLogits(2, 4, 16, 12, 20);
          const f = features(2, fh, fw, 12, 21);
          const out = bar.forward({ maskLogits: m, pixelFeatures: f });
          const want = naiveBar(m, f, out.band, wts);
          const diff = tf.max(tf.abs(tf.sub(out.refinedLogits, want))).dataSync()[0]!;
          expect(diff).toBeLessThan(2e-5);
          tf.dispose([m, f, ...outputs(out), want]);
        }
        bar.dispose();
      }
    });

    it('is the exact identity with alphaInit 0, and with an empty band', () => {
      const bar = new BoundaryAwareRefinement({ evaluation, featureChannels: 4, alphaInit: 0 });
      const m = blobLogits(1, 2, 10, 10, 30);
      const f = features(1, 10, 10, 4, 31);
      const out = bar.forward({ maskLogits: m, pixelFeatures: f });
      expect(Array.from(out.refinedLogits.dataSync())).toEqual(Array.from(m.dataSync()));
      const flat = tf.fill([1, 2, 10, 10], 2.5) as tf.Tensor4D;
      const bar2 = new BoundaryAwareRefinement({ evaluation, featureChannels: 4, alphaInit: 5 });
      const out2 = bar2.forward({ maskLogits: flat, pixelFeatures: f });
      expect(out2.band.sum().dataSync()[0]).toBe(0);
      expect(Array.from(out2.refinedLogits.dataSync())).toEqual(Array.from(flat.dataSync()));
      tf.dispose([m, f, ...outputs(out), flat, ...outputs(out2)]);
      bar.dispose();
      bar2.dispose();
    });

    it('handles one mask and many masks per image consistently (each mask refined independently)', () => {
      const bar = new BoundaryAwareRefinement({ evaluation, featureChannels: 6, seed: 5 });
      const m = blobLogits(2, 5, 12, 12, 40);
      const f = features(2, 6, 6, 6, 41);
      const all = bar.forward({ maskLogits: m, pixelFeatures: f });
      const one = tf.slice(m, [1, 3, 0, 0], [1, 1, 12, 12]) as tf.Tensor4D;
      const fOne = tf.slice(f, [1, 0, 0, 0], [1, 6, 6, 6]) as tf.Tensor4D;
      const single = bar.forward({ maskLogits: one, pixelFeatures: fOne });
      const fromAll = tf.slice(all.refinedLogits, [1, 3, 0, 0], [1, 1, 12, 12]);
      expect(tf.max(tf.abs(tf.sub(fromAll, single.refinedLogits))).dataSync()[0]).toBeLessThan(1e-5);
      tf.dispose([m, f, ...outputs(all), one, fOne, ...outputs(single), fromAll]);
      bar.dispose();
    });

    describe('gradients', () => {
      it('reach f_comp, f_refine and α', () => {
        const bar = new BoundaryAwareRefinement({ evaluation, featureChannels: 8, seed: 2 });
        const m = blobLogits(2, 3, 12, 12, 50);
        const f = features(2, 6, 6, 8, 51);
        const target = tf.randomNormal([2, 3, 12, 12], 0, 1, 'float32', 52);
        bar.ensureBuilt();
        const { grads, value } = tf.variableGrads(
          () => tf.sum(tf.mul(bar.forward({ maskLogits: m, pixelFeatures: f }).refinedLogits, target)) as tf.Scalar,
          bar.trainableWeights.map((w) => w.read() as tf.Variable),
        );
        const byName = new Map([...bar.namedWeights()].map(([k, v]) => [k, grads[(v.read() as tf.Variable).name]]));
        expect([...byName.keys()].sort()).toEqual([
          'alpha',
          'f_comp.bias',
          'f_comp.kernel',
          'f_refine.conv1.bias',
          'f_refine.conv1.kernel',
          'f_refine.conv2.bias',
          'f_refine.conv2.kernel',
        ]);
        for (const [name, g] of byName) {
          expect(g, name).toBeDefined();
          expect(tf.max(tf.abs(g!)).dataSync()[0], name).toBeGreaterThan(0);
        }
        tf.dispose([m, f, target, value, ...Object.values(grads)]);
        bar.dispose();
      });

      it('d(refined)/d(maskLogits) is exactly 1 outside the band when only the outside is weighted', () => {
        for (const adaptiveThreshold of evaluation === 'dense'
          ? (['off', 'relative', 'learned'] as const)
          : (['off', 'relative'] as const)) {
          const bar = new BoundaryAwareRefinement({
            evaluation,
            featureChannels: 8,
            alphaInit: 2,
            seed: 4,
            adaptiveThreshold,
          });
          const m = blobLogits(2, 3, 12, 12, 60);
          const f = features(2, 12, 12, 8, 61);
          const { band } = bar.forward({ maskLogits: m, pixelFeatures: f });
          const outside = tf.sub(1, band);
          // Upstream gradient 1 outside the band, 0 inside: the ΔM⊙B branch then carries exact
          // zeros, so any nonzero deviation would have to come through B (or its σ).
          const dm = tf.grad((x: tf.Tensor) =>
            tf.sum(tf.mul(bar.forward({ maskLogits: x as tf.Tensor4D, pixelFeatures: f }).refinedLogits, outside)),
          )(m);
          expect(Array.from(dm.dataSync())).toEqual(Array.from(outside.dataSync()));
          tf.dispose([m, f, band, outside, dm]);
          bar.dispose();
        }
      });

      it('the band contributes no gradient: full gradients equal those of the same math with B as a constant', () => {
        const bar = new BoundaryAwareRefinement({ evaluation, featureChannels: 8, alphaInit: 1.5, seed: 6 });
        const wts = barWeights(bar.namedWeights());
        const m = blobLogits(1, 4, 12, 12, 70);
        const f = features(1, 6, 6, 8, 71);
        const w = tf.randomNormal([1, 4, 12, 12], 0, 1, 'float32', 72);
        const { band } = bar.forward({ maskLogits: m, pixelFeatures: f });
        const got = tf.grad((x: tf.Tensor) =>
          tf.sum(tf.mul(bar.forward({ maskLogits: x as tf.Tensor4D, pixelFeatures: f }).refinedLogits, w)),
        )(m);
        const want = tf.grad((x: tf.Tensor) => tf.sum(tf.mul(naiveBar(x as tf.Tensor4D, f, band, wts), w)))(m);
        expect(tf.max(tf.abs(tf.sub(got, want))).dataSync()[0]).toBeLessThan(1e-5);
        // The returned band itself: exactly zero gradient.
        const dBand = tf.grad((x: tf.Tensor) =>
          tf.sum(tf.mul(bar.forward({ maskLogits: x as tf.Tensor4D, pixelFeatures: f }).band, w)),
        )(m);
        expect(Array.from(dBand.dataSync()).every((v) => v === 0)).toBe(true);
        tf.dispose([m, f, w, band, got, want, dBand]);
        bar.dispose();
      });
    });
  });

  it('accepts zero masks per image (both evaluations)', () => {
    for (const evaluation of ['band', 'dense'] as const) {
      const bar = new BoundaryAwareRefinement({ featureChannels: 4, evaluation });
      const m = tf.zeros([2, 0, 8, 8]) as tf.Tensor4D;
      const f = tf.zeros([2, 4, 4, 4]) as tf.Tensor4D;
      const out = bar.forward({ maskLogits: m, pixelFeatures: f });
      for (const t of outputs(out)) expect(t.shape).toEqual([2, 0, 8, 8]);
      tf.dispose([m, f, ...outputs(out)]);
      bar.dispose();
    }
  });

  it('reports a small parameter count with a documented breakdown', () => {
    const bar = new BoundaryAwareRefinement();
    const b = bar.parameterBreakdown();
    expect(b).toEqual({
      fComp: 256 * 32 + 32,
      fRefineConv1: 9 * 33 * 32 + 32,
      fRefineConv2: 9 * 32 + 1,
      alpha: 1,
      epsilonLogit: 0,
      total: 18050,
    });
    expect(bar.countParams()).toBe(18050);
    const learned = new BoundaryAwareRefinement({ adaptiveThreshold: 'learned', compChannels: 16, hiddenChannels: 16 });
    expect(learned.countParams()).toBe(
      barParameterBreakdown({ adaptiveThreshold: 'learned', compChannels: 16, hiddenChannels: 16 }).total,
    );
    expect(learned.parameterBreakdown().epsilonLogit).toBe(1);
    bar.dispose();
    learned.dispose();
  });

  it('round-trips through getConfig/registerClass with the same output for the same weights', () => {
    const bar = new BoundaryAwareRefinement({
      featureChannels: 6,
      compChannels: 4,
      hiddenChannels: 5,
      epsilon: 0.2,
      bandKernel: 5,
      adaptiveThreshold: 'learned',
      thresholdTemperature: 0.1,
      alphaInit: 0.7,
      seed: 9,
      name: 'bar',
    });
    bar.ensureBuilt();
    const config = bar.getConfig();
    const registered = tf.serialization.SerializationMap.getMap().classNameMap[BoundaryAwareRefinement.className];
    expect(registered).toBeDefined();
    const [cls, fromConfig] = registered!;
    const copy = fromConfig(cls, JSON.parse(JSON.stringify(config))) as BoundaryAwareRefinement;
    expect(copy).toBeInstanceOf(BoundaryAwareRefinement);
    expect(copy.settings).toEqual(bar.settings);
    copy.ensureBuilt();
    expect([...copy.namedWeights().keys()]).toEqual([...bar.namedWeights().keys()]);
    // Same seed → same initial weights; set them anyway, as a checkpoint load would.
    copy.setWeights(bar.getWeights());
    const m = blobLogits(1, 2, 10, 10, 80);
    const f = features(1, 5, 5, 6, 81);
    const a = bar.forward({ maskLogits: m, pixelFeatures: f });
    const b = copy.forward({ maskLogits: m, pixelFeatures: f });
    expect(Array.from(b.refinedLogits.dataSync())).toEqual(Array.from(a.refinedLogits.dataSync()));
    tf.dispose([m, f, ...outputs(a), ...outputs(b)]);
    bar.dispose();
    copy.dispose();
  });

  it('seeds its initialization', () => {
    const a = new BoundaryAwareRefinement({ featureChannels: 4, seed: 3 });
    const b = new BoundaryAwareRefinement({ featureChannels: 4, seed: 3 });
    const c = new BoundaryAwareRefinement({ featureChannels: 4, seed: 4 });
    for (const l of [a, b, c]) l.ensureBuilt();
    const flat = (l: BoundaryAwareRefinement) => l.getWeights().flatMap((w) => Array.from(w.dataSync()));
    expect(flat(b)).toEqual(flat(a));
    expect(flat(c)).not.toEqual(flat(a));
    for (const l of [a, b, c]) l.dispose();
  });

  it('composes with tf.model through call()', () => {
    const bar = new BoundaryAwareRefinement({ featureChannels: 4, seed: 1 });
    const mIn = tf.input({ shape: [2, 8, 8] });
    const fIn = tf.input({ shape: [4, 4, 4] });
    const out = bar.apply([mIn, fIn]) as tf.SymbolicTensor;
    expect(out.shape).toEqual([null, 2, 8, 8]);
    const model = tf.model({ inputs: [mIn, fIn], outputs: out });
    const m = blobLogits(1, 2, 8, 8, 90);
    const f = features(1, 4, 4, 4, 91);
    const y = model.predict([m, f]) as tf.Tensor;
    const direct = bar.forward({ maskLogits: m, pixelFeatures: f });
    expect(Array.from(y.dataSync())).toEqual(Array.from(direct.refinedLogits.dataSync()));
    tf.dispose([m, f, y, ...outputs(direct)]);
    model.dispose();
  });

  it('rejects inputs with the wrong shape or dtype, naming the argument', () => {
    const bar = new BoundaryAwareRefinement({ featureChannels: 8 });
    const m = tf.zeros([2, 3, 8, 8]) as tf.Tensor4D;
    const f = tf.zeros([2, 8, 8, 8]) as tf.Tensor4D;
    const bad: Array<[tf.Tensor, tf.Tensor, RegExp]> = [
      [tf.zeros([3, 8, 8]), f, /maskLogits: expected \[batch, masks, height, width\], received \[3, 8, 8\]/],
      [m, tf.zeros([2, 8, 8, 16]), /pixelFeatures: .*channels: 16 ≠ 8/],
      [m, tf.zeros([1, 8, 8, 8]), /pixelFeatures: .*batch: 1 ≠ 2/],
      [m, tf.zeros([2, 8, 8]), /pixelFeatures: .*rank 3/],
    ];
    for (const [mm, ff, msg] of bad) {
      expect(() => bar.forward({ maskLogits: mm as tf.Tensor4D, pixelFeatures: ff as tf.Tensor4D })).toThrow(
        ShapeError,
      );
      expect(() => bar.forward({ maskLogits: mm as tf.Tensor4D, pixelFeatures: ff as tf.Tensor4D })).toThrow(msg);
    }
    const mInt = tf.zeros([2, 3, 8, 8], 'int32') as tf.Tensor4D;
    expect(() => bar.forward({ maskLogits: mInt, pixelFeatures: f })).toThrow(DTypeError);
    tf.dispose([m, f, mInt, ...bad.flatMap(([a, b]) => [a, b])]);
    bar.dispose();
  });

  it('validates its config', () => {
    const cases: Array<[Record<string, unknown>, RegExp]> = [
      [{ featureChannels: 0 }, /featureChannels/],
      [{ compChannels: 2.5 }, /compChannels/],
      [{ hiddenChannels: -1 }, /hiddenChannels/],
      [{ refineKernelSize: 2 }, /refineKernelSize/],
      [{ bandKernel: 4 }, /bandKernel/],
      [{ epsilon: 1.5 }, /epsilon/],
      [{ epsilon: 0, adaptiveThreshold: 'learned' }, /epsilon/],
      [{ adaptiveThreshold: 'auto' }, /adaptiveThreshold/],
      [{ thresholdTemperature: 0 }, /thresholdTemperature/],
      [{ alphaInit: Number.POSITIVE_INFINITY }, /alphaInit/],
      [{ seed: 0.5 }, /seed/],
    ];
    for (const [config, msg] of cases) {
      expect(() => new BoundaryAwareRefinement(config)).toThrow(ValueError);
      expect(() => new BoundaryAwareRefinement(config)).toThrow(msg);
    }
  });

  it('leaks no tensors (forward, all threshold modes, and a gradient step)', () => {
    const m = blobLogits(2, 3, 10, 10, 100);
    const f = features(2, 5, 5, 8, 101);
    for (const [adaptiveThreshold, evaluation] of [
      ['off', 'band'],
      ['relative', 'band'],
      ['off', 'dense'],
      ['learned', 'dense'],
    ] as const) {
      const bar = new BoundaryAwareRefinement({ featureChannels: 8, adaptiveThreshold, evaluation });
      tf.dispose(expectNoLeaks(() => outputs(bar.forward({ maskLogits: m, pixelFeatures: f })), { warmup: true }));
      const vars = bar.trainableWeights.map((w) => w.read() as tf.Variable);
      const step = () =>
        tf.tidy(() => {
          const { grads, value } = tf.variableGrads(
            () => tf.mean(tf.square(bar.forward({ maskLogits: m, pixelFeatures: f }).refinedLogits)) as tf.Scalar,
            vars,
          );
          return [value, ...Object.values(grads)];
        });
      tf.dispose(expectNoLeaks(step, { warmup: true }));
      bar.dispose();
    }
    tf.dispose([m, f]);
  });
});
